package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// visited is a packet with its field work synced through the SDK, as field
// devices do it: each department's section answered and sealed on its
// inspector's tablet (culture finds a problem, with a photo), and the
// visit closed signed by the legal representative.
type visited struct {
	Issued    *apptest.Issued
	Packet    *server.Packet
	Photo     string // SHA-256 of the culture section's photo
	Signature string // SHA-256 of the representative's signature
	Stamp     string // SHA-256 of the stamp
	// Results are the packet's two results, by department code.
	Results map[string]syncproto.Result
}

// visitPacket issues a campaign whose team holds both of each
// department's inspectors (insp-a1, insp-a2, insp-b1, insp-b2), and does
// the field work on its packet.
func visitPacket(t *testing.T, h *apptest.Harness) *visited {
	t.Helper()
	return visitPacketClosed(t, h, true)
}

// visitPacketClosed is visitPacket; without closeVisit the sections are
// sealed but the visit has no close (the record is flagged no_close and
// section_not_covered).
func visitPacketClosed(t *testing.T, h *apptest.Harness, closeVisit bool) *visited {
	t.Helper()
	ctx := context.Background()
	is := h.IssueCampaign(t, apptest.CampaignSpec{Name: "网吧联合抽查（结果）", Cafes: 1, InspectorsPerDepartment: 2,
		Items: map[string][]string{h.DeptA.Code: {"licence", "minors"}, h.DeptB.Code: {"prices"}}})
	pk := is.Packets[0] // the cafés of earlier campaigns are drawn too; one is enough
	if len(is.MembersOf(pk.ID, h.DeptA)) != 2 || len(is.MembersOf(pk.ID, h.DeptB)) != 2 {
		t.Fatalf("the team is %v", is.Members[pk.ID])
	}
	v := &visited{Issued: is, Packet: pk, Results: map[string]syncproto.Result{}}
	files := t.TempDir()
	var tokens []string
	var closer *sdk.Client
	for i, user := range []string{"insp-a1", "insp-b1"} {
		c := enrolTablet(t, h, user)
		if i == 0 {
			closer = c
		}
		p, err := c.Packet(ctx, pk.ID)
		if err != nil {
			t.Fatalf("%s: the packet did not arrive: %v", user, err)
		}
		for _, sec := range p.Content.Sections {
			if sec.Department != p.Section.Department {
				continue
			}
			for _, it := range sec.Items {
				in := sdk.AnswerInput{ItemCode: it.Code, Result: syncproto.ResultCompliant}
				if it.Code == "minors" {
					path := writeTestImage(t, files, "photo", 40)
					v.Photo = fileSHA(t, path)
					in.Result, in.Note, in.Photos = syncproto.ResultNonCompliant, "接纳未成年人上网", []string{path}
				}
				if _, err := c.Answer(ctx, pk.ID, in); err != nil {
					t.Fatal(err)
				}
			}
		}
		var shown []syncproto.CertificateShown
		for _, m := range p.Content.Team {
			if m.Department == p.Section.Department {
				shown = append(shown, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
			}
		}
		if err := c.RecordCertificates(ctx, pk.ID, shown, nil); err != nil {
			t.Fatal(err)
		}
		seal, err := c.SealSection(ctx, pk.ID)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, syncproto.SectionRef{Department: seal.Section.Department, Version: seal.Section.Version, Hash: seal.Hash}.Token())
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if closeVisit {
		sig, stamp := writeTestImage(t, files, "signature", 90), writeTestImage(t, files, "stamp", 120)
		v.Signature, v.Stamp = fileSHA(t, sig), fileSHA(t, stamp)
		if _, err := closer.CloseVisit(ctx, pk.ID, sdk.CloseInput{Outcome: syncproto.OutcomeSigned, Covers: tokens,
			Signatures: []sdk.SignatureInput{{Role: syncproto.SignerRepresentative, Name: "赵法人", PNGPath: sig}},
			StampPath:  stamp}); err != nil {
			t.Fatal(err)
		}
		if err := closer.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var list syncproto.ResultList
	h.MustDo(t, "GET", fmt.Sprintf("/v1/results?packet_id=%s", pk.ID), h.Token(t, "root"), nil, http.StatusOK, &list)
	for _, r := range list.Results {
		v.Results[r.Department] = r
	}
	if len(v.Results) != 2 {
		t.Fatalf("results drafted: %+v", list.Results)
	}
	return v
}

// enrolTablet is a tablet enrolled as username, synced.
func enrolTablet(t *testing.T, h *apptest.Harness, username string) *sdk.Client {
	t.Helper()
	c, err := sdk.Open(t.TempDir(), sdk.Config{ServerURL: h.URL, Now: h.Now}) // the devices keep the server's time
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Enrol(context.Background(), h.URL, username, apptest.Password, "tablet"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// writeTestImage writes a small PNG (48×24) whose strokes depend on seed.
func writeTestImage(t *testing.T, dir, name string, seed uint8) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 24))
	ink := color.RGBA{R: seed, G: 40, B: 120 - seed/4, A: 255}
	for x := range 48 {
		for y := range 24 {
			c := color.RGBA{R: 255, G: 255, B: 255, A: 255}
			if (x+int(seed))%7 == y%7 || y == 12+int(seed)%5 { // a few strokes
				c = ink
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileSHAOf(b)
}

func fileSHAOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resultStep takes a result step through the API as who.
func resultStep(t *testing.T, h *apptest.Harness, who string, id int64, action string, body any) syncproto.Result {
	t.Helper()
	var r syncproto.Result
	h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/%s", id, action), h.Token(t, who), body, http.StatusOK, &r)
	return r
}
