package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/server/draw"
)

// The verify commands re-compute a draw with nothing but this binary: no
// server, no database, no network (except fetching a record by URL). They
// share the draw package with the server, so a record that verifies here was
// drawn by the published algorithm. docs/verify.md describes them for the
// public, with a re-implementation in a few lines of Python.
func init() {
	register("verify", "re-compute a published draw: verify sample|rfc3797|draw", cmdVerify)
}

const verifyUsage = `usage:
  spotcheck verify sample --seed HEX64 --ratio DECIMAL [--ratio STRATUM=DECIMAL …] < population
      sc-sha256-v1 ticket sampling. stdin: one item per line, "id<TAB>stratum"
      (a line without a tab has the empty stratum). Prints the selected items as
      "id<TAB>stratum<TAB>ticket" in ascending (ticket, id), k = ceil(ratio × N)
      per stratum. A plain --ratio applies to every stratum; STRATUM=DECIMAL sets
      one stratum's ratio ("=DECIMAL" is the empty stratum).

  spotcheck verify rfc3797 --source "N N …" [--source "N N …" …] --count N < pool
      RFC 3797 selection. Each --source is one randomness source's integers,
      separated by spaces, in the published order of sources. stdin: the pool,
      one name per line in published order. Prints the selected names in
      selection order.

  spotcheck verify draw FILE|URL|- [--recusals OPENINGS.json]
      Re-computes a published draw record (JSON, as served at
      /public/campaigns/ID/record) and says whether its seed, selection,
      replacements, teams and matches agree; exit 1 naming the first
      disagreement. "-" reads the record from stdin. Recusals are public as
      salted commitments only: without --recusals the matching is checked as
      far as that allows; an auditor passes the openings (GET
      /v1/campaigns/ID/recusal-openings) to check it in full.

Run 'spotcheck verify sample|rfc3797|draw -h' for a command's flags.
`

func cmdVerify(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, verifyUsage)
		return usagef("want: verify sample|rfc3797|draw")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stderr, verifyUsage)
		return flag.ErrHelp
	case "sample":
		return verifySample(env, args[1:])
	case "rfc3797":
		return verifyRFC3797(env, args[1:])
	case "draw":
		return verifyDraw(ctx, env, args[1:])
	}
	fmt.Fprint(env.Stderr, verifyUsage)
	return usagef("unknown verify command %q: want sample, rfc3797 or draw", args[0])
}

// verifyFlags parses a verify subcommand's flags; a mistake is a usage error
// (exit 2), -h is not an error.
func verifyFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, usagef("%v", err)
	}
	return pos, err
}

// maxLine is the longest input line the verify commands accept.
const maxLine = 1 << 20

// lineReader reads stdin line by line for the verify commands: LF-ended
// lines, one trailing CR tolerated (CRLF files), valid UTF-8 only, no byte
// order mark. Errors name the line.
type lineReader struct {
	sc   *bufio.Scanner
	n    int // current line number, 1-based
	what string
}

func newLineReader(r io.Reader, what string) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &lineReader{sc: sc, what: what}
}

// next returns the next line without its line ending, or ok == false at the
// end of input (err says whether the input was bad).
func (lr *lineReader) next() (line []byte, ok bool, err error) {
	if !lr.sc.Scan() {
		if err := lr.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return nil, false, fmt.Errorf("%s line %d is longer than %d bytes", lr.what, lr.n+1, maxLine)
			}
			return nil, false, fmt.Errorf("reading %s: %w", lr.what, err)
		}
		return nil, false, nil
	}
	lr.n++
	line = lr.sc.Bytes()
	line = bytes.TrimSuffix(line, []byte{'\r'})
	switch {
	case lr.n == 1 && bytes.HasPrefix(line, []byte("\uFEFF")):
		return nil, false, fmt.Errorf("%s line 1 starts with a UTF-8 byte order mark (U+FEFF); save the file without it", lr.what)
	case !utf8.Valid(line):
		return nil, false, fmt.Errorf("%s line %d is not valid UTF-8", lr.what, lr.n)
	case bytes.IndexByte(line, '\r') >= 0:
		return nil, false, fmt.Errorf("%s line %d contains a carriage return (CR); lines must end with LF or CRLF", lr.what, lr.n)
	}
	return line, true, nil
}

