package synctest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// runHelper is the body of a re-executed test binary.
func runHelper(mode string) int {
	switch mode {
	case "writer":
		return fieldWriter()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// fieldWriter answers items in a loop on an SDK store, printing "ok K" after
// each write returned, until it is killed.
func fieldWriter() int {
	c, err := sdk.Open(os.Getenv("SYNCTEST_DIR"), sdk.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k, _ := strconv.Atoi(os.Getenv("SYNCTEST_START"))
	packet, dept := os.Getenv("SYNCTEST_PACKET"), os.Getenv("SYNCTEST_DEPT")
	items := strings.Split(os.Getenv("SYNCTEST_ITEMS"), ",")
	out := bufio.NewWriterSize(os.Stdout, 64)
	for ; ; k++ {
		_, err := c.Answer(context.Background(), packet, sdk.AnswerInput{Department: dept, ItemCode: items[k%len(items)],
			Result: syncproto.ResultNonCompliant, Note: fmt.Sprintf("w%d", k)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(out, "ok %d\n", k)
		out.Flush()
	}
}

// The field app killed with SIGKILL at random moments while it writes, many
// times: the store passes integrity_check, every visible pending answer has
// its outbox entry, no outbox entry is orphaned, the last completed write is
// there, and everything then syncs exactly once.
func TestFaultClientKilledMidWrite(t *testing.T) {
	db := storetest.MustOpenDB(t, store.SQLite)
	w := newWorld(t, db)
	dir := t.TempDir()
	c, err := sdk.Open(dir, sdk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Enrol(ctx, w.h.URL, w.users[0], apptest.Password, "tablet"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	deviceID := c.DeviceID()
	c.Close()

	runs := 60
	if testing.Short() {
		runs = 15
	}
	r := rand.New(rand.NewPCG(42, 1))
	next, kills := 0, 0
	for run := range runs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", "SYNCTEST_DIR="+dir, "SYNCTEST_START="+strconv.Itoa(next),
			"SYNCTEST_PACKET="+w.packetID, "SYNCTEST_DEPT="+w.dept, "SYNCTEST_ITEMS="+strings.Join(w.items, ","))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		last := -1
		var mu sync.Mutex
		started := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			first := true
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ok ")); err == nil {
					mu.Lock()
					last = n
					mu.Unlock()
					if first {
						close(started)
						first = false
					}
				}
			}
			if first {
				close(started)
			}
		}()
		<-started // writing has begun
		time.Sleep(time.Duration(r.IntN(40_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			kills++
		}
		<-done
		werr := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: the writer ended by itself (%v): %s", run, werr, stderr.String())
		}
		mu.Lock()
		completed := last
		mu.Unlock()
		next = checkDeviceStore(t, dir, run, completed)
	}
	fault(kills)

	// Everything written survives to the server, once.
	c, err = sdk.Open(dir, sdk.Config{MaxAttempts: 3, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := openLocal(t, dir)
	d := &device{t: t, w: w, c: c, dir: dir, local: local, id: deviceID, intent: map[uint64]intent{}}
	d.note()
	if len(d.intent) != next {
		t.Fatalf("%d queued, want %d", len(d.intent), next)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	d.verify()
	t.Logf("%d kills, %d writes survived", kills, next)
}

func openLocal(t testing.TB, dir string) *gorm.DB {
	t.Helper()
	g, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "field.db")+"?_busy_timeout=10000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sq, _ := g.DB()
	sq.SetMaxOpenConns(1)
	t.Cleanup(func() { sq.Close() })
	return g
}

// checkDeviceStore checks a killed writer's store and returns how many
// writes it holds (the next write number).
func checkDeviceStore(t *testing.T, dir string, run, completed int) int {
	t.Helper()
	g := openLocal(t, dir)
	defer func() { sq, _ := g.DB(); sq.Close() }()
	checked.Add(1)
	var ic []string
	if err := g.Raw(`PRAGMA integrity_check`).Scan(&ic).Error; err != nil || len(ic) != 1 || ic[0] != "ok" {
		t.Fatalf("run %d: integrity_check %v %v", run, ic, err)
	}
	var n int64
	g.Raw(`SELECT COUNT(*) FROM answers a LEFT JOIN outbox o ON o.seq = a.pending_seq WHERE a.pending_seq IS NOT NULL AND o.seq IS NULL`).Scan(&n)
	if n != 0 {
		lose(t, "run %d: %d visible answers without their outbox entry", run, n)
	}
	var rows []struct {
		Seq  int64  `gorm:"column:seq"`
		Body string `gorm:"column:body"`
	}
	g.Raw(`SELECT seq, body FROM outbox ORDER BY seq`).Scan(&rows)
	notes := map[string]bool{}
	for _, r := range rows {
		var m syncproto.Mutation
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil || m.Answer == nil {
			t.Fatalf("run %d: outbox %d: %v", run, r.Seq, err)
		}
		if notes[m.Answer.Note] {
			dup(t, "run %d: write %s queued twice", run, m.Answer.Note)
		}
		notes[m.Answer.Note] = true
		var pending int64
		g.Raw(`SELECT COALESCE(MAX(pending_seq), -1) FROM answers WHERE packet_id = ? AND department = ? AND item_code = ?`,
			m.PacketID, m.Answer.Department, m.Answer.ItemCode).Scan(&pending)
		if pending < r.Seq {
			t.Errorf("run %d: outbox %d is orphaned: its item shows pending seq %d", run, r.Seq, pending)
		}
	}
	if completed >= 0 && !notes[fmt.Sprintf("w%d", completed)] {
		lose(t, "run %d: the last completed write w%d is missing", run, completed)
	}
	if len(rows) != completed+1 && len(rows) != completed+2 {
		lose(t, "run %d: %d writes queued, %d completed", run, len(rows), completed+1)
	}
	return len(rows)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds ./server/cmd/spotcheck once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synctest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "spotcheck")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/spotcheck/spotcheck/server/cmd/spotcheck").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// serverProc is `spotcheck serve` as a subprocess on a fixed address.
type serverProc struct {
	t       *testing.T
	bin     string
	args    []string
	addr    string
	cmd     *exec.Cmd
	stopped chan struct{}
	log     *strings.Builder
}

func (s *serverProc) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, append([]string{"serve", "--addr", s.addr, "--log-level", "warn"}, s.args...)...)
	s.log = &strings.Builder{}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.stopped = make(chan struct{})
	cmd, stopped := s.cmd, s.stopped
	go func() { cmd.Wait(); close(stopped) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + syncproto.PathMe)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-stopped:
			s.t.Fatalf("the server exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the server did not come up: %v: %s", err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *serverProc) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.stopped
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The server process killed with SIGKILL during a device's sync, at random
// moments and right after it committed a push whose answer is still on the
// way, then restarted on the same data: the device syncs on and every
// mutation is on the server exactly once.
func TestFaultServerKilled(t *testing.T) {
	bin := serverBinary(t)
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dataDir := t.TempDir()
			var args []string
			dsn := filepath.Join(dataDir, "spotcheck.db")
			if dialect == store.Postgres {
				dsn = storetest.NewDSN(t, store.Postgres)
				args = []string{"--database-url", dsn}
			}
			args = append(args, "--data-dir", dataDir)
			// Fixtures and packets through an in-process server on the same database.
			db, err := store.Open(dialect, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, db)
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			w.h.App.API.Shutdown(sctx)
			cancel()

			srv := &serverProc{t: t, bin: bin, args: args, addr: freeAddr(t)}
			srv.start()
			t.Cleanup(func() { srv.kill() })
			w.h.URL = "http://" + srv.addr // raw requests go to the subprocess
			d := newDevice(t, w, w.users[0], deviceOpts{upstream: srv.addr})
			r := rand.New(rand.NewPCG(9, uint64(len(dialect))))
			rounds := 12
			kills := 0
			for round := range rounds {
				d.work(6)
				if round%2 == 0 {
					// Random moment.
					errc := make(chan error, 1)
					go func() { errc <- d.c.Sync(context.Background()) }()
					time.Sleep(time.Duration(r.IntN(15_000)) * time.Microsecond)
					srv.kill()
					kills++
					<-errc
				} else {
					// Between commit and response: hold the push answer in the
					// link, kill the server once it has answered.
					d.tr.setTrigger(once(isPush, faultnet.Faults{Down: faultnet.DirFaults{Latency: 3 * time.Second}}))
					errc := make(chan error, 1)
					n0 := len(d.proxy.Conns())
					go func() { errc <- d.c.Sync(context.Background()) }()
					deadline := time.Now().Add(10 * time.Second)
					for time.Now().Before(deadline) {
						cs := d.proxy.Conns()
						if len(cs) > n0 && cs[n0].DownRead > 0 {
							break
						}
						time.Sleep(time.Millisecond)
					}
					srv.kill()
					d.proxy.CutAll(faultnet.CutReset)
					kills++
					<-errc
					d.tr.setTrigger(nil)
				}
				srv.start()
				d.syncUntil()
				d.verify()
			}
			fault(kills)
			verifyBlobs(t, db, w.h.App.Blobs)
			t.Logf("%d server kills", kills)
		})
	}
}
