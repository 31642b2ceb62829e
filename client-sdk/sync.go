package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Sync uploads the attachments the server lacks, pushes the outbox, then
// pulls what changed on the server. It is safe to call repeatedly and from
// several goroutines (calls run one at a time); on failure the outbox is left
// intact and the next call continues where this one stopped. It returns an
// error wrapping ErrRejected, after finishing, when the server rejected
// changes during this call (see Rejections).
func (c *Client) Sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	before, _ := c.conflictMarks()
	err := c.sync(ctx)
	c.reportSync(ctx, before, err)
	return err
}

func (c *Client) sync(ctx context.Context) error {
	d, err := c.device(c.db)
	if err != nil {
		return err
	}
	if d.RevokedAt != "" {
		return fmt.Errorf("%w: pushing stopped; the unsynced data stays on this device", ErrRevoked)
	}
	if d.NeedsLogin != 0 {
		return fmt.Errorf("%w: the session ended; log in again (unsynced data is kept)", ErrAuth)
	}
	if !d.DeviceID.Valid {
		return ErrNotEnrolled
	}
	queued, err := c.outboxLen()
	if err != nil {
		return err
	}
	c.progMu.Lock()
	c.prog = Progress{Phase: "upload", ItemsUpTotal: queued,
		SessionBytesUp: c.prog.SessionBytesUp, SessionBytesDown: c.prog.SessionBytesDown,
		SessionItemsUp: c.prog.SessionItemsUp, SessionItemsDown: c.prog.SessionItemsDown}
	c.progMu.Unlock()

	rejected := 0
	for round := 0; ; round++ {
		if err := c.uploadMissing(ctx, d.DeviceID.Int64); err != nil {
			return err
		}
		n, deferred, err := c.pushAll(ctx, d.DeviceID.Int64)
		rejected += n
		if err != nil {
			return err
		}
		if deferred == 0 {
			break
		}
		if round >= 3 {
			return fmt.Errorf("%w: the server keeps deferring mutation %d for a missing attachment", ErrOffline, deferred)
		}
	}
	if err := c.pull(ctx, d.DeviceID.Int64); err != nil {
		return err
	}
	if err := c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE sync_state SET last_sync_at = ? WHERE id = 1`, ts(c.now())).Error
	}); err != nil {
		return err
	}
	c.updateProgress(func(p *Progress) { p.Phase = "done" })
	if rejected > 0 {
		return fmt.Errorf("%w: %d change(s) rejected by the server; see the rejections list", ErrRejected, rejected)
	}
	return nil
}

type outboxRow struct {
	Seq  uint64 `gorm:"column:seq"`
	Body string `gorm:"column:body"`
}

func (c *Client) outboxLen() (int, error) {
	var n int64
	err := c.db.Raw(`SELECT COUNT(*) FROM outbox`).Scan(&n).Error
	return int(n), err
}

// pendingUploads lists the attachments outbox mutations reference that the
// server is not known to hold.
func (c *Client) pendingUploads() ([]attachmentRow, error) {
	var rows []outboxRow
	if err := c.db.Raw(`SELECT seq, body FROM outbox ORDER BY seq`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	// The references in outbox order (the order files are uploaded in),
	// then their rows in one query a batch.
	seen := map[string]bool{}
	var refs []string
	refSeq := map[string]uint64{}
	for _, r := range rows {
		var m syncproto.Mutation
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			return nil, fmt.Errorf("outbox %d: %w", r.Seq, err)
		}
		for _, ref := range m.Refs() {
			if !seen[ref.SHA256] {
				seen[ref.SHA256] = true
				refs = append(refs, ref.SHA256)
				refSeq[ref.SHA256] = r.Seq
			}
		}
	}
	byHash := make(map[string]attachmentRow, len(refs))
	for batch := range slices.Chunk(refs, 500) {
		var found []attachmentRow
		if err := c.db.Raw(`SELECT * FROM attachments WHERE sha256 IN ?`, batch).Scan(&found).Error; err != nil {
			return nil, err
		}
		for _, a := range found {
			byHash[a.SHA256] = a
		}
	}
	var out []attachmentRow
	for _, h := range refs {
		a, ok := byHash[h]
		if !ok {
			c.log.Error("an outbox mutation references an attachment missing on the device", "seq", refSeq[h], "sha256", h)
			continue
		}
		if a.OnServer == 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// uploadMissing asks the server which attachments it lacks (batched) and
// uploads those, resumably.
func (c *Client) uploadMissing(ctx context.Context, deviceID int64) error {
	pending, err := c.pendingUploads()
	if err != nil || len(pending) == 0 {
		return err
	}
	missing := map[string]bool{}
	for start := 0; start < len(pending); start += syncproto.MaxHashesPerQuery {
		batch := pending[start:min(start+syncproto.MaxHashesPerQuery, len(pending))]
		lacks, err := c.lacking(ctx, batch)
		if err != nil {
			return err
		}
		maps.Copy(missing, lacks)
		err = c.tx(func(tx *gorm.DB) error {
			for _, a := range batch {
				if !missing[a.SHA256] {
					if err := tx.Exec(`UPDATE attachments SET on_server = 1, upload_url = '' WHERE sha256 = ?`, a.SHA256).Error; err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var todo []attachmentRow
	var total int64
	for _, a := range pending {
		if missing[a.SHA256] {
			todo = append(todo, a)
			total += a.Size
		}
	}
	c.updateProgress(func(p *Progress) { p.BytesUpTotal += total; p.ItemsUpTotal += len(todo) })
	return c.uploadAll(ctx, todo)
}

const tusVersion = "1.0.0"

// upload sends one attachment with tus 1.0 core: create, then PATCH from the
// server's offset, resuming a remembered upload after a cut or a restart.
// After a cut it asks for the offset at once (the link was there a moment
// ago); only cuts in a row, with no byte gained in between, back off. While
// it waits for that answer, recovering (if set) is told, so that other
// files can use the link meanwhile.
func (c *Client) upload(ctx context.Context, a attachmentRow, recovering func(bool), names *uploadNames) error {
	c.updateProgress(func(p *Progress) { p.Phase = "upload"; p.CurrentObject = a.SHA256 })
	f, err := os.Open(c.attachmentPath(a.SHA256))
	if err != nil {
		return fmt.Errorf("the attachment file is gone from the device: %w", err)
	}
	defer f.Close()
	tus := func() http.Header { h := http.Header{}; h.Set("Tus-Resumable", tusVersion); return h }

	loc, offset := a.UploadURL, int64(-1)
	if loc != "" {
		// Remembered from a server that named its own host (older servers
		// built it from the Host header): start that file again instead.
		if d, err := c.device(c.db); err == nil && !sameOrigin(c.serverURL(d), loc) {
			loc = ""
		}
	}
	// cuts counts transient failures since the server last took a byte
	// (best is the highest offset it confirmed).
	cuts, best := 0, int64(0)
	afterCut := func(err error) error {
		defer func() { cuts++ }()
		return c.waitAfterCut(ctx, err, cuts, "sha256", a.SHA256)
	}
	inRecovery := false
	setRecovering := func(on bool) {
		if recovering != nil && on != inRecovery {
			inRecovery = on
			recovering(on)
		}
	}
	defer setRecovering(false)
	for tries := 0; ; tries++ {
		if tries > 50 {
			return fmt.Errorf("%w: the upload makes no progress", ErrOffline)
		}
		if loc != "" && offset < 0 {
			resp, err := c.call(ctx, request{method: http.MethodHead, path: loc, header: tus(), auth: true,
				okStatus: []int{http.StatusNotFound, http.StatusGone, http.StatusForbidden}})
			setRecovering(false)
			if err != nil {
				return err
			}
			if resp.status != http.StatusOK && resp.status != http.StatusNoContent {
				// The upload is gone: finished (the last answer was lost) or
				// expired. Ask whether the server holds the blob now.
				missing, err := c.lacking(ctx, []attachmentRow{a})
				if err != nil {
					return err
				}
				if !missing[a.SHA256] {
					break
				}
				loc = "" // start again
			} else if offset, err = strconv.ParseInt(resp.header.Get("Upload-Offset"), 10, 64); err != nil || offset < 0 || offset > a.Size {
				return fmt.Errorf("bad Upload-Offset %q", resp.header.Get("Upload-Offset"))
			} else if offset > best {
				best, cuts = offset, 0
			}
		}
		if loc == "" {
			// tus creation-with-upload: the POST that creates the upload
			// carries its first chunk, so a file that fits one chunk takes
			// one request.
			n := min(int64(c.cfg.ChunkSize), a.Size)
			first := make([]byte, n)
			if _, err := f.ReadAt(first, 0); err != nil && err != io.EOF {
				return err
			}
			// The upload is named here: a creation cut before its answer
			// resumes from the offset the server holds under that name
			// (HEAD), as a cut PATCH does, instead of sending the first
			// chunk again. The name is remembered on the device with
			// others in a batch (uploadNames) while the creation is sent,
			// or before it when there is no batch.
			var rnd [16]byte
			rand.Read(rnd[:])
			id := hex.EncodeToString(rnd[:])
			named := syncproto.PathUploads + "/" + id
			if err := c.rememberUpload(a.SHA256, named, names); err != nil {
				return err
			}
			h := tus()
			h.Set("Upload-Length", strconv.FormatInt(a.Size, 10))
			h.Set("Upload-Metadata", syncproto.UploadMetaSHA256+" "+base64.StdEncoding.EncodeToString([]byte(a.SHA256))+","+
				syncproto.UploadMetaContentType+" "+base64.StdEncoding.EncodeToString([]byte(a.ContentType))+","+
				syncproto.UploadMetaID+" "+base64.StdEncoding.EncodeToString([]byte(id)))
			h.Set("Content-Type", "application/offset+octet-stream")
			resp, err := c.callOnce(ctx, request{method: http.MethodPost, path: syncproto.PathUploads, body: first, header: h, auth: true,
				okStatus: []int{http.StatusConflict}})
			if err != nil && isTransient(err) {
				c.log.Debug("upload creation cut; asking the server where it got to", "sha256", a.SHA256, "err", err)
				setRecovering(true)
				if err := afterCut(err); err != nil {
					return err
				}
				loc, offset = named, -1
				continue
			}
			if err != nil {
				return err
			}
			loc = resp.header.Get("Location")
			c.log.Debug("upload created", "location", loc, "status", resp.status, "offset", resp.header.Get("Upload-Offset"))
			if resp.status == http.StatusConflict && loc == "" {
				continue // the name is taken: draw another
			}
			if loc == "" {
				return errors.New("the server created an upload without a Location")
			}
			if !strings.HasPrefix(loc, "/") && !isAbsolute(loc) {
				loc = syncproto.PathUploads + "/" + loc
			}
			if d, err := c.device(c.db); err != nil {
				return err
			} else if !sameOrigin(c.serverURL(d), loc) {
				return fmt.Errorf("%w: the server named the upload at %s", ErrForeignOrigin, origin(loc))
			}
			next, perr := int64(0), error(nil)
			if v := resp.header.Get("Upload-Offset"); v != "" {
				next, perr = strconv.ParseInt(v, 10, 64)
			} // else a server without creation-with-upload: it took nothing
			if perr != nil || next < 0 || next > a.Size || resp.status == http.StatusConflict {
				next = -1 // ask the server where it got to
			}
			if next == a.Size {
				break // the whole file in one request: verified and stored
			}
			if err := c.rememberUpload(a.SHA256, loc, names); err != nil {
				return err
			}
			offset = next
			if next > 0 {
				tries, cuts, best = 0, 0, next
			}
			continue
		}
		if offset >= a.Size {
			break
		}
		n := min(int64(c.cfg.ChunkSize), a.Size-offset)
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, offset); err != nil && err != io.EOF {
			return err
		}
		h := tus()
		h.Set("Upload-Offset", strconv.FormatInt(offset, 10))
		h.Set("Content-Type", "application/offset+octet-stream")
		resp, err := c.callOnce(ctx, request{method: http.MethodPatch, path: loc, body: chunk, header: h, auth: true,
			okStatus: []int{http.StatusConflict, http.StatusNotFound, http.StatusGone}})
		if resp != nil {
			c.log.Debug("upload chunk", "sha256", a.SHA256, "offset", offset, "status", resp.status, "server_offset", resp.header.Get("Upload-Offset"))
		}
		switch {
		case err != nil && isTransient(err):
			// Cut mid-chunk: ask the server where it got to.
			c.log.Debug("upload cut; resuming from the server's offset", "sha256", a.SHA256, "err", err)
			setRecovering(true)
			if err := afterCut(err); err != nil {
				return err
			}
			offset = -1
			continue
		case err != nil:
			return err
		case resp.status == http.StatusConflict:
			offset = -1
			continue
		case resp.status == http.StatusNotFound || resp.status == http.StatusGone:
			loc, offset = "", -1
			continue
		}
		next, perr := strconv.ParseInt(resp.header.Get("Upload-Offset"), 10, 64)
		if perr != nil || next <= offset || next > a.Size {
			offset = -1
			continue
		}
		offset = next
		tries, cuts, best = 0, 0, next
	}
	return nil // the server holds it: uploadAll marks it so (markOnServer)
}

// rememberUpload records the path of the file's upload on the device: in
// names' next batch, or at once when names is nil.
func (c *Client) rememberUpload(sha, path string, names *uploadNames) error {
	if names != nil {
		names.remember(sha, path)
		return nil
	}
	return c.tx(func(tx *gorm.DB) error { return setUploadURL(tx, sha, path) })
}

// setUploadURL records where the file's upload is on the server.
func setUploadURL(tx *gorm.DB, sha, path string) error {
	return tx.Exec(`UPDATE attachments SET upload_url = ? WHERE sha256 = ?`, path, sha).Error
}

// markOnServer records, in one local transaction, that the server holds
// these attachments. Not recorded (the device stopped first), the next sync
// asks the server about them again and learns it.
func (c *Client) markOnServer(hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	return c.tx(func(tx *gorm.DB) error {
		for batch := range slices.Chunk(hashes, 500) {
			if err := tx.Exec(`UPDATE attachments SET on_server = 1, upload_url = '' WHERE sha256 IN ?`, batch).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// pushAll pushes the outbox in batches until it is empty or the server
// defers a mutation. It returns how many mutations were rejected and the seq
// of a deferred one (0 for none).
func (c *Client) pushAll(ctx context.Context, deviceID int64) (rejected int, deferred uint64, err error) {
	for {
		var rows []outboxRow
		limit := batchLimit(&c.pushLimit, syncproto.MaxMutationsPerPush)
		if err := c.db.Raw(`SELECT seq, body FROM outbox ORDER BY seq LIMIT ?`, limit).Scan(&rows).Error; err != nil {
			return rejected, 0, err
		}
		if len(rows) == 0 {
			return rejected, 0, nil
		}
		// The outbox holds each mutation as the JSON it is sent as: the
		// request is written around those bodies, not decoded and encoded
		// again (a day's push is a thousand mutations).
		var body bytes.Buffer
		fmt.Fprintf(&body, `{"device_id":%d,"mutations":[`, deviceID)
		var sent []outboxRow
		size := 0
		for _, r := range rows {
			if !json.Valid([]byte(r.Body)) {
				return rejected, 0, fmt.Errorf("outbox %d: the stored mutation is not JSON", r.Seq)
			}
			if size += len(r.Body) + 1; size > syncproto.MaxPushBytes-(64<<10) && len(sent) > 0 {
				break
			}
			if len(sent) > 0 {
				body.WriteByte(',')
			}
			body.WriteString(r.Body)
			sent = append(sent, r)
		}
		body.WriteString("]}")
		c.updateProgress(func(p *Progress) { p.Phase = "push"; p.BytesUpTotal += int64(size) })
		var resp syncproto.PushResponse
		// Compressed unless the link is fast: there gzip costs more time
		// than the bytes it saves.
		if err := c.postBody(ctx, syncproto.PathPush, body.Bytes(), &resp, !c.link.fast()); err != nil {
			return rejected, 0, err
		}
		n, def, acked, err := c.applyPushResults(sent, &resp)
		rejected += n
		if err != nil || def != 0 {
			return rejected, def, err
		}
		if acked == 0 {
			return rejected, 0, fmt.Errorf("the server took none of mutations %d-%d (its last applied is %d)",
				sent[0].Seq, sent[len(sent)-1].Seq, resp.LastAppliedSeq)
		}
	}
}

// applyPushResults drops acknowledged mutations from the outbox and records
// rejections, all in one local transaction.
func (c *Client) applyPushResults(sent []outboxRow, resp *syncproto.PushResponse) (rejected int, deferred uint64, acked int, err error) {
	bySeq := make(map[uint64]string, len(sent))
	for _, r := range sent {
		bySeq[r.Seq] = r.Body
	}
	// decode reads a sent mutation back, for the few answers that need it.
	decode := func(seq uint64) (*syncproto.Mutation, error) {
		var m syncproto.Mutation
		if err := json.Unmarshal([]byte(bySeq[seq]), &m); err != nil {
			return nil, fmt.Errorf("outbox %d: %w", seq, err)
		}
		return &m, nil
	}
	err = c.tx(func(tx *gorm.DB) error {
		var done []uint64 // acknowledged: dropped from the outbox below, in a few statements
		for _, r := range resp.Results {
			if _, ok := bySeq[r.Seq]; !ok {
				return fmt.Errorf("the server answered for seq %d, which was not sent", r.Seq)
			}
			status := r.Status
			if status == syncproto.StatusDuplicate && r.Code != "" {
				// A repeat of a rejection whose first answer was lost: the
				// server repeats the reason, and it must reach the inspector.
				status = syncproto.StatusRejected
			}
			switch status {
			case syncproto.StatusApplied, syncproto.StatusDuplicate:
			case syncproto.StatusRejected:
				m, err := decode(r.Seq)
				if err != nil {
					return err
				}
				if err := recordRejection(tx, m, r.Code, r.Message, c.now()); err != nil {
					return err
				}
				rejected++
			case syncproto.StatusDeferred:
				// The server lacks an attachment it was told about: ask again.
				m, err := decode(r.Seq)
				if err != nil {
					return err
				}
				for _, ref := range m.Refs() {
					if err := tx.Exec(`UPDATE attachments SET on_server = 0 WHERE sha256 = ?`, ref.SHA256).Error; err != nil {
						return err
					}
				}
				deferred = r.Seq
			default:
				return fmt.Errorf("unknown push status %q for seq %d", r.Status, r.Seq)
			}
			if deferred != 0 {
				break
			}
			done = append(done, r.Seq)
			acked++
		}
		for batch := range slices.Chunk(done, 500) {
			if err := tx.Exec(`DELETE FROM outbox WHERE seq IN ?`, batch).Error; err != nil {
				return err
			}
			if err := tx.Exec(`UPDATE answers SET pending_seq = NULL WHERE pending_seq IN ?`, batch).Error; err != nil {
				return err
			}
		}
		if deferred != 0 {
			return nil
		}
		return tx.Exec(`UPDATE sync_state SET last_applied_seq = MAX(last_applied_seq, ?) WHERE id = 1`, resp.LastAppliedSeq).Error
	})
	if err == nil {
		c.updateProgress(func(p *Progress) { p.ItemsUp += acked })
	}
	return rejected, deferred, acked, err
}

// recordRejection keeps a refused mutation with its reason and marks what it
// changed on the device as refused: an answer shows the server's state again
// (the refused one beside it), a seal or close no longer counts and the
// section can be sealed again.
func recordRejection(tx *gorm.DB, m *syncproto.Mutation, code, message string, now time.Time) error {
	body, _ := json.Marshal(m)
	if err := tx.Exec(`INSERT INTO rejections (seq, mutation_id, kind, packet_id, code, message, body, rejected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`, m.Seq, m.ID, m.Kind, m.PacketID, code, message, string(body), ts(now)).Error; err != nil {
		return err
	}
	switch {
	case m.Answer != nil:
		a, _ := json.Marshal(m.Answer)
		return tx.Exec(`UPDATE answers SET rejected_seq = ?, rejected_answer = ?,
			answer = CASE WHEN server_state != '' THEN json_extract(server_state, '$.winner.answer') ELSE answer END
			WHERE packet_id = ? AND department = ? AND item_code = ? AND (pending_seq IS NULL OR pending_seq = ?)`,
			m.Seq, string(a), m.PacketID, m.Answer.Department, m.Answer.ItemCode, m.Seq).Error
	case m.Seal != nil:
		s := &m.Seal.Section
		if err := tx.Exec(`UPDATE section_seals SET rejected = 1 WHERE packet_id = ? AND department = ? AND hash = ? AND origin = 'local'`,
			m.PacketID, s.Department, m.Seal.Hash).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE sections SET sealed = 0 WHERE packet_id = ? AND department = ? AND version = ?`, m.PacketID, s.Department, s.Version).Error
	case m.SealClose != nil:
		return tx.Exec(`UPDATE closes SET rejected = 1 WHERE packet_id = ? AND hash = ? AND origin = 'local'`, m.PacketID, m.SealClose.Hash).Error
	}
	return nil
}

// pull fetches changes until the server has no more, applying each page and
// its cursor in one local transaction.
func (c *Client) pull(ctx context.Context, deviceID int64) error {
	c.updateProgress(func(p *Progress) { p.Phase = "pull"; p.CurrentObject = "" })
	cursor, err := pullCursor(c.db)
	if err != nil {
		return err
	}
	for page := 0; ; page++ {
		req := syncproto.PullRequest{DeviceID: deviceID, Cursor: cursor, Limit: batchLimit(&c.pullLimit, syncproto.MaxPullLimit)}
		resp, err := c.pullPage(ctx, &req, true)
		if err != nil {
			return err
		}
		err = c.tx(func(tx *gorm.DB) error {
			states, err := expandAcks(tx, deviceID, resp)
			if err != nil {
				return err
			}
			return applyPullStates(tx, resp, states)
		})
		if errors.Is(err, errAckUnknown) {
			// This device no longer holds what the server acknowledged
			// (edited again meanwhile, or restored): the same page in full.
			c.log.Debug("pulling a page again in full", "cursor", cursor, "err", err)
			if resp, err = c.pullPage(ctx, &req, false); err != nil {
				return err
			}
			err = c.tx(func(tx *gorm.DB) error { return applyPull(tx, resp) })
		}
		if err != nil {
			return err
		}
		c.updateProgress(func(p *Progress) { p.ItemsDown += len(resp.Changes) })
		if !resp.More {
			return nil
		}
		if resp.Cursor == cursor && len(resp.Changes) == 0 {
			return fmt.Errorf("the server says there is more but does not advance the cursor")
		}
		cursor = resp.Cursor
		if page > 100000 {
			return errors.New("pull does not end")
		}
	}
}

// pullPage asks for one page of changes; with acks, those whose content this
// device pushed come as acknowledgements (see expandAcks).
func (c *Client) pullPage(ctx context.Context, req *syncproto.PullRequest, acks bool) (*syncproto.PullResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if acks {
		h.Set(syncproto.HeaderOwnChanges, syncproto.OwnChangesAck)
	}
	resp, err := c.call(ctx, request{method: http.MethodPost, path: syncproto.PathPull, body: body, header: h, auth: true})
	if err != nil {
		return nil, err
	}
	var out syncproto.PullResponse
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("%w: undecodable response from %s: %v", ErrOffline, syncproto.PathPull, err)
	}
	return &out, nil
}

