package draw

import (
	"fmt"
	"slices"
)

// RecordFormat names the public record's JSON format.
const RecordFormat = "spotcheck-draw-record/v1"

// Record is the public record of a draw: everything needed to re-compute it
// from scratch, and the results to check. It holds no personal data:
// inspectors appear by certificate number only.
type Record struct {
	Format         string              `json:"format"`
	CampaignID     int64               `json:"campaign_id"`
	Algorithm      string              `json:"algorithm"`
	Manifest       string              `json:"manifest"` // the canonical manifest, verbatim
	ManifestDigest string              `json:"manifest_digest"`
	Randomness     []string            `json:"randomness"` // the public values entered, in manifest order
	Seed           string              `json:"seed"`
	Selection      []RecordItem        `json:"selection"` // the first draw, ascending (ticket, id)
	Replacements   []RecordReplacement `json:"replacements"`
	LateRecusals   []Recusal           `json:"late_recusals"` // declared after commit, applied at the team draw
	Teams          []RecordTeam        `json:"teams"`
	Matches        []RecordMatch       `json:"matches"`
}

// RecordItem is a selected enterprise.
type RecordItem struct {
	CreditCode string `json:"credit_code"`
	Stratum    string `json:"stratum"`
	Ticket     string `json:"ticket"`
}

// RecordReplacement is one append-only replacement: Replaced left the
// targets for Reason, and the next ticket of its stratum took its place.
type RecordReplacement struct {
	Seq         int        `json:"seq"`
	Replaced    string     `json:"replaced"`
	Reason      string     `json:"reason"`
	Replacement RecordItem `json:"replacement"`
}

// RecordTeam is a team by certificate numbers.
type RecordTeam struct {
	Team    int            `json:"team"`
	Members []RecordMember `json:"members"`
}

// RecordMember is an inspector in a team.
type RecordMember struct {
	Department  string `json:"department"`
	Certificate string `json:"certificate"`
	Ticket      string `json:"ticket"`
}

// RecordMatch is a target's team.
type RecordMatch struct {
	CreditCode string `json:"credit_code"`
	Team       int    `json:"team"`
	Ticket     string `json:"ticket"`
}

// Disagreement is the first place a record and its re-computation differ.
type Disagreement struct {
	Where    string // e.g. "selection[12]"
	Recorded string
	Computed string
}

func (d *Disagreement) Error() string {
	return fmt.Sprintf("%s: the record says %s, re-computation gives %s", d.Where, d.Recorded, d.Computed)
}

// Next returns the lowest (ticket, id) item of the stratum whose id is not in
// used: the replacement for a target leaving that stratum.
func Next(seed Hash, population []PopulationEntry, stratum string, used map[string]bool) (Item, bool) {
	var best Item
	found := false
	for _, p := range population {
		if p.Stratum != stratum || used[p.CreditCode] {
			continue
		}
		it := Item{ID: p.CreditCode, Stratum: stratum, Ticket: Ticket(seed, stratum, p.CreditCode)}
		if !found || Less(it, best) {
			best, found = it, true
		}
	}
	return best, found
}

