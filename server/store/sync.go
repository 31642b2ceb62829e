package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Rows of the sync tables (migrations 00004).

type mutationRow struct {
	DeviceID   int64
	Seq        int64
	MutationID string
	Kind       string
	PacketID   string
	Status     string
	Code       string
	Message    string
	DeviceTime time.Time
	ReceivedAt time.Time
	Body       string
}

func (mutationRow) TableName() string { return "mutations" }

type answerRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	PacketID    string
	Department  string
	ItemCode    string
	Version     int64
	BaseVersion int64
	DeviceID    int64
	InspectorID int64
	Seq         int64
	Body        string
	Winner      bool
	Conflict    bool
	DeviceTime  time.Time
	ReceivedAt  time.Time
}

func (answerRow) TableName() string { return "answers" }

type visitEventRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	PacketID    string
	Kind        string
	DeviceID    int64
	InspectorID int64
	Seq         int64
	Body        string
	DeviceTime  time.Time
	ReceivedAt  time.Time
}

func (visitEventRow) TableName() string { return "visit_events" }

type recordRow struct {
	PacketID   string
	Version    int
	Hash       string
	Signature  []byte
	Body       string
	DeviceID   int64
	ReceivedAt time.Time
}

func (recordRow) TableName() string { return "records" }

type syncChangeRow struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement"`
	PacketID  string
	Kind      string
	Key       string
	CreatedAt time.Time
}

func (syncChangeRow) TableName() string { return "sync_changes" }

// syncChangesLock is the PostgreSQL advisory lock every writer of
// sync_changes holds from its insert to its commit. Sequence values are
// taken in insert order but become visible in commit order; holding the lock
// makes the two orders the same, so a pull that has read up to seq N can never
// later find a smaller seq committed behind its cursor.
const syncChangesLock = 0x73796e63 // "sync"

// addSyncChange queues one entry for the change log devices pull from. The
// entries are written as the transaction's last statements (flushSyncChanges),
// so the lock that orders the log is held only from there to the commit, not
// across the whole transaction: pushes from many devices then overlap
// instead of queueing behind each other's answers and seals. Nothing reads
// the log inside a writing transaction.
func addSyncChange(tx *Tx, packetID, kind, key string) error {
	tx.syncChanges = append(tx.syncChanges, syncChangeRow{PacketID: packetID, Kind: kind, Key: key, CreatedAt: tx.Now})
	return nil
}

// flushSyncChanges writes the queued change-log entries, in order, under
// the lock.
func (tx *Tx) flushSyncChanges() error {
	if len(tx.syncChanges) == 0 {
		return nil
	}
	if tx.Dialector.Name() == Postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", syncChangesLock).Error; err != nil {
			return err
		}
	}
	if err := insertRows(tx, "sync_changes", []string{"packet_id", "kind", "key", "created_at"}, tx.syncChanges,
		func(r syncChangeRow) []any { return []any{r.PacketID, r.Kind, r.Key, r.CreatedAt} }); err != nil {
		return err
	}
	tx.syncChanges, tx.syncChanged = nil, true
	return nil
}

// SyncService implements server.SyncService.
type SyncService struct {
	db    *DB
	blobs *BlobService // for imports of device exports; see UseBlobs
}

var _ server.SyncService = (*SyncService)(nil)

// NewSyncService returns the sync service on db.
func NewSyncService(db *DB) *SyncService { return &SyncService{db: db} }

// UseBlobs sets the blob service the attachments of imported device exports
// are stored through.
func (s *SyncService) UseBlobs(b *BlobService) { s.blobs = b }

