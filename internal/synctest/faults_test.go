package synctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// once returns a trigger that arms f for the first request matching match.
func once(match func(r *http.Request) bool, f faultnet.Faults) func(r *http.Request) *faultnet.Faults {
	var done atomic.Bool
	return func(r *http.Request) *faultnet.Faults {
		if match(r) && done.CompareAndSwap(false, true) {
			return &f
		}
		return nil
	}
}

func isPush(r *http.Request) bool { return r.URL.Path == syncproto.PathPush }

func isPull(r *http.Request) bool { return r.URL.Path == syncproto.PathPull }

// cutSync runs one sync with the trigger armed and then syncs until done,
// and reports whether the proxy actually cut a connection.
func (d *device) cutSync(trigger func(r *http.Request) *faultnet.Faults) bool {
	d.t.Helper()
	before := d.proxy.Stats().Cuts
	d.tr.setTrigger(trigger)
	err := d.c.Sync(context.Background())
	d.tr.setTrigger(nil)
	if err != nil && !errors.Is(err, sdk.ErrOffline) && !errors.Is(err, sdk.ErrRejected) {
		d.t.Fatalf("sync after a cut: %v", err)
	}
	if err != nil {
		d.syncUntil()
	}
	return d.proxy.Stats().Cuts > before
}

// Connection cut at every 64 bytes of the push request (close and reset), and
// the response cut at every 64 bytes on its way back (the server committed,
// the device never heard): the device retries the same mutations and the
// server holds each exactly once. A third of the answers are refused by the
// server (the device holds a wrong version of one item): a refusal whose
// answer was cut away comes back as a duplicate, and the device still shows
// it as refused. Then every push the device ever sent is replayed,
// sequentially and concurrently, with no second effect.
func TestFaultPushCutsAndReplays(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := newDevice(t, w, w.users[0], deviceOpts{})
		d.wrongItemVersion(w.items[2])
		const batch = 6
		// Probe: how many bytes are a push request and its response?
		d.work(batch)
		n0 := len(d.proxy.Conns())
		d.mustSync()
		d.verify()
		probe, _ := d.proxy.Conn(n0)
		reqBytes, respBytes := probe.UpRead, probe.DownRead
		if reqBytes < 200 || respBytes < 50 {
			t.Fatalf("probe push: %d bytes up, %d down", reqBytes, respBytes)
		}
		step := int64(64)
		cuts := 0
		for _, mode := range []faultnet.CutMode{faultnet.CutClose, faultnet.CutReset} {
			for off := int64(1); off <= reqBytes+step; off += step {
				d.work(batch)
				if d.cutSync(once(isPush, faultnet.Faults{Up: faultnet.DirFaults{CutAfterBytes: min(off, reqBytes)}, Mode: mode})) {
					cuts++
				}
				d.verify()
			}
			// The response lost after the server committed.
			for off := int64(1); off < respBytes; off += step {
				d.work(batch)
				dupsBefore := d.tr.duplicates.Load()
				if d.cutSync(once(isPush, faultnet.Faults{Down: faultnet.DirFaults{CutAfterBytes: off}, Mode: mode})) {
					cuts++
					if d.tr.duplicates.Load()-dupsBefore < batch {
						t.Errorf("response cut at %d (%s): the retry saw %d duplicates, want %d", off, mode, d.tr.duplicates.Load()-dupsBefore, batch)
					}
				}
				d.verify()
			}
		}
		fault(cuts)
		t.Logf("push: %d-byte requests, %d-byte responses, %d cuts", reqBytes, respBytes, cuts)
		if cuts < 30 {
			t.Fatalf("only %d cuts happened", cuts)
		}

		// Replays of every push body the device sent.
		before := serverCounts(t, db)
		pushes := d.tr.capturedPushes()
		replays := 0
		check := func(status int, body []byte) {
			if status != http.StatusOK {
				t.Errorf("replay: status %d: %s", status, body)
				return
			}
			var pr syncproto.PushResponse
			if err := json.Unmarshal(body, &pr); err != nil {
				t.Errorf("replay: %v", err)
				return
			}
			for _, r := range pr.Results {
				if r.Status == syncproto.StatusApplied {
					dup(t, "a replayed push applied seq %d again", r.Seq)
				}
			}
		}
		for _, p := range pushes {
			for range 2 {
				check(d.rawPush(p.body, p.header))
				replays++
			}
		}
		// Concurrently: each body four times at once, several bodies together.
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 8)
		for _, p := range pushes {
			for range 4 {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					st, b := d.rawPush(p.body, p.header)
					mu.Lock()
					check(st, b)
					replays++
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		fault(replays)
		checked.Add(1)
		if after := serverCounts(t, db); after != before {
			dup(t, "replays changed the server: %s → %s", before, after)
		}
		d.mustSync()
		d.verify()
		t.Logf("%d replays of %d pushes", replays, len(pushes))
	})
}

