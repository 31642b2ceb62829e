package draw

import (
	"fmt"
	"slices"
)

// Record formats. v2 adds the commit, sources-available and draw times and
// replaces the late recusal pairs by salted commitments.
const (
	RecordFormatV1 = "spotcheck-draw-record/v1"
	RecordFormatV2 = "spotcheck-draw-record/v2"
	// RecordFormat is the format servers publish.
	RecordFormat = RecordFormatV2
)

// Record is the public record of a draw: everything needed to re-compute it
// from scratch, and the results to check. It holds no personal data:
// inspectors appear by certificate number only, and recusals (with a v2
// manifest) as salted commitments only.
type Record struct {
	Format         string `json:"format"`
	CampaignID     int64  `json:"campaign_id"`
	Algorithm      string `json:"algorithm"`
	Manifest       string `json:"manifest"` // the canonical manifest, verbatim
	ManifestDigest string `json:"manifest_digest"`
	// CommittedAt, SourcesAvailableAt and DrawnAt (v2; SourcesTimeLayout)
	// are when the manifest was committed, the earliest time its randomness
	// sources could be known (as the manifest says), and when the values were
	// entered; DrawnAt is empty before the draw.
	CommittedAt        string              `json:"committed_at,omitempty"`
	SourcesAvailableAt string              `json:"sources_available_at,omitempty"`
	DrawnAt            string              `json:"drawn_at,omitempty"`
	Randomness         []string            `json:"randomness"` // the public values entered, in manifest order
	Seed               string              `json:"seed"`
	Selection          []RecordItem        `json:"selection"` // the first draw, ascending (ticket, id)
	Replacements       []RecordReplacement `json:"replacements"`
	// LateRecusals are recusals declared after commit, applied at the team
	// draw, in the clear: only with a v1 manifest.
	LateRecusals []Recusal `json:"late_recusals,omitempty"`
	// LateRecusalCommitments are the same with a v2 or v3 manifest, as
	// RecusalCommitment hex digests, ascending.
	LateRecusalCommitments []string      `json:"late_recusal_commitments,omitempty"`
	Teams                  []RecordTeam  `json:"teams"`
	Matches                []RecordMatch `json:"matches"`
	// Publications are the publications of the campaign's results, each
	// with the audit chain's head just before its own event;
	// AuditHeadAtPublication is the latest one's head. Absent before the
	// first publication.
	Publications           []RecordPublication `json:"publications,omitempty"`
	AuditHeadAtPublication string              `json:"audit_head_at_publication,omitempty"`
}

