package api_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// answerOf returns an answer to the packet's item of department dept.
func answerOf(f *syncFixture, dept, result string, base int64) syncproto.AnswerMutation {
	it := f.Items[dept]
	return syncproto.AnswerMutation{Department: dept, ItemCode: it.Code, ItemVersion: it.Version, Result: result, BaseVersion: base}
}

// answerState pulls everything and returns the item's latest state.
func answerState(t *testing.T, d *fieldDevice, packetID, key string) *syncproto.AnswerState {
	t.Helper()
	changes, _ := d.pullAll(t, 0)
	var st *syncproto.AnswerState
	for _, c := range changes {
		if c.Kind == syncproto.ChangeAnswer && c.PacketID == packetID && c.Key == key {
			st = &syncproto.AnswerState{}
			if err := json.Unmarshal(c.Data, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st == nil {
		t.Fatalf("no state of %s %s", packetID, key)
	}
	return st
}

func statuses(r *syncproto.PushResponse) []string {
	var out []string
	for _, x := range r.Results {
		out = append(out, fmt.Sprintf("%d:%s:%s", x.Seq, x.Status, x.Code))
	}
	return out
}

func TestSync_PushExactlyOnce(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		culture := h.DeptA.Code
		key := culture + "/" + f.Items[culture].Code

		m1 := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0))
		m2 := d.mutation(p.ID)
		m2.Kind, m2.Certificates = syncproto.KindCertificates, &syncproto.CertificatesMutation{
			Shown: []syncproto.CertificateShown{{InspectorID: *h.Users["insp-a1"].InspectorID, CertificateNumber: h.Inspectors["insp-a1"].CertificateNumber}}}
		r := d.push(t, m1, m2)
		if got := statuses(r); !slices.Equal(got, []string{"1:applied:", "2:applied:"}) || r.LastAppliedSeq != 2 {
			t.Fatalf("first push: %v last %d", got, r.LastAppliedSeq)
		}
		// The same push again, sequentially: acknowledged, not applied.
		r = d.push(t, m1, m2)
		if got := statuses(r); !slices.Equal(got, []string{"1:duplicate:", "2:duplicate:"}) || r.LastAppliedSeq != 2 {
			t.Fatalf("replay: %v last %d", got, r.LastAppliedSeq)
		}
		// A new answer replayed concurrently: exactly one applies it.
		m3 := d.answer(p.ID, answerOf(f, culture, syncproto.ResultNonCompliant, 1))
		var wg sync.WaitGroup
		results := make([]*syncproto.PushResponse, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = d.push(t, m3)
			}()
		}
		wg.Wait()
		applied := 0
		for _, r := range results {
			if len(r.Results) != 1 || r.LastAppliedSeq != 3 {
				t.Fatalf("concurrent replay: %v last %d", statuses(r), r.LastAppliedSeq)
			}
			switch r.Results[0].Status {
			case syncproto.StatusApplied:
				applied++
			case syncproto.StatusDuplicate:
			default:
				t.Fatalf("concurrent replay: %v", statuses(r))
			}
		}
		if applied != 1 {
			t.Fatalf("%d concurrent pushes applied the mutation, want 1", applied)
		}
		st := answerState(t, d, p.ID, key)
		if st.Version != 2 || st.Winner.Answer.Result != syncproto.ResultNonCompliant || len(st.Conflicts) != 0 {
			t.Fatalf("state after replays: %+v", st)
		}

		// A gap: nothing is processed, the high-water mark stays.
		d.seq = 9
		r = d.push(t, d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 2)))
		if len(r.Results) != 0 || r.LastAppliedSeq != 3 {
			t.Fatalf("gap: %v last %d", statuses(r), r.LastAppliedSeq)
		}
		d.seq = 3

		// Rejections advance the sequence and say why: a packet of another
		// team, an item not in the packet, a bad payload.
		other := ""
		for _, q := range f.Packets {
			if !slices.Contains(f.Team[q.ID], "insp-a1") {
				other = q.ID
			}
		}
		m4 := d.answer(other, answerOf(f, culture, syncproto.ResultCompliant, 0))
		bad := answerOf(f, culture, syncproto.ResultCompliant, 0)
		bad.ItemCode = "NO-SUCH-ITEM"
		m5 := d.answer(p.ID, bad)
		m6 := d.answer(p.ID, answerOf(f, culture, "maybe", 0))
		m7 := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 2))
		r = d.push(t, m4, m5, m6, m7)
		if got := statuses(r); !slices.Equal(got, []string{"4:rejected:not_found", "5:rejected:invalid", "6:rejected:invalid", "7:applied:"}) || r.LastAppliedSeq != 7 {
			t.Fatalf("rejections: %v last %d", got, r.LastAppliedSeq)
		}
		for _, x := range r.Results[:3] {
			if x.Message == "" {
				t.Errorf("rejection %d without a message", x.Seq)
			}
		}
		// A replay of a rejection still carries its reason.
		r = d.push(t, m4)
		if r.Results[0].Status != syncproto.StatusDuplicate || r.Results[0].Code != syncproto.CodeNotFound || r.Results[0].Message == "" {
			t.Fatalf("replayed rejection: %+v", r.Results)
		}
	})
}

