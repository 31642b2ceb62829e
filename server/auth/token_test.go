package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/auth"
)

var now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// newIssuer returns an issuer on a fresh key directory with its clock at now.
func newIssuer(t *testing.T) (*auth.Issuer, *time.Time) {
	t.Helper()
	ks, err := auth.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys"), now)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	i := auth.NewIssuer(ks)
	i.Now = func() time.Time { return clock }
	return i, &clock
}

// claims returns the claims a valid token carries; tests break one at a time.
func claims(i *auth.Issuer) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": i.Issuer, "aud": []string{i.Audience}, "sub": "42", "sid": "session-1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// sign signs c with method and key, with the given header fields.
func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustReject(t *testing.T, i *auth.Issuer, token string) {
	t.Helper()
	c, err := i.VerifyAccess(token)
	if err == nil {
		t.Fatalf("accepted: %+v", c)
	}
	if server.ErrorCode(err) != server.EUNAUTHORIZED {
		t.Fatalf("error %v, want %s", err, server.EUNAUTHORIZED)
	}
}

func TestIssuer_VerifyAccess(t *testing.T) {
	i, clock := newIssuer(t)
	key := i.Keys.Signing()
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"kid": key.ID, "typ": auth.AccessTokenType}
		for n := 0; n < len(kv); n += 2 {
			h[kv[n].(string)] = kv[n+1]
		}
		return h
	}

	t.Run("OK", func(t *testing.T) {
		did := int64(7)
		tok, exp, err := i.IssueAccess(42, &did, "session-1")
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(now.Add(auth.DefaultAccessTTL)) {
			t.Fatalf("expires %v", exp)
		}
		c, err := i.VerifyAccess(tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.UserID != 42 || c.DeviceID == nil || *c.DeviceID != 7 || c.SessionID != "session-1" {
			t.Fatalf("claims %+v", c)
		}
		// A hand-made token with every rule kept also passes, so the
		// rejections below are each down to the one thing they break.
		if _, err := i.VerifyAccess(sign(t, jwt.SigningMethodEdDSA, key.Private, claims(i), hdr())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrAlgNone", func(t *testing.T) {
		mustReject(t, i, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(i), hdr()))
		// And by hand, with an empty signature after the last dot.
		enc := base64.RawURLEncoding
		h := enc.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"` + key.ID + `"}`))
		p := enc.EncodeToString([]byte(`{"iss":"spotcheck","aud":["spotcheck-api"],"sub":"42","exp":` + itoa(now.Add(time.Minute).Unix()) + `}`))
		mustReject(t, i, h+"."+p+".")
	})
	t.Run("ErrHS256WithPublicKey", func(t *testing.T) {
		mustReject(t, i, sign(t, jwt.SigningMethodHS256, []byte(key.Public), claims(i), hdr()))
		// Some libraries feed the PEM or DER form of the key to HMAC; try those too.
		mustReject(t, i, sign(t, jwt.SigningMethodHS256, []byte(base64.StdEncoding.EncodeToString(key.Public)), claims(i), hdr()))
	})
	t.Run("ErrWrongAlgorithm", func(t *testing.T) {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		mustReject(t, i, sign(t, jwt.SigningMethodES256, ec, claims(i), hdr()))
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		mustReject(t, i, sign(t, jwt.SigningMethodRS256, rsaKey, claims(i), hdr()))
	})
	t.Run("ErrMissingExp", func(t *testing.T) {
		c := claims(i)
		delete(c, "exp")
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
	})
	t.Run("ErrExpired", func(t *testing.T) {
		tok, _, err := i.IssueAccess(42, nil, "s")
		if err != nil {
			t.Fatal(err)
		}
		*clock = now.Add(auth.DefaultAccessTTL + time.Minute) // past the TTL and the leeway
		defer func() { *clock = now }()
		mustReject(t, i, tok)
	})
	t.Run("ErrNotYetValid", func(t *testing.T) {
		c := claims(i)
		c["iat"], c["nbf"] = now.Add(time.Hour).Unix(), now.Add(time.Hour).Unix()
		c["exp"] = now.Add(2 * time.Hour).Unix()
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
	})
	t.Run("ErrWrongAudience", func(t *testing.T) {
		c := claims(i)
		c["aud"] = []string{"some-other-api"}
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
		delete(c, "aud")
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
	})
	t.Run("ErrWrongIssuer", func(t *testing.T) {
		c := claims(i)
		c["iss"] = "evil"
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
		delete(c, "iss")
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
	})
	t.Run("ErrWrongType", func(t *testing.T) {
		for _, typ := range []any{"JWT", "rt+jwt", "application/at+jwt+x", ""} {
			mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, claims(i), hdr("typ", typ)))
		}
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, claims(i), hdr("typ", nil)))
	})
	t.Run("ErrUnknownKid", func(t *testing.T) {
		_, other, err := generateKey()
		if err != nil {
			t.Fatal(err)
		}
		mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, other, claims(i), hdr("kid", auth.KeyID(other.Public().(edPublic)))))
		// The right key under a kid that is not ours, a path, or none at all.
		for _, kid := range []any{"0000000000000000", "../keys/ed25519-" + key.ID, nil} {
			mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, claims(i), hdr("kid", kid)))
		}
	})
	t.Run("ErrBadSubject", func(t *testing.T) {
		for _, sub := range []any{"", "0", "-1", "root", nil} {
			c := claims(i)
			if sub == nil {
				delete(c, "sub")
			} else {
				c["sub"] = sub
			}
			mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
		}
	})
	t.Run("ErrNoSession", func(t *testing.T) {
		// A token that names no session could not be revoked at logout.
		for _, sid := range []any{"", nil, strings.Repeat("s", 101)} {
			c := claims(i)
			if sid == nil {
				delete(c, "sid")
			} else {
				c["sid"] = sid
			}
			mustReject(t, i, sign(t, jwt.SigningMethodEdDSA, key.Private, c, hdr()))
		}
	})
	t.Run("ErrTamperedPayload", func(t *testing.T) {
		tok, _, err := i.IssueAccess(42, nil, "s")
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		body, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(string(body), `"sub":"42"`, `"sub":"1"`, 1)
		if forged == string(body) {
			t.Fatalf("payload %s has no sub 42", body)
		}
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
		mustReject(t, i, strings.Join(parts, "."))
		// A flipped signature bit fails too.
		sig := []byte(parts[2])
		sig[3] ^= 1
		mustReject(t, i, parts[0]+"."+strings.Split(tok, ".")[1]+"."+string(sig))
	})
	t.Run("ErrGarbage", func(t *testing.T) {
		for _, tok := range []string{"", ".", "..", "a.b.c", "Bearer x", strings.Repeat("A", 10000)} {
			mustReject(t, i, tok)
		}
	})
}

func TestKeySet_Rotation(t *testing.T) {
	i, _ := newIssuer(t)
	old, _, err := i.IssueAccess(1, nil, "s")
	if err != nil {
		t.Fatal(err)
	}
	oldKey := i.Keys.Signing()
	newKey, err := i.Keys.Generate(now) // same second: must still become the signing key
	if err != nil {
		t.Fatal(err)
	}
	if i.Keys.Signing().ID != newKey.ID || newKey.ID == oldKey.ID {
		t.Fatalf("signing key %s, want the new %s", i.Keys.Signing().ID, newKey.ID)
	}
	fresh, _, err := i.IssueAccess(1, nil, "s")
	if err != nil {
		t.Fatal(err)
	}
	// Rotated out but not retired: both still verify.
	for _, tok := range []string{old, fresh} {
		if _, err := i.VerifyAccess(tok); err != nil {
			t.Fatalf("before retire: %v", err)
		}
	}
	// A reload finds the same keys, the same kids and the same signing key.
	re, err := auth.LoadKeys(i.Keys.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if ids(re) != ids(i.Keys) || re.Signing().ID != newKey.ID {
		t.Fatalf("reloaded %s signing %s, want %s signing %s", ids(re), re.Signing().ID, ids(i.Keys), newKey.ID)
	}
	if err := i.Keys.Retire(newKey.ID); err == nil {
		t.Fatal("retired the signing key")
	}
	if err := i.Keys.Retire(oldKey.ID); err != nil {
		t.Fatal(err)
	}
	mustReject(t, i, old)
	if _, err := i.VerifyAccess(fresh); err != nil {
		t.Fatalf("after retire: %v", err)
	}
	// Retired for good: a reload does not bring it back.
	re, err = auth.LoadKeys(i.Keys.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if re.Lookup(oldKey.ID) != nil || len(re.Keys()) != 1 {
		t.Fatalf("after retire the directory holds %s", ids(re))
	}
	if err := i.Keys.Retire("no-such-kid"); err == nil {
		t.Fatal("retired an unknown kid")
	}
}

func TestKeySet_Files(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := auth.LoadOrCreateKeys(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Generate(now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range ks.Keys() {
		info, err := os.Stat(filepath.Join(dir, "ed25519-"+k.ID+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
		}
		if k.ID != auth.KeyID(k.Public) {
			t.Fatalf("kid %s is not derived from the public key", k.ID)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("key directory: %v %v, want mode 0700", info.Mode().Perm(), err)
	}
	// Loading again (and again) gives the same kids: nothing is regenerated.
	for range 2 {
		again, err := auth.LoadOrCreateKeys(dir, now.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if ids(again) != ids(ks) {
			t.Fatalf("kids %s after reload, want %s", ids(again), ids(ks))
		}
	}
}

func TestKeySet_OperatorKey(t *testing.T) {
	// An operator's own key under a free name is loaded, signs when newest,
	// and can be retired.
	dir := t.TempDir()
	ks, err := auth.LoadOrCreateKeys(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	first := ks.Signing()
	_, priv, err := generateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ed25519-ops-2027.pem")
	if err := os.WriteFile(path, pemKey(t, priv, now.Add(time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err = auth.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Signing().ID != auth.KeyID(priv.Public().(edPublic)) {
		t.Fatalf("signing %s, want the operator's key", ks.Signing().ID)
	}
	if _, err := ks.Generate(now.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := ks.Retire(auth.KeyID(priv.Public().(edPublic))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("operator key file still there: %v", err)
	}
	if ks.Lookup(first.ID) == nil {
		t.Fatal("retire removed another key")
	}
}

func ids(ks *auth.KeySet) string {
	var s []string
	for _, k := range ks.Keys() {
		s = append(s, k.ID)
	}
	return strings.Join(s, ",")
}

// TestKeySet_ReplicaFollowsRotation: two servers share a key directory; one
// rotates, and the other accepts the new key's tokens without a restart, but
// re-reads the directory at most once per ReloadInterval.
func TestKeySet_ReplicaFollowsRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ksA, err := auth.LoadOrCreateKeys(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	ksB, err := auth.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	a, b := auth.NewIssuer(ksA), auth.NewIssuer(ksB)
	a.Now = func() time.Time { return clock }
	b.Now = func() time.Time { return clock }

	if _, err := ksA.Generate(now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.IssueAccess(42, nil, "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyAccess(tok); err != nil {
		t.Fatalf("replica refused the rotated key: %v", err)
	}
	// A second rotation within the interval is not picked up yet…
	if _, err := ksA.Generate(now.Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	tok2, _, _ := a.IssueAccess(42, nil, "s")
	mustReject(t, b, tok2)
	// …but is once the interval has passed.
	clock = clock.Add(auth.ReloadInterval)
	if _, err := b.VerifyAccess(tok2); err != nil {
		t.Fatalf("replica refused the key after the interval: %v", err)
	}
	if got := ksB.Signing().ID; got != ksA.Signing().ID {
		t.Fatalf("replica signs with %s, want the newest %s", got, ksA.Signing().ID)
	}
}
