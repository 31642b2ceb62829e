package api

import (
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Role sets for allow. A route's role gate runs before its body is read, so a
// caller whose role may never use the route learns nothing from validation
// errors; which objects a permitted caller may touch is decided in the store.
var (
	anyRole   = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator, server.RoleInspector}
	staffOnly = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator}
	adminOnly = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin}
	platform  = []server.Role{server.RolePlatformAdmin}
	fieldOnly = []server.Role{server.RoleInspector}
	// adminOrField: admins act for their department, inspectors for themselves.
	adminOrField = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleInspector}
)

// allow returns middleware that refuses, with EFORBIDDEN, users whose role is
// not one of roles. It must run after requireAuth.
func allow(roles []server.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := server.UserFromContext(c.Request().Context())
			if u == nil {
				return server.Errorf(server.EUNAUTHORIZED, "请先登录 (sign in first).")
			}
			if !slices.Contains(roles, u.Role) {
				return server.Errorf(server.EFORBIDDEN, "无权执行此操作 (your role may not do this).")
			}
			return next(c)
		}
	}
}