func TestSync_Access(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		d := newFieldDevice(t, h, "insp-a1")
		pull := syncproto.PullRequest{DeviceID: d.ID}
		// No or an old protocol header: upgrade.
		for _, v := range []string{"", "0", "1", "x"} {
			b, _ := json.Marshal(pull)
			req := d.request(t, "POST", syncproto.PathPull, b)
			req.Header.Set(syncproto.HeaderProtocol, v)
			if v == "" {
				req.Header.Del(syncproto.HeaderProtocol)
			}
			r := h.Send(t, req)
			if r.Status != http.StatusUpgradeRequired || r.Error().Code != syncproto.CodeUpgradeRequired || r.Header.Get(syncproto.HeaderProtocol) != "2" {
				t.Fatalf("protocol %q: %d %s", v, r.Status, r.Body)
			}
		}
		// A newer client than the server: refused, with the server's version.
		b, _ := json.Marshal(pull)
		req := d.request(t, "POST", syncproto.PathPull, b)
		req.Header.Set(syncproto.HeaderProtocol, "3")
		if r := h.Send(t, req); r.Status != http.StatusBadRequest || r.Header.Get(syncproto.HeaderProtocol) != "2" {
			t.Fatalf("newer protocol: %d %s", r.Status, r.Body)
		}
		// Another device than the token's.
		other := newFieldDevice(t, h, "insp-a2")
		if r := d.post(t, syncproto.PathPull, syncproto.PullRequest{DeviceID: other.ID}); r.Status != http.StatusForbidden {
			t.Fatalf("other device: %d %s", r.Status, r.Body)
		}
		// A token not bound to a device, and staff.
		for _, u := range []string{"insp-a1", "admin-a"} {
			nd := *d
			nd.Token = h.Token(t, u)
			if r := nd.post(t, syncproto.PathPull, pull); r.Status != http.StatusForbidden {
				t.Fatalf("%s without a device: %d %s", u, r.Status, r.Body)
			}
		}
		// A revoked device is stopped at once.
		root := server.NewContextWithUser(t.Context(), h.Users["root"])
		if _, err := h.App.Devices.RevokeDevice(root, other.ID, "丢失"); err != nil {
			t.Fatal(err)
		}
		if r := other.post(t, syncproto.PathPull, syncproto.PullRequest{DeviceID: other.ID}); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Fatalf("revoked device: %d %s", r.Status, r.Body)
		}
	})
}

// teamOfFour issues a campaign whose one team holds both inspectors of each
// department (insp-a1, insp-a2, insp-b1, insp-b2) and every packet.
func teamOfFour(t *testing.T, h *apptest.Harness) *syncFixture {
	t.Helper()
	is := h.IssueCampaign(t, apptest.CampaignSpec{Departments: []*server.Department{h.DeptA, h.DeptB}, Cafes: 3,
		InspectorsPerDepartment: 2, TargetsPerTeam: 3})
	f := &syncFixture{Campaign: is.Campaign, Packets: is.Packets, Team: is.Members, Items: map[string]server.PacketItem{}}
	for _, p := range is.Packets {
		if len(p.Content.Team) != 4 {
			t.Fatalf("packet %s team of %d", p.ID, len(p.Content.Team))
		}
		for _, s := range p.Content.Sections {
			for _, it := range s.Items {
				f.Items[s.Department] = it
			}
		}
	}
	return f
}

