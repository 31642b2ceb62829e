package synctest

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/spotcheck/spotcheck/internal/faultnet/devicedaybench"
)

// Flags for scripts/bench-sync-compare.sh, which runs the device-day
// benchmarks against PouchDB → pouchdb-server on the same bytes. All of them
// are off by default: go test ./... never exports nor needs Node.js.
var (
	dayExport  = flag.String("deviceday.export", "", "device-day benchmarks: write the day's attachments and outbox (the mutations' JSON as the device holds it) to this directory before the evening sync")
	dayPackets = flag.Int("deviceday.packets", 0, "device-day benchmarks: packets of the day (two signatures each); 0 = 20, a scaled-down day for a quick check when smaller")
	dayPhotos  = flag.Int("deviceday.photos", -1, "device-day benchmarks: photos of the day; -1 = 5 a packet")
)

// daySpec is devicedaybench.DeviceDay sized by -deviceday.packets and
// -deviceday.photos.
func daySpec() devicedaybench.Spec {
	s := devicedaybench.DeviceDay()
	if *dayPackets > 0 {
		s.Packets, s.Photos, s.Signatures = *dayPackets, 5**dayPackets, 2**dayPackets
	}
	if *dayPhotos >= 0 {
		s.Photos = *dayPhotos
	}
	return s
}

// linkDayItems is BenchmarkDeviceDay's checklist: three items, or
// -deviceday.items of them when that flag is given, so that the link
// benchmark can run the loopback benchmark's workload.
func linkDayItems() []string {
	items := []string{"licence", "minors", "fire"}
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "deviceday.items" {
			items = items[:0]
			for i := range *dayItems {
				items = append(items, fmt.Sprintf("item-%02d", i+1))
			}
		}
	})
	return items
}

// exportMutation is one outbox row in manifest.json; its body is line
// Index of mutations.jsonl.
type exportMutation struct {
	Seq         uint64   `json:"seq"`
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	PacketID    string   `json:"packet_id"`
	Bytes       int      `json:"bytes"`
	Attachments []string `json:"attachments"` // sha256 of the files it is the first to refer to
}

type exportAttachment struct {
	SHA256      string `json:"sha256"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// exportDay writes, when -deviceday.export is set, the day d holds before
// its evening sync: attachments/<sha256> (the bytes the device uploads),
// mutations.jsonl (each outbox body, exactly as stored, one a line, in seq
// order) and manifest.json (the spec, the items and which mutation refers to
// which attachment). The attachments are a function of -deviceday.seed;
// the mutations' ids and times differ from run to run, their sizes do not.
func exportDay(tb testing.TB, d *device, spec devicedaybench.Spec, payload devicedaybench.Payload) {
	tb.Helper()
	if *dayExport == "" {
		return
	}
	dir := *dayExport
	if err := os.RemoveAll(dir); err != nil {
		tb.Fatal(err)
	}
	var rows []struct {
		Seq        uint64 `gorm:"column:seq"`
		MutationID string `gorm:"column:mutation_id"`
		Kind       string `gorm:"column:kind"`
		PacketID   string `gorm:"column:packet_id"`
		Body       string `gorm:"column:body"`
	}
	if err := d.local.Raw(`SELECT seq, mutation_id, kind, packet_id, body FROM outbox ORDER BY seq`).Scan(&rows).Error; err != nil {
		tb.Fatal(err)
	}
	known := map[string]bool{} // sha256 → referred to yet
	m := struct {
		Seed          uint64              `json:"seed"`
		Spec          devicedaybench.Spec `json:"spec"`
		Items         int                 `json:"items"`
		MutationBytes int                 `json:"mutation_bytes"`
		AttachBytes   int64               `json:"attachment_bytes"`
		Attachments   []exportAttachment  `json:"attachments"`
		Mutations     []exportMutation    `json:"mutations"`
	}{Seed: payload.Seed, Spec: spec, Items: len(d.w.items), AttachBytes: payload.Bytes()}
	if err := os.MkdirAll(filepath.Join(dir, "attachments"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, it := range payload.Items {
		if err := os.WriteFile(filepath.Join(dir, "attachments", it.SHA256), it.Data, 0o644); err != nil {
			tb.Fatal(err)
		}
		known[it.SHA256] = false
		m.Attachments = append(m.Attachments, exportAttachment{SHA256: it.SHA256, Name: it.Name, Kind: string(it.Kind), ContentType: it.ContentType, Size: len(it.Data)})
	}
	f, err := os.Create(filepath.Join(dir, "mutations.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, r := range rows {
		var body any
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			tb.Fatalf("outbox seq %d: %v", r.Seq, err)
		}
		// A file belongs to the mutation that brought it (an answer its
		// photos, a close its signatures); a seal's snapshot of the section
		// refers to them again.
		refs := []string{}
		for _, sha := range shaRefs(body) {
			if _, ok := known[sha]; !ok {
				tb.Fatalf("outbox seq %d refers to %s, not in the day's payload", r.Seq, sha)
			}
			if !known[sha] {
				known[sha] = true
				refs = append(refs, sha)
			}
		}
		if _, err := f.WriteString(r.Body + "\n"); err != nil {
			tb.Fatal(err)
		}
		m.MutationBytes += len(r.Body)
		m.Mutations = append(m.Mutations, exportMutation{Seq: r.Seq, ID: r.MutationID, Kind: r.Kind, PacketID: r.PacketID, Bytes: len(r.Body), Attachments: refs})
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	for sha, referred := range known {
		if !referred {
			tb.Fatalf("no mutation refers to attachment %s", sha)
		}
	}
	js, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), js, 0o644); err != nil {
		tb.Fatal(err)
	}
	fmt.Printf("exported %d mutations (%d B of JSON) and %d attachments (%d B) to %s\n", len(rows), m.MutationBytes, len(payload.Items), payload.Bytes(), dir)
}

// shaRefs returns the values of every "sha256" key in a decoded JSON value,
// keys in sorted order.
func shaRefs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["sha256"].(string); ok {
			out = append(out, s)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			if k != "sha256" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, shaRefs(v[k])...)
		}
	case []any:
		for _, x := range v {
			out = append(out, shaRefs(x)...)
		}
	}
	return out
}
