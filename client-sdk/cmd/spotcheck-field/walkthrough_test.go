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
// README does; each device of the team keeps its data in its own --dir.
type fieldDevice struct {
	t    *testing.T
	bin  string
	dir  string
	data string // the --dir flag, empty for the default ./spotcheck-field-data
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
	if f.data != "" {
		args = append([]string{"--dir", f.data}, args...)
	}
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

// packetRow is one row of `spotcheck-field packets`: the packet and the
// department whose section the device's inspector answers.
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
	record   []string            // the joint record's lines
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
		case l == "joint record:":
			section = "joint record:"
		case section == "joint record:" && strings.HasPrefix(l, "  "):
			p.record = append(p.record, strings.TrimSpace(l))
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

	// The server names the teams (the draw depends on the public record,
	// so they differ from start to start); the README takes a culture
	// inspector (inspector01 … inspector20) and a market inspector of one.
	teamOf := regexp.MustCompile(`(?m)^  team \d+ \(\d+ packets\): (.*)$`).FindStringSubmatch(srv.stdout.String())
	if teamOf == nil {
		t.Fatalf("the demo start names no team:\n%s", srv.stdout.String())
	}
	var cultureUser, marketUser string
	for _, u := range strings.Split(teamOf[1], ", ") {
		switch {
		case u <= "inspector20" && cultureUser == "":
			cultureUser = u
		case u > "inspector20" && marketUser == "":
			marketUser = u
		}
	}
	if cultureUser == "" || marketUser == "" {
		t.Fatalf("the first team lacks a culture or a market inspector: %s", teamOf[1])
	}

	work := t.TempDir()
	files := writeImages(t, work)
	f := &fieldDevice{t: t, bin: fieldBin, dir: work, data: "culture-tablet"}
	mk := &fieldDevice{t: t, bin: fieldBin, dir: work, data: "market-tablet"}

	// Mistakes a newcomer makes: exit 2 with the usage, or 1 with the reason.
	f.fails(2, "", []string{`unknown command "bogus"`, "usage: spotcheck-field"}, "bogus")
	f.fails(2, "", []string{"-bogus", "usage: spotcheck-field sync"}, "sync", "--bogus")
	f.fails(2, "", []string{"want PACKET", "usage: spotcheck-field show PACKET"}, "show")
	f.fails(2, "", []string{"--server and --username are required"}, "login", "--username", cultureUser)
	wrong := &fieldDevice{t: t, bin: fieldBin, dir: t.TempDir()}
	wrong.fails(1, "not-the-password\n", []string{"用户名或密码错误", "wrong username or password", "请核对用户名和密码"},
		"login", "--server", srv.URL, "--username", cultureUser)

	// echo spotcheck-demo | ./spotcheck-field --dir culture-tablet login --server URL --username CULTURE
	login := func(d *fieldDevice, username string) string {
		r := d.run(demoPassword+"\n", "login", "--server", srv.URL, "--username", username)
		if r.code != 0 {
			t.Fatalf("login %s: exit %d\n%s%s", username, r.code, r.stdout, r.stderr)
		}
		m := signedInLine.FindStringSubmatch(r.stdout)
		if m == nil || m[1] != username {
			t.Fatalf("login said:\n%s", r.stdout)
		}
		return m[2]
	}
	cultureName, marketName := login(f, cultureUser), login(mk, marketUser)

	for _, d := range []*fieldDevice{f, mk} {
		if out := d.ok("sync"); !strings.Contains(out, "outbox 0, pending uploads 0, rejections 0, conflicts 0") {
			t.Errorf("first sync said:\n%s", out)
		}
	}
	var open []string
	for _, p := range parsePackets(t, f.ok("packets")) {
		if p.state == "culture" { // the SECTION column: the culture inspector answers the culture section
			open = append(open, p.id)
		}
	}
	if len(open) < 2 {
		t.Fatalf("want at least two packets, got %v", open)
	}
	if mp := parsePackets(t, mk.ok("packets")); len(mp) != len(open) || mp[0].state != "market" {
		t.Fatalf("the market device's packets: %+v", mp)
	}
	signed, refused := open[0], open[1]

	// On site there is no network: everything up to the next sync is done
	// with the server down.
	srv.stop()

	// The signed visit. Each department answers its own section on its own
	// device and seals it; the market device captures the signature once,
	// naming the culture section by the token the culture device shows.
	show := parseShow(t, f.ok("show", signed))
	culture, market := show.sections["culture"], show.sections["market"]
	if !slices.Contains(culture, "WH-01") || !slices.Contains(market, "SC-01") {
		t.Fatalf("show lacks the README's culture WH-01 or market SC-01: %v", show.sections)
	}
	var cultureID, marketID string
	for _, tm := range show.team {
		switch tm.name {
		case cultureName:
			cultureID = tm.id
		case marketName:
			marketID = tm.id
		}
	}
	if cultureID == "" || marketID == "" {
		t.Fatalf("show lists no %s and %s in the team: %v", cultureName, marketName, show.team)
	}
	if out := f.ok("certificates", signed); !strings.Contains(out, fmt.Sprintf("recorded %d certificate(s) shown", len(show.team))) {
		t.Errorf("certificates said:\n%s", out)
	}
	mk.ok("certificates", signed, "--inspector", marketID)
	// Sealing too early, or the other department's item: refused, with why.
	f.ok("answer", signed, "culture", culture[0], "compliant")
	f.fails(1, "", []string{"WH-02", "answer them or mark them not checked"}, "seal", signed)
	f.fails(1, "", []string{"只有market部门的执法人员", "only inspectors of market"}, "answer", signed, "market", market[0], "compliant")
	for _, it := range culture[1:] {
		f.ok("answer", signed, "culture", it, "compliant")
	}
	token := sealToken(t, f.ok("seal", signed))
	mk.ok("answer", signed, "market", market[0], "non_compliant", "--note", "营业执照未公示", "--photo", "photo.jpg")
	mk.ok("answer", signed, "market", market[1], "compliant")
	mk.fails(1, "", []string{"note"}, "answer", signed, "market", market[2], "not_checked")
	mk.ok("answer", signed, "market", market[2], "not_checked", "--note", "年报系统当日无法访问")
	marketToken := sealToken(t, mk.ok("seal", signed))
	if out := mk.ok("sign", signed, "--name", "苏秀", "--png", "signature.png", "--stamp", "stamp.jpg", "--covers", token); !strings.Contains(out, "covering culture v1 market v1") {
		t.Errorf("sign said:\n%s", out)
	}
	// The close is captured once per visit on a device.
	mk.fails(1, "", []string{"captured once per visit"}, "not-locatable", signed, "--note", "再次记录")

	// The refused visit on the second packet: the sections, then the
	// refusal written on the culture device with both inspectors' signatures.
	for _, it := range culture {
		f.ok("answer", refused, "culture", it, "non_compliant", "--note", "现场未整改")
	}
	f.ok("certificates", refused, "--inspector", cultureID, "--inspector", marketID)
	refusedCulture := sealToken(t, f.ok("seal", refused))
	mk.ok("certificates", refused, "--inspector", marketID)
	for _, it := range market {
		mk.ok("answer", refused, "market", it, "compliant")
	}
	refusedMarket := sealToken(t, mk.ok("seal", refused))
	f.fails(2, "", []string{"--note and at least two --inspector-png"}, "refuse", refused, "--inspector-png", cultureID+"=a.png", "--inspector-png", marketID+"=b.png")
	f.fails(2, "", []string{"--note and at least two --inspector-png"}, "refuse", refused, "--note", "拒绝签字", "--inspector-png", cultureID+"=a.png")
	f.fails(2, "", []string{"is not in this packet's team"}, "refuse", refused, "--note", "拒绝签字", "--inspector-png", cultureID+"=a.png", "--inspector-png", "999999=b.png")
	const refusalNote = "法定代表人在场但拒绝在检查记录上签字 (the legal representative was present and refused to sign)"
	f.ok("refuse", refused, "--note", refusalNote, "--inspector-png", cultureID+"=a.png", "--inspector-png", marketID+"=b.png", "--covers", refusedMarket)
	rec := parseShow(t, f.ok("show", refused)).record
	if !containsPrefix(rec, "section culture: sealed version 1") || !containsPrefix(rec, "close: refused with 2 signature(s)") {
		t.Errorf("show before sync: joint record %q", rec)
	}

	offline := statusCounts(t, f.ok("status"))
	if offline["outbox"] == "0" || offline["pending uploads"] == "0" {
		t.Errorf("status before sync: %v, want changes and uploads waiting", offline)
	}
	f.fails(1, "", []string{"服务器无法连接", "server unreachable; everything is kept on this device"}, "sync")
	// The offline work can be carried out by hand, e.g. from a device that
	// could never sync again; an export never overwrites an earlier one.
	if out := f.ok("export", "offline-work.tar.gz"); !strings.Contains(out, "exported "+offline["outbox"]+" unsynced change(s), 3 sealed section(s) and close(s)") {
		t.Errorf("export said: %s", out)
	}
	f.fails(1, "", []string{"offline-work.tar.gz"}, "export", "offline-work.tar.gz")

	// Back in the office: the server is up again where the devices know it;
	// they sync in turn, and each then has the whole joint record.
	srv = startServer(t, serverBin, strings.TrimPrefix(srv.URL, "http://"), dataDir, dsn)
	for _, d := range []*fieldDevice{f, mk, f} {
		if out := d.ok("sync"); !strings.Contains(out, "outbox 0, pending uploads 0, rejections 0, conflicts 0") {
			t.Errorf("sync said:\n%s", out)
		}
	}
	for k, v := range statusCounts(t, f.ok("status")) {
		if v != "0" {
			t.Errorf("status: %s %s, want 0", k, v)
		}
	}
	if out := f.ok("rejections"); strings.TrimSpace(out) != "no rejected changes" {
		t.Errorf("rejections:\n%s", out)
	}
	for _, d := range []*fieldDevice{f, mk} {
		for _, pid := range []string{signed, refused} {
			if out := d.ok("record", pid); !strings.Contains(out, "complete: every section sealed and covered by the one close") {
				t.Errorf("%s record %s after sync:\n%s", d.data, pid, out)
			}
		}
	}
	after := parseShow(t, f.ok("show", signed))
	if got := after.answers["culture/"+culture[0]]; got != "compliant" {
		t.Errorf("show after sync: %s/%s is %q", "culture", culture[0], got)
	}
	if got := after.answers["market/"+market[0]]; !strings.HasPrefix(got, "non_compliant  « 营业执照未公示 »  [1 photo(s)]") || strings.Contains(got, "not synced") {
		t.Errorf("show after sync: %s/%s is %q", "market", market[0], got)
	}

	// A correction by the market department: the next version of its
	// section, with a reason, becomes the live state on both devices; the
	// record says the close covered the version before it.
	mk.ok("correct", signed, "--note", "SC-02 复核：价目表未标明计费方式")
	mk.ok("answer", signed, "market", market[1], "non_compliant", "--note", "价目表未标明计费方式")
	correction := sealToken(t, mk.ok("seal", signed))
	if correction == marketToken || !strings.HasPrefix(correction, "sc1:market:2:") {
		t.Errorf("correction token %s after %s", correction, marketToken)
	}
	mk.ok("sync")
	f.ok("sync")
	after = parseShow(t, f.ok("show", signed))
	if got := after.answers["market/"+market[1]]; !strings.HasPrefix(got, "non_compliant  « 价目表未标明计费方式 »") {
		t.Errorf("the culture device shows %s/%s as %q after the correction", "market", market[1], got)
	}
	if !containsPrefix(after.record, "section market: sealed version 2") || !containsPrefix(after.record, "! section_not_covered") {
		t.Errorf("the culture device's joint record after the correction: %q", after.record)
	}

	// Staff see the attachments over HTTP: the lead coordinator may read
	// both packets and so every attachment they reference.
	staff := staffLogin(t, srv.URL, "coordinator")
	for _, name := range []string{"signature.png", "a.png", "b.png", "photo.jpg", "stamp.jpg"} {
		got := httpGet(t, srv.URL+syncproto.PathAttachments+"/"+sha256Hex(files[name]), staff)
		if !bytes.Equal(got, files[name]) {
			t.Errorf("attachment %s: the server has %d bytes that differ from the file's %d", name, len(got), len(files[name]))
		}
	}
	var jr syncproto.JointRecord
	if err := json.Unmarshal(httpGet(t, srv.URL+"/v1/packets/"+refused+"/record", staff), &jr); err != nil {
		t.Fatal(err)
	}
	if !jr.Complete || len(jr.Sections) != 2 || len(jr.Closes) != 1 || jr.Closes[0].Record.Close.Note != refusalNote {
		t.Errorf("the refused packet's joint record as staff see it: %+v", jr)
	}

	// Then the server's database, opened read-only after the server stopped:
	// every seal verifies with the key of the device that made it.
	srv.stop()
	db := openReadOnly(t, dialect, dataDir, dsn)
	verifySeals(t, db, signed, 3, 1)
	verifySeals(t, db, refused, 2, 1)
	closeOf := func(packetID string) syncproto.CloseRecord {
		var bodies []string
		query(t, db, &bodies, "SELECT body FROM visit_closes WHERE packet_id = ?", packetID)
		var rec syncproto.CloseRecord
		if len(bodies) != 1 || json.Unmarshal([]byte(bodies[0]), &rec) != nil {
			t.Fatalf("packet %s: closes %q", packetID, bodies)
		}
		return rec
	}
	sc := closeOf(signed)
	if sc.Close.Outcome != syncproto.OutcomeSigned || len(sc.Close.Signatures) != 1 ||
		sc.Close.Signatures[0].Role != syncproto.SignerRepresentative || sc.Close.Signatures[0].Name != "苏秀" ||
		sc.Close.Signatures[0].Image.SHA256 != sha256Hex(files["signature.png"]) || sc.Close.Stamp == nil ||
		sc.Close.Stamp.SHA256 != sha256Hex(files["stamp.jpg"]) || len(sc.Covers) != 2 ||
		sc.Covers[0].Token() != token || sc.Covers[1].Token() != marketToken {
		t.Errorf("signed packet's close: %+v", sc)
	}
	rc := closeOf(refused)
	if rc.Close.Outcome != syncproto.OutcomeRefused || rc.Close.Note != refusalNote || len(rc.Close.Signatures) != 2 ||
		rc.Covers[0].Token() != refusedCulture || rc.Covers[1].Token() != refusedMarket {
		t.Errorf("refused packet's close: %+v", rc)
	}
	for i, sig := range rc.Close.Signatures {
		wantID, wantFile := cultureID, "a.png"
		if i == 1 {
			wantID, wantFile = marketID, "b.png"
		}
		if sig.Role != syncproto.SignerInspector || fmt.Sprint(sig.InspectorID) != wantID || sig.Image.SHA256 != sha256Hex(files[wantFile]) {
			t.Errorf("refused record's signature %d: %+v, want inspector %s with %s", i, sig, wantID, wantFile)
		}
	}
	answers := serverAnswers(t, db, signed)
	if a := answers["market/"+market[0]]; a.Result != syncproto.ResultNonCompliant || a.Note != "营业执照未公示" ||
		len(a.Photos) != 1 || a.Photos[0].SHA256 != sha256Hex(files["photo.jpg"]) || a.Photos[0].ContentType != "image/jpeg" {
		t.Errorf("server answer market/%s: %+v", market[0], a)
	}
	if a := answers["market/"+market[1]]; a.Result != syncproto.ResultNonCompliant {
		t.Errorf("server answer market/%s after the correction: %+v", market[1], a)
	}
	if len(answers) != len(culture)+len(market) {
		t.Errorf("server has %d answers on the signed packet, want %d", len(answers), len(culture)+len(market))
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
	var rejected int64
	query(t, db, &rejected, "SELECT count(*) FROM mutations WHERE status = 'rejected'")
	if rejected != 0 {
		t.Errorf("server mutations: %d rejected, want 0", rejected)
	}
}

var tokenLine = regexp.MustCompile(`(?m)^token for the teammate who captures the close: (sc1:\S+)$`)

// sealToken reads the token `seal` prints.
func sealToken(t *testing.T, out string) string {
	t.Helper()
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("seal printed no token:\n%s", out)
	}
	return m[1]
}

