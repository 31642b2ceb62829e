package fleetbench

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// options size a fleet run.
type options struct {
	Devices int // inspectors, each with one device; even, at least 4
	Packets int // packets each device works on (its team holds twice as many)
	Items   int // check items per department (a packet has both departments')
	Photos  int // photos per packet, spread over its answers
	PhotoKB int // size of each photo
	// Day is how far the server clock moves between the morning and the
	// evening sync, so every device starts the evening with an expired
	// access token and refreshes it; 0 keeps the clock.
	Day time.Duration
	// EnrolWorkers enrol devices in parallel during setup (login hashes
	// the password with Argon2id, so more workers only queue on the CPU).
	EnrolWorkers int
	// SyncAttempts is how often a device calls Sync in one stage before the
	// run fails; a Sync that gives up after the SDK's own retries (ErrOffline)
	// is counted and called again after a pause, as an app would.
	SyncAttempts int
	Timeout      time.Duration // the whole run, setup included
	// URL is the server the devices talk to; empty: the harness's own. The
	// open-loop benchmark points it at a separate server process on the
	// harness's database (the harness only seeds and verifies).
	URL string
}

func (o *options) defaults() {
	if o.Packets == 0 {
		o.Packets = 2
	}
	if o.Items == 0 {
		o.Items = 3
	}
	if o.PhotoKB == 0 {
		o.PhotoKB = 40
	}
	if o.EnrolWorkers == 0 {
		o.EnrolWorkers = 4
	}
	if o.SyncAttempts == 0 {
		o.SyncAttempts = 5
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Minute
	}
}

// device is one inspector's device.
type device struct {
	idx      int
	username string
	client   *sdk.Client
	tr       *http.Transport
	team     []string // packet ids of its team: what the morning pull must bring
	owned    []string // packet ids whose photos it takes and whose close it captures
	files    map[string]*visitFiles
	// What the device queued, to check the server against.
	queued  int               // mutations
	answers map[string]int    // answers per packet
	sealed  map[string]string // its department's section's hash per packet
	closed  map[string]string // close hash per owned packet
	blobs   []string          // attachment hashes, each once
}

// visitFiles are one visit's pictures, made during setup.
type visitFiles struct {
	photos    []string
	signature string
	stamp     string
}

// stageResult is one stage of the measured phase.
type stageResult struct {
	name     string
	wall     time.Duration
	requests int
	perDev   dist // each device's time in the stage
	pool     poolDelta
}

// fleet is a server, its fixtures and the devices.
type fleet struct {
	tb      testing.TB
	h       *apptest.Harness
	opt     options
	rec     *recorder
	devices []*device
	packets int        // packets issued
	pool    poolStater // the server's connection pool
	stages  []stageResult
	// phase is the measured phase's wall time: the stages and the clock move.
	phase time.Duration
	// expected401 is one expired access token per device in the evening.
	expected401 int
}

// stage names, in order.
const (
	stageSetup   = "setup"
	stageMorning = "morning sync"
	stageField   = "field work"
	stageEvening = "evening sync"
	stageAgain   = "second sync"
)

