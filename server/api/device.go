package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

func (s *Server) deviceRoutes(g *echo.Group) {
	g.GET("", s.handleDeviceIndex, allow(anyRole))
	g.POST("", s.handleDeviceRegister, allow(fieldOnly))
	g.GET("/:id", s.handleDeviceView, allow(anyRole))
	g.POST("/:id/revoke", s.handleDeviceRevoke, allow(adminOnly))
}

func toDevice(d *server.Device) syncproto.Device {
	return syncproto.Device{
		ID: d.ID, UserID: d.UserID, Name: d.Name, PublicKey: d.PublicKey, CreatedAt: d.CreatedAt,
		LastSeenAt: d.LastSeenAt, RevokedAt: d.RevokedAt, RevokeReason: d.RevokeReason,
	}
}

// RevokeDeviceRequest is the body of "POST /v1/devices/:id/revoke".
type RevokeDeviceRequest struct {
	Reason string `json:"reason"`
}

// Validate requires a reason: a revocation stops an inspector's field work,
// so whoever reads the record later must see why.
func (r *RevokeDeviceRequest) Validate() error {
	if r.Reason == "" || len(r.Reason) > 500 {
		return server.Errorf(server.EINVALID, "停用原因须为1-500字节 (reason must be 1-500 bytes).")
	}
	return nil
}

// handleDeviceIndex handles "GET /v1/devices?user_id=&department_id=&offset=&limit=".
func (s *Server) handleDeviceIndex(c echo.Context) error {
	var f server.DeviceFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"user_id", &f.UserID}, {"department_id", &f.DepartmentID}} {
		if v := c.QueryParam(p.name); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return server.Errorf(server.EINVALID, "%s须为正整数 (%s must be a positive integer).", p.name, p.name)
			}
			*p.dst = &id
		}
	}
	ds, n, err := s.Devices.FindDevices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := List[syncproto.Device]{Items: make([]syncproto.Device, len(ds)), Total: n}
	for i, d := range ds {
		out.Items[i] = toDevice(d)
	}
	return c.JSON(http.StatusOK, out)
}

// handleDeviceRegister handles "POST /v1/devices": an inspector registers
// their own device and its Ed25519 public key.
func (s *Server) handleDeviceRegister(c echo.Context) error {
	var req syncproto.RegisterDeviceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d := &server.Device{Name: req.Name, PublicKey: req.PublicKey}
	if err := s.Devices.RegisterDevice(c.Request().Context(), d); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toDevice(d))
}

// handleDeviceView handles "GET /v1/devices/:id".
func (s *Server) handleDeviceView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := s.Devices.FindDeviceByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDevice(d))
}

// handleDeviceRevoke handles "POST /v1/devices/:id/revoke". Revoking a
// revoked device changes nothing and answers as the first time did.
func (s *Server) handleDeviceRevoke(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req RevokeDeviceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.Devices.RevokeDevice(c.Request().Context(), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDevice(d))
}
