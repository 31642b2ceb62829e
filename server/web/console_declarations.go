package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Conflict-of-interest declarations: admins declare for their department's
// inspectors and review; inspectors declare for themselves and withdraw.

func init() {
	funcs["declarationStatus"] = func(d *server.Declaration) string {
		switch {
		case d.WithdrawnAt != nil:
			return "已撤回"
		case d.Status == server.DeclarationPending:
			return "待审核"
		case d.Status == server.DeclarationApproved:
			return "已批准（回避生效）"
		case d.Status == server.DeclarationRejected:
			return "已驳回"
		}
		return "未知状态"
	}
}

type declarationsData struct {
	Declarations []*server.Declaration
	Inspectors   map[int64]string // names
	CreditCodes  map[int64]string
	Choices      []*server.Inspector // whom an admin may declare for
	IsAdmin      bool
	IsInspector  bool
	All          bool // withdrawn and rejected ones shown too
	Pager        pager
	Form         *Form // the declare form
	Review       *Form // a review or withdrawal form with an error
	ReviewFor    int64
}

// creditCoder is what the store offers to name declarations' enterprises
// (the API uses it too); an inspector may not list enterprises.
type creditCoder interface {
	FindEnterpriseIDByCreditCode(ctx context.Context, code string) (int64, error)
	FindCreditCodes(ctx context.Context, ids []int64) (map[int64]string, error)
}

// handleDeclarations handles "GET /console/declarations[?all=1]" (as GET
// /v1/declarations).
func (p *Pages) handleDeclarations(c echo.Context) error {
	return p.renderDeclarations(c, http.StatusOK, declarationsData{})
}

func (p *Pages) renderDeclarations(c echo.Context, status int, d declarationsData) error {
	ctx := c.Request().Context()
	me := server.UserFromContext(ctx)
	pageNo, offset := pageOf(c)
	d.All = c.QueryParam("all") == "1"
	ds, total, err := p.Declarations.FindDeclarations(ctx, server.DeclarationFilter{IncludeRetired: d.All, Offset: offset, Limit: adminPageSize})
	if err != nil {
		return err
	}
	d.Declarations, d.Pager = ds, newPager(c, pageNo, total)
	d.IsAdmin, d.IsInspector = isAdmin(me), me.Role == server.RoleInspector
	d.Inspectors = map[int64]string{}
	for _, x := range ds {
		if _, ok := d.Inspectors[x.InspectorID]; ok {
			continue
		}
		if in, err := p.Inspectors.FindInspectorByID(ctx, x.InspectorID); err == nil {
			d.Inspectors[x.InspectorID] = in.Name
		}
	}
	if cc, ok := p.Declarations.(creditCoder); ok && len(ds) > 0 {
		ids := make([]int64, 0, len(ds))
		for _, x := range ds {
			ids = append(ids, x.EnterpriseID)
		}
		if d.CreditCodes, err = cc.FindCreditCodes(ctx, ids); err != nil {
			return err
		}
	}
	if d.IsAdmin {
		f := server.InspectorFilter{DepartmentID: me.DepartmentID, Limit: 500}
		if d.Choices, _, err = p.Inspectors.FindInspectors(ctx, f); err != nil {
			return err
		}
	}
	if d.Form == nil {
		d.Form = newForm(nil)
	}
	return p.render(c, status, "declarations", &page{Title: "利益冲突申报", Data: d})
}

var declarationFields = []fieldWord{
	{"执法人员", "inspector_id", false}, {"企业", "credit_code", false}, {"统一社会信用代码", "credit_code", false},
	{"理由", "reason", true}, {"原因", "reason", true},
}

// handleDeclarationCreate handles "POST /console/declarations" (as POST
// /v1/declarations): by credit code; an inspector declares for themselves.
func (p *Pages) handleDeclarationCreate(c echo.Context) error {
	ctx := c.Request().Context()
	me := server.UserFromContext(ctx)
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	d := &server.Declaration{Reason: strings.TrimSpace(vals.Get("reason"))}
	if me.Role == server.RoleInspector && me.InspectorID != nil {
		d.InspectorID = *me.InspectorID
	} else if id, ok := int64Ptr(vals.Get("inspector_id")); ok && id != nil {
		d.InspectorID = *id
	} else {
		form.Errors["inspector_id"] = "请选择执法人员"
	}
	code := strings.ToUpper(strings.TrimSpace(vals.Get("credit_code")))
	if err := server.CheckCreditCode(code); err != nil {
		form.Errors["credit_code"] = errorText(err)
	}
	if d.Reason == "" {
		form.Errors["reason"] = "请填写申报理由"
	}
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		err := p.declare(ctx, d, code)
		if err == nil {
			p.setFlash(c, "申报已提交")
			return c.Redirect(http.StatusSeeOther, "/console/declarations")
		}
		if err := fieldError(form, err, declarationFields); err != nil {
			return err
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.renderDeclarations(c, status, declarationsData{Form: form})
}

// declare resolves the credit code as the API does and creates d.
func (p *Pages) declare(ctx context.Context, d *server.Declaration, code string) error {
	if cc, ok := p.Declarations.(creditCoder); ok {
		id, err := cc.FindEnterpriseIDByCreditCode(ctx, code)
		if err != nil {
			return err
		}
		d.EnterpriseID = id
	} else {
		es, _, err := p.Enterprises.FindEnterprises(ctx, server.EnterpriseFilter{CreditCode: &code, Limit: 1})
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return server.Errorf(server.ENOTFOUND, "企业不存在 (enterprise not found).")
		}
		d.EnterpriseID = es[0].ID
	}
	return p.Declarations.CreateDeclaration(ctx, d)
}

// handleDeclarationApprove handles "POST /console/declarations/:id/approve".
func (p *Pages) handleDeclarationApprove(c echo.Context) error {
	return p.declarationAction(c, "已批准申报", func(ctx context.Context, id int64, reason string) error {
		_, err := p.Declarations.ReviewDeclaration(ctx, id, server.DeclarationApproved, reason)
		return err
	})
}

// handleDeclarationReject handles "POST /console/declarations/:id/reject".
func (p *Pages) handleDeclarationReject(c echo.Context) error {
	return p.declarationAction(c, "已驳回申报", func(ctx context.Context, id int64, reason string) error {
		_, err := p.Declarations.ReviewDeclaration(ctx, id, server.DeclarationRejected, reason)
		return err
	})
}

// handleDeclarationWithdraw handles "POST /console/declarations/:id/withdraw".
func (p *Pages) handleDeclarationWithdraw(c echo.Context) error {
	return p.declarationAction(c, "已撤回申报", func(ctx context.Context, id int64, reason string) error {
		_, err := p.Declarations.WithdrawDeclaration(ctx, id, reason)
		return err
	})
}

func (p *Pages) declarationAction(c echo.Context, done string, act func(context.Context, int64, string) error) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if err := act(c.Request().Context(), id, reason); err != nil {
		code := server.ErrorCode(err)
		if code != server.EINVALID && code != server.ECONFLICT {
			return err
		}
		f := newForm(url.Values{"reason": {reason}})
		f.Errors["reason"] = errorText(err)
		return p.renderDeclarations(c, statusOf(code), declarationsData{Review: f, ReviewFor: id})
	}
	p.setFlash(c, done)
	return c.Redirect(http.StatusSeeOther, "/console/declarations")
}