// Cuts mid-upload of ~300 KB photos at 10/50/90% and every 24 KB: the upload
// resumes from the server's offset, re-sends at most one chunk, and the
// server lists only whole, hash-checked blobs.
func TestFaultUploadCuts(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const chunk = 64 << 10
		d := newDevice(t, w, w.users[0], deviceOpts{chunkSize: chunk})
		r := rand.New(rand.NewPCG(7, 11))
		dir := t.TempDir()
		const size = 300_000
		var points []int64
		for _, f := range []float64{0.1, 0.5, 0.9} {
			points = append(points, int64(f*size))
		}
		for x := int64(12_000); x < size; x += 24_000 {
			points = append(points, x)
		}
		cuts := 0
		var worst int64
		overChunk := 0
		for i, x := range points {
			mode := []faultnet.CutMode{faultnet.CutClose, faultnet.CutReset}[i%2]
			path := photo(t, dir, r, size)
			d.answer(w.items[i%len(w.items)], syncproto.ResultNonCompliant, fmt.Sprintf("photo %d", i), path)
			// The request carrying byte x: the creation carries the first
			// chunk (x below a chunk cuts it mid-POST), each PATCH the next.
			k := x / chunk
			var patches atomic.Int64
			trig := func(req *http.Request) *faultnet.Faults {
				if !isUploadBody(req) {
					return nil
				}
				if patches.Add(1)-1 == k {
					return &faultnet.Faults{Up: faultnet.DirFaults{CutAfterBytes: x%chunk + 600}, Mode: mode}
				}
				return nil
			}
			d.tr.mu.Lock()
			d.tr.uploadLog = nil
			d.tr.mu.Unlock()
			upBefore := d.tr.patchBytes.Load()
			connsBefore := len(d.proxy.Conns())
			if d.cutSync(trig) {
				cuts++
			}
			d.verify()
			// Re-sent: upload bytes handed to the network beyond the photo's size.
			resent := d.tr.patchBytes.Load() - upBefore - size
			worst = max(worst, resent)
			if resent > chunk {
				overChunk++
				d.tr.mu.Lock()
				t.Logf("cut at %d (%s): %d bytes re-sent, more than one chunk; requests: %s", x, mode, resent, strings.Join(d.tr.uploadLog, "; "))
				d.tr.mu.Unlock()
			}
			if resent > 2*chunk {
				t.Errorf("cut at %d: %d bytes re-sent: the upload did not resume from the server's offset", x, resent)
			}
			_ = connsBefore
		}
		fault(cuts)
		verifyBlobs(t, db, w.h.App.Blobs)
		checked.Add(1)
		var refs int64
		serverQuery(t, db, &refs, `SELECT COUNT(*) FROM attachment_refs r LEFT JOIN blobs b ON b.sha256 = r.sha256 WHERE b.sha256 IS NULL`)
		if refs != 0 {
			lose(t, "%d attachment references without a verified blob", refs)
		}
		t.Logf("uploads: %d cut points, %d cuts, worst re-sent %d bytes (chunk %d), %d cuts re-sent more than a chunk", len(points), cuts, worst, chunk, overChunk)
		if cuts < len(points)/2 {
			t.Fatalf("only %d of %d cuts happened", cuts, len(points))
		}
	})
}