// ratioFlags collects repeated --ratio values.
type ratioFlags []string

func (r *ratioFlags) String() string     { return strings.Join(*r, " ") }
func (r *ratioFlags) Set(s string) error { *r = append(*r, s); return nil }

// sampleEntry is one population line with its ticket. The id lives in an
// idArena, so entries hold no pointers: the garbage collector never scans
// them, and ten million take 480 MB.
type sampleEntry struct {
	ticket  draw.Hash
	id      idRef
	stratum uint32 // index into the strata seen
	line    uint32
}

// entryChunk is how many entries a chunk holds; growing by whole chunks
// never copies what was read.
const entryChunk = 1 << 14

// entryList is a list of entries in fixed-size chunks.
type entryList struct {
	chunks [][]sampleEntry
	n      int
}

func (l *entryList) add(e sampleEntry) {
	if l.n%entryChunk == 0 {
		l.chunks = append(l.chunks, make([]sampleEntry, 0, entryChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, e)
	l.n++
}

func (l *entryList) at(i int) *sampleEntry { return &l.chunks[i/entryChunk][i%entryChunk] }

// idArena holds every id back to back in chunks of arenaChunk bytes; an id
// never straddles two chunks. References are 32-bit, so it holds up to 4 GiB.
type idArena struct{ chunks [][]byte }

// idRef is an id in an idArena: arenaChunk × chunk + offset, and length.
type idRef struct{ off, n uint32 }

const arenaChunk = 4 << 20 // more than maxLine

func (a *idArena) add(id []byte) (idRef, bool) {
	if len(a.chunks) == 0 || len(a.chunks[len(a.chunks)-1])+len(id) > arenaChunk {
		if len(a.chunks) == math.MaxUint32/arenaChunk {
			return idRef{}, false
		}
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	c := &a.chunks[len(a.chunks)-1]
	ref := idRef{off: uint32((len(a.chunks)-1)*arenaChunk + len(*c)), n: uint32(len(id))}
	*c = append(*c, id...)
	return ref, true
}

func (a *idArena) get(r idRef) []byte {
	c, o := r.off/arenaChunk, r.off%arenaChunk
	return a.chunks[c][o : o+r.n]
}

// rankStratum returns the positions (in the low 32 bits of each value) of the
// entries of one stratum in ascending (ticket, id). It sorts one integer per
// entry, the ticket's top 32 bits above the entry's position, which is several
// times faster than sorting the entries, then puts each run of equal top bits
// (rarely more than one entry, but always every pair of equal ids, since an
// id has one ticket per stratum) in full (ticket, id) order.
func rankStratum(entries *entryList, ids *idArena, positions []uint64) {
	for i, p := range positions {
		t := entries.at(int(uint32(p))).ticket
		positions[i] = uint64(binary.BigEndian.Uint32(t[:4]))<<32 | uint64(uint32(p))
	}
	slices.Sort(positions)
	full := func(a, b uint64) int {
		ea, eb := entries.at(int(uint32(a))), entries.at(int(uint32(b)))
		if c := bytes.Compare(ea.ticket[:], eb.ticket[:]); c != 0 {
			return c
		}
		return bytes.Compare(ids.get(ea.id), ids.get(eb.id))
	}
	for i := 0; i < len(positions); {
		j := i + 1
		for j < len(positions) && positions[j]>>32 == positions[i]>>32 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(positions[i:j], full)
		}
		i = j
	}
}

func verifySample(env *Env, args []string) error {
	fs := flag.NewFlagSet("verify sample", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spotcheck verify sample --seed HEX64 --ratio DECIMAL [--ratio STRATUM=DECIMAL …] < population")
		fmt.Fprintln(fs.Output(), `stdin: "id<TAB>stratum" lines; stdout: "id<TAB>stratum<TAB>ticket" for the selected items, ascending (ticket, id)`)
		fs.PrintDefaults()
	}
	seedHex := fs.String("seed", "", "the draw seed, 64 hex digits")
	var ratioArgs ratioFlags
	fs.Var(&ratioArgs, "ratio", "sampling ratio as a decimal in [0, 1], e.g. 0.15, for every stratum; or STRATUM=DECIMAL for one stratum (repeatable)")
	verbose := fs.Bool("v", false, "print each stratum's N, ratio and k on stderr")
	pos, err := verifyFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return usagef("verify sample takes no arguments, the population comes on stdin (got %q)", pos[0])
	}
	if *seedHex == "" {
		fs.Usage()
		return usagef("--seed is required")
	}
	seed, err := draw.ParseHash(*seedHex)
	if err != nil {
		return usagef("--seed %q: %v", *seedHex, err)
	}
	if len(ratioArgs) == 0 {
		fs.Usage()
		return usagef("--ratio is required")
	}
	var defaultRatio *draw.Ratio
	ratios := map[string]draw.Ratio{}
	for _, a := range ratioArgs {
		stratum, dec, perStratum := "", a, false
		if i := strings.LastIndexByte(a, '='); i >= 0 {
			stratum, dec, perStratum = a[:i], a[i+1:], true
		}
		r, err := draw.ParseRatio(dec)
		if err != nil {
			return usagef("--ratio %q: %v", a, err)
		}
		switch {
		case !perStratum && defaultRatio != nil:
			return usagef("--ratio %q: a ratio for every stratum was already given (%s)", a, defaultRatio)
		case !perStratum:
			defaultRatio = &r
		case hasKey(ratios, stratum):
			return usagef("--ratio %q: stratum %q already has a ratio", a, stratum)
		default:
			ratios[stratum] = r
		}
	}

	type stratumInfo struct {
		name      string
		n         int
		firstLine int
	}
	var (
		strata   []stratumInfo
		stratumN = map[string]uint32{}
		entries  entryList
		ids      idArena
	)
	lr := newLineReader(env.Stdin, "population")
	for {
		line, ok, err := lr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		idB, stratumB, _ := bytes.Cut(line, []byte{'\t'})
		switch {
		case len(line) == 0:
			return fmt.Errorf("population line %d is blank; every line must hold an id", lr.n)
		case len(idB) == 0:
			return fmt.Errorf("population line %d has an empty id", lr.n)
		case bytes.IndexByte(stratumB, '\t') >= 0:
			return fmt.Errorf("population line %d has more than two tab-separated fields; want id<TAB>stratum", lr.n)
		case len(bytes.TrimSpace(idB)) != len(idB):
			return fmt.Errorf("population line %d: id %q starts or ends with white space", lr.n, idB)
		case len(bytes.TrimSpace(stratumB)) != len(stratumB):
			return fmt.Errorf("population line %d: stratum %q starts or ends with white space", lr.n, stratumB)
		}
		si, ok := stratumN[string(stratumB)]
		if !ok {
			si = uint32(len(strata))
			strata = append(strata, stratumInfo{name: string(stratumB), firstLine: lr.n})
			stratumN[strata[si].name] = si
		}
		ref, ok := ids.add(idB)
		if !ok {
			return fmt.Errorf("population line %d: the ids add up to more than 4 GiB, more than verify sample holds", lr.n)
		}
		strata[si].n++
		entries.add(sampleEntry{ticket: draw.Ticket(seed, strata[si].name, string(idB)), id: ref, stratum: si, line: uint32(lr.n)})
	}

	for s := range ratios {
		if _, ok := stratumN[s]; !ok {
			fmt.Fprintf(env.Stderr, "spotcheck verify sample: warning: --ratio given for stratum %q, which has no items\n", s)
		}
	}
	stratumRatio := make([]draw.Ratio, len(strata))
	for i, st := range strata {
		r, ok := ratios[st.name]
		if !ok {
			if defaultRatio == nil {
				return usagef("no --ratio for stratum %q (first on line %d): give --ratio %s=DECIMAL or a plain --ratio for every stratum", st.name, st.firstLine, st.name)
			}
			r = *defaultRatio
		}
		stratumRatio[i] = r
	}
	// Each stratum's entry positions, in input order.
	positions := make([][]uint64, len(strata))
	for i, st := range strata {
		positions[i] = make([]uint64, 0, st.n)
	}
	for i := 0; i < entries.n; i++ {
		si := entries.at(i).stratum
		positions[si] = append(positions[si], uint64(i))
	}
	order := make([]int, len(strata)) // strata by name, for -v
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(strata[a].name, strata[b].name) })

	var selected []draw.Item
	var dup struct {
		id, stratum  string
		first, later int
	}
	for _, si := range order {
		st, pos := strata[si], positions[si]
		// Ranking the whole stratum puts equal ids next to each other, so
		// duplicates are found without an index of every id.
		rankStratum(&entries, &ids, pos)
		for i := 1; i < len(pos); i++ {
			if pos[i-1]>>32 != pos[i]>>32 {
				continue // different tickets
			}
			a, b := entries.at(int(uint32(pos[i-1]))), entries.at(int(uint32(pos[i])))
			if a.ticket != b.ticket || !bytes.Equal(ids.get(a.id), ids.get(b.id)) {
				continue
			}
			first, later := int(min(a.line, b.line)), int(max(a.line, b.line))
			if dup.later == 0 || later < dup.later {
				dup.id, dup.stratum, dup.first, dup.later = string(ids.get(a.id)), st.name, first, later
			}
		}
		k := stratumRatio[si].Count(st.n)
		if *verbose {
			fmt.Fprintf(env.Stderr, "stratum %q: N=%d ratio=%s k=%d\n", st.name, st.n, stratumRatio[si], k)
		}
		for _, p := range pos[:k] {
			e := entries.at(int(uint32(p)))
			selected = append(selected, draw.Item{ID: string(ids.get(e.id)), Stratum: st.name, Ticket: e.ticket})
		}
		positions[si] = nil
	}
	if dup.later > 0 {
		return fmt.Errorf("duplicate id %q in stratum %q on lines %d and %d", dup.id, dup.stratum, dup.first, dup.later)
	}
	slices.SortFunc(selected, draw.Compare)

	w := bufio.NewWriterSize(env.Stdout, 64<<10)
	var hexBuf [64]byte
	for _, it := range selected {
		w.WriteString(it.ID)
		w.WriteByte('\t')
		w.WriteString(it.Stratum)
		w.WriteByte('\t')
		hexEncode(hexBuf[:], it.Ticket[:])
		w.Write(hexBuf[:])
		w.WriteByte('\n')
	}
	return w.Flush()
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

