package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// The directories: departments, enterprises and inspectors.

func init() {
	funcs["enterpriseStatus"] = func(s server.EnterpriseStatus) string { return labelOr(enterpriseStatusLabels, string(s)) }
	funcs["inspectorStatus"] = func(s server.InspectorStatus) string { return labelOr(inspectorStatusLabels, string(s)) }
	funcs["riskClass"] = func(r server.RiskClass) template.HTML {
		if r == "" {
			return "未分类"
		}
		return template.HTML(`<code>` + template.HTMLEscapeString(string(r)) + `</code> 类`)
	}
	funcs["certState"] = certificateState
	funcs["importMessage"] = importMessage
	funcs["joinDomains"] = func(ds []string) string { return strings.Join(ds, "、") }
	funcs["deptName"] = func(m map[int64]string, id any) string {
		var key int64
		switch v := id.(type) {
		case int64:
			key = v
		case *int64:
			if v == nil {
				return "—"
			}
			key = *v
		}
		if n, ok := m[key]; ok {
			return n
		}
		return "—"
	}
	funcs["floatp"] = func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
}

func labelOr(m map[string]string, key string) string {
	if l, ok := m[key]; ok {
		return l
	}
	return "未知状态"
}

var enterpriseStatusLabels = map[string]string{
	string(server.EnterpriseActive): "存续（在业）", string(server.EnterpriseSuspended): "停业",
	string(server.EnterpriseDeregistered): "注销", string(server.EnterpriseRevoked): "吊销",
}

var inspectorStatusLabels = map[string]string{
	string(server.InspectorActive): "在岗", string(server.InspectorOnLeave): "休假", string(server.InspectorLeft): "离职",
}

// option is a choice of a select.
type option struct{ Value, Label string }

var enterpriseStatusOptions = []option{
	{string(server.EnterpriseActive), "存续（在业）"}, {string(server.EnterpriseSuspended), "停业"},
	{string(server.EnterpriseDeregistered), "注销"}, {string(server.EnterpriseRevoked), "吊销"},
}

var riskClassOptions = []option{{"", "未分类"}, {"A", "A 类"}, {"B", "B 类"}, {"C", "C 类"}, {"D", "D 类"}}

var inspectorStatusOptions = []option{
	{string(server.InspectorActive), "在岗"}, {string(server.InspectorOnLeave), "休假"}, {string(server.InspectorLeft), "离职"},
}

// Departments.

type departmentsData struct {
	Departments []*server.Department
	CanEdit     bool
}

// handleDepartments handles "GET /console/departments" (as GET /v1/departments).
func (p *Pages) handleDepartments(c echo.Context) error {
	return p.renderDepartments(c, http.StatusOK, newForm(nil))
}

func (p *Pages) renderDepartments(c echo.Context, status int, form *Form) error {
	ds, err := p.Departments.FindDepartments(c.Request().Context())
	if err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	return p.render(c, status, "departments", &page{Title: "部门", Form: form,
		Data: departmentsData{Departments: ds, CanEdit: u.Role == server.RolePlatformAdmin}})
}

var departmentFields = []fieldWord{{"部门代码", "code", false}, {"部门名称", "name", false}, {"部门", "code", false}}

