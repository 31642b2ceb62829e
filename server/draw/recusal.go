package draw

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// recusalDomain separates recusal commitments from every other use of SHA-256.
const recusalDomain = "spotcheck/recusal/v1"

// RecusalCommitment commits to the recusal of the inspector holding
// certificate from the enterprise with creditCode:
//
//	SHA-256("spotcheck/recusal/v1" ‖ 0x00 ‖ salt (32 bytes) ‖ UTF-8(certificate) ‖ 0x00 ‖ UTF-8(credit code))
//
// The random salt makes it impossible to find the pair by trying every
// certificate and credit code, which the public roster and population would
// otherwise allow; opening the commitment means revealing the salt.
func RecusalCommitment(salt [32]byte, certificate, creditCode string) Hash {
	h := sha256.New()
	h.Write([]byte(recusalDomain))
	h.Write([]byte{0})
	h.Write(salt[:])
	h.Write([]byte(certificate))
	h.Write([]byte{0})
	h.Write([]byte(creditCode))
	var out Hash
	h.Sum(out[:0])
	return out
}

// RecusalOpening opens one recusal commitment: the pair and its salt (64 hex
// digits). Late marks a recusal declared after commit, committed in the
// record's late_recusal_commitments rather than in the manifest. Openings are
// shown to auditors only, never published.
type RecusalOpening struct {
	Certificate string `json:"certificate"`
	CreditCode  string `json:"credit_code"`
	Salt        string `json:"salt"`
	Late        bool   `json:"late"`
}

// Commitment returns the commitment o opens.
func (o RecusalOpening) Commitment() (Hash, error) {
	var salt [32]byte
	if len(o.Salt) != 64 {
		return Hash{}, fmt.Errorf("salt of %s/%s: want 64 hex digits", o.Certificate, o.CreditCode)
	}
	if _, err := hex.Decode(salt[:], []byte(o.Salt)); err != nil {
		return Hash{}, fmt.Errorf("salt of %s/%s: %w", o.Certificate, o.CreditCode, err)
	}
	return RecusalCommitment(salt, o.Certificate, o.CreditCode), nil
}

// checkOpenings returns the pairs of openings after checking that they open
// exactly the commitments: every opening matches a distinct commitment of its
// kind (the manifest's, or the record's late ones), and none is left unopened.
func checkOpenings(openings []RecusalOpening, manifest []Hash, late []string) ([]Recusal, error) {
	want := map[Hash]string{}
	for i, c := range manifest {
		want[c] = fmt.Sprintf("manifest recusal_commitment %d", i+1)
	}
	lateSet := map[Hash]string{}
	for i, s := range late {
		c, err := ParseHash(s)
		if err != nil {
			return nil, &Disagreement{fmt.Sprintf("late_recusal_commitments[%d]", i), s, err.Error()}
		}
		lateSet[c] = fmt.Sprintf("late_recusal_commitments[%d]", i)
	}
	var pairs []Recusal
	for i, o := range openings {
		where := fmt.Sprintf("recusal_openings[%d]", i)
		c, err := o.Commitment()
		if err != nil {
			return nil, &Disagreement{where, o.Salt, err.Error()}
		}
		set := want
		if o.Late {
			set = lateSet
		}
		if _, ok := set[c]; !ok {
			return nil, &Disagreement{where, fmt.Sprintf("%s/%s opening %s", o.Certificate, o.CreditCode, c), "no such commitment (or opened twice)"}
		}
		delete(set, c)
		pairs = append(pairs, Recusal{Certificate: o.Certificate, CreditCode: o.CreditCode})
	}
	for _, c := range manifest {
		if where, ok := want[c]; ok {
			return nil, &Disagreement{where, c.String(), "not opened"}
		}
	}
	for _, s := range late {
		c, _ := ParseHash(s)
		if where, ok := lateSet[c]; ok {
			return nil, &Disagreement{where, s, "not opened"}
		}
	}
	return pairs, nil
}