// Cuts mid-batch: ten signature-sized files go in one batch upload, cut
// at points inside and between files. Nothing is lost or stored twice, the
// server lists only whole, hash-checked blobs, and the device never sends
// more again than the cut batch. The files that arrived whole before the
// cut are stored, and the device asks which are missing and sends only
// those: then it sends at most those the cut kept from the server plus the
// file in flight. That is what happens unless the device's question reaches
// the server before the cut request itself does (on loopback under load it
// can: the question goes at once); then the batch is sent again whole.
// TestBatchUpload_CutKeepsWholeFiles checks the keeping itself without
// that race.
func TestFaultBatchUploadCuts(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := newDevice(t, w, w.users[0], deviceOpts{})
		r := rand.New(rand.NewPCG(3, 17))
		dir := t.TempDir()
		const files, size = 10, 20_000
		cuts, whole := 0, 0
		for i, at := range []float64{0.05, 0.25, 0.5, 0.75, 0.95, 0.31} {
			mode := []faultnet.CutMode{faultnet.CutClose, faultnet.CutReset}[i%2]
			for k := range files {
				d.answer(w.items[(i*files+k)%len(w.items)], syncproto.ResultNonCompliant, fmt.Sprintf("signature %d.%d", i, k), photo(t, dir, r, size))
			}
			var mu sync.Mutex
			var lengths []int64 // of the batch requests, the cut one first
			trig := func(req *http.Request) *faultnet.Faults {
				if req.URL.Path != syncproto.PathAttachmentsBatch {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				lengths = append(lengths, req.ContentLength)
				if len(lengths) == 1 {
					return &faultnet.Faults{Up: faultnet.DirFaults{CutAfterBytes: int64(at * float64(req.ContentLength))}, Mode: mode}
				}
				return nil
			}
			if d.cutSync(trig) {
				cuts++
			}
			d.verify()
			mu.Lock()
			if len(lengths) < 2 {
				t.Fatalf("cut at %.0f%%: batch requests %v; want the cut one and the rest", at*100, lengths)
			}
			var after int64
			for _, n := range lengths[1:] {
				after += n
			}
			if limit := int64((1-at)*float64(lengths[0])) + size + 2000; after > limit {
				whole++
				t.Logf("cut at %.0f%% (%s) of %d bytes: %d bytes sent again, more than the %d not delivered and the file in flight", at*100, mode, lengths[0], after, limit)
			}
			if after > lengths[0] {
				t.Errorf("cut at %.0f%% (%s): %d bytes sent again, more than the whole batch of %d", at*100, mode, after, lengths[0])
			}
			mu.Unlock()
		}
		t.Logf("%d of 6 cut batches sent again whole", whole)
		if whole == 6 {
			t.Error("every cut batch was sent again whole: the files that arrived before a cut were never kept")
		}
		fault(cuts)
		verifyBlobs(t, db, w.h.App.Blobs)
		checked.Add(1)
		if cuts < 4 {
			t.Fatalf("only %d of 6 cuts happened", cuts)
		}
	})
}

// A cut request is tried again at once: an upload asks for the server's
// offset right after the cut and re-sends no more than the chunk that was in
// flight; a cut push is sent again at once. The device's backoff is an hour
// here and any wait it announces cancels the sync, so a device that backed
// off after a cut fails rather than passes slowly. A PATCH sent from an
// offset a HEAD read before the server had handled the cut request (possible
// on loopback) is answered 409 and counted apart: at most one per cut.
func TestFaultCutRetriedAtOnce(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const chunk = 64 << 10
		watch := &waitWatch{}
		d := newDevice(t, w, w.users[0], deviceOpts{chunkSize: chunk, backoff: time.Hour, logger: slog.New(watch)})
		r := rand.New(rand.NewPCG(5, 9))
		dir := t.TempDir()
		const size = 300_000
		syncOnce := func(trig func(*http.Request) *faultnet.Faults) {
			t.Helper()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			watch.arm(cancel)
			cuts := d.proxy.Stats().Cuts
			d.tr.setTrigger(trig)
			err := d.c.Sync(ctx)
			d.tr.setTrigger(nil)
			if msg := watch.arm(nil); msg != "" {
				t.Fatalf("the device waited after a cut: %s", msg)
			}
			if err != nil {
				t.Fatalf("sync with one cut: %v", err)
			}
			if d.proxy.Stats().Cuts == cuts {
				t.Fatalf("the link was never cut")
			}
			fault(1)
			d.verify()
		}
		// Cut points: inside the creation's first chunk, then inside PATCHes.
		for i, x := range []int64{40_000, 100_000, 150_000, 230_000} {
			mode := []faultnet.CutMode{faultnet.CutReset, faultnet.CutClose}[i%2]
			d.answer(w.items[i%len(w.items)], syncproto.ResultNonCompliant, fmt.Sprintf("photo %d", i), photo(t, dir, r, size))
			k := x / chunk
			var uploads atomic.Int64
			sent, refused := d.tr.patchBytes.Load(), d.tr.refused.Load()
			syncOnce(func(req *http.Request) *faultnet.Faults {
				if isUploadBody(req) && uploads.Add(1)-1 == k {
					return &faultnet.Faults{Up: faultnet.DirFaults{CutAfterBytes: x%chunk + 600}, Mode: mode}
				}
				return nil
			})
			refused = d.tr.refused.Load() - refused
			resent := d.tr.patchBytes.Load() - sent - size - refused
			t.Logf("cut at %d (%s): %d bytes re-sent, %d refused", x, mode, resent, refused)
			if resent > chunk {
				t.Errorf("cut at %d: %d bytes re-sent, more than the %d-byte chunk in flight", x, resent, chunk)
			}
			if refused > chunk {
				t.Errorf("cut at %d: %d bytes of refused PATCHes, more than one chunk", x, refused)
			}
		}
		verifyBlobs(t, db, w.h.App.Blobs)
		// A push cut mid-body.
		d.answer(w.items[0], syncproto.ResultCompliant, "after the photos")
		syncOnce(once(isPush, faultnet.Faults{Up: faultnet.DirFaults{CutAfterBytes: 300}, Mode: faultnet.CutReset}))
		checked.Add(1)
	})
}