func hexEncode(dst, src []byte) {
	const digits = "0123456789abcdef"
	for i, b := range src {
		dst[2*i], dst[2*i+1] = digits[b>>4], digits[b&15]
	}
}

// sourceFlags collects repeated --source values.
type sourceFlags []string

func (s *sourceFlags) String() string     { return strings.Join(*s, " / ") }
func (s *sourceFlags) Set(v string) error { *s = append(*s, v); return nil }

func verifyRFC3797(env *Env, args []string) error {
	fs := flag.NewFlagSet("verify rfc3797", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: spotcheck verify rfc3797 --source "N N …" [--source "N N …" …] --count N < pool`)
		fmt.Fprintln(fs.Output(), "stdin: the pool, one name per line in published order; stdout: the selected names in selection order")
		fs.PrintDefaults()
	}
	var srcArgs sourceFlags
	fs.Var(&srcArgs, "source", "one randomness source's non-negative integers, separated by white space (repeatable, in the published order of sources)")
	count := fs.Int("count", -1, "how many names to select")
	positions := fs.Bool("positions", false, `print "POSITION<TAB>NAME", the 1-based position in the pool, as the RFC's tables do`)
	pos, err := verifyFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return usagef("verify rfc3797 takes no arguments, the pool comes on stdin (got %q)", pos[0])
	}
	if len(srcArgs) == 0 {
		fs.Usage()
		return usagef("no --source: give each randomness source's values, e.g. --source \"2 5 12 8 10\"")
	}
	if *count < 0 {
		fs.Usage()
		return usagef("--count is required and must not be negative")
	}
	sources := make([][]int64, len(srcArgs))
	for i, s := range srcArgs {
		fields := strings.Fields(s)
		if len(fields) == 0 {
			return usagef("--source %d is empty", i+1)
		}
		for _, f := range fields {
			n, err := parseNonNegative(f)
			if err != nil {
				return usagef("--source %d (%q): %v", i+1, s, err)
			}
			sources[i] = append(sources[i], n)
		}
	}

	var pool []string
	seen := map[string]int{}
	lr := newLineReader(env.Stdin, "pool")
	for {
		line, ok, err := lr.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		name := string(line)
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("pool line %d is blank; every line must hold a name (the position of each name is part of the draw)", lr.n)
		}
		if first, ok := seen[name]; ok {
			return fmt.Errorf("pool lines %d and %d hold the same name %q; make the names distinct", first, lr.n, name)
		}
		seen[name] = lr.n
		if len(pool) == 65535 {
			return fmt.Errorf("the pool has more than 65535 names, the most RFC 3797 allows")
		}
		pool = append(pool, name)
	}
	switch {
	case len(pool) == 0:
		return fmt.Errorf("the pool on stdin is empty")
	case *count > len(pool):
		return fmt.Errorf("--count %d is more than the %d names in the pool", *count, len(pool))
	}
	picked, err := draw.RFC3797(sources, len(pool), *count)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(env.Stdout)
	for _, p := range picked {
		if *positions {
			fmt.Fprintf(w, "%d\t", p+1)
		}
		w.WriteString(pool[p])
		w.WriteByte('\n')
	}
	return w.Flush()
}

