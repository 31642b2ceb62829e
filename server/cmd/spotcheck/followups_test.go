package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestFollowUpsOverdue_Command runs "spotcheck followups overdue" on a
// fresh database of each dialect, and refuses bad arguments.
func TestFollowUpsOverdue_Command(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, _ := accountsEnv(t, dialect)
			code, out, errOut := runCommand(t, env, nil, "followups", "overdue", "--campaign", "7")
			if code != 0 || !strings.Contains(out, "0 follow-ups overdue") {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			if code, _, _ := runCommand(t, env, nil, "followups", "overdue", "--campaign", "-1"); code == 0 {
				t.Fatal("a negative campaign id is accepted")
			}
			if code, _, _ := runCommand(t, env, nil, "followups", "nonsense"); code == 0 {
				t.Fatal("an unknown subcommand is accepted")
			}
		})
	}
}

func TestPrintFollowUpsOverdue(t *testing.T) {
	sh := time.FixedZone("", 8*3600)
	due := time.Date(2026, 10, 10, 23, 59, 59, 0, sh)
	assignee := int64(12)
	var b bytes.Buffer
	printFollowUpsOverdue(&b, []server.FollowUp{
		{ID: 4, ResultID: 3, CampaignID: 1, Department: "culture", CreditCode: "91350206600000013X", EnterpriseName: "网咖1-000",
			State: server.FollowUpStateInProgress, DueAt: &due, AssigneeID: &assignee},
		{ID: 5, ResultID: 6, CampaignID: 1, Department: "culture", CreditCode: "91350206600000021X", EnterpriseName: "网咖1-001",
			State: server.FollowUpStateOpen, DueAt: &due},
	})
	want := "2 follow-ups overdue\n" +
		"2026-10-10T23:59:59+08:00\t4\t3\t1\tculture\t91350206600000013X\t网咖1-000\tin_progress\t12\n" +
		"2026-10-10T23:59:59+08:00\t5\t6\t1\tculture\t91350206600000021X\t网咖1-001\topen\t-\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
