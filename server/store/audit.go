package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The audit chain (migration 00012, docs/audit.md).
//
// Every service method that changes state records what it did with one call
// in the same transaction, after the change and before returning nil:
//
//	addAudit(tx, "campaign.commit", "campaign", id, auditData{"digest": digest})
//
// The actor is the user in the transaction's context, as they are now
// (role and department included); without one, or for the operator's
// system context, the event is the system's. The action is a stable name,
// "<object>.<verb>" in the past or imperative as the existing ones are
// (listed in docs/audit.md; add new ones there); objectID is an int64, an
// int or a string; the payload is a small JSON object of what a reader of
// the chain needs to know (counts, ids, hashes, a reason): never a
// password, a token, a salt or other secret, and no personal data beyond
// ids. addAudit only queues the event: WithTx writes the queued events as
// the transaction's last statements, so an error anywhere rolls them back
// with the change, and a transaction that records nothing costs nothing.
//
// Writes are serialized so the chain is one line: on PostgreSQL the flush
// takes an advisory lock, reads the head and inserts the next seqs, and
// holds the lock until commit (as the sync change log does); SQLite has one
// writer at a time already.

// auditData is an event's payload: encoded as JSON with sorted keys.
type auditData map[string]any

// auditEventRow is a row of audit_events.
type auditEventRow struct {
	Seq               int64 `gorm:"primaryKey;autoIncrement:false"`
	OccurredAt        time.Time
	ActorID           *int64
	ActorRole         string
	ActorDepartmentID *int64
	Action            string
	ObjectType        string
	ObjectID          string
	Payload           string
	PrevHash          string
	Hash              string
}

func (auditEventRow) TableName() string { return "audit_events" }

func (r *auditEventRow) event() *server.AuditEvent {
	return &server.AuditEvent{
		Seq: r.Seq, OccurredAt: r.OccurredAt.UTC(), ActorID: r.ActorID, ActorRole: r.ActorRole,
		ActorDepartmentID: r.ActorDepartmentID, Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID,
		Payload: r.Payload, PrevHash: r.PrevHash, Hash: r.Hash,
	}
}

// changedFields returns the names, in snake_case, of the fields an update
// struct (server.CampaignUpdate and the like: pointer fields, nil for "keep")
// sets. An update's event names the fields, not their values, which may be
// personal data (a phone number).
func changedFields(upd any) []string {
	v := reflect.Indirect(reflect.ValueOf(upd))
	out := []string{}
	if v.Kind() != reflect.Struct {
		return out
	}
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			if !f.IsNil() {
				out = append(out, snakeCase(v.Type().Field(i).Name))
			}
		}
	}
	return out
}

// snakeCase turns a Go field name into snake_case: WindowStart is
// window_start, DepartmentIDs department_ids.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				if p := rune(name[i-1]); unicode.IsLower(p) || unicode.IsDigit(p) {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pendingAudit is an event queued on a transaction.
type pendingAudit struct {
	actor      *server.User
	action     string
	objectType string
	objectID   string
	payload    auditData
}

// declarationReviewAction names the event of a declaration's review.
var declarationReviewAction = map[server.DeclarationStatus]string{
	server.DeclarationApproved: "declaration.approve",
	server.DeclarationRejected: "declaration.reject",
}

// auditLock is the PostgreSQL advisory lock every writer of audit_events
// holds from reading the chain's head to its commit.
const auditLock = 0x61756474 // "audt"

// addAudit queues one audit event on tx; see the top of this file.
func addAudit(tx *Tx, action, objectType string, objectID any, payload auditData) {
	var id string
	switch v := objectID.(type) {
	case int64:
		id = strconv.FormatInt(v, 10)
	case int:
		id = strconv.Itoa(v)
	case string:
		id = v
	default:
		id = fmt.Sprint(v)
	}
	var actor *server.User
	if ctx := tx.Statement.Context; ctx != nil {
		actor = server.UserFromContext(ctx)
	}
	tx.audits = append(tx.audits, pendingAudit{actor: actor, action: action, objectType: objectType, objectID: id, payload: payload})
}