// errAckUnknown: a pulled acknowledgement names content this device does
// not hold.
var errAckUnknown = errors.New("an acknowledged change is not on this device")

// expandAcks turns each acknowledgement in resp into the full state the
// server would have sent, from what this device pushed (its answer, its
// sealed section or close) and what the acknowledgement adds (version,
// sequence, receipt time, flags), so the page applies exactly as a full
// one. It fails with errAckUnknown, before anything is written, if the
// device no longer holds that content. The answers' states are also
// returned decoded, by index in resp.Changes, for applyPullStates.
func expandAcks(tx *gorm.DB, deviceID int64, resp *syncproto.PullResponse) (map[int]*syncproto.AnswerState, error) {
	states := map[int]*syncproto.AnswerState{}
	// A day's acknowledgements are mostly answers, many per packet: each
	// packet's local answers are read once, by one query.
	answers := map[string]map[string]string{} // packet → "dept/item" → answer
	localAnswer := func(packetID, key string) (string, bool, error) {
		byKey, ok := answers[packetID]
		if !ok {
			var rows []struct{ Department, ItemCode, Answer string }
			if err := tx.Raw(`SELECT department, item_code, answer FROM answers WHERE packet_id = ?`, packetID).Scan(&rows).Error; err != nil {
				return "", false, err
			}
			byKey = make(map[string]string, len(rows))
			for _, r := range rows {
				byKey[r.Department+"/"+r.ItemCode] = r.Answer
			}
			answers[packetID] = byKey
		}
		body, ok := byKey[key]
		return body, ok, nil
	}
	for i := range resp.Changes {
		ch := &resp.Changes[i]
		ack := ch.Ack
		if ack == nil {
			continue
		}
		var state any
		switch ch.Kind {
		case syncproto.ChangeAnswer:
			dept, item, _ := strings.Cut(ch.Key, "/")
			body, ok, err := localAnswer(ch.PacketID, dept+"/"+item)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%w: answer %s %s", errAckUnknown, ch.PacketID, ch.Key)
			}
			var am syncproto.AnswerMutation
			if err := json.Unmarshal([]byte(body), &am); err != nil {
				return nil, err
			}
			if h, err := syncproto.CanonicalHash(&am); err != nil || len(ack.Hash) < syncproto.AckAnswerDigest || !strings.HasPrefix(h, ack.Hash) {
				return nil, fmt.Errorf("%w: answer %s %s", errAckUnknown, ch.PacketID, ch.Key)
			}
			st := &syncproto.AnswerState{Version: ack.Version, Winner: syncproto.AnswerVersion{Answer: am, DeviceID: deviceID,
				InspectorID: ack.InspectorID, Seq: ack.Seq, ReceivedAt: ack.ReceivedAt, DeviceTime: ack.DeviceTime}}
			state, states[i] = st, st
		case syncproto.ChangeSection:
			dept, version, _ := strings.Cut(ch.Key, "/")
			var bodies []string
			if err := tx.Raw(`SELECT body FROM section_seals WHERE packet_id = ? AND department = ? AND version = ? AND hash = ? AND origin = 'local'`,
				ch.PacketID, dept, version, ack.Hash).Scan(&bodies).Error; err != nil {
				return nil, err
			}
			if len(bodies) == 0 {
				return nil, fmt.Errorf("%w: section %s %s", errAckUnknown, ch.PacketID, ch.Key)
			}
			var ss syncproto.SealedSection
			if err := json.Unmarshal([]byte(bodies[0]), &ss); err != nil {
				return nil, err
			}
			ss.ReceivedAt, ss.Flags = ack.ReceivedAt, ack.Flags
			state = ss
		case syncproto.ChangeClose:
			var bodies []string
			if err := tx.Raw(`SELECT body FROM closes WHERE packet_id = ? AND hash = ? AND origin = 'local'`,
				ch.PacketID, ack.Hash).Scan(&bodies).Error; err != nil {
				return nil, err
			}
			if len(bodies) == 0 || ch.Key != ack.Hash {
				return nil, fmt.Errorf("%w: close %s %s", errAckUnknown, ch.PacketID, ch.Key)
			}
			var sc syncproto.SealedClose
			if err := json.Unmarshal([]byte(bodies[0]), &sc); err != nil {
				return nil, err
			}
			sc.ReceivedAt, sc.Flags = ack.ReceivedAt, ack.Flags
			state = sc
		default:
			return nil, fmt.Errorf("%w: a %s", errAckUnknown, ch.Kind)
		}
		data, err := json.Marshal(state)
		if err != nil {
			return nil, err
		}
		ch.Data, ch.Ack = data, nil
	}
	return states, nil
}

