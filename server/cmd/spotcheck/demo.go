package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
	"github.com/spotcheck/spotcheck/syncproto"
)

// demoEnterprises is how many internet cafés the demo city has.
const demoEnterprises = 1000

// loadDemo loads the demo dataset unless it is there already (the culture
// department exists), then prints the demo accounts.
func loadDemo(ctx context.Context, a *app.App, env *Env) error {
	if a.Enterprises == nil || a.Inspectors == nil || a.Declarations == nil {
		return errors.New("directories are not wired")
	}
	base := ctx
	ctx = app.SystemContext(ctx)
	d := demo.Generate(demoEnterprises)
	_, err := a.Departments.FindDepartmentByCode(ctx, demo.CultureCode)
	switch server.ErrorCode(err) {
	case "":
		printDemoAccounts(env, d) // loaded on an earlier start
		return printDemoTeams(ctx, a, env, d)
	case server.ENOTFOUND:
	default:
		return err
	}
	fmt.Fprintf(env.Stdout, "Loading the demo dataset: %d internet cafés, %d inspectors…\n", len(d.Enterprises), len(d.Inspectors))
	depts := map[string]int64{}
	for _, dept := range d.Departments {
		if err := a.Departments.CreateDepartment(ctx, dept); err != nil {
			return err
		}
		depts[dept.Code] = dept.ID
	}
	for _, e := range d.Enterprises {
		if err := a.Enterprises.CreateEnterprise(ctx, e); err != nil {
			return fmt.Errorf("enterprise %s: %w", e.CreditCode, err)
		}
	}
	for i, in := range d.Inspectors {
		in.DepartmentID = depts[d.InspectorDepartments[i]]
		if err := a.Inspectors.CreateInspector(ctx, in); err != nil {
			return fmt.Errorf("inspector %s: %w", in.CertificateNumber, err)
		}
	}
	deptAdmins := map[string]*server.User{}
	users := map[string]*server.User{}
	for _, acc := range d.Accounts {
		deptID := depts[acc.DepartmentCode]
		u := &server.User{Username: acc.Username, DisplayName: acc.DisplayName, Role: acc.Role, DepartmentID: &deptID}
		if acc.InspectorIndex >= 0 {
			u.InspectorID = &d.Inspectors[acc.InspectorIndex].ID
		}
		if err := a.Users.CreateUserUnchecked(ctx, u, demo.Password, false); err != nil {
			return fmt.Errorf("account %s: %w", acc.Username, err)
		}
		if acc.Role == server.RoleDepartmentAdmin {
			deptAdmins[acc.DepartmentCode] = u
		}
		users[acc.Username] = u
	}
	// Each declaration is recorded by the admin of the inspector's department.
	for _, decl := range d.Declarations {
		dd := &server.Declaration{
			InspectorID:  d.Inspectors[decl.InspectorIndex].ID,
			EnterpriseID: d.Enterprises[decl.EnterpriseIndex].ID,
			Reason:       decl.Reason,
		}
		actx := server.NewContextWithUser(ctx, deptAdmins[d.InspectorDepartments[decl.InspectorIndex]])
		if err := a.Declarations.CreateDeclaration(actx, dd); err != nil {
			return fmt.Errorf("declaration: %w", err)
		}
	}
	c, err := loadDemoCampaign(ctx, a, d, users, depts)
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	if _, err := loadDemoVisit(base, a, users, c); err != nil {
		return fmt.Errorf("demo visit: %w", err)
	}
	printDemoAccounts(env, d)
	return printDemoTeams(ctx, a, env, d)
}