// fieldActor returns the inspector in ctx if their token is bound to deviceID.
func fieldActor(ctx context.Context, deviceID int64) (*server.User, error) {
	if err := requireRole(ctx, server.RoleInspector); err != nil {
		return nil, err
	}
	u := server.UserFromContext(ctx)
	if u.InspectorID == nil || u.DeviceID == nil {
		return nil, server.Errorf(server.EFORBIDDEN, "同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
	}
	if *u.DeviceID != deviceID {
		return nil, server.Errorf(server.EFORBIDDEN, "请求的设备与登录设备不一致 (the device is not the one this session is bound to).")
	}
	return u, nil
}

// syncDeviceRow is the part of a device a push or pull needs.
type syncDeviceRow struct {
	ID             int64
	UserID         int64
	PublicKey      []byte
	RevokedAt      *time.Time
	LastAppliedSeq int64
}

// loadSyncDevice reads the actor's device; with lock, it holds the row until
// commit on PostgreSQL (SQLite transactions are serialized already), so the
// pushes of one device apply one after another. A revoked device is refused
// unless imported: an administrator takes in its export (ImportDeviceExport).
func loadSyncDevice(tx *Tx, actor *server.User, id int64, lock, imported bool) (*syncDeviceRow, error) {
	q := "SELECT id, user_id, public_key, revoked_at, last_applied_seq FROM devices WHERE id = ?"
	if lock && tx.Dialector.Name() == Postgres {
		// NO KEY UPDATE queues the device's pushes without holding up the
		// foreign-key checks (FOR KEY SHARE) of its uploads meanwhile.
		q += " FOR NO KEY UPDATE"
	}
	var rows []syncDeviceRow
	if err := tx.Raw(q, id).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0].UserID != actor.ID {
		return nil, server.Errorf(server.EFORBIDDEN, "请求的设备与登录设备不一致 (the device is not the one this session is bound to).")
	}
	if rows[0].RevokedAt != nil && !imported {
		return nil, server.Errorf(server.EDEVICEREVOKED, "该设备已被停用 (this device was revoked).")
	}
	return &rows[0], nil
}

// Push implements server.SyncService.
func (s *SyncService) Push(ctx context.Context, req *syncproto.PushRequest, raw []json.RawMessage) (*syncproto.PushResponse, error) {
	actor, err := fieldActor(ctx, req.DeviceID)
	if err != nil {
		return nil, err
	}
	if err := server.ValidatePushEnvelope(req); err != nil {
		return nil, err
	}
	if raw != nil && len(raw) != len(req.Mutations) {
		return nil, fmt.Errorf("push: %d raw mutations for %d decoded", len(raw), len(req.Mutations))
	}
	return s.pushRetrying(ctx, actor, req, raw, false)
}

// pushRetrying is push, tried again after losing a race. Two devices of a
// team may add the same item's next version, or the same record version, at
// once. On PostgreSQL the loser of that race fails on the unique key or as a
// deadlock victim; nothing of it was committed, so the whole batch is simply
// tried again.
func (s *SyncService) pushRetrying(ctx context.Context, actor *server.User, req *syncproto.PushRequest, raw []json.RawMessage, imported bool) (*syncproto.PushResponse, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.push(ctx, actor, req, raw, imported)
		if err == nil || attempt == 5 || !retryable(err) {
			return out, err
		}
	}
}

// retryable reports whether a push failed only because a concurrent
// transaction won a race: a unique violation, a deadlock or a serialization failure.
func retryable(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "23505")
}

