package server_test

import (
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// goldenChain is two events whose hashes were computed by the Python
// re-implementation in docs/audit.md: the encoding must not drift from it.
func goldenChain() []*server.AuditEvent {
	actor, dept := int64(7), int64(1)
	return []*server.AuditEvent{{
		Seq: 1, OccurredAt: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC), ActorRole: server.AuditSystemRole,
		Action: "department.create", ObjectType: "department", ObjectID: "1",
		Payload:  `{"code":"culture","name":"市文化广电旅游局"}`,
		PrevHash: server.AuditGenesis,
		Hash:     "6d63fba5f0a0d428cee07b33745eac3ff70ea6958a04683d78e64432663a4dcf",
	}, {
		// A time in another zone is hashed in UTC.
		Seq: 2, OccurredAt: time.Date(2026, 11, 2, 17, 30, 1, 250000000, time.FixedZone("CST", 8*3600)),
		ActorID: &actor, ActorRole: string(server.RoleDepartmentAdmin), ActorDepartmentID: &dept,
		Action: "device.revoke", ObjectType: "device", ObjectID: "12",
		Payload:  `{"reason":"设备遗失","user_id":9}`,
		PrevHash: "6d63fba5f0a0d428cee07b33745eac3ff70ea6958a04683d78e64432663a4dcf",
		Hash:     "ca162a468d6982753d33a19a586b954e8c7fbd22ef14ce9ec9dadb147fb92fa1",
	}}
}

func TestAuditHash_Golden(t *testing.T) {
	for _, e := range goldenChain() {
		if got := server.AuditHash(e); got != e.Hash {
			t.Errorf("event %d hashes to %s, want %s (docs/audit.md)", e.Seq, got, e.Hash)
		}
	}
}

func TestAuditChain(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var c server.AuditChain
		if seq, hash := c.Head(); seq != 0 || hash != server.AuditGenesis {
			t.Fatalf("empty head %d %s", seq, hash)
		}
		events := goldenChain()
		c.Expect(&server.AuditCheckpoint{Seq: 1, Hash: events[0].Hash})
		for _, e := range events {
			if b := c.Next(e); b != nil {
				t.Fatal(b)
			}
		}
		if b := c.End(); b != nil {
			t.Fatal(b)
		}
		if seq, hash := c.Head(); c.Count() != 2 || seq != 2 || hash != events[1].Hash {
			t.Fatalf("head %d %s after %d", seq, hash, c.Count())
		}
	})
	for _, tt := range []struct {
		name    string
		change  func(es []*server.AuditEvent) []*server.AuditEvent
		index   int64
		problem string
	}{
		{"ErrFirstNotOne", func(es []*server.AuditEvent) []*server.AuditEvent { return es[1:] }, 0, server.AuditBrokenSeq},
		{"ErrFirstPrevNotGenesis", func(es []*server.AuditEvent) []*server.AuditEvent {
			es[0].PrevHash = es[1].Hash
			return es
		}, 0, server.AuditBrokenPrev},
		{"ErrActorEdited", func(es []*server.AuditEvent) []*server.AuditEvent {
			other := int64(8)
			es[1].ActorID = &other
			return es
		}, 1, server.AuditBrokenHash},
		{"ErrTimeEdited", func(es []*server.AuditEvent) []*server.AuditEvent {
			es[1].OccurredAt = es[1].OccurredAt.Add(time.Microsecond)
			return es
		}, 1, server.AuditBrokenHash},
		{"ErrSeqRepeated", func(es []*server.AuditEvent) []*server.AuditEvent { return []*server.AuditEvent{es[0], es[0]} }, 1, server.AuditBrokenSeq},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c server.AuditChain
			var b *server.AuditBreak
			for _, e := range tt.change(goldenChain()) {
				if b = c.Next(e); b != nil {
					break
				}
			}
			if b == nil || b.Index != tt.index || b.Problem != tt.problem {
				t.Fatalf("break %+v, want index %d %s", b, tt.index, tt.problem)
			}
		})
	}
	t.Run("ErrHeadRewritten", func(t *testing.T) {
		var c server.AuditChain
		c.Expect(&server.AuditCheckpoint{Seq: 2, Hash: server.AuditGenesis})
		es := goldenChain()
		if b := c.Next(es[0]); b != nil {
			t.Fatal(b)
		}
		if b := c.Next(es[1]); b == nil || b.Problem != server.AuditBrokenHead || b.Index != 1 {
			t.Fatalf("break %+v", b)
		}
	})
	t.Run("ErrHeadNotReached", func(t *testing.T) {
		var c server.AuditChain
		c.Expect(&server.AuditCheckpoint{Seq: 3, Hash: server.AuditGenesis})
		for _, e := range goldenChain() {
			if b := c.Next(e); b != nil {
				t.Fatal(b)
			}
		}
		if b := c.End(); b == nil || b.Problem != server.AuditBrokenHead || b.Index != 2 {
			t.Fatalf("break %+v", b)
		}
	})
}

func TestParseAuditCheckpoint(t *testing.T) {
	h := "6d63fba5f0a0d428cee07b33745eac3ff70ea6958a04683d78e64432663a4dcf"
	if c, err := server.ParseAuditCheckpoint("12:" + h); err != nil || c.Seq != 12 || c.Hash != h {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"", "12", "0:" + h, "-1:" + h, "x:" + h, "12:" + h[:63], "12:" + h + "0", "12:6D63" + h[4:]} {
		if _, err := server.ParseAuditCheckpoint(bad); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
