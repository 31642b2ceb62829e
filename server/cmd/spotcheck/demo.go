package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
)

// demoEnterprises is how many internet cafés the demo city has.
const demoEnterprises = 1000

// loadDemo loads the demo dataset unless it is there already (the culture
// department exists), then prints the demo accounts.
func loadDemo(ctx context.Context, a *app.App, env *Env) error {
	if a.Enterprises == nil || a.Inspectors == nil || a.Declarations == nil {
		return errors.New("directories are not wired")
	}
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
	if _, err := loadDemoCampaign(ctx, a, d, users, depts); err != nil {
		return fmt.Errorf("demo campaign: %w", err)
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
	for _, u := range inspectors {
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