// waitWatch is the device's log: armed with a cancel, it cancels the sync
// at the first record announcing a wait (a backoff) and keeps its message.
type waitWatch struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	msg    string
}

// arm sets the cancel (nil to disarm) and returns the wait seen since the
// last arm, if any.
func (w *waitWatch) arm(cancel context.CancelFunc) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := w.msg
	w.cancel, w.msg = cancel, ""
	return msg
}

func (w *waitWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *waitWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *waitWatch) WithGroup(string) slog.Handler            { return w }

func (w *waitWatch) Handle(_ context.Context, r slog.Record) error {
	var wait, cause string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "wait":
			wait = a.Value.String()
		case "err":
			cause = a.Value.String()
		}
		return true
	})
	if wait == "" {
		return nil
	}
	w.mu.Lock()
	if w.cancel != nil && w.msg == "" {
		w.msg = fmt.Sprintf("%s (wait %s) after: %s", r.Message, wait, cause)
		w.cancel()
	}
	w.mu.Unlock()
	return nil
}

// Malformed, truncated, oversized and gzip-bomb push bodies are refused with
// 400/413/415 and change nothing.
func TestFaultBadBodies(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := newDevice(t, w, w.users[0], deviceOpts{})
		d.work(5)
		// Capture a real push body without letting it through: the link is down.
		d.proxy.RefuseNew(true)
		if err := d.c.Sync(context.Background()); !errors.Is(err, sdk.ErrOffline) {
			t.Fatalf("sync with the link refusing: %v", err)
		}
		fault(1)
		d.proxy.RefuseNew(false)
		pushes := d.tr.capturedPushes()
		gzBody := pushes[len(pushes)-1].body
		plain, err := gunzip(gzBody)
		if err != nil {
			t.Fatal(err)
		}
		before := serverCounts(t, db)
		jsonH := http.Header{"Content-Type": {"application/json"}, syncproto.HeaderProtocol: {fmt.Sprint(syncproto.ProtocolVersion)}}
		gzH := jsonH.Clone()
		gzH.Set("Content-Encoding", "gzip")
		type bad struct {
			name   string
			body   []byte
			header http.Header
			want   []int
		}
		var cases []bad
		for off := 0; off < len(plain)-1; off += max(1, len(plain)/40) {
			cases = append(cases, bad{fmt.Sprintf("json cut at %d", off), plain[:off], jsonH, []int{400}})
		}
		for off := 0; off < len(gzBody)-1; off += max(1, len(gzBody)/20) {
			cases = append(cases, bad{fmt.Sprintf("gzip cut at %d", off), gzBody[:off], gzH, []int{400}})
		}
		flipped := bytes.Clone(gzBody)
		flipped[len(flipped)/2] ^= 0xff
		cases = append(cases,
			bad{"corrupt gzip", flipped, gzH, []int{400}},
			bad{"unknown field", bytes.Replace(plain, []byte(`"device_id"`), []byte(`"devise_id"`), 1), jsonH, []int{400}},
			bad{"not json", []byte("<xml/>"), jsonH, []int{400}},
			bad{"array", []byte("[]"), jsonH, []int{400}},
			bad{"two values", append(bytes.Clone(plain), plain...), jsonH, []int{400}},
			bad{"deep nesting", []byte(strings.Repeat("[", 100000)), jsonH, []int{400, 413}},
			bad{"oversized", oversized(), jsonH, []int{413}},
			bad{"gzip bomb", gz(make([]byte, 64<<20)), gzH, []int{413}},
			bad{"wrong content type", plain, http.Header{"Content-Type": {"text/plain"}, syncproto.HeaderProtocol: {fmt.Sprint(syncproto.ProtocolVersion)}}, []int{415}},
			bad{"old protocol", plain, http.Header{"Content-Type": {"application/json"}}, []int{426}},
		)
		for _, c := range cases {
			st, body := d.rawPush(c.body, c.header)
			fault(1)
			checked.Add(1)
			ok := false
			for _, s := range c.want {
				ok = ok || s == st
			}
			if !ok {
				t.Errorf("%s: status %d, want %v: %s", c.name, st, c.want, firstN(body, 200))
			}
		}
		if after := serverCounts(t, db); after != before {
			dup(t, "bad bodies changed the server: %s → %s", before, after)
		}
		// The device's real push still goes through, once.
		d.mustSync()
		d.verify()
		t.Logf("%d bad bodies refused", len(cases))
	})
}

