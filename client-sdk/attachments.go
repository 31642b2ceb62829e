package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// AttachPhoto copies a JPEG or PNG photo into the device's store.
func (c *Client) AttachPhoto(ctx context.Context, path string) (*syncproto.AttachmentRef, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.AttachFile(context.Background(), path, "")
}

// AttachFile copies a file into dir/attachments/<sha256> (synced to disk)
// and returns its ref. contentType "" is sniffed; only image/png and
// image/jpeg are accepted.
func (c *Client) AttachFile(ctx context.Context, path, contentType string) (*syncproto.AttachmentRef, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ref, _, err := inspectFile(path, contentType)
	if err != nil {
		return nil, err
	}
	dst := c.attachmentPath(ref.SHA256)
	if _, err := os.Stat(dst); err != nil {
		if err := copyDurably(path, dst, ref.SHA256); err != nil {
			return nil, storageErr(err)
		}
	}
	err = c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO attachments (sha256, size, content_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			ref.SHA256, ref.Size, ref.ContentType, ts(c.now())).Error
	})
	if err != nil {
		return nil, err
	}
	return ref, nil
}

// inspectFile hashes a file and works out its ref without storing anything.
func inspectFile(path, contentType string) (*syncproto.AttachmentRef, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	size, err := io.Copy(h, io.LimitReader(f, syncproto.MaxAttachmentBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if size == 0 || size > syncproto.MaxAttachmentBytes {
		return nil, nil, invalid("%s: an attachment must be 1-%d bytes", path, syncproto.MaxAttachmentBytes)
	}
	sniffed := http.DetectContentType(head)
	if contentType == "" {
		contentType = sniffed
	}
	if !syncproto.AttachmentType(contentType) {
		return nil, nil, invalid("%s: only PNG and JPEG files can be attached (this is %s)", path, sniffed)
	}
	if sniffed != contentType {
		return nil, nil, invalid("%s: the file is %s, not %s", path, sniffed, contentType)
	}
	// The server keeps only what passes the same check.
	if err := syncproto.CheckAttachment(f, size, contentType); err != nil {
		return nil, nil, invalid("%s: %v", path, err)
	}
	ref := &syncproto.AttachmentRef{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size, ContentType: contentType}
	return ref, head, nil
}

// copyDurably copies src to dst via a synced temporary file and a rename, so
// dst is either absent or whole; the copy's hash must match want.
func copyDurably(src, dst, want string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, ".incoming-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s changed while it was copied", src)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (c *Client) attachmentPath(sha string) string {
	return filepath.Join(c.dir, "attachments", sha)
}

func (c *Client) attachment(db *gorm.DB, sha string) (*syncproto.AttachmentRef, error) {
	var rows []attachmentRow
	if err := db.Raw(`SELECT * FROM attachments WHERE sha256 = ?`, sha).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: attachment %s is not on this device", ErrNotFound, sha)
	}
	return &syncproto.AttachmentRef{SHA256: rows[0].SHA256, Size: rows[0].Size, ContentType: rows[0].ContentType}, nil
}

type attachmentRow struct {
	SHA256      string `gorm:"column:sha256"`
	Size        int64  `gorm:"column:size"`
	ContentType string `gorm:"column:content_type"`
	OnServer    int    `gorm:"column:on_server"`
	UploadURL   string `gorm:"column:upload_url"`
}
