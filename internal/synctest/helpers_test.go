package synctest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The suite's counters, printed by TestMain.
var (
	injected   atomic.Int64 // faults injected: cuts, replays, kills, refusals, bad bodies…
	lost       atomic.Int64 // device intents missing on the server, or rejections the device cannot see
	duplicated atomic.Int64 // effects applied more than once, or not from the device's intent
	checked    atomic.Int64 // invariant checks run
)

const helperEnv = "SYNCTEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	code := m.Run()
	fmt.Printf("sync faults: %d injected, %d lost, %d duplicated\n", injected.Load(), lost.Load(), duplicated.Load())
	if lost.Load() != 0 || duplicated.Load() != 0 {
		fmt.Fprintf(os.Stderr, "synctest: FAIL: %d lost, %d duplicated over %d checks\n", lost.Load(), duplicated.Load(), checked.Load())
		code = 1
	}
	os.Exit(code)
}

func fault(n int) { injected.Add(int64(n)) }

// lose and dup record a broken invariant and fail the test.
func lose(t testing.TB, format string, args ...any) {
	t.Helper()
	lost.Add(1)
	t.Errorf("LOST: "+format, args...)
}

func dup(t testing.TB, format string, args ...any) {
	t.Helper()
	duplicated.Add(1)
	t.Errorf("DUPLICATED: "+format, args...)
}

// world is a server with a campaign whose packets are issued, and the
// department-A inspectors of the team holding one of them.
type world struct {
	h        *apptest.Harness
	db       *store.DB
	packetID string
	users    []string // inspectors on the packet's team, department A
	dept     string
	items    []string // department-A item codes of the packet
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	h := apptest.New(t, db)
	w := &world{h: h, db: db}
	w.issue(t)
	return w
}

// issue issues a two-department campaign with two department-A inspectors
// on each team, so two devices can edit one item.
func (w *world) issue(t *testing.T) {
	t.Helper()
	h := w.h
	w.items = []string{"licence", "minors", "fire"}
	is := h.IssueCampaign(t, apptest.CampaignSpec{
		Cafes: 6, Ratio: "0.5", InspectorsPerDepartment: 2, TargetsPerTeam: 6,
		Items: map[string][]string{h.DeptA.Code: w.items, h.DeptB.Code: {"prices"}},
	})
	for _, p := range is.Packets {
		if users := is.MembersOf(p.ID, h.DeptA); len(users) >= 2 {
			w.packetID, w.users, w.dept = p.ID, users, h.DeptA.Code
			return
		}
	}
	t.Fatalf("no packet with two department-A inspectors among %d packets", len(is.Packets))
}

// serverQuery runs a read on the server's database.
func serverQuery(t testing.TB, db *store.DB, out any, q string, args ...any) {
	t.Helper()
	if err := db.WithTx(context.Background(), func(tx *store.Tx) error { return tx.Raw(q, args...).Scan(out).Error }); err != nil {
		t.Fatalf("server query %q: %v", q, err)
	}
}

// armedTransport is the device's HTTP transport: one connection per request
// (so a faultnet plan can aim at one request), the push bodies it sent kept
// for replays, and the faults for the next request's connection chosen by a
// trigger that sees the request.
type armedTransport struct {
	base   *http.Transport
	mu     sync.Mutex
	pushes []capturedPush
	// trigger, if set, returns faults for the connection this request is
	// about to open; nil means a clean connection.
	trigger func(r *http.Request) *faultnet.Faults
	next    atomic.Pointer[faultnet.Faults]
	// The faults of a triggered request must go to its own connection, not
	// to one a request running beside it (a push beside an upload) opened
	// just before: connections are dialled one at a time, and a request
	// with faults dials only once the proxy has planned every connection
	// dialled before it (the proxy accepts and plans in dial order).
	dialMu     sync.Mutex
	countMu    sync.Mutex
	dials      int           // connections dialled to the proxy
	plans      int           // connections the proxy has planned
	planned    chan struct{} // closed at the next plan
	patchBytes atomic.Int64  // upload bytes the transport read to send (PATCH bodies, and the first chunk a creation carries)
	refused    atomic.Int64  // of those, bytes of PATCHes answered 409 (sent from an offset the server no longer held)
	requests   atomic.Int64
	uploadLog  []string
	duplicates atomic.Int64 // push results the server answered "duplicate"
	gzipPulls  atomic.Int64 // pull answers that came gzip-compressed
}

