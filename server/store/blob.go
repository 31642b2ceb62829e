package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// blobRow mirrors the blobs table.
type blobRow struct {
	SHA256      string `gorm:"column:sha256;primaryKey"`
	Size        int64
	ContentType string
	UploadedBy  int64
	CreatedAt   time.Time
}

func (blobRow) TableName() string { return "blobs" }

func (r *blobRow) domain() *server.Blob {
	return &server.Blob{SHA256: r.SHA256, Size: r.Size, ContentType: r.ContentType, UploadedBy: r.UploadedBy, CreatedAt: r.CreatedAt}
}

// BlobService implements server.BlobService: files in a content-addressed
// directory (Dir/ab/abcdef…), rows in blobs.
type BlobService struct {
	db  *DB
	dir string
	// noUnnamed: batches stage named files (see stagingFile).
	noUnnamed atomic.Bool
}

var _ server.BlobService = (*BlobService)(nil)

// NewBlobService returns the blob service keeping files under dir.
func NewBlobService(db *DB, dir string) (*BlobService, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	if err := makeShards(dir); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &BlobService{db: db, dir: dir}, nil
}

// makeShards creates the 256 subdirectories (00 to ff) files are kept in,
// once, and makes their entries durable: storing a file then never creates
// a directory (on ext4 a new inode is costly while many were just freed,
// and the new entry would need its parent synced as well).
func makeShards(dir string) error {
	created := false
	for i := range 256 {
		err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o700)
		if err == nil {
			created = true
		} else if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if !created {
		return nil
	}
	return syncDir(dir)
}

// Path returns where the blob with the hash lives.
func (s *BlobService) Path(sha string) string {
	return filepath.Join(s.dir, sha[:2], sha)
}

// fileSHA256 returns the hex SHA-256 and size of the file at path.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashOf returns the SHA-256 and size of the file at path: as the server
// computed them while writing it, when the context says so, else read.
func hashOf(ctx context.Context, path string) (string, int64, error) {
	if h, ok := server.FileHashFromContext(ctx, path); ok {
		return h.SHA256, h.Size, nil
	}
	return fileSHA256(path)
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// AddBlob implements server.BlobService. The file is hashed, moved (renamed;
// the upload directory is on the same file system) into place, synced, and
// only then recorded, so a row always names a whole, verified file.
func (s *BlobService) AddBlob(ctx context.Context, path string, b *server.Blob) error {
	return s.add(ctx, path, b, syncproto.CheckAttachment)
}

// AddDocument implements server.BlobService: AddBlob that also takes a PDF
// (a scanned receipt), checked against its bytes as images are.
func (s *BlobService) AddDocument(ctx context.Context, path string, b *server.Blob) error {
	return s.add(ctx, path, b, checkDocument)
}

// checkDocument is syncproto.CheckAttachment that also takes a PDF.
func checkDocument(r io.ReaderAt, size int64, contentType string) error {
	if contentType == "application/pdf" {
		return checkPDF(r, size)
	}
	return syncproto.CheckAttachment(r, size, contentType)
}

// checkPDF requires the shape every PDF has (ISO 32000-1 §7.5): the
// %PDF-n.m header at the start, and near the end a startxref offset inside
// the file followed by %%EOF. It does not parse the body: the server never
// renders a proof, it only keeps and returns it.
func checkPDF(r io.ReaderAt, size int64) error {
	bad := func(why string) error {
		return &syncproto.ValidationError{Reason: "the file is not a PDF document (" + why + ")"}
	}
	head := make([]byte, 8)
	if size < 32 {
		return bad("too short")
	}
	if _, err := r.ReadAt(head, 0); err != nil {
		return err
	}
	if string(head[:5]) != "%PDF-" || head[5] < '1' || head[5] > '2' || head[6] != '.' || head[7] < '0' || head[7] > '9' {
		return bad("no %PDF-n.m header")
	}
	tail := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return err
	}
	t := strings.TrimRight(string(tail), "\r\n\t \x00")
	if !strings.HasSuffix(t, "%%EOF") {
		return bad("no %%EOF at its end")
	}
	i := strings.LastIndex(t, "startxref")
	if i < 0 {
		return bad("no startxref")
	}
	f := strings.Fields(t[i+len("startxref") : len(t)-len("%%EOF")])
	if len(f) != 1 {
		return bad("no cross-reference offset")
	}
	off, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || off <= 0 || off >= size {
		return bad("the cross-reference offset is outside the file")
	}
	return nil
}

