package syncproto_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var t0 = time.Date(2026, 12, 1, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

func ref(c byte) syncproto.AttachmentRef {
	return syncproto.AttachmentRef{SHA256: strings.Repeat(string(c), 64), Size: 30_000, ContentType: "image/png"}
}

// sealedSection returns a valid seal of the culture section, signed by key.
func sealedSection(t testing.TB, key ed25519.PrivateKey) *syncproto.SealMutation {
	rec := syncproto.SectionRecord{
		PacketID: "7f3a9c", Department: "culture", Version: 1, DeviceID: 3, InspectorID: 1, SealedAt: t0,
		Answers: []syncproto.AnswerMutation{
			{Department: "culture", ItemCode: "WH-01", ItemVersion: 1, Result: syncproto.ResultCompliant, Photos: []syncproto.AttachmentRef{ref('a')}},
			{Department: "culture", ItemCode: "WH-02", ItemVersion: 2, Result: syncproto.ResultNonCompliant, Note: "未公示许可证 <照片>"},
			{Department: "culture", ItemCode: "WH-03", ItemVersion: 1, Result: syncproto.ResultNotChecked, Note: "设备停电，无法查看"},
		},
		Certificates: []syncproto.CertificateShown{{InspectorID: 1, CertificateNumber: "冀文执130200"}, {InspectorID: 2, CertificateNumber: "冀文执130201"}},
		Attachments:  []string{strings.Repeat("a", 64)},
	}
	h, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	return &syncproto.SealMutation{Section: rec, Hash: h, Signature: ed25519.Sign(key, syncproto.SectionSealMessage(h))}
}

// sealedClose returns a valid close covering s, signed by key.
func sealedClose(t testing.TB, key ed25519.PrivateKey, s *syncproto.SealMutation) *syncproto.SealCloseMutation {
	rec := syncproto.CloseRecord{
		PacketID: "7f3a9c", DeviceID: 4, InspectorID: 3, ClosedAt: t0,
		Close: syncproto.CloseMutation{Outcome: syncproto.OutcomeSigned, Signatures: []syncproto.Signature{
			{Role: syncproto.SignerRepresentative, Name: "李四", Image: ref('b')},
		}, Stamp: &syncproto.AttachmentRef{SHA256: strings.Repeat("c", 64), Size: 300_000, ContentType: "image/jpeg"}},
		Covers: []syncproto.SectionRef{
			{Department: "culture", Version: 1, Hash: s.Hash},
			{Department: "market", Version: 1, Hash: strings.Repeat("d", 64)},
		},
		Attachments: []string{strings.Repeat("b", 64), strings.Repeat("c", 64)},
	}
	h, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	return &syncproto.SealCloseMutation{Record: rec, Hash: h, Signature: ed25519.Sign(key, syncproto.CloseSealMessage(h))}
}

func samplePush(t testing.TB) *syncproto.PushRequest {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	s := sealedSection(t, key)
	c := sealedClose(t, key, s)
	answer := s.Section.Answers[0]
	answer.SectionVersion = 1
	return &syncproto.PushRequest{DeviceID: 3, Mutations: []syncproto.Mutation{
		{Seq: 1, ID: "m1", Kind: syncproto.KindCertificates, PacketID: "7f3a9c", DeviceTime: t0,
			Certificates: &syncproto.CertificatesMutation{Shown: s.Section.Certificates, Location: &syncproto.Location{Latitude: 39.63, Longitude: 118.18, AccuracyM: 8}}},
		{Seq: 2, ID: "m2", Kind: syncproto.KindAnswer, PacketID: "7f3a9c", DeviceTime: t0, Answer: &answer},
		{Seq: 3, ID: "m3", Kind: syncproto.KindSeal, PacketID: "7f3a9c", DeviceTime: t0, Seal: s},
		{Seq: 4, ID: "m4", Kind: syncproto.KindSealClose, PacketID: "7f3a9c", DeviceTime: t0, SealClose: c},
	}}
}

// TestGolden: any change to the wire format is a visible diff in testdata.
// Devices run old SDKs offline for months, so a change must be deliberate.
func TestGolden(t *testing.T) {
	for name, v := range map[string]any{
		"push_request":           samplePush(t),
		"push_response":          syncproto.PushResponse{LastAppliedSeq: 4, Results: []syncproto.MutationResult{{Seq: 3, Status: syncproto.StatusDuplicate}, {Seq: 4, Status: syncproto.StatusRejected, Code: syncproto.CodeConflict, Message: "culture部分第1版已封存 (the culture section's version 1 is sealed)."}}},
		"pull_request":           syncproto.PullRequest{DeviceID: 3, Cursor: "120", Limit: 100},
		"device_import_response": syncproto.DeviceImportResponse{LastAppliedSeq: 4, Attachments: 2, Results: []syncproto.MutationResult{{Seq: 3, Status: syncproto.StatusApplied}, {Seq: 4, Status: syncproto.StatusDuplicate}}},
		// A long poll; without WaitSeconds the request is byte for byte what
		// clients before long polls send (pull_request).
		"pull_request_wait": syncproto.PullRequest{DeviceID: 3, Cursor: "121", Limit: 500, WaitSeconds: 25},
		"pull_response":     syncproto.PullResponse{Cursor: "121", LastAppliedSeq: 4, Changes: []syncproto.Change{{Seq: 121, Kind: syncproto.ChangePacket, PacketID: "7f3a9c", Data: json.RawMessage(`{"id":"7f3a9c","version":1}`)}}},
		"missing":           syncproto.MissingRequest{Hashes: []string{strings.Repeat("a", 64)}},
		"login":             syncproto.LoginRequest{Username: "inspector01", Password: "secret", DeviceID: new(int64)},
		"error":             syncproto.Error{Code: syncproto.CodeUpgradeRequired, Message: "请升级 (upgrade required)."},
	} {
		got, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name+".golden.json")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./syncproto -update to create it)", err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("wire format of %s changed (go test ./syncproto -update if intended):\n%s", name, got)
		}
	}
}