type capturedPush struct {
	header http.Header
	body   []byte // as sent (gzip)
}

func newArmedTransport() *armedTransport {
	a := &armedTransport{planned: make(chan struct{})}
	a.base = &http.Transport{DisableKeepAlives: true, ResponseHeaderTimeout: 20 * time.Second, DialContext: a.dial}
	return a
}

// faultsKey carries a triggered request's faults to its dial.
type faultsKey struct{}

// dial opens a request's connection; for a triggered request it arms the
// faults once every earlier connection has been planned, so that they are
// its connection's. If the proxy never plans an earlier one (it is gone),
// it arms them after a while anyway, as before this ordering existed.
func (a *armedTransport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	a.dialMu.Lock()
	defer a.dialMu.Unlock()
	f, _ := ctx.Value(faultsKey{}).(*faultnet.Faults)
	if f != nil {
		giveUp := time.After(5 * time.Second)
	wait:
		for {
			a.countMu.Lock()
			done, ch := a.plans >= a.dials, a.planned
			a.countMu.Unlock()
			if done {
				break
			}
			select {
			case <-ch:
			case <-giveUp:
				break wait
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		a.next.Store(f)
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		if f != nil {
			a.next.CompareAndSwap(f, nil)
		}
		return nil, err
	}
	a.countMu.Lock()
	a.dials++
	a.countMu.Unlock()
	return c, nil
}

// plan is the proxy's plan: the faults armed for the next connection, once.
func (a *armedTransport) plan(int) faultnet.Faults {
	a.countMu.Lock()
	a.plans++
	close(a.planned)
	a.planned = make(chan struct{})
	a.countMu.Unlock()
	if f := a.next.Swap(nil); f != nil {
		return *f
	}
	return faultnet.Faults{}
}

func (a *armedTransport) setTrigger(fn func(r *http.Request) *faultnet.Faults) {
	a.mu.Lock()
	a.trigger = fn
	a.mu.Unlock()
}

func (a *armedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	a.requests.Add(1)
	isPush := r.URL.Path == syncproto.PathPush
	if isPush && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		a.mu.Lock()
		a.pushes = append(a.pushes, capturedPush{header: r.Header.Clone(), body: b})
		a.mu.Unlock()
	}
	if isUploadBody(r) && r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, n: &a.patchBytes}
	}
	a.mu.Lock()
	trig := a.trigger
	a.mu.Unlock()
	if trig != nil {
		if f := trig(r); f != nil {
			r = r.WithContext(context.WithValue(r.Context(), faultsKey{}, f))
		}
	}
	var sent atomic.Int64
	if isUploadBody(r) && r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, n: &sent}
	}
	resp, err := a.base.RoundTrip(r)
	if err == nil && r.Method == http.MethodPatch && resp.StatusCode == http.StatusConflict {
		a.refused.Add(sent.Load())
	}
	if isUploadBody(r) || r.Method == http.MethodHead {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		a.mu.Lock()
		a.uploadLog = append(a.uploadLog, fmt.Sprintf("%s off=%s len=%d → %d %v", r.Method, r.Header.Get("Upload-Offset"), r.ContentLength, st, err))
		a.mu.Unlock()
	}
	if err == nil && r.URL.Path == syncproto.PathPull && resp.Header.Get("Content-Encoding") == "gzip" {
		a.gzipPulls.Add(1)
	}
	if err != nil || !isPush || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	plain := b
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			plain, _ = io.ReadAll(zr)
		}
	}
	var pr syncproto.PushResponse
	if json.Unmarshal(plain, &pr) == nil {
		for _, res := range pr.Results {
			if res.Status == syncproto.StatusDuplicate {
				a.duplicates.Add(1)
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// isUploadBody reports whether r carries upload bytes: a PATCH, a creation
// carrying its first chunk (tus creation-with-upload), or a batch upload.
func isUploadBody(r *http.Request) bool {
	return r.Method == http.MethodPatch ||
		(r.Method == http.MethodPost && r.URL.Path == syncproto.PathUploads && r.Header.Get("Content-Type") == "application/offset+octet-stream") ||
		(r.Method == http.MethodPost && r.URL.Path == syncproto.PathAttachmentsBatch)
}

func (a *armedTransport) capturedPushes() []capturedPush {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]capturedPush(nil), a.pushes...)
}

// device is an SDK client behind its own faultnet proxy, with the log of
// every mutation it queued (its intent).
type device struct {
	t      testing.TB
	w      *world
	c      *sdk.Client
	dir    string
	tr     *armedTransport
	proxy  *faultnet.Proxy
	local  *gorm.DB // a second, read-only look at the device's SQLite file
	id     int64
	intent map[uint64]intent
	writes int
	// last is the seq of the device's last answer to each item: what the
	// inspector meant the item to say.
	last map[string]uint64
}

type intent struct {
	ID, Kind string
}

type deviceOpts struct {
	now       func() time.Time
	chunkSize int
	upstream  string        // default the harness
	backoff   time.Duration // BackoffBase and BackoffMax, if set
	logger    *slog.Logger
}

func newDevice(t testing.TB, w *world, username string, o deviceOpts) *device {
	t.Helper()
	up := o.upstream
	if up == "" {
		up = w.h.URL
	}
	tr := newArmedTransport()
	p, err := faultnet.New(hostPort(up), tr.plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dir := t.TempDir()
	cfg := sdk.Config{
		HTTPClient:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		MaxAttempts: 6, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond,
		ChunkSize: o.chunkSize, Now: o.now, Logger: o.logger,
	}
	if o.backoff > 0 {
		cfg.BackoffBase, cfg.BackoffMax = o.backoff, o.backoff
	}
	c, err := sdk.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Enrol(context.Background(), p.URL(), username, apptest.Password, "tablet-"+username); err != nil {
		t.Fatal(err)
	}
	local, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "field.db")+"?mode=ro&_busy_timeout=10000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if sq, err := local.DB(); err == nil {
		t.Cleanup(func() { sq.Close() })
	}
	d := &device{t: t, w: w, c: c, dir: dir, tr: tr, proxy: p, local: local, id: c.DeviceID(), intent: map[uint64]intent{}, last: map[string]uint64{}}
	d.mustSync()
	return d
}