// TestSync_ConflictBothOrders: the two culture inspectors of a team answer
// the same item offline on two devices; synced in either order, the final
// state is the same and both versions are kept.
func TestSync_ConflictBothOrders(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := teamOfFour(t, h)
		ps := f.Packets
		a, b := newFieldDevice(t, h, "insp-a1"), newFieldDevice(t, h, "insp-a2")
		culture := h.DeptA.Code
		key := culture + "/" + f.Items[culture].Code
		states := make([]*syncproto.AnswerState, 2)
		for i, p := range ps[:2] {
			ma := a.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0))
			mb := b.answer(p.ID, answerOf(f, culture, syncproto.ResultNonCompliant, 0))
			first, second := func() { a.push(t, ma) }, func() { b.push(t, mb) }
			if i == 1 {
				first, second = second, first
			}
			first()
			second()
			states[i] = answerState(t, a, p.ID, key)
			if bs := answerState(t, b, p.ID, key); !reflect.DeepEqual(bs.Winner.Answer, states[i].Winner.Answer) {
				t.Fatalf("the two devices see different winners")
			}
		}
		for i, st := range states {
			if st.Version != 2 || len(st.Conflicts) != 1 || st.Winner.DeviceID == st.Conflicts[0].DeviceID {
				t.Fatalf("order %d: %+v", i, st)
			}
		}
		if states[0].Winner.DeviceID != states[1].Winner.DeviceID {
			t.Fatalf("the winner depends on the order: device %d, then %d", states[0].Winner.DeviceID, states[1].Winner.DeviceID)
		}

		// The same race pushed at the same moment: both land, both kept.
		m1, m2 := newFieldDevice(t, h, "insp-b1"), newFieldDevice(t, h, "insp-b2")
		market := h.DeptB.Code
		mkey := market + "/" + f.Items[market].Code
		for range 3 {
			ma := m1.answer(ps[0].ID, answerOf(f, market, syncproto.ResultCompliant, 0))
			mb := m2.answer(ps[0].ID, answerOf(f, market, syncproto.ResultNonCompliant, 0))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); m1.push(t, ma) }()
			go func() { defer wg.Done(); m2.push(t, mb) }()
			wg.Wait()
		}
		st := answerState(t, m1, ps[0].ID, mkey)
		if st.Version != 6 || len(st.Conflicts) != 1 {
			t.Fatalf("concurrent pushes: %+v", st)
		}

		// An edit on the current version supersedes and settles the conflict.
		p := ps[0]
		b.push(t, b.answer(p.ID, answerOf(f, culture, syncproto.ResultNotApplicable, 2)))
		st = answerState(t, a, p.ID, key)
		if st.Version != 3 || st.Winner.Answer.Result != syncproto.ResultNotApplicable || len(st.Conflicts) != 0 {
			t.Fatalf("after a sequential edit: %+v", st)
		}
	})
}

// TestSync_OwnCorrectionWins: an inspector answers an item twice offline
// (both on the same base); the second is the live answer, never lost to the
// first by the tie-break, also with a teammate's concurrent version around.
func TestSync_OwnCorrectionWins(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := teamOfFour(t, h)
		a, b := newFieldDevice(t, h, "insp-a1"), newFieldDevice(t, h, "insp-a2")
		culture := h.DeptA.Code
		key := culture + "/" + f.Items[culture].Code
		results := []string{syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable}
		for i, p := range f.Packets {
			// Every pair of first and second answer, so the digest order of
			// the two varies.
			first, second := results[i%3], results[(i+1)%3]
			a.push(t, a.answer(p.ID, answerOf(f, culture, first, 0)), a.answer(p.ID, answerOf(f, culture, second, 0)))
			st := answerState(t, a, p.ID, key)
			if st.Winner.Answer.Result != second || st.Winner.DeviceID != a.ID || len(st.Conflicts) != 0 {
				t.Fatalf("packet %d: %s then %s shows %+v", i, first, second, st)
			}
		}
		// With a teammate's concurrent answer: either a1's last answer is
		// live and a2's kept, or the other way round; a1's first answer is
		// never what is shown.
		p := f.Packets[0]
		b.push(t, b.answer(p.ID, answerOf(f, culture, syncproto.ResultNotApplicable, 0)))
		a.push(t, a.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0)), a.answer(p.ID, answerOf(f, culture, syncproto.ResultNonCompliant, 0)))
		st := answerState(t, a, p.ID, key)
		all := append([]syncproto.AnswerVersion{st.Winner}, st.Conflicts...)
		if len(all) != 2 {
			t.Fatalf("state %+v", st)
		}
		for _, v := range all {
			if v.DeviceID == a.ID && v.Answer.Result != syncproto.ResultNonCompliant {
				t.Fatalf("a1's earlier answer is live: %+v", st)
			}
		}
	})
}