func TestPushRequest_Validate(t *testing.T) {
	if err := samplePush(t).Validate(); err != nil {
		t.Fatalf("valid push refused: %v", err)
	}
	for name, mutate := range map[string]func(p *syncproto.PushRequest){
		"gap":                  func(p *syncproto.PushRequest) { p.Mutations[2].Seq = 9 },
		"no device":            func(p *syncproto.PushRequest) { p.DeviceID = 0 },
		"two payloads":         func(p *syncproto.PushRequest) { p.Mutations[1].Seal = p.Mutations[2].Seal },
		"kind mismatch":        func(p *syncproto.PushRequest) { p.Mutations[1].Kind = syncproto.KindSeal },
		"bad result":           func(p *syncproto.PushRequest) { p.Mutations[1].Answer.Result = "fine" },
		"not checked, no note": func(p *syncproto.PushRequest) { p.Mutations[1].Answer.Result = syncproto.ResultNotChecked },
		"refusal no note": func(p *syncproto.PushRequest) {
			p.Mutations[3].SealClose.Record.Close.Outcome = syncproto.OutcomeRefused
		},
		"tampered section": func(p *syncproto.PushRequest) { p.Mutations[2].Seal.Section.Answers[1].Note = "已公示" },
		"tampered close": func(p *syncproto.PushRequest) {
			p.Mutations[3].SealClose.Record.Covers = p.Mutations[3].SealClose.Record.Covers[:1]
		},
		"unsorted answers": func(p *syncproto.PushRequest) {
			a := p.Mutations[2].Seal.Section.Answers
			a[0], a[1] = a[1], a[0]
		},
		"other department's answer": func(p *syncproto.PushRequest) { p.Mutations[2].Seal.Section.Answers[2].Department = "market" },
		"no certificates":           func(p *syncproto.PushRequest) { p.Mutations[2].Seal.Section.Certificates = nil },
		"correction without reason": func(p *syncproto.PushRequest) {
			p.Mutations[2].Seal.Section.Version, p.Mutations[2].Seal.Section.Replaces = 2, 1
		},
		"missing attachment": func(p *syncproto.PushRequest) { p.Mutations[2].Seal.Section.Attachments = []string{} },
		"bad cover":          func(p *syncproto.PushRequest) { p.Mutations[3].SealClose.Record.Covers[0].Hash = "ABC" },
		"bad hash":           func(p *syncproto.PushRequest) { p.Mutations[1].Answer.Photos[0].SHA256 = "ABC" },
		"no time":            func(p *syncproto.PushRequest) { p.Mutations[0].DeviceTime = time.Time{} },
		"control character":  func(p *syncproto.PushRequest) { p.Mutations[0].Certificates.Shown[0].CertificateNumber = "冀\x00文" },
	} {
		p := samplePush(t)
		mutate(p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSeal_Verifies(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	s := sealedSection(t, key)
	c := sealedClose(t, key, s)
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), syncproto.SectionSealMessage(s.Hash), s.Signature) {
		t.Fatal("section seal does not verify")
	}
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), syncproto.CloseSealMessage(c.Hash), c.Signature) {
		t.Fatal("close seal does not verify")
	}
	// The two messages are domain-separated: a section's signature is no close's.
	if ed25519.Verify(key.Public().(ed25519.PublicKey), syncproto.CloseSealMessage(s.Hash), s.Signature) {
		t.Fatal("a section seal verifies as a close")
	}
	// The hash survives a JSON round trip: what the server decodes hashes the same.
	buf, _ := json.Marshal(s)
	var back syncproto.SealMutation
	if err := json.Unmarshal(buf, &back); err != nil {
		t.Fatal(err)
	}
	if h, _ := syncproto.CanonicalHash(&back.Section); h != s.Hash {
		t.Fatalf("hash changed across a round trip: %s vs %s", h, s.Hash)
	}
}