// parseNonNegative reads a decimal integer of digits only: no sign, no
// fraction, no exponent.
func parseNonNegative(s string) (int64, error) {
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// errDisagrees makes verify draw exit 1 after its report.
var errDisagrees = errors.New("the draw does not agree with its record")

func verifyDraw(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("verify draw", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: spotcheck verify draw FILE|URL|- [flags]")
		fmt.Fprintln(fs.Output(), "re-computes a public draw record and says whether it agrees; exit 1 naming the first disagreement")
		fs.PrintDefaults()
	}
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit for fetching a URL")
	maxSize := fs.Int64("max-size", 1<<30, "largest record accepted, in bytes")
	recusalsFile := fs.String("recusals", "", "an auditor's recusal openings (JSON from /v1/campaigns/ID/recusal-openings): check the matching against the opened pairs")
	pos, err := verifyFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("want: verify draw FILE|URL|-")
	}
	data, err := readRecord(ctx, env, pos[0], *timeout, *maxSize)
	if err != nil {
		return err
	}
	var rec draw.Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("%s is not a draw record: %w", pos[0], err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s is not a draw record: data after the JSON object", pos[0])
	}
	if rec.Format != draw.RecordFormatV2 && rec.Format != draw.RecordFormatV1 {
		return fmt.Errorf("%s: record format %q is not %s or %s", pos[0], rec.Format, draw.RecordFormatV2, draw.RecordFormatV1)
	}
	var openings []draw.RecusalOpening
	if *recusalsFile != "" {
		if openings, err = readOpenings(*recusalsFile, rec.CampaignID); err != nil {
			return err
		}
	}
	m, err := draw.ParseManifest([]byte(rec.Manifest))
	if err != nil {
		return fmt.Errorf("%s: the record's manifest cannot be read: %w", pos[0], err)
	}

	out := env.Stdout
	fmt.Fprintf(out, "record:          %s\n", pos[0])
	fmt.Fprintf(out, "campaign:        %d\n", rec.CampaignID)
	fmt.Fprintf(out, "algorithm:       %s\n", rec.Algorithm)
	fmt.Fprintf(out, "manifest digest: %s\n", rec.ManifestDigest)
	if rec.CommittedAt != "" {
		fmt.Fprintf(out, "committed at:    %s\n", rec.CommittedAt)
		fmt.Fprintf(out, "sources known:   %s (the earliest time, as the manifest states)\n", rec.SourcesAvailableAt)
		if rec.DrawnAt != "" {
			fmt.Fprintf(out, "drawn at:        %s\n", rec.DrawnAt)
		}
	}
	fmt.Fprintf(out, "seed:            %s\n", rec.Seed)
	fmt.Fprintf(out, "population:      %d enterprises in %d strata, %d inspectors\n", len(m.Population), len(m.Strata()), len(m.Inspectors))
	fmt.Fprintf(out, "result:          %d selected, %d replaced, %d teams, %d matches\n",
		len(rec.Selection), len(rec.Replacements), len(rec.Teams), len(rec.Matches))

	// The record's own header fields first: the engine checks the rest.
	var d *draw.Disagreement
	var v *draw.Verification
	switch {
	case rec.Algorithm != draw.AlgorithmID:
		d = &draw.Disagreement{Where: "algorithm", Recorded: rec.Algorithm, Computed: draw.AlgorithmID + " (the manifest's)"}
	case rec.CampaignID != m.CampaignID:
		d = &draw.Disagreement{Where: "campaign_id", Recorded: strconv.FormatInt(rec.CampaignID, 10), Computed: strconv.FormatInt(m.CampaignID, 10) + " (the manifest's)"}
	default:
		var err error
		v, err = draw.VerifyOpenings(&rec, openings)
		if err != nil && !errors.As(err, &d) {
			return fmt.Errorf("%s cannot be re-computed: %w", pos[0], err)
		}
	}
	if d != nil {
		recorded := d.Recorded
		if recorded == "" {
			recorded = "nothing"
		}
		fmt.Fprintf(out, "DISAGREES at %s: the record says %s, re-computation gives %s\n", d.Where, recorded, d.Computed)
		return fmt.Errorf("%w at %s", errDisagrees, d.Where)
	}
	switch {
	case len(rec.Matches) == 0:
	case v.RecusalsKnown && openings != nil:
		fmt.Fprintf(out, "recusals:        %d openings match the commitments; the matching was re-computed with them\n", len(openings))
	case v.RecusalsKnown:
		fmt.Fprintln(out, "recusals:        in the clear (a v1 manifest); the matching was re-computed with them")
	default:
		fmt.Fprintf(out, "recusals:        %d salted commitments, not opened: %d matches differ from the rule without recusals (at most one per commitment);\n"+
			"                 an auditor checks them with --recusals (see docs/verify.md)\n", v.Commitments, v.Deviations)
	}
	fmt.Fprintln(out, "agrees")
	return nil
}