// add stores the file at path as blob b once check passes on its bytes.
func (s *BlobService) add(ctx context.Context, path string, b *server.Blob, check func(io.ReaderAt, int64, string) error) error {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return requireUser(ctx)
	}
	if !syncproto.ValidSHA256(b.SHA256) {
		os.Remove(path)
		return errBadHash()
	}
	sum, size, err := hashOf(ctx, path)
	if err != nil {
		return err
	}
	if sum != b.SHA256 {
		os.Remove(path)
		return errNotItsHash()
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if refused, err := s.checkContent(ctx, f, size, b, actor, check); err != nil {
		f.Close()
		if refused {
			os.Remove(path)
		}
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	dst := s.Path(b.SHA256) // its directory made by makeShards
	if moved, err := putInPlace(path, dst); err != nil {
		return err
	} else if !moved {
		os.Remove(path)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	b.Size = size
	return s.recordBlob(ctx, b, actor)
}

// errBadHash and errNotItsHash refuse a file by its name: a malformed
// SHA-256, or bytes that do not hash to it (the file is discarded).
func errBadHash() error {
	return server.Errorf(server.EINVALID, "附件哈希格式无效 (the attachment's sha256 is malformed).")
}

func errNotItsHash() error {
	return server.Errorf(server.EINVALID, "附件内容与其SHA-256不符，已丢弃 (the file does not match its sha256 and was discarded).")
}

// putInPlace moves the synced file at path to dst, its name in the blob
// store, unless a file is there already: blobs are named by their content,
// so it is the same one. It reports whether path was moved.
func putInPlace(path, dst string) (moved bool, err error) {
	if _, err := os.Stat(dst); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Rename(path, dst); err != nil {
		return false, err
	}
	return true, nil
}

// insertBlobRows records stored files: their rows, and who uploaded each
// from which device (a device may refer only to attachments it uploaded
// itself, see unusableBlobs). Rows already there stay as they are.
func insertBlobRows(tx *Tx, blobs []server.Blob, actor *server.User) error {
	for batch := range slices.Chunk(blobs, flushBatch) {
		rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(batch)), ", ")
		args := make([]any, 0, 5*len(batch))
		for _, b := range batch {
			args = append(args, b.SHA256, b.Size, b.ContentType, actor.ID, tx.Now)
		}
		if err := tx.Exec("INSERT INTO blobs (sha256, size, content_type, uploaded_by, created_at) VALUES "+rows+" ON CONFLICT DO NOTHING", args...).Error; err != nil {
			return err
		}
		rows = strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(batch)), ", ")
		args = args[:0]
		for _, b := range batch {
			args = append(args, b.SHA256, actor.ID, actor.DeviceID, tx.Now)
		}
		if err := tx.Exec("INSERT INTO blob_uploads (sha256, user_id, device_id, created_at) VALUES "+rows+" ON CONFLICT DO NOTHING", args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// blobRecordPg records a stored file in one statement (so one round trip
// and one commit): its row, who uploaded it from which device (a device may
// refer only to attachments it uploaded itself, see unusableBlobs), and the
// end of the resumable upload it came from. It returns the blob's row,
// unless another upload of the same content committed it meanwhile (then
// the statement's snapshot does not show it: read it again).
const blobRecordPg = `WITH new_blob AS (
	INSERT INTO blobs (sha256, size, content_type, uploaded_by, created_at) VALUES (@sha, @size, @type, @user, @now)
	ON CONFLICT DO NOTHING RETURNING sha256, size, content_type, uploaded_by, created_at
), uploader AS (
	INSERT INTO blob_uploads (sha256, user_id, device_id, created_at) VALUES (@sha, @user, @device, @now) ON CONFLICT DO NOTHING
), finished AS (
	DELETE FROM uploads WHERE id = @upload
)
SELECT * FROM new_blob
UNION ALL
SELECT sha256, size, content_type, uploaded_by, created_at FROM blobs WHERE sha256 = @sha AND NOT EXISTS (SELECT 1 FROM new_blob)`

// recordBlob records the file of b, already in place and synced, and sets
// b to its row.
func (s *BlobService) recordBlob(ctx context.Context, b *server.Blob, actor *server.User) error {
	upload := server.UploadFromContext(ctx)
	if s.db.dialect == Postgres {
		var rows []blobRow
		err := s.db.gorm.WithContext(ctx).Raw(blobRecordPg, map[string]any{
			"sha": b.SHA256, "size": b.Size, "type": b.ContentType, "user": actor.ID,
			"device": actor.DeviceID, "now": s.db.Now().UTC(), "upload": upload,
		}).Scan(&rows).Error
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			var got blobRow
			if err := s.db.gorm.WithContext(ctx).Where("sha256 = ?", b.SHA256).Take(&got).Error; err != nil {
				return err
			}
			rows = append(rows, got)
		}
		*b = *rows[0].domain()
		return nil
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if err := insertBlobRows(tx, []server.Blob{*b}, actor); err != nil {
			return err
		}
		if upload != "" {
			// The resumable upload this file came from is finished.
			if err := tx.Exec("DELETE FROM uploads WHERE id = ?", upload).Error; err != nil {
				return err
			}
		}
		var got blobRow
		if err := tx.Where("sha256 = ?", b.SHA256).Take(&got).Error; err != nil {
			return err
		}
		*b = *got.domain()
		return nil
	})
}

