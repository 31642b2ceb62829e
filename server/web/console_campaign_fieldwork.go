package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/pdf"
	"github.com/spotcheck/spotcheck/server/report"
)

// After the draw: confirmations and replacements (department admins),
// the team draw and the packets (the lead coordinator), the grouping
// report and its filing. Each calls the service the API's route calls.

// actionFailed shows the campaign page again with err above it, with the
// service's status; an internal error goes to the error page.
func (p *Pages) actionFailed(c echo.Context, cp *server.Campaign, err error) error {
	form := newForm(nil)
	if v, ferr := c.FormParams(); ferr == nil {
		form = newForm(v)
	}
	if err := fieldError(form, err, replacementFields); err != nil {
		return err
	}
	return p.renderCampaign(c, cp, statusOf(server.ErrorCode(err)), form)
}

// replacementFields name the field of a refused replacement.
var replacementFields = []fieldWord{
	{"替补理由", "reason", false}, {"须填写替补理由", "reason", false},
	{"当前检查对象", "credit_code", true}, {"须指定被替补企业", "credit_code", false},
}

// formDepartment is the form's department_id: a platform admin names the
// department they act for; nil for anyone else's own.
func formDepartment(c echo.Context) (*int64, error) {
	s := c.FormValue("department_id")
	if s == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return nil, server.Errorf(server.EINVALID, "部门无效 (invalid department).")
	}
	return &id, nil
}

// handleCampaignConfirm handles "POST /console/campaigns/:id/confirm": as
// POST /v1/campaigns/:id/confirm.
func (p *Pages) handleCampaignConfirm(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	dept, err := formDepartment(c)
	if err == nil {
		_, err = p.Campaigns.ConfirmTargetsFor(c.Request().Context(), cp.ID, dept)
	}
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	p.setFlash(c, "已确认本部门的检查对象")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID))
}

// handleCampaignReplace handles "POST /console/campaigns/:id/replacements":
// as POST /v1/campaigns/:id/replacements.
func (p *Pages) handleCampaignReplace(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	code, reason := strings.TrimSpace(c.FormValue("credit_code")), strings.TrimSpace(c.FormValue("reason"))
	switch {
	case code == "":
		err = server.Errorf(server.EINVALID, "须指定被替补企业的统一社会信用代码 (credit_code required).")
	case reason == "":
		err = server.Errorf(server.EINVALID, "须填写替补理由 (reason required).")
	}
	var r *server.Replacement
	if err == nil {
		r, err = p.Campaigns.ReplaceTarget(c.Request().Context(), cp.ID, code, reason)
	}
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	p.setFlash(c, "已替补第 "+strconv.Itoa(r.Seq)+" 号：由本层下一签号的企业替上，已确认的部门须重新确认")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID))
}

// teamsData is the teams page's.
type teamsData struct {
	*campaignData
	List  []*server.Team
	Names map[string]string // enterprise names by credit code, from the packets
}

// handleCampaignTeams handles "GET /console/campaigns/:id/teams".
func (p *Pages) handleCampaignTeams(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	cd, err := p.campaignPage(c, cp)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := teamsData{campaignData: cd, Names: map[string]string{}}
	if cp.TeamsDrawnAt != nil {
		if d.List, err = p.Campaigns.FindTeams(ctx, cp.ID); err != nil {
			return err
		}
	}
	if cp.PacketsIssuedAt != nil {
		ps, err := p.Campaigns.FindPackets(ctx, cp.ID)
		if err != nil {
			return err
		}
		for _, pk := range ps {
			d.Names[pk.CreditCode] = pk.Content.Enterprise.Name
		}
	}
	return p.render(c, http.StatusOK, "campaign_teams", &page{Title: "执法人员分组", Data: d})
}

// handleCampaignDrawTeams handles "POST /console/campaigns/:id/teams": as
// POST /v1/campaigns/:id/teams.
func (p *Pages) handleCampaignDrawTeams(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	teams, err := p.Campaigns.DrawTeams(c.Request().Context(), cp.ID)
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	p.setFlash(c, "已抽取执法人员，分为 "+strconv.Itoa(len(teams))+" 个检查组")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID)+"/teams")
}

// handleCampaignIssuePackets handles "POST /console/campaigns/:id/packets":
// as POST /v1/campaigns/:id/packets.
func (p *Pages) handleCampaignIssuePackets(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	ps, err := p.Campaigns.IssuePackets(c.Request().Context(), cp.ID)
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	p.setFlash(c, "已下发 "+strconv.Itoa(len(ps))+" 份检查表（一企一表）")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID)+"/packets")
}

// handleGroupingReport handles "GET /console/campaigns/:id/grouping-report"
// with ?format=csv|xlsx|pdf and ?department_id=: the same files as GET
// /v1/campaigns/:id/grouping-report.
func (p *Pages) handleGroupingReport(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "csv"
	}
	var dept *int64
	if s := c.QueryParam("department_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return server.Errorf(server.EINVALID, "部门无效 (invalid department).")
		}
		dept = &id
	}
	rep, err := p.Campaigns.FindGroupingReport(c.Request().Context(), cp.ID, dept)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	name := "grouping-" + strconv.FormatInt(cp.ID, 10)
	if dept != nil && len(rep.Sections) == 1 {
		name += "-" + rep.Sections[0].DepartmentCode
	}
	var ctype string
	switch format {
	case "csv":
		err, ctype = report.WriteGroupingCSV(&buf, rep), report.MediaTypeCSV
	case "xlsx":
		err, ctype = report.WriteGroupingXLSX(&buf, rep), report.MediaTypeXLSX
	case "pdf":
		err, ctype = pdf.WriteGrouping(&buf, rep), "application/pdf"
	default:
		return server.Errorf(server.EINVALID, "格式须为csv、xlsx或pdf (format must be csv, xlsx or pdf).")
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+"."+format+`"`)
	h.Set(echo.HeaderCacheControl, "no-store") // names and phones
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// handleGroupingFile handles "POST /console/campaigns/:id/grouping-report/filing":
// as POST /v1/campaigns/:id/grouping-report/filing, it records the SHA-256
// of the department's grouping report CSV as it is now.
func (p *Pages) handleGroupingFile(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	dept, err := formDepartment(c)
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	u := server.UserFromContext(ctx)
	if dept == nil {
		if u.Role == server.RolePlatformAdmin {
			return p.actionFailed(c, cp, server.Errorf(server.EINVALID, "须指定部门 (department_id required)."))
		}
		dept = u.DepartmentID
	}
	rep, err := p.Campaigns.FindGroupingReport(ctx, cp.ID, dept)
	if err != nil {
		return p.actionFailed(c, cp, err)
	}
	if len(rep.Sections) != 1 {
		return p.actionFailed(c, cp, server.Errorf(server.EINVALID, "须指定一个部门 (name one department)."))
	}
	sum, err := report.GroupingCSVSHA256(rep)
	if err != nil {
		return err
	}
	if _, err := p.Campaigns.FileGroupingReportFor(ctx, cp.ID, &rep.Sections[0].DepartmentID, sum); err != nil {
		return p.actionFailed(c, cp, err)
	}
	p.setFlash(c, rep.Sections[0].DepartmentName+"的分组名单已归档")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID)+"/teams")
}
