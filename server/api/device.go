package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

func (s *Server) deviceRoutes(g *echo.Group) {
	g.GET("", s.handleDeviceIndex, allow(anyRole))
	g.POST("", s.handleDeviceRegister, allow(fieldOnly))
	g.GET("/:id", s.handleDeviceView, allow(anyRole))
	g.POST("/:id/revoke", s.handleDeviceRevoke, allow(adminOnly))
}

// deviceImportRoutes registers the import of a device's export. It sits
// outside the devices group, whose body limit is for JSON: the archive gets
// the imports' limit.
func (s *Server) deviceImportRoutes(v1 *echo.Group) {
	v1.POST("/devices/:id/import", s.handleDeviceImport, middleware.BodyLimit(sizeString(ImportBodyLimit)), allow(adminOnly), s.requireFreeDisk)
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

// handleDeviceImport handles "POST /v1/devices/:id/import": the body is a
// device's export archive (application/gzip, syncproto.ExportFormat), as the
// SDK's Export writes it on a device that can no longer sync. Those who may
// revoke the device may take its unsynced work in; the archive is read as
// it arrives, its attachments spooled to files beside the uploads (the same
// file system as the blob store), and checked whole before anything is
// written.
func (s *Server) handleDeviceImport(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if s.UploadDir == "" || s.Sync == nil {
		return server.Errorf(server.EUNAVAILABLE, "导入服务不可用 (imports are not available).")
	}
	// Someone who may not see the device learns nothing more than that it
	// is not there, whatever they send.
	if _, err := s.Devices.FindDeviceByID(ctx, id); err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); err != nil || mt != "application/gzip" && mt != "application/x-gzip" {
		return server.Errorf(server.EUNSUPPORTED, "请上传设备导出文件 (Content-Type must be application/gzip, a device's export archive).")
	}
	dir, err := os.MkdirTemp(s.UploadDir, "import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	body := &readErrors{r: c.Request().Body}
	exp, err := server.ReadDeviceExport(body, dir)
	if err != nil {
		if body.err != nil {
			return importError(body.err) // the body itself failed: too large, or cut off
		}
		return err
	}
	resp, err := s.Sync.ImportDeviceExport(ctx, id, exp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// readErrors remembers the first error, other than the end, reading r
// failed with, so a failure of the body is not taken for a bad archive.
type readErrors struct {
	r   io.Reader
	err error
}

func (b *readErrors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}