// newFleet creates the inspectors, issues one campaign whose packets give
// every inspector opt.Packets packets to seal, makes the visits' pictures and
// enrols one device per inspector. Nothing of it is measured.
func newFleet(ctx context.Context, tb testing.TB, h *apptest.Harness, opt options) *fleet {
	tb.Helper()
	opt.defaults()
	if opt.Devices < 4 || opt.Devices%2 != 0 {
		tb.Fatalf("devices = %d: want an even number, at least 4 (half per department)", opt.Devices)
	}
	f := &fleet{tb: tb, h: h, opt: opt, rec: newRecorder()}
	f.rec.setStage(stageSetup)
	f.pool = h.App.DB
	serverURL := h.URL
	if opt.URL != "" {
		serverURL = opt.URL
	}

	// Half the inspectors in each department, the harness's own included.
	per := opt.Devices / 2
	var usernames []string
	for _, dept := range []*server.Department{h.DeptA, h.DeptB} {
		var have []string
		for name, in := range h.Inspectors {
			if in.DepartmentID == dept.ID {
				have = append(have, name)
			}
		}
		sort.Strings(have)
		if len(have) > per {
			tb.Fatalf("the harness has %d inspectors in %s, more than %d", len(have), dept.Code, per)
		}
		for i := len(have); i < per; i++ {
			name := fmt.Sprintf("fleet-%s-%03d", dept.Code, i)
			h.AddInspector(tb, dept, name)
			have = append(have, name)
		}
		usernames = append(usernames, have...)
	}

	// One inspector per department on each team gives Devices/2 teams; each
	// takes 2×Packets targets; each inspector seals their department's
	// section of all of them and captures the close of half.
	items := map[string][]string{}
	for _, dept := range []*server.Department{h.DeptA, h.DeptB} {
		for i := range opt.Items {
			items[dept.Code] = append(items[dept.Code], fmt.Sprintf("%s-item-%d", dept.Code, i+1))
		}
	}
	is := h.IssueCampaign(tb, apptest.CampaignSpec{
		Cafes: opt.Devices * opt.Packets, Ratio: "1",
		InspectorsPerDepartment: 1, TargetsPerTeam: 2 * opt.Packets, Items: items,
	})
	f.packets = len(is.Packets)
	if f.packets != opt.Devices*opt.Packets {
		tb.Fatalf("%d packets issued, want %d", f.packets, opt.Devices*opt.Packets)
	}
	byTeam := map[int][]*server.Packet{}
	for _, p := range is.Packets {
		byTeam[p.TeamNumber] = append(byTeam[p.TeamNumber], p)
	}
	owned := map[string][]string{}
	for _, ps := range byTeam {
		slices.SortFunc(ps, func(a, b *server.Packet) int { return strings.Compare(a.ID, b.ID) })
		for k, p := range ps {
			members := is.Members[p.ID]
			if len(members) != 2 {
				tb.Fatalf("packet %s: team members %v, want one per department", p.ID, members)
			}
			owned[members[k%2]] = append(owned[members[k%2]], p.ID)
		}
	}

	root := tb.TempDir()
	tb.Cleanup(func() {
		for _, d := range f.devices {
			d.client.Close()
			d.tr.CloseIdleConnections()
		}
	})
	for i, name := range usernames {
		d := &device{idx: i, username: name, owned: owned[name], files: map[string]*visitFiles{},
			answers: map[string]int{}, sealed: map[string]string{}, closed: map[string]string{}}
		if len(d.owned) != opt.Packets {
			tb.Fatalf("%s seals %d packets, want %d", name, len(d.owned), opt.Packets)
		}
		for _, p := range is.PacketsOf(name) {
			d.team = append(d.team, p.ID)
		}
		dir := filepath.Join(root, fmt.Sprintf("device-%03d", i))
		for k, pid := range d.owned {
			vf, err := makeVisitFiles(filepath.Join(dir, "camera"), uint64(i)<<16|uint64(k), opt)
			if err != nil {
				tb.Fatal(err)
			}
			d.files[pid] = vf
		}
		d.tr = http.DefaultTransport.(*http.Transport).Clone()
		c, err := sdk.Open(filepath.Join(dir, "store"), sdk.Config{
			ServerURL:  serverURL,
			HTTPClient: &http.Client{Transport: &transport{rec: f.rec, next: d.tr}, Timeout: 60 * time.Second},
		})
		if err != nil {
			tb.Fatal(err)
		}
		d.client = c
		f.devices = append(f.devices, d)
	}

	// Enrol: a device-bound session per inspector.
	work := make(chan *device)
	errs := make(chan error, len(f.devices))
	var wg sync.WaitGroup
	for range opt.EnrolWorkers {
		wg.Go(func() {
			for d := range work {
				if err := d.client.Enrol(ctx, serverURL, d.username, apptest.Password, fmt.Sprintf("执法终端-%03d", d.idx)); err != nil {
					errs <- fmt.Errorf("enrol %s: %w", d.username, err)
				}
			}
		})
	}
	for _, d := range f.devices {
		work <- d
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return f
}

// run is the measured phase: every device does the morning sync, the day's
// visits offline, the evening sync and a second sync, each stage all devices
// at once; a stage ends when the last device is done.
func (f *fleet) run(ctx context.Context) {
	f.tb.Helper()
	start := time.Now()
	f.stage(ctx, stageMorning, func(ctx context.Context, d *device) error {
		if err := f.sync(ctx, d, stageMorning); err != nil {
			return err
		}
		ps, err := d.client.Packets(ctx)
		if err != nil {
			return err
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.ID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(d.team))
		if !slices.Equal(got, want) {
			return fmt.Errorf("the morning pull brought packets %v, want the team's %v", got, want)
		}
		return nil
	})
	f.stage(ctx, stageField, func(ctx context.Context, d *device) error { return f.fieldWork(ctx, d) })
	if f.opt.Day > 0 {
		f.h.Advance(f.opt.Day)
		if f.opt.Day > 10*time.Minute { // longer than an access token lives
			f.expected401 = len(f.devices)
		}
	}
	f.stage(ctx, stageEvening, func(ctx context.Context, d *device) error { return f.sync(ctx, d, stageEvening) })
	f.stage(ctx, stageAgain, func(ctx context.Context, d *device) error { return f.sync(ctx, d, stageAgain) })
	f.phase = time.Since(start)
}

// stage runs fn on every device at once and waits for all of them.
func (f *fleet) stage(ctx context.Context, name string, fn func(ctx context.Context, d *device) error) {
	f.tb.Helper()
	f.rec.setStage(name)
	before := poolStats(f.pool)
	took := make([]time.Duration, len(f.devices))
	errs := make([]error, len(f.devices))
	start := time.Now()
	var wg sync.WaitGroup
	for i, d := range f.devices {
		wg.Go(func() {
			t0 := time.Now()
			errs[i] = fn(ctx, d)
			took[i] = time.Since(t0)
		})
	}
	wg.Wait()
	wall := time.Since(start)
	f.stages = append(f.stages, stageResult{name: name, wall: wall, requests: f.rec.requests(name), perDev: distOf(took),
		pool: poolStats(f.pool).since(before)})
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", f.devices[i].username, err))
		}
	}
	if len(failed) > 0 {
		f.tb.Fatalf("%s: %d of %d devices failed; first: %s", name, len(failed), len(f.devices), failed[0])
	}
}

