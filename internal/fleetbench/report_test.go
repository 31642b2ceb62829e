package fleetbench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// summary is the run's headline figures.
type summary struct {
	push, pull dist // every push and pull of the measured phase
	requests   int  // attempts in the network stages
	netWall    time.Duration
	// errors are the failed attempts of the measured phase other than the
	// expected 401s (one expired access token per device in the evening),
	// plus the Sync calls that gave up after the SDK's retries.
	errors       int
	unauthorized int // 401s answered to sync requests
}

func (f *fleet) measured(stage string) bool { return stage != stageSetup }

func (f *fleet) summary() summary {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	var s summary
	var push, pull []time.Duration
	for k, l := range f.rec.lat {
		if !f.measured(k.stage) {
			continue
		}
		switch k.kind {
		case kindPush:
			push = append(push, l...)
		case kindPull:
			pull = append(pull, l...)
		}
	}
	s.push, s.pull = distOf(push), distOf(pull)
	for fl, n := range f.rec.fails {
		if !f.measured(fl.stage) {
			continue
		}
		s.errors += n
		if strings.HasPrefix(fl.what, "HTTP 401") && fl.kind != kindLogin && fl.kind != kindRefresh {
			s.unauthorized += n
		}
	}
	s.errors -= min(s.unauthorized, f.expected401)
	for fl, n := range f.rec.syncFails {
		if f.measured(fl.stage) {
			s.errors += n
		}
	}
	for _, st := range f.stages {
		if st.name != stageField {
			s.requests += st.requests
			s.netWall += st.wall
		}
	}
	return s
}

// report writes the run's figures as markdown, ready to paste.
func (f *fleet) report(smp *sampler, header string) string {
	var b strings.Builder
	b.WriteString(header)
	s := f.summary()

	b.WriteString("\n| stage | wall | requests | requests/s | time per device p50 / p99 / max | pool waits (total wait) |\n|---|---|---|---|---|---|\n")
	for _, st := range f.stages {
		rps := "—"
		if st.name != stageField && st.wall > 0 {
			rps = fmt.Sprintf("%.0f", float64(st.requests)/st.wall.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s / %s / %s | %d (%s) |\n", st.name, fmtDur(st.wall), st.requests, rps,
			fmtDur(st.perDev.P50), fmtDur(st.perDev.P99), fmtDur(st.perDev.Max), st.pool.Waits, fmtDur(st.pool.Wait))
	}
	fmt.Fprintf(&b, "| **measured phase** | **%s** | %d | %.0f (network stages) | | |\n", fmtDur(f.phase), s.requests, float64(s.requests)/s.netWall.Seconds())

	b.WriteString("\n| stage | request | n | p50 | p90 | p99 | max | KiB up | KiB down |\n|---|---|---|---|---|---|---|---|---|\n")
	f.rec.mu.Lock()
	for _, stage := range append([]string{stageSetup}, stageNames(f.stages)...) {
		for _, kind := range kindOrder {
			k := key{stage, kind}
			l := f.rec.lat[k]
			if len(l) == 0 {
				continue
			}
			d := distOf(l)
			name := stage
			if stage == stageSetup {
				name += " (not timed)"
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %.0f | %.0f |\n", name, kind, d.N, fmtDur(d.P50), fmtDur(d.P90), fmtDur(d.P99), fmtDur(d.Max),
				float64(f.rec.up[k])/1024, float64(f.rec.down[k])/1024)
		}
	}
	f.rec.mu.Unlock()
	for _, r := range []struct {
		name string
		d    dist
	}{{"push", s.push}, {"pull", s.pull}} {
		if r.d.N > 0 {
			fmt.Fprintf(&b, "| **all measured** | **%s** | %d | **%s** | %s | **%s** | %s | | |\n", r.name, r.d.N, fmtDur(r.d.P50), fmtDur(r.d.P90), fmtDur(r.d.P99), fmtDur(r.d.Max))
		}
	}

	b.WriteString("\n")
	f.failureTable(&b)
	fmt.Fprintf(&b, "\nErrors (failed attempts and given-up Syncs, not counting the expected 401s): **%d**. 401s on sync requests: %d (expected %d).\n",
		s.errors, s.unauthorized, f.expected401)

	if smp != nil {
		b.WriteString("\n")
		smp.table(&b)
	}
	return b.String()
}

func stageNames(st []stageResult) []string {
	var out []string
	for _, s := range st {
		out = append(out, s.name)
	}
	return out
}

// failureTable writes every failed attempt and given-up Sync by stage, kind
// and failure.
func (f *fleet) failureTable(b *strings.Builder) {
	b.WriteString("| stage | request | failure | attempts |\n|---|---|---|---|\n")
	f.rec.mu.Lock()
	type row struct {
		failure
		n int
	}
	var rows []row
	for fl, n := range f.rec.fails {
		rows = append(rows, row{fl, n})
	}
	for fl, n := range f.rec.syncFails {
		rows = append(rows, row{fl, n})
	}
	f.rec.mu.Unlock()
	order := map[string]int{}
	for i, st := range append([]string{stageSetup}, stageNames(f.stages)...) {
		order[st] = i
	}
	sort.Slice(rows, func(i, j int) bool {
		a, c := rows[i], rows[j]
		if order[a.stage] != order[c.stage] {
			return order[a.stage] < order[c.stage]
		}
		if a.kind != c.kind {
			return a.kind < c.kind
		}
		return a.what < c.what
	})
	for _, r := range rows {
		note := ""
		if strings.HasPrefix(r.what, "HTTP 401") && (r.stage == stageEvening || r.stage == stageArrivals) && f.expected401 > 0 {
			note = " (expected: the access token expired during the day or since enrolment; refreshed and retried)"
		}
		fmt.Fprintf(b, "| %s | %s | %s%s | %d |\n", r.stage, r.kind, r.what, note, r.n)
	}
	if len(rows) == 0 {
		b.WriteString("| — | — | none | 0 |\n")
	}
}