func hostPort(u string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			return u[len(p):]
		}
	}
	return u
}

// note records the outbox (the device's intent) after a local write.
func (d *device) note() {
	d.t.Helper()
	var rows []struct {
		Seq        uint64 `gorm:"column:seq"`
		MutationID string `gorm:"column:mutation_id"`
		Kind       string `gorm:"column:kind"`
	}
	if err := d.local.Raw(`SELECT seq, mutation_id, kind FROM outbox`).Scan(&rows).Error; err != nil {
		d.t.Fatal(err)
	}
	for _, r := range rows {
		if old, ok := d.intent[r.Seq]; ok && old.ID != r.MutationID {
			d.t.Fatalf("outbox seq %d changed id %s → %s", r.Seq, old.ID, r.MutationID)
		}
		d.intent[r.Seq] = intent{ID: r.MutationID, Kind: r.Kind}
	}
}

// answer writes one answer offline and logs it.
func (d *device) answer(item, result, note string, photos ...string) {
	d.t.Helper()
	if _, err := d.c.Answer(context.Background(), d.w.packetID, sdk.AnswerInput{Department: d.w.dept, ItemCode: item, Result: result, Note: note, Photos: photos}); err != nil {
		d.t.Fatal(err)
	}
	d.writes++
	d.note()
	for seq := range d.intent {
		d.last[item] = max(d.last[item], seq)
	}
}

