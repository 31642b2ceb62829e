package main

// The README's field walk-through, done as a newcomer does it: the real
// spotcheck server started with --demo, the real spotcheck-field binary run
// with the README's commands and flags, its output read to pick the packet,
// the items and the inspectors; then the server's side checked as staff over
// HTTP and in its database once it has stopped.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// demoPassword is the demo accounts' password as the README gives it.
const demoPassword = "spotcheck-demo"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds spotcheck and spotcheck-field once per test binary and
// returns their paths.
func binaries(t *testing.T) (server, field string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "spotcheck-walkthrough-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"github.com/spotcheck/spotcheck/server/cmd/spotcheck",
			"github.com/spotcheck/spotcheck/client-sdk/cmd/spotcheck-field")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "spotcheck"), filepath.Join(binDir, "spotcheck-field")
}

// cleanEnv is the environment without SPOTCHECK_ settings, so a developer's
// own database URL or field directory does not leak into the walk-through.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SPOTCHECK_") })
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serverProc is `spotcheck serve --demo` running as a subprocess.
type serverProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	URL    string
	stdout lockedBuffer // what the newcomer reads: accounts, teams, address
	stderr lockedBuffer // JSON logs
	exited chan struct{}
}

var listeningLine = regexp.MustCompile(`spotcheck listening on (http://\S+)`)

