package draw_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// testManifest builds a small campaign: 200 enterprises in strata A/B/"",
// two departments with 6 inspectors each, one recusal.
func testManifest() *draw.Manifest {
	m := &draw.Manifest{
		CampaignID: 7, Name: "2026年网吧联合抽查", WindowStart: "2026-12-01", WindowEnd: "2026-12-06", Lead: "culture",
		Departments: []draw.ManifestDepartment{{Code: "market", CheckItems: []string{"SC-01@1"}}, {Code: "culture", CheckItems: []string{"WH-02@1", "WH-01@2"}}},
		Category:    "internet_cafe", Status: "active", ExclusionMonths: 6,
		Ratios:                  map[string]draw.Ratio{"A": draw.MustRatio("0.05"), "B": draw.MustRatio("0.15"), "": draw.MustRatio("0.1")},
		InspectorsPerDepartment: 2, TargetsPerTeam: 3,
		Randomness: []string{"双色球第2026140期开奖号码", "深证成指2026-12-01收盘点位"},
		Exclusions: []draw.Exclusion{{CreditCode: "X", Reason: "inspected 2026-08"}},
	}
	for i := 0; i < 200; i++ {
		m.Population = append(m.Population, draw.PopulationEntry{CreditCode: fmt.Sprintf("91350203%010d", i), Stratum: []string{"A", "B", ""}[i%3]})
	}
	for _, d := range []string{"culture", "market"} {
		for i := 0; i < 6; i++ {
			m.Inspectors = append(m.Inspectors, draw.RosterEntry{Department: d, Certificate: fmt.Sprintf("%s-%02d", d, i)})
		}
	}
	m.Recusals = []draw.Recusal{{Certificate: "culture-01", CreditCode: m.Population[3].CreditCode}}
	m.Normalize()
	return m
}

// computeRecord builds a record the way the server does, from the pure functions.
// extra are recusals applied at the team draw besides the manifest's
// (a v2 manifest's, which it holds as commitments only).
func computeRecord(t *testing.T, m *draw.Manifest, values []string, replace []string, extra ...draw.Recusal) *draw.Record {
	var buf strings.Builder
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	digest, _ := m.Digest()
	seed := draw.Seed(digest, values)
	items := make([]draw.Item, len(m.Population))
	for i, p := range m.Population {
		items[i] = draw.Item{ID: p.CreditCode, Stratum: p.Stratum}
	}
	sel, err := draw.Sample(seed, items, func(s string) draw.Ratio { return m.Ratios[s] })
	if err != nil {
		t.Fatal(err)
	}
	rec := &draw.Record{Format: draw.RecordFormat, CampaignID: m.CampaignID, Algorithm: draw.AlgorithmID,
		Manifest: buf.String(), ManifestDigest: digest.String(), Randomness: slices.Clone(values), Seed: seed.String()}
	current := map[string]draw.Item{}
	used := map[string]bool{}
	for _, it := range sel {
		rec.Selection = append(rec.Selection, draw.RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()})
		current[it.ID], used[it.ID] = it, true
	}
	for i, code := range replace {
		next, ok := draw.Next(seed, m.Population, current[code].Stratum, used)
		if !ok {
			t.Fatal("stratum exhausted")
		}
		rec.Replacements = append(rec.Replacements, draw.RecordReplacement{Seq: i + 1, Replaced: code, Reason: "deregistered",
			Replacement: draw.RecordItem{CreditCode: next.ID, Stratum: next.Stratum, Ticket: next.Ticket.String()}})
		delete(current, code)
		current[next.ID], used[next.ID] = next, true
	}
	var targets []draw.Target
	for _, p := range m.Population { // sorted by credit code
		if it, ok := current[p.CreditCode]; ok {
			targets = append(targets, draw.Target{CreditCode: it.ID, Stratum: it.Stratum})
		}
	}
	td, err := draw.DrawTeams(seed, m.Inspectors, []string{"culture", "market"}, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, append(slices.Clone(m.Recusals), extra...))
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range td.Teams {
		rt := draw.RecordTeam{Team: tm.Number}
		for _, mb := range tm.Members {
			rt.Members = append(rt.Members, draw.RecordMember{Department: mb.Department, Certificate: mb.Certificate, Ticket: mb.Ticket.String()})
		}
		rec.Teams = append(rec.Teams, rt)
	}
	for _, mt := range td.Matches {
		rec.Matches = append(rec.Matches, draw.RecordMatch{CreditCode: mt.CreditCode, Team: mt.Team, Ticket: mt.Ticket.String()})
	}
	return rec
}

func TestManifest_RoundTrip(t *testing.T) {
	m := testManifest()
	var buf strings.Builder
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := draw.ParseManifest([]byte(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := m.Digest()
	d2, _ := got.Digest()
	if d1 != d2 {
		t.Fatal("digest changed across parse")
	}
	if !strings.HasPrefix(buf.String(), "spotcheck-manifest/v1\nalgorithm\tsc-sha256-v1\ncampaign\t7\n") {
		t.Fatalf("unexpected start:\n%s", buf.String()[:80])
	}
	// Anything not canonical is refused: reordered population, a trailing space, CRLF.
	bad := []string{
		strings.Replace(buf.String(), "population\t913502030000000000\tA\npopulation\t913502030000000001\tB\n", "population\t913502030000000001\tB\npopulation\t913502030000000000\tA\n", 1),
		strings.Replace(buf.String(), "lead\tculture\n", "lead\tculture \n", 1),
		strings.ReplaceAll(buf.String(), "\n", "\r\n"),
		strings.Replace(buf.String(), "ratio\tB\t0.15", "ratio\tB\t0.150", 1),
	}
	for i, b := range bad {
		if _, err := draw.ParseManifest([]byte(b)); err == nil {
			t.Errorf("non-canonical manifest %d accepted", i)
		}
	}
}

func TestVerify(t *testing.T) {
	m := testManifest()
	values := []string{"03 09 14 21 27 30 + 11", "10432.17"}
	probe := computeRecord(t, m, values, nil)
	rec := computeRecord(t, m, values, []string{probe.Selection[0].CreditCode})
	if err := draw.Verify(rec); err != nil {
		t.Fatalf("a faithful record does not verify: %v", err)
	}
	for _, m := range rec.Matches { // the recusal held
		if m.CreditCode == testManifest().Recusals[0].CreditCode {
			for _, mb := range rec.Teams[m.Team-1].Members {
				if mb.Certificate == "culture-01" {
					t.Fatal("recused inspector matched to the target")
				}
			}
		}
	}

	for _, tc := range []struct {
		name, where string
		alter       func(r *draw.Record)
	}{
		{"Selection", "selection[2]", func(r *draw.Record) { r.Selection[2].CreditCode = "913502030000000199" }},
		{"Seed", "seed", func(r *draw.Record) { r.Randomness[1] = "10432.18" }},
		{"Replacement", "replacements[0].replacement", func(r *draw.Record) { r.Replacements[0].Replacement.CreditCode = "913502030000000198" }},
		{"Team", "teams[0].members[0]", func(r *draw.Record) { r.Teams[0].Members[0].Certificate = "culture-99" }},
		{"Match", "matches[1]", func(r *draw.Record) { r.Matches[1].Team = r.Matches[1].Team%len(r.Teams) + 1 }},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			bad := computeRecord(t, m, values, []string{probe.Selection[0].CreditCode})
			tc.alter(bad)
			err := draw.Verify(bad)
			var d *draw.Disagreement
			if !errors.As(err, &d) || d.Where != tc.where {
				t.Fatalf("err %v, want a disagreement at %s", err, tc.where)
			}
		})
	}
}