// work writes n answers across the items.
func (d *device) work(n int) {
	d.t.Helper()
	results := []string{syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable}
	for range n {
		k := d.writes
		d.answer(d.w.items[k%len(d.w.items)], results[k%len(results)], fmt.Sprintf("device %d write %d", d.id, k))
	}
}

// wrongItemVersion makes the device's copy of the packet name a version of
// item the server never issued, so the server refuses every answer to it.
func (d *device) wrongItemVersion(item string) {
	d.t.Helper()
	rw, err := gorm.Open(sqlite.Open("file:"+filepath.Join(d.dir, "field.db")+"?_busy_timeout=10000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		d.t.Fatal(err)
	}
	if sq, err := rw.DB(); err == nil {
		defer sq.Close()
	}
	var content string
	if err := rw.Raw(`SELECT content FROM packets WHERE id = ?`, d.w.packetID).Scan(&content).Error; err != nil {
		d.t.Fatal(err)
	}
	var pc syncproto.PacketContent
	if err := json.Unmarshal([]byte(content), &pc); err != nil {
		d.t.Fatal(err)
	}
	for i := range pc.Sections {
		for j := range pc.Sections[i].Items {
			if pc.Sections[i].Items[j].Code == item {
				pc.Sections[i].Items[j].Version = 99
			}
		}
	}
	b, _ := json.Marshal(pc)
	if err := rw.Exec(`UPDATE packets SET content = ? WHERE id = ?`, string(b), d.w.packetID).Error; err != nil {
		d.t.Fatal(err)
	}
}

// syncUntil syncs until it succeeds (a cut may exhaust one call's retries).
func (d *device) syncUntil() {
	d.t.Helper()
	var err error
	for i := 0; i < 20; i++ {
		if err = d.c.Sync(context.Background()); err == nil || errors.Is(err, sdk.ErrRejected) {
			return
		}
		if !errors.Is(err, sdk.ErrOffline) {
			d.t.Fatalf("sync: %v", err)
		}
	}
	d.t.Fatalf("sync did not succeed after 20 calls: %v", err)
}

func (d *device) mustSync() {
	d.t.Helper()
	d.tr.setTrigger(nil)
	d.syncUntil()
}

func (d *device) outboxLen() int {
	var n int64
	d.local.Raw(`SELECT COUNT(*) FROM outbox`).Scan(&n)
	return int(n)
}

// serverMutation is a row of the server's mutation log.
type serverMutation struct {
	Seq        uint64 `gorm:"column:seq"`
	MutationID string `gorm:"column:mutation_id"`
	Kind       string `gorm:"column:kind"`
	Status     string `gorm:"column:status"`
}

// verify checks the server against the device's intent after a successful
// sync: every queued mutation is on the server exactly once with its id,
// nothing else is, each applied answer has exactly one answer version and
// each rejection is listed on the device.
func (d *device) verify() {
	t := d.t
	t.Helper()
	checked.Add(1)
	if n := d.outboxLen(); n != 0 {
		t.Fatalf("device %d: %d mutations still queued after a successful sync", d.id, n)
	}
	var ms []serverMutation
	serverQuery(t, d.w.db, &ms, `SELECT seq, mutation_id, kind, status FROM mutations WHERE device_id = ?`, d.id)
	got := map[uint64]serverMutation{}
	for _, m := range ms {
		if _, ok := got[m.Seq]; ok {
			dup(t, "device %d seq %d twice in the mutation log", d.id, m.Seq)
		}
		got[m.Seq] = m
		in, ok := d.intent[m.Seq]
		if !ok || in.ID != m.MutationID {
			dup(t, "device %d seq %d on the server (%s) is not one the device queued (%+v)", d.id, m.Seq, m.MutationID, in)
		}
	}
	var rejected map[uint64]bool
	for seq, in := range d.intent {
		m, ok := got[seq]
		if !ok {
			lose(t, "device %d seq %d (%s %s) never reached the server", d.id, seq, in.Kind, in.ID)
			continue
		}
		if m.Status == "rejected" {
			if rejected == nil {
				rejected = d.rejections()
			}
			if !rejected[seq] {
				lose(t, "device %d seq %d was rejected but the device does not list it", d.id, seq)
			}
		}
	}
	var effects []struct {
		Seq uint64 `gorm:"column:seq"`
		N   int    `gorm:"column:n"`
	}
	serverQuery(t, d.w.db, &effects, `SELECT seq, COUNT(*) AS n FROM answers WHERE device_id = ? GROUP BY seq`, d.id)
	answers := map[uint64]int{}
	for _, e := range effects {
		answers[e.Seq] = e.N
		if e.N != 1 {
			dup(t, "device %d seq %d has %d answer versions", d.id, e.Seq, e.N)
		}
	}
	for seq, m := range got {
		if m.Kind == syncproto.KindAnswer && m.Status == "applied" && answers[seq] == 0 {
			lose(t, "device %d seq %d applied but no answer version", d.id, seq)
		}
	}
	effects = nil
	serverQuery(t, d.w.db, &effects, `SELECT seq, COUNT(*) AS n FROM visit_events WHERE device_id = ? GROUP BY seq`, d.id)
	for _, e := range effects {
		if e.N != 1 {
			dup(t, "device %d seq %d has %d visit events", d.id, e.Seq, e.N)
		}
	}
	d.verifyMeaning(got)
}

// answerRow is one stored version of an item on the server.
type answerRow struct {
	DeviceID    int64  `gorm:"column:device_id"`
	Seq         uint64 `gorm:"column:seq"`
	Version     int64  `gorm:"column:version"`
	BaseVersion int64  `gorm:"column:base_version"`
	Winner      bool   `gorm:"column:winner"`
	Conflict    bool   `gorm:"column:conflict"`
	Body        string `gorm:"column:body"`
}

// verifyMeaning checks what the inspector meant, not only counts: for each
// item the device answered, its last answer is the server's live answer,
// unless a teammate's edit made after seeing it replaced it, or a
// teammate's concurrent edit won, and then both are kept and the device
// shows the other version; and a last answer the server refused is shown
// on the device as refused, with the reason.
func (d *device) verifyMeaning(got map[uint64]serverMutation) {
	t := d.t
	t.Helper()
	if len(d.last) == 0 {
		return
	}
	p, err := d.c.Packet(context.Background(), d.w.packetID)
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]sdk.Answer{}
	for _, a := range p.Answers {
		shown[a.ItemCode] = a
	}
	for item, seq := range d.last {
		checked.Add(1)
		a := shown[item]
		m, ok := got[seq]
		if !ok {
			continue // reported as lost above
		}
		if m.Status == "rejected" {
			if a.Rejected == nil || a.Rejected.Seq != seq || a.Rejected.Message == "" {
				lose(t, "device %d: its last answer to %s (seq %d) was rejected, but the device does not show it as rejected: %+v", d.id, item, seq, a)
			}
			continue
		}
		var rows []answerRow
		serverQuery(t, d.w.db, &rows, `SELECT device_id, seq, version, base_version, winner, conflict, body FROM answers
			WHERE packet_id = ? AND department = ? AND item_code = ? ORDER BY version`, d.w.packetID, d.w.dept, item)
		var mine, winner *answerRow
		var top int64
		for i := range rows {
			r := &rows[i]
			top = max(top, r.Version)
			if r.DeviceID == d.id && r.Seq == seq {
				mine = r
			}
			if r.Winner {
				winner = r
			}
		}
		switch {
		case mine == nil || winner == nil:
			lose(t, "device %d: its last answer to %s (seq %d) has no version on the server", d.id, item, seq)
			continue
		case winner == mine:
		case winner.DeviceID == d.id:
			lose(t, "device %d: an earlier answer (seq %d) is live for %s instead of its last (seq %d)", d.id, winner.Seq, item, seq)
		case winner.BaseVersion >= mine.Version:
			// A teammate edited after seeing it: a later answer, not a loss.
		case !mine.Conflict:
			lose(t, "device %d: its last answer to %s (seq %d) lost to a concurrent edit and was not kept as a conflict", d.id, item, seq)
		}
		// What the device shows, if it has pulled the item's latest version.
		if a.Pending || a.ServerVersion != top {
			continue
		}
		var want syncproto.AnswerMutation
		json.Unmarshal([]byte(winner.Body), &want)
		if a.Result != want.Result || a.Note != want.Note {
			lose(t, "device %d shows %s %q for %s; the server's live answer is %s %q", d.id, a.Result, a.Note, item, want.Result, want.Note)
		}
		if winner != mine && winner.BaseVersion < mine.Version && !slices.ContainsFunc(a.Conflicts, func(v syncproto.AnswerVersion) bool { return v.DeviceID == d.id && v.Seq == seq }) &&
			!(a.Server != nil && a.Server.DeviceID == d.id && a.Server.Seq == seq) {
			lose(t, "device %d does not show its own version of %s (seq %d) beside the winner", d.id, item, seq)
		}
	}
}