// push applies one batch in one transaction; imported is for an export an
// administrator takes in, which may come from a revoked device.
func (s *SyncService) push(ctx context.Context, actor *server.User, req *syncproto.PushRequest, raw []json.RawMessage, imported bool) (*syncproto.PushResponse, error) {
	var out *syncproto.PushResponse
	// On PostgreSQL with the pgx connection at hand, so that flush writes
	// the push's rows by COPY.
	err := s.db.WithPgConn(ctx, func(tx *Tx, _ PgConn) error {
		dev, err := loadSyncDevice(tx, actor, req.DeviceID, true, imported)
		if err != nil {
			return err
		}
		p := newPusher(tx, actor, dev)
		last := uint64(dev.LastAppliedSeq)
		originals, err := p.originals(req.Mutations, last)
		if err != nil {
			return err
		}
		if err := p.prefetchBlobs(req.Mutations, last); err != nil {
			return err
		}
		if err := p.prefetchPackets(req.Mutations, last); err != nil {
			return err
		}
		results := make([]syncproto.MutationResult, 0, len(req.Mutations))
		for i := range req.Mutations {
			m := &req.Mutations[i]
			if m.Seq <= last {
				// Acknowledged again, never applied again. A repeat of a
				// rejection carries its reason, in case the first answer was lost.
				o := originals[m.Seq]
				results = append(results, syncproto.MutationResult{Seq: m.Seq, Status: syncproto.StatusDuplicate, Code: o.Code, Message: o.Message})
				continue
			}
			if m.Seq > last+1 {
				break // a gap: the device sends the missing ones first
			}
			rejection, deferred, err := p.apply(m)
			if err != nil {
				return fmt.Errorf("apply mutation %d of device %d: %w", m.Seq, dev.ID, err)
			}
			if deferred != nil {
				results = append(results, syncproto.MutationResult{Seq: m.Seq, Status: syncproto.StatusDeferred, Message: deferred.Message})
				break
			}
			row := mutationRow{
				DeviceID: dev.ID, Seq: int64(m.Seq), MutationID: m.ID, Kind: m.Kind, PacketID: m.PacketID,
				Status: syncproto.StatusApplied, DeviceTime: m.DeviceTime.UTC(), ReceivedAt: tx.Now,
			}
			if rejection != nil {
				row.Status, row.Code, row.Message = syncproto.StatusRejected, rejection.Code, rejection.Message
			}
			if raw != nil {
				row.Body = string(raw[i])
			} else {
				b, err := json.Marshal(m)
				if err != nil {
					return err
				}
				row.Body = string(b)
			}
			p.mutations = append(p.mutations, row)
			results = append(results, syncproto.MutationResult{Seq: m.Seq, Status: row.Status, Code: row.Code, Message: row.Message})
			last = m.Seq
		}
		if err := p.flush(); err != nil {
			return err
		}
		if err := tx.Exec("UPDATE devices SET last_applied_seq = ?, last_seen_at = ? WHERE id = ?", int64(last), tx.Now, dev.ID).Error; err != nil {
			return err
		}
		out = &syncproto.PushResponse{Results: results, LastAppliedSeq: last}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pusher applies one push's mutations inside its transaction. A day's push
// is a thousand mutations or more, so it does not read and write row by
// row: it reads each packet's answers and sealed versions once and keeps
// them up to date in memory, checks the batch's attachments in one query,
// and writes the new answers, attachment references and mutation rows in
// multi-row statements at the end (flush), before the commit. Nothing
// inside the push reads those tables back except through these caches.
type pusher struct {
	tx      *Tx
	actor   *server.User
	device  *syncDeviceRow
	packets map[string]*pushPacket // by id; nil when not visible to the actor

	answers map[string]map[answerKey][]*answerRow // by packet, then item: its versions in order
	sealed  map[answerKey]int                     // latest sealed version by packet and department (item "")
	// sealsRead are the packets all of whose sealed versions are in sealed
	// (a section missing there has none).
	sealsRead map[string]bool

	// usable are the batch's attachments the device may refer to and blobs
	// their stored rows, both read once at the start; a hash in neither is
	// checked on its own (the original queries).
	usable map[string]bool
	blobs  map[string]blobRow

	newAnswers []*answerRow
	refs       []attachmentRefRow
	refSeen    map[attachmentRefRow]bool
	mutations  []mutationRow
	// The joint record's rows, and the departments whose results are
	// drafted: nothing in the push reads them back.
	events  []visitEventRow
	seals   []sectionSealRow
	closes  []visitCloseRow
	drafted []answerKey // packet and department
}

type answerKey struct{ packet, dept, item string }

type attachmentRefRow struct {
	SHA256   string `gorm:"column:sha256"`
	PacketID string
}

func (attachmentRefRow) TableName() string { return "attachment_refs" }

func newPusher(tx *Tx, actor *server.User, dev *syncDeviceRow) *pusher {
	return &pusher{tx: tx, actor: actor, device: dev, packets: map[string]*pushPacket{},
		answers: map[string]map[answerKey][]*answerRow{}, sealed: map[answerKey]int{}, sealsRead: map[string]bool{},
		usable: map[string]bool{}, blobs: map[string]blobRow{}, refSeen: map[attachmentRefRow]bool{}}
}

// flushBatch is the rows a multi-row insert takes at once: within
// PostgreSQL's 65,535 parameters for the widest row.
const flushBatch = 500

// flush writes what the push queued, in the order the rows were made.
func (p *pusher) flush() error {
	if len(p.newAnswers) > 0 {
		if err := p.insertAnswers(); err != nil {
			return err
		}
		p.newAnswers = nil
	}
	if err := p.flushRefs(); err != nil {
		return err
	}
	if err := p.flushJoint(); err != nil {
		return err
	}
	if len(p.mutations) > 0 {
		if err := p.insertMutations(); err != nil {
			return err
		}
		p.mutations = nil
	}
	return nil
}

// flushJoint writes the queued visit events, sealed sections and closes,
// and drafts the results of the departments that sealed: by COPY on
// PostgreSQL, else multi-row inserts; a statement each, not a few per
// packet.
func (p *pusher) flushJoint() error {
	if len(p.events) > 0 {
		if err := insertRows(p.tx, "visit_events", []string{"packet_id", "kind", "device_id", "inspector_id", "seq", "body", "device_time", "received_at"},
			p.events, func(r visitEventRow) []any {
				return []any{r.PacketID, r.Kind, r.DeviceID, r.InspectorID, r.Seq, r.Body, r.DeviceTime, r.ReceivedAt}
			}); err != nil {
			return err
		}
		p.events = nil
	}
	if len(p.seals) > 0 {
		if err := insertRows(p.tx, "section_seals", []string{"packet_id", "department", "version", "hash", "signature", "body", "flags", "device_id", "inspector_id", "received_at"},
			p.seals, func(r sectionSealRow) []any {
				return []any{r.PacketID, r.Department, r.Version, r.Hash, r.Signature, r.Body, r.Flags, r.DeviceID, r.InspectorID, r.ReceivedAt}
			}); err != nil {
			return err
		}
		p.seals = nil
	}
	if len(p.closes) > 0 {
		if err := insertRows(p.tx, "visit_closes", []string{"packet_id", "hash", "signature", "body", "flags", "device_id", "inspector_id", "received_at"},
			p.closes, func(r visitCloseRow) []any {
				return []any{r.PacketID, r.Hash, r.Signature, r.Body, r.Flags, r.DeviceID, r.InspectorID, r.ReceivedAt}
			}); err != nil {
			return err
		}
		p.closes = nil
	}
	if len(p.drafted) > 0 {
		if err := ensureResults(p.tx, p.drafted); err != nil {
			return err
		}
		p.drafted = nil
	}
	return nil
}

// insertRows writes rows into table's columns: by COPY when the transaction
// has its pgx connection, else in multi-row inserts of the rows' model.
func insertRows[R any](tx *Tx, table string, columns []string, rows []R, values func(R) []any) error {
	if tx.pg != nil {
		return copyInto(tx, table, columns, rows, values)
	}
	return tx.CreateInBatches(rows, flushBatch).Error
}

// insertAnswers writes the new answer versions (nothing in the push reads
// their ids).
func (p *pusher) insertAnswers() error {
	return insertRows(p.tx, "answers", []string{"packet_id", "department", "item_code", "version", "base_version", "device_id",
		"inspector_id", "seq", "body", "winner", "conflict", "device_time", "received_at"}, p.newAnswers,
		func(r *answerRow) []any {
			return []any{r.PacketID, r.Department, r.ItemCode, r.Version, r.BaseVersion, r.DeviceID,
				r.InspectorID, r.Seq, r.Body, r.Winner, r.Conflict, r.DeviceTime, r.ReceivedAt}
		})
}

// insertMutations writes the batch's mutation rows.
func (p *pusher) insertMutations() error {
	return insertRows(p.tx, "mutations", []string{"device_id", "seq", "mutation_id", "kind", "packet_id", "status",
		"code", "message", "device_time", "received_at", "body"}, p.mutations,
		func(r mutationRow) []any {
			return []any{r.DeviceID, r.Seq, r.MutationID, r.Kind, r.PacketID, r.Status,
				r.Code, r.Message, r.DeviceTime, r.ReceivedAt, r.Body}
		})
}

// copyInto writes rows into table's columns by COPY on the transaction's
// pgx connection (tx.pg must be set), each row's values given by values in
// the columns' order.
func copyInto[R any](tx *Tx, table string, columns []string, rows []R, values func(R) []any) error {
	return tx.pg(func(c *pgx.Conn) error {
		ctx := tx.Statement.Context
		if ctx == nil {
			ctx = context.Background()
		}
		_, err := c.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return values(rows[i]), nil
		}))
		return err
	})
}

