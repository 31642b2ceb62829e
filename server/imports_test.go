package server_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportBoundaries keeps imports pointing inward: the domain and the wire
// protocol use no framework, and each framework stays in its one adapter.
func TestImportBoundaries(t *testing.T) {
	const module = "github.com/spotcheck/spotcheck"
	// Where each third-party import may appear (package directories, relative to the module root).
	confined := map[string][]string{
		"github.com/labstack/echo":  {"server/api", "server/web"},   // the JSON API and the pages beside it
		"gorm.io/":                  {"server/store", "client-sdk"}, // the SDK keeps the device's own SQLite store
		"github.com/golang-jwt/jwt": {"server/auth"},
		"github.com/6tail/lunar-go": {"server/calendar"},
	}
	// Packages that may import nothing outside the standard library but these.
	pure := map[string][]string{
		"syncproto":       {},
		"server":          {module + "/syncproto"},
		"server/draw":     {},
		"server/calendar": {"github.com/6tail/lunar-go/HolidayUtil"}, // the State Council's holiday notices, as data
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, imp := range pkg.Imports { // non-test files only
			for prefix, dirs := range confined {
				if strings.HasPrefix(imp, prefix) && !underAny(rel, dirs) {
					t.Errorf("%s imports %s, which belongs only in %v", rel, imp, dirs)
				}
			}
			if allowed, ok := pure[rel]; ok && !isStdlib(imp) && !contains(allowed, imp) {
				t.Errorf("%s imports %s; it may use only the standard library and %v", rel, imp, allowed)
			}
			if strings.HasPrefix(rel, "client-sdk") && strings.HasPrefix(imp, module+"/server") {
				t.Errorf("%s imports %s: the field SDK never imports the server", rel, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func underAny(rel string, dirs []string) bool {
	for _, d := range dirs {
		if rel == d || strings.HasPrefix(rel, d+"/") {
			return true
		}
	}
	return false
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
