package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// SyncService applies field devices' mutations and serves their changes.
// Every call acts for the inspector in ctx through the device their access
// token is bound to; the request's device must be that device.
type SyncService interface {
	// Push applies the batch exactly once, in order, in one transaction (see
	// syncproto.PushResponse). raw holds each mutation as received, for the
	// mutation log; nil means "re-encode". Returns EFORBIDDEN if the device is
	// not the token's.
	Push(ctx context.Context, req *syncproto.PushRequest, raw []json.RawMessage) (*syncproto.PushResponse, error)
	// Pull returns the changes after the cursor visible to the device's
	// inspector, at once: it never waits (req.WaitSeconds is the caller's).
	Pull(ctx context.Context, req *syncproto.PullRequest) (*syncproto.PullResponse, error)
	// WatchChanges is for long polls: changed is closed once a change the
	// inspector's devices may pull commits after the call (within about a
	// second when another server process committed it), and maybe sooner
	// for no reason, so a woken waiter pulls to see. Call it before the pull
	// it follows up, so a change committed in between is not missed, and call
	// stop when no longer waiting.
	WatchChanges(inspectorID int64) (changed <-chan struct{}, stop func())
	// MissingBlobs returns the hashes with no verified blob, in request order.
	MissingBlobs(ctx context.Context, hashes []string) ([]string, error)
	// ImportDeviceExport takes in a device's export (ReadDeviceExport) for
	// an administrator who may revoke the device (ENOTFOUND for anyone
	// else): its attachments become blobs uploaded by the device's owner,
	// and its outbox is applied as the owner's pushes from that device
	// would be, exactly once and under every rule of a push, even if the
	// device is revoked. An archive of another device, with another key,
	// or referring to attachments neither it nor the server holds, is
	// EINVALID and changes nothing.
	ImportDeviceExport(ctx context.Context, deviceID int64, exp *DeviceExport) (*syncproto.DeviceImportResponse, error)
	// FindJointRecord returns a packet's joint record (its sealed sections
	// and closes, assembled with syncproto.AssembleJointRecord) to whoever may
	// read the packet; ENOTFOUND to anyone else.
	FindJointRecord(ctx context.Context, packetID string) (*syncproto.JointRecord, error)
}

// Blob is a verified, content-addressed attachment.
type Blob struct {
	SHA256      string
	Size        int64
	ContentType string
	UploadedBy  int64
	CreatedAt   time.Time
}

// BlobService keeps attachments by content.
type BlobService interface {
	// AddBlob checks that the file at path hashes to b.SHA256, moves it into
	// the blob store and records it; an existing blob is fine. EINVALID on a
	// mismatch, and the file is removed so nothing can reference it.
	AddBlob(ctx context.Context, path string, b *Blob) error
	// AddDocument is AddBlob for scanned documents: it also takes a PDF
	// (application/pdf), checked against its bytes.
	AddDocument(ctx context.Context, path string, b *Blob) error
	// OpenBlob returns the blob to a caller who may read a packet that
	// references it; ENOTFOUND to anyone else and for unknown hashes.
	OpenBlob(ctx context.Context, sha256 string) (*Blob, io.ReadSeekCloser, error)
	// NewBatch starts storing several files, uploaded together by the
	// device-bound user in ctx, as blobs.
	NewBatch(ctx context.Context) (BlobBatch, error)
}

// BlobBatch stores several files as blobs at once: each is written and
// checked as it arrives (Add), and all are made durable and recorded
// together (Commit), so a batch costs one flush of the file system and one
// transaction rather than one of each per file.
type BlobBatch interface {
	// Add writes the file read from r, which must hash to b.SHA256 and be
	// the image b.ContentType names. EINVALID if it does not hash to it,
	// EREFUSED if its content is refused (and so recorded, as AddBlob does);
	// neither is kept. An error from r is returned as it is. Until Commit,
	// nothing is stored.
	Add(ctx context.Context, b *Blob, r io.Reader) error
	// Commit stores the files added since the last Commit: synced, moved
	// into place and recorded in one transaction. An existing blob is fine.
	Commit(ctx context.Context) error
	// Close discards the files added and not committed.
	Close()
}

