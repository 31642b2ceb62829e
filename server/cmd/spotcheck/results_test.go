package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestResultsOverdue_Command runs "spotcheck results overdue" on a fresh
// database of each dialect, and refuses bad arguments.
func TestResultsOverdue_Command(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, _ := accountsEnv(t, dialect)
			code, out, errOut := runCommand(t, env, nil, "results", "overdue", "--campaign", "7")
			if code != 0 || !strings.Contains(out, "0 entry overdue, 0 publication overdue") || !strings.Contains(out, "+08:00") {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			if code, _, _ := runCommand(t, env, nil, "results", "overdue", "--campaign", "-1"); code == 0 {
				t.Fatal("a negative campaign id is accepted")
			}
			if code, _, _ := runCommand(t, env, nil, "results", "nonsense"); code == 0 {
				t.Fatal("an unknown subcommand is accepted")
			}
		})
	}
}

func TestPrintOverdue(t *testing.T) {
	sh := time.FixedZone("", 8*3600)
	o := &server.OverdueResults{
		Now: time.Date(2026, 10, 11, 0, 0, 1, 0, sh),
		EntryOverdue: []server.OverdueResult{{Due: time.Date(2026, 10, 10, 23, 59, 59, 0, sh), Result: syncproto.Result{
			ID: 3, CampaignID: 1, Department: "culture", CreditCode: "91350206600000013X", EnterpriseName: "网咖1-000", State: syncproto.ResultReturned}}},
	}
	var b bytes.Buffer
	printOverdue(&b, o)
	want := "as of 2026-10-11T00:00:01+08:00: 1 entry overdue, 0 publication overdue\n" +
		"entry\t2026-10-10T23:59:59+08:00\t3\t1\tculture\t91350206600000013X\t网咖1-000\treturned\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
