package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// The check-item catalogues (抽查事项目录): every department's items with
// their versions, for everyone signed in (as GET /v1/check-items); a
// department admin adds an item or its next version and retires one (as
// POST /v1/check-items and …/retire).

// checkItemsData is the catalogue page's.
type checkItemsData struct {
	Departments []deptCatalogue
	// Manage: the user may add and retire items (department admins their
	// own department's, platform admins any).
	Manage   bool
	Platform bool
	MyDept   *int64
	Answers  []categoryOption
	AllDepts []*server.Department
}

type deptCatalogue struct {
	Department *server.Department
	Items      []*server.CheckItem // by code, then version
	CanManage  bool
}

var answerTypes = []categoryOption{
	{string(server.AnswerCompliance), "符合／不符合／不适用"},
	{string(server.AnswerText), "文字"},
	{string(server.AnswerNumber), "数值"},
}

// answerTypeLabel names an answer type.
func answerTypeLabel(t server.AnswerType) string {
	for _, a := range answerTypes {
		if a.Value == string(t) {
			return a.Label
		}
	}
	return "未知"
}

func init() { funcs["answerType"] = answerTypeLabel }

// handleCheckItems handles "GET /console/check-items".
func (p *Pages) handleCheckItems(c echo.Context) error {
	return p.renderCheckItems(c, http.StatusOK, newForm(url.Values{"answer_type": {string(server.AnswerCompliance)}}))
}

func (p *Pages) renderCheckItems(c echo.Context, status int, form *Form) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	depts, err := p.Departments.FindDepartments(ctx)
	if err != nil {
		return err
	}
	items, err := p.CheckItems.FindCheckItems(ctx, nil, true)
	if err != nil {
		return err
	}
	d := checkItemsData{
		Platform: u.Role == server.RolePlatformAdmin, MyDept: u.DepartmentID, Answers: answerTypes, AllDepts: depts,
		Manage: u.Role == server.RolePlatformAdmin || u.Role == server.RoleDepartmentAdmin,
	}
	for _, dep := range depts {
		dc := deptCatalogue{Department: dep, CanManage: d.Platform || d.Manage && u.InDepartment(dep.ID)}
		for _, it := range items {
			if it.DepartmentID == dep.ID {
				dc.Items = append(dc.Items, it)
			}
		}
		// The user's own department first.
		if u.InDepartment(dep.ID) {
			d.Departments = append([]deptCatalogue{dc}, d.Departments...)
		} else {
			d.Departments = append(d.Departments, dc)
		}
	}
	return p.render(c, status, "check_items", &page{Title: "检查事项目录", Data: d, Form: form})
}

// checkItemFields name the field of a check-item error.
var checkItemFields = []fieldWord{
	{"事项编码", "code", false}, {"事项名称", "title", false}, {"检查依据", "legal_basis", false}, {"答题方式", "answer_type", false},
	{"须指定部门", "department_id", false}, {"只能管理本部门", "department_id", false},
}

// handleCheckItemCreate handles "POST /console/check-items": a new item, or
// the next version of an existing code (which retires the previous one).
func (p *Pages) handleCheckItemCreate(c echo.Context) error {
	values, err := c.FormParams()
	if err != nil {
		return server.Errorf(server.EINVALID, "表单无效 (invalid form).")
	}
	form := newForm(values)
	it := &server.CheckItem{
		Code: strings.TrimSpace(values.Get("code")), Title: strings.TrimSpace(values.Get("title")),
		LegalBasis: strings.TrimSpace(values.Get("legal_basis")), AnswerType: server.AnswerType(values.Get("answer_type")),
	}
	if s := values.Get("department_id"); s != "" {
		if it.DepartmentID, err = strconv.ParseInt(s, 10, 64); err != nil || it.DepartmentID <= 0 {
			form.Errors["department_id"] = "请选择部门"
		}
	}
	if it.Code == "" {
		form.Errors["code"] = "请填写事项编码"
	}
	if it.Title == "" {
		form.Errors["title"] = "请填写事项名称"
	}
	if len(form.Errors) > 0 {
		return p.renderCheckItems(c, http.StatusBadRequest, form)
	}
	if err := p.CheckItems.CreateCheckItem(c.Request().Context(), it); err != nil {
		if err := fieldError(form, err, checkItemFields); err != nil {
			return err
		}
		return p.renderCheckItems(c, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "已保存检查事项 "+it.Code+" 第"+strconv.Itoa(it.Version)+"版")
	return c.Redirect(http.StatusSeeOther, "/console/check-items")
}

// handleCheckItemRetire handles "POST /console/check-items/:id/retire".
func (p *Pages) handleCheckItemRetire(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return server.Errorf(server.ENOTFOUND, "检查事项不存在 (check item not found).")
	}
	it, err := p.CheckItems.RetireCheckItem(c.Request().Context(), id)
	if err != nil {
		if server.ErrorCode(err) == server.EINTERNAL || server.ErrorCode(err) == server.ENOTFOUND {
			return err
		}
		form := newForm(url.Values{"answer_type": {string(server.AnswerCompliance)}})
		form.Message = errorText(err)
		return p.renderCheckItems(c, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "已停用检查事项 "+it.Code+" 第"+strconv.Itoa(it.Version)+"版")
	return c.Redirect(http.StatusSeeOther, "/console/check-items")
}