func containsPrefix(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// verifySeals checks that the server holds the packet's sealed sections and
// closes: each body hashes to its hash, and each signature verifies with the
// public key of the device that sealed it.
func verifySeals(t *testing.T, db *gorm.DB, packetID string, sections, closes int) {
	t.Helper()
	type row struct {
		Hash      string
		Signature []byte
		Body      string
		PublicKey []byte
	}
	var ss, cs []row
	query(t, db, &ss, `SELECT s.hash, s.signature, s.body, d.public_key FROM section_seals s JOIN devices d ON d.id = s.device_id WHERE s.packet_id = ?`, packetID)
	query(t, db, &cs, `SELECT c.hash, c.signature, c.body, d.public_key FROM visit_closes c JOIN devices d ON d.id = c.device_id WHERE c.packet_id = ?`, packetID)
	if len(ss) != sections || len(cs) != closes {
		t.Fatalf("packet %s: %d sealed sections and %d closes on the server, want %d and %d", packetID, len(ss), len(cs), sections, closes)
	}
	for _, r := range ss {
		var rec syncproto.SectionRecord
		if err := json.Unmarshal([]byte(r.Body), &rec); err != nil {
			t.Fatal(err)
		}
		if h, _ := syncproto.CanonicalHash(&rec); h != r.Hash || !ed25519.Verify(r.PublicKey, syncproto.SectionSealMessage(r.Hash), r.Signature) {
			t.Errorf("packet %s: the %s section v%d does not verify with its device's key", packetID, rec.Department, rec.Version)
		}
	}
	for _, r := range cs {
		var rec syncproto.CloseRecord
		if err := json.Unmarshal([]byte(r.Body), &rec); err != nil {
			t.Fatal(err)
		}
		if h, _ := syncproto.CanonicalHash(&rec); h != r.Hash || !ed25519.Verify(r.PublicKey, syncproto.CloseSealMessage(r.Hash), r.Signature) {
			t.Errorf("packet %s: the close does not verify with its device's key", packetID)
		}
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