// TestSync_Sections: the field rules of a department section and its seal.
func TestSync_Sections(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := teamOfFour(t, h)
		p := f.Packets[0]
		d := newFieldDevice(t, h, "insp-a1")
		culture, market := h.DeptA.Code, h.DeptB.Code

		tampered := d.seal(t, d.section(p, culture, 1, syncproto.ResultCompliant), d.Key)
		tampered.Seal.Section.Answers[0].Note = "改过的说明"
		wrongKey := d.seal(t, d.section(p, culture, 1, syncproto.ResultCompliant), newKey(t))
		otherDept := d.seal(t, d.section(p, market, 1, syncproto.ResultCompliant), d.Key)
		incomplete := d.section(p, culture, 1, syncproto.ResultCompliant)
		incomplete.Answers = incomplete.Answers[:0]
		incomplete.Answers = append(incomplete.Answers, syncproto.AnswerMutation{Department: culture, ItemCode: "NOT-AN-ITEM", ItemVersion: 1, Result: syncproto.ResultCompliant})
		wrongItem := d.seal(t, incomplete, d.Key)
		fake := d.section(p, culture, 1, syncproto.ResultCompliant)
		fake.Certificates[0].CertificateNumber = "FAKE"
		fakeCert := d.seal(t, fake, d.Key)
		marketOnly := d.section(p, culture, 1, syncproto.ResultCompliant)
		marketOnly.Certificates = d.section(p, market, 1, syncproto.ResultCompliant).Certificates
		marketCerts := d.seal(t, marketOnly, d.Key)
		marketAnswer := d.answer(p.ID, answerOf(f, market, syncproto.ResultCompliant, 0))
		good := d.seal(t, d.section(p, culture, 1, syncproto.ResultNonCompliant), d.Key)
		again := d.seal(t, d.section(p, culture, 1, syncproto.ResultCompliant), d.Key)
		late := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0))
		noReason := d.section(p, culture, 2, syncproto.ResultCompliant)
		noReason.CorrectionReason = ""
		noReasonM := d.seal(t, noReason, d.Key)
		draft := answerOf(f, culture, syncproto.ResultNotApplicable, 0)
		draft.SectionVersion = 2
		correctionDraft := d.answer(p.ID, draft)
		correction := d.seal(t, d.section(p, culture, 2, syncproto.ResultNotApplicable), d.Key)
		legacy := d.mutation(p.ID)
		legacy.Kind, legacy.Close = syncproto.KindClose, &syncproto.CloseMutation{Outcome: syncproto.OutcomeNotLocatable, Note: "无人"}
		r := d.push(t, tampered, wrongKey, otherDept, wrongItem, fakeCert, marketCerts, marketAnswer, good, again, late, noReasonM, correctionDraft, correction, legacy)
		want := []string{"1:rejected:invalid", "2:rejected:invalid", "3:rejected:forbidden", "4:rejected:invalid", "5:rejected:invalid",
			"6:rejected:invalid", "7:rejected:forbidden", "8:applied:", "9:rejected:conflict", "10:rejected:conflict", "11:rejected:invalid",
			"12:applied:", "13:applied:", "14:rejected:invalid"}
		if got := statuses(r); !slices.Equal(got, want) {
			for _, x := range r.Results {
				t.Logf("%d %s %s", x.Seq, x.Status, x.Message)
			}
			t.Fatalf("seals: %v, want %v", got, want)
		}
		for _, x := range r.Results {
			if x.Status == syncproto.StatusRejected && x.Message == "" {
				t.Errorf("rejection %d without a message", x.Seq)
			}
		}
		// The correction is the live state of the section's items.
		st := answerState(t, d, p.ID, culture+"/"+f.Items[culture].Code)
		if st.Winner.Answer.Result != syncproto.ResultNotApplicable || len(st.Conflicts) != 0 {
			t.Fatalf("live answer after the correction: %+v", st)
		}
		changes, _ := d.pullAll(t, 0)
		var versions []int
		for _, c := range changes {
			if c.Kind != syncproto.ChangeSection {
				continue
			}
			var sec syncproto.SealedSection
			if err := json.Unmarshal(c.Data, &sec); err != nil {
				t.Fatal(err)
			}
			hash, _ := syncproto.CanonicalHash(&sec.Section)
			if hash != sec.Hash || c.PacketID != p.ID || !ed25519.Verify(d.Key.Public().(ed25519.PublicKey), syncproto.SectionSealMessage(hash), sec.Signature) {
				t.Fatalf("pulled section %+v", sec)
			}
			versions = append(versions, sec.Section.Version)
		}
		if !slices.Equal(versions, []int{1, 2}) {
			t.Fatalf("pulled section versions %v", versions)
		}
		// The joint record: culture sealed twice, market not yet, no close.
		jr := jointRecord(t, h, "admin-b", p.ID)
		if jr.Sections[0].Current == nil || jr.Sections[0].Current.Section.Version != 2 || len(jr.Sections[0].History) != 2 ||
			jr.Sections[1].Current != nil || jr.Complete {
			t.Fatalf("joint record %+v", jr)
		}
	})
}

// jointRecord reads GET /v1/packets/:id/record as username.
func jointRecord(t *testing.T, h *apptest.Harness, username, packetID string) *syncproto.JointRecord {
	t.Helper()
	var jr syncproto.JointRecord
	h.MustDo(t, "GET", "/v1/packets/"+packetID+"/record", h.Token(t, username), nil, http.StatusOK, &jr)
	return &jr
}

