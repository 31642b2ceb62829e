package server

import "context"

type contextKey int

const (
	userContextKey contextKey = iota
	uploadContextKey
	fileHashContextKey
)

// NewContextWithUser returns a copy of ctx that carries the authenticated user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey, u)
}

// UserFromContext returns the authenticated user, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userContextKey).(*User)
	return u
}

// NewContextWithUpload returns a copy of ctx that names the resumable upload
// whose file BlobService.AddBlob takes in: its record is closed in the same
// transaction that stores the blob, instead of in one of its own.
func NewContextWithUpload(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, uploadContextKey, id)
}

// UploadFromContext returns the upload named by NewContextWithUpload, or "".
func UploadFromContext(ctx context.Context) string {
	id, _ := ctx.Value(uploadContextKey).(string)
	return id
}

// FileHash is the SHA-256 (hex) and size of the file at Path, computed by
// the server itself as it wrote the file.
type FileHash struct {
	Path   string
	SHA256 string
	Size   int64
}

// NewContextWithFileHash returns a copy of ctx that carries the hash of the
// file BlobService.AddBlob takes in, computed as the file was written, so
// that the file is not read again to verify it.
func NewContextWithFileHash(ctx context.Context, h FileHash) context.Context {
	return context.WithValue(ctx, fileHashContextKey, h)
}

// FileHashFromContext returns the hash NewContextWithFileHash carries for
// the file at path, if any.
func FileHashFromContext(ctx context.Context, path string) (FileHash, bool) {
	h, ok := ctx.Value(fileHashContextKey).(FileHash)
	return h, ok && h.Path == path
}
