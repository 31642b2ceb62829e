package store_test

import (
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// An answer names an existing packet, device and inspector, on both
// dialects (PostgreSQL checks once per statement since 00018, SQLite by
// foreign key): a statement with one row naming a missing one writes
// nothing, and a packet, device or inspector that answers name can be
// neither deleted nor renumbered.
func TestAnswers_ParentsMustExist(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		h := apptest.New(t, db)
		is := h.IssueCampaign(t, apptest.CampaignSpec{})
		packet := is.PacketsOf("insp-a1")[0].ID
		_, device, _ := fieldDevice(t, h, "insp-a1")
		inspector := *h.Users["insp-a1"].InspectorID
		now := time.Now().UTC()
		const insert = `INSERT INTO answers (packet_id, department, item_code, version, base_version, device_id, inspector_id, seq, body, winner, device_time, received_at) VALUES `
		const row = `(?, 'culture', ?, 1, 0, ?, ?, 1, '{}', true, ?, ?)`
		answer := func(packet, item string, device, inspector int64) []any {
			return []any{packet, item, device, inspector, now, now}
		}
		count := func() int64 {
			t.Helper()
			var n int64
			if err := db.ScanForTest(&n, "SELECT COUNT(*) FROM answers"); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for name, args := range map[string][]any{
			"no such packet":    answer("nosuchpacket", "a", device, inspector),
			"no such device":    answer(packet, "a", device+1000, inspector),
			"no such inspector": answer(packet, "a", device, inspector+1000),
		} {
			if err := store.ExecRaw(db, insert+row, args...); err == nil {
				t.Errorf("%s: the answer was written", name)
			}
			// One bad row among good ones: the statement writes none.
			all := append(append(answer(packet, "b", device, inspector), args...), answer(packet, "c", device, inspector)...)
			if err := store.ExecRaw(db, insert+row+", "+row+", "+row, all...); err == nil {
				t.Errorf("%s among good rows: the statement went through", name)
			}
		}
		if n := count(); n != 0 {
			t.Fatalf("%d answers written by refused statements", n)
		}
		if err := store.ExecRaw(db, insert+row, answer(packet, "a", device, inspector)...); err != nil {
			t.Fatalf("a good answer: %v", err)
		}
		if err := store.ExecRaw(db, "UPDATE answers SET packet_id = 'nosuchpacket'"); err == nil {
			t.Error("an answer moved to a missing packet")
		}
		for _, stmt := range []struct {
			sql string
			arg any
		}{
			{"DELETE FROM packets WHERE id = ?", packet},
			{"UPDATE packets SET id = 'renumbered' WHERE id = ?", packet},
			{"DELETE FROM devices WHERE id = ?", device},
			{"UPDATE devices SET id = id + 1000 WHERE id = ?", device},
			{"DELETE FROM inspectors WHERE id = ?", inspector},
			{"UPDATE inspectors SET id = id + 1000 WHERE id = ?", inspector},
		} {
			if err := store.ExecRaw(db, stmt.sql, stmt.arg); err == nil {
				t.Errorf("%s (%v) orphaned an answer", stmt.sql, stmt.arg)
			}
		}
		var orphans int64
		if err := db.ScanForTest(&orphans, `SELECT COUNT(*) FROM answers a WHERE NOT EXISTS (SELECT 1 FROM packets p WHERE p.id = a.packet_id)
			OR NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = a.device_id) OR NOT EXISTS (SELECT 1 FROM inspectors i WHERE i.id = a.inspector_id)`); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 || orphans != 0 {
			t.Fatalf("%d answers, %d of them orphaned", n, orphans)
		}
	})
}
