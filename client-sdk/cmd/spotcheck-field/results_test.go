package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

func TestPrintResults(t *testing.T) {
	var b bytes.Buffer
	printResults(&b, nil)
	if b.String() != "no results\n" {
		t.Fatalf("empty: %q", b.String())
	}
	b.Reset()
	printResults(&b, []syncproto.Result{
		{ID: 1, State: syncproto.ResultDraft, PacketID: "p1", CreditCode: "91X", EnterpriseName: "网咖", SuggestedCode: "no_problem"},
		{ID: 2, State: syncproto.ResultReturned, PacketID: "p2", CreditCode: "91Y", EnterpriseName: "网吧", Code: "problem_pending", ReturnReason: "请写明整改期限"},
	})
	out := b.String()
	for _, want := range []string{"1\tdraft 待录入\tp1\t91X 网咖\tno_problem (suggested)\tdue -\n", "2\treturned 已退回", "\t退回原因 (returned): 请写明整改期限\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
