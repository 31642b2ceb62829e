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
	"sort"
	"strings"
	"time"
)

// Key is one Ed25519 signing key. Its kid is derived from the public key, so
// the same key always has the same kid.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	Public    ed25519.PublicKey
	CreatedAt time.Time
}

// KeySet is the signing keys a server knows: the newest signs, all verify.
// A key stops verifying when it is retired (its file removed).
type KeySet struct {
	Dir  string
	keys []*Key // oldest first
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
	if ks != nil && len(ks.keys) > 0 {
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
	return &Key{ID: KeyID(pub), Private: priv, Public: pub, CreatedAt: created.UTC()}, nil
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
	k := &Key{ID: KeyID(pub), Private: priv, Public: pub, CreatedAt: now.UTC().Truncate(time.Second)}
	if err := os.MkdirAll(ks.Dir, 0o700); err != nil {
		return nil, err
	}
	block := &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": k.CreatedAt.Format(time.RFC3339)}, Bytes: der}
	path := filepath.Join(ks.Dir, keyFilePrefix+k.ID+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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
	for i, k := range ks.keys {
		if k.ID != kid {
			continue
		}
		if i == len(ks.keys)-1 {
			return fmt.Errorf("key %s signs new tokens: generate a new key before retiring it", kid)
		}
		if err := os.Remove(filepath.Join(ks.Dir, keyFilePrefix+kid+".pem")); err != nil {
			return err
		}
		ks.keys = append(ks.keys[:i], ks.keys[i+1:]...)
		return nil
	}
	return fmt.Errorf("no key %s in %s", kid, ks.Dir)
}

// Signing returns the key that signs new tokens: the newest.
func (ks *KeySet) Signing() *Key { return ks.keys[len(ks.keys)-1] }

// Lookup returns the key with the kid, or nil.
func (ks *KeySet) Lookup(kid string) *Key {
	for _, k := range ks.keys {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

// Keys returns the keys, oldest first.
func (ks *KeySet) Keys() []*Key { return append([]*Key(nil), ks.keys...) }