// readOpenings reads an auditor's recusal openings: the JSON of
// GET /v1/campaigns/ID/recusal-openings, for the record's campaign.
func readOpenings(path string, campaignID int64) ([]draw.RecusalOpening, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		CampaignID int64                 `json:"campaign_id"`
		Openings   []draw.RecusalOpening `json:"openings"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s is not a recusal openings file: %w", path, err)
	}
	if f.CampaignID != campaignID {
		return nil, fmt.Errorf("%s opens the recusals of campaign %d, the record is of campaign %d", path, f.CampaignID, campaignID)
	}
	if f.Openings == nil {
		f.Openings = []draw.RecusalOpening{}
	}
	return f.Openings, nil
}

// readRecord reads FILE, URL or stdin ("-"), at most maxSize bytes.
func readRecord(ctx context.Context, env *Env, src string, timeout time.Duration, maxSize int64) ([]byte, error) {
	var r io.Reader
	switch {
	case src == "-":
		r = env.Stdin
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, usagef("bad URL %q: %v", src, err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching the record: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			msg := strings.Join(strings.Fields(strings.ToValidUTF8(string(snippet), "?")), " ")
			if msg != "" {
				msg = ": " + msg
			}
			return nil, fmt.Errorf("fetching %s: the server answered %s%s", src, resp.Status, msg)
		}
		r = resp.Body
	default:
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%s is larger than %d bytes; raise --max-size if it is genuine", src, maxSize)
	}
	return data, nil
}
