package server

import (
	"context"
	"time"
)

// UploadLimits bound what field devices may hold in attachment uploads
// that are not finished yet, and store in a day, so that one device (a
// stolen one, or a broken app) cannot fill the server's disk. Zero turns a
// limit off.
type UploadLimits struct {
	OpenPerDevice      int   // unfinished uploads at once, per device
	OpenBytesPerDevice int64 // their declared lengths together, per device
	OpenPerUser        int   // unfinished uploads at once, over all of a user's devices
	OpenBytesPerUser   int64 // their declared lengths together, per user
	// DailyBytesPerUser bounds the attachments a user stored in the last 24
	// hours plus their unfinished uploads.
	DailyBytesPerUser int64
}

// DefaultUploadLimits are ample for a field day (a device uploads two to
// eight files at a time; a day of photos is a few hundred MB) and keep an
// abusive device to a bounded share of the disk.
var DefaultUploadLimits = UploadLimits{
	OpenPerDevice: 64, OpenBytesPerDevice: 512 << 20,
	OpenPerUser: 128, OpenBytesPerUser: 1 << 30,
	DailyBytesPerUser: 4 << 30,
}

// OpenUpload is an upload about to be created by the device-bound user in
// the context.
type OpenUpload struct {
	ID     string
	SHA256 string
	Size   int64 // the declared length
}

// UploadService keeps account of unfinished uploads for the quotas.
type UploadService interface {
	// OpenUpload records u, unless it would break a limit: then EQUOTA,
	// with a RetryAfter. The device's earlier unfinished uploads of the
	// same content are superseded (a device that lost the answer to its
	// creation starts again): their records go and their IDs are returned
	// so that their files can be removed.
	OpenUpload(ctx context.Context, u *OpenUpload) (superseded []string, err error)
	// CheckBatch refuses, with EQUOTA and a RetryAfter, a batch upload of
	// size bytes by the device-bound user in ctx where a creation of that
	// size would be refused. A batch leaves no unfinished upload behind, so
	// nothing is recorded.
	CheckBatch(ctx context.Context, size int64) error
	// CloseUpload forgets an upload: finished, failed or removed.
	CloseUpload(ctx context.Context, id string) error
	// UploadsOpenedBefore lists the unfinished uploads created before t.
	UploadsOpenedBefore(ctx context.Context, t time.Time) ([]string, error)
}
