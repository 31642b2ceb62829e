package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Key is one Ed25519 signing key. Its kid is derived from the public key, so
// the same key always has the same kid.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	CreatedAt time.Time
	path      string // the file it was read from or written to
}

// KeySet is the signing keys a server knows: the newest signs, all verify.
// A key stops verifying when it is retired (its file removed).
//
// Operators who bring their own keys put them in the directory as
// ed25519-<name>.pem (PKCS#8, e.g. `openssl genpkey -algorithm ed25519`),
// mode 0600; a "Created: <RFC 3339>" PEM header orders them, else the file's
// modification time. A running server reads the directory at start and again
// (at most every ReloadInterval) when a token names a kid it does not know, so
// replicas sharing one directory follow a rotation without a restart.
type KeySet struct {
	Dir string

	mu         sync.RWMutex
	keys       []*Key // oldest first
	lastReload time.Time
}

// ReloadInterval bounds how often an unknown kid makes a KeySet re-read its
// directory, so random kids cannot turn into a stream of directory reads.
const ReloadInterval = 30 * time.Second

// ReloadIfStale re-reads the directory if the last read is older than
// ReloadInterval, and reports whether it did. A directory that fails to load
// or holds no key leaves the keys as they were.
func (ks *KeySet) ReloadIfStale(now time.Time) bool {
	ks.mu.Lock()
	if now.Sub(ks.lastReload) < ReloadInterval {
		ks.mu.Unlock()
		return false
	}
	ks.lastReload = now
	ks.mu.Unlock()
	fresh, err := LoadKeys(ks.Dir)
	if err != nil || len(fresh.keys) == 0 {
		return false
	}
	ks.mu.Lock()
	ks.keys = fresh.keys
	ks.mu.Unlock()
	return true
}

const keyFilePrefix = "ed25519-"

// KeyID returns the kid for a public key: 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadOrCreateKeys reads the keys in dir, creating dir and a first key (mode
// 0600) when there is none, so a bare first start needs no secret.
func LoadOrCreateKeys(dir string, now time.Time) (*KeySet, error) {
	ks, err := LoadKeys(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if ks != nil && len(ks.Keys()) > 0 {
		return ks, nil
	}
	ks = &KeySet{Dir: dir}
	if _, err := ks.Generate(now); err != nil {
		return nil, err
	}
	return ks, nil
}

// LoadKeys reads every ed25519-*.pem file in dir.
func LoadKeys(dir string) (*KeySet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ks := &KeySet{Dir: dir}
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), keyFilePrefix) || !strings.HasSuffix(e.Name(), ".pem") {
			continue
		}
		k, err := readKey(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ks.keys = append(ks.keys, k)
	}
	sort.SliceStable(ks.keys, func(i, j int) bool { return ks.keys[i].CreatedAt.Before(ks.keys[j].CreatedAt) })
	return ks, nil
}

func readKey(path string) (*Key, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(buf)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	created, err := time.Parse(time.RFC3339, block.Headers["Created"])
	if err != nil {
		info, statErr := os.Stat(path)
		if statErr != nil {
			return nil, statErr
		}
		created = info.ModTime()
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: KeyID(pub), Private: priv, Public: pub, CreatedAt: created.UTC(), path: path}, nil
}

// Generate creates a new key, writes it to the directory with mode 0600 and
// makes it the signing key. Older keys keep verifying until retired.
func (ks *KeySet) Generate(now time.Time) (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	created := now.UTC().Truncate(time.Second)
	if n := len(ks.keys); n > 0 && !created.After(ks.keys[n-1].CreatedAt) {
		// The newest key signs, and creation times (whole seconds in the file)
		// are how a reload finds it: they must strictly increase.
		created = ks.keys[n-1].CreatedAt.Truncate(time.Second).Add(time.Second)
	}
	k := &Key{ID: KeyID(pub), Private: priv, Public: pub, CreatedAt: created}
	if err := os.MkdirAll(ks.Dir, 0o700); err != nil {
		return nil, err
	}
	block := &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": k.CreatedAt.Format(time.RFC3339)}, Bytes: der}
	k.path = filepath.Join(ks.Dir, keyFilePrefix+k.ID+".pem")
	f, err := os.OpenFile(k.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := pem.Encode(f, block); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	ks.keys = append(ks.keys, k)
	return k, nil
}

// Retire removes the key with the given kid: tokens it signed stop verifying.
// The signing key cannot be retired; generate a new one first.
func (ks *KeySet) Retire(kid string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for i, k := range ks.keys {
		if k.ID != kid {
			continue
		}
		if i == len(ks.keys)-1 {
			return fmt.Errorf("key %s signs new tokens: generate a new key before retiring it", kid)
		}
		// Every file holding this key goes: an operator may have named theirs freely.
		for _, other := range ks.keys {
			if other.ID == kid {
				if err := os.Remove(other.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		ks.keys = slices.DeleteFunc(ks.keys, func(other *Key) bool { return other.ID == kid })
		return nil
	}
	return fmt.Errorf("no key %s in %s", kid, ks.Dir)
}

// Signing returns the key that signs new tokens: the newest.
func (ks *KeySet) Signing() *Key {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[len(ks.keys)-1]
}

// Lookup returns the key with the kid, or nil. The kid is only ever compared,
// never used as a path.
func (ks *KeySet) Lookup(kid string) *Key {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.keys {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

// Keys returns the keys, oldest first.
func (ks *KeySet) Keys() []*Key {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return append([]*Key(nil), ks.keys...)
}
