package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Replicas starting together on one keys directory end with one refresh
// secret, not one each.
func TestLoadOrCreateSecret_OneSecretForConcurrentStarts(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "keys", "refresh.secret")
		const n = 8
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			secrets = make([][]byte, n)
			errs    = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				secrets[i], errs[i] = loadOrCreateSecret(path)
			})
		}
		close(start)
		wg.Wait()
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, start %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(secrets[i], onDisk) {
				t.Fatalf("round %d: start %d uses a secret other than the one on disk", round, i)
			}
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("refresh.secret: %v, mode %o", err, st.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".refresh.secret-*")); len(left) > 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
}

// The SQLite database is created 0600 and the data folders 0700; files and
// folders an older version left open to others are tightened on start.
func TestOpen_PrivateDataFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for path, want := range map[string]os.FileMode{
			dir: 0o700, filepath.Join(dir, "keys"): 0o700, filepath.Join(dir, "uploads"): 0o700, filepath.Join(dir, "blobs"): 0o700,
			filepath.Join(dir, "spotcheck.db"): 0o600, filepath.Join(dir, "keys", "refresh.secret"): 0o600,
		} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), want)
			}
		}
		for _, p := range []string{"spotcheck.db-wal", "spotcheck.db-shm"} {
			if st, err := os.Stat(filepath.Join(dir, p)); err == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %o, want 600", p, st.Mode().Perm())
			}
		}
	}
	a, err := Open(context.Background(), Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check()
	a.Close()

	// As an older version left them.
	os.Chmod(filepath.Join(dir, "spotcheck.db"), 0o644)
	os.Chmod(filepath.Join(dir, "blobs"), 0o755)
	a, err = Open(context.Background(), Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	check()
}