// Verify re-computes the draw from the record's manifest and randomness and
// returns the first disagreement (a *Disagreement), or an error when the
// record cannot be read at all; nil when everything agrees.
func Verify(rec *Record) error {
	if rec.Format != RecordFormat {
		return fmt.Errorf("record format %q is not %s", rec.Format, RecordFormat)
	}
	m, err := ParseManifest([]byte(rec.Manifest))
	if err != nil {
		return err
	}
	if rec.Algorithm != AlgorithmID {
		return &Disagreement{"algorithm", rec.Algorithm, AlgorithmID}
	}
	if rec.CampaignID != m.CampaignID {
		return &Disagreement{"campaign_id", fmt.Sprint(rec.CampaignID), fmt.Sprint(m.CampaignID)}
	}
	digest, err := m.Digest()
	if err != nil {
		return err
	}
	if digest.String() != rec.ManifestDigest {
		return &Disagreement{"manifest_digest", rec.ManifestDigest, digest.String()}
	}
	if len(rec.Randomness) != len(m.Randomness) {
		return &Disagreement{"randomness", fmt.Sprintf("%d values", len(rec.Randomness)), fmt.Sprintf("%d named sources", len(m.Randomness))}
	}
	seed := Seed(digest, rec.Randomness)
	if seed.String() != rec.Seed {
		return &Disagreement{"seed", rec.Seed, seed.String()}
	}

	// The first draw.
	items := make([]Item, len(m.Population))
	for i, p := range m.Population {
		items[i] = Item{ID: p.CreditCode, Stratum: p.Stratum}
	}
	selected, err := Sample(seed, items, func(s string) Ratio { return m.Ratios[s] })
	if err != nil {
		return err
	}
	for i := 0; i < max(len(selected), len(rec.Selection)); i++ {
		where := fmt.Sprintf("selection[%d]", i)
		switch {
		case i >= len(rec.Selection):
			return &Disagreement{where, "nothing", describe(selected[i])}
		case i >= len(selected):
			return &Disagreement{where, describeRecord(rec.Selection[i]), "nothing"}
		case rec.Selection[i] != toRecordItem(selected[i]):
			return &Disagreement{where, describeRecord(rec.Selection[i]), describe(selected[i])}
		}
	}

	// Replacements, in order: each takes the next unused ticket of its stratum.
	current := map[string]Item{}
	used := map[string]bool{}
	for _, it := range selected {
		current[it.ID] = it
		used[it.ID] = true
	}
	for i, rp := range rec.Replacements {
		where := fmt.Sprintf("replacements[%d]", i)
		if rp.Seq != i+1 {
			return &Disagreement{where + ".seq", fmt.Sprint(rp.Seq), fmt.Sprint(i + 1)}
		}
		gone, ok := current[rp.Replaced]
		if !ok {
			return &Disagreement{where + ".replaced", rp.Replaced, "not a current target"}
		}
		next, ok := Next(seed, m.Population, gone.Stratum, used)
		if !ok {
			return &Disagreement{where + ".replacement", describeRecord(rp.Replacement), "no item left in the stratum"}
		}
		if rp.Replacement != toRecordItem(next) {
			return &Disagreement{where + ".replacement", describeRecord(rp.Replacement), describe(next)}
		}
		delete(current, rp.Replaced)
		current[next.ID] = next
		used[next.ID] = true
	}
	if len(rec.Teams) == 0 && len(rec.Matches) == 0 {
		return nil // teams not drawn yet
	}

	// Teams and matches.
	targets := make([]Target, 0, len(current))
	for _, it := range current {
		targets = append(targets, Target{CreditCode: it.ID, Stratum: it.Stratum})
	}
	slices.SortFunc(targets, func(a, b Target) int { return cmp2(a.CreditCode, b.CreditCode, "", "") })
	depts := make([]string, len(m.Departments))
	for i, d := range m.Departments {
		depts[i] = d.Code
	}
	recusals := append(slices.Clone(m.Recusals), rec.LateRecusals...)
	td, err := DrawTeams(seed, m.Inspectors, depts, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, recusals)
	if err != nil {
		return &Disagreement{"teams", fmt.Sprintf("%d teams", len(rec.Teams)), err.Error()}
	}
	if len(td.Teams) != len(rec.Teams) {
		return &Disagreement{"teams", fmt.Sprintf("%d teams", len(rec.Teams)), fmt.Sprintf("%d teams", len(td.Teams))}
	}
	for i, t := range td.Teams {
		rt := rec.Teams[i]
		if rt.Team != t.Number || len(rt.Members) != len(t.Members) {
			return &Disagreement{fmt.Sprintf("teams[%d]", i), fmt.Sprintf("team %d with %d members", rt.Team, len(rt.Members)), fmt.Sprintf("team %d with %d members", t.Number, len(t.Members))}
		}
		for j, mb := range t.Members {
			want := RecordMember{Department: mb.Department, Certificate: mb.Certificate, Ticket: mb.Ticket.String()}
			if rt.Members[j] != want {
				return &Disagreement{fmt.Sprintf("teams[%d].members[%d]", i, j), fmt.Sprintf("%+v", rt.Members[j]), fmt.Sprintf("%+v", want)}
			}
		}
	}
	if len(td.Matches) != len(rec.Matches) {
		return &Disagreement{"matches", fmt.Sprintf("%d matches", len(rec.Matches)), fmt.Sprintf("%d matches", len(td.Matches))}
	}
	for i, mt := range td.Matches {
		want := RecordMatch{CreditCode: mt.CreditCode, Team: mt.Team, Ticket: mt.Ticket.String()}
		if rec.Matches[i] != want {
			return &Disagreement{fmt.Sprintf("matches[%d]", i), fmt.Sprintf("%+v", rec.Matches[i]), fmt.Sprintf("%+v", want)}
		}
	}
	return nil
}

func toRecordItem(it Item) RecordItem {
	return RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()}
}

func describe(it Item) string { return describeRecord(toRecordItem(it)) }

func describeRecord(it RecordItem) string {
	return fmt.Sprintf("%s (stratum %q, ticket %s)", it.CreditCode, it.Stratum, it.Ticket)
}