// pullCursor is the server-issued cursor the next pull starts from.
func pullCursor(db *gorm.DB) (string, error) {
	var cursor string
	err := db.Raw(`SELECT cursor FROM sync_state WHERE id = 1`).Scan(&cursor).Error
	return cursor, err
}

func applyPull(tx *gorm.DB, resp *syncproto.PullResponse) error {
	return applyPullStates(tx, resp, nil)
}

// answerUpsert writes a pulled answer's state; the device's own answer
// stays while it is not acknowledged.
const answerUpsert = `INSERT INTO answers (packet_id, department, item_code, answer, server_version, server_state, conflicts) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (packet_id, department, item_code) DO UPDATE SET server_version = excluded.server_version,
	server_state = excluded.server_state, conflicts = excluded.conflicts,
	answer = CASE WHEN answers.pending_seq IS NULL THEN excluded.answer ELSE answers.answer END`

// applyPullStates applies a pulled page; states are answer states already
// decoded (by index in resp.Changes; see expandAcks). A page's answers
// (a day's pull is a thousand or more) share one prepared statement.
func applyPullStates(tx *gorm.DB, resp *syncproto.PullResponse, states map[int]*syncproto.AnswerState) error {
	if resp.Reset {
		// Drop what came from the server; keep the outbox, local answers not
		// yet acknowledged, and records sealed here.
		for _, q := range []string{
			`DELETE FROM packets`,
			`DELETE FROM records WHERE origin = 'server'`,
			`DELETE FROM section_seals WHERE origin = 'server'`,
			`DELETE FROM closes WHERE origin = 'server'`,
			`DELETE FROM answers WHERE pending_seq IS NULL`,
			`UPDATE answers SET server_version = 0, server_state = '', conflicts = 0`,
		} {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
	}
	var upsert *sql.Stmt
	defer func() {
		if upsert != nil {
			upsert.Close()
		}
	}()
	for i, ch := range resp.Changes {
		switch ch.Kind {
		case syncproto.ChangePacket:
			var p syncproto.PacketState
			if err := json.Unmarshal(ch.Data, &p); err != nil {
				return fmt.Errorf("pulled packet %s: %w", ch.PacketID, err)
			}
			if err := tx.Exec(`INSERT INTO packets (id, campaign_id, version, team_number, content) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET campaign_id = excluded.campaign_id, version = excluded.version,
				team_number = excluded.team_number, content = excluded.content`,
				p.ID, p.CampaignID, p.Version, p.TeamNumber, string(p.Content)).Error; err != nil {
				return err
			}
		case syncproto.ChangeAnswer:
			st := states[i]
			if st == nil {
				st = new(syncproto.AnswerState)
				if err := json.Unmarshal(ch.Data, st); err != nil {
					return fmt.Errorf("pulled answer %s %s: %w", ch.PacketID, ch.Key, err)
				}
			}
			w := st.Winner.Answer
			answer, _ := json.Marshal(w)
			if upsert == nil {
				var err error
				if upsert, err = tx.Statement.ConnPool.PrepareContext(context.Background(), answerUpsert); err != nil {
					return err
				}
			}
			if _, err := upsert.ExecContext(context.Background(), ch.PacketID, w.Department, w.ItemCode, string(answer), st.Version, string(ch.Data), len(st.Conflicts)); err != nil {
				return err
			}
		case syncproto.ChangeRecord:
			var sr syncproto.SealedRecord
			if err := json.Unmarshal(ch.Data, &sr); err != nil {
				return fmt.Errorf("pulled record %s: %w", ch.PacketID, err)
			}
			if err := tx.Exec(`INSERT INTO records (packet_id, version, origin, record, hash, signature) VALUES (?, ?, 'server', ?, ?, ?)
				ON CONFLICT (packet_id, version, origin) DO UPDATE SET record = excluded.record, hash = excluded.hash, signature = excluded.signature`,
				ch.PacketID, sr.Record.Version, string(ch.Data), sr.Hash, sr.Signature).Error; err != nil {
				return err
			}
		case syncproto.ChangeSection:
			var ss syncproto.SealedSection
			if err := json.Unmarshal(ch.Data, &ss); err != nil {
				return fmt.Errorf("pulled section %s %s: %w", ch.PacketID, ch.Key, err)
			}
			if err := tx.Exec(`INSERT INTO section_seals (packet_id, department, version, origin, body, hash) VALUES (?, ?, ?, 'server', ?, ?)
				ON CONFLICT (packet_id, department, version, origin, hash) DO UPDATE SET body = excluded.body`,
				ch.PacketID, ss.Section.Department, ss.Section.Version, string(ch.Data), ss.Hash).Error; err != nil {
				return err
			}
		case syncproto.ChangeClose:
			var sc syncproto.SealedClose
			if err := json.Unmarshal(ch.Data, &sc); err != nil {
				return fmt.Errorf("pulled close %s %s: %w", ch.PacketID, ch.Key, err)
			}
			if err := tx.Exec(`INSERT INTO closes (packet_id, hash, origin, body) VALUES (?, ?, 'server', ?)
				ON CONFLICT (packet_id, hash, origin) DO UPDATE SET body = excluded.body`,
				ch.PacketID, sc.Hash, string(ch.Data)).Error; err != nil {
				return err
			}
		default:
			// A newer server may send kinds this SDK does not know; skip them.
		}
	}
	return tx.Exec(`UPDATE sync_state SET cursor = ?, last_applied_seq = MAX(last_applied_seq, ?) WHERE id = 1`, resp.Cursor, resp.LastAppliedSeq).Error
}

// Watch syncs now, then again every interval and whenever a local change is
// made, until ctx ends. Between syncs, while online, it keeps a pull open on
// the server (a long poll), so a change for this device — a new or changed
// packet, a teammate's answer — arrives within seconds rather than at the
// next interval; against a server that does not hold pulls, it waits out the
// interval instead. While the server is unreachable it keeps trying with
// backoff (at most every interval), so it reconciles as soon as the link is
// back without the app having to notice. It returns when ctx ends, or with
// ErrAuth, ErrRevoked or ErrUpgradeRequired, which need the inspector.
func (c *Client) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	needsInspector := func(err error) bool {
		return errors.Is(err, ErrAuth) || errors.Is(err, ErrRevoked) || errors.Is(err, ErrUpgradeRequired) || errors.Is(err, ErrNotEnrolled)
	}
	failures := 0
	for {
		err := c.Sync(ctx)
		wait := interval
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil || errors.Is(err, ErrRejected):
			failures = 0
		case needsInspector(err):
			c.emit(Event{Kind: EventStopped, Err: err})
			return err
		default:
			failures++
			wait = min(c.backoff(failures), interval)
			c.log.Info("sync failed; retrying", "err", err, "in", wait)
		}
		if err != nil && c.cfg.Logger != nil {
			c.log.Debug("sync", "err", err)
		}
		if failures == 0 {
			// Online and idle: wait on the server until the next sync is due.
			err := c.awaitChanges(ctx, time.Now().Add(interval))
			switch {
			case err == nil:
				continue
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, errNoLongPoll):
			case needsInspector(err):
				c.emit(Event{Kind: EventStopped, Err: err})
				return err
			default:
				failures++
				wait = min(c.backoff(failures), interval)
				c.log.Info("waiting for changes failed; syncing again", "err", err, "in", wait)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-c.kick:
			t.Stop()
		}
	}
}

