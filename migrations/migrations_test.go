package migrations_test

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/spotcheck/spotcheck/migrations"
)

// TestDialectParity checks both dialects have the same migration files, so a
// change made for one is never forgotten for the other.
func TestDialectParity(t *testing.T) {
	pg, err := fs.Glob(migrations.FS, "postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := fs.Glob(migrations.FS, "sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	names := func(paths []string, dir string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = p[len(dir)+1:]
		}
		return out
	}
	if len(pg) == 0 {
		t.Fatal("no migrations found")
	}
	if a, b := names(pg, "postgres"), names(lite, "sqlite"); !slices.Equal(a, b) {
		t.Fatalf("postgres has %v, sqlite has %v", a, b)
	}
}
