package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The audit chain: every state change is an append-only event that holds
// the SHA-256 of the one before it, so that editing, deleting or reordering
// any stored event breaks the chain from there on. docs/audit.md specifies
// the byte encoding the hash covers, for verifiers in other languages.

// AuditGenesis is the prev_hash of the first event: 64 zeros.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditSystemRole is the actor role recorded for changes made with the
// operator's authority (commands run on the server, the first start), which
// have no actor id.
const AuditSystemRole = "system"

// auditDomain separates the audit hash from every other SHA-256 spotcheck computes.
const auditDomain = "spotcheck/audit/v1"

// AuditTimeLayout is the form occurred_at takes in the hashed encoding:
// UTC, always six fractional digits. Times are kept to the microsecond,
// which both databases store exactly.
const AuditTimeLayout = "2006-01-02T15:04:05.000000Z"

// AuditEvent is one link of the chain.
type AuditEvent struct {
	Seq        int64     // 1, 2, 3… with no gap
	OccurredAt time.Time // server time, UTC, microseconds
	// The actor as recorded when the event happened: nil ActorID and role
	// AuditSystemRole for the system.
	ActorID           *int64
	ActorRole         string
	ActorDepartmentID *int64
	Action            string // a stable name, "campaign.commit"
	ObjectType        string // "campaign"
	ObjectID          string // "42"; a packet's id as is
	Payload           string // a small JSON object, the bytes as stored; never a secret
	PrevHash          string // the previous event's Hash, AuditGenesis for the first
	Hash              string // AuditHash of the fields above
}