// startServer runs `spotcheck serve --demo` on addr (127.0.0.1:0: a free
// loopback port the server picks and prints), with its data in dataDir and,
// when dsn is set, its database on PostgreSQL. It waits for /readyz and
// stops the server when the test ends.
func startServer(t *testing.T, bin, addr, dataDir, dsn string) *serverProc {
	t.Helper()
	args := []string{"serve", "--demo", "--addr", addr, "--data-dir", dataDir, "--log-level", "warn"}
	if dsn != "" {
		args = append(args, "--database-url", dsn)
	}
	s := &serverProc{t: t, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	s.cmd.Env = cleanEnv()
	s.cmd.Stderr = &s.stderr
	dieWithTest(s.cmd)
	pipe, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&s.stdout, line)
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, pipe)
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.URL = <-urls:
	case <-s.exited:
		t.Fatalf("spotcheck serve exited before listening:\n%s\n%s", s.stdout.String(), s.stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("spotcheck serve did not start listening:\n%s\n%s", s.stdout.String(), s.stderr.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 (last: %v):\n%s", err, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop interrupts the server as Ctrl-C would, so it shuts down cleanly, and
// kills it if it has not exited in 15 seconds. Calling it again does nothing.
func (s *serverProc) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.t.Errorf("spotcheck serve ignored the interrupt; killing it")
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// fieldDevice runs the spotcheck-field binary in a working directory, as the
// README does: no --dir, so the data lives in ./spotcheck-field-data there.
type fieldDevice struct {
	t   *testing.T
	bin string
	dir string
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs spotcheck-field with args and stdin and returns what it printed
// and its exit status.
func (f *fieldDevice) run(stdin string, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Dir = f.dir
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		f.t.Fatalf("spotcheck-field %s: %v\n%s", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

// ok runs spotcheck-field and fails the test unless it exits 0.
func (f *fieldDevice) ok(args ...string) string {
	f.t.Helper()
	r := f.run("", args...)
	if r.code != 0 {
		f.t.Fatalf("spotcheck-field %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs spotcheck-field expecting exit status code and every one of
// wants in its stderr.
func (f *fieldDevice) fails(code int, stdin string, wants []string, args ...string) {
	f.t.Helper()
	r := f.run(stdin, args...)
	if r.code != code {
		f.t.Errorf("spotcheck-field %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			f.t.Errorf("spotcheck-field %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
}

// writeImages writes what a tablet would capture: signature PNGs, a photo and
// a stamp photo as JPEGs, each with different content.
func writeImages(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i, name := range []string{"signature.png", "a.png", "b.png", "photo.jpg", "stamp.jpg"} {
		img := image.NewRGBA(image.Rect(0, 0, 240, 96))
		for x := range 240 {
			for y := range 96 {
				img.Set(x, y, color.White)
			}
		}
		for x := 12; x < 228; x++ { // a wavy pen stroke, different per file
			y := 48 + (x*(i+3))%37 - 18
			img.Set(x, y, color.Black)
			img.Set(x, y+1, color.Black)
		}
		var buf bytes.Buffer
		var err error
		if strings.HasSuffix(name, ".png") {
			err = png.Encode(&buf, img)
		} else {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = buf.Bytes()
	}
	return files
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// packetRow is one row of `spotcheck-field packets`.
type packetRow struct{ id, state string }

// parsePackets reads the packets table: a PACKET header, then one packet per line.
func parsePackets(t *testing.T, out string) []packetRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.Fields(lines[0])[0] != "PACKET" {
		t.Fatalf("packets output has no table:\n%s", out)
	}
	var rows []packetRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Fatalf("packets row %q", l)
		}
		rows = append(rows, packetRow{id: f[0], state: f[1]})
	}
	return rows
}

// shownPacket is what `spotcheck-field show` tells the inspector.
type shownPacket struct {
	team     []teamMember
	sections map[string][]string // department → item codes, in order
	answers  map[string]string   // "dept/item" → the answer column
	records  []string            // "sealed version …" lines
}

type teamMember struct {
	id, department, name string
}

var (
	teamLine    = regexp.MustCompile(`^  inspector (\d+)\s+(\S+)\s+(\S+)\s+certificate (\S+)$`)
	sectionLine = regexp.MustCompile(`^section (\S+):$`)
	itemLine    = regexp.MustCompile(`^  (\S+)\s+(\S+)\s+(.*)$`)
)

func parseShow(t *testing.T, out string) shownPacket {
	t.Helper()
	p := shownPacket{sections: map[string][]string{}, answers: map[string]string{}}
	section := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "team:":
			section = ""
		case teamLine.MatchString(l):
			m := teamLine.FindStringSubmatch(l)
			p.team = append(p.team, teamMember{id: m[1], department: m[2], name: m[3]})
		case sectionLine.MatchString(l):
			section = sectionLine.FindStringSubmatch(l)[1]
		case section != "" && itemLine.MatchString(l):
			m := itemLine.FindStringSubmatch(l)
			p.sections[section] = append(p.sections[section], m[1])
			p.answers[section+"/"+m[1]] = strings.TrimSpace(m[3])
		case strings.HasPrefix(l, "sealed version "):
			p.records = append(p.records, l)
			section = ""
		case !strings.HasPrefix(l, "  "):
			section = ""
		}
	}
	if len(p.team) == 0 || len(p.sections) == 0 {
		t.Fatalf("show output has no team or no checklist:\n%s", out)
	}
	return p
}

var (
	signedInLine = regexp.MustCompile(`^signed in as (\S+) \((.+)\) on device (\d+);`)
	hashLine     = regexp.MustCompile(`(?m)^hash ([0-9a-f]{64})$`)
	statusLine   = regexp.MustCompile(`(?m)^(outbox|pending uploads|rejections|conflicts):\s+(\d+)`)
)

// statusCounts reads the counts `spotcheck-field status` prints.
func statusCounts(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range statusLine.FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2]
	}
	if len(got) != 4 {
		t.Fatalf("status output lacks the counts:\n%s", out)
	}
	return got
}

func TestREADMEFieldWalkthrough(t *testing.T) {
	serverBin, fieldBin := binaries(t)
	t.Run(store.SQLite, func(t *testing.T) {
		t.Parallel()
		walkthrough(t, serverBin, fieldBin, store.SQLite, "")
	})
	t.Run(store.Postgres, func(t *testing.T) {
		t.Parallel()
		// Without SPOTCHECK_TEST_POSTGRES_DSN this says so and skips, as
		// storetest.RunDialects does for every store test.
		if os.Getenv(storetest.PostgresDSNEnv) == "" {
			fmt.Fprintf(os.Stderr, "storetest: PostgreSQL tests skipped: %s is not set\n", storetest.PostgresDSNEnv)
		}
		dsn := storetest.NewDSN(t, store.Postgres)
		walkthrough(t, serverBin, fieldBin, store.Postgres, dsn)
	})
}

func walkthrough(t *testing.T, serverBin, fieldBin, dialect, dsn string) {
	dataDir := filepath.Join(t.TempDir(), "spotcheck-data")
	srv := startServer(t, serverBin, "127.0.0.1:0", dataDir, dsn)

	// The server names the teams; the README says inspector01 is on one.
	if !regexp.MustCompile(`(?m)^  team \d+ \(\d+ packets\): .*\binspector01\b`).MatchString(srv.stdout.String()) {
		t.Fatalf("the demo start does not put inspector01 on a team:\n%s", srv.stdout.String())
	}

	work := t.TempDir()
	files := writeImages(t, work)
	f := &fieldDevice{t: t, bin: fieldBin, dir: work}

	// Mistakes a newcomer makes: exit 2 with the usage, or 1 with the reason.
	f.fails(2, "", []string{`unknown command "bogus"`, "usage: spotcheck-field"}, "bogus")
	f.fails(2, "", []string{"-bogus", "usage: spotcheck-field sync"}, "sync", "--bogus")
	f.fails(2, "", []string{"want PACKET", "usage: spotcheck-field show PACKET"}, "show")
	f.fails(2, "", []string{"--server and --username are required"}, "login", "--username", "inspector01")
	wrong := &fieldDevice{t: t, bin: fieldBin, dir: t.TempDir()}
	wrong.fails(1, "not-the-password\n", []string{"用户名或密码错误", "wrong username or password", "请核对用户名和密码"},
		"login", "--server", srv.URL, "--username", "inspector01")

	// echo spotcheck-demo | ./spotcheck-field login --server URL --username inspector01
	r := f.run(demoPassword+"\n", "login", "--server", srv.URL, "--username", "inspector01")
	if r.code != 0 {
		t.Fatalf("login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	m := signedInLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "inspector01" {
		t.Fatalf("login said:\n%s", r.stdout)
	}
	myName := m[2]

	if out := f.ok("sync"); !strings.Contains(out, "outbox 0, pending uploads 0, rejections 0, conflicts 0") {
		t.Errorf("first sync said:\n%s", out)
	}
	var open []string
	for _, p := range parsePackets(t, f.ok("packets")) {
		if p.state == "open" {
			open = append(open, p.id)
		}
	}
	if len(open) < 2 {
		t.Fatalf("want at least two open packets, got %v", open)
	}
	signed, refused := open[0], open[1]

	// On site there is no network: everything up to the next sync is done
	// with the server down.
	srv.stop()

	// The signed visit, with the README's commands and flags.
	show := parseShow(t, f.ok("show", signed))
	culture, market := show.sections["culture"], show.sections["market"]
	if !slices.Contains(culture, "WH-01") || !slices.Contains(market, "SC-01") {
		t.Fatalf("show lacks the README's culture WH-01 or market SC-01: %v", show.sections)
	}
	if out := f.ok("certificates", signed); !strings.Contains(out, fmt.Sprintf("recorded %d certificate(s) shown", len(show.team))) {
		t.Errorf("certificates said:\n%s", out)
	}
	f.ok("answer", signed, "culture", culture[0], "compliant")
	f.ok("answer", signed, "market", market[0], "non_compliant", "--note", "营业执照未公示", "--photo", "photo.jpg")
	f.ok("sign", signed, "--name", "苏秀", "--png", "signature.png", "--stamp", "stamp.jpg")
	hm := hashLine.FindStringSubmatch(f.ok("finalize", signed))
	if hm == nil {
		t.Fatal("finalize printed no hash")
	}
	signedHash := hm[1]

	// The refused visit on the second packet: a mandatory note and two
	// inspectors of the team, the signed-in one among them.
	team := parseShow(t, f.ok("show", refused)).team
	var me, other string
	for _, tm := range team {
		if tm.name == myName && me == "" {
			me = tm.id
		} else if other == "" {
			other = tm.id
		}
	}
	if me == "" || other == "" {
		t.Fatalf("show lists no team with %s and another inspector: %v", myName, team)
	}
	f.fails(2, "", []string{"--note and at least two --inspector-png"}, "refuse", refused, "--inspector-png", me+"=a.png", "--inspector-png", other+"=b.png")
	f.fails(2, "", []string{"--note and at least two --inspector-png"}, "refuse", refused, "--note", "拒绝签字", "--inspector-png", me+"=a.png")
	f.fails(2, "", []string{"is not in this packet's team"}, "refuse", refused, "--note", "拒绝签字", "--inspector-png", me+"=a.png", "--inspector-png", "999999=b.png")
	const refusalNote = "法定代表人在场但拒绝在检查记录上签字 (the legal representative was present and refused to sign)"
	f.ok("refuse", refused, "--note", refusalNote, "--inspector-png", me+"=a.png", "--inspector-png", other+"=b.png")
	hm = hashLine.FindStringSubmatch(f.ok("finalize", refused))
	if hm == nil {
		t.Fatal("finalize printed no hash")
	}
	refusedHash := hm[1]
	if seals := parseShow(t, f.ok("show", refused)).records; !slices.Equal(seals, []string{"sealed version 1 by this device: hash " + refusedHash + " (not synced)"}) {
		t.Errorf("show before sync: seals %q, want the one version, not synced", seals)
	}

	offline := statusCounts(t, f.ok("status"))
	if offline["outbox"] == "0" || offline["pending uploads"] == "0" {
		t.Errorf("status before sync: %v, want changes and uploads waiting", offline)
	}
	f.fails(1, "", []string{"服务器无法连接", "server unreachable; everything is kept on this device"}, "sync")
	// The offline work can be carried out by hand, e.g. from a device that
	// could never sync again; an export never overwrites an earlier one.
	if out := f.ok("export", "offline-work.tar.gz"); !strings.Contains(out, "exported "+offline["outbox"]+" unsynced change(s), 2 sealed record(s)") {
		t.Errorf("export said: %s", out)
	}
	f.fails(1, "", []string{"offline-work.tar.gz"}, "export", "offline-work.tar.gz")

	// Back in the office: the server is up again where the device knows it.
	srv = startServer(t, serverBin, strings.TrimPrefix(srv.URL, "http://"), dataDir, dsn)
	if out := f.ok("sync"); !strings.Contains(out, "outbox 0, pending uploads 0, rejections 0, conflicts 0") {
		t.Errorf("sync said:\n%s", out)
	}
	for k, v := range statusCounts(t, f.ok("status")) {
		if v != "0" {
			t.Errorf("status: %s %s, want 0", k, v)
		}
	}
	if out := f.ok("rejections"); strings.TrimSpace(out) != "no rejected changes" {
		t.Errorf("rejections:\n%s", out)
	}
	after := parseShow(t, f.ok("show", signed))
	if got := after.answers["culture/"+culture[0]]; got != "compliant" {
		t.Errorf("show after sync: %s/%s is %q", "culture", culture[0], got)
	}
	if got := after.answers["market/"+market[0]]; !strings.HasPrefix(got, "non_compliant  « 营业执照未公示 »  [1 photo(s)]") || strings.Contains(got, "not synced") {
		t.Errorf("show after sync: %s/%s is %q", "market", market[0], got)
	}
	if !slices.Equal(after.records, []string{"sealed version 1 by this device: hash " + signedHash + " (on the server)"}) {
		t.Errorf("show after sync: seals %q, want the one version, on the server", after.records)
	}

	// Staff see the attachments over HTTP: the lead coordinator may read
	// both packets and so every attachment they reference.
	token := staffLogin(t, srv.URL, "coordinator")
	for _, name := range []string{"signature.png", "a.png", "b.png", "photo.jpg", "stamp.jpg"} {
		got := httpGet(t, srv.URL+syncproto.PathAttachments+"/"+sha256Hex(files[name]), token)
		if !bytes.Equal(got, files[name]) {
			t.Errorf("attachment %s: the server has %d bytes that differ from the file's %d", name, len(got), len(files[name]))
		}
	}

	// Then the server's database, opened read-only after the server stopped.
	srv.stop()
	db := openReadOnly(t, dialect, dataDir, dsn)

	rec := sealedRecord(t, db, signed, signedHash)
	if rec.Close.Outcome != syncproto.OutcomeSigned || len(rec.Close.Signatures) != 1 ||
		rec.Close.Signatures[0].Role != syncproto.SignerRepresentative || rec.Close.Signatures[0].Name != "苏秀" ||
		rec.Close.Signatures[0].Image.SHA256 != sha256Hex(files["signature.png"]) {
		t.Errorf("signed record's close: %+v", rec.Close)
	}
	if rec.Close.Stamp == nil || rec.Close.Stamp.SHA256 != sha256Hex(files["stamp.jpg"]) {
		t.Errorf("signed record's stamp: %+v", rec.Close.Stamp)
	}
	if len(rec.Certificates) != len(show.team) {
		t.Errorf("signed record has %d certificates shown, want %d", len(rec.Certificates), len(show.team))
	}
	wantAttachments := []string{sha256Hex(files["signature.png"]), sha256Hex(files["photo.jpg"]), sha256Hex(files["stamp.jpg"])}
	slices.Sort(wantAttachments)
	if !slices.Equal(rec.Attachments, wantAttachments) {
		t.Errorf("signed record's attachments %v, want %v", rec.Attachments, wantAttachments)
	}
	answers := serverAnswers(t, db, signed)
	if a := answers["culture/"+culture[0]]; a.Result != syncproto.ResultCompliant {
		t.Errorf("server answer culture/%s: %+v", culture[0], a)
	}
	if a := answers["market/"+market[0]]; a.Result != syncproto.ResultNonCompliant || a.Note != "营业执照未公示" ||
		len(a.Photos) != 1 || a.Photos[0].SHA256 != sha256Hex(files["photo.jpg"]) || a.Photos[0].ContentType != "image/jpeg" {
		t.Errorf("server answer market/%s: %+v", market[0], a)
	}
	if len(answers) != 2 {
		t.Errorf("server has %d answers on the signed packet, want 2", len(answers))
	}

	rec = sealedRecord(t, db, refused, refusedHash)
	if rec.Close.Outcome != syncproto.OutcomeRefused || rec.Close.Note != refusalNote || len(rec.Close.Signatures) != 2 {
		t.Errorf("refused record's close: %+v", rec.Close)
	}
	for i, sig := range rec.Close.Signatures {
		wantID, wantFile := me, "a.png"
		if i == 1 {
			wantID, wantFile = other, "b.png"
		}
		if sig.Role != syncproto.SignerInspector || fmt.Sprint(sig.InspectorID) != wantID || sig.Image.SHA256 != sha256Hex(files[wantFile]) {
			t.Errorf("refused record's signature %d: %+v, want inspector %s with %s", i, sig, wantID, wantFile)
		}
	}

	for name, b := range files {
		sha := sha256Hex(b)
		var size int64
		query(t, db, &size, "SELECT size FROM blobs WHERE sha256 = ?", sha)
		if size != int64(len(b)) {
			t.Errorf("blob %s (%s): size %d in the database, file has %d", name, sha, size, len(b))
		}
		stored, err := os.ReadFile(filepath.Join(dataDir, "blobs", sha[:2], sha))
		if err != nil || !bytes.Equal(stored, b) {
			t.Errorf("blob %s: stored file differs or is missing: %v", name, err)
		}
	}
	var rejected, applied int64
	query(t, db, &rejected, "SELECT count(*) FROM mutations WHERE status = 'rejected'")
	query(t, db, &applied, "SELECT count(*) FROM mutations WHERE status = 'applied' AND kind = 'finalize'")
	if rejected != 0 || applied != 2 {
		t.Errorf("server mutations: %d rejected, %d finalizes applied; want 0 and 2", rejected, applied)
	}
}

// staffLogin signs in as a demo staff account and returns its access token.
func staffLogin(t *testing.T, baseURL, username string) string {
	t.Helper()
	body, _ := json.Marshal(syncproto.LoginRequest{Username: username, Password: demoPassword})
	resp, err := http.Post(baseURL+syncproto.PathLogin, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s syncproto.Session
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK || s.AccessToken == "" {
		t.Fatalf("login as %s: %s, %v", username, resp.Status, err)
	}
	return s.AccessToken
}

func httpGet(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v: %s", url, resp.Status, err, b)
	}
	return b
}

// openReadOnly opens the stopped server's database so that nothing the test
// does can change it.
func openReadOnly(t *testing.T, dialect, dataDir, dsn string) *gorm.DB {
	t.Helper()
	var d gorm.Dialector
	switch dialect {
	case store.SQLite:
		d = sqlite.Open("file:" + filepath.Join(dataDir, "spotcheck.db") + "?mode=ro")
	case store.Postgres:
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		d = postgres.Open(dsn + sep + "default_transaction_read_only=on")
	}
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() }) // before NewDSN's cleanup drops the database
	return db
}

func query(t *testing.T, db *gorm.DB, out any, q string, args ...any) {
	t.Helper()
	if err := db.Raw(q, args...).Scan(out).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// sealedRecord checks that the server holds version 1 of the packet's record
// with the hash finalize printed, a 64-byte Ed25519 signature, and a seal that
// verifies: the body hashes to the hash, and the signature over the seal
// message verifies with the public key the device enrolled.
func sealedRecord(t *testing.T, db *gorm.DB, packetID, wantHash string) *syncproto.InspectionRecord {
	t.Helper()
	var rows []struct {
		Version   int
		Hash      string
		Signature []byte
		Body      string
		PublicKey []byte
	}
	query(t, db, &rows, `SELECT r.version, r.hash, r.signature, r.body, d.public_key
		FROM records r JOIN devices d ON d.id = r.device_id WHERE r.packet_id = ?`, packetID)
	if len(rows) != 1 {
		t.Fatalf("packet %s: %d sealed records on the server, want 1", packetID, len(rows))
	}
	row := rows[0]
	if row.Version != 1 || row.Hash != wantHash {
		t.Errorf("packet %s: record version %d hash %s, want 1 and %s (what finalize printed)", packetID, row.Version, row.Hash, wantHash)
	}
	if len(row.Signature) != ed25519.SignatureSize {
		t.Fatalf("packet %s: signature of %d bytes, want %d", packetID, len(row.Signature), ed25519.SignatureSize)
	}
	var rec syncproto.InspectionRecord
	if err := json.Unmarshal([]byte(row.Body), &rec); err != nil {
		t.Fatalf("packet %s: record body: %v", packetID, err)
	}
	if h, err := syncproto.RecordHash(&rec); err != nil || h != row.Hash {
		t.Errorf("packet %s: the stored body hashes to %s (%v), the record says %s", packetID, h, err, row.Hash)
	}
	if len(row.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(row.PublicKey, syncproto.SealMessage(row.Hash), row.Signature) {
		t.Errorf("packet %s: the seal does not verify with the device's public key", packetID)
	}
	if rec.PacketID != packetID || rec.Version != 1 {
		t.Errorf("packet %s: record body names packet %s version %d", packetID, rec.PacketID, rec.Version)
	}
	return &rec
}

// serverAnswers returns the winning answer of each item of the packet.
func serverAnswers(t *testing.T, db *gorm.DB, packetID string) map[string]syncproto.AnswerMutation {
	t.Helper()
	var rows []struct {
		Department, ItemCode, Body string
	}
	query(t, db, &rows, "SELECT department, item_code, body FROM answers WHERE packet_id = ? AND winner", packetID)
	out := map[string]syncproto.AnswerMutation{}
	for _, r := range rows {
		var a syncproto.AnswerMutation
		if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
			t.Fatalf("answer %s/%s: %v", r.Department, r.ItemCode, err)
		}
		out[r.Department+"/"+r.ItemCode] = a
	}
	return out
}