// ValidatePushEnvelope checks the parts of a push that are not any single
// mutation's: the device, the batch size and the sequence order. A mutation
// that breaks its own rules is rejected on its own (and still advances the
// device's sequence), so one bad write can never stall a device's queue.
func ValidatePushEnvelope(r *syncproto.PushRequest) error {
	switch {
	case r.DeviceID <= 0:
		return Errorf(EINVALID, "缺少设备编号 (device_id is required).")
	case len(r.Mutations) == 0:
		return Errorf(EINVALID, "推送至少包含一条变更 (a push needs at least one mutation).")
	case len(r.Mutations) > syncproto.PushLimitMax:
		return Errorf(EINVALID, "每次推送最多%d条变更 (at most %d mutations per push).", syncproto.PushLimitMax, syncproto.PushLimitMax)
	}
	for i := range r.Mutations {
		m := &r.Mutations[i]
		if m.Seq == 0 {
			return Errorf(EINVALID, "变更序号从1开始 (seq starts at 1).")
		}
		if i > 0 && m.Seq != r.Mutations[i-1].Seq+1 {
			return Errorf(EINVALID, "变更序号%d不连续 (mutation seq %d does not follow %d).", m.Seq, m.Seq, r.Mutations[i-1].Seq)
		}
	}
	return nil
}

// AnswerCandidate is one version of a checklist answer as the winner rule sees it.
type AnswerCandidate struct {
	Answer   syncproto.AnswerMutation
	DeviceID int64
	// AuthorDepartment is the department code of the inspector who answered.
	AuthorDepartment string
}

// AnswerDigest is the SHA-256 (hex) of the answer's canonical JSON (the
// encoding/json form, no HTML escaping), the last tie-break between
// concurrent versions.
func AnswerDigest(a *syncproto.AnswerMutation) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(a) // an AnswerMutation always encodes
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// ConcurrentAnswerWins reports whether a beats b, two versions of one item
// written concurrently offline: the version whose author belongs to the
// section's department wins; if both or neither do, the higher AnswerDigest;
// then the higher device id. The rule is a total order, so the winner does
// not depend on the order in which the versions arrive.
func ConcurrentAnswerWins(a, b *AnswerCandidate) bool {
	aOwn := a.AuthorDepartment == a.Answer.Department
	bOwn := b.AuthorDepartment == b.Answer.Department
	if aOwn != bOwn {
		return aOwn
	}
	da, db := AnswerDigest(&a.Answer), AnswerDigest(&b.Answer)
	if da != db {
		return da > db
	}
	return a.DeviceID > b.DeviceID
}

// AnswerHead is the newest version of an item written from one device, as
// ResolveAnswer sees it. Version is the server's version number of it and
// BaseVersion the item's version the device had seen when it wrote it: it
// saw every version up to BaseVersion.
type AnswerHead struct {
	AnswerCandidate
	Version     int64
	BaseVersion int64
}

// ResolveAnswer decides an item's live state from the newest version of each
// device that wrote it. A head another head has seen (BaseVersion at or
// beyond its Version) is superseded; the rest are live: written without
// seeing each other. The winner is the live head ConcurrentAnswerWins
// prefers; the other live heads are the conflicts, kept and shown. A device's
// own later edit supersedes its earlier one whatever its base, so an
// inspector's offline correction never loses to their own first answer; and
// since only heads compete, the outcome does not depend on the order in which
// devices' pushes arrive. heads must not be empty.
func ResolveAnswer(heads []AnswerHead) (winner int, conflicts []int) {
	var live []int
	for i := range heads {
		seen := false
		for j := range heads {
			if j != i && heads[j].BaseVersion >= heads[i].Version {
				seen = true
				break
			}
		}
		if !seen {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		// Impossible with real versions (the newest head is never seen);
		// fall back to the newest.
		newest := 0
		for i := range heads {
			if heads[i].Version > heads[newest].Version {
				newest = i
			}
		}
		return newest, nil
	}
	winner = live[0]
	for _, i := range live[1:] {
		if ConcurrentAnswerWins(&heads[i].AnswerCandidate, &heads[winner].AnswerCandidate) {
			winner = i
		}
	}
	for _, i := range live {
		if i != winner {
			conflicts = append(conflicts, i)
		}
	}
	return winner, conflicts
}