// RecordPublication is one publication of a campaign's results.
type RecordPublication struct {
	PublishedAt string `json:"published_at"` // SourcesTimeLayout, UTC
	AuditSeq    int64  `json:"audit_seq"`
	AuditHead   string `json:"audit_head"`
	Results     int    `json:"results"`
	Corrections int    `json:"corrections"`
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

// Verification says how much of a record's matching was checked.
type Verification struct {
	// RecusalsKnown is true when the matching was re-computed with the
	// recusal pairs: a v1 record (pairs in the clear) or opened commitments.
	RecusalsKnown bool
	// Commitments is how many recusal commitments the manifest and the
	// record hold (v2).
	Commitments int
	// Deviations is how many matches differ from the choice the rule makes
	// without recusals; without the pairs each must be justified by a
	// recusal, which only an auditor with the openings can check.
	Deviations int
}

// Verify re-computes the draw from the record's manifest and randomness and
// returns the first disagreement (a *Disagreement), or an error when the
// record cannot be read at all; nil when everything agrees. With a v2
// manifest the recusal pairs are not public: see VerifyOpenings.
func Verify(rec *Record) error {
	_, err := VerifyOpenings(rec, nil)
	return err
}

// VerifyOpenings is Verify, and with openings (non-nil) also checks that they
// open exactly the record's recusal commitments and re-computes the matching
// with the opened pairs. Without openings, a v2 record's matching is checked
// as far as the public can: targets in match-ticket order, every team within
// its capacity, and no more matches off the rule-without-recusals than there
// are recusal commitments (each such match needs a recusal of its target).
func VerifyOpenings(rec *Record, openings []RecusalOpening) (*Verification, error) {
	if rec.Format != RecordFormatV2 && rec.Format != RecordFormatV1 {
		return nil, fmt.Errorf("record format %q is not %s or %s", rec.Format, RecordFormatV2, RecordFormatV1)
	}
	m, err := ParseManifest([]byte(rec.Manifest))
	if err != nil {
		return nil, err
	}
	if rec.Algorithm != AlgorithmID {
		return nil, &Disagreement{"algorithm", rec.Algorithm, AlgorithmID}
	}
	if rec.CampaignID != m.CampaignID {
		return nil, &Disagreement{"campaign_id", fmt.Sprint(rec.CampaignID), fmt.Sprint(m.CampaignID)}
	}
	digest, err := m.Digest()
	if err != nil {
		return nil, err
	}
	if digest.String() != rec.ManifestDigest {
		return nil, &Disagreement{"manifest_digest", rec.ManifestDigest, digest.String()}
	}
	v := &Verification{}
	var recusals []Recusal
	switch m.Version {
	case ManifestV1:
		if len(rec.LateRecusalCommitments) > 0 || len(openings) > 0 {
			return nil, &Disagreement{"late_recusal_commitments", "commitments", "none: a v1 manifest lists recusals in the clear"}
		}
		recusals = append(slices.Clone(m.Recusals), rec.LateRecusals...)
		v.RecusalsKnown = true
	case ManifestV2, ManifestV3:
		if len(rec.LateRecusals) > 0 {
			return nil, &Disagreement{"late_recusals", fmt.Sprintf("%d pairs in the clear", len(rec.LateRecusals)), fmt.Sprintf("commitments only, with a v%d manifest", m.Version)}
		}
		if err := checkTimes(rec, m); err != nil {
			return nil, err
		}
		v.Commitments = len(m.RecusalCommitments) + len(rec.LateRecusalCommitments)
		if openings != nil {
			if recusals, err = checkOpenings(openings, m.RecusalCommitments, rec.LateRecusalCommitments); err != nil {
				return nil, err
			}
			v.RecusalsKnown = true
		}
	}
	if len(rec.Randomness) != len(m.Randomness) {
		return nil, &Disagreement{"randomness", fmt.Sprintf("%d values", len(rec.Randomness)), fmt.Sprintf("%d named sources", len(m.Randomness))}
	}
	seed := Seed(digest, rec.Randomness)
	if seed.String() != rec.Seed {
		return nil, &Disagreement{"seed", rec.Seed, seed.String()}
	}

	// The first draw.
	items := make([]Item, len(m.Population))
	for i, p := range m.Population {
		items[i] = Item{ID: p.CreditCode, Stratum: p.Stratum}
	}
	selected, err := Sample(seed, items, func(s string) Ratio { return m.Ratios[s] })
	if err != nil {
		return nil, err
	}
	for i := 0; i < max(len(selected), len(rec.Selection)); i++ {
		where := fmt.Sprintf("selection[%d]", i)
		switch {
		case i >= len(rec.Selection):
			return nil, &Disagreement{where, "nothing", describe(selected[i])}
		case i >= len(selected):
			return nil, &Disagreement{where, describeRecord(rec.Selection[i]), "nothing"}
		case rec.Selection[i] != toRecordItem(selected[i]):
			return nil, &Disagreement{where, describeRecord(rec.Selection[i]), describe(selected[i])}
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
			return nil, &Disagreement{where + ".seq", fmt.Sprint(rp.Seq), fmt.Sprint(i + 1)}
		}
		gone, ok := current[rp.Replaced]
		if !ok {
			return nil, &Disagreement{where + ".replaced", rp.Replaced, "not a current target"}
		}
		next, ok := Next(seed, m.Population, gone.Stratum, used)
		if !ok {
			return nil, &Disagreement{where + ".replacement", describeRecord(rp.Replacement), "no item left in the stratum"}
		}
		if rp.Replacement != toRecordItem(next) {
			return nil, &Disagreement{where + ".replacement", describeRecord(rp.Replacement), describe(next)}
		}
		delete(current, rp.Replaced)
		current[next.ID] = next
		used[next.ID] = true
	}
	if len(rec.Teams) == 0 && len(rec.Matches) == 0 {
		return v, nil // teams not drawn yet
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
	// Without the pairs, the teams (which recusals do not affect) and the
	// rule's choices without recusals are re-computed; the matches are then
	// checked against those below.
	td, err := DrawTeams(seed, m.Inspectors, depts, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, recusals)
	if err != nil {
		return nil, &Disagreement{"teams", fmt.Sprintf("%d teams", len(rec.Teams)), err.Error()}
	}
	if len(td.Teams) != len(rec.Teams) {
		return nil, &Disagreement{"teams", fmt.Sprintf("%d teams", len(rec.Teams)), fmt.Sprintf("%d teams", len(td.Teams))}
	}
	for i, t := range td.Teams {
		rt := rec.Teams[i]
		if rt.Team != t.Number || len(rt.Members) != len(t.Members) {
			return nil, &Disagreement{fmt.Sprintf("teams[%d]", i), fmt.Sprintf("team %d with %d members", rt.Team, len(rt.Members)), fmt.Sprintf("team %d with %d members", t.Number, len(t.Members))}
		}
		for j, mb := range t.Members {
			want := RecordMember{Department: mb.Department, Certificate: mb.Certificate, Ticket: mb.Ticket.String()}
			if rt.Members[j] != want {
				return nil, &Disagreement{fmt.Sprintf("teams[%d].members[%d]", i, j), fmt.Sprintf("%+v", rt.Members[j]), fmt.Sprintf("%+v", want)}
			}
		}
	}
	if len(td.Matches) != len(rec.Matches) {
		return nil, &Disagreement{"matches", fmt.Sprintf("%d matches", len(rec.Matches)), fmt.Sprintf("%d matches", len(td.Matches))}
	}
	if !v.RecusalsKnown {
		v.Deviations, err = checkMatchesWithoutRecusals(td, rec.Matches, v.Commitments)
		return v, err
	}
	for i, mt := range td.Matches {
		want := RecordMatch{CreditCode: mt.CreditCode, Team: mt.Team, Ticket: mt.Ticket.String()}
		if rec.Matches[i] != want {
			return nil, &Disagreement{fmt.Sprintf("matches[%d]", i), fmt.Sprintf("%+v", rec.Matches[i]), fmt.Sprintf("%+v", want)}
		}
	}
	return v, nil
}

// checkTimes checks a v2 record's times: sources_available_at as the
// manifest states it, committed before it, drawn not before it.
func checkTimes(rec *Record, m *Manifest) error {
	if rec.Format != RecordFormatV2 {
		return &Disagreement{"format", rec.Format, fmt.Sprintf("%s (the manifest is v%d)", RecordFormatV2, m.Version)}
	}
	if rec.SourcesAvailableAt != m.SourcesAvailableAt {
		return &Disagreement{"sources_available_at", rec.SourcesAvailableAt, m.SourcesAvailableAt + " (the manifest's)"}
	}
	avail, err := ParseSourcesTime(m.SourcesAvailableAt)
	if err != nil {
		return err
	}
	committed, err := ParseSourcesTime(rec.CommittedAt)
	if err != nil {
		return &Disagreement{"committed_at", rec.CommittedAt, err.Error()}
	}
	if !committed.Before(avail) {
		return &Disagreement{"committed_at", rec.CommittedAt, "a time before sources_available_at " + m.SourcesAvailableAt}
	}
	if rec.DrawnAt == "" {
		if rec.Seed != "" || len(rec.Selection) > 0 {
			return &Disagreement{"drawn_at", "nothing", "the time of the draw"}
		}
		return nil
	}
	drawn, err := ParseSourcesTime(rec.DrawnAt)
	if err != nil {
		return &Disagreement{"drawn_at", rec.DrawnAt, err.Error()}
	}
	if drawn.Before(avail) {
		return &Disagreement{"drawn_at", rec.DrawnAt, "not before sources_available_at " + m.SourcesAvailableAt}
	}
	return nil
}

// checkMatchesWithoutRecusals checks the recorded matches against td, the
// matching computed without recusals: the same targets in the same
// (match ticket, credit code) order, every team within its capacity, and a
// team other than the rule's choice without recusals (a deviation) at most
// once per recusal commitment. It returns the number of deviations.
func checkMatchesWithoutRecusals(td *TeamDraw, matches []RecordMatch, commitments int) (int, error) {
	g := len(td.Teams)
	capacity := (len(td.Matches) + g - 1) / g
	load := make([]int, g)
	deviations := 0
	for i, mt := range td.Matches {
		rm := matches[i]
		where := fmt.Sprintf("matches[%d]", i)
		if rm.CreditCode != mt.CreditCode || rm.Ticket != mt.Ticket.String() {
			return 0, &Disagreement{where, fmt.Sprintf("%s (ticket %s)", rm.CreditCode, rm.Ticket), fmt.Sprintf("%s (ticket %s)", mt.CreditCode, mt.Ticket)}
		}
		if rm.Team < 1 || rm.Team > g || load[rm.Team-1] >= capacity {
			return 0, &Disagreement{where + ".team", fmt.Sprint(rm.Team), fmt.Sprintf("a team of 1..%d with room (each takes at most %d targets)", g, capacity)}
		}
		best := 0
		for t := range load {
			if load[t] < load[best] {
				best = t
			}
		}
		if rm.Team != best+1 {
			deviations++
		}
		load[rm.Team-1]++
	}
	if deviations > commitments {
		return deviations, &Disagreement{"matches", fmt.Sprintf("%d matches off the rule without recusals", deviations),
			fmt.Sprintf("at most %d, one per recusal commitment", commitments)}
	}
	return deviations, nil
}

func toRecordItem(it Item) RecordItem {
	return RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()}
}

func describe(it Item) string { return describeRecord(toRecordItem(it)) }

func describeRecord(it RecordItem) string {
	return fmt.Sprintf("%s (stratum %q, ticket %s)", it.CreditCode, it.Stratum, it.Ticket)
}