// AuditEncoding returns the bytes AuditHash hashes: the ASCII domain tag
// "spotcheck/audit/v1" and a zero byte, then ten fields, each as its length
// (4 bytes, big-endian) followed by its UTF-8 bytes: seq (decimal), occurred_at
// (AuditTimeLayout), actor id (decimal, empty for the system), actor role,
// actor department id (decimal or empty), action, object type, object id,
// payload and prev_hash (64 lowercase hex digits).
func AuditEncoding(e *AuditEvent) []byte {
	fields := [...]string{
		strconv.FormatInt(e.Seq, 10),
		e.OccurredAt.UTC().Format(AuditTimeLayout),
		optionalID(e.ActorID),
		e.ActorRole,
		optionalID(e.ActorDepartmentID),
		e.Action,
		e.ObjectType,
		e.ObjectID,
		e.Payload,
		e.PrevHash,
	}
	n := len(auditDomain) + 1
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, auditDomain...)
	b = append(b, 0)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func optionalID(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

// AuditHash returns the SHA-256 of e's encoding, in lowercase hex.
func AuditHash(e *AuditEvent) string {
	sum := sha256.Sum256(AuditEncoding(e))
	return hex.EncodeToString(sum[:])
}

// Problems a chain walk can find, named in AuditBreak.Problem. Append only.
const (
	AuditBrokenSeq  = "seq"       // the seq is not the one after the previous event's (a row deleted or moved)
	AuditBrokenPrev = "prev_hash" // prev_hash is not the previous event's hash (a row deleted, moved or rewritten)
	AuditBrokenHash = "hash"      // the stored hash is not the hash of the event's fields (a field edited)
	AuditBrokenHead = "head"      // the chain does not hold the head the caller expected (cut short or rewritten)
)

// AuditBreak is the first broken link of a chain.
type AuditBreak struct {
	Index   int64  // position in the walk, from 0
	Seq     int64  // the seq stored at that position (0 when the chain ended there)
	Problem string // AuditBroken*
	Message string // what is wrong, in Chinese and English
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit chain broken at index %d (seq %d): %s", b.Index, b.Seq, b.Message)
}

// AuditChain checks a chain one event at a time, in seq order, so a walk
// over any number of events needs constant memory.
type AuditChain struct {
	n    int64  // events accepted so far
	seq  int64  // the last one's seq
	prev string // the last one's hash

	want     *AuditCheckpoint // a head the chain must hold (Expect)
	wantSeen bool
}

// AuditCheckpoint names one event of the chain by seq and hash: a head
// published earlier (a campaign's public record names one), which the
// chain must still hold.
type AuditCheckpoint struct {
	Seq  int64
	Hash string
}

// ParseAuditCheckpoint reads "SEQ:HASH", the form the CLI and the API take.
func ParseAuditCheckpoint(s string) (*AuditCheckpoint, error) {
	seqText, hash, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 || !isLowerHex64(hash) {
		return nil, Errorf(EINVALID, "链头应写作 序号:哈希，如 12:3fa4… (a head is SEQ:HASH, e.g. 12:3fa4…, with 64 lowercase hex digits).")
	}
	return &AuditCheckpoint{Seq: seq, Hash: hash}, nil
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// Expect makes the walk also check that the chain holds want: the event
// with want's seq has want's hash, and the chain does not end before it.
// Events appended after a published head are fine; a chain cut short or
// rewritten from before it is not.
func (c *AuditChain) Expect(want *AuditCheckpoint) { c.want = want }

// Next checks e, the next event of the walk, against the events before it:
// its seq follows the previous one with no gap (the first is 1), its
// prev_hash is the previous event's hash (AuditGenesis for the first), and
// its hash is the hash of its fields. It returns the first problem found, or
// nil; after a problem, the chain's state is unchanged.
func (c *AuditChain) Next(e *AuditEvent) *AuditBreak {
	prev := c.prev
	if c.n == 0 {
		prev = AuditGenesis
	}
	broken := func(problem, format string, args ...any) *AuditBreak {
		return &AuditBreak{Index: c.n, Seq: e.Seq, Problem: problem, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.Seq != c.seq+1:
		return broken(AuditBrokenSeq, "序号应为 %d，实为 %d：有记录被删除或移动 (seq should be %d, found %d: an event was deleted or moved).", c.seq+1, e.Seq, c.seq+1, e.Seq)
	case e.PrevHash != prev:
		return broken(AuditBrokenPrev, "prev_hash 与前一条记录的哈希不符：有记录被删除、移动或改写 (prev_hash is not the previous event's hash %s: an event was deleted, moved or rewritten).", prev)
	}
	if h := AuditHash(e); h != e.Hash {
		return broken(AuditBrokenHash, "记录内容与其哈希不符：该记录被改动 (the event's fields hash to %s, not its stored hash: the event was altered).", h)
	}
	if c.want != nil && e.Seq == c.want.Seq {
		if e.Hash != c.want.Hash {
			return broken(AuditBrokenHead, "该序号的哈希不是所给的链头 %s：链在其后被改写 (the event at this seq does not have the expected head hash %s: the chain was rewritten).", c.want.Hash, c.want.Hash)
		}
		c.wantSeen = true
	}
	c.n, c.seq, c.prev = c.n+1, e.Seq, e.Hash
	return nil
}

// End returns the problem with a walk that has ended: an expected head
// (Expect) that the chain did not reach, or nil.
func (c *AuditChain) End() *AuditBreak {
	if c.want != nil && !c.wantSeen {
		return &AuditBreak{Index: c.n, Problem: AuditBrokenHead, Message: fmt.Sprintf(
			"链在第 %d 条结束，未到所给的链头（序号 %d）：有记录被截去 (the chain ends after %d events, before the expected head at seq %d: events were cut off).",
			c.n, c.want.Seq, c.n, c.want.Seq)}
	}
	return nil
}

// Count returns the number of events accepted.
func (c *AuditChain) Count() int64 { return c.n }

// Head returns the seq and hash of the last event accepted: 0 and
// AuditGenesis before the first.
func (c *AuditChain) Head() (int64, string) {
	if c.n == 0 {
		return 0, AuditGenesis
	}
	return c.seq, c.prev
}

// AuditReport is the outcome of a walk over the whole chain.
type AuditReport struct {
	Count    int64       // events verified, up to the first break
	HeadSeq  int64       // the last verified event's seq (0: none)
	HeadHash string      // its hash (AuditGenesis: none)
	Break    *AuditBreak // the first broken link; nil when the chain is whole
}

// OK reports whether the chain is whole.
func (r *AuditReport) OK() bool { return r.Break == nil }

// AuditService reads the audit chain. Both methods are for platform admins
// (EFORBIDDEN otherwise).
type AuditService interface {
	// AuditHead returns the seq and hash of the latest event: 0 and
	// AuditGenesis while the chain is empty.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// VerifyAudit walks the whole chain and reports its first broken link;
	// with want, it also checks the chain still holds that head.
	VerifyAudit(ctx context.Context, want *AuditCheckpoint) (*AuditReport, error)
	// RecentAuditEvents returns the latest events, newest first, at most
	// limit; for the console's list.
	RecentAuditEvents(ctx context.Context, limit int) ([]*AuditEvent, error)
}
