package store

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// groupingDepartments returns the departments whose grouping report actor may
// read: every participating department for platform admins and the lead
// coordinator, their own for a participating department's admin. Anyone else
// gets ENOTFOUND: the report holds names and phones.
func groupingDepartments(actor *server.User, c *fieldworkCampaign) ([]int64, error) {
	switch {
	case actor.Role == server.RolePlatformAdmin || c.isLead(actor):
		return c.departments, nil
	case c.isParticipatingAdmin(actor):
		return []int64{*actor.DepartmentID}, nil
	}
	return nil, notFound(object{"分组名单", "grouping report"})
}

// FindGroupingReport returns the grouping report (分组名单) sections the
// caller may read, or only departmentID's; a department the caller may not
// read is ENOTFOUND. ECONFLICT before the teams are drawn.
func (s *CampaignService) FindGroupingReport(ctx context.Context, id int64, departmentID *int64) (*server.GroupingReport, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.GroupingReport
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		depts, err := groupingDepartments(actor, c)
		if err != nil {
			return err
		}
		if departmentID != nil {
			if !slices.Contains(depts, *departmentID) {
				return notFound(object{"分组名单", "grouping report"})
			}
			depts = []int64{*departmentID}
		}
		if err := c.requireStatus("查看分组名单", "a grouping report", server.CampaignTeamed, server.CampaignIssued); err != nil {
			return err
		}
		out, err = groupingReport(tx, c, depts)
		return err
	})
	return out, err
}

// groupingReport builds the report's sections for depts.
func groupingReport(tx *Tx, c *fieldworkCampaign, depts []int64) (*server.GroupingReport, error) {
	start, err := server.ParseDate(c.WindowStart)
	if err != nil {
		return nil, err
	}
	end, err := server.ParseDate(c.WindowEnd)
	if err != nil {
		return nil, err
	}
	refs, err := departmentCodes(tx, depts)
	if err != nil {
		return nil, err
	}
	members, err := readTeamMembers(tx, c.ID)
	if err != nil {
		return nil, err
	}
	targets, err := readTeamTargets(tx, c.ID)
	if err != nil {
		return nil, err
	}
	enterprises, err := enterprisesByCode(tx, targets)
	if err != nil {
		return nil, err
	}
	teamTargets := map[int][]server.GroupingTarget{}
	var teamNos []int
	for _, t := range targets {
		e := enterprises[t.CreditCode]
		gt := server.GroupingTarget{CreditCode: t.CreditCode}
		if e != nil {
			gt.Name, gt.Address = e.Name, e.Address
		}
		if _, ok := teamTargets[t.TeamNo]; !ok {
			teamNos = append(teamNos, t.TeamNo)
		}
		teamTargets[t.TeamNo] = append(teamTargets[t.TeamNo], gt)
	}
	for _, m := range members {
		if _, ok := teamTargets[m.TeamNo]; !ok {
			teamNos = append(teamNos, m.TeamNo)
			teamTargets[m.TeamNo] = []server.GroupingTarget{}
		}
	}
	slices.Sort(teamNos)

	rep := &server.GroupingReport{CampaignID: c.ID, CampaignName: c.Name, WindowStart: start, WindowEnd: end}
	for _, d := range depts {
		sec := server.GroupingSection{DepartmentID: d, DepartmentCode: refs[d].Code, DepartmentName: refs[d].Name}
		for _, no := range teamNos {
			gt := server.GroupingTeam{Number: no, Targets: teamTargets[no], Members: []server.TeamMember{}}
			for _, m := range members {
				if m.TeamNo == no && m.DepartmentID == d {
					gt.Members = append(gt.Members, server.TeamMember{
						InspectorID: m.InspectorID, DepartmentID: d, CertificateNumber: m.CertificateNumber,
						Name: m.Name, Phone: m.Phone, Ticket: m.Ticket,
					})
				}
			}
			sec.Teams = append(sec.Teams, gt)
		}
		rep.Sections = append(rep.Sections, sec)
	}
	slices.SortFunc(rep.Sections, func(a, b server.GroupingSection) int { return strings.Compare(a.DepartmentCode, b.DepartmentCode) })
	return rep, nil
}

// groupingFilingRow mirrors the grouping_filings table.
type groupingFilingRow struct {
	ID           int64
	CampaignID   int64
	DepartmentID int64
	ReportSHA256 string `gorm:"column:report_sha256"`
	FiledBy      int64
	FiledAt      time.Time
}

func (groupingFilingRow) TableName() string { return "grouping_filings" }

func (r *groupingFilingRow) domain() *server.GroupingFiling {
	return &server.GroupingFiling{
		ID: r.ID, CampaignID: r.CampaignID, DepartmentID: r.DepartmentID, ReportSHA256: r.ReportSHA256,
		FiledBy: r.FiledBy, FiledAt: r.FiledAt,
	}
}

// FileGroupingReport records that the caller's department filed its grouping report.
func (s *CampaignService) FileGroupingReport(ctx context.Context, id int64, reportSHA256 string) (*server.GroupingFiling, error) {
	return s.FileGroupingReportFor(ctx, id, nil, reportSHA256)
}

// FileGroupingReportFor records that a department filed its grouping report,
// whose CSV hashes to reportSHA256, with the lead department: a department
// admin for their own department, a platform admin for the one named. Filing
// again adds a new record; earlier ones stay.
func (s *CampaignService) FileGroupingReportFor(ctx context.Context, id int64, departmentID *int64, reportSHA256 string) (*server.GroupingFiling, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	if b, err := hex.DecodeString(reportSHA256); err != nil || len(b) != 32 || strings.ToLower(reportSHA256) != reportSHA256 {
		return nil, server.Errorf(server.EINVALID, "报告摘要须为64位小写十六进制 (report SHA-256 must be 64 lowercase hex digits).")
	}
	actor := server.UserFromContext(ctx)
	var out *server.GroupingFiling
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		dept, err := actingDepartment(actor, c, departmentID)
		if err != nil {
			return err
		}
		if err := c.requireStatus("报备", "filing", server.CampaignTeamed, server.CampaignIssued); err != nil {
			return err
		}
		r := groupingFilingRow{CampaignID: id, DepartmentID: dept, ReportSHA256: reportSHA256, FiledBy: actor.ID, FiledAt: tx.Now}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, object{"报备记录", "filing"})
		}
		addAudit(tx, "campaign.grouping_filed", "campaign", id, auditData{"department_id": dept, "report_sha256": reportSHA256})
		out = r.domain()
		return nil
	})
	return out, err
}

// FindGroupingFilings lists a campaign's grouping-report filings in order.
func (s *CampaignService) FindGroupingFilings(ctx context.Context, id int64) ([]*server.GroupingFiling, error) {
	var out []*server.GroupingFiling
	err := s.withStaffCampaign(ctx, id, func(tx *Tx) error {
		var rows []groupingFilingRow
		if err := tx.Where("campaign_id = ?", id).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.GroupingFiling, len(rows))
		for i := range rows {
			out[i] = rows[i].domain()
		}
		return nil
	})
	return out, err
}
