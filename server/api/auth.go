package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// handleLogin handles "POST /v1/auth/login".
func (s *Server) handleLogin(c echo.Context) error {
	var req syncproto.LoginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.Auth.Login(c.Request().Context(), server.LoginRequest{
		Username: req.Username, Password: req.Password, DeviceID: req.DeviceID, Address: clientAddress(c),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSession(sess))
}

// clientAddress is the address login limits are keyed on: the peer's own,
// unless the server was told which proxies to trust (Echo's IPExtractor).
// Echo's default RealIP believes any X-Forwarded-For, which would let a client
// pick a fresh address for every attempt.
func clientAddress(c echo.Context) string {
	if c.Echo().IPExtractor != nil {
		return c.RealIP()
	}
	return echo.ExtractIPDirect()(c.Request())
}

// handleRefresh handles "POST /v1/auth/refresh".
func (s *Server) handleRefresh(c echo.Context) error {
	var req syncproto.RefreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.Auth.Refresh(c.Request().Context(), server.RefreshRequest{
		RefreshToken: req.RefreshToken, DeviceID: req.DeviceID, DeviceProof: req.DeviceProof, Address: clientAddress(c),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSession(sess))
}

// handleLogout handles "POST /v1/auth/logout".
func (s *Server) handleLogout(c echo.Context) error {
	var req syncproto.LogoutRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.Auth.Logout(c.Request().Context(), req.RefreshToken); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleMe handles "GET /v1/me".
func (s *Server) handleMe(c echo.Context) error {
	return c.JSON(http.StatusOK, toMe(server.UserFromContext(c.Request().Context())))
}

// handlePasswordChange handles "POST /v1/me/password" with a
// syncproto.ChangePasswordRequest: the signed-in user's own password, given
// the current one. The user's other sessions end; this one goes on, free of
// a one-time password's limits. It answers 204.
func (s *Server) handlePasswordChange(c echo.Context) error {
	var req syncproto.ChangePasswordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return server.Errorf(server.EINVALID, "须提供当前密码和新密码 (current_password and new_password are required).")
	}
	if err := s.Users.ChangePassword(c.Request().Context(), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func toSession(sess *server.Session) syncproto.Session {
	return syncproto.Session{
		AccessToken: sess.AccessToken, TokenType: "Bearer", AccessExpiresAt: sess.AccessExpiresAt,
		RefreshToken: sess.RefreshToken, RefreshExpiresAt: sess.RefreshExpiresAt,
		User: toMe(sess.User), DeviceID: sess.DeviceID,
	}
}

func toMe(u *server.User) syncproto.Me {
	return syncproto.Me{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: string(u.Role),
		DepartmentID: u.DepartmentID, InspectorID: u.InspectorID, PasswordChangeRequired: u.PasswordChangeRequired,
	}
}
