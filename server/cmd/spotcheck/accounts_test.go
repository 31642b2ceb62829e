package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/auth"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// runCommand runs spotcheck in-process with env and stdin; it returns the
// exit code, stdout and stderr.
func runCommand(t *testing.T, env map[string]string, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, stdin, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// accountsEnv returns the environment of a fresh data directory (and a fresh
// PostgreSQL database for that dialect).
func accountsEnv(t *testing.T, dialect string) (map[string]string, app.Config) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error"}
	cfg := app.Config{DataDir: dir}
	if dialect == "postgres" {
		env["SPOTCHECK_DATABASE_URL"] = storetest.NewDSN(t, dialect)
		cfg.DatabaseURL = env["SPOTCHECK_DATABASE_URL"]
	}
	return env, cfg
}

// openApp opens the app the commands use, closed at the end of the test.
func openApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func canLogin(t *testing.T, cfg app.Config, username, password string) *server.User {
	t.Helper()
	a := openApp(t, cfg)
	defer a.Close()
	s, err := a.Auth.Login(context.Background(), server.LoginRequest{Username: username, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return s.User
}

func TestUserAddCommand(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, cfg := accountsEnv(t, dialect)
			ctx := app.SystemContext(context.Background())
			a := openApp(t, cfg)
			dept := &server.Department{Code: "culture", Name: "市文化广电旅游局"}
			if err := a.Departments.CreateDepartment(ctx, dept); err != nil {
				t.Fatal(err)
			}
			in := &server.Inspector{
				DepartmentID: dept.ID, Name: "执法员甲", CertificateNumber: "CULTURE-0001",
				CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
				Status: server.InspectorActive,
			}
			haveInspectors := a.Inspectors != nil
			if haveInspectors {
				if err := a.Inspectors.CreateInspector(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			a.Close()

			t.Run("PipedPassword", func(t *testing.T) {
				code, stdout, stderr := runCommand(t, env, strings.NewReader("piped-password-123\nsecond line ignored\n"),
					"user", "add", "--username", "root", "--role", "platform_admin", "--display-name", "平台管理员")
				if code != 0 {
					t.Fatalf("exit %d: %s%s", code, stdout, stderr)
				}
				if strings.Contains(stdout, "piped-password-123") || strings.Contains(stdout, "one-time password") {
					t.Fatalf("printed a password it was given: %s", stdout)
				}
				// A password the operator chose is not a one-time one.
				if u := canLogin(t, cfg, "root", "piped-password-123"); u.Role != server.RolePlatformAdmin || u.DisplayName != "平台管理员" || u.PasswordChangeRequired {
					t.Fatalf("user %+v", u)
				}
			})
			t.Run("GeneratedPassword", func(t *testing.T) {
				// Flags after the subcommand's positional word work too.
				code, stdout, stderr := runCommand(t, env, strings.NewReader(""),
					"user", "add", "--role", "department_admin", "--department", "culture", "--username", "admin-a")
				if code != 0 {
					t.Fatalf("exit %d: %s%s", code, stdout, stderr)
				}
				m := regexp.MustCompile(`one-time password, shown only now \(change it at the first login\): (\S+)`).FindStringSubmatch(stdout)
				if m == nil || len(m[1]) < auth.MinPasswordLen {
					t.Fatalf("no generated password in: %s", stdout)
				}
				// A generated password is one-time for real: it must be changed.
				if u := canLogin(t, cfg, "admin-a", m[1]); u.DepartmentID == nil || *u.DepartmentID != dept.ID || !u.PasswordChangeRequired {
					t.Fatalf("user %+v", u)
				}
			})
			t.Run("ResetPassword", func(t *testing.T) {
				code, stdout, stderr := runCommand(t, env, nil, "user", "reset-password", "--username", " ROOT ")
				if code != 0 {
					t.Fatalf("exit %d: %s%s", code, stdout, stderr)
				}
				m := regexp.MustCompile(`one-time password, shown only now \(change it at the first login\): (\S+)`).FindStringSubmatch(stdout)
				if m == nil || len(m[1]) < auth.MinPasswordLen {
					t.Fatalf("no generated password in: %s", stdout)
				}
				if u := canLogin(t, cfg, "root", m[1]); !u.PasswordChangeRequired {
					t.Fatalf("user %+v", u)
				}
				a := openApp(t, cfg)
				defer a.Close()
				if _, err := a.Auth.Login(context.Background(), server.LoginRequest{Username: "root", Password: "piped-password-123"}); server.ErrorCode(err) != server.EUNAUTHORIZED {
					t.Fatalf("the old password after a reset: %v", err)
				}
				if code, _, stderr := runCommand(t, env, nil, "user", "reset-password", "--username", "nobody"); code != 1 || !strings.Contains(stderr, "not found") {
					t.Fatalf("unknown user: exit %d: %s", code, stderr)
				}
			})
			t.Run("Inspector", func(t *testing.T) {
				code, stdout, stderr := runCommand(t, env, strings.NewReader("inspector-password\n"),
					"user", "add", "--username", "insp-1", "--role", "inspector", "--inspector", "CULTURE-0001")
				if !haveInspectors {
					if code != 1 || !strings.Contains(stderr, "inspector directory is not available") {
						t.Fatalf("without an inspector directory: exit %d: %s", code, stderr)
					}
					return
				}
				if code != 0 {
					t.Fatalf("exit %d: %s%s", code, stdout, stderr)
				}
				// The department came from the inspector.
				u := canLogin(t, cfg, "insp-1", "inspector-password")
				if u.InspectorID == nil || *u.InspectorID != in.ID || u.DepartmentID == nil || *u.DepartmentID != dept.ID {
					t.Fatalf("user %+v", u)
				}
			})
			for _, tc := range []struct {
				name  string
				args  []string
				stdin string
				code  int
				err   string
			}{
				{"ErrNoUsername", []string{"--role", "platform_admin"}, "", 2, "--username"},
				{"ErrBadRole", []string{"--username", "x", "--role", "king"}, "", 2, "--role"},
				{"ErrExtraArgs", []string{"--username", "x", "--role", "platform_admin", "stray"}, "", 2, "unexpected"},
				{"ErrUnknownDepartment", []string{"--username", "x", "--role", "department_admin", "--department", "nowhere"}, "", 1, "department not found"},
				{"ErrUnknownInspector", []string{"--username", "x", "--role", "inspector", "--inspector", "NO-SUCH"}, "", 1, "NO-SUCH"},
				{"ErrTaken", []string{"--username", "root", "--role", "platform_admin"}, "", 1, "already exists"},
				{"ErrShortPassword", []string{"--username", "y", "--role", "platform_admin"}, "short\n", 1, "at least"},
				{"ErrNoDepartment", []string{"--username", "z", "--role", "lead_coordinator"}, "", 1, "needs a department"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					code, stdout, stderr := runCommand(t, env, strings.NewReader(tc.stdin), append([]string{"user", "add"}, tc.args...)...)
					if code != tc.code || !strings.Contains(stderr, tc.err) {
						t.Fatalf("exit %d, want %d with %q: %s%s", code, tc.code, tc.err, stdout, stderr)
					}
				})
			}
			if code, _, _ := runCommand(t, env, nil, "user"); code != 2 {
				t.Fatalf("'user' alone: exit %d, want 2", code)
			}
		})
	}
}

