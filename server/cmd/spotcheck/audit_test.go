package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// spotcheck audit verify walks the chain the services wrote, on either
// dialect, prints its head, and after an intruder edits or removes a row
// names the first broken link and exits 1; --head catches a chain cut
// short. It never creates a database that is not there.
func TestAuditVerifyCommand(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, cfg := accountsEnv(t, dialect)
			a := openApp(t, cfg)
			sys := app.SystemContext(context.Background())
			for _, code := range []string{"culture", "market", "health"} {
				if err := a.Departments.CreateDepartment(sys, &server.Department{Code: code, Name: "部门" + code}); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Users.CreateUserUnchecked(sys, &server.User{Username: "root", Role: server.RolePlatformAdmin}, "a-long-password", true); err != nil {
				t.Fatal(err)
			}
			a.Close()

			code, out, errOut := runCommand(t, env, nil, "audit", "verify")
			if code != 0 || !strings.Contains(out, "audit chain OK: 4 events") {
				t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
			}
			code, head, errOut := runCommand(t, env, nil, "audit", "head")
			head = strings.TrimSpace(head)
			if code != 0 || !strings.HasPrefix(head, "4:") || !strings.Contains(out, "head "+head) {
				t.Fatalf("head: exit %d %q (verify said %q) %s", code, head, out, errOut)
			}

			raw := rawDB(t, dialect, cfg)
			exec := func(q string) {
				t.Helper()
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if dialect == "postgres" {
				exec("ALTER TABLE audit_events DISABLE TRIGGER USER")
			} else {
				exec("DROP TRIGGER audit_events_no_update")
				exec("DROP TRIGGER audit_events_no_delete")
			}
			exec(`UPDATE audit_events SET payload = '{"code":"culture","name":"改名"}' WHERE seq = 2`)
			code, out, errOut = runCommand(t, env, nil, "audit", "verify")
			if code != 1 || !strings.Contains(out, "first broken link: index 1, seq 2, hash") || !strings.Contains(errOut, "broken at index 1") {
				t.Fatalf("edited row: exit %d\n%s%s", code, out, errOut)
			}
			exec("DELETE FROM audit_events WHERE seq = 2")
			code, out, _ = runCommand(t, env, nil, "audit", "verify")
			if code != 1 || !strings.Contains(out, "first broken link: index 1, seq 3, seq") {
				t.Fatalf("deleted row: exit %d\n%s", code, out)
			}
			exec("DELETE FROM audit_events WHERE seq > 1")
			if code, out, _ = runCommand(t, env, nil, "audit", "verify"); code != 0 {
				t.Fatalf("a chain of one whole event: exit %d\n%s", code, out)
			}
			code, out, _ = runCommand(t, env, nil, "audit", "verify", "--head", head)
			if code != 1 || !strings.Contains(out, "first broken link: index 1, seq 0, head") {
				t.Fatalf("cut short, against the earlier head: exit %d\n%s", code, out)
			}
			if code, _, errOut = runCommand(t, env, nil, "audit", "verify", "--head", "4:xyz"); code != 2 {
				t.Fatalf("bad --head: exit %d %s", code, errOut)
			}
		})
	}
	t.Run("NoDatabase", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "none")
		code, _, errOut := runCommand(t, map[string]string{"SPOTCHECK_DATA_DIR": dir}, nil, "audit", "verify")
		if code != 1 || !strings.Contains(errOut, "no database") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("verify created %s: %v", dir, err)
		}
	})
}

// rawDB opens the app's database with database/sql, outside the store.
func rawDB(t *testing.T, dialect string, cfg app.Config) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite3", filepath.Join(cfg.DataDir, "spotcheck.db")
	if dialect == "postgres" {
		driver, dsn = "pgx", cfg.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(fmt.Errorf("open %s: %w", driver, err))
	}
	t.Cleanup(func() { db.Close() })
	return db
}