func oversized() []byte {
	b := []byte(`{"device_id":1,"mutations":[],"pad":"`)
	b = append(b, bytes.Repeat([]byte("x"), syncproto.MaxPushBytes+10)...)
	return append(b, '"', '}')
}

func firstN(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// A revoked device: its next push is refused at once, its data stays on the
// device, and a raw push with its token changes nothing.
func TestFaultRevokedDevice(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		d := newDevice(t, w, w.users[0], deviceOpts{})
		d.work(4)
		d.mustSync()
		d.verify()
		d.work(5)
		token := d.token()
		w.h.MustDo(t, "POST", fmt.Sprintf("/v1/devices/%d/revoke", d.id), w.h.Token(t, "admin-a"), map[string]string{"reason": "丢失 (lost)"}, http.StatusOK, nil)
		fault(1)
		before := serverCounts(t, db)
		n0 := d.tr.requests.Load()
		if err := d.c.Sync(context.Background()); !errors.Is(err, sdk.ErrRevoked) {
			t.Fatalf("sync after revocation: %v, want ErrRevoked", err)
		}
		if n := d.tr.requests.Load() - n0; n > 3 {
			t.Errorf("a revoked device made %d requests before stopping", n)
		}
		checked.Add(1)
		if d.outboxLen() != 5 {
			lose(t, "the revoked device's outbox holds %d, want its 5 unsynced writes", d.outboxLen())
		}
		// The data stays and can still be read on the device.
		p, err := d.c.Packet(context.Background(), w.packetID)
		if err != nil || len(p.Answers) == 0 {
			lose(t, "the revoked device's packet: %v", err)
		}
		if err := d.c.Sync(context.Background()); !errors.Is(err, sdk.ErrRevoked) {
			t.Fatalf("second sync after revocation: %v", err)
		}
		pushes := d.tr.capturedPushes()
		req, _ := http.NewRequest(http.MethodPost, w.h.URL+syncproto.PathPush, bytes.NewReader(pushes[len(pushes)-1].body))
		for k, v := range pushes[len(pushes)-1].header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		fault(1)
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("a revoked device's token pushed: status %d", resp.StatusCode)
		}
		if after := serverCounts(t, db); after != before {
			dup(t, "the revoked device changed the server: %s → %s", before, after)
		}
	})
}