// flushRefs writes the queued attachment references, which unusableBlobs
// reads.
func (p *pusher) flushRefs() error {
	for batch := range slices.Chunk(p.refs, flushBatch) {
		q := "INSERT INTO attachment_refs (sha256, packet_id) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(batch)), ", ") + " ON CONFLICT DO NOTHING"
		args := make([]any, 0, 2*len(batch))
		for _, r := range batch {
			args = append(args, r.SHA256, r.PacketID)
		}
		if err := p.tx.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	p.refs = nil
	return nil
}

// prefetchBlobs reads, in one go, which of the attachments the batch's new
// mutations refer to the device may use, and their stored rows.
func (p *pusher) prefetchBlobs(ms []syncproto.Mutation, last uint64) error {
	var hashes []string
	seen := map[string]bool{}
	for i := range ms {
		if ms[i].Seq <= last {
			continue
		}
		for _, r := range ms[i].Refs() {
			if !seen[r.SHA256] && syncproto.ValidSHA256(r.SHA256) {
				seen[r.SHA256] = true
				hashes = append(hashes, r.SHA256)
			}
		}
	}
	if len(hashes) == 0 {
		return nil
	}
	unusable, err := unusableBlobs(p.tx, p.actor, p.device.ID, hashes)
	if err != nil {
		return err
	}
	for _, h := range hashes {
		p.usable[h] = true
	}
	for _, h := range unusable {
		delete(p.usable, h)
	}
	for batch := range slices.Chunk(hashes, flushBatch) {
		var rows []blobRow
		if err := p.tx.Where("sha256 IN ?", batch).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			p.blobs[r.SHA256] = r
		}
	}
	return nil
}

