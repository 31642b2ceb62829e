package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
)

// TestLoadDemo loads the demo on SQLite: directories, accounts, and a campaign
// drawn through to issued packets; a second start loads nothing again.
func TestLoadDemo(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	env := &Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
	if err := loadDemo(ctx, a, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "packets issued") || !strings.Contains(out.String(), "team 1 (") {
		t.Fatalf("demo output lacks the teams:\n%s", out.String())
	}
	sys := app.SystemContext(ctx)
	_, n, err := a.Enterprises.FindEnterprises(sys, server.EnterpriseFilter{})
	if err != nil || n != 1000 {
		t.Fatalf("%d enterprises, %v", n, err)
	}
	out.Reset()
	if err := loadDemo(ctx, a, env); err != nil {
		t.Fatal(err)
	}
	if _, n2, _ := a.Enterprises.FindEnterprises(sys, server.EnterpriseFilter{}); n2 != n {
		t.Fatalf("second start loaded again: %d enterprises", n2)
	}
	if !strings.Contains(out.String(), demo.CampaignName) {
		t.Fatalf("second start does not show the demo campaign:\n%s", out.String())
	}
}