func TestSync_Pull(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		onlyA := newSyncCampaign(t, h, 2, h.DeptA)
		a1 := newFieldDevice(t, h, "insp-a1")
		b1 := newFieldDevice(t, h, "insp-b1")

		packetsSeen := func(changes []syncproto.Change) []string {
			var out []string
			for _, c := range changes {
				if c.Kind == syncproto.ChangePacket {
					var ps syncproto.PacketState
					if err := json.Unmarshal(c.Data, &ps); err != nil || ps.ID != c.PacketID || len(ps.Content) == 0 {
						t.Fatalf("packet state %s: %v", c.Data, err)
					}
					out = append(out, c.PacketID)
				}
			}
			slices.Sort(out)
			return out
		}
		for _, d := range []*fieldDevice{a1, b1} {
			var want []string
			for _, fx := range []*syncFixture{f, onlyA} {
				for _, p := range fx.Packets {
					if slices.Contains(fx.Team[p.ID], d.Username) {
						want = append(want, p.ID)
					}
				}
			}
			slices.Sort(want)
			all, last := d.pullAll(t, 0)
			if got := packetsSeen(all); !slices.Equal(got, want) || len(got) == 0 {
				t.Fatalf("%s sees packets %v, want %v", d.Username, got, want)
			}
			// Paged one by one: the same changes.
			paged, _ := d.pullAll(t, 1)
			if got := packetsSeen(paged); !slices.Equal(got, want) {
				t.Fatalf("%s paged sees %v, want %v", d.Username, got, want)
			}
			// Nothing new after the last cursor.
			if p := d.pull(t, last.Cursor, 0); len(p.Changes) != 0 || p.More || p.Reset {
				t.Fatalf("%s after the end: %+v", d.Username, p)
			}
		}
		for _, p := range onlyA.Packets {
			if slices.Contains(onlyA.Team[p.ID], "insp-b1") {
				t.Fatal("a department-B inspector on a department-A campaign")
			}
		}

		// Unusable cursors reset to the whole state.
		for _, c := range []string{"abc", "-1", "99999999", "007"} {
			p := a1.pull(t, c, 0)
			if !p.Reset || len(packetsSeen(p.Changes)) == 0 {
				t.Fatalf("cursor %q: %+v", c, p)
			}
		}

		// Read your writes: push, then pull shows the mark and the answer.
		_, before := a1.pullAll(t, 0)
		p := f.packetOf(t, "insp-a1")[0]
		culture := h.DeptA.Code
		a1.push(t, a1.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0)))
		after := a1.pull(t, before.Cursor, 0)
		if after.LastAppliedSeq != 1 || len(after.Changes) != 1 || after.Changes[0].Kind != syncproto.ChangeAnswer ||
			after.Changes[0].Key != culture+"/"+f.Items[culture].Code {
			t.Fatalf("read your writes: %+v", after)
		}
		// Changes of one object within a page arrive once, in their latest state.
		a1.push(t, a1.answer(p.ID, answerOf(f, culture, syncproto.ResultNonCompliant, 1)))
		a1.push(t, a1.answer(p.ID, answerOf(f, culture, syncproto.ResultNotApplicable, 2)))
		after = a1.pull(t, before.Cursor, 0)
		var st syncproto.AnswerState
		if len(after.Changes) != 1 || json.Unmarshal(after.Changes[0].Data, &st) != nil || st.Version != 3 ||
			st.Winner.Answer.Result != syncproto.ResultNotApplicable || after.LastAppliedSeq != 3 {
			t.Fatalf("collapsed page: %+v", after)
		}
		// The other team's inspector never sees it.
		other := ""
		for _, u := range []string{"insp-a2", "insp-b1", "insp-b2"} {
			if !slices.Contains(f.Team[p.ID], u) {
				other = u
				break
			}
		}
		od := newFieldDevice(t, h, other)
		all, _ := od.pullAll(t, 0)
		for _, c := range all {
			if c.PacketID == p.ID {
				t.Fatalf("%s, not on the team, sees %s", other, c.Kind)
			}
		}
	})
}