func (d *device) rejections() map[uint64]bool {
	rs, err := d.c.Rejections(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, r := range rs {
		out[r.Seq] = true
	}
	return out
}

// verifyBlobs checks that every blob the server lists is whole: its file
// hashes to its address.
func verifyBlobs(t testing.TB, db *store.DB, blobs *store.BlobService) {
	t.Helper()
	checked.Add(1)
	var rows []struct {
		SHA256 string `gorm:"column:sha256"`
		Size   int64  `gorm:"column:size"`
	}
	serverQuery(t, db, &rows, `SELECT sha256, size FROM blobs`)
	for _, r := range rows {
		b, err := os.ReadFile(blobs.Path(r.SHA256))
		if err != nil {
			lose(t, "blob %s listed but unreadable: %v", r.SHA256, err)
			continue
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != r.SHA256 || int64(len(b)) != r.Size {
			dup(t, "blob %s holds %d bytes hashing to %x", r.SHA256, len(b), sum)
		}
	}
}

// photo writes a PNG of random pixels, about n bytes.
func photo(t testing.TB, dir string, r *rand.Rand, n int) string {
	t.Helper()
	const w = 256
	img := image.NewGray(image.Rect(0, 0, w, max(1, (n-100)/(w+1))))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join(dir, fmt.Sprintf("photo-%d.png", r.Uint64()))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawPush sends a push body with the device's current access token.
func (d *device) rawPush(body []byte, header http.Header) (int, []byte) {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.w.h.URL+syncproto.PathPush, bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+d.token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (d *device) token() string {
	var tok string
	d.local.Raw(`SELECT access_token FROM device WHERE id = 1`).Scan(&tok)
	return tok
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// serverCounts is a fingerprint of every effect table.
func serverCounts(t testing.TB, db *store.DB) string {
	t.Helper()
	var n struct {
		M int64 `gorm:"column:m"`
		A int64 `gorm:"column:a"`
		V int64 `gorm:"column:v"`
		R int64 `gorm:"column:r"`
		C int64 `gorm:"column:c"`
	}
	serverQuery(t, db, &n, `SELECT (SELECT COUNT(*) FROM mutations) AS m, (SELECT COUNT(*) FROM answers) AS a,
		(SELECT COUNT(*) FROM visit_events) AS v, (SELECT COUNT(*) FROM section_seals) + (SELECT COUNT(*) FROM visit_closes) AS r,
		(SELECT COUNT(*) FROM sync_changes) AS c`)
	return fmt.Sprintf("%+v", n)
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// countingBody counts the bytes the transport takes from a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
