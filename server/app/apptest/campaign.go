package apptest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
)

// CampaignSpec describes a campaign for IssueCampaign. Zero fields take the
// defaults in brackets.
type CampaignSpec struct {
	Name string // [联合抽查N]
	// Departments take part, the first leads [DeptA, DeptB].
	Departments []*server.Department
	// Cafes is how many new internet cafés are added to the directory [4].
	Cafes int
	// Ratio is the share of cafés drawn ["1"].
	Ratio string
	// InspectorsPerDepartment on each team [1]; TargetsPerTeam [2].
	InspectorsPerDepartment, TargetsPerTeam int
	// Items maps a department code to the codes of its check items, created
	// for this campaign [one item per department, "<dept>-<N>"].
	Items map[string][]string
	// WindowStart and WindowEnd bound the visits [the harness's today …
	// today+5 in Asia/Shanghai, so that field work done at h.Now falls
	// inside it].
	WindowStart, WindowEnd server.Date
	// Materials maps a department code to what it asks the targets to
	// prepare [none]; Contact is the lead's office line [none].
	Materials map[string][]string
	Contact   server.LeadContact
	// District holds the new cafés, and the campaign draws from it alone
	// [湖里区, and the campaign from every district]. A district of its own
	// keeps other tests' enterprises, and their conflicts of interest, out
	// of the draw.
	District string
	// NoPackets stops after the team draw: the campaign is teamed, with no
	// packets and so no letters.
	NoPackets bool
}

// Issued is a campaign run through commit, draw, both confirmations, teams
// and packets.
type Issued struct {
	Campaign *server.Campaign
	Teams    []*server.Team
	Packets  []*server.Packet
	// Members maps a packet id to the usernames of the harness inspectors on
	// its team, in team order.
	Members map[string][]string

	byUsername map[string]*server.Inspector
}

// itemTitles are the checklist wording of the fixtures' items, cycled.
var itemTitles = []string{"网络文化经营许可证", "禁止未成年人进入", "消防通道畅通", "明码标价", "是否公示证照"}

