// Package storetest opens real databases for tests: a SQLite file in a
// temporary directory, and a fresh PostgreSQL database when
// SPOTCHECK_TEST_POSTGRES_DSN names a server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for creating test databases

	"github.com/spotcheck/spotcheck/server/store"
)

// PostgresDSNEnv names the environment variable with the PostgreSQL server
// for tests, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresDSNEnv = "SPOTCHECK_TEST_POSTGRES_DSN"

// Now is the fixed clock test databases start with.
var Now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

var skipOnce sync.Once

// RunDialects runs fn on SQLite, and on PostgreSQL when SPOTCHECK_TEST_POSTGRES_DSN
// is set; without it, it says once that the PostgreSQL half was skipped and why.
func RunDialects(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, MustOpenDB(t, store.SQLite)) })
	if os.Getenv(PostgresDSNEnv) == "" {
		skipOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "storetest: PostgreSQL tests skipped: %s is not set\n", PostgresDSNEnv)
		})
		t.Run("postgres", func(t *testing.T) {
			t.Skipf("PostgreSQL tests skipped: set %s to run them", PostgresDSNEnv)
		})
		return
	}
	t.Run("postgres", func(t *testing.T) { fn(t, MustOpenDB(t, store.Postgres)) })
}

// Dialects returns the dialects the tests can reach.
func Dialects() []string {
	if os.Getenv(PostgresDSNEnv) == "" {
		return []string{store.SQLite}
	}
	return []string{store.SQLite, store.Postgres}
}

// MustOpenDB opens a fresh, migrated database of the dialect with its clock
// fixed at Now, closed (and for PostgreSQL dropped) when the test ends.
func MustOpenDB(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	dsn := NewDSN(tb, dialect)
	db, err := store.Open(dialect, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() }) // runs before the database drop registered by NewDSN
	db.Now = func() time.Time { return Now }
	if err := db.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatal(err)
	}
	return db
}

// NewDSN returns the DSN of a new empty database of the dialect: a file in a
// temporary directory for SQLite, a new database for PostgreSQL, dropped at cleanup.
func NewDSN(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case store.SQLite:
		return filepath.Join(tb.TempDir(), "test.db")
	case store.Postgres:
		base := os.Getenv(PostgresDSNEnv)
		if base == "" {
			tb.Skipf("PostgreSQL tests skipped: set %s to run them", PostgresDSNEnv)
		}
		// Unquoted names fold to lower case, so the name is lower case throughout.
		var b [6]byte
		rand.Read(b[:])
		name := "test_" + strings.ToLower(hex.EncodeToString(b[:]))
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			tb.Fatalf("create test database: %v", err)
		}
		tb.Cleanup(func() {
			admin, err := sql.Open("pgx", base)
			if err != nil {
				tb.Error(err)
				return
			}
			defer admin.Close()
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
				tb.Errorf("drop test database: %v", err)
			}
		})
		return withDatabase(tb, base, name)
	}
	tb.Fatalf("unknown dialect %q", dialect)
	return ""
}

// withDatabase returns dsn with its database name replaced.
func withDatabase(tb testing.TB, dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		// key=value form
		return dsn + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}
