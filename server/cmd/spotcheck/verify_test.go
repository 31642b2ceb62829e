package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// runVerify runs "spotcheck verify ARGS…" in-process with stdin; it returns
// the exit code, stdout and stderr.
func runVerify(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"verify"}, args...), func(string) string { return "" },
		strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// rfcPool is the pool of RFC 3797 §6, in published order.
const rfcPool = "John\nMary\nBashful\nDopey\nSleepy\nGrouchy\nDoc\nSneazy\nHandsome\nCassandra\nPollyanna\nPendragon\nPandora\n" +
	"Faith\nHope\nCharity\nLee\nLongsuffering\nChastity\nSmith\nPride\nSloth\nEnvy\nAnger\nKasczynski\n"

var rfcSources = []string{"--source", "9319", "--source", "2 5 12 8 10", "--source", "9 18 26 34 41 45"}

func rfcArgs(extra ...string) []string {
	return append(append([]string{"rfc3797"}, rfcSources...), extra...)
}

func TestVerifyRFC3797_WorkedExample(t *testing.T) {
	first10 := "Lee\nDoc\nMary\nCharity\nKasczynski\nEnvy\nSneazy\nAnger\nChastity\nPandora\n"
	code, stdout, stderr := runVerify(t, rfcPool, rfcArgs("--count", "10")...)
	if code != 0 || stdout != first10 {
		t.Fatalf("count 10: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	first16 := first10 + "Sloth\nSleepy\nLongsuffering\nHandsome\nJohn\nDopey\n"
	code, stdout, stderr = runVerify(t, rfcPool, rfcArgs("--count", "16")...)
	if code != 0 || stdout != first16 {
		t.Fatalf("count 16: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// The order of numbers within a source does not matter (they are sorted);
	// CRLF line endings are tolerated; --positions prints the RFC's numbers.
	code, stdout, stderr = runVerify(t, strings.ReplaceAll(rfcPool, "\n", "\r\n"),
		"rfc3797", "--count", "3", "--positions", "--source", "9319", "--source", "10 8 12 5 2", "--source", "45\t41 34 26 18 9")
	if code != 0 || stdout != "17\tLee\n7\tDoc\n2\tMary\n" {
		t.Fatalf("positions: exit %d: %q %s", code, stdout, stderr)
	}
}

func TestVerifyRFC3797_BadInput(t *testing.T) {
	big := strings.Repeat("x\n", 1) + strings.Join(func() []string {
		var s []string
		for i := 0; i < 65535; i++ {
			s = append(s, fmt.Sprint("n", i))
		}
		return s
	}(), "\n") + "\n"
	for _, tc := range []struct {
		name  string
		pool  string
		args  []string
		code  int
		inErr string
	}{
		{"NoSource", rfcPool, []string{"rfc3797", "--count", "3"}, 2, "no --source"},
		{"NoCount", rfcPool, rfcArgs(), 2, "--count is required"},
		{"NegativeCount", rfcPool, rfcArgs("--count", "-1"), 2, "--count"},
		{"CountOverPool", rfcPool, rfcArgs("--count", "26"), 1, "more than the 25 names"},
		{"NegativeValue", rfcPool, []string{"rfc3797", "--source", "3 -4", "--count", "2"}, 2, `"-4" is not a non-negative integer`},
		{"Fraction", rfcPool, []string{"rfc3797", "--source", "3.5", "--count", "2"}, 2, `"3.5" is not a non-negative integer`},
		{"Word", rfcPool, []string{"rfc3797", "--source", "seven", "--count", "2"}, 2, `"seven" is not a non-negative integer`},
		{"Huge", rfcPool, []string{"rfc3797", "--source", "99999999999999999999", "--count", "2"}, 2, "too large"},
		{"EmptySource", rfcPool, []string{"rfc3797", "--source", "1", "--source", " ", "--count", "2"}, 2, "--source 2 is empty"},
		{"BlankLine", "John\n\nMary\n", rfcArgs("--count", "1"), 1, "pool line 2 is blank"},
		{"Duplicate", "John\nMary\nJohn\n", rfcArgs("--count", "1"), 1, `pool lines 1 and 3 hold the same name "John"`},
		{"InvalidUTF8", "John\nM\xffry\n", rfcArgs("--count", "1"), 1, "pool line 2 is not valid UTF-8"},
		{"EmptyPool", "", rfcArgs("--count", "1"), 1, "pool on stdin is empty"},
		{"PoolTooBig", big, rfcArgs("--count", "1"), 1, "more than 65535"},
		{"Argument", rfcPool, rfcArgs("--count", "1", "pool.txt"), 2, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runVerify(t, tc.pool, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.inErr) || stdout != "" {
				t.Fatalf("exit %d (want %d)\nstdout: %q\nstderr: %s(want %q)", code, tc.code, stdout, stderr, tc.inErr)
			}
		})
	}
}

// The reference below implements the ticket sampling of sc-sha256-v1 from
// docs/draw-spec.md alone, without the draw package: ticket =
// SHA-256(seed ‖ UTF-8(stratum) ‖ 0x00 ‖ UTF-8(id)) as a big-endian integer,
// k = ceil(r × N) per stratum by integer arithmetic on the decimal string,
// the k lowest (ticket, id), all printed in ascending (ticket, id).

type refEntry struct {
	id, stratum string
	ticket      [32]byte
}

func refLess(a, b refEntry) bool {
	if c := bytes.Compare(a.ticket[:], b.ticket[:]); c != 0 {
		return c < 0
	}
	return a.id < b.id
}

// refCeil returns ceil(ratio × n) for a decimal "I" or "I.F".
func refCeil(ratio string, n int) int {
	whole, frac, _ := strings.Cut(ratio, ".")
	num, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		panic(ratio)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	num.Mul(num, big.NewInt(int64(n)))
	num.Add(num, den)
	num.Sub(num, big.NewInt(1))
	return int(num.Quo(num, den).Int64())
}

func refSampleOutput(seed []byte, ids, strata []string, ratio func(stratum string) string) string {
	by := map[string][]refEntry{}
	for i, id := range ids {
		msg := append(append(append(append([]byte{}, seed...), strata[i]...), 0), id...)
		by[strata[i]] = append(by[strata[i]], refEntry{id, strata[i], sha256.Sum256(msg)})
	}
	var out []refEntry
	for s, es := range by {
		sort.Slice(es, func(i, j int) bool { return refLess(es[i], es[j]) })
		out = append(out, es[:refCeil(ratio(s), len(es))]...)
	}
	sort.Slice(out, func(i, j int) bool { return refLess(out[i], out[j]) })
	var b strings.Builder
	for _, e := range out {
		fmt.Fprintf(&b, "%s\t%s\t%x\n", e.id, e.stratum, e.ticket)
	}
	return b.String()
}

func TestVerifySample_AgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ratios := []string{"0", "1", "0.15", "0.5", "0.033", "0.999", "0.1", "0.07", "1.0", "0.0001"}
	strataNames := []string{"", "A", "B", "高风险", "low risk"}
	for trial := 0; trial < 40; trial++ {
		seed := make([]byte, 32)
		for i := range seed {
			seed[i] = byte(r.IntN(256))
		}
		n := r.IntN(400)
		nStrata := 1 + r.IntN(len(strataNames))
		var ids, strata []string
		var in strings.Builder
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("9135%014d", r.IntN(1e12))
			if r.IntN(10) == 0 {
				id = fmt.Sprintf("执法证-%d", r.IntN(1e6))
			}
			s := strataNames[r.IntN(nStrata)]
			if slices.ContainsFunc(ids, func(x string) bool { return x == id }) {
				continue
			}
			ids, strata = append(ids, id), append(strata, s)
			switch {
			case s == "" && r.IntN(2) == 0:
				in.WriteString(id + "\n") // no tab: the empty stratum
			case r.IntN(5) == 0:
				in.WriteString(id + "\t" + s + "\r\n")
			default:
				in.WriteString(id + "\t" + s + "\n")
			}
		}
		seedHex := hex.EncodeToString(seed)
		if trial%2 == 0 {
			seedHex = strings.ToUpper(seedHex)
		}

		// One ratio for every stratum.
		ratio := ratios[r.IntN(len(ratios))]
		want := refSampleOutput(seed, ids, strata, func(string) string { return ratio })
		code, stdout, stderr := runVerify(t, in.String(), "sample", "--seed", seedHex, "--ratio", ratio)
		if code != 0 || stdout != want {
			t.Fatalf("trial %d, ratio %s: exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", trial, ratio, code, stdout, want, stderr)
		}

		// A ratio per stratum: A and B by name, the rest by the plain --ratio.
		perStratum := map[string]string{"A": ratios[r.IntN(len(ratios))], "B": ratios[r.IntN(len(ratios))]}
		want = refSampleOutput(seed, ids, strata, func(s string) string {
			if v, ok := perStratum[s]; ok {
				return v
			}
			return ratio
		})
		code, stdout, stderr = runVerify(t, in.String(), "sample", "--ratio", "A="+perStratum["A"], "--seed", seedHex,
			"--ratio", ratio, "--ratio", "B="+perStratum["B"])
		if code != 0 || stdout != want {
			t.Fatalf("trial %d, ratios %v: exit %d\ngot:\n%s\nwant:\n%s\nstderr: %s", trial, perStratum, code, stdout, want, stderr)
		}
	}
}

func TestVerifySample_Format(t *testing.T) {
	seed := strings.Repeat("0f", 32)
	in := "91350203MA2XYZ0001\tA\n91350203MA2XYZ0002\n91350203MA2XYZ0003\tA\n91350203MA2XYZ0004\t\n"
	code, stdout, stderr := runVerify(t, in, "sample", "--seed", seed, "--ratio", "1", "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	line := regexp.MustCompile(`^91350203MA2XYZ000[1-4]\t(A|)\t[0-9a-f]{64}$`)
	lines := strings.Split(stdout, "\n")
	if len(lines) != 5 || lines[4] != "" {
		t.Fatalf("want 4 LF-ended lines, got %q", stdout)
	}
	for _, l := range lines[:4] {
		if !line.MatchString(l) {
			t.Fatalf("line %q is not id<TAB>stratum<TAB>ticket", l)
		}
	}
	// The ticket printed is the engine's, byte for byte, and ascending.
	s, _ := draw.ParseHash(seed)
	f := strings.Split(lines[0], "\t")
	if want := draw.Ticket(s, f[1], f[0]).String(); f[2] != want {
		t.Fatalf("ticket %s, want %s", f[2], want)
	}
	if !slices.IsSortedFunc(lines[:4], func(a, b string) int {
		return strings.Compare(strings.Split(a, "\t")[2], strings.Split(b, "\t")[2])
	}) {
		t.Fatalf("not in ticket order:\n%s", stdout)
	}
	if !strings.Contains(stderr, `stratum "A": N=2 ratio=1 k=2`) || !strings.Contains(stderr, `stratum "": N=2 ratio=1 k=2`) {
		t.Fatalf("-v: %s", stderr)
	}
	// The same id in two strata is two items.
	if code, stdout, stderr := runVerify(t, "a\tA\na\tB\n", "sample", "--seed", seed, "--ratio", "1"); code != 0 || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("same id in two strata: exit %d: %q %s", code, stdout, stderr)
	}
	// Empty input, ratio 0: nothing selected, no error.
	if code, stdout, _ := runVerify(t, "", "sample", "--seed", seed, "--ratio", "0.5"); code != 0 || stdout != "" {
		t.Fatalf("empty population: exit %d: %q", code, stdout)
	}
	if code, stdout, _ := runVerify(t, in, "sample", "--seed", seed, "--ratio", "0"); code != 0 || stdout != "" {
		t.Fatalf("ratio 0: exit %d: %q", code, stdout)
	}
}

func TestVerifySample_BadInput(t *testing.T) {
	seed := strings.Repeat("ab", 32)
	good := "a\tA\nb\tA\nc\n"
	for _, tc := range []struct {
		name  string
		in    string
		args  []string
		code  int
		inErr string
	}{
		{"NoSeed", good, []string{"--ratio", "0.5"}, 2, "--seed is required"},
		{"SeedNotHex", good, []string{"--seed", strings.Repeat("zz", 32), "--ratio", "0.5"}, 2, "not hex"},
		{"SeedShort", good, []string{"--seed", "abcd", "--ratio", "0.5"}, 2, "want 64 hex digits, got 4"},
		{"SeedLong", good, []string{"--seed", seed + "00", "--ratio", "0.5"}, 2, "want 64 hex digits, got 66"},
		{"NoRatio", good, []string{"--seed", seed}, 2, "--ratio is required"},
		{"RatioAboveOne", good, []string{"--seed", seed, "--ratio", "1.5"}, 2, "outside [0, 1]"},
		{"RatioNegative", good, []string{"--seed", seed, "--ratio", "-0.1"}, 2, "not a decimal"},
		{"RatioExponent", good, []string{"--seed", seed, "--ratio", "1e-1"}, 2, "not a decimal"},
		{"RatioFraction", good, []string{"--seed", seed, "--ratio", "1/3"}, 2, "not a decimal"},
		{"RatioPercent", good, []string{"--seed", seed, "--ratio", "15%"}, 2, "not a decimal"},
		{"RatioTwice", good, []string{"--seed", seed, "--ratio", "0.1", "--ratio", "0.2"}, 2, "already given"},
		{"StratumRatioTwice", good, []string{"--seed", seed, "--ratio", "A=0.1", "--ratio", "A=0.2"}, 2, `stratum "A" already has a ratio`},
		{"StratumWithoutRatio", good, []string{"--seed", seed, "--ratio", "A=0.1"}, 2, `no --ratio for stratum "" (first on line 3)`},
		{"BadFlag", good, []string{"--seed", seed, "--ratio", "0.1", "--bogus"}, 2, "flag provided but not defined"},
		{"Duplicate", "a\tA\nb\tA\nc\nb\tA\na\tA\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, `duplicate id "b" in stratum "A" on lines 2 and 4`},
		{"DuplicateEmptyStratum", "x\nc\ny\nc\t\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, `duplicate id "c" in stratum "" on lines 2 and 4`},
		{"InvalidUTF8", "a\tA\n\xc3\x28\tA\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 2 is not valid UTF-8"},
		{"EmptyID", "a\tA\n\tA\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 2 has an empty id"},
		{"BlankLine", "a\tA\n\nb\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 2 is blank"},
		{"CROnly", "a\tA\rb\tA\r", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 1 contains a carriage return"},
		{"ThreeFields", "a\tA\tx\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 1 has more than two tab-separated fields"},
		{"SpaceInID", "a\tA\nb \tA\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, `population line 2: id "b " starts or ends with white space`},
		{"BOM", "\uFEFFa\tA\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "byte order mark"},
		{"LongLine", strings.Repeat("x", maxLine+1) + "\n", []string{"--seed", seed, "--ratio", "0.5"}, 1, "population line 1 is longer than"},
		{"Argument", good, []string{"--seed", seed, "--ratio", "0.5", "population.tsv"}, 2, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runVerify(t, tc.in, append([]string{"sample"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.inErr) || stdout != "" {
				t.Fatalf("exit %d (want %d)\nstdout: %q\nstderr: %s(want %q)", code, tc.code, stdout, stderr, tc.inErr)
			}
		})
	}
}

func TestVerify_Usage(t *testing.T) {
	code, stdout, stderr := runVerify(t, "", "-h")
	if code != 0 || stdout != "" {
		t.Fatalf("-h: exit %d", code)
	}
	for _, want := range []string{"verify sample --seed HEX64 --ratio DECIMAL", "verify rfc3797 --source", "verify draw FILE|URL|-"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, stderr := runVerify(t, ""); code != 2 || !strings.Contains(stderr, "want: verify sample|rfc3797|draw") {
		t.Fatalf("no subcommand: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runVerify(t, "", "shuffle"); code != 2 || !strings.Contains(stderr, `unknown verify command "shuffle"`) {
		t.Fatalf("unknown subcommand: exit %d: %s", code, stderr)
	}
	for _, sub := range []string{"sample", "rfc3797", "draw"} {
		if code, _, stderr := runVerify(t, "", sub, "-h"); code != 0 || !strings.Contains(stderr, "usage: spotcheck verify "+sub) {
			t.Fatalf("%s -h: exit %d: %s", sub, code, stderr)
		}
	}
}

// testRecord builds the public record of a small campaign with the pure
// engine, the way the server does: 200 enterprises in strata A, B and "",
// two departments of 6 inspectors, one recusal and one replacement.
func testRecord(t *testing.T) *draw.Record {
	t.Helper()
	m := &draw.Manifest{
		CampaignID: 3, Name: "2026年网吧联合抽查", WindowStart: "2026-12-01", WindowEnd: "2026-12-06", Lead: "culture",
		Departments: []draw.ManifestDepartment{{Code: "market", CheckItems: []string{"SC-01@1"}}, {Code: "culture", CheckItems: []string{"WH-01@2"}}},
		Category:    "internet_cafe", Status: "active", ExclusionMonths: 6,
		Ratios:                  map[string]draw.Ratio{"A": draw.MustRatio("0.05"), "B": draw.MustRatio("0.15"), "": draw.MustRatio("0.1")},
		InspectorsPerDepartment: 2, TargetsPerTeam: 3,
		Randomness: []string{"双色球第2026140期开奖号码", "深证成指2026-12-01收盘点位"},
	}
	for i := 0; i < 200; i++ {
		m.Population = append(m.Population, draw.PopulationEntry{CreditCode: fmt.Sprintf("91350203%010d", i), Stratum: []string{"A", "B", ""}[i%3]})
	}
	depts := []string{"culture", "market"}
	for _, d := range depts {
		for i := 0; i < 6; i++ {
			m.Inspectors = append(m.Inspectors, draw.RosterEntry{Department: d, Certificate: fmt.Sprintf("%s-%02d", d, i)})
		}
	}
	m.Recusals = []draw.Recusal{{Certificate: "culture-01", CreditCode: m.Population[3].CreditCode}}
	m.Normalize()

	var buf strings.Builder
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	digest, _ := m.Digest()
	values := []string{"03 09 14 21 27 30 + 11", "10432.17"}
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
		Manifest: buf.String(), ManifestDigest: digest.String(), Randomness: values, Seed: seed.String()}
	current := map[string]draw.Item{}
	used := map[string]bool{}
	for _, it := range sel {
		rec.Selection = append(rec.Selection, draw.RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()})
		current[it.ID], used[it.ID] = it, true
	}
	gone := sel[0]
	next, ok := draw.Next(seed, m.Population, gone.Stratum, used)
	if !ok {
		t.Fatal("stratum exhausted")
	}
	rec.Replacements = append(rec.Replacements, draw.RecordReplacement{Seq: 1, Replaced: gone.ID, Reason: "deregistered",
		Replacement: draw.RecordItem{CreditCode: next.ID, Stratum: next.Stratum, Ticket: next.Ticket.String()}})
	delete(current, gone.ID)
	current[next.ID] = next
	var targets []draw.Target
	for _, p := range m.Population {
		if it, ok := current[p.CreditCode]; ok {
			targets = append(targets, draw.Target{CreditCode: it.ID, Stratum: it.Stratum})
		}
	}
	td, err := draw.DrawTeams(seed, m.Inspectors, depts, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, m.Recusals)
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

func writeRecord(t *testing.T, rec *draw.Record) string {
	t.Helper()
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "record.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyDraw(t *testing.T) {
	rec := testRecord(t)
	path := writeRecord(t, rec)
	code, stdout, stderr := runVerify(t, "", "draw", path)
	if code != 0 || !strings.HasSuffix(stdout, "\nagrees\n") {
		t.Fatalf("faithful record: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"campaign:        3\n",
		"manifest digest: " + rec.ManifestDigest + "\n",
		"seed:            " + rec.Seed + "\n",
		"population:      200 enterprises in 3 strata, 12 inspectors\n",
		fmt.Sprintf("result:          %d selected, 1 replaced, %d teams, %d matches\n", len(rec.Selection), len(rec.Teams), len(rec.Matches)),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}

	// From stdin.
	data, _ := os.ReadFile(path)
	if code, stdout, stderr := runVerify(t, string(data), "draw", "-"); code != 0 || !strings.HasSuffix(stdout, "agrees\n") {
		t.Fatalf("stdin: exit %d\n%s%s", code, stdout, stderr)
	}

	// One altered selection: exit 1, naming it.
	for _, tc := range []struct {
		name, where string
		alter       func(r *draw.Record)
	}{
		{"Selection", "selection[2]", func(r *draw.Record) { r.Selection[2].CreditCode = "913502030000000199" }},
		{"Ticket", "selection[0]", func(r *draw.Record) { r.Selection[0].Ticket = strings.Repeat("0", 64) }},
		{"Seed", "seed", func(r *draw.Record) { r.Randomness[1] = "10432.18" }},
		{"Digest", "manifest_digest", func(r *draw.Record) { r.ManifestDigest = strings.Repeat("1", 64) }},
		{"Replacement", "replacements[0].replacement", func(r *draw.Record) { r.Replacements[0].Replacement.CreditCode = "913502030000000198" }},
		{"Team", "teams[0].members[0]", func(r *draw.Record) { r.Teams[0].Members[0].Certificate = "culture-99" }},
		{"Match", "matches[1]", func(r *draw.Record) { r.Matches[1].Team = r.Matches[1].Team%len(r.Teams) + 1 }},
		{"CampaignID", "campaign_id", func(r *draw.Record) { r.CampaignID = 4 }},
		{"Algorithm", "algorithm", func(r *draw.Record) { r.Algorithm = "sc-sha256-v2" }},
	} {
		t.Run("Disagrees"+tc.name, func(t *testing.T) {
			bad := testRecord(t)
			tc.alter(bad)
			code, stdout, stderr := runVerify(t, "", "draw", writeRecord(t, bad))
			if code != 1 || !strings.Contains(stdout, "DISAGREES at "+tc.where+": the record says ") ||
				!strings.Contains(stdout, ", re-computation gives ") || strings.Contains(stdout, "agrees\n") {
				t.Fatalf("exit %d, want 1 naming %s\nstdout:\n%s\nstderr: %s", code, tc.where, stdout, stderr)
			}
			if !strings.Contains(stderr, "does not agree with its record at "+tc.where) {
				t.Fatalf("stderr: %s", stderr)
			}
		})
	}
	// The altered selection says both values.
	bad := testRecord(t)
	bad.Selection[2].CreditCode = "913502030000000199"
	_, stdout, _ = runVerify(t, "", "draw", writeRecord(t, bad))
	if !strings.Contains(stdout, "the record says 913502030000000199 (stratum ") || !strings.Contains(stdout, "re-computation gives "+rec.Selection[2].CreditCode+" (stratum ") {
		t.Fatalf("disagreement does not show both values:\n%s", stdout)
	}
}

func TestVerifyDraw_URL(t *testing.T) {
	rec := testRecord(t)
	data, _ := json.Marshal(rec)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/public/campaigns/3/record":
			w.Header().Set("Content-Type", "application/json")
			w.Write(data)
		case "/public/campaigns/9/record":
			w.Write(data[:len(data)/2]) // cut short
		default:
			http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on 127.0.0.1: %s", srv.URL)
	}

	url := srv.URL + "/public/campaigns/3/record"
	code, stdout, stderr := runVerify(t, "", "draw", url)
	if code != 0 || !strings.Contains(stdout, "record:          "+url+"\n") || !strings.HasSuffix(stdout, "\nagrees\n") {
		t.Fatalf("by URL: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runVerify(t, "", "draw", srv.URL+"/public/campaigns/4/record")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "the server answered 404 Not Found") || !strings.Contains(stderr, "not_found") {
		t.Fatalf("404: exit %d\nstdout: %q\nstderr: %s", code, stdout, stderr)
	}

	code, stdout, stderr = runVerify(t, "", "draw", srv.URL+"/public/campaigns/9/record")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "is not a draw record") {
		t.Fatalf("truncated: exit %d\nstdout: %q\nstderr: %s", code, stdout, stderr)
	}

	code, stdout, stderr = runVerify(t, "", "draw", "--max-size", "1000", url)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "larger than 1000 bytes") {
		t.Fatalf("size cap: exit %d\nstdout: %q\nstderr: %s", code, stdout, stderr)
	}
}

func TestVerifyDraw_BadRecord(t *testing.T) {
	rec := testRecord(t)
	data, _ := json.Marshal(rec)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	extraField := strings.Replace(string(data), `"format":`, `"note":"x","format":`, 1)
	wrongFormat := strings.Replace(string(data), draw.RecordFormat, "spotcheck-draw-record/v0", 1)
	badManifest := strings.Replace(string(data), `spotcheck-manifest/v1\n`, `spotcheck-manifest/v1\r\n`, 1)
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		inErr string
	}{
		{"UnknownField", []string{write("extra.json", extraField)}, 1, `unknown field "note"`},
		{"TrailingData", []string{write("trailing.json", string(data)+"{}")}, 1, "data after the JSON object"},
		{"NotJSON", []string{write("text.json", "hello")}, 1, "is not a draw record"},
		{"WrongFormat", []string{write("v0.json", wrongFormat)}, 1, "is not " + draw.RecordFormat},
		{"BadManifest", []string{write("manifest.json", badManifest)}, 1, "manifest cannot be read"},
		{"Missing", []string{filepath.Join(dir, "nope.json")}, 1, "no such file"},
		{"NoArgument", nil, 2, "want: verify draw FILE|URL|-"},
		{"TwoArguments", []string{"a.json", "b.json"}, 2, "want: verify draw FILE|URL|-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runVerify(t, "", append([]string{"draw"}, tc.args...)...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.inErr) {
				t.Fatalf("exit %d (want %d)\nstdout: %q\nstderr: %s(want %q)", code, tc.code, stdout, stderr, tc.inErr)
			}
		})
	}
}
