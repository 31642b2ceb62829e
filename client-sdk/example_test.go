package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// A joint team's field day as an app embeds the SDK: two inspectors of two
// departments on two tablets enrol and pull the day's packets in the office;
// on site, with no network, each answers and seals their department's
// section, and one captures the legal representative's signature, naming
// the teammate's section by the token read from the other screen; back in
// the vehicle both sync, and the app hears what happened from events.
//
// The example needs a server with an issued campaign; TestExampleFieldDay
// runs it against one.
func Example_fieldDay() {
	ctx := context.Background()
	err := fieldDay(ctx, "https://spotcheck.example.org", "inspector01", "inspector21", "spotcheck-demo", os.TempDir(), os.Stdout)
	if err != nil {
		fmt.Println(err)
	}
}

// fieldDay is the example's day: culture and market are usernames on one
// team; the tablets keep their data under dir.
func fieldDay(ctx context.Context, serverURL, culture, market, password, dir string, out interface{ Write([]byte) (int, error) }) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	open := func(name string) (*sdk.Client, error) {
		return sdk.Open(filepath.Join(dir, name), sdk.Config{
			// Every rejection, conflict and "all synced" reaches the app.
			OnEvent: func(ev sdk.Event) { say("%s: %s", name, ev) },
		})
	}
	c, err := open("culture-tablet")
	if err != nil {
		return err
	}
	defer c.Close()
	m, err := open("market-tablet")
	if err != nil {
		return err
	}
	defer m.Close()

	// In the office: sign in and pull the packets.
	for _, t := range []struct {
		c    *sdk.Client
		user string
	}{{c, culture}, {m, market}} {
		if err := t.c.Enrol(ctx, serverURL, t.user, password, t.user+"的平板"); err != nil {
			return err
		}
		if err := t.c.Sync(ctx); err != nil {
			return err
		}
	}
	packets, err := c.Packets(ctx)
	if err != nil || len(packets) == 0 {
		return fmt.Errorf("no packets: %v", err)
	}
	id := packets[0].ID

	// On site, offline: each department its own section.
	tokens := map[string]string{}
	for _, t := range []*sdk.Client{c, m} {
		p, err := t.Packet(ctx, id)
		if err != nil {
			return err
		}
		var present []sdk.Certificate
		for _, member := range p.Content.Team {
			present = append(present, sdk.Certificate{InspectorID: member.InspectorID, CertificateNumber: member.CertificateNumber})
		}
		if err := t.RecordCertificates(ctx, id, present, &sdk.Location{Latitude: 39.63, Longitude: 118.18, AccuracyM: 8}); err != nil {
			return err
		}
		for _, sec := range p.Content.Sections {
			if sec.Department != p.Section.Department {
				continue
			}
			for i, item := range sec.Items {
				in := sdk.AnswerInput{ItemCode: item.Code, Result: sdk.ResultCompliant}
				if i == len(sec.Items)-1 {
					in.Result, in.Note = sdk.ResultNotChecked, "系统停机，无法查验"
				}
				if _, err := t.Answer(ctx, id, in); err != nil {
					return err
				}
			}
		}
		seal, err := t.SealSection(ctx, id)
		if err != nil {
			return err
		}
		ref := sdk.SectionRef{Department: seal.Section.Department, Version: seal.Section.Version, Hash: seal.Hash}
		tokens[ref.Department] = ref.Token() // shown as a QR code in a real app
		say("sealed the %s section", ref.Department)
	}
	// The representative signs once, on the market tablet.
	sig := filepath.Join(dir, "signature.png")
	if err := writeSignature(sig); err != nil {
		return err
	}
	var covers []string
	for dept, tok := range tokens {
		if dept != "" {
			covers = append(covers, tok)
		}
	}
	slices.Sort(covers)
	if _, err := m.CloseVisit(ctx, id, sdk.CloseInput{Outcome: sdk.OutcomeSigned, Covers: covers,
		Signatures: []sdk.SignatureInput{{Role: sdk.SignerRepresentative, Name: "张三", PNGPath: sig}}}); err != nil {
		return err
	}

	// Back in the vehicle.
	for _, t := range []*sdk.Client{m, c} {
		if err := t.Sync(ctx); err != nil && !errors.Is(err, sdk.ErrRejected) {
			return err
		}
	}
	jr, err := c.JointRecord(ctx, id)
	if err != nil {
		return err
	}
	say("joint record complete: %v, %d sections, %d close", jr.Complete, len(jr.Sections), len(jr.Closes))
	return nil
}

func writeSignature(path string) error {
	img := image.NewGray(image.Rect(0, 0, 120, 40))
	for x := 10; x < 110; x++ {
		img.Set(x, 20+x%7, color.White)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TestExampleFieldDay runs the example's day against a server with an
// issued campaign, on both dialects, and checks what it printed.
func TestExampleFieldDay(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		// The tablets keep real time: so does the server, and the
		// campaign's window is around today.
		h.Advance(time.Since(h.Now()))
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 1, TargetsPerTeam: 1})
		p := is.Packets[0]
		culture, market := is.MembersOf(p.ID, h.DeptA)[0], is.MembersOf(p.ID, h.DeptB)[0]
		var out lines
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := fieldDay(ctx, h.URL, culture, market, apptest.Password, t.TempDir(), &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"sealed the " + h.DeptA.Code + " section",
			"sealed the " + h.DeptB.Code + " section",
			"market-tablet: all synced",
			"culture-tablet: all synced",
			"joint record complete: true, 2 sections, 1 close",
		} {
			if !slices.Contains(out, want) {
				t.Errorf("the day did not say %q:\n%s", want, out)
			}
		}
	})
}

// lines collects what the day prints, a line a Write.
type lines []string

func (l *lines) Write(b []byte) (int, error) {
	*l = append(*l, string(b[:len(b)-1]))
	return len(b), nil
}