// itemVersions returns the stored and queued versions of an item, in
// version order, reading the packet's answers on first use.
func (p *pusher) itemVersions(k answerKey) ([]*answerRow, error) {
	byItem, ok := p.answers[k.packet]
	if !ok {
		var rows []*answerRow
		if err := p.tx.Where("packet_id = ?", k.packet).Order("department, item_code, version").Find(&rows).Error; err != nil {
			return nil, err
		}
		byItem = map[answerKey][]*answerRow{}
		for _, r := range rows {
			rk := answerKey{r.PacketID, r.Department, r.ItemCode}
			byItem[rk] = append(byItem[rk], r)
		}
		p.answers[k.packet] = byItem
	}
	return byItem[k], nil
}

// sealedVersion is sealedSectionVersion, read once per section and kept
// up to date by applySeal.
func (p *pusher) sealedVersion(packetID, dept string) (int, error) {
	k := answerKey{packet: packetID, dept: dept}
	if v, ok := p.sealed[k]; ok {
		return v, nil
	}
	if p.sealsRead[packetID] {
		p.sealed[k] = 0
		return 0, nil
	}
	v, err := sealedSectionVersion(p.tx, packetID, dept)
	if err != nil {
		return 0, err
	}
	p.sealed[k] = v
	return v, nil
}