// sync calls Sync until it succeeds, counting each call that gave up.
func (f *fleet) sync(ctx context.Context, d *device, stage string) error {
	for attempt := 1; ; attempt++ {
		err := d.client.Sync(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, sdk.ErrRejected):
			rs, _ := d.client.Rejections(context.Background())
			return fmt.Errorf("%w: %+v", err, rs)
		case !errors.Is(err, sdk.ErrOffline) || attempt == f.opt.SyncAttempts:
			return fmt.Errorf("sync %d: %w", attempt, err)
		}
		f.rec.syncFailed(stage, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

var results = []string{syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable}

// fieldWork does the device's visits offline, as one inspector of a joint
// team of two: on every packet of the team, the certificates shown, every
// item of its department's section answered and the section sealed; on the
// packets it owns, the photos spread over its answers and the visit closed
// as signed with the representative's signature and the stamp.
func (f *fleet) fieldWork(ctx context.Context, d *device) error {
	for k, pid := range d.team {
		p, err := d.client.Packet(ctx, pid)
		if err != nil {
			return err
		}
		dept := p.Section.Department
		var shown []syncproto.CertificateShown
		for _, m := range p.Content.Team {
			shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
		}
		if err := d.client.RecordCertificates(ctx, pid, shown, &syncproto.Location{Latitude: 39.63 + float64(d.idx)/1e4, Longitude: 118.18, AccuracyM: 8}); err != nil {
			return fmt.Errorf("certificates %s: %w", pid, err)
		}
		d.queued++
		// Every item of its department's section answered once; on the
		// packets it owns, the photos go on the compliance items
		// round-robin, as evidence.
		var ins []sdk.AnswerInput
		var compliance []int
		for _, s := range p.Content.Sections {
			if s.Department != dept {
				continue
			}
			for _, it := range s.Items {
				n := len(ins)
				in := sdk.AnswerInput{Department: s.Department, ItemCode: it.Code,
					Note: fmt.Sprintf("第%d家第%d项：现场核对（device %d）", k+1, n+1, d.idx)}
				switch it.AnswerType {
				case string(server.AnswerText):
					in.Value = "已核对"
				case string(server.AnswerNumber):
					in.Value = fmt.Sprint(40 + n)
				default:
					in.Result = results[(d.idx+k+n)%len(results)]
					compliance = append(compliance, n)
				}
				ins = append(ins, in)
			}
		}
		vf := d.files[pid]
		if len(ins) == 0 || vf != nil && len(vf.photos) > 0 && len(compliance) == 0 {
			return fmt.Errorf("packet %s: %d items, %d of them compliance items", pid, len(ins), len(compliance))
		}
		if vf != nil {
			for i, ph := range vf.photos {
				in := &ins[compliance[i%len(compliance)]]
				in.Photos = append(in.Photos, ph)
			}
		}
		for _, in := range ins {
			if _, err := d.client.Answer(ctx, pid, in); err != nil {
				return fmt.Errorf("answer %s %s/%s: %w", pid, in.Department, in.ItemCode, err)
			}
			d.queued++
			d.answers[pid]++
		}
		seal, err := d.client.SealSection(ctx, pid)
		if err != nil {
			return fmt.Errorf("seal %s: %w", pid, err)
		}
		d.queued++
		d.sealed[pid] = seal.Hash
		for _, h := range seal.Section.Attachments {
			if !slices.Contains(d.blobs, h) {
				d.blobs = append(d.blobs, h)
			}
		}
		if vf == nil {
			continue
		}
		// The owner captures the close; offline it covers the section it
		// sealed (the teammate's is flagged as not covered, and kept).
		sc, err := d.client.CloseVisit(ctx, pid, sdk.CloseInput{
			Outcome:    syncproto.OutcomeSigned,
			Signatures: []sdk.SignatureInput{{Role: syncproto.SignerRepresentative, Name: "王五", PNGPath: vf.signature}},
			StampPath:  vf.stamp,
			Location:   &syncproto.Location{Latitude: 39.63, Longitude: 118.18, AccuracyM: 8},
		})
		if err != nil {
			return fmt.Errorf("close %s: %w", pid, err)
		}
		d.queued++
		d.closed[pid] = sc.Hash
		for _, h := range sc.Record.Attachments {
			if !slices.Contains(d.blobs, h) {
				d.blobs = append(d.blobs, h)
			}
		}
	}
	return nil
}

// makeVisitFiles writes one visit's pictures: photos of noise (they do not
// compress, like real ones), a signature and a stamp, all distinct.
func makeVisitFiles(dir string, seed uint64, opt options) (*visitFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	vf := &visitFiles{}
	side := 1
	for side*side*4 < opt.PhotoKB<<10 {
		side++
	}
	for i := range opt.Photos {
		img := image.NewNRGBA(image.Rect(0, 0, side, side))
		for j := range img.Pix {
			img.Pix[j] = byte(r.Uint32())
		}
		p := filepath.Join(dir, fmt.Sprintf("photo-%d-%d.png", seed, i))
		if err := writePNG(p, img); err != nil {
			return nil, err
		}
		vf.photos = append(vf.photos, p)
	}
	// A signature: a random pen stroke on white.
	sig := image.NewNRGBA(image.Rect(0, 0, 240, 80))
	for j := range sig.Pix {
		sig.Pix[j] = 0xff
	}
	x, y := 10, 40
	for range 600 {
		x = min(max(x+r.IntN(3)-1+r.IntN(2), 0), 239)
		y = min(max(y+r.IntN(5)-2, 0), 79)
		sig.Set(x, y, color.Black)
	}
	vf.signature = filepath.Join(dir, fmt.Sprintf("signature-%d.png", seed))
	if err := writePNG(vf.signature, sig); err != nil {
		return nil, err
	}
	// A stamp: a red ring with a little noise.
	st := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for py := range 64 {
		for px := range 64 {
			dx, dy := px-32, py-32
			if d2 := dx*dx + dy*dy; d2 < 30*30 && d2 > 26*26 || r.IntN(40) == 0 {
				st.Set(px, py, color.NRGBA{R: 0xd0, A: 0xff})
			}
		}
	}
	vf.stamp = filepath.Join(dir, fmt.Sprintf("stamp-%d.png", seed))
	if err := writePNG(vf.stamp, st); err != nil {
		return nil, err
	}
	return vf, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// verify checks every device and the server's database against what the
// devices queued: every mutation applied once, every sealed section and
// close on the server once with the device's hash and sent back to it, every
// answer, visit event and attachment there, nothing more. It returns the number of
// things lost and duplicated, and fails the run when either is not zero.
func (f *fleet) verify(ctx context.Context) (lost, duplicated int) {
	f.tb.Helper()
	var problems []string
	bad := func(n *int, format string, args ...any) {
		*n++
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	ids := map[int64]*device{}
	for _, d := range f.devices {
		st, err := d.client.Status(context.Background())
		if err != nil {
			f.tb.Fatal(err)
		}
		if st.Outbox != 0 || st.PendingUploads != 0 || st.Rejections != 0 {
			bad(&lost, "%s after the syncs: outbox %d, pending uploads %d, rejections %d", d.username, st.Outbox, st.PendingUploads, st.Rejections)
		}
		ids[d.client.DeviceID()] = d
		for _, pid := range d.team {
			jr, err := d.client.JointRecord(ctx, pid)
			if err != nil {
				f.tb.Fatal(err)
			}
			back := 0
			for _, js := range jr.Sections {
				for _, v := range js.History {
					if v.Hash == d.sealed[pid] && !v.ReceivedAt.IsZero() {
						back++
					}
				}
			}
			if back != 1 {
				bad(&lost, "%s: the server sent packet %s's sealed section back %d times, want once", d.username, pid, back)
			}
			if h, ok := d.closed[pid]; ok && !slices.ContainsFunc(jr.Closes, func(c syncproto.SealedClose) bool { return c.Hash == h && !c.ReceivedAt.IsZero() }) {
				bad(&lost, "%s: the server did not send packet %s's close back", d.username, pid)
			}
		}
	}
	if len(ids) != len(f.devices) {
		f.tb.Fatalf("%d device ids for %d devices", len(ids), len(f.devices))
	}

	type sealRow struct {
		PacketID   string `gorm:"column:packet_id"`
		Department string `gorm:"column:department"`
		Version    int    `gorm:"column:version"`
		DeviceID   int64  `gorm:"column:device_id"`
		Hash       string `gorm:"column:hash"`
	}
	type mutationCount struct {
		DeviceID int64 `gorm:"column:device_id"`
		N        int   `gorm:"column:n"`
		IDs      int   `gorm:"column:ids"`
		MaxSeq   int   `gorm:"column:max_seq"`
		Applied  int   `gorm:"column:applied"`
	}
	type packetCount struct {
		PacketID string `gorm:"column:packet_id"`
		Kind     string `gorm:"column:kind"`
		N        int    `gorm:"column:n"`
	}
	var seals, closes []sealRow
	var mutations []mutationCount
	var answers, events, changes []packetCount
	var blobs, refs int
	var allBlobs []string
	for _, d := range f.devices {
		allBlobs = append(allBlobs, d.blobs...)
	}
	err := f.h.App.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.Raw(`SELECT packet_id, department, version, device_id, hash FROM section_seals`).Scan(&seals).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT packet_id, '' AS department, 1 AS version, device_id, hash FROM visit_closes`).Scan(&closes).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT device_id, COUNT(*) AS n, COUNT(DISTINCT mutation_id) AS ids, MAX(seq) AS max_seq,
			SUM(CASE WHEN status = 'applied' THEN 1 ELSE 0 END) AS applied FROM mutations GROUP BY device_id`).Scan(&mutations).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT packet_id, '' AS kind, COUNT(*) AS n FROM answers GROUP BY packet_id`).Scan(&answers).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT packet_id, kind, COUNT(*) AS n FROM visit_events GROUP BY packet_id, kind`).Scan(&events).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT packet_id, kind, COUNT(*) AS n FROM sync_changes WHERE kind IN ('section', 'close') GROUP BY packet_id, kind`).Scan(&changes).Error; err != nil {
			return err
		}
		for batch := range slices.Chunk(allBlobs, 500) {
			var n, m int
			if err := tx.Raw(`SELECT COUNT(*) FROM blobs WHERE sha256 IN ?`, batch).Scan(&n).Error; err != nil {
				return err
			}
			if err := tx.Raw(`SELECT COUNT(DISTINCT sha256) FROM attachment_refs WHERE sha256 IN ?`, batch).Scan(&m).Error; err != nil {
				return err
			}
			blobs, refs = blobs+n, refs+m
		}
		return nil
	})
	if err != nil {
		f.tb.Fatal(err)
	}

	// workers are the devices that sealed a section of the packet; owner
	// the one that captured its close.
	workers := map[string][]*device{}
	owner := map[string]*device{}
	for _, d := range f.devices {
		for _, pid := range d.team {
			workers[pid] = append(workers[pid], d)
		}
		for _, pid := range d.owned {
			owner[pid] = d
		}
	}
	sealedBy := func(r sealRow) *device {
		for _, d := range workers[r.PacketID] {
			if ids[r.DeviceID] == d {
				return d
			}
		}
		return nil
	}
	seen := map[string]int{}
	for _, r := range seals {
		seen[r.PacketID]++
		d := sealedBy(r)
		switch {
		case d == nil:
			bad(&duplicated, "section %s/%s from device %d, which does not work on it", r.PacketID, r.Department, r.DeviceID)
		case r.Version != 1 || r.Hash != d.sealed[r.PacketID]:
			bad(&duplicated, "section %s/%s v%d from device %d, hash %.12s: not the one %s sealed (%.12s)", r.PacketID, r.Department, r.Version, r.DeviceID, r.Hash, d.username, d.sealed[r.PacketID])
		}
	}
	closed := map[string]int{}
	for _, r := range closes {
		closed[r.PacketID]++
		if d := owner[r.PacketID]; d == nil || ids[r.DeviceID] != d || r.Hash != d.closed[r.PacketID] {
			bad(&duplicated, "close of %s from device %d, hash %.12s: not the one its owner captured", r.PacketID, r.DeviceID, r.Hash)
		}
	}
	for pid, ds := range workers {
		switch n := seen[pid]; {
		case n < len(ds):
			bad(&lost, "packet %s: %d sections on the server, want %d", pid, n, len(ds))
		case n > len(ds):
			bad(&duplicated, "packet %s: %d sections on the server, want %d", pid, n, len(ds))
		}
		switch n := closed[pid]; {
		case n == 0:
			bad(&lost, "packet %s's close is not on the server", pid)
		case n > 1:
			bad(&duplicated, "packet %s has %d closes on the server", pid, n)
		}
	}
	gotMutations := map[int64]bool{}
	for _, m := range mutations {
		d := ids[m.DeviceID]
		if d == nil {
			bad(&duplicated, "%d mutations from device %d, which is not in the fleet", m.N, m.DeviceID)
			continue
		}
		gotMutations[m.DeviceID] = true
		if m.N < d.queued || m.MaxSeq < d.queued || m.Applied < d.queued {
			bad(&lost, "%s queued %d mutations; the server holds %d (max seq %d, %d applied)", d.username, d.queued, m.N, m.MaxSeq, m.Applied)
		}
		if m.N > d.queued || m.IDs != m.N {
			bad(&duplicated, "%s queued %d mutations; the server holds %d with %d distinct ids", d.username, d.queued, m.N, m.IDs)
		}
	}
	for id, d := range ids {
		if !gotMutations[id] {
			bad(&lost, "no mutation of %s (device %d) on the server", d.username, id)
		}
	}
	count := func(rows []packetCount, what string, want func(pid, kind string) int, kinds ...string) {
		got := map[[2]string]int{}
		for _, r := range rows {
			got[[2]string{r.PacketID, r.Kind}] += r.N
			if workers[r.PacketID] == nil {
				bad(&duplicated, "%d %s of packet %s, which no device worked on", r.N, what, r.PacketID)
			}
		}
		for pid := range workers {
			for _, k := range kinds {
				w, g := want(pid, k), got[[2]string{pid, k}]
				if g < w {
					bad(&lost, "packet %s: %d %s %s on the server, want %d", pid, g, k, what, w)
				} else if g > w {
					bad(&duplicated, "packet %s: %d %s %s on the server, want %d", pid, g, k, what, w)
				}
			}
		}
	}
	count(answers, "answer versions", func(pid, _ string) int {
		n := 0
		for _, d := range workers[pid] {
			n += d.answers[pid]
		}
		return n
	}, "")
	count(events, "visit events", func(pid, _ string) int { return len(workers[pid]) }, syncproto.KindCertificates)
	count(changes, "change-log entries", func(pid, kind string) int {
		if kind == syncproto.ChangeSection {
			return len(workers[pid])
		}
		return 1
	}, syncproto.ChangeSection, syncproto.ChangeClose)
	if blobs != len(allBlobs) || refs != len(allBlobs) {
		bad(&lost, "%d attachments sealed; %d on the server, %d referenced", len(allBlobs), blobs, refs)
	}
	if lost != 0 || duplicated != 0 {
		f.tb.Fatalf("%d lost, %d duplicated:\n  %s", lost, duplicated, strings.Join(problems, "\n  "))
	}
	return lost, duplicated
}
