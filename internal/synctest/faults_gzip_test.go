package synctest

import (
	"testing"

	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// itemVersions is what a device holds of each item of the world's packet
// (department/item → server version), read from its own store.
func (d *device) itemVersions() map[string]int64 {
	d.t.Helper()
	var rows []struct {
		Department, ItemCode string
		ServerVersion        int64
	}
	if err := d.local.Raw(`SELECT department, item_code, server_version FROM answers WHERE packet_id = ?`, d.w.packetID).Scan(&rows).Error; err != nil {
		d.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Department+"/"+r.ItemCode] = r.ServerVersion
	}
	return out
}

// serverItemVersions is the server's highest version of each item of the
// world's packet.
func serverItemVersions(t testing.TB, db *store.DB, packetID string) map[string]int64 {
	t.Helper()
	var rows []struct {
		Department, ItemCode string
		Version              int64
	}
	serverQuery(t, db, &rows, `SELECT department, item_code, MAX(version) AS version FROM answers WHERE packet_id = ? GROUP BY department, item_code`, packetID)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Department+"/"+r.ItemCode] = r.Version
	}
	return out
}

// A gzip pull answer cut on its way back, at its first bytes, halfway and
// every 97 bytes of it: the device applies nothing of the cut page (a
// truncated gzip stream is an error, not a short page), pulls again, and
// ends holding exactly the server's version of every item its teammate
// wrote; its cursor never skips a change.
func TestFaultGzipPullCuts(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a := newDevice(t, w, w.users[0], deviceOpts{})
		b := newDevice(t, w, w.users[1], deviceOpts{})
		b.mustSync()
		const batch = 12
		// Probe: the size of a pull answer bringing a teammate's batch.
		a.work(batch)
		a.mustSync()
		n0 := len(b.proxy.Conns())
		b.mustSync()
		probe, _ := b.proxy.Conn(n0)
		respBytes := probe.DownRead
		if b.tr.gzipPulls.Load() == 0 {
			t.Fatalf("the pull answer (%d bytes) was not gzip-compressed", respBytes)
		}
		offsets := []int64{1, respBytes / 2}
		for off := int64(97); off < respBytes; off += 97 {
			offsets = append(offsets, off)
		}
		cuts := 0
		for i, off := range offsets {
			mode := []faultnet.CutMode{faultnet.CutClose, faultnet.CutReset}[i%2]
			a.work(batch)
			a.mustSync()
			before := b.tr.gzipPulls.Load()
			if b.cutSync(once(isPull, faultnet.Faults{Down: faultnet.DirFaults{CutAfterBytes: off}, Mode: mode})) {
				cuts++
			}
			if b.tr.gzipPulls.Load() == before {
				t.Errorf("cut at %d: no gzip pull answer reached the device", off)
			}
			want := serverItemVersions(t, db, w.packetID)
			got := b.itemVersions()
			for k, v := range want {
				if got[k] != v {
					lose(t, "cut at %d (%s): the device holds version %d of %s, the server %d", off, mode, got[k], k, v)
				}
			}
			b.verify()
		}
		a.verify()
		fault(cuts)
		t.Logf("gzip pull: %d-byte answers, %d cuts", respBytes, cuts)
		if cuts < len(offsets)/2 {
			t.Fatalf("only %d of %d cuts happened", cuts, len(offsets))
		}
	})
}

// A push of more mutations than the old limit of 200 (the server announces
// a larger one) whose answer is lost after the server committed: the retry
// is answered "duplicate" for every one of them, and the server holds each
// once.
func TestFaultLargePushAnswerLost(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := newDevice(t, w, w.users[0], deviceOpts{})
		d.mustSync() // learns the server's limits
		const batch = 450
		cuts := 0
		for i, off := range []int64{1, 64, 512} {
			mode := []faultnet.CutMode{faultnet.CutClose, faultnet.CutReset}[i%2]
			d.work(batch)
			pushesBefore := len(d.tr.capturedPushes())
			dupsBefore := d.tr.duplicates.Load()
			if d.cutSync(once(isPush, faultnet.Faults{Down: faultnet.DirFaults{CutAfterBytes: off}, Mode: mode})) {
				cuts++
				if got := d.tr.duplicates.Load() - dupsBefore; got != batch {
					t.Errorf("answer cut at %d (%s): the retry saw %d duplicates, want %d", off, mode, got, batch)
				}
				if n := len(d.tr.capturedPushes()) - pushesBefore; n != 2 {
					t.Errorf("answer cut at %d: %d pushes for %d mutations, want the cut one and its retry", off, n, batch)
				}
			}
			d.verify()
		}
		fault(cuts)
		if cuts != 3 {
			t.Fatalf("only %d of 3 cuts happened", cuts)
		}
		t.Logf("%d pushes of %d mutations answered after a lost answer", cuts, batch)
	})
}