// prefetchPackets reads, in three queries for the whole batch, what packet,
// itemVersions and sealedVersion would otherwise read one packet at a time:
// the packets the batch's new mutations name (those the actor may work
// on), their answers, and their sections' latest sealed versions.
func (p *pusher) prefetchPackets(ms []syncproto.Mutation, last uint64) error {
	var ids []string
	seen := map[string]bool{}
	for i := range ms {
		if id := ms[i].PacketID; ms[i].Seq > last && id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for batch := range slices.Chunk(ids, flushBatch) {
		var packets []packetRow
		if err := p.tx.Raw(`SELECT p.* FROM packets p JOIN team_members tm
		ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
		WHERE p.id IN ? AND tm.inspector_id = ?`, batch, *p.actor.InspectorID).Scan(&packets).Error; err != nil {
			return err
		}
		for _, id := range batch {
			p.packets[id] = nil // not the actor's, unless read below
			p.answers[id] = map[answerKey][]*answerRow{}
			p.sealsRead[id] = true
		}
		for _, r := range packets {
			if p.packets[r.ID] != nil {
				continue
			}
			pk := &pushPacket{row: r}
			if err := json.Unmarshal([]byte(r.Content), &pk.content); err != nil {
				return fmt.Errorf("packet %s: content: %w", r.ID, err)
			}
			p.packets[r.ID] = pk
		}
		var answers []*answerRow
		if err := p.tx.Where("packet_id IN ?", batch).Order("packet_id, department, item_code, version").Find(&answers).Error; err != nil {
			return err
		}
		for _, r := range answers {
			k := answerKey{r.PacketID, r.Department, r.ItemCode}
			p.answers[r.PacketID][k] = append(p.answers[r.PacketID][k], r)
		}
		var sealed []struct {
			PacketID, Department string
			Version              int
		}
		if err := p.tx.Raw("SELECT packet_id, department, MAX(version) AS version FROM section_seals WHERE packet_id IN ? GROUP BY packet_id, department",
			batch).Scan(&sealed).Error; err != nil {
			return err
		}
		for _, r := range sealed {
			p.sealed[answerKey{packet: r.PacketID, dept: r.Department}] = r.Version
		}
	}
	return nil
}

// pushPacket is a packet the actor may work on.
type pushPacket struct {
	row     packetRow
	content server.PacketContent
}

// originals returns the stored outcome of every mutation of the batch at or
// below last, by seq.
func (p *pusher) originals(ms []syncproto.Mutation, last uint64) (map[uint64]mutationRow, error) {
	out := map[uint64]mutationRow{}
	if len(ms) == 0 || ms[0].Seq > last {
		return out, nil
	}
	var rows []mutationRow
	if err := p.tx.Where("device_id = ? AND seq BETWEEN ? AND ?", p.device.ID, int64(ms[0].Seq), int64(last)).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[uint64(r.Seq)] = r
	}
	return out, nil
}

