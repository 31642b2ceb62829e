package server

import "context"

type contextKey int

const (
	userContextKey contextKey = iota
	uploadContextKey
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
