package web

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Accounts: the users an admin manages, one's own page, and the one-time
// passwords of new and reset accounts, shown once in the answer to the POST
// that made them (never stored, never shown again).

var roleOptionsPlatform = []option{
	{string(server.RoleDepartmentAdmin), "部门系统管理员"}, {string(server.RoleLeadCoordinator), "牵头部门协调员"},
	{string(server.RoleInspector), "执法人员"}, {string(server.RolePlatformAdmin), "平台管理员"},
}

type usersData struct {
	Users       []*server.User
	DeptNames   map[int64]string
	Departments []*server.Department
	Roles       []option
	Platform    bool
	Pager       pager
}

// handleUsers handles "GET /console/users" (as GET /v1/users).
func (p *Pages) handleUsers(c echo.Context) error {
	return p.renderUsers(c, http.StatusOK, newForm(url.Values{"role": {string(server.RoleInspector)}}))
}

func (p *Pages) renderUsers(c echo.Context, status int, form *Form) error {
	ctx := c.Request().Context()
	pageNo, offset := pageOf(c)
	us, total, err := p.Users.FindUsers(ctx, server.UserFilter{Offset: offset, Limit: adminPageSize})
	if err != nil {
		return err
	}
	names, ds, err := p.departmentNames(c)
	if err != nil {
		return err
	}
	u := server.UserFromContext(ctx)
	roles := roleOptionsPlatform
	if u.Role != server.RolePlatformAdmin {
		roles = roles[:3]
	}
	return p.render(c, status, "users", &page{Title: "账号管理", Form: form, Data: usersData{
		Users: us, DeptNames: names, Departments: ds, Roles: roles, Platform: u.Role == server.RolePlatformAdmin,
		Pager: newPager(c, pageNo, total),
	}})
}

// oneTimeData is the page that shows a one-time password, once.
type oneTimeData struct {
	User     *server.User
	Password string
	Created  bool
}

var userFields = []fieldWord{
	{"用户名", "username", false}, {"显示名称", "display_name", false}, {"未知角色", "role", false},
	{"该角色必须属于一个部门", "department_id", false}, {"只能为本部门", "department_id", false},
	{"执法人员", "inspector_certificate", false}, {"只有执法人员账号", "inspector_certificate", false},
}

// handleUserCreate handles "POST /console/users" (as POST /v1/users): the
// account gets a one-time password, shown on the answer alone, that must
// be changed at the first sign-in. An inspector account is linked by the
// inspector's certificate number.
func (p *Pages) handleUserCreate(c echo.Context) error {
	ctx := c.Request().Context()
	vals, err := formValues(c)
	if err != nil {
		return err
	}
	form := newForm(vals)
	actor := server.UserFromContext(ctx)
	u := &server.User{
		Username: strings.TrimSpace(vals.Get("username")), DisplayName: strings.TrimSpace(vals.Get("display_name")),
		Role: server.Role(vals.Get("role")),
	}
	if id, ok := int64Ptr(vals.Get("department_id")); !ok {
		form.Errors["department_id"] = "请选择部门"
	} else {
		u.DepartmentID = id
	}
	if u.DepartmentID == nil && actor.Role == server.RoleDepartmentAdmin {
		u.DepartmentID = actor.DepartmentID
	}
	if u.Role == server.RolePlatformAdmin {
		u.DepartmentID = nil
	}
	if cert := strings.TrimSpace(vals.Get("inspector_certificate")); u.Role == server.RoleInspector {
		if cert == "" {
			form.Errors["inspector_certificate"] = "执法人员账号须填写所关联执法人员的执法证号"
		} else {
			ins, _, err := p.Inspectors.FindInspectors(ctx, server.InspectorFilter{CertificateNumber: &cert, DepartmentID: u.DepartmentID, Limit: 1})
			switch {
			case err != nil && server.ErrorCode(err) == server.EINTERNAL:
				return err
			case err != nil || len(ins) == 0:
				form.Errors["inspector_certificate"] = "所选部门没有该执法证号的执法人员"
			default:
				u.InspectorID = &ins[0].ID
			}
		}
	}
	if u.Username == "" {
		form.Errors["username"] = "请填写用户名"
	}
	if len(form.Errors) > 0 {
		return p.renderUsers(c, http.StatusBadRequest, form)
	}
	// The account's first password is never told: the one-time password
	// that follows replaces it.
	if err := p.Users.CreateUser(ctx, u, rand.Text()+rand.Text()); err != nil {
		if err := fieldError(form, err, userFields); err != nil {
			return err
		}
		return p.renderUsers(c, statusOf(server.ErrorCode(err)), form)
	}
	password, err := p.Users.ResetPassword(ctx, u.ID)
	if err != nil {
		return err
	}
	created, err := p.Users.FindUserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "one_time_password", &page{Title: "一次性密码", Data: oneTimeData{User: created, Password: password, Created: true}})
}

type userData struct {
	Account   *server.User
	DeptNames map[int64]string
	Self      bool
	CanManage bool
	Inspector *server.Inspector
}

// handleUser handles "GET /console/users/:id" (as GET /v1/users/:id).
func (p *Pages) handleUser(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	return p.renderUser(c, id)
}

// handleAccount handles "GET /console/account": one's own page.
func (p *Pages) handleAccount(c echo.Context) error {
	return p.renderUser(c, server.UserFromContext(c.Request().Context()).ID)
}

func (p *Pages) renderUser(c echo.Context, id int64) error {
	ctx := c.Request().Context()
	a, err := p.Users.FindUserByID(ctx, id)
	if err != nil {
		return err
	}
	names, _, err := p.departmentNames(c)
	if err != nil {
		return err
	}
	me := server.UserFromContext(ctx)
	d := userData{Account: a, DeptNames: names, Self: a.ID == me.ID, CanManage: isAdmin(me) && a.ID != me.ID}
	if a.InspectorID != nil {
		if in, err := p.Inspectors.FindInspectorByID(ctx, *a.InspectorID); err == nil {
			d.Inspector = in
		}
	}
	title := "账号信息"
	if d.Self {
		title = "我的账号"
	}
	return p.render(c, http.StatusOK, "user", &page{Title: title, Data: d})
}

// handleUserDisable handles "POST /console/users/:id/disable" (as POST /v1/users/:id/disable).
func (p *Pages) handleUserDisable(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := p.Users.DisableUser(c.Request().Context(), id); err != nil {
		return err
	}
	p.setFlash(c, "账号已停用，其登录已全部失效")
	return c.Redirect(http.StatusSeeOther, "/console/users/"+strconv.FormatInt(id, 10))
}

// handleUserPasswordReset handles "POST /console/users/:id/password-reset"
// (as POST /v1/users/:id/password-reset): the one-time password is shown
// in this answer only.
func (p *Pages) handleUserPasswordReset(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	password, err := p.Users.ResetPassword(ctx, id)
	if err != nil {
		return err
	}
	u, err := p.Users.FindUserByID(ctx, id)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "one_time_password", &page{Title: "一次性密码", Data: oneTimeData{User: u, Password: password}})
}