// handleDepartmentCreate handles "POST /console/departments" (as POST /v1/departments).
func (p *Pages) handleDepartmentCreate(c echo.Context) error {
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	d := &server.Department{Code: strings.TrimSpace(vals.Get("code")), Name: strings.TrimSpace(vals.Get("name"))}
	if err := p.Departments.CreateDepartment(c.Request().Context(), d); err != nil {
		if err := fieldError(form, err, departmentFields); err != nil {
			return err
		}
		return p.renderDepartments(c, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "已添加部门："+d.Name)
	return c.Redirect(http.StatusSeeOther, "/console/departments")
}

// handleDepartmentUpdate handles "POST /console/departments/:id" (as PATCH
// /v1/departments/:id): the name.
func (p *Pages) handleDepartmentUpdate(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if _, err := p.Departments.UpdateDepartment(c.Request().Context(), id, server.DepartmentUpdate{Name: &name}); err != nil {
		if server.ErrorCode(err) == server.EINTERNAL || server.ErrorCode(err) == server.ENOTFOUND {
			return err
		}
		form := newForm(url.Values{})
		form.Message = errorText(err)
		return p.renderDepartments(c, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "部门名称已修改")
	return c.Redirect(http.StatusSeeOther, "/console/departments")
}

// Enterprises.

type enterprisesData struct {
	Enterprises []*server.Enterprise
	Query       string
	Pager       pager
	CanEdit     bool
}

// handleEnterprises handles "GET /console/enterprises[?q=][&page=]" (as GET
// /v1/enterprises): q is a credit code (18 characters) or part of a name.
func (p *Pages) handleEnterprises(c echo.Context) error {
	pageNo, offset := pageOf(c)
	q := strings.TrimSpace(c.QueryParam("q"))
	f := server.EnterpriseFilter{Offset: offset, Limit: adminPageSize}
	if q != "" {
		if code := strings.ToUpper(q); len(code) == 18 && server.CheckCreditCode(code) == nil {
			f.CreditCode = &code
		} else {
			f.Query = &q
		}
	}
	es, total, err := p.Enterprises.FindEnterprises(c.Request().Context(), f)
	if err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	return p.render(c, http.StatusOK, "enterprises", &page{Title: "企业名录", Data: enterprisesData{
		Enterprises: es, Query: q, Pager: newPager(c, pageNo, total), CanEdit: u.Role == server.RolePlatformAdmin,
	}})
}

type enterpriseData struct {
	Enterprise *server.Enterprise // nil: a new one
	CanEdit    bool
	Statuses   []option
	Risks      []option
}

func enterpriseValues(e *server.Enterprise) url.Values {
	v := url.Values{}
	v.Set("credit_code", e.CreditCode)
	v.Set("name", e.Name)
	v.Set("category", e.Category)
	v.Set("district", e.District)
	v.Set("address", e.Address)
	v.Set("legal_representative", e.LegalRepresentative)
	v.Set("licence_number", e.LicenceNumber)
	v.Set("status", string(e.Status))
	v.Set("risk_class", string(e.RiskClass))
	if e.Latitude != nil && e.Longitude != nil {
		v.Set("latitude", strconv.FormatFloat(*e.Latitude, 'f', -1, 64))
		v.Set("longitude", strconv.FormatFloat(*e.Longitude, 'f', -1, 64))
	}
	return v
}

// handleEnterpriseNew handles "GET /console/enterprises/new".
func (p *Pages) handleEnterpriseNew(c echo.Context) error {
	form := newForm(url.Values{"status": {string(server.EnterpriseActive)}, "category": {server.CategoryInternetCafe}})
	return p.render(c, http.StatusOK, "enterprise", &page{Title: "新增企业", Form: form,
		Data: enterpriseData{CanEdit: true, Statuses: enterpriseStatusOptions, Risks: riskClassOptions}})
}

// handleEnterprise handles "GET /console/enterprises/:id" (as GET
// /v1/enterprises/:id), with the edit form for platform admins.
func (p *Pages) handleEnterprise(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	e, err := p.Enterprises.FindEnterpriseByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	return p.render(c, http.StatusOK, "enterprise", &page{Title: "企业信息", Form: newForm(enterpriseValues(e)),
		Data: enterpriseData{Enterprise: e, CanEdit: u.Role == server.RolePlatformAdmin, Statuses: enterpriseStatusOptions, Risks: riskClassOptions}})
}

var enterpriseFields = []fieldWord{
	{"统一社会信用代码", "credit_code", false}, {"企业名称", "name", false}, {"企业类别", "category", false},
	{"所属区县", "district", false}, {"地址、法定代表人或许可证号", "address", false}, {"地址", "address", false},
	{"法定代表人", "legal_representative", false}, {"许可证号", "licence_number", false},
	{"经营状态", "status", false}, {"信用风险分类", "risk_class", false}, {"经纬度", "latitude", false},
}

// enterpriseForm reads the form into e's fields; a coordinate that is not
// a number is an error on its field.
func enterpriseForm(vals url.Values, form *Form) (e server.Enterprise) {
	g := func(k string) string { return strings.TrimSpace(vals.Get(k)) }
	e = server.Enterprise{
		CreditCode: strings.ToUpper(g("credit_code")), Name: g("name"), Category: g("category"), District: g("district"),
		Address: g("address"), LegalRepresentative: g("legal_representative"), LicenceNumber: g("licence_number"),
		Status: server.EnterpriseStatus(g("status")), RiskClass: server.RiskClass(g("risk_class")),
	}
	for _, k := range []string{"latitude", "longitude"} {
		if g(k) == "" {
			continue
		}
		f, err := strconv.ParseFloat(g(k), 64)
		if err != nil {
			form.Errors[k] = "请填写数字，如 24.4798"
			continue
		}
		if k == "latitude" {
			e.Latitude = &f
		} else {
			e.Longitude = &f
		}
	}
	return e
}

// handleEnterpriseCreate handles "POST /console/enterprises" (as POST /v1/enterprises).
func (p *Pages) handleEnterpriseCreate(c echo.Context) error {
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	e := enterpriseForm(vals, form)
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		err := p.Enterprises.CreateEnterprise(c.Request().Context(), &e)
		if err == nil {
			p.setFlash(c, "已新增企业："+e.Name)
			return c.Redirect(http.StatusSeeOther, "/console/enterprises/"+strconv.FormatInt(e.ID, 10))
		}
		if err := fieldError(form, err, enterpriseFields); err != nil {
			return err
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.render(c, status, "enterprise", &page{Title: "新增企业", Form: form,
		Data: enterpriseData{CanEdit: true, Statuses: enterpriseStatusOptions, Risks: riskClassOptions}})
}

// handleEnterpriseUpdate handles "POST /console/enterprises/:id" (as PATCH
// /v1/enterprises/:id): every field but the credit code.
func (p *Pages) handleEnterpriseUpdate(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := p.Enterprises.FindEnterpriseByID(ctx, id)
	if err != nil {
		return err
	}
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	form.Values.Set("credit_code", cur.CreditCode)
	e := enterpriseForm(vals, form)
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		upd := server.EnterpriseUpdate{
			Name: &e.Name, Category: &e.Category, District: &e.District, Address: &e.Address,
			LegalRepresentative: &e.LegalRepresentative, LicenceNumber: &e.LicenceNumber,
			Status: &e.Status, RiskClass: &e.RiskClass, Latitude: e.Latitude, Longitude: e.Longitude,
		}
		_, err := p.Enterprises.UpdateEnterprise(ctx, id, upd)
		if err == nil {
			p.setFlash(c, "企业信息已保存")
			return c.Redirect(http.StatusSeeOther, "/console/enterprises/"+strconv.FormatInt(id, 10))
		}
		if err := fieldError(form, err, enterpriseFields); err != nil {
			return err
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.render(c, status, "enterprise", &page{Title: "企业信息", Form: form,
		Data: enterpriseData{Enterprise: cur, CanEdit: true, Statuses: enterpriseStatusOptions, Risks: riskClassOptions}})
}

// Inspectors.

type inspectorsData struct {
	Inspectors   []*server.Inspector
	Departments  []*server.Department
	DeptNames    map[int64]string
	DepartmentID int64 // the filter; 0 all
	Pager        pager
	CanEdit      bool
	Today        server.Date
}

// handleInspectors handles "GET /console/inspectors[?department_id=]" (as
// GET /v1/inspectors). A department admin's list is their department's by
// default.
func (p *Pages) handleInspectors(c echo.Context) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	pageNo, offset := pageOf(c)
	f := server.InspectorFilter{Offset: offset, Limit: adminPageSize}
	var deptID int64
	if v, ok := int64Ptr(c.QueryParam("department_id")); ok && v != nil {
		deptID = *v
	} else if c.QueryParam("department_id") == "" && u.Role != server.RolePlatformAdmin && u.DepartmentID != nil {
		deptID = *u.DepartmentID
	}
	if deptID != 0 {
		f.DepartmentID = &deptID
	}
	ins, total, err := p.Inspectors.FindInspectors(ctx, f)
	if err != nil {
		return err
	}
	names, ds, err := p.departmentNames(c)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "inspectors", &page{Title: "执法人员", Data: inspectorsData{
		Inspectors: ins, Departments: ds, DeptNames: names, DepartmentID: deptID, Pager: newPager(c, pageNo, total),
		CanEdit: isAdmin(u), Today: server.DateOf(p.now()),
	}})
}

func isAdmin(u *server.User) bool {
	return u.Role == server.RolePlatformAdmin || u.Role == server.RoleDepartmentAdmin
}

type inspectorData struct {
	Inspector   *server.Inspector // nil: a new one
	Departments []*server.Department
	DeptNames   map[int64]string
	CanEdit     bool
	Platform    bool // may choose the department
	Statuses    []option
	Today       server.Date
}

func inspectorValues(in *server.Inspector) url.Values {
	v := url.Values{}
	v.Set("department_id", strconv.FormatInt(in.DepartmentID, 10))
	v.Set("name", in.Name)
	v.Set("certificate_number", in.CertificateNumber)
	v.Set("certificate_valid_from", in.CertificateValidFrom.String())
	v.Set("certificate_valid_until", in.CertificateValidUntil.String())
	v.Set("domains", strings.Join(in.Domains, "、"))
	v.Set("phone", in.Phone)
	v.Set("status", string(in.Status))
	return v
}

func (p *Pages) inspectorPage(c echo.Context, status int, title string, form *Form, in *server.Inspector, canEdit bool) error {
	names, ds, err := p.departmentNames(c)
	if err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	return p.render(c, status, "inspector", &page{Title: title, Form: form, Data: inspectorData{
		Inspector: in, Departments: ds, DeptNames: names, CanEdit: canEdit, Platform: u.Role == server.RolePlatformAdmin,
		Statuses: inspectorStatusOptions, Today: server.DateOf(p.now()),
	}})
}

// handleInspectorNew handles "GET /console/inspectors/new".
func (p *Pages) handleInspectorNew(c echo.Context) error {
	u := server.UserFromContext(c.Request().Context())
	v := url.Values{"status": {string(server.InspectorActive)}}
	if u.DepartmentID != nil {
		v.Set("department_id", strconv.FormatInt(*u.DepartmentID, 10))
	}
	return p.inspectorPage(c, http.StatusOK, "新增执法人员", newForm(v), nil, true)
}

// handleInspector handles "GET /console/inspectors/:id" (as GET /v1/inspectors/:id).
func (p *Pages) handleInspector(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	in, err := p.Inspectors.FindInspectorByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	canEdit := u.Role == server.RolePlatformAdmin || u.Role == server.RoleDepartmentAdmin && u.InDepartment(in.DepartmentID)
	return p.inspectorPage(c, http.StatusOK, "执法人员信息", newForm(inspectorValues(in)), in, canEdit)
}

var inspectorFields = []fieldWord{
	{"执法人员须属于一个部门", "department_id", false}, {"姓名", "name", false}, {"执法证号", "certificate_number", false},
	{"执法证有效期截止日", "certificate_valid_until", false}, {"执法证有效期", "certificate_valid_from", false},
	{"电话", "phone", false}, {"状态", "status", false}, {"执法领域", "domains", false},
}

// splitDomains reads the domains field: separated by 、, commas or new lines.
func splitDomains(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == '、' || r == ',' || r == '，' || r == '\n' || r == '\r' || r == ';' || r == '；'
	})
	out := []string{}
	for _, d := range f {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// inspectorForm reads the form; a date that does not parse is an error on its field.
func inspectorForm(vals url.Values, form *Form) server.Inspector {
	g := func(k string) string { return strings.TrimSpace(vals.Get(k)) }
	in := server.Inspector{
		Name: g("name"), CertificateNumber: g("certificate_number"), Domains: splitDomains(vals.Get("domains")),
		Phone: g("phone"), Status: server.InspectorStatus(g("status")),
	}
	if id, ok := int64Ptr(g("department_id")); ok && id != nil {
		in.DepartmentID = *id
	}
	for _, f := range []struct {
		k string
		d *server.Date
	}{{"certificate_valid_from", &in.CertificateValidFrom}, {"certificate_valid_until", &in.CertificateValidUntil}} {
		if g(f.k) == "" {
			form.Errors[f.k] = "请填写日期"
			continue
		}
		d, err := server.ParseDate(g(f.k))
		if err != nil {
			form.Errors[f.k] = "日期格式应为 年-月-日，如 2026-01-31"
			continue
		}
		*f.d = d
	}
	return in
}

// handleInspectorCreate handles "POST /console/inspectors" (as POST /v1/inspectors).
func (p *Pages) handleInspectorCreate(c echo.Context) error {
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	in := inspectorForm(vals, form)
	if u := server.UserFromContext(c.Request().Context()); in.DepartmentID == 0 && u.DepartmentID != nil {
		in.DepartmentID = *u.DepartmentID
	}
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		err := p.Inspectors.CreateInspector(c.Request().Context(), &in)
		if err == nil {
			p.setFlash(c, "已新增执法人员："+in.Name)
			return c.Redirect(http.StatusSeeOther, "/console/inspectors/"+strconv.FormatInt(in.ID, 10))
		}
		if err := fieldError(form, err, inspectorFields); err != nil {
			return err
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.inspectorPage(c, status, "新增执法人员", form, nil, true)
}

// handleInspectorUpdate handles "POST /console/inspectors/:id" (as PATCH
// /v1/inspectors/:id): all but the department and the certificate number.
func (p *Pages) handleInspectorUpdate(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := p.Inspectors.FindInspectorByID(ctx, id)
	if err != nil {
		return err
	}
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	form.Values.Set("department_id", strconv.FormatInt(cur.DepartmentID, 10))
	form.Values.Set("certificate_number", cur.CertificateNumber)
	in := inspectorForm(vals, form)
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		upd := server.InspectorUpdate{
			Name: &in.Name, CertificateValidFrom: &in.CertificateValidFrom, CertificateValidUntil: &in.CertificateValidUntil,
			Domains: &in.Domains, Phone: &in.Phone, Status: &in.Status,
		}
		_, err := p.Inspectors.UpdateInspector(ctx, id, upd)
		if err == nil {
			p.setFlash(c, "执法人员信息已保存")
			return c.Redirect(http.StatusSeeOther, "/console/inspectors/"+strconv.FormatInt(id, 10))
		}
		if err := fieldError(form, err, inspectorFields); err != nil {
			return err
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.inspectorPage(c, status, "执法人员信息", form, cur, true)
}

// certificateState says whether an inspector's certificate is valid on today.
func certificateState(in *server.Inspector, today server.Date) string {
	switch {
	case today.Before(in.CertificateValidFrom):
		return "未生效"
	case in.CertificateValidUntil.Before(today):
		return "已过期"
	}
	return "有效"
}
