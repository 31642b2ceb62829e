package server_test

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestConcurrentAnswerWins(t *testing.T) {
	ans := func(result string) syncproto.AnswerMutation {
		return syncproto.AnswerMutation{Department: "culture", ItemCode: "WH-01", ItemVersion: 1, Result: result}
	}
	own := &server.AnswerCandidate{Answer: ans(syncproto.ResultCompliant), DeviceID: 1, AuthorDepartment: "culture"}
	other := &server.AnswerCandidate{Answer: ans(syncproto.ResultNonCompliant), DeviceID: 2, AuthorDepartment: "market"}
	if !server.ConcurrentAnswerWins(own, other) || server.ConcurrentAnswerWins(other, own) {
		t.Fatal("the section's own department must win")
	}
	// Same department on both sides: the digest decides, the same way in both orders.
	x := &server.AnswerCandidate{Answer: ans(syncproto.ResultCompliant), DeviceID: 1, AuthorDepartment: "market"}
	if server.ConcurrentAnswerWins(x, other) == server.ConcurrentAnswerWins(other, x) {
		t.Fatal("the rule is not antisymmetric")
	}
	wantX := server.AnswerDigest(&x.Answer) > server.AnswerDigest(&other.Answer)
	if server.ConcurrentAnswerWins(x, other) != wantX {
		t.Fatal("the higher digest must win")
	}
	// Identical answers: the device id breaks the tie.
	y := &server.AnswerCandidate{Answer: x.Answer, DeviceID: 9, AuthorDepartment: "market"}
	if !server.ConcurrentAnswerWins(y, x) || server.ConcurrentAnswerWins(x, y) {
		t.Fatal("the higher device id must break a tie")
	}
}

func TestResolveAnswer(t *testing.T) {
	head := func(device, version, base int64, result string) server.AnswerHead {
		return server.AnswerHead{
			AnswerCandidate: server.AnswerCandidate{DeviceID: device, AuthorDepartment: "culture",
				Answer: syncproto.AnswerMutation{Department: "culture", ItemCode: "WH-01", ItemVersion: 1, Result: result}},
			Version: version, BaseVersion: base,
		}
	}
	t.Run("OwnCorrectionWins", func(t *testing.T) {
		// Device 1 answered twice offline (both on base 0); only its newest
		// version is a head, so it is the live answer whatever its digest.
		for _, r := range []string{syncproto.ResultCompliant, syncproto.ResultNonCompliant, syncproto.ResultNotApplicable} {
			w, conflicts := server.ResolveAnswer([]server.AnswerHead{head(1, 2, 0, r)})
			if w != 0 || conflicts != nil {
				t.Fatalf("%s: winner %d, conflicts %v", r, w, conflicts)
			}
		}
	})
	t.Run("SeenIsSuperseded", func(t *testing.T) {
		// Device 2 pulled version 1 of device 1 and edited on it: no conflict.
		heads := []server.AnswerHead{head(1, 1, 0, syncproto.ResultCompliant), head(2, 2, 1, syncproto.ResultNonCompliant)}
		w, conflicts := server.ResolveAnswer(heads)
		if w != 1 || conflicts != nil {
			t.Fatalf("winner %d, conflicts %v", w, conflicts)
		}
	})
	t.Run("ConcurrentKeepsBoth", func(t *testing.T) {
		a, b := head(1, 1, 0, syncproto.ResultCompliant), head(2, 2, 0, syncproto.ResultNonCompliant)
		w1, c1 := server.ResolveAnswer([]server.AnswerHead{a, b})
		w2, c2 := server.ResolveAnswer([]server.AnswerHead{b, a})
		if len(c1) != 1 || len(c2) != 1 {
			t.Fatalf("conflicts %v, %v", c1, c2)
		}
		// The same version wins whichever order the heads come in.
		if []server.AnswerHead{a, b}[w1].DeviceID != []server.AnswerHead{b, a}[w2].DeviceID {
			t.Fatal("the winner depends on the order")
		}
		want := int64(1)
		if server.ConcurrentAnswerWins(&b.AnswerCandidate, &a.AnswerCandidate) {
			want = 2
		}
		if []server.AnswerHead{a, b}[w1].DeviceID != want {
			t.Fatalf("winner device %d, want %d", []server.AnswerHead{a, b}[w1].DeviceID, want)
		}
	})
}