// audit records one event in a transaction of its own, for a change made of
// several transactions (a directory import, a device import), recorded once
// at its end.
func (db *DB) audit(ctx context.Context, action, objectType string, objectID any, payload auditData) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		addAudit(tx, action, objectType, objectID, payload)
		return nil
	})
}

// importedCounts is the payload of a device import's event: how many of the
// export's mutations got each status, the attachments stored and the
// device's last applied seq after it.
func importedCounts(r *syncproto.DeviceImportResponse) auditData {
	d := auditData{"attachments": r.Attachments, "last_applied_seq": r.LastAppliedSeq}
	for _, m := range r.Results {
		n, _ := d[m.Status].(int)
		d[m.Status] = n + 1
	}
	return d
}

// flush writes what the transaction queued for its end: the audit events,
// then the sync change log. Always in this order, so that two transactions
// never hold one of the two locks each while waiting for the other's.
func (tx *Tx) flush() error {
	if err := tx.flushAudit(); err != nil {
		return err
	}
	return tx.flushSyncChanges()
}

// flushAudit writes the queued audit events, chained after the head, under
// the lock.
func (tx *Tx) flushAudit() error {
	if len(tx.audits) == 0 {
		return nil
	}
	if tx.Dialector.Name() == Postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", auditLock).Error; err != nil {
			return err
		}
	}
	seq, prev, err := auditHead(tx)
	if err != nil {
		return err
	}
	at := tx.Now.UTC().Truncate(time.Microsecond)
	rows := make([]auditEventRow, len(tx.audits))
	for i, a := range tx.audits {
		payload := "{}"
		if len(a.payload) > 0 {
			if payload, err = canonicalJSON(a.payload); err != nil {
				return fmt.Errorf("audit %s: payload: %w", a.action, err)
			}
		}
		seq++
		e := server.AuditEvent{
			Seq: seq, OccurredAt: at, ActorRole: server.AuditSystemRole,
			Action: a.action, ObjectType: a.objectType, ObjectID: a.objectID, Payload: payload, PrevHash: prev,
		}
		if u := a.actor; u != nil && u.ID != 0 {
			id := u.ID
			e.ActorID, e.ActorRole, e.ActorDepartmentID = &id, string(u.Role), u.DepartmentID
		}
		e.Hash = server.AuditHash(&e)
		prev = e.Hash
		rows[i] = auditEventRow{
			Seq: e.Seq, OccurredAt: e.OccurredAt, ActorID: e.ActorID, ActorRole: e.ActorRole, ActorDepartmentID: e.ActorDepartmentID,
			Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Payload: e.Payload, PrevHash: e.PrevHash, Hash: e.Hash,
		}
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	tx.audits = nil
	return nil
}

// auditHead returns the seq and hash of the chain's last event, 0 and
// server.AuditGenesis while it is empty. Inside a transaction that will
// append, call it only under the lock (flushAudit does).
func auditHead(tx *Tx) (int64, string, error) {
	var rows []auditEventRow
	if err := tx.Raw("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&rows).Error; err != nil {
		return 0, "", err
	}
	if len(rows) == 0 {
		return 0, server.AuditGenesis, nil
	}
	return rows[0].Seq, rows[0].Hash, nil
}

// AuditHead returns the seq and hash of the chain's latest committed event
// (0 and server.AuditGenesis while it is empty), for whatever names the
// chain's state at a moment: a campaign's public record at publication.
// It checks no rights: the head reveals nothing and is meant to be published.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = db.WithTx(ctx, func(tx *Tx) error {
		seq, hash, err = auditHead(tx)
		return err
	})
	return seq, hash, err
}

// auditChunk is how many events a walk reads per query.
const auditChunk = 1000

