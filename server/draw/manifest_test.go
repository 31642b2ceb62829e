package draw_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

var update = flag.Bool("update", false, "rewrite testdata/manifest-v3.golden")

// testdata/manifest-v2.golden was written by the code that committed v2
// manifests, before materials existed: campaigns committed then must verify
// for ever, so it is read, never rewritten.
func TestManifest_ReadsV2(t *testing.T) {
	data, err := os.ReadFile("testdata/manifest-v2.golden")
	if err != nil {
		t.Fatal(err)
	}
	m, err := draw.ParseManifest(data)
	if err != nil {
		t.Fatalf("a committed v2 manifest no longer parses: %v", err)
	}
	if m.Version != draw.ManifestV2 || len(m.RecusalCommitments) != 1 || len(m.Population) != 20 {
		t.Fatalf("v2 manifest read as %+v", m)
	}
	for _, d := range m.Departments {
		if len(d.Materials) != 0 {
			t.Fatalf("v2 department %s has materials %q", d.Code, d.Materials)
		}
	}
	var buf strings.Builder
	if err := m.Encode(&buf); err != nil || buf.String() != string(data) {
		t.Fatalf("v2 manifest re-encodes differently (%v):\n%s", err, buf.String())
	}
	digest, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); digest.String() != hex.EncodeToString(sum[:]) {
		t.Fatalf("digest %s is not the SHA-256 of the published bytes", digest)
	}
	// Materials cannot be slipped into a v2 manifest.
	m.Departments[0].Materials = []string{"营业执照"}
	if err := m.Encode(&strings.Builder{}); err == nil {
		t.Fatal("a v2 manifest with materials was encoded")
	}
	withLine := strings.Replace(string(data), "department\tmarket\tSC-01@1\n", "department\tmarket\tSC-01@1\nmaterial\tmarket\t1\t营业执照\n", 1)
	if _, err := draw.ParseManifest([]byte(withLine)); err == nil {
		t.Fatal("a v2 manifest with a material line was accepted")
	}
}

// v3Manifest is a v2 manifest plus the departments' materials, as servers
// commit now.
func v3Manifest(t *testing.T, pairs ...draw.Recusal) (*draw.Manifest, []draw.RecusalOpening) {
	m, openings := v2Manifest(t, pairs...)
	m.Version = draw.ManifestV3
	for i := range m.Departments {
		switch m.Departments[i].Code {
		case "culture":
			m.Departments[i].Materials = []string{"网络文化经营许可证", "上网消费者登记记录（近三个月）", "营业执照"}
		case "market":
			m.Departments[i].Materials = []string{"营业执照", "食品经营许可证, 如经营食品"}
		}
	}
	m.Normalize()
	return m, openings
}

