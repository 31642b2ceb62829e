package draw_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// v2Manifest is testManifest as servers commit it now: its recusal as a
// salted commitment, and the time its sources can be known. It returns the
// opening too.
func v2Manifest(t *testing.T, pairs ...draw.Recusal) (*draw.Manifest, []draw.RecusalOpening) {
	t.Helper()
	m := testManifest()
	m.Version = draw.ManifestV2
	m.SourcesAvailableAt = "2026-11-20T13:30:00Z"
	m.Recusals = nil
	var openings []draw.RecusalOpening
	for i, p := range pairs {
		var salt [32]byte
		for j := range salt {
			salt[j] = byte(i*32 + j)
		}
		m.RecusalCommitments = append(m.RecusalCommitments, draw.RecusalCommitment(salt, p.Certificate, p.CreditCode))
		openings = append(openings, draw.RecusalOpening{Certificate: p.Certificate, CreditCode: p.CreditCode, Salt: hex.EncodeToString(salt[:])})
	}
	m.Normalize()
	return m, openings
}

// withTimes sets a v2 record's times: committed, sources available, drawn.
func withTimes(rec *draw.Record, m *draw.Manifest) *draw.Record {
	rec.CommittedAt, rec.SourcesAvailableAt, rec.DrawnAt = "2026-11-19T09:00:00Z", m.SourcesAvailableAt, "2026-11-20T14:00:00Z"
	return rec
}

func TestRecusalCommitment_Vector(t *testing.T) {
	var salt [32]byte
	got := draw.RecusalCommitment(salt, "culture-01", "913502030000000003")
	// SHA-256("spotcheck/recusal/v1" ‖ 0x00 ‖ 32 zero bytes ‖ "culture-01" ‖ 0x00 ‖ "913502030000000003"),
	// as docs/draw-spec.md gives it.
	if got.String() != recusalVector {
		t.Fatalf("commitment %s, want %s", got, recusalVector)
	}
}

const recusalVector = "f703a4ff9d3b717f4d3fe450f26b9d5b900f3d6db40334799204ae386c6561cd"

func TestVerify_V2RecusalCommitments(t *testing.T) {
	values := []string{"03 09 14 21 27 30 + 11", "10432.17"}
	// culture-00 is recused from every third enterprise: some target must
	// then go to a team other than the one the rule picks without recusals.
	var pairs []draw.Recusal
	for i, p := range testManifest().Population {
		if i%3 == 0 {
			pairs = append(pairs, draw.Recusal{Certificate: "culture-00", CreditCode: p.CreditCode})
		}
	}
	m, openings := v2Manifest(t, pairs...)
	rec := withTimes(computeRecord(t, m, values, nil, pairs...), m)

	if strings.Contains(rec.Manifest, "\nrecusal\t") || strings.Contains(rec.Manifest, pairs[0].Certificate+"\t"+pairs[0].CreditCode) {
		t.Fatal("the v2 manifest names a recusal pair")
	}
	if !strings.HasPrefix(rec.Manifest, "spotcheck-manifest/v2\n") || !strings.Contains(rec.Manifest, "\nsources_available_at\t2026-11-20T13:30:00Z\n") ||
		!strings.Contains(rec.Manifest, "\nrecusal_commitment\t"+m.RecusalCommitments[0].String()+"\n") ||
		strings.Count(rec.Manifest, "\nrecusal_commitment\t") != len(pairs) {
		t.Fatalf("v2 manifest:\n%.600s", rec.Manifest)
	}
	if _, err := draw.ParseManifest([]byte(rec.Manifest)); err != nil {
		t.Fatal(err)
	}

	// The public check: everything but the recusals themselves.
	v, err := draw.VerifyOpenings(rec, nil)
	if err != nil {
		t.Fatalf("a faithful v2 record does not verify: %v", err)
	}
	if v.RecusalsKnown || v.Commitments != len(pairs) || v.Deviations == 0 {
		t.Fatalf("public verification %+v", v)
	}
	// The auditor's check, with the openings.
	v, err = draw.VerifyOpenings(rec, openings)
	if err != nil || !v.RecusalsKnown {
		t.Fatalf("with openings: %+v %v", v, err)
	}

	for _, tc := range []struct {
		name, where string
		alter       func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening
	}{
		{"WrongSalt", "recusal_openings[0]", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			o[0].Salt = strings.Repeat("ab", 32)
			return o
		}},
		{"OtherPair", "recusal_openings[0]", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			o[0].CreditCode = "913502030000000199"
			return o
		}},
		{"NotOpened", "manifest recusal_commitment 1", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			// The opening of the lowest commitment left out.
			for i := range o {
				if c, _ := o[i].Commitment(); c == m.RecusalCommitments[0] {
					return append(o[:i], o[i+1:]...)
				}
			}
			return o
		}},
		{"MatchIgnoresRecusal", "matches[", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			// The matching the rule makes without recusals.
			plain := computeRecord(t, m, values, nil)
			r.Matches = plain.Matches
			return o
		}},
		{"DrawnEarly", "drawn_at", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			r.DrawnAt = "2026-11-20T13:29:59Z"
			return o
		}},
		{"CommittedLate", "committed_at", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			r.CommittedAt = "2026-11-20T13:30:00Z"
			return o
		}},
		{"PairsInTheClear", "late_recusals", func(r *draw.Record, o []draw.RecusalOpening) []draw.RecusalOpening {
			r.LateRecusals = pairs
			return o
		}},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			bad := withTimes(computeRecord(t, m, values, nil, pairs...), m)
			o := tc.alter(bad, append([]draw.RecusalOpening(nil), openings...))
			_, err := draw.VerifyOpenings(bad, o)
			var d *draw.Disagreement
			// "matches[": the first match that breaks a recusal, wherever it is.
			if !errors.As(err, &d) || d.Where != tc.where && !(strings.HasSuffix(tc.where, "[") && strings.HasPrefix(d.Where, tc.where)) {
				t.Fatalf("err %v, want a disagreement at %s", err, tc.where)
			}
		})
	}

	// Without commitments, the public check holds the matching to the rule.
	plain, _ := v2Manifest(t)
	rec = withTimes(computeRecord(t, plain, values, nil), plain)
	if err := draw.Verify(rec); err != nil {
		t.Fatal(err)
	}
	rec.Matches[0].Team = rec.Matches[0].Team%len(rec.Teams) + 1
	var d *draw.Disagreement
	if err := draw.Verify(rec); !errors.As(err, &d) || d.Where != "matches" {
		t.Fatalf("a deviation without any recusal commitment: %v", err)
	}
}