func TestSync_BodyLimits(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		culture := h.DeptA.Code

		gz := func(b []byte) []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			return buf.Bytes()
		}
		send := func(body []byte) *apptest.Response {
			req := d.request(t, "POST", syncproto.PathPush, body)
			req.Header.Set("Content-Encoding", "gzip")
			return h.Send(t, req)
		}
		// A gzip bomb: a valid push padded with whitespace far past the limit.
		m := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0))
		js, _ := json.Marshal(syncproto.PushRequest{DeviceID: d.ID, Mutations: []syncproto.Mutation{m}})
		bomb := append(bytes.Repeat([]byte(" "), 64<<20), js...)
		if r := send(gz(bomb)); r.Status != http.StatusRequestEntityTooLarge || r.Error().Code != syncproto.CodeTooLarge {
			t.Fatalf("gzip bomb: %d %s", r.Status, r.Body)
		}
		if p := d.pull(t, "", 0); p.LastAppliedSeq != 0 {
			t.Fatalf("the bomb applied something: %d", p.LastAppliedSeq)
		}
		// The same push compressed normally.
		r := send(gz(js))
		var out syncproto.PushResponse
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.LastAppliedSeq != 1 {
			t.Fatalf("gzip push: %d %s", r.Status, r.Body)
		}
		// Unknown fields and malformed JSON are refused whole.
		if r := h.Send(t, d.request(t, "POST", syncproto.PathPush, []byte(`{"device_id":1,"mutations":[],"x":1}`))); r.Status != http.StatusBadRequest {
			t.Fatalf("unknown field: %d %s", r.Status, r.Body)
		}
		if r := send([]byte("not gzip")); r.Status != http.StatusBadRequest {
			t.Fatalf("bad gzip: %d %s", r.Status, r.Body)
		}
	})
}

func TestSync_Attachments(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		culture := h.DeptA.Code

		photo := pngBytes("photo", 200_000)
		ref := attachment(photo)
		a := answerOf(f, culture, syncproto.ResultNonCompliant, 0)
		a.Photos = []syncproto.AttachmentRef{ref}
		m1 := d.answer(p.ID, a)
		m2 := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 1))
		// Deferred: the photo is not on the server; nothing after it is processed.
		r := d.push(t, m1, m2)
		if got := statuses(r); !slices.Equal(got, []string{"1:deferred:"}) || r.LastAppliedSeq != 0 {
			t.Fatalf("deferred: %v last %d", got, r.LastAppliedSeq)
		}
		if got := d.missing(t, ref.SHA256, ref.SHA256); !slices.Equal(got, []string{ref.SHA256}) {
			t.Fatalf("missing %v", got)
		}

		// Upload, cut after a partial PATCH, resume from the server's offset.
		path, cr := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		if cr.Status != http.StatusCreated || path == "" {
			t.Fatalf("create: %d %s", cr.Status, cr.Body)
		}
		if r := d.patch(t, path, 0, photo[:70_000]); r.Status != http.StatusNoContent {
			t.Fatalf("first chunk: %d %s", r.Status, r.Body)
		}
		off, hr := d.head(t, path)
		if hr.Status != http.StatusOK || off != 70_000 {
			t.Fatalf("head: %d offset %d", hr.Status, off)
		}
		if r := d.patch(t, path, 0, photo[:10]); r.Status != http.StatusConflict {
			t.Fatalf("wrong offset: %d %s", r.Status, r.Body)
		}
		// Someone else's session cannot touch the upload.
		other := newFieldDevice(t, h, "insp-a2")
		if _, r := other.head(t, path); r.Status != http.StatusNotFound {
			t.Fatalf("other's head: %d", r.Status)
		}
		if r := d.patch(t, path, off, photo[off:]); r.Status != http.StatusNoContent {
			t.Fatalf("rest: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, ref.SHA256); len(got) != 0 {
			t.Fatalf("still missing after upload: %v", got)
		}
		r = d.push(t, m1, m2)
		if got := statuses(r); !slices.Equal(got, []string{"1:applied:", "2:applied:"}) || r.LastAppliedSeq != 2 {
			t.Fatalf("after upload: %v last %d", got, r.LastAppliedSeq)
		}

		// A file that does not match its declared hash is refused and never stored.
		liar := pngBytes("liar", 5000)
		claimed := attachment(pngBytes("claimed", 5000))
		path, cr = d.createUpload(t, len(liar), claimed.SHA256, "image/png")
		if cr.Status != http.StatusCreated {
			t.Fatalf("create liar: %d %s", cr.Status, cr.Body)
		}
		if r := d.patch(t, path, 0, liar); r.Status != http.StatusUnprocessableEntity || r.Error().Code != syncproto.CodeInvalid {
			t.Fatalf("wrong hash: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, claimed.SHA256, attachment(liar).SHA256); len(got) != 2 {
			t.Fatalf("a mismatched upload left a blob: missing %v", got)
		}
		if _, r := d.head(t, path); r.Status != http.StatusNotFound {
			t.Fatalf("the refused upload lives on: %d", r.Status)
		}
		// Uploads need metadata, a content type and a size within the limit.
		for _, c := range []struct {
			size     int
			sha, typ string
		}{{10, "nothex", "image/png"}, {10, ref.SHA256, "text/plain"}, {syncproto.MaxAttachmentBytes + 1, ref.SHA256, "image/png"}} {
			if _, r := d.createUpload(t, c.size, c.sha, c.typ); r.Status < 400 || r.Status >= 500 {
				t.Fatalf("create %+v: %d %s", c, r.Status, r.Body)
			}
		}

		// Reading: the team, the participating departments' staff and platform
		// admins; not another inspector; nobody for a hash nothing references.
		get := func(token, sha string) *apptest.Response {
			return h.Do(t, "GET", syncproto.PathAttachments+"/"+sha, token, nil)
		}
		for _, tok := range []string{d.Token, h.Token(t, "admin-a"), h.Token(t, "coord-b"), h.Token(t, "root")} {
			r := get(tok, ref.SHA256)
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, photo) || r.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("read: %d (%d bytes)", r.Status, len(r.Body))
			}
			assertUploadedHeaders(t, r, ref.SHA256[:12]+".png")
		}
		outsider := ""
		for _, u := range []string{"insp-a2", "insp-b1", "insp-b2"} {
			if !slices.Contains(f.Team[p.ID], u) {
				outsider = u
				break
			}
		}
		if r := get(h.Token(t, outsider), ref.SHA256); r.Status != http.StatusNotFound {
			t.Fatalf("outsider read: %d", r.Status)
		}
		lone := d.upload(t, pngBytes("unreferenced", 3000))
		if r := get(d.Token, lone.SHA256); r.Status != http.StatusNotFound {
			t.Fatalf("unreferenced read: %d", r.Status)
		}
		if r := get(d.Token, attachment([]byte("nothing")).SHA256); r.Status != http.StatusNotFound {
			t.Fatalf("unknown read: %d", r.Status)
		}
	})
}