func TestManifest_V3Materials(t *testing.T) {
	m, _ := v3Manifest(t, draw.Recusal{Certificate: "culture-01", CreditCode: "913502030000000003"})
	var buf strings.Builder
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if *update {
		if err := os.WriteFile("testdata/manifest-v3.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/manifest-v3.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("manifest format changed (go test ./server/draw -run V3Materials -update if intended):\n%.900s", got)
	}
	// Materials keep the department's order; they follow the department lines.
	const block = "department\tculture\tWH-01@2,WH-02@1\ndepartment\tmarket\tSC-01@1\n" +
		"material\tculture\t1\t网络文化经营许可证\nmaterial\tculture\t2\t上网消费者登记记录（近三个月）\nmaterial\tculture\t3\t营业执照\n" +
		"material\tmarket\t1\t营业执照\nmaterial\tmarket\t2\t食品经营许可证, 如经营食品\nfilter\tcategory\t"
	if !strings.HasPrefix(got, "spotcheck-manifest/v3\n") || !strings.Contains(got, block) {
		t.Fatalf("v3 manifest:\n%.900s", got)
	}
	back, err := draw.ParseManifest([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != draw.ManifestV3 || strings.Join(back.Departments[0].Materials, "|") != "网络文化经营许可证|上网消费者登记记录（近三个月）|营业执照" {
		t.Fatalf("parsed back: %+v", back.Departments)
	}

	// Anything not canonical, or not a material of a department, is refused.
	for name, bad := range map[string]string{
		"Renumbered":    strings.Replace(got, "material\tculture\t2\t", "material\tculture\t3\t", 1),
		"Reordered":     strings.Replace(got, "material\tculture\t1\t网络文化经营许可证\nmaterial\tculture\t2\t上网消费者登记记录（近三个月）\n", "material\tculture\t2\t上网消费者登记记录（近三个月）\nmaterial\tculture\t1\t网络文化经营许可证\n", 1),
		"DeptOrder":     strings.Replace(got, "material\tculture\t3\t营业执照\nmaterial\tmarket\t1\t营业执照\nmaterial\tmarket\t2\t食品经营许可证, 如经营食品\n", "material\tmarket\t1\t营业执照\nmaterial\tmarket\t2\t食品经营许可证, 如经营食品\nmaterial\tculture\t3\t营业执照\n", 1),
		"UnknownDept":   strings.Replace(got, "material\tmarket\t2\t食品经营许可证, 如经营食品\n", "material\tmarket\t2\t食品经营许可证, 如经营食品\nmaterial\ttax\t1\t税务登记证\n", 1),
		"Duplicate":     strings.Replace(got, "material\tmarket\t2\t食品经营许可证, 如经营食品\n", "material\tmarket\t2\t营业执照\n", 1),
		"Empty":         strings.Replace(got, "material\tmarket\t2\t食品经营许可证, 如经营食品\n", "material\tmarket\t2\t\n", 1),
		"Space":         strings.Replace(got, "\t营业执照\nmaterial\tmarket", "\t营业执照 \nmaterial\tmarket", 1),
		"MissingNumber": strings.Replace(got, "material\tmarket\t2\t", "material\tmarket\t", 1),
		"AfterFilter":   strings.Replace(strings.Replace(got, "material\tmarket\t2\t食品经营许可证, 如经营食品\n", "", 1), "exclusion_months\t6\n", "exclusion_months\t6\nmaterial\tmarket\t2\t食品经营许可证, 如经营食品\n", 1),
	} {
		if bad == got {
			t.Fatalf("%s: the test's edit did not apply", name)
		}
		if _, err := draw.ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: non-canonical v3 manifest accepted", name)
		}
	}
}

// A draw committed with a v3 manifest verifies like a v2 one: materials do
// not enter the draw, but they are in the digest that seeds it.
func TestVerify_V3(t *testing.T) {
	values := []string{"03 09 14 21 27 30 + 11", "10432.17"}
	pairs := []draw.Recusal{{Certificate: "culture-00", CreditCode: "913502030000000003"}}
	m, openings := v3Manifest(t, pairs...)
	rec := withTimes(computeRecord(t, m, values, nil, pairs...), m)
	if v, err := draw.VerifyOpenings(rec, openings); err != nil || !v.RecusalsKnown {
		t.Fatalf("a faithful v3 record does not verify: %+v %v", v, err)
	}
	v2, _ := v2Manifest(t, pairs...)
	d2, _ := v2.Digest()
	if rec.ManifestDigest == d2.String() {
		t.Fatal("the materials are not in the digest")
	}
	// A material changed after commit changes the digest: the record no longer verifies.
	rec.Manifest = strings.Replace(rec.Manifest, "\t营业执照\nmaterial\tmarket", "\t营业执照副本\nmaterial\tmarket", 1)
	var d *draw.Disagreement
	if _, err := draw.VerifyOpenings(rec, openings); err == nil || !errors.As(err, &d) || d.Where != "manifest_digest" {
		t.Fatalf("an altered material: %v", err)
	}
}
