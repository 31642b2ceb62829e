package synctest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The closes a joint team's visit can end with, as the joint test plays them.
const (
	closeSigned    = "signed"     // the representative signs and stamps, covering both sections
	closeRefused   = "refused"    // a refusal, signed by an inspector of each department
	closeTwice     = "two closes" // two devices each captured a close offline
	closeUncovered = "uncovered"  // the close names only the culture section
	closeScenarios = 4            // the four above, cycled over the packets
	jointPackets   = 24           // one per order of the four devices' syncs
	culturePhoto   = 30_000       // bytes of each culture photo
	signatureBytes = 4_000        // bytes of each signature
	stampBytes     = 20_000       // bytes of each stamp photo
	jointItems     = "licence,minors,fire"
)

// jointPacket is what the team did on one packet, to check the server and
// every device against.
type jointPacket struct {
	id       string
	scenario string
	order    []int                   // the devices' sync order
	culture  *syncproto.SealMutation // sealed on the culture device
	market   *syncproto.SealMutation // sealed on the market device
	closes   []*syncproto.SealCloseMutation
}

// A joint team of four on four devices — two culture inspectors, two market
// inspectors — works 24 packets offline: one culture device answers and
// seals the culture section, one market device the market section, a third
// device captures the close naming both seals by the tokens read from the
// other two screens, the fourth records the certificates shown. The devices
// then sync in every one of the 24 orders (one packet each), with pushes and
// pulls cut on the way. The server's joint record of each packet holds both
// sections, the close, every attachment once, and verifies against the
// devices' keys; every device ends with the same joint record. A refusal,
// two closes captured offline and a section the close does not cover are
// each kept and flagged. Then a correction by the market department becomes
// the live state on all four devices.
func TestFaultJointTeam(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		h := apptest.New(t, db)
		items := strings.Split(jointItems, ",")
		is := h.IssueCampaign(t, apptest.CampaignSpec{
			Cafes: jointPackets, InspectorsPerDepartment: 2, TargetsPerTeam: jointPackets,
			Items: map[string][]string{h.DeptA.Code: items, h.DeptB.Code: {"prices", "annual"}},
		})
		if len(is.Packets) != jointPackets {
			t.Fatalf("%d packets issued, want %d", len(is.Packets), jointPackets)
		}
		w := &world{h: h, db: db}
		// The roles: culture seals, market seals, closer, certificates.
		names := []string{"insp-a1", "insp-b1", "insp-a2", "insp-b2"}
		devs := make([]*device, len(names))
		for i, u := range names {
			// The devices' clocks agree with the server's, inside the window.
			devs[i] = newDevice(t, w, u, deviceOpts{chunkSize: 8 << 10, now: h.Now})
		}
		ctx := context.Background()
		r := rand.New(rand.NewPCG(4, 4))
		files := t.TempDir()
		orders := permutations([]int{0, 1, 2, 3})
		var packets []*jointPacket
		cuts := 0
		for i, p := range is.Packets {
			jp := &jointPacket{id: p.ID, scenario: []string{closeSigned, closeRefused, closeTwice, closeUncovered}[i%closeScenarios], order: orders[i]}
			packets = append(packets, jp)
			members := map[string]syncproto.PacketMember{}
			var all []syncproto.CertificateShown
			for _, m := range p.Content.Team {
				for _, u := range names {
					if *h.Users[u].InspectorID == m.InspectorID {
						members[u] = m
					}
				}
				all = append(all, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
			}
			if len(members) != 4 {
				t.Fatalf("packet %s: team %v", p.ID, p.Content.Team)
			}
			culture, market, closer, certs := devs[0], devs[1], devs[2], devs[3]

			// On site, offline.
			for _, d := range []*device{culture, market, certs} {
				if err := d.c.RecordCertificates(ctx, p.ID, all, nil); err != nil {
					t.Fatal(err)
				}
				d.note()
			}
			for k, item := range items {
				in := sdk.AnswerInput{ItemCode: item, Result: sdk.ResultCompliant}
				if k == 1 {
					in.Result, in.Note, in.Photos = sdk.ResultNonCompliant, fmt.Sprintf("第%d家：发现未成年人上网", i+1), []string{photo(t, files, r, culturePhoto)}
				}
				if _, err := culture.c.Answer(ctx, p.ID, in); err != nil {
					t.Fatal(err)
				}
				culture.note()
			}
			for _, item := range []string{"prices", "annual"} {
				if _, err := market.c.Answer(ctx, p.ID, sdk.AnswerInput{ItemCode: item, Result: sdk.ResultCompliant}); err != nil {
					t.Fatal(err)
				}
				market.note()
			}
			var err error
			if jp.culture, err = culture.c.SealSection(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			culture.note()
			if jp.market, err = market.c.SealSection(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			market.note()
			tokens := []string{tokenOf(jp.culture), tokenOf(jp.market)}
			if jp.scenario == closeUncovered {
				tokens = tokens[:1]
			}
			in := sdk.CloseInput{Outcome: sdk.OutcomeSigned, Covers: tokens, StampPath: photo(t, files, r, stampBytes),
				Signatures: []sdk.SignatureInput{{Role: sdk.SignerRepresentative, Name: "张三", PNGPath: photo(t, files, r, signatureBytes)}}}
			if jp.scenario == closeRefused {
				in = sdk.CloseInput{Outcome: sdk.OutcomeRefused, Note: "法定代表人拒绝签字", Covers: tokens, Signatures: []sdk.SignatureInput{
					{Role: sdk.SignerInspector, Name: members["insp-a1"].Name, InspectorID: members["insp-a1"].InspectorID, PNGPath: photo(t, files, r, signatureBytes)},
					{Role: sdk.SignerInspector, Name: members["insp-b1"].Name, InspectorID: members["insp-b1"].InspectorID, PNGPath: photo(t, files, r, signatureBytes)},
				}}
			}
			closers := []*device{closer}
			if jp.scenario == closeTwice {
				closers = append(closers, certs)
			}
			for _, d := range closers {
				sc, err := d.c.CloseVisit(ctx, p.ID, in)
				if err != nil {
					t.Fatal(err)
				}
				d.note()
				jp.closes = append(jp.closes, sc)
			}

			// Back in the vehicle, in this packet's order; every third sync
			// has a push or a pull cut on the way.
			for k, n := range jp.order {
				d := devs[n]
				if k%3 == i%3 {
					where := isPush
					if k%2 == 1 {
						where = isPull
					}
					if d.cutSync(once(where, faultnet.Faults{Down: faultnet.DirFaults{CutAfterBytes: 40}, Mode: faultnet.CutReset})) {
						cuts++
					}
					continue
				}
				d.mustSync()
			}
		}
		for _, d := range devs {
			d.mustSync()
		}
		fault(cuts)
		if cuts < jointPackets/2 {
			t.Fatalf("only %d cuts happened", cuts)
		}
		for _, d := range devs {
			d.verify()
			checked.Add(1)
			if rs, _ := d.c.Rejections(context.Background()); len(rs) != 0 {
				lose(t, "device %d: %d rejections of the team's work: %+v", d.id, len(rs), rs)
			}
		}
		keys := deviceKeys(t, db)
		root := server.NewContextWithUser(ctx, h.Users["root"])
		for _, jp := range packets {
			jr, err := h.App.Sync.FindJointRecord(root, jp.id)
			if err != nil {
				t.Fatal(err)
			}
			checkJointRecord(t, jp, jr, keys)
			// Every device ends with the server's joint record.
			for _, d := range devs {
				mine, err := d.c.JointRecord(ctx, jp.id)
				if err != nil {
					t.Fatal(err)
				}
				checked.Add(1)
				if got, want := recordSummary(mine), recordSummary(jr); got != want {
					lose(t, "device %d's joint record of %s (%s):\n%s\nthe server's:\n%s", d.id, jp.id, jp.scenario, got, want)
				}
			}
		}
		verifyBlobs(t, db, h.App.Blobs)

		// A correction by the market department: on every device the
		// corrected section is the live state of its items.
		jp := packets[0]
		market := devs[1]
		if err := market.c.Correct(ctx, jp.id, "年报复核：未按期报送"); err != nil {
			t.Fatal(err)
		}
		if _, err := market.c.Answer(ctx, jp.id, sdk.AnswerInput{ItemCode: "annual", Result: sdk.ResultNonCompliant, Note: "2025年度报告未报送"}); err != nil {
			t.Fatal(err)
		}
		market.note()
		v2, err := market.c.SealSection(ctx, jp.id)
		if err != nil {
			t.Fatal(err)
		}
		market.note()
		if market.cutSync(once(isPush, faultnet.Faults{Down: faultnet.DirFaults{CutAfterBytes: 40}, Mode: faultnet.CutReset})) {
			fault(1)
		}
		for _, d := range devs {
			d.mustSync()
			d.verify()
			p, err := d.c.Packet(ctx, jp.id)
			if err != nil {
				t.Fatal(err)
			}
			checked.Add(1)
			i := slices.IndexFunc(p.Answers, func(a sdk.Answer) bool { return a.ItemCode == "annual" })
			if i < 0 || p.Answers[i].Result != sdk.ResultNonCompliant || p.Answers[i].Pending || p.Answers[i].Note != "2025年度报告未报送" {
				lose(t, "device %d shows the corrected item as %+v", d.id, p.Answers)
			}
			if cur := p.Record.Sections[1].Current; cur == nil || cur.Hash != v2.Hash || cur.Section.Version != 2 || len(p.Record.Sections[1].History) != 2 {
				lose(t, "device %d's market section after the correction: %+v", d.id, p.Record.Sections[1])
			}
		}
	})
}

// checkJointRecord checks the server's joint record of a packet against
// what the team sealed.
func checkJointRecord(t *testing.T, jp *jointPacket, jr *syncproto.JointRecord, keys map[int64]ed25519.PublicKey) {
	t.Helper()
	checked.Add(1)
	if len(jr.Sections) != 2 {
		t.Fatalf("%s: %d sections", jp.id, len(jr.Sections))
	}
	for i, want := range []*syncproto.SealMutation{jp.culture, jp.market} {
		got := jr.Sections[i].Current
		switch {
		case got == nil:
			lose(t, "%s: the %s section is not on the server", jp.id, want.Section.Department)
			continue
		case len(jr.Sections[i].History) != 1:
			dup(t, "%s: %d versions of the %s section", jp.id, len(jr.Sections[i].History), want.Section.Department)
		case got.Hash != want.Hash:
			lose(t, "%s: the %s section on the server is %s, the device sealed %s", jp.id, want.Section.Department, got.Hash, want.Hash)
		}
		if h, _ := syncproto.CanonicalHash(&got.Section); h != got.Hash || !ed25519.Verify(keys[got.Section.DeviceID], syncproto.SectionSealMessage(h), got.Signature) {
			t.Errorf("%s: the %s section does not verify against device %d's key", jp.id, want.Section.Department, got.Section.DeviceID)
		}
	}
	if len(jr.Closes) < len(jp.closes) {
		lose(t, "%s: %d closes on the server, %d captured", jp.id, len(jr.Closes), len(jp.closes))
	} else if len(jr.Closes) > len(jp.closes) {
		dup(t, "%s: %d closes on the server, %d captured", jp.id, len(jr.Closes), len(jp.closes))
	}
	var want []string
	for _, c := range jp.closes {
		want = append(want, c.Hash)
		want = append(want, c.Record.Attachments...)
		if !slices.ContainsFunc(jr.Closes, func(s syncproto.SealedClose) bool { return s.Hash == c.Hash }) {
			lose(t, "%s: the close %s is not on the server", jp.id, c.Hash)
		}
	}
	for _, c := range jr.Closes {
		if h, _ := syncproto.CanonicalHash(&c.Record); h != c.Hash || !ed25519.Verify(keys[c.Record.DeviceID], syncproto.CloseSealMessage(h), c.Signature) {
			t.Errorf("%s: the close does not verify against device %d's key", jp.id, c.Record.DeviceID)
		}
	}
	atts := append(append([]string{}, jp.culture.Section.Attachments...), jp.market.Section.Attachments...)
	for _, c := range jp.closes {
		atts = append(atts, c.Record.Attachments...)
	}
	slices.Sort(atts)
	if atts = slices.Compact(atts); !slices.Equal(jr.Attachments, atts) {
		lose(t, "%s: the record lists attachments %v, the team sealed %v", jp.id, jr.Attachments, atts)
	}
	var flags []string
	for _, f := range jr.Flags {
		flags = append(flags, f.Code+":"+f.Department)
	}
	wantFlags := map[string][]string{
		closeSigned:    nil,
		closeRefused:   nil,
		closeTwice:     {syncproto.FlagSeveralCloses + ":"},
		closeUncovered: {syncproto.FlagSectionNotCovered + ":" + jp.market.Section.Department},
	}[jp.scenario]
	if !slices.Equal(flags, wantFlags) || jr.Complete != (len(wantFlags) == 0) {
		t.Errorf("%s (%s, order %v): flags %v, want %v", jp.id, jp.scenario, jp.order, flags, wantFlags)
	}
	if jp.scenario == closeRefused && (jr.Closes[0].Record.Close.Outcome != syncproto.OutcomeRefused || jr.Closes[0].Record.Close.Note == "") {
		lose(t, "%s: the refusal's note is not on the server: %+v", jp.id, jr.Closes[0].Record.Close)
	}
}

// recordSummary is a joint record's substance in lines: each section's
// sealed versions, each close, each flag.
func recordSummary(jr *syncproto.JointRecord) string {
	var b strings.Builder
	for _, s := range jr.Sections {
		fmt.Fprintf(&b, "section %s:", s.Department)
		for _, v := range s.History {
			fmt.Fprintf(&b, " v%d %.12s", v.Section.Version, v.Hash)
		}
		fmt.Fprintf(&b, " covered by %d\n", len(s.CoveredBy))
	}
	for _, c := range jr.Closes {
		fmt.Fprintf(&b, "close %s %.12s\n", c.Record.Close.Outcome, c.Hash)
	}
	for _, f := range jr.Flags {
		fmt.Fprintf(&b, "flag %s %s\n", f.Code, f.Department)
	}
	fmt.Fprintf(&b, "attachments %d complete %v\n", len(jr.Attachments), jr.Complete)
	return b.String()
}

func tokenOf(s *syncproto.SealMutation) string {
	return syncproto.SectionRef{Department: s.Section.Department, Version: s.Section.Version, Hash: s.Hash}.Token()
}

// deviceKeys reads every device's enrolled public key from the server.
func deviceKeys(t *testing.T, db *store.DB) map[int64]ed25519.PublicKey {
	t.Helper()
	var rows []struct {
		ID        int64  `gorm:"column:id"`
		PublicKey []byte `gorm:"column:public_key"`
	}
	serverQuery(t, db, &rows, `SELECT id, public_key FROM devices`)
	out := map[int64]ed25519.PublicKey{}
	for _, r := range rows {
		out[r.ID] = r.PublicKey
	}
	return out
}

// permutations returns every order of xs.
func permutations(xs []int) [][]int {
	if len(xs) <= 1 {
		return [][]int{slices.Clone(xs)}
	}
	var out [][]int
	for i := range xs {
		rest := append(slices.Clone(xs[:i]), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]int{xs[i]}, p...))
		}
	}
	return out
}
