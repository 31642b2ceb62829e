package draw

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The first line of every manifest names its format. A v1 manifest lists
// recusals in the clear (recusal CERTIFICATE CREDIT-CODE), which publishes
// conflicts of interest of identifiable officers; v2 replaces them by salted
// commitments; v3 is v2 plus the materials each department asks the targets
// to prepare (material lines). Servers commit v3 only and read v1 and v2 to
// re-verify campaigns committed before it.
const (
	ManifestFormatV1 = "spotcheck-manifest/v1"
	ManifestFormatV2 = "spotcheck-manifest/v2"
	ManifestFormatV3 = "spotcheck-manifest/v3"
	// ManifestFormat is the format servers commit.
	ManifestFormat = ManifestFormatV3
)

// Manifest versions, as in Manifest.Version.
const (
	ManifestV1 = 1
	ManifestV2 = 2
	ManifestV3 = 3
)

// manifestFormats names each version's first line.
var manifestFormats = map[int]string{ManifestV1: ManifestFormatV1, ManifestV2: ManifestFormatV2, ManifestV3: ManifestFormatV3}

// SourcesTimeLayout is how sources_available_at is written: RFC 3339 in UTC,
// to the second, e.g. 2026-12-01T13:30:00Z.
const SourcesTimeLayout = "2006-01-02T15:04:05Z"

// Manifest is what a campaign freezes at commit: everything the draw depends
// on except the public randomness, which does not exist yet. Its canonical
// encoding (Encode) is hashed into the digest that is published and mixed into
// the seed, so nothing in it can change unnoticed.
//
// The encoding is UTF-8 text, one record per line, fields separated by TAB,
// every line ended by LF, in this order (lists sorted as stated):
//
//	spotcheck-manifest/v3
//	algorithm	sc-sha256-v1
//	campaign	ID
//	name	NAME
//	window	YYYY-MM-DD	YYYY-MM-DD
//	lead	DEPARTMENT-CODE
//	department	CODE	ITEM@VERSION,ITEM@VERSION…   one per participating department, by code
//	material	CODE	N	TEXT                           v3: the materials department CODE asks for, N = 1, 2, …; by code then N
//	filter	category	CATEGORY
//	filter	districts	D1,D2…                      sorted; empty for every district
//	filter	status	active
//	exclusion_months	N
//	ratio	STRATUM	DECIMAL                         one per stratum, by stratum
//	team	inspectors_per_department	N
//	team	targets_per_team	N
//	randomness	N	DESCRIPTION                     the named future sources, N = 1, 2, …
//	sources_available_at	YYYY-MM-DDTHH:MM:SSZ        the earliest time the sources can be known (UTC)
//	inspector	DEPARTMENT-CODE	CERTIFICATE             eligible roster, by department then certificate
//	recusal_commitment	HEX64                         RecusalCommitment of each recusal, ascending
//	exclusion	CREDIT-CODE	REASON                      by code
//	population	CREDIT-CODE	STRATUM                     by code
//
// A v2 manifest is a v3 one without material lines (and starts with
// spotcheck-manifest/v2). A v1 manifest starts with spotcheck-manifest/v1, has
// no sources_available_at line and no material lines, and has "recusal	CERTIFICATE	CREDIT-CODE" lines (by certificate then
// code) where v2 has recusal_commitment lines. No field may contain TAB or LF.
// A stratum may be empty (one ratio for all). docs/draw-spec.md is the
// normative description.
type Manifest struct {
	// Version is ManifestV3 for what servers commit; 0 reads as ManifestV1.
	Version                 int
	CampaignID              int64
	Name                    string
	WindowStart             string
	WindowEnd               string
	Lead                    string
	Departments             []ManifestDepartment
	Category                string
	Districts               []string
	Status                  string
	ExclusionMonths         int
	Ratios                  map[string]Ratio // by stratum
	InspectorsPerDepartment int
	TargetsPerTeam          int
	Randomness              []string // descriptions of the named future sources
	SourcesAvailableAt      string   // v2 and v3: SourcesTimeLayout
	Inspectors              []RosterEntry
	Recusals                []Recusal // v1 only: the pairs in the clear
	RecusalCommitments      []Hash    // v2 and v3: ascending
	Exclusions              []Exclusion
	Population              []PopulationEntry
}

// ManifestDepartment is a participating department, its check items and
// (v3) the materials it asks the targets to prepare.
type ManifestDepartment struct {
	Code       string
	CheckItems []string // CODE@VERSION
	// Materials are what the target must prepare for this department's
	// items (营业执照, 上网消费者登记记录 …), in the department's order: the
	// order is kept, never sorted.
	Materials []string
}

