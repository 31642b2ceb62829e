package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// pdfFileText extracts the text of a PDF file with pdftotext and fails on a
// character printed without a glyph.
func pdfFileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("%s is not a PDF: %v", path, err)
	}
	out, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	txt := string(out)
	if i := strings.IndexAny(txt, "\uFFFD\u3013"); i >= 0 {
		t.Fatalf("%s has a character without a glyph near %q", path, txt[max(0, i-60):min(len(txt), i+60)])
	}
	return strings.Join(strings.Fields(txt), "")
}

// TestPrint_Command prints the record of a demo packet and the demo
// campaign's grouping report on each dialect, and refuses bad arguments.
func TestPrint_Command(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, cfg := accountsEnv(t, dialect)
			ctx := context.Background()
			a := openApp(t, cfg)
			var out bytes.Buffer
			if err := loadDemo(ctx, a, &Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}); err != nil {
				t.Fatal(err)
			}
			sys := app.SystemContext(ctx)
			camps, _, err := a.Campaigns.FindCampaigns(sys, server.CampaignFilter{})
			if err != nil || len(camps) == 0 {
				t.Fatalf("demo campaigns: %v", err)
			}
			packets, err := a.Campaigns.FindPackets(sys, camps[0].ID)
			if err != nil || len(packets) == 0 {
				t.Fatalf("demo packets: %d, %v", len(packets), err)
			}
			rep, err := a.Campaigns.FindGroupingReport(sys, camps[0].ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			p := packets[0]

			dir := t.TempDir()
			rec := filepath.Join(dir, "record.pdf")
			if code, _, errOut := runCommand(t, env, nil, "print", "record", "--packet", p.ID, "--out", rec); code != 0 {
				t.Fatalf("print record: exit %d: %s", code, errOut)
			}
			txt := pdfFileText(t, rec)
			for _, want := range []string{"跨部门联合检查记录表", p.Content.Enterprise.Name, p.Content.Enterprise.CreditCode, "尚无检查结论", "/v1/packets/" + p.ID + "/record"} {
				if !strings.Contains(txt, strings.Join(strings.Fields(want), "")) {
					t.Errorf("record lacks %q", want)
				}
			}
			for _, s := range p.Content.Sections {
				for _, it := range s.Items {
					if !strings.Contains(txt, strings.Join(strings.Fields(it.Title), "")) {
						t.Errorf("record lacks item %q", it.Title)
					}
				}
			}

			grp := filepath.Join(dir, "grouping.pdf")
			if code, _, errOut := runCommand(t, env, nil, "print", "grouping", "--campaign", fmt.Sprint(camps[0].ID), "--out", grp); code != 0 {
				t.Fatalf("print grouping: exit %d: %s", code, errOut)
			}
			txt = pdfFileText(t, grp)
			for _, sec := range rep.Sections {
				for _, tm := range sec.Teams {
					for _, tg := range tm.Targets {
						if !strings.Contains(txt, tg.CreditCode) || !strings.Contains(txt, strings.Join(strings.Fields(tg.Name), "")) {
							t.Errorf("grouping report lacks %s %s", tg.CreditCode, tg.Name)
						}
					}
				}
			}

			let := filepath.Join(dir, "letter.pdf")
			if code, _, errOut := runCommand(t, env, nil, "print", "letter", "--campaign", fmt.Sprint(camps[0].ID), "--target", p.CreditCode, "--out", let); code != 0 {
				t.Fatalf("print letter: exit %d: %s", code, errOut)
			}
			txt = pdfFileText(t, let)
			wants := []string{"跨部门联合抽查告知书", p.Content.Enterprise.Name, p.CreditCode, camps[0].ManifestDigest,
				demo.Contact.Office, "联系电话：" + demo.Contact.Phone}
			// The materials of both departments, as the manifest froze them.
			for _, code := range []string{demo.CultureCode, demo.MarketCode} {
				for i, m := range demo.Materials[code] {
					wants = append(wants, fmt.Sprintf("%d.%s", i+1, m))
				}
			}
			for _, want := range wants {
				if !strings.Contains(txt, strings.Join(strings.Fields(want), "")) {
					t.Errorf("letter lacks %q", want)
				}
			}
			for _, s := range p.Content.Sections {
				for _, it := range s.Items {
					if !strings.Contains(txt, strings.Join(strings.Fields(it.Title), "")) || !strings.Contains(txt, strings.Join(strings.Fields(it.LegalBasis), "")) {
						t.Errorf("letter lacks item %q or its basis", it.Title)
					}
				}
			}
			all := filepath.Join(dir, "letters.pdf")
			if code, _, errOut := runCommand(t, env, nil, "print", "letter", "--campaign", fmt.Sprint(camps[0].ID), "--out", all); code != 0 {
				t.Fatalf("print letter (all): exit %d: %s", code, errOut)
			}
			txt = pdfFileText(t, all)
			for _, q := range packets {
				if !strings.Contains(txt, q.CreditCode) {
					t.Errorf("the merged letters lack %s", q.CreditCode)
				}
			}

			for _, args := range [][]string{
				{"print", "letter", "--out", let},
				{"print", "letter", "--campaign", fmt.Sprint(camps[0].ID), "--contact", "张科长 13905921234", "--out", let}, // the campaign's line only
				{"print", "letter", "--campaign", fmt.Sprint(camps[0].ID), "--target", "nope", "--out", let},
				{"print"}, {"print", "nonsense"},
				{"print", "record", "--out", rec},
				{"print", "record", "--packet", p.ID},
				{"print", "grouping", "--out", grp},
				{"print", "grouping", "--campaign", "1", "--department", "-2", "--out", grp},
			} {
				if code, _, _ := runCommand(t, env, nil, args...); code == 0 {
					t.Errorf("%q is accepted", args)
				}
			}
			if code, _, _ := runCommand(t, env, nil, "print", "record", "--packet", strings.Repeat("0", 32), "--out", rec); code == 0 {
				t.Error("an unknown packet prints")
			}
		})
	}
}