// WalkAudit calls fn with every event of the chain in seq order, reading
// them in chunks by seq (memory stays flat however long the chain), until
// the chain ends or fn returns an error, which WalkAudit returns. Events
// committed during the walk are included if they come after the chunk being read.
func (db *DB) WalkAudit(ctx context.Context, fn func(*server.AuditEvent) error) error {
	after := int64(-1)
	for {
		var rows []auditEventRow
		if err := db.gorm.WithContext(ctx).Where("seq > ?", after).Order("seq").Limit(auditChunk).Find(&rows).Error; err != nil {
			return fmt.Errorf("read audit events after seq %d: %w", after, err)
		}
		for i := range rows {
			if err := fn(rows[i].event()); err != nil {
				return err
			}
		}
		if len(rows) < auditChunk {
			return nil
		}
		after = rows[len(rows)-1].Seq
	}
}

// VerifyAudit walks the whole chain with a server.AuditChain and reports its
// first broken link; with want, it also checks the chain still holds that
// head. It checks no rights (the CLI calls it); AuditService does.
func (db *DB) VerifyAudit(ctx context.Context, want *server.AuditCheckpoint) (*server.AuditReport, error) {
	var c server.AuditChain
	if want != nil {
		c.Expect(want)
	}
	var broken *server.AuditBreak
	err := db.WalkAudit(ctx, func(e *server.AuditEvent) error {
		if broken = c.Next(e); broken != nil {
			return broken
		}
		return nil
	})
	if err != nil && !errors.As(err, &broken) {
		return nil, err
	}
	if broken == nil {
		broken = c.End()
	}
	r := &server.AuditReport{Count: c.Count(), Break: broken}
	r.HeadSeq, r.HeadHash = c.Head()
	return r, nil
}

// AuditService implements server.AuditService for platform admins.
type AuditService struct{ db *DB }

var _ server.AuditService = (*AuditService)(nil)

// NewAuditService returns the audit service on db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

// AuditHead implements server.AuditService.
func (s *AuditService) AuditHead(ctx context.Context) (int64, string, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return 0, "", err
	}
	return s.db.AuditHead(ctx)
}

// MaxRecentAuditEvents caps a listing of the chain's latest events.
const MaxRecentAuditEvents = 200

// RecentAuditEvents returns the chain's latest events, newest first: at most
// limit (1 to MaxRecentAuditEvents; other values give MaxRecentAuditEvents).
// It checks no rights; AuditService does.
func (db *DB) RecentAuditEvents(ctx context.Context, limit int) ([]*server.AuditEvent, error) {
	if limit < 1 || limit > MaxRecentAuditEvents {
		limit = MaxRecentAuditEvents
	}
	var rows []auditEventRow
	if err := db.gorm.WithContext(ctx).Order("seq DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read recent audit events: %w", err)
	}
	out := make([]*server.AuditEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].event()
	}
	return out, nil
}

// RecentAuditEvents implements server.AuditService.
func (s *AuditService) RecentAuditEvents(ctx context.Context, limit int) ([]*server.AuditEvent, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return nil, err
	}
	return s.db.RecentAuditEvents(ctx, limit)
}

// VerifyAudit implements server.AuditService.
func (s *AuditService) VerifyAudit(ctx context.Context, want *server.AuditCheckpoint) (*server.AuditReport, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return nil, err
	}
	return s.db.VerifyAudit(ctx, want)
}

// AuditImport implements importer.Auditor: one audit event per directory
// import, "enterprise.import" or "inspector.import", with its counts.
func (s *ImportStore) AuditImport(ctx context.Context, directory string, rep *server.ImportReport, complete bool) error {
	return s.db.audit(ctx, directory+".import", "import", directory, auditData{
		"rows": rep.Rows, "inserted": rep.Inserted, "updated": rep.Updated, "unchanged": rep.Unchanged,
		"rejected": rep.Rejected, "complete": complete,
	})
}