// TestSync_AttachmentsByHash: knowing a hash grants nothing. A device may
// refer only to an attachment it uploaded or one a packet of its team
// already references; "missing" answers for the caller alone, so it tells
// nobody whether a stranger's file exists; identical bytes uploaded again
// are stored once.
func TestSync_AttachmentsByHash(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		var stranger, mate string
		for _, q := range f.Packets {
			if !slices.Contains(f.Team[q.ID], "insp-a1") {
				stranger = f.Team[q.ID][0]
			}
		}
		for _, u := range f.Team[p.ID] {
			if u != "insp-a1" {
				mate = u
			}
		}
		owner := newFieldDevice(t, h, "insp-a1")
		spare := newFieldDevice(t, h, "insp-a1") // the same inspector's second device
		teammate := newFieldDevice(t, h, mate)
		other := newFieldDevice(t, h, stranger)
		culture := h.DeptA.Code

		content := pngBytes("attachment-by-hash", 4000)
		ref := owner.upload(t, content)
		for _, d := range []*fieldDevice{spare, teammate, other} {
			if got := d.missing(t, ref.SHA256); !slices.Equal(got, []string{ref.SHA256}) {
				t.Fatalf("%s (device %d): missing %v before any packet refers to it, want it missing", d.Username, d.ID, got)
			}
		}
		if got := owner.missing(t, ref.SHA256); len(got) != 0 {
			t.Fatalf("the uploader's missing query: %v", got)
		}
		// Referring to it before uploading it: deferred, exactly as for a
		// hash nobody has, and nothing applied.
		withPhoto := func(dept string) syncproto.AnswerMutation {
			a := answerOf(f, dept, syncproto.ResultNonCompliant, 0)
			a.Note, a.Photos = "见照片", []syncproto.AttachmentRef{ref}
			return a
		}
		unknown := attachment(pngBytes("nobody has this", 4000))
		for _, d := range []*fieldDevice{spare, other} {
			before := serverCountsAPI(t, h)
			a := withPhoto(deptOf(h, d.Username))
			target := p.ID
			if d == other {
				target = f.packetOf(t, stranger)[0].ID
			}
			r := d.push(t, d.answer(target, a))
			if len(r.Results) != 1 || r.Results[0].Status != syncproto.StatusDeferred {
				t.Fatalf("%s refers to another device's hash: %+v", d.Username, r.Results)
			}
			a.Photos = []syncproto.AttachmentRef{unknown}
			d.seq--
			r2 := d.push(t, d.answer(target, a))
			if r2.Results[0].Status != r.Results[0].Status {
				t.Fatalf("an unknown hash is answered %+v, a stranger's %+v: the answers tell them apart", r2.Results, r.Results)
			}
			if after := serverCountsAPI(t, h); after != before {
				t.Fatalf("a deferred reference changed the server: %v → %v", before, after)
			}
			d.seq-- // the deferred mutation is sent again later
		}
		// A reference that misstates the file's size is refused.
		wrong := withPhoto(culture)
		wrong.Photos = []syncproto.AttachmentRef{{SHA256: ref.SHA256, Size: ref.Size + 1, ContentType: ref.ContentType}}
		if r := owner.push(t, owner.answer(p.ID, wrong)); r.Results[0].Status != syncproto.StatusRejected || r.Results[0].Code != syncproto.CodeInvalid {
			t.Fatalf("a reference with the wrong size: %+v", r.Results)
		}
		// The uploader refers to it: applied; then the packet's team may.
		if r := owner.push(t, owner.answer(p.ID, withPhoto(culture))); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("the uploader's reference: %+v", r.Results)
		}
		if got := teammate.missing(t, ref.SHA256); len(got) != 0 {
			t.Fatalf("the teammate's missing query after the packet refers to it: %v", got)
		}
		if r := teammate.push(t, teammate.answer(p.ID, withPhoto(deptOf(h, mate)))); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("a teammate's reference to the packet's attachment: %+v", r.Results)
		}
		// A stranger still may not, and cannot read it.
		if got := other.missing(t, ref.SHA256); !slices.Equal(got, []string{ref.SHA256}) {
			t.Fatalf("the stranger's missing query: %v", got)
		}
		h.MustDo(t, "GET", syncproto.PathAttachments+"/"+ref.SHA256, other.Token, nil, http.StatusNotFound, nil)
		// Uploading the same bytes is allowed, stored once, and then the
		// stranger's device may refer to them.
		var blobs int64
		count := func() int64 {
			h.App.DB.WithTx(t.Context(), func(tx *store.Tx) error { return tx.Raw("SELECT COUNT(*) FROM blobs").Scan(&blobs).Error })
			return blobs
		}
		n := count()
		other.upload(t, content)
		if count() != n {
			t.Fatalf("identical bytes stored twice: %d blobs, then %d", n, blobs)
		}
		if got := other.missing(t, ref.SHA256); len(got) != 0 {
			t.Fatalf("the stranger's missing query after its own upload: %v", got)
		}
		a := withPhoto(deptOf(h, stranger))
		if r := other.push(t, other.answer(f.packetOf(t, stranger)[0].ID, a)); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("the stranger's reference after uploading the bytes itself: %+v", r.Results)
		}
	})
}

