package store

import (
	"context"
	"slices"

	"github.com/spotcheck/spotcheck/server"
)

// requireUser returns EUNAUTHORIZED unless ctx carries a user.
func requireUser(ctx context.Context) error {
	if server.UserFromContext(ctx) == nil {
		return server.Errorf(server.EUNAUTHORIZED, "请先登录 (sign in first).")
	}
	return nil
}

// requireRole returns EUNAUTHORIZED without a user and EFORBIDDEN unless the
// user has one of roles.
func requireRole(ctx context.Context, roles ...server.Role) error {
	u := server.UserFromContext(ctx)
	if u == nil {
		return requireUser(ctx)
	}
	if !slices.Contains(roles, u.Role) {
		return server.Errorf(server.EFORBIDDEN, "无权执行此操作 (your role may not do this).")
	}
	return nil
}
