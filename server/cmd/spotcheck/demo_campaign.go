package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
)

// loadDemoCampaign drafts, commits and draws the demo campaign and issues its
// packets, acting as the demo's own coordinator and department admins, so a
// newcomer can go straight to field work. Its six-day window starts today
// in Asia/Shanghai, so field work done on the demo falls inside it.
func loadDemoCampaign(ctx context.Context, a *app.App, d *demo.Dataset, users map[string]*server.User, depts map[string]int64) (*server.Campaign, error) {
	as := func(username string) context.Context { return server.NewContextWithUser(ctx, users[username]) }
	adminOf := map[string]string{demo.CultureCode: "culture-admin", demo.MarketCode: "market-admin"}
	var items []int64
	for _, spec := range demo.CheckItems {
		it := &server.CheckItem{
			DepartmentID: depts[spec.Department], Code: spec.Code, Title: spec.Title,
			LegalBasis: spec.LegalBasis, AnswerType: server.AnswerCompliance,
		}
		if err := a.CheckItems.CreateCheckItem(as(adminOf[spec.Department]), it); err != nil {
			return nil, fmt.Errorf("check item %s: %w", spec.Code, err)
		}
		items = append(items, it.ID)
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	start, end := server.DateOf(today), server.DateOf(today.AddDate(0, 0, 5))
	c := &server.Campaign{
		Name: demo.CampaignName, LeadDepartmentID: depts[demo.CultureCode],
		DepartmentIDs: []int64{depts[demo.CultureCode], depts[demo.MarketCode]},
		WindowStart:   start, WindowEnd: end, Category: server.CategoryInternetCafe,
		Ratio:                   server.RatioTable{Default: "0.15"},
		InspectorsPerDepartment: 2, TargetsPerTeam: 20, CheckItemIDs: items,
		RandomnessSources: []string{"演示：指定的公开随机数 (demo: a named public value)"},
		Contact:           demo.Contact,
	}
	for _, code := range []string{demo.CultureCode, demo.MarketCode} {
		c.Materials = append(c.Materials, server.CampaignMaterials{DepartmentID: depts[code], Items: demo.Materials[code]})
	}
	// A real campaign is committed before its randomness can be known and
	// drawn after; the demo, loaded before the server serves, drafts and
	// commits it two minutes back with its source known one minute back, so
	// that it can be drawn now.
	now := a.DB.Now()
	sources := now.Add(-time.Minute).Truncate(time.Second)
	c.SourcesAvailableAt = &sources
	clock := a.DB.Now
	a.DB.Now = func() time.Time { return clock().Add(-2 * time.Minute) }
	coord := as("coordinator")
	err := a.Campaigns.CreateCampaign(coord, c)
	if err == nil {
		_, err = a.Campaigns.CommitCampaign(coord, c.ID)
	}
	a.DB.Now = clock
	if err != nil {
		return nil, err
	}
	if _, err := a.Campaigns.Draw(coord, c.ID, demo.CampaignRandomness); err != nil {
		return nil, err
	}
	for _, admin := range adminOf {
		if _, err := a.Campaigns.ConfirmTargets(as(admin), c.ID); err != nil {
			return nil, err
		}
	}
	if _, err := a.Campaigns.DrawTeams(coord, c.ID); err != nil {
		return nil, err
	}
	if _, err := a.Campaigns.IssuePackets(coord, c.ID); err != nil {
		return nil, err
	}
	return a.Campaigns.FindCampaignByID(coord, c.ID)
}