// serverCountsAPI counts what a push may write.
func serverCountsAPI(t *testing.T, h *apptest.Harness) [3]int64 {
	t.Helper()
	var out [3]int64
	err := h.App.DB.WithTx(t.Context(), func(tx *store.Tx) error {
		for i, q := range []string{"SELECT COUNT(*) FROM answers", "SELECT COUNT(*) FROM mutations", "SELECT COUNT(*) FROM attachment_refs"} {
			if err := tx.Raw(q).Scan(&out[i]).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSync_OutOfWindowFlagged: device time is data, never trusted. A
// section sealed by a clock two weeks before the campaign window, and a
// close captured after it, are accepted and flagged for the reviewer; work
// inside the window is not flagged.
func TestSync_OutOfWindowFlagged(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := teamOfFour(t, h)
		p := f.Packets[0]
		a, b := newFieldDevice(t, h, "insp-a1"), newFieldDevice(t, h, "insp-b1")
		culture, market := a.section(p, h.DeptA.Code, 1, syncproto.ResultCompliant), b.section(p, h.DeptB.Code, 1, syncproto.ResultCompliant)
		culture.SealedAt = h.Now()
		market.SealedAt = h.Now().AddDate(0, 0, -14)
		mc, mm := a.seal(t, culture, a.Key), b.seal(t, market, b.Key)
		late := a.notLocatable(p.ID, ref(mc), ref(mm))
		late.ClosedAt = h.Now().AddDate(0, 0, 30)
		for _, r := range []*syncproto.PushResponse{a.push(t, mc, a.sealClose(t, late, a.Key)), b.push(t, mm)} {
			for _, x := range r.Results {
				if x.Status != syncproto.StatusApplied {
					t.Fatalf("out-of-window work refused: %+v", r.Results)
				}
			}
		}
		jr := jointRecord(t, h, "coord-a", p.ID)
		var got []string
		for _, fl := range jr.Flags {
			got = append(got, fl.Code+":"+fl.Department)
			if fl.Message == "" {
				t.Errorf("flag %s without a message", fl.Code)
			}
		}
		want := []string{syncproto.FlagDeviceTimeOutsideWindow + ":" + h.DeptB.Code, syncproto.FlagDeviceTimeOutsideWindow + ":"}
		if !slices.Equal(got, want) || jr.Complete {
			t.Fatalf("flags %v, want %v", got, want)
		}
	})
}