// Devices whose clocks are 12 hours ahead and behind: their answers are
// applied in server order, device time is kept as data next to the server's
// receive time, and both sync normally.
func TestFaultClockSkew(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ahead := newDevice(t, w, w.users[0], deviceOpts{now: func() time.Time { return time.Now().Add(12 * time.Hour) }})
		behind := newDevice(t, w, w.users[1], deviceOpts{now: func() time.Time { return time.Now().Add(-12 * time.Hour) }})
		fault(2)
		for round := range 3 {
			// The device whose clock is behind writes last, on the item
			// the other answered: the server's order makes it the newer version.
			ahead.answer("licence", syncproto.ResultCompliant, fmt.Sprintf("ahead %d", round))
			ahead.mustSync()
			behind.mustSync() // pull the new version first: not a concurrent edit
			behind.answer("licence", syncproto.ResultNonCompliant, fmt.Sprintf("behind %d", round))
			behind.mustSync()
			ahead.mustSync()
			ahead.verify()
			behind.verify()
		}
		var rows []struct {
			DeviceID   int64     `gorm:"column:device_id"`
			Version    int64     `gorm:"column:version"`
			Winner     bool      `gorm:"column:winner"`
			Conflict   bool      `gorm:"column:conflict"`
			DeviceTime time.Time `gorm:"column:device_time"`
			ReceivedAt time.Time `gorm:"column:received_at"`
		}
		serverQuery(t, db, &rows, `SELECT device_id, version, winner, conflict, device_time, received_at FROM answers
			WHERE packet_id = ? AND item_code = 'licence' ORDER BY version`, w.packetID)
		checked.Add(1)
		if len(rows) != 6 {
			t.Fatalf("%d versions of the item, want 6", len(rows))
		}
		for i, r := range rows {
			wantDev := ahead.id
			if i%2 == 1 {
				wantDev = behind.id
			}
			if r.DeviceID != wantDev || r.Conflict {
				t.Errorf("version %d: device %d conflict %v, want device %d in server order", r.Version, r.DeviceID, r.Conflict, wantDev)
			}
			skew := r.DeviceTime.Sub(time.Now())
			if (wantDev == ahead.id && skew < 11*time.Hour) || (wantDev == behind.id && skew > -11*time.Hour) {
				t.Errorf("version %d: device time %v not kept as sent", r.Version, r.DeviceTime)
			}
			if !r.ReceivedAt.Equal(w.h.Now()) && r.ReceivedAt.Sub(w.h.Now()).Abs() > time.Minute {
				t.Errorf("version %d: received at %v, not the server's time %v", r.Version, r.ReceivedAt, w.h.Now())
			}
		}
		if !rows[len(rows)-1].Winner {
			t.Error("the last version in server order is not the winner")
		}
		p, _ := ahead.c.Packet(context.Background(), w.packetID)
		for _, a := range p.Answers {
			if a.ItemCode == "licence" && a.Note != "behind 2" {
				t.Errorf("the ahead device shows %q, want the server's latest %q", a.Note, "behind 2")
			}
		}
	})
}

// Two inspectors answer the same item offline; synced in both orders the
// server ends in the same state (one winner, the other version kept as a
// conflict) and both devices see it after pulling.
func TestFaultConcurrentEditsBothOrders(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		var states [2]string
		for order := range 2 {
			var w *world
			if order == 0 {
				w = newWorld(t, db)
			} else {
				w = newWorld(t, storetest.MustOpenDB(t, db.Dialect()))
			}
			a := newDevice(t, w, w.users[0], deviceOpts{})
			b := newDevice(t, w, w.users[1], deviceOpts{})
			for i, item := range w.items {
				a.answer(item, syncproto.ResultCompliant, fmt.Sprintf("甲 %d", i))
				b.answer(item, syncproto.ResultNonCompliant, fmt.Sprintf("乙 %d", i))
			}
			first, second := a, b
			if order == 1 {
				first, second = b, a
			}
			first.mustSync()
			second.mustSync()
			first.mustSync()
			fault(1)
			a.verify()
			b.verify()
			var rows []struct {
				ItemCode string `gorm:"column:item_code"`
				Body     string `gorm:"column:body"`
				Winner   bool   `gorm:"column:winner"`
				Conflict bool   `gorm:"column:conflict"`
			}
			serverQuery(t, w.db, &rows, `SELECT item_code, body, winner, conflict FROM answers WHERE packet_id = ? ORDER BY item_code, winner, body`, w.packetID)
			var sb strings.Builder
			for _, r := range rows {
				var am syncproto.AnswerMutation
				json.Unmarshal([]byte(r.Body), &am)
				fmt.Fprintf(&sb, "%s %s winner=%v conflict=%v|", r.ItemCode, am.Note, r.Winner, r.Conflict)
			}
			states[order] = sb.String()
			for _, dv := range []*device{a, b} {
				cs, err := dv.c.Conflicts(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				checked.Add(1)
				if len(cs) != len(w.items) {
					lose(t, "device %d sees %d conflicts, want %d", dv.id, len(cs), len(w.items))
				}
			}
			pa, _ := a.c.Packet(context.Background(), w.packetID)
			pb, _ := b.c.Packet(context.Background(), w.packetID)
			if fmt.Sprint(noteOf(pa)) != fmt.Sprint(noteOf(pb)) {
				t.Errorf("the devices show different winners: %v vs %v", noteOf(pa), noteOf(pb))
			}
		}
		checked.Add(1)
		if states[0] != states[1] {
			t.Errorf("the final server state depends on the sync order:\n%s\n%s", states[0], states[1])
		}
	})
}

func noteOf(p *sdk.Packet) map[string]string {
	out := map[string]string{}
	if p == nil {
		return out
	}
	for _, a := range p.Answers {
		out[a.ItemCode] = a.Note
	}
	return out
}
