package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestLetters_Unserved lists the demo campaign's targets not yet served,
// one fewer once a delivery is recorded, and refuses bad arguments.
func TestLetters_Unserved(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env, cfg := accountsEnv(t, dialect)
			ctx := context.Background()
			a := openApp(t, cfg)
			var out bytes.Buffer
			if err := loadDemo(ctx, a, &Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}); err != nil {
				t.Fatal(err)
			}
			sys := app.SystemContext(ctx)
			camps, _, err := a.Campaigns.FindCampaigns(sys, server.CampaignFilter{})
			if err != nil || len(camps) == 0 {
				t.Fatalf("demo campaigns: %v", err)
			}
			id := fmt.Sprint(camps[0].ID)
			packets, err := a.Campaigns.FindPackets(sys, camps[0].ID)
			if err != nil || len(packets) < 2 {
				t.Fatalf("demo packets: %d, %v", len(packets), err)
			}
			served := packets[0]
			// The demo's lead coordinator records one delivery.
			role := server.RoleLeadCoordinator
			coords, _, err := a.Users.FindUsers(sys, server.UserFilter{Role: &role})
			if err != nil || len(coords) == 0 {
				t.Fatalf("demo coordinators: %v", err)
			}
			d := &server.LetterDelivery{CampaignID: camps[0].ID, CreditCode: served.CreditCode, Method: server.DeliveryInPerson,
				DeliveredOn: server.DateOf(a.DB.Now().In(calendar.Shanghai()))}
			if created, err := a.Letters.RecordDelivery(server.NewContextWithUser(ctx, coords[0]), d); err != nil || !created {
				t.Fatalf("record delivery: %v %v", created, err)
			}
			a.Close()

			code, stdout, errOut := runCommand(t, env, nil, "letters", "unserved", "--campaign", id)
			if code != 0 {
				t.Fatalf("letters unserved: exit %d: %s", code, errOut)
			}
			if !strings.HasPrefix(stdout, fmt.Sprintf("%d letters not yet served\n", len(packets)-1)) || strings.Contains(stdout, served.CreditCode) {
				t.Fatalf("unserved:\n%s", stdout)
			}
			for _, p := range packets[1:] {
				if !strings.Contains(stdout, p.CreditCode+"\t"+fmt.Sprint(p.TeamNumber)+"\t"+p.Content.Enterprise.Name+"\t") {
					t.Errorf("unserved lacks %s", p.CreditCode)
				}
			}
			for _, args := range [][]string{{"letters"}, {"letters", "unserved"}, {"letters", "unserved", "--campaign", "-1"}, {"letters", "unserved", "--campaign", id, "extra"}} {
				if code, _, _ := runCommand(t, env, nil, args...); code == 0 {
					t.Errorf("%q is accepted", args)
				}
			}
			if code, _, _ := runCommand(t, env, nil, "letters", "unserved", "--campaign", "999"); code == 0 {
				t.Error("an unknown campaign is accepted")
			}
		})
	}
}
