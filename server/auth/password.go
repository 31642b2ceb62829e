package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/spotcheck/spotcheck/server"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
	// MaxPasswordLen bounds the work one login can cost the server.
	MaxPasswordLen = 256
	// MinPasswordLen is the shortest password accepted for a new account.
	MinPasswordLen = 10
)

// Argon2id implements server.PasswordHasher as PHC strings:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
type Argon2id struct{}

var _ server.PasswordHasher = Argon2id{}

// dummyHash is verified against when the user does not exist, so a login for
// an unknown user takes as long as one for a known user.
var dummyHash, _ = Argon2id{}.Hash("spotcheck-no-such-user")

// Hash returns the PHC string for password.
func (Argon2id) Hash(password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", server.Errorf(server.EINVALID, "密码至少%d个字符 (password must be at least %d characters).", MinPasswordLen, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return "", server.Errorf(server.EINVALID, "密码过长 (password too long).")
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string. An empty or
// malformed hash is checked against a dummy so the time taken is the same.
func (Argon2id) Verify(hash, password string) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	ok := true
	p, err := parsePHC(hash)
	if err != nil {
		p, _ = parsePHC(dummyHash)
		ok = false
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1 && ok
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	if p.memory > 1<<20 || p.time > 16 || p.threads == 0 {
		return p, fmt.Errorf("argon2 parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, err
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return p, fmt.Errorf("bad argon2 key")
	}
	return p, nil
}