// checkContent requires the file to be the image its content type names
// (syncproto.CheckAttachment). A file that is not is refused: the caller
// removes it, and its hash is recorded as refused, so that the mutations
// referring to it are rejected with the reason instead of waiting for an
// upload that can never pass (the answer is then EREFUSED). Only content
// that hashes to the name is ever recorded: the refusal is a fact about
// those bytes, whoever sent them.
func (s *BlobService) checkContent(ctx context.Context, f io.ReaderAt, size int64, b *server.Blob, actor *server.User,
	check func(io.ReaderAt, int64, string) error) (refused bool, err error) {
	cerr := check(f, size, b.ContentType)
	var ve *syncproto.ValidationError
	if cerr == nil {
		return false, nil
	} else if !errors.As(cerr, &ve) {
		return false, fmt.Errorf("check attachment %s: %w", b.SHA256, cerr)
	}
	refusal := server.Errorf(server.EREFUSED, "附件内容不是有效的%s图片，未予保存：%s (the attachment is not a valid %s and was not kept: %s).",
		imageKind(b.ContentType), ve.Reason, b.ContentType, ve.Reason)
	if b.ContentType == "application/pdf" {
		refusal = server.Errorf(server.EREFUSED, "附件内容不是有效的PDF文件，未予保存：%s (the attachment is not a valid application/pdf and was not kept: %s).", ve.Reason, ve.Reason)
	}
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		return tx.Exec("INSERT INTO refused_attachments (sha256, content_type, reason, refused_by, refused_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			b.SHA256, b.ContentType, refusal.Message, actor.ID, tx.Now).Error
	})
	if err != nil {
		return true, err
	}
	return true, refusal
}

func imageKind(contentType string) string {
	if contentType == "image/jpeg" {
		return "JPEG"
	}
	return "PNG"
}

// refusedAttachment returns, as the rejection of a mutation, why the first
// of hashes that the server refused for its content was refused; nil when
// none was.
func refusedAttachment(tx *Tx, hashes []string) (*server.Error, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var rows []struct{ SHA256, Reason string }
	if err := tx.Raw("SELECT sha256, reason FROM refused_attachments WHERE sha256 IN ?", hashes).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, h := range hashes {
		for _, r := range rows {
			if r.SHA256 == h {
				return server.Errorf(server.EREFUSED, "引用的附件%s已被拒收 (attachment %s was refused): %s", h, h, r.Reason), nil
			}
		}
	}
	return nil, nil
}

// OpenBlob implements server.BlobService.
func (s *BlobService) OpenBlob(ctx context.Context, sha string) (*server.Blob, io.ReadSeekCloser, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, nil, requireUser(ctx)
	}
	missing := server.Errorf(server.ENOTFOUND, "附件不存在 (attachment not found).")
	if !syncproto.ValidSHA256(sha) {
		return nil, nil, missing
	}
	var b *server.Blob
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var rows []blobRow
		if err := tx.Where("sha256 = ?", sha).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return missing
		}
		if actor.Role != server.RolePlatformAdmin {
			var packets []string
			if err := tx.Raw("SELECT packet_id FROM attachment_refs WHERE sha256 = ? ORDER BY packet_id", sha).Scan(&packets).Error; err != nil {
				return err
			}
			readable := false
			for _, p := range packets {
				ok, err := canReadPacket(tx, actor, p)
				if err != nil {
					return err
				}
				if ok {
					readable = true
					break
				}
			}
			if !readable {
				return missing
			}
		}
		b = rows[0].domain()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s.openFile(b)
}
