package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
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

// TestPublishExport_Command runs "spotcheck publish export" on a fresh
// database of each dialect: an unknown campaign is an error, bad arguments
// are refused (the export's content is tested over HTTP, TestPublication).
func TestPublishExport_Command(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, cfg := accountsEnv(t, dialect)
			if code, _, errOut := runCommand(t, env, nil, "publish", "export", "--campaign", "7", "--format", "csv"); code == 0 || !strings.Contains(errOut, "not found") {
				t.Fatalf("an unknown campaign: exit %d: %s", code, errOut)
			}
			// A campaign with nothing published yet: the header alone, to
			// standard output or to a file.
			a := openApp(t, cfg)
			is := apptest.New(t, a.DB).IssueCampaign(t, apptest.CampaignSpec{Cafes: 2})
			a.Close()
			id := strconv.FormatInt(is.Campaign.ID, 10)
			code, out, errOut := runCommand(t, env, nil, "publish", "export", "--campaign", id, "--format", "csv")
			if code != 0 || out != "\ufeff统一社会信用代码,企业名称,抽查类型,检查实施机关,检查完成日期,检查结果\r\n" {
				t.Fatalf("exit %d: %q %s", code, out, errOut)
			}
			file := filepath.Join(t.TempDir(), "publication.xlsx")
			if code, _, errOut := runCommand(t, env, nil, "publish", "export", "--campaign", id, "--format", "xlsx", "--out", file); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			x, err := excelize.OpenFile(file)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if rows, err := x.GetRows(x.GetSheetName(0)); err != nil || len(rows) != 1 || rows[0][5] != "检查结果" {
				t.Fatalf("xlsx: %q %v", rows, err)
			}
			for _, args := range [][]string{
				{"publish", "export", "--format", "csv"},
				{"publish", "export", "--campaign", "7", "--format", "pdf"},
				{"publish", "nonsense"},
			} {
				if code, _, _ := runCommand(t, env, nil, args...); code == 0 {
					t.Fatalf("%q is accepted", args)
				}
			}
		})
	}
}
