// Package draw implements the publicly verifiable draw sc-sha256-v1 and the
// RFC 3797 compatibility mode. It is pure computation on the standard
// library, so the server, the verifier and anyone re-checking a draw share
// one definition.
//
// sc-sha256-v1 (normative text: docs/draw-spec.md):
//
//	seed   = SHA-256("spotcheck/draw/v1" ‖ 0x00 ‖ manifest digest (32 bytes) ‖ for each value: 0x00 ‖ UTF-8(value))
//	ticket = SHA-256(seed ‖ UTF-8(stratum) ‖ 0x00 ‖ UTF-8(id)), a 256-bit big-endian integer
//	k      = ceil(r × N) per stratum, r an exact decimal
//	select the k lowest (ticket, id) per stratum; replacements take the next lowest;
//	output in ascending (ticket, id).
package draw

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// AlgorithmID names this algorithm in manifests.
const AlgorithmID = "sc-sha256-v1"

// seedDomain separates draw seeds from every other use of SHA-256.
const seedDomain = "spotcheck/draw/v1"

// MatchPrefix prefixes the stratum of the second, matching, ticket stream.
const MatchPrefix = "match/"

// Hash is a seed or a ticket.
type Hash [32]byte

// String returns the hash as 64 lowercase hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads 64 hex digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("not hex: %w", err)
	}
	return h, nil
}

// Seed derives the draw seed from the manifest digest and the public
// randomness values, in manifest order.
func Seed(manifestDigest Hash, values []string) Hash {
	h := sha256.New()
	h.Write([]byte(seedDomain))
	h.Write([]byte{0})
	h.Write(manifestDigest[:])
	for _, v := range values {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// Ticket returns the ticket of id in stratum. It does not allocate unless
// the stratum and id together are longer than 90 bytes.
func Ticket(seed Hash, stratum, id string) Hash {
	var buf [128]byte
	b := append(buf[:0], seed[:]...)
	b = append(b, stratum...)
	b = append(b, 0)
	b = append(b, id...)
	return sha256.Sum256(b)
}

// Item is one eligible item with its ticket.
type Item struct {
	ID      string
	Stratum string
	Ticket  Hash
}

// Less orders items by (ticket, id): the ticket as a big-endian integer (so
// byte order), then the id's bytes.
func Less(a, b Item) bool {
	if c := bytes.Compare(a.Ticket[:], b.Ticket[:]); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// Compare is Less as a three-way comparison, for slices.SortFunc.
func Compare(a, b Item) int {
	if c := bytes.Compare(a.Ticket[:], b.Ticket[:]); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Ratio is a sampling ratio in [0, 1], held exactly.
type Ratio struct{ r *big.Rat }

// ParseRatio reads a decimal such as "0.15", "1", "0.033"; no exponent, no
// fraction bar, no sign: what a published manifest would print.
func ParseRatio(s string) (Ratio, error) {
	if s == "" {
		return Ratio{}, fmt.Errorf("empty ratio")
	}
	dot := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return Ratio{}, fmt.Errorf("ratio %q is not a decimal like 0.15", s)
		}
	}
	if len(s) > 40 {
		return Ratio{}, fmt.Errorf("ratio %q has too many digits", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Ratio{}, fmt.Errorf("ratio %q is not a decimal", s)
	}
	if r.Sign() < 0 || r.Cmp(big.NewRat(1, 1)) > 0 {
		return Ratio{}, fmt.Errorf("ratio %s is outside [0, 1]", s)
	}
	return Ratio{r}, nil
}

// MustRatio is ParseRatio for constants.
func MustRatio(s string) Ratio {
	r, err := ParseRatio(s)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the ratio as a decimal.
func (r Ratio) String() string {
	if r.r == nil {
		return "0"
	}
	// Every ParseRatio value has a power-of-ten denominator, so this is exact.
	s := r.r.FloatString(40)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Count returns k = ceil(r × n), computed exactly.
func (r Ratio) Count(n int) int {
	if r.r == nil || n <= 0 {
		return 0
	}
	num := new(big.Int).Mul(r.r.Num(), big.NewInt(int64(n)))
	den := r.r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return int(q.Int64())
}