// RosterEntry is an eligible inspector, by certificate number only.
type RosterEntry struct{ Department, Certificate string }

// Recusal says the inspector with Certificate may never be matched to CreditCode.
type Recusal struct {
	Certificate string `json:"certificate"`
	CreditCode  string `json:"credit_code"`
}

// Exclusion is an enterprise left out of the population, and why.
type Exclusion struct{ CreditCode, Reason string }

// PopulationEntry is an eligible enterprise and its stratum.
type PopulationEntry struct{ CreditCode, Stratum string }

// Normalize sorts every list into its canonical order.
func (m *Manifest) Normalize() {
	slices.SortFunc(m.Departments, func(a, b ManifestDepartment) int { return strings.Compare(a.Code, b.Code) })
	for i := range m.Departments {
		slices.Sort(m.Departments[i].CheckItems)
	}
	slices.Sort(m.Districts)
	slices.SortFunc(m.Inspectors, func(a, b RosterEntry) int {
		return cmp2(a.Department, b.Department, a.Certificate, b.Certificate)
	})
	slices.SortFunc(m.Recusals, func(a, b Recusal) int { return cmp2(a.Certificate, b.Certificate, a.CreditCode, b.CreditCode) })
	slices.SortFunc(m.RecusalCommitments, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(m.Exclusions, func(a, b Exclusion) int { return strings.Compare(a.CreditCode, b.CreditCode) })
	slices.SortFunc(m.Population, func(a, b PopulationEntry) int { return strings.Compare(a.CreditCode, b.CreditCode) })
}

func cmp2(a1, b1, a2, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// version returns the manifest's version, 0 read as ManifestV1.
func (m *Manifest) version() int {
	if m.Version == 0 {
		return ManifestV1
	}
	return m.Version
}

// CommitsRecusals reports whether the manifest holds recusals as salted
// commitments (v2 and later) rather than pairs in the clear (v1).
func (m *Manifest) CommitsRecusals() bool { return m.version() >= ManifestV2 }

// ParseSourcesTime reads a sources_available_at value; it must be in its
// one canonical form (SourcesTimeLayout).
func ParseSourcesTime(s string) (time.Time, error) {
	t, err := time.Parse(SourcesTimeLayout, s)
	if err != nil || t.Format(SourcesTimeLayout) != s {
		return time.Time{}, fmt.Errorf("sources_available_at %q is not a UTC time like 2026-12-01T13:30:00Z", s)
	}
	return t, nil
}

// Strata returns the population's strata with their sizes.
func (m *Manifest) Strata() map[string]int {
	n := map[string]int{}
	for _, p := range m.Population {
		n[p.Stratum]++
	}
	return n
}

// Validate checks the manifest is encodable and self-consistent: lists in
// canonical order without duplicates, a ratio for every stratum, no TAB or LF.
func (m *Manifest) Validate() error {
	check := func(what string, fields ...string) error {
		for _, f := range fields {
			if strings.ContainsAny(f, "\t\n\r") {
				return fmt.Errorf("%s %q contains a tab or line break", what, f)
			}
			if strings.TrimSpace(f) != f {
				return fmt.Errorf("%s %q starts or ends with white space", what, f)
			}
		}
		return nil
	}
	if err := check("field", m.Name, m.WindowStart, m.WindowEnd, m.Lead, m.Category, m.Status); err != nil {
		return err
	}
	if m.InspectorsPerDepartment < 1 || m.TargetsPerTeam < 1 {
		return fmt.Errorf("team sizes must be at least 1")
	}
	if len(m.Randomness) == 0 {
		return fmt.Errorf("no public randomness source named")
	}
	for _, r := range m.Randomness {
		if err := check("randomness source", r); err != nil {
			return err
		}
	}
	for _, d := range m.Departments {
		if err := check("department", append([]string{d.Code}, d.CheckItems...)...); err != nil {
			return err
		}
		if len(d.Materials) > 0 && m.version() < ManifestV3 {
			return fmt.Errorf("a v%d manifest has no materials (department %q)", m.version(), d.Code)
		}
		for i, t := range d.Materials {
			if slices.Contains(d.Materials[:i], t) {
				return fmt.Errorf("department %q lists material %q twice", d.Code, t)
			}
			if t == "" {
				return fmt.Errorf("department %q has an empty material", d.Code)
			}
			if err := check("material", t); err != nil {
				return err
			}
		}
	}
	for i, p := range m.Population {
		if err := check("population entry", p.CreditCode, p.Stratum); err != nil {
			return err
		}
		if i > 0 && m.Population[i-1].CreditCode >= p.CreditCode {
			return fmt.Errorf("population not sorted or has a duplicate at %q", p.CreditCode)
		}
		if _, ok := m.Ratios[p.Stratum]; !ok {
			return fmt.Errorf("no ratio for stratum %q", p.Stratum)
		}
	}
	for i, r := range m.Inspectors {
		if err := check("inspector", r.Department, r.Certificate); err != nil {
			return err
		}
		if i > 0 && cmp2(m.Inspectors[i-1].Department, r.Department, m.Inspectors[i-1].Certificate, r.Certificate) >= 0 {
			return fmt.Errorf("roster not sorted or has a duplicate at %q", r.Certificate)
		}
	}
	switch m.version() {
	case ManifestV1:
		if m.SourcesAvailableAt != "" || len(m.RecusalCommitments) > 0 {
			return fmt.Errorf("a v1 manifest has no sources_available_at and no recusal commitments")
		}
	case ManifestV2, ManifestV3:
		if len(m.Recusals) > 0 {
			return fmt.Errorf("a v%d manifest carries recusal commitments, never the pairs", m.version())
		}
		if _, err := ParseSourcesTime(m.SourcesAvailableAt); err != nil {
			return err
		}
		for i := 1; i < len(m.RecusalCommitments); i++ {
			if bytes.Compare(m.RecusalCommitments[i-1][:], m.RecusalCommitments[i][:]) >= 0 {
				return fmt.Errorf("recusal commitments not sorted or with a duplicate at %s", m.RecusalCommitments[i])
			}
		}
	default:
		return fmt.Errorf("unknown manifest version %d", m.Version)
	}
	for _, r := range m.Recusals {
		if err := check("recusal", r.Certificate, r.CreditCode); err != nil {
			return err
		}
	}
	for _, e := range m.Exclusions {
		if err := check("exclusion", e.CreditCode, e.Reason); err != nil {
			return err
		}
	}
	return nil
}

// Encode writes the canonical encoding. Call Normalize first; Encode checks.
func (m *Manifest) Encode(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	line := func(fields ...string) { bw.WriteString(strings.Join(fields, "\t")); bw.WriteByte('\n') }
	line(manifestFormats[m.version()])
	line("algorithm", AlgorithmID)
	line("campaign", strconv.FormatInt(m.CampaignID, 10))
	line("name", m.Name)
	line("window", m.WindowStart, m.WindowEnd)
	line("lead", m.Lead)
	for _, d := range m.Departments {
		line("department", d.Code, strings.Join(d.CheckItems, ","))
	}
	for _, d := range m.Departments {
		for i, t := range d.Materials {
			line("material", d.Code, strconv.Itoa(i+1), t)
		}
	}
	line("filter", "category", m.Category)
	line("filter", "districts", strings.Join(m.Districts, ","))
	line("filter", "status", m.Status)
	line("exclusion_months", strconv.Itoa(m.ExclusionMonths))
	strata := make([]string, 0, len(m.Ratios))
	for s := range m.Ratios {
		strata = append(strata, s)
	}
	slices.Sort(strata)
	for _, s := range strata {
		line("ratio", s, m.Ratios[s].String())
	}
	line("team", "inspectors_per_department", strconv.Itoa(m.InspectorsPerDepartment))
	line("team", "targets_per_team", strconv.Itoa(m.TargetsPerTeam))
	for i, r := range m.Randomness {
		line("randomness", strconv.Itoa(i+1), r)
	}
	if m.version() >= ManifestV2 {
		line("sources_available_at", m.SourcesAvailableAt)
	}
	for _, r := range m.Inspectors {
		line("inspector", r.Department, r.Certificate)
	}
	for _, r := range m.Recusals {
		line("recusal", r.Certificate, r.CreditCode)
	}
	for _, c := range m.RecusalCommitments {
		line("recusal_commitment", c.String())
	}
	for _, e := range m.Exclusions {
		line("exclusion", e.CreditCode, e.Reason)
	}
	for _, p := range m.Population {
		line("population", p.CreditCode, p.Stratum)
	}
	return bw.Flush()
}

// Digest returns the SHA-256 of the canonical encoding.
func (m *Manifest) Digest() (Hash, error) {
	h := sha256.New()
	if err := m.Encode(h); err != nil {
		return Hash{}, err
	}
	var out Hash
	h.Sum(out[:0])
	return out, nil
}

// ParseManifest reads a manifest and checks it is canonical: it must
// re-encode to exactly the bytes read, so its digest is the digest of what was
// published.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{Ratios: map[string]Ratio{}}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("manifest must end with a line break")
	}
	lines = lines[:len(lines)-1]
	switch lines[0] {
	case ManifestFormatV1:
		m.Version = ManifestV1
	case ManifestFormatV2:
		m.Version = ManifestV2
	case ManifestFormatV3:
		m.Version = ManifestV3
	default:
		return nil, fmt.Errorf("not a %s (or %s, %s) manifest", ManifestFormatV3, ManifestFormatV2, ManifestFormatV1)
	}
	for n, text := range lines[1:] {
		f := strings.Split(text, "\t")
		bad := func(format string, args ...any) error {
			return fmt.Errorf("manifest line %d: %s", n+2, fmt.Sprintf(format, args...))
		}
		arity := map[string]int{
			"algorithm": 2, "campaign": 2, "name": 2, "window": 3, "lead": 2, "department": 3, "filter": 3,
			"exclusion_months": 2, "ratio": 3, "team": 3, "randomness": 3, "inspector": 3, "recusal": 3,
			"exclusion": 3, "population": 3, "sources_available_at": 2, "recusal_commitment": 2, "material": 4,
		}
		if want, ok := arity[f[0]]; !ok || len(f) != want {
			return nil, bad("unknown record %q or wrong number of fields", f[0])
		}
		var err error
		switch f[0] {
		case "algorithm":
			if f[1] != AlgorithmID {
				return nil, bad("algorithm %q is not %s", f[1], AlgorithmID)
			}
		case "campaign":
			m.CampaignID, err = strconv.ParseInt(f[1], 10, 64)
		case "name":
			m.Name = f[1]
		case "window":
			m.WindowStart, m.WindowEnd = f[1], f[2]
		case "lead":
			m.Lead = f[1]
		case "department":
			d := ManifestDepartment{Code: f[1]}
			if f[2] != "" {
				d.CheckItems = strings.Split(f[2], ",")
			}
			m.Departments = append(m.Departments, d)
		case "material":
			// Materials follow the department lines; the re-encoding below
			// refuses them in any other place or order.
			i := slices.IndexFunc(m.Departments, func(d ManifestDepartment) bool { return d.Code == f[1] })
			if i < 0 {
				return nil, bad("material for %q, which is not a department line above", f[1])
			}
			m.Departments[i].Materials = append(m.Departments[i].Materials, f[3])
		case "filter":
			switch f[1] {
			case "category":
				m.Category = f[2]
			case "districts":
				if f[2] != "" {
					m.Districts = strings.Split(f[2], ",")
				}
			case "status":
				m.Status = f[2]
			default:
				return nil, bad("unknown filter %q", f[1])
			}
		case "exclusion_months":
			m.ExclusionMonths, err = strconv.Atoi(f[1])
		case "ratio":
			var r Ratio
			if r, err = ParseRatio(f[2]); err == nil {
				m.Ratios[f[1]] = r
			}
		case "team":
			var v int
			v, err = strconv.Atoi(f[2])
			switch f[1] {
			case "inspectors_per_department":
				m.InspectorsPerDepartment = v
			case "targets_per_team":
				m.TargetsPerTeam = v
			default:
				return nil, bad("unknown team rule %q", f[1])
			}
		case "randomness":
			m.Randomness = append(m.Randomness, f[2])
		case "inspector":
			m.Inspectors = append(m.Inspectors, RosterEntry{Department: f[1], Certificate: f[2]})
		case "recusal":
			m.Recusals = append(m.Recusals, Recusal{Certificate: f[1], CreditCode: f[2]})
		case "sources_available_at":
			m.SourcesAvailableAt = f[1]
		case "recusal_commitment":
			var c Hash
			if c, err = ParseHash(f[1]); err == nil {
				m.RecusalCommitments = append(m.RecusalCommitments, c)
			}
		case "exclusion":
			m.Exclusions = append(m.Exclusions, Exclusion{CreditCode: f[1], Reason: f[2]})
		case "population":
			m.Population = append(m.Population, PopulationEntry{CreditCode: f[1], Stratum: f[2]})
		}
		if err != nil {
			return nil, bad("%v", err)
		}
	}
	var buf strings.Builder
	if err := m.Encode(&buf); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if buf.String() != string(data) {
		return nil, fmt.Errorf("manifest is not in canonical form (order, spacing or number format differs)")
	}
	return m, nil
}
