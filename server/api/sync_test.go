package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
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
		for _, v := range []string{"", "0", "x"} {
			b, _ := json.Marshal(pull)
			req := d.request(t, "POST", syncproto.PathPull, b)
			req.Header.Set(syncproto.HeaderProtocol, v)
			if v == "" {
				req.Header.Del(syncproto.HeaderProtocol)
			}
			r := h.Send(t, req)
			if r.Status != http.StatusUpgradeRequired || r.Error().Code != syncproto.CodeUpgradeRequired || r.Header.Get(syncproto.HeaderProtocol) != "1" {
				t.Fatalf("protocol %q: %d %s", v, r.Status, r.Body)
			}
		}
		// A newer client than the server: refused, with the server's version.
		b, _ := json.Marshal(pull)
		req := d.request(t, "POST", syncproto.PathPull, b)
		req.Header.Set(syncproto.HeaderProtocol, "2")
		if r := h.Send(t, req); r.Status != http.StatusBadRequest || r.Header.Get(syncproto.HeaderProtocol) != "1" {
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

// TestSync_ConflictBothOrders: two inspectors of one team answer the same
// item offline; synced in either order, the final state is the same.
func TestSync_ConflictBothOrders(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		ps := f.packetOf(t, "insp-a1")
		if len(ps) < 2 {
			t.Fatalf("insp-a1 has %d packets, want 2", len(ps))
		}
		var bName string
		for _, u := range f.Team[ps[0].ID] {
			if u != "insp-a1" {
				bName = u
			}
		}
		a, b := newFieldDevice(t, h, "insp-a1"), newFieldDevice(t, h, bName)
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
			// The culture inspector's answer wins the culture item; the other is kept.
			if st.Version != 2 || st.Winner.Answer.Result != syncproto.ResultCompliant || st.Winner.DeviceID != a.ID ||
				len(st.Conflicts) != 1 || st.Conflicts[0].Answer.Result != syncproto.ResultNonCompliant || st.Conflicts[0].DeviceID != b.ID {
				t.Fatalf("order %d: %+v", i, st)
			}
		}
		// The same race pushed at the same moment: both land, one wins.
		market := h.DeptB.Code
		mkey := market + "/" + f.Items[market].Code
		for range 3 {
			ma := a.answer(ps[0].ID, answerOf(f, market, syncproto.ResultCompliant, 0))
			mb := b.answer(ps[0].ID, answerOf(f, market, syncproto.ResultNonCompliant, 0))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); a.push(t, ma) }()
			go func() { defer wg.Done(); b.push(t, mb) }()
			wg.Wait()
		}
		st := answerState(t, a, ps[0].ID, mkey)
		if st.Version != 6 || st.Winner.DeviceID != b.ID || len(st.Conflicts) == 0 {
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

func TestSync_SealedRecords(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		culture := h.DeptA.Code

		tampered := d.finalize(t, d.notLocatable(p.ID, 1), d.Key)
		tampered.Finalize.Record.Close.Note = "改过的说明"
		wrongKey := d.finalize(t, d.notLocatable(p.ID, 1), newKey(t))
		good := d.finalize(t, d.notLocatable(p.ID, 1), d.Key)
		again := d.finalize(t, d.notLocatable(p.ID, 1), d.Key)
		late := d.answer(p.ID, answerOf(f, culture, syncproto.ResultCompliant, 0))
		noReason := d.finalize(t, d.notLocatable(p.ID, 2), d.Key)
		noReason.Finalize.Record.CorrectionReason = ""
		correction := d.finalize(t, d.notLocatable(p.ID, 2), d.Key)
		r := d.push(t, tampered, wrongKey, good, again, late, noReason, correction)
		want := []string{"1:rejected:invalid", "2:rejected:invalid", "3:applied:", "4:rejected:conflict",
			"5:rejected:conflict", "6:rejected:invalid", "7:applied:"}
		if got := statuses(r); !slices.Equal(got, want) {
			t.Fatalf("seals: %v, want %v", got, want)
		}
		if r.Results[4].Message != "该记录已封存，如需更正请提交更正版本 (record sealed; submit a correction)." {
			t.Errorf("sealed message %q", r.Results[4].Message)
		}
		changes, _ := d.pullAll(t, 0)
		var versions []int
		for _, c := range changes {
			if c.Kind != syncproto.ChangeRecord {
				continue
			}
			var rec syncproto.SealedRecord
			if err := json.Unmarshal(c.Data, &rec); err != nil {
				t.Fatal(err)
			}
			hash, _ := syncproto.RecordHash(&rec.Record)
			if hash != rec.Hash || c.PacketID != p.ID {
				t.Fatalf("pulled record %+v", rec)
			}
			versions = append(versions, rec.Record.Version)
		}
		if !slices.Equal(versions, []int{1, 2}) {
			t.Fatalf("pulled record versions %v", versions)
		}
	})
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
			if r := get(tok, ref.SHA256); r.Status != http.StatusOK || !bytes.Equal(r.Body, photo) || r.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("read: %d (%d bytes)", r.Status, len(r.Body))
			}
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