// Status summarizes the device's sync state.
type Status struct {
	ServerURL      string
	Username       string
	DeviceID       int64
	Enrolled       bool
	Revoked        bool
	NeedsLogin     bool
	Outbox         int // mutations not yet acknowledged
	PendingUploads int // attachments the server is not known to hold
	Rejections     int
	Conflicts      int // items whose server state keeps conflicting versions
	LastSyncAt     time.Time
	Cursor         string
	LastAppliedSeq uint64
	NextSeq        uint64
}

// Status reports the outbox, uploads, rejections, conflicts and the last sync.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Status{}
	d, err := c.device(c.db)
	switch {
	case errors.Is(err, ErrNotEnrolled):
	case err != nil:
		return nil, err
	default:
		s.Enrolled, s.ServerURL, s.Username = true, d.ServerURL, d.Username
		s.DeviceID, s.Revoked, s.NeedsLogin = d.DeviceID.Int64, d.RevokedAt != "", d.NeedsLogin != 0
	}
	var st struct {
		NextSeq        uint64 `gorm:"column:next_seq"`
		Cursor         string `gorm:"column:cursor"`
		LastSyncAt     string `gorm:"column:last_sync_at"`
		LastAppliedSeq uint64 `gorm:"column:last_applied_seq"`
	}
	if err := c.db.Raw(`SELECT next_seq, cursor, last_sync_at, last_applied_seq FROM sync_state WHERE id = 1`).Scan(&st).Error; err != nil {
		return nil, err
	}
	s.NextSeq, s.Cursor, s.LastSyncAt, s.LastAppliedSeq = st.NextSeq, st.Cursor, parseTS(st.LastSyncAt), st.LastAppliedSeq
	var n int64
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{`SELECT COUNT(*) FROM outbox`, &s.Outbox},
		{`SELECT COUNT(*) FROM rejections`, &s.Rejections},
		{`SELECT COUNT(*) FROM answers WHERE conflicts > 0`, &s.Conflicts},
	} {
		if err := c.db.Raw(q.sql).Scan(&n).Error; err != nil {
			return nil, err
		}
		*q.dst = int(n)
	}
	pending, err := c.pendingUploads()
	if err != nil {
		return nil, err
	}
	s.PendingUploads = len(pending)
	return s, nil
}

