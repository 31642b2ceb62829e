package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

func (s *Server) userRoutes(g *echo.Group) {
	g.GET("", s.handleUserIndex, allow(adminOnly))
	g.POST("", s.handleUserCreate, allow(adminOnly))
	g.GET("/:id", s.handleUserView, allow(anyRole))
	g.POST("/:id/disable", s.handleUserDisable, allow(adminOnly))
	g.POST("/:id/password-reset", s.handleUserPasswordReset, allow(adminOnly))
}

// User is the JSON form of an account. It has no password hash: the domain
// type does not carry one, so no handler can leak it.
type User struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`
	DepartmentID *int64 `json:"department_id,omitempty"`
	InspectorID  *int64 `json:"inspector_id,omitempty"`
	Disabled     bool   `json:"disabled"`
	// PasswordChangeRequired: the account has a one-time password.
	PasswordChangeRequired bool      `json:"must_change_password"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

func toUser(u *server.User) User {
	return User{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: string(u.Role),
		DepartmentID: u.DepartmentID, InspectorID: u.InspectorID, Disabled: u.Disabled,
		PasswordChangeRequired: u.PasswordChangeRequired, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// CreateUserRequest is the body of "POST /v1/users".
type CreateUserRequest struct {
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Password     string `json:"password"`
	Role         string `json:"role"`
	DepartmentID *int64 `json:"department_id"`
	InspectorID  *int64 `json:"inspector_id"`
}

// handleUserIndex handles "GET /v1/users?department_id=&role=&offset=&limit=".
func (s *Server) handleUserIndex(c echo.Context) error {
	var f server.UserFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	if v := c.QueryParam("department_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return server.Errorf(server.EINVALID, "department_id须为正整数 (department_id must be a positive integer).")
		}
		f.DepartmentID = &id
	}
	if v := c.QueryParam("role"); v != "" {
		r := server.Role(v)
		if !r.Valid() {
			return server.Errorf(server.EINVALID, "未知角色 (unknown role).")
		}
		f.Role = &r
	}
	us, n, err := s.Users.FindUsers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := List[User]{Items: make([]User, len(us)), Total: n}
	for i, u := range us {
		out.Items[i] = toUser(u)
	}
	return c.JSON(http.StatusOK, out)
}

// handleUserCreate handles "POST /v1/users".
func (s *Server) handleUserCreate(c echo.Context) error {
	var req CreateUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u := &server.User{
		Username: req.Username, DisplayName: req.DisplayName, Role: server.Role(req.Role),
		DepartmentID: req.DepartmentID, InspectorID: req.InspectorID,
	}
	// A department admin's new accounts belong to their own department unless
	// the body says otherwise (and the store refuses any other department).
	if actor := server.UserFromContext(c.Request().Context()); u.DepartmentID == nil && actor.Role == server.RoleDepartmentAdmin {
		u.DepartmentID = actor.DepartmentID
	}
	if err := s.Users.CreateUser(c.Request().Context(), u, req.Password); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toUser(u))
}

// handleUserView handles "GET /v1/users/:id".
func (s *Server) handleUserView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.Users.FindUserByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUser(u))
}

// handleUserDisable handles "POST /v1/users/:id/disable": the user can no
// longer sign in, their refresh tokens are revoked and their access tokens are
// refused from the next request on. It takes no body.
func (s *Server) handleUserDisable(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Users.DisableUser(ctx, id); err != nil {
		return err
	}
	u, err := s.Users.FindUserByID(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUser(u))
}

// PasswordReset is the answer to "POST /v1/users/:id/password-reset": the
// account and its new one-time password, shown only in this response.
type PasswordReset struct {
	User     User   `json:"user"`
	Password string `json:"one_time_password"`
}

// handleUserPasswordReset handles "POST /v1/users/:id/password-reset": an
// admin of the user's department (or a platform admin) gives the user a
// generated one-time password, which must be changed at the next login; the
// user's sessions end at once. It takes no body.
func (s *Server) handleUserPasswordReset(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	password, err := s.Users.ResetPassword(ctx, id)
	if err != nil {
		return err
	}
	u, err := s.Users.FindUserByID(ctx, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, PasswordReset{User: toUser(u), Password: password})
}
