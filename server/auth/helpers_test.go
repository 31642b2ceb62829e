package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"testing"
	"time"
)

type edPublic = ed25519.PublicKey

func generateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// pemKey encodes priv as the keys directory holds it.
func pemKey(t *testing.T, priv ed25519.PrivateKey, created time.Time) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": created.Format(time.RFC3339)}, Bytes: der})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