func TestSectionToken(t *testing.T) {
	ref := syncproto.SectionRef{Department: "market", Version: 2, Hash: strings.Repeat("e", 64)}
	got, err := syncproto.ParseSectionToken(" " + ref.Token() + "\n")
	if err != nil || got != ref {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "sc1:market:2", "sc2:market:2:" + ref.Hash, "sc1:market:x:" + ref.Hash, "sc1:market:0:" + ref.Hash,
		"sc1:mar ket:1:" + ref.Hash, "sc1:market:1:" + strings.Repeat("E", 64)} {
		if _, err := syncproto.ParseSectionToken(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzDecodePush: strict decoding plus Validate never panics, and whatever
// passes re-encodes and validates again.
func FuzzDecodePush(f *testing.F) {
	buf, _ := json.Marshal(samplePush(f))
	f.Add(buf)
	f.Add([]byte(`{"device_id":1,"mutations":[]}`))
	f.Add([]byte(`{"device_id":1,"mutations":[{"seq":1,"kind":"answer"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var p syncproto.PushRequest
		if dec.Decode(&p) != nil || p.Validate() != nil {
			return
		}
		again, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		var q syncproto.PushRequest
		if err := json.Unmarshal(again, &q); err != nil {
			t.Fatal(err)
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("valid push invalid after a round trip: %v", err)
		}
	})
}

func TestPullRequest_Validate(t *testing.T) {
	for _, wait := range []int{0, 1, 25, syncproto.MaxPullWaitSeconds} {
		r := syncproto.PullRequest{DeviceID: 3, Cursor: "120", WaitSeconds: wait}
		if err := r.Validate(); err != nil {
			t.Errorf("wait %d refused: %v", wait, err)
		}
	}
	for _, wait := range []int{-1, syncproto.MaxPullWaitSeconds + 1} {
		r := syncproto.PullRequest{DeviceID: 3, WaitSeconds: wait}
		if err := r.Validate(); err == nil {
			t.Errorf("wait %d accepted", wait)
		}
	}
	// A client from before long polls sends no wait_seconds: it decodes
	// strictly, is valid, and asks for an answer at once.
	dec := json.NewDecoder(strings.NewReader(`{"device_id":3,"cursor":"120","limit":100}`))
	dec.DisallowUnknownFields()
	var old syncproto.PullRequest
	if err := dec.Decode(&old); err != nil || old.Validate() != nil || old.WaitSeconds != 0 {
		t.Fatalf("old client's pull: %+v, %v", old, err)
	}
}

// TestMutation_ValidateControlCharacters: a NUL (which PostgreSQL cannot
// store) or another control character in any string rejects the mutation on
// its own; line breaks in a note are text.
func TestMutation_ValidateControlCharacters(t *testing.T) {
	p := samplePush(t)
	answer := *p.Mutations[1].Answer
	m := syncproto.Mutation{Seq: 1, ID: "m9", Kind: syncproto.KindAnswer, PacketID: "7f3a9c", DeviceTime: t0, Answer: &answer}
	answer.Note = "第一行\r\n第二行\t完"
	if err := m.Validate(); err != nil {
		t.Fatalf("a note with line breaks refused: %v", err)
	}
	for _, bad := range []func(){
		func() { answer.Note = "a\x00b" },
		func() { answer.Note = "a\x1bb" },
		func() { answer.Value = "\x00" },
		func() { m.ID = "m\x00" },
	} {
		a, id := answer, m.ID
		bad()
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("note %q value %q id %q: %v", answer.Note, answer.Value, m.ID, err)
		}
		answer, m.ID = a, id
	}
	cert := syncproto.Mutation{Seq: 1, ID: "m8", Kind: syncproto.KindCertificates, PacketID: "7f3a9c", DeviceTime: t0,
		Certificates: &syncproto.CertificatesMutation{Shown: append([]syncproto.CertificateShown(nil), p.Mutations[0].Certificates.Shown...)}}
	cert.Certificates.Shown[0].CertificateNumber = "X\x00"
	if err := cert.Validate(); err == nil {
		t.Error("a NUL in a certificate number accepted")
	}
}