// IssueCampaign creates spec's cafés and check items, then runs a campaign to
// issued packets through the services as the platform admin. Every call adds
// new cafés, so a harness can hold several campaigns.
func (h *Harness) IssueCampaign(t testing.TB, spec CampaignSpec) *Issued {
	t.Helper()
	h.campaigns++
	n := h.campaigns
	if len(spec.Departments) == 0 {
		spec.Departments = []*server.Department{h.DeptA, h.DeptB}
	}
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("联合抽查%d", n)
	}
	if spec.Cafes == 0 {
		spec.Cafes = 4
	}
	if spec.Ratio == "" {
		spec.Ratio = "1"
	}
	if spec.InspectorsPerDepartment == 0 {
		spec.InspectorsPerDepartment = 1
	}
	if spec.TargetsPerTeam == 0 {
		spec.TargetsPerTeam = 2
	}
	if spec.WindowStart == (server.Date{}) {
		now := h.Now().In(time.FixedZone("CST", 8*3600))
		spec.WindowStart, spec.WindowEnd = server.DateOf(now), server.DateOf(now.AddDate(0, 0, 5))
	}
	sys := app.SystemContext(context.Background())
	root := server.NewContextWithUser(context.Background(), h.Users["root"])

	var itemIDs []int64
	for _, d := range spec.Departments {
		codes := spec.Items[d.Code]
		if codes == nil {
			codes = []string{fmt.Sprintf("%s-%02d", d.Code, n)}
		}
		for _, code := range codes {
			it := &server.CheckItem{DepartmentID: d.ID, Code: code, Title: itemTitles[len(itemIDs)%len(itemTitles)],
				LegalBasis: "《互联网上网服务营业场所管理条例》"}
			if err := h.App.CheckItems.CreateCheckItem(sys, it); err != nil {
				t.Fatalf("check item %s/%s: %v", d.Code, code, err)
			}
			itemIDs = append(itemIDs, it.ID)
		}
	}
	for i := range spec.Cafes {
		h.AddCafeIn(t, fmt.Sprintf("网咖%d-%03d", n, i), spec.District)
	}

	deptIDs := make([]int64, len(spec.Departments))
	for i, d := range spec.Departments {
		deptIDs[i] = d.ID
	}
	c := &server.Campaign{
		Name: spec.Name, LeadDepartmentID: deptIDs[0], DepartmentIDs: deptIDs,
		WindowStart: spec.WindowStart, WindowEnd: spec.WindowEnd,
		Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: spec.Ratio},
		InspectorsPerDepartment: spec.InspectorsPerDepartment, TargetsPerTeam: spec.TargetsPerTeam,
		CheckItemIDs: itemIDs, RandomnessSources: []string{"中国福利彩票双色球开奖号码"},
		SourcesAvailableAt: h.SourcesAvailableAt(), Contact: spec.Contact,
	}
	if spec.District != "" {
		c.Districts = []string{spec.District}
	}
	for _, d := range spec.Departments {
		if ms := spec.Materials[d.Code]; len(ms) > 0 {
			c.Materials = append(c.Materials, server.CampaignMaterials{DepartmentID: d.ID, Items: ms})
		}
	}
	svc := h.App.Campaigns
	if err := svc.CreateCampaign(root, c); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CommitCampaign(root, c.ID); err != nil {
		t.Fatal(err)
	}
	h.Advance(time.Second) // the sources are public
	if _, err := svc.Draw(root, c.ID, []string{"02 11 17 24 28 31 + 05"}); err != nil {
		t.Fatal(err)
	}
	fw := svc.(server.CampaignFieldworkService)
	for _, d := range spec.Departments {
		if _, err := fw.ConfirmTargetsFor(root, c.ID, &d.ID); err != nil {
			t.Fatal(err)
		}
	}
	teams, err := svc.DrawTeams(root, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var packets []*server.Packet
	if !spec.NoPackets {
		if packets, err = svc.IssuePackets(root, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if c, err = svc.FindCampaignByID(root, c.ID); err != nil {
		t.Fatal(err)
	}
	is := &Issued{Campaign: c, Teams: teams, Packets: packets, Members: map[string][]string{}, byUsername: map[string]*server.Inspector{}}
	byID := map[int64]string{}
	for name, in := range h.Inspectors {
		byID[in.ID] = name
		is.byUsername[name] = in
	}
	for _, p := range packets {
		for _, tm := range teams {
			if tm.Number != p.TeamNumber {
				continue
			}
			for _, m := range tm.Members {
				if name, ok := byID[m.InspectorID]; ok {
					is.Members[p.ID] = append(is.Members[p.ID], name)
				}
			}
		}
	}
	return is
}

// PacketsOf returns the packets whose team holds username.
func (is *Issued) PacketsOf(username string) []*server.Packet {
	var out []*server.Packet
	for _, p := range is.Packets {
		for _, u := range is.Members[p.ID] {
			if u == username {
				out = append(out, p)
			}
		}
	}
	return out
}

// MembersOf returns the usernames on packetID's team who belong to dept.
func (is *Issued) MembersOf(packetID string, dept *server.Department) []string {
	var out []string
	for _, u := range is.Members[packetID] {
		if is.byUsername[u].DepartmentID == dept.ID {
			out = append(out, u)
		}
	}
	return out
}

// AddCafe adds an active internet café with a valid, harness-unique unified
// social credit code.
func (h *Harness) AddCafe(t testing.TB, name string) *server.Enterprise {
	t.Helper()
	return h.AddCafeIn(t, name, "")
}

// AddCafeIn is AddCafe in district ["" is 湖里区].
func (h *Harness) AddCafeIn(t testing.TB, name, district string) *server.Enterprise {
	t.Helper()
	if district == "" {
		district = "湖里区"
	}
	h.cafes++
	body := fmt.Sprintf("%08d", 60000000+h.cafes)
	first17 := "91350206" + body + string(server.OrgCodeCheckChar(body))
	e := &server.Enterprise{
		CreditCode: first17 + string(server.CreditCodeCheckChar(first17)), Name: name,
		Category: server.CategoryInternetCafe, District: district, Address: "厦门市" + district,
		LegalRepresentative: "王五", Status: server.EnterpriseActive, RiskClass: server.RiskClass("B"),
	}
	if err := h.App.Enterprises.CreateEnterprise(app.SystemContext(context.Background()), e); err != nil {
		t.Fatalf("café %s: %v", name, err)
	}
	return e
}

// AddInspector adds an active inspector of dept with an inspector account
// named username (password Password).
func (h *Harness) AddInspector(t testing.TB, dept *server.Department, username string) *server.Inspector {
	t.Helper()
	h.inspectors++
	in := &server.Inspector{
		DepartmentID: dept.ID, Name: "执法员" + username,
		CertificateNumber:    fmt.Sprintf("%s-%05d", strings.ToUpper(dept.Code), 10000+h.inspectors),
		CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
		Domains: []string{"文化市场"}, Phone: fmt.Sprintf("137%08d", h.inspectors),
		Status: server.InspectorActive,
	}
	if err := h.App.Inspectors.CreateInspector(app.SystemContext(context.Background()), in); err != nil {
		t.Fatalf("inspector %s: %v", username, err)
	}
	h.Inspectors[username] = in
	h.AddUser(t, &server.User{Username: username, Role: server.RoleInspector, DepartmentID: &dept.ID, InspectorID: &in.ID})
	return in
}
