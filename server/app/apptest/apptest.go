// Package apptest runs a whole spotcheck over real HTTP on a loopback port,
// on a real SQLite file or PostgreSQL database, for end-to-end tests.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Password is every fixture user's password.
const Password = "correct-horse-battery"

// MetricsToken is the bearer token the harness's /metrics requires:
// h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil).
const MetricsToken = "harness-metrics-token"

// Harness is a running server plus fixtures: two departments, A and B, each
// with an admin, a lead coordinator and two inspectors with accounts.
type Harness struct {
	App *app.App
	URL string
	// clock is the server's time (nanoseconds since the epoch); tests read it
	// with Now and move it with Advance while the server runs.
	clock atomic.Int64

	DeptA, DeptB *server.Department
	Users        map[string]*server.User      // by username
	Inspectors   map[string]*server.Inspector // by username of the inspector account

	// counters that keep what IssueCampaign, AddCafe and AddInspector
	// create unique within the harness
	campaigns, cafes, inspectors int
}

// Run runs fn once per dialect (see storetest.RunDialects) with a fresh harness.
func Run(t *testing.T, fn func(t *testing.T, h *Harness)) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) { fn(t, New(t, db)) })
}

// New starts a server on db and creates the fixtures.
func New(t testing.TB, db *store.DB) *Harness {
	t.Helper()
	h := &Harness{Users: map[string]*server.User{}, Inspectors: map[string]*server.Inspector{}}
	h.clock.Store(storetest.Now.UnixNano())
	db.Now = h.Now
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{DataDir: dir, KeysDir: filepath.Join(dir, "keys")}, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.App = a
	a.API.MetricsToken = MetricsToken
	if err := a.API.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go a.API.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.API.Shutdown(ctx)
	})
	h.URL = "http://" + a.API.Addr().String()
	h.fixtures(t)
	return h
}

// Advance moves the server clock forward.
func (h *Harness) Advance(d time.Duration) { h.clock.Add(int64(d)) }

// SourcesAvailableAt is a campaign's sources_available_at for tests: the
// next whole second of the server clock, so a commit now comes before it and
// a draw after Advance(time.Second) does not.
func (h *Harness) SourcesAvailableAt() *time.Time {
	t := h.Now().Add(time.Second).Truncate(time.Second)
	return &t
}

// Now returns the server's time.
func (h *Harness) Now() time.Time { return time.Unix(0, h.clock.Load()).UTC() }

func (h *Harness) fixtures(t testing.TB) {
	ctx := app.SystemContext(context.Background())
	var err error
	h.DeptA = &server.Department{Code: "culture", Name: "市文化广电旅游局"}
	h.DeptB = &server.Department{Code: "market", Name: "市市场监督管理局"}
	for _, d := range []*server.Department{h.DeptA, h.DeptB} {
		if err = h.App.Departments.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	h.AddUser(t, &server.User{Username: "root", Role: server.RolePlatformAdmin})
	for _, d := range []*server.Department{h.DeptA, h.DeptB} {
		tag := "a"
		if d == h.DeptB {
			tag = "b"
		}
		h.AddUser(t, &server.User{Username: "admin-" + tag, Role: server.RoleDepartmentAdmin, DepartmentID: &d.ID})
		h.AddUser(t, &server.User{Username: "coord-" + tag, Role: server.RoleLeadCoordinator, DepartmentID: &d.ID})
		for i := 1; i <= 2; i++ {
			name := fmt.Sprintf("insp-%s%d", tag, i)
			in := &server.Inspector{
				DepartmentID: d.ID, Name: fmt.Sprintf("执法员%s%d", strings.ToUpper(tag), i),
				CertificateNumber:    fmt.Sprintf("%s-%04d", strings.ToUpper(d.Code), i),
				CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
				Domains: []string{"文化市场"}, Phone: fmt.Sprintf("1390000%s%03d", map[string]string{"a": "1", "b": "2"}[tag], i),
				Status: server.InspectorActive,
			}
			if h.App.Inspectors != nil {
				if err := h.App.Inspectors.CreateInspector(ctx, in); err != nil {
					t.Fatal(err)
				}
				h.Inspectors[name] = in
				h.AddUser(t, &server.User{Username: name, Role: server.RoleInspector, DepartmentID: &d.ID, InspectorID: &in.ID})
			}
		}
	}
}

// AddUser creates u with the fixture Password.
func (h *Harness) AddUser(t testing.TB, u *server.User) *server.User {
	t.Helper()
	if err := h.App.Users.CreateUserUnchecked(context.Background(), u, Password, false); err != nil {
		t.Fatalf("add user %s: %v", u.Username, err)
	}
	h.Users[u.Username] = u
	return u
}

// Login signs in as username and returns the session.
func (h *Harness) Login(t testing.TB, username string) *syncproto.Session {
	t.Helper()
	var s syncproto.Session
	h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: username, Password: Password}, http.StatusOK, &s)
	return &s
}

// Token signs in as username and returns the access token.
func (h *Harness) Token(t testing.TB, username string) string {
	t.Helper()
	return h.Login(t, username).AccessToken
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error decodes the body as a syncproto.Error.
func (r *Response) Error() syncproto.Error {
	var e syncproto.Error
	_ = json.Unmarshal(r.Body, &e)
	return e
}

// Do sends a request with a bearer token (if not empty). A body that is a
// []byte or string is sent as is; anything else as JSON.
func (h *Harness) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.Send(t, req)
}

// Send sends req and reads the whole response.
func (h *Harness) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustDo is Do that fails the test unless the status is want, and decodes the
// body into out when out is not nil.
func (h *Harness) MustDo(t testing.TB, method, path, token string, body any, want int, out any) *Response {
	t.Helper()
	r := h.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s %s: decode %T: %v: %s", method, path, out, err, r.Body)
		}
	}
	return r
}