// packet returns the packet if it is assigned to the actor's team, else nil.
func (p *pusher) packet(id string) (*pushPacket, error) {
	if pk, ok := p.packets[id]; ok {
		return pk, nil
	}
	var rows []packetRow
	err := p.tx.Raw(`SELECT p.* FROM packets p JOIN team_members tm
		ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
		WHERE p.id = ? AND tm.inspector_id = ?`, id, *p.actor.InspectorID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	var pk *pushPacket
	if len(rows) > 0 {
		pk = &pushPacket{row: rows[0]}
		if err := json.Unmarshal([]byte(rows[0].Content), &pk.content); err != nil {
			return nil, fmt.Errorf("packet %s: content: %w", id, err)
		}
	}
	p.packets[id] = pk
	return pk, nil
}

// apply applies m, or returns why it never can (rejection) or why not yet
// (deferred: an attachment the device has not uploaded). Rejections are
// decided before any write, so a rejected mutation leaves no effect behind.
func (p *pusher) apply(m *syncproto.Mutation) (rejection, deferred *server.Error, err error) {
	if err := m.Validate(); err != nil {
		return server.Errorf(server.EINVALID, "变更无效 (invalid mutation: %v).", err), nil, nil
	}
	pk, err := p.packet(m.PacketID)
	if err != nil {
		return nil, nil, err
	}
	if pk == nil {
		return server.Errorf(server.ENOTFOUND, "检查包不存在或未分配给您的检查组 (packet not found or not assigned to your team)."), nil, nil
	}
	me := pk.member(*p.actor.InspectorID)
	if me == nil {
		return nil, nil, fmt.Errorf("packet %s: inspector %d is on the team but not in its content", m.PacketID, *p.actor.InspectorID)
	}
	switch m.Kind {
	case syncproto.KindClose, syncproto.KindFinalize:
		return server.Errorf(server.EINVALID, "整份记录的结论与封存已改为按部门封存：请更新应用后重新封存本部门部分并记录结论 (protocol 1 closes and whole-visit seals are no longer accepted: seal your department's section and capture the close again)."), nil, nil
	case syncproto.KindAnswer:
		if rej, err := p.checkAnswer(m, pk, me); rej != nil || err != nil {
			return rej, nil, err
		}
	case syncproto.KindCertificates:
		if rej := checkCertificates(pk, m.Certificates.Shown, ""); rej != nil {
			return rej, nil, nil
		}
	case syncproto.KindSeal:
		if rej, err := p.checkSeal(m, pk, me); rej != nil || err != nil {
			return rej, nil, err
		}
	case syncproto.KindSealClose:
		if rej := p.checkClose(m, pk); rej != nil {
			return rej, nil, nil
		}
	}
	refs := m.Refs()
	hashes := make([]string, 0, len(refs))
	for _, r := range refs {
		hashes = append(hashes, r.SHA256)
	}
	unusable, err := p.unusableBlobs(hashes)
	if err != nil {
		return nil, nil, err
	}
	if len(unusable) > 0 {
		if rej, err := refusedAttachment(p.tx, unusable); rej != nil || err != nil {
			return rej, nil, err // its content was refused: it will never arrive
		}
		// The same answer whether the bytes are on the server or not: a hash
		// alone grants nothing and tells nothing.
		return nil, server.Errorf(server.ENOTFOUND, "附件尚未由本设备上传：%s (attachment not uploaded from this device yet: %s).", unusable[0], unusable[0]), nil
	}
	if rej, err := p.mismatchedRefs(refs); rej != nil || err != nil {
		return rej, nil, err
	}
	switch m.Kind {
	case syncproto.KindAnswer:
		err = p.applyAnswer(m)
	case syncproto.KindCertificates:
		err = p.addVisitEvent(m, m.Certificates)
	case syncproto.KindSeal:
		err = p.applySeal(m, pk)
	case syncproto.KindSealClose:
		err = p.applyClose(m, pk)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, h := range hashes {
		if r := (attachmentRefRow{SHA256: h, PacketID: m.PacketID}); !p.refSeen[r] {
			p.refSeen[r] = true
			p.refs = append(p.refs, r)
		}
	}
	return nil, nil, nil
}

// itemInPacket reports whether the answer's item is in the packet's checklist.
func itemInPacket(c *server.PacketContent, a *syncproto.AnswerMutation) bool {
	for _, s := range c.Sections {
		if s.Department != a.Department {
			continue
		}
		for _, it := range s.Items {
			if it.Code == a.ItemCode && it.Version == a.ItemVersion {
				return true
			}
		}
	}
	return false
}

func (p *pusher) addVisitEvent(m *syncproto.Mutation, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	p.events = append(p.events, visitEventRow{
		PacketID: m.PacketID, Kind: m.Kind, DeviceID: p.device.ID, InspectorID: *p.actor.InspectorID, Seq: int64(m.Seq),
		Body: string(b), DeviceTime: m.DeviceTime.UTC(), ReceivedAt: p.tx.Now,
	})
	return nil
}

// canonicalJSON is the encoding syncproto.RecordHash hashes.
func canonicalJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// missingBlobs returns the hashes with no row in blobs, in order, each once.
func missingBlobs(tx *Tx, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	have := map[string]bool{}
	for batch := range slices.Chunk(hashes, 500) {
		var got []string
		if err := tx.Raw("SELECT sha256 FROM blobs WHERE sha256 IN ?", batch).Scan(&got).Error; err != nil {
			return nil, err
		}
		for _, h := range got {
			have[h] = true
		}
	}
	var out []string
	for _, h := range hashes {
		if !have[h] {
			out = append(out, h)
			have[h] = true // each once
		}
	}
	return out, nil
}

// MissingBlobs implements server.SyncService. It answers for the caller's
// device only: a hash is "missing" unless that device uploaded it or a packet
// of the inspector's team already references it, so the answer says nothing
// about anyone else's files.
func (s *SyncService) MissingBlobs(ctx context.Context, hashes []string) ([]string, error) {
	if err := requireRole(ctx, server.RoleInspector); err != nil {
		return nil, err
	}
	u := server.UserFromContext(ctx)
	if u.DeviceID == nil || u.InspectorID == nil {
		return nil, server.Errorf(server.EFORBIDDEN, "同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
	}
	out := []string{}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		m, err := unusableBlobs(tx, u, *u.DeviceID, hashes)
		out = append(out, m...)
		return err
	})
	return out, err
}

// mismatchedRefs is mismatchedRefs with the blob rows read at the start.
func (p *pusher) mismatchedRefs(refs []syncproto.AttachmentRef) (*server.Error, error) {
	for _, r := range refs {
		if _, ok := p.blobs[r.SHA256]; !ok {
			return mismatchedRefs(p.tx, refs)
		}
	}
	return checkRefs(refs, p.blobs), nil
}

// mismatchedRefs rejects a reference whose size or content type is not the
// stored blob's: a record must describe its attachments as they are.
func mismatchedRefs(tx *Tx, refs []syncproto.AttachmentRef) (*server.Error, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	hashes := make([]string, 0, len(refs))
	for _, r := range refs {
		hashes = append(hashes, r.SHA256)
	}
	stored := map[string]blobRow{}
	for batch := range slices.Chunk(hashes, 500) {
		var rows []blobRow
		if err := tx.Where("sha256 IN ?", batch).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			stored[r.SHA256] = r
		}
	}
	return checkRefs(refs, stored), nil
}

func checkRefs(refs []syncproto.AttachmentRef, stored map[string]blobRow) *server.Error {
	for _, r := range refs {
		b, ok := stored[r.SHA256]
		if ok && (b.Size != r.Size || b.ContentType != r.ContentType) {
			return server.Errorf(server.EINVALID, "附件%s的大小或类型与已上传的文件不符（%d字节，%s） (attachment %s is %d bytes of %s, not %d bytes of %s as the record says).",
				r.SHA256, b.Size, b.ContentType, r.SHA256, b.Size, b.ContentType, r.Size, r.ContentType)
		}
	}
	return nil
}