// Rejection is a mutation the server refused, with its reason.
type Rejection struct {
	Seq        uint64
	MutationID string
	Kind       string
	PacketID   string
	Code       string
	Message    string
	RejectedAt time.Time
	Mutation   syncproto.Mutation
}

// Rejections lists the mutations the server rejected, oldest first.
func (c *Client) Rejections(ctx context.Context) ([]Rejection, error) {
	return c.rejections(ctx, false)
}

func (c *Client) rejections(ctx context.Context, onlyNew bool) ([]Rejection, error) {
	var rows []struct {
		Seq        uint64 `gorm:"column:seq"`
		MutationID string `gorm:"column:mutation_id"`
		Kind       string `gorm:"column:kind"`
		PacketID   string `gorm:"column:packet_id"`
		Code       string `gorm:"column:code"`
		Message    string `gorm:"column:message"`
		Body       string `gorm:"column:body"`
		RejectedAt string `gorm:"column:rejected_at"`
	}
	q := `SELECT * FROM rejections ORDER BY seq`
	if onlyNew {
		q = `SELECT * FROM rejections WHERE notified = 0 ORDER BY seq`
	}
	if err := c.db.WithContext(ctx).Raw(q).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Rejection, 0, len(rows))
	for _, r := range rows {
		rej := Rejection{Seq: r.Seq, MutationID: r.MutationID, Kind: r.Kind, PacketID: r.PacketID, Code: r.Code, Message: r.Message, RejectedAt: parseTS(r.RejectedAt)}
		if err := json.Unmarshal([]byte(r.Body), &rej.Mutation); err != nil {
			return nil, err
		}
		out = append(out, rej)
	}
	return out, nil
}

// Conflict is an item two inspectors answered offline: the server's winner
// and the other versions it kept.
type Conflict struct {
	PacketID   string
	Department string
	ItemCode   string
	State      syncproto.AnswerState
}

// Conflicts lists items whose pulled state keeps conflicting versions.
func (c *Client) Conflicts(ctx context.Context) ([]Conflict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rows []answerRow
	if err := c.db.Raw(`SELECT * FROM answers WHERE conflicts > 0 ORDER BY packet_id, department, item_code`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Conflict, 0, len(rows))
	for _, r := range rows {
		cf := Conflict{PacketID: r.PacketID, Department: r.Department, ItemCode: r.ItemCode}
		if err := json.Unmarshal([]byte(r.ServerState), &cf.State); err != nil {
			return nil, err
		}
		out = append(out, cf)
	}
	return out, nil
}
