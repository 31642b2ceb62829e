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