// printDemoTeams says which inspector accounts have packets in the demo
// campaign, so a newcomer knows whom to sign in as on a field device.
func printDemoTeams(ctx context.Context, a *app.App, env *Env, d *demo.Dataset) error {
	coord, _, err := a.Users.FindUsers(ctx, server.UserFilter{Role: ptr(server.RoleLeadCoordinator)})
	if err != nil || len(coord) == 0 {
		return err
	}
	actx := server.NewContextWithUser(ctx, coord[0])
	campaigns, _, err := a.Campaigns.FindCampaigns(actx, server.CampaignFilter{})
	if err != nil {
		return err
	}
	inspectors, _, err := a.Users.FindUsers(ctx, server.UserFilter{Role: ptr(server.RoleInspector), Limit: 1000})
	if err != nil {
		return err
	}
	username := map[int64]string{}
	userName := map[int64]string{} // by user id
	for _, u := range inspectors {
		userName[u.ID] = u.Username
		if u.InspectorID != nil {
			username[*u.InspectorID] = u.Username
		}
	}
	for _, c := range campaigns {
		if c.Name != demo.CampaignName {
			continue
		}
		teams, err := a.Campaigns.FindTeams(actx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Demo campaign %d %q: %d targets in %d teams; packets issued.\n", c.ID, c.Name, countTargets(teams), len(teams))
		for _, t := range teams {
			var names []string
			for _, m := range t.Members {
				names = append(names, username[m.InspectorID])
			}
			fmt.Fprintf(env.Stdout, "  team %d (%d packets): %s\n", t.Number, len(t.Targets), strings.Join(names, ", "))
		}
		if err := printDemoReviews(actx, a, env, c, username, userName); err != nil {
			return err
		}
	}
	return nil
}

// printDemoReviews names the demo campaign's results awaiting review (the
// visit seeded on first start, until someone reviews it): the packet, the
// enterprise, who entered it and who may approve it in the console.
func printDemoReviews(ctx context.Context, a *app.App, env *Env, c *server.Campaign, username, userName map[int64]string) error {
	rs, err := a.Results.FindResults(ctx, server.ResultFilter{CampaignID: &c.ID, State: ptr(syncproto.ResultEntered)})
	if err != nil || len(rs) == 0 {
		return err
	}
	packets, err := a.Campaigns.FindPackets(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		i := slices.IndexFunc(packets, func(p *server.Packet) bool { return p.ID == r.PacketID })
		if i < 0 || r.EnteredBy == nil {
			continue
		}
		enterer := userName[*r.EnteredBy]
		reviewers := []string{r.Department + "-admin"}
		for _, m := range packets[i].Content.Team {
			if m.Department == r.Department && username[m.InspectorID] != "" && username[m.InspectorID] != enterer {
				reviewers = append(reviewers, username[m.InspectorID])
			}
		}
		fmt.Fprintf(env.Stdout, "待复核的结果：第%d组，检查包 %s，%s（%s）：联合检查已完成，%s 已录入结果，请以 %s 登录控制台「检查结果」复核\n",
			packets[i].TeamNumber, r.PacketID, r.EnterpriseName, r.CreditCode, enterer, strings.Join(reviewers, " 或 "))
		fmt.Fprintf(env.Stdout, "  (a result awaiting review: team %d, packet %s, %s: the joint visit is done and %s entered the %s result; sign in as %s and approve it under 检查结果)\n",
			packets[i].TeamNumber, r.PacketID, r.CreditCode, enterer, r.Department, strings.Join(reviewers, " or "))
	}
	return nil
}

func countTargets(teams []*server.Team) int {
	n := 0
	for _, t := range teams {
		n += len(t.Targets)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

func printDemoAccounts(env *Env, d *demo.Dataset) {
	fmt.Fprintf(env.Stdout, "Demo accounts (password %q for all):\n", demo.Password)
	for _, acc := range d.Accounts {
		if acc.Role == server.RoleInspector && acc.Username != "inspector01" && acc.Username != "inspector02" &&
			acc.Username != "inspector21" && acc.Username != "inspector22" {
			continue
		}
		fmt.Fprintf(env.Stdout, "  %-14s %-17s %s (%s)\n", acc.Username, acc.Role, acc.DisplayName, acc.DepartmentCode)
	}
	fmt.Fprintln(env.Stdout, "  inspector01 … inspector20 (culture), inspector21 … inspector40 (market)")
}