func TestKeysCommand(t *testing.T) {
	env, cfg := accountsEnv(t, "sqlite")
	keysDir := filepath.Join(cfg.DataDir, "keys")
	keys := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCommand(t, env, nil, append([]string{"keys"}, args...)...)
		if code != want {
			t.Fatalf("keys %v: exit %d, want %d: %s%s", args, code, want, stdout, stderr)
		}
		return stdout + stderr
	}
	keys(t, 1, "list") // no keys before the first start

	// The first start makes a key; a token signed by it...
	a := openApp(t, cfg)
	first := a.Keys.Signing().ID
	tok, _, err := auth.NewIssuer(a.Keys).IssueAccess(1, nil, "s")
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	verify := func() error {
		a := openApp(t, cfg) // a restart
		defer a.Close()
		_, err := auth.NewIssuer(a.Keys).VerifyAccess(tok)
		return err
	}

	out := keys(t, 0, "list")
	if !regexp.MustCompile(first + `\s+\S+\s+signs and verifies`).MatchString(out) {
		t.Fatalf("list:\n%s", out)
	}
	out = keys(t, 0, "rotate")
	m := regexp.MustCompile(`new signing key ([0-9a-f]{16})`).FindStringSubmatch(out)
	if m == nil || m[1] == first {
		t.Fatalf("rotate:\n%s", out)
	}
	second := m[1]
	out = keys(t, 0, "list", "--keys-dir", keysDir)
	if !regexp.MustCompile(first+`\s+\S+\s+verifies\n`).MatchString(out) || !regexp.MustCompile(second+`\s+\S+\s+signs and verifies`).MatchString(out) {
		t.Fatalf("list after rotate:\n%s", out)
	}
	for _, k := range []string{first, second} {
		info, err := os.Stat(filepath.Join(keysDir, "ed25519-"+k+".pem"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("key file %s: %v %v", k, info, err)
		}
	}
	// After a restart the new key signs and the old token still verifies.
	a = openApp(t, cfg)
	if a.Keys.Signing().ID != second {
		t.Fatalf("after restart %s signs, want %s", a.Keys.Signing().ID, second)
	}
	a.Close()
	if err := verify(); err != nil {
		t.Fatalf("token of the rotated-out key: %v", err)
	}

	keys(t, 1, "retire", second) // the signing key cannot go
	keys(t, 1, "retire", "0000000000000000")
	keys(t, 0, "retire", first)
	if err := verify(); err == nil {
		t.Fatal("token of a retired key still verifies")
	}
	out = keys(t, 0, "list")
	if strings.Contains(out, first) {
		t.Fatalf("retired key still listed:\n%s", out)
	}
	keys(t, 2)
	keys(t, 2, "burn")
	keys(t, 2, "retire")
}
