package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Devices: the field devices an admin's department has (an inspector's
// own), revoking one, and taking in a device's export file.

type devicesData struct {
	Devices   []*server.Device
	Usernames map[int64]string
	CanManage bool
	Pager     pager
	Imported  *deviceImportView
	Form      *Form
	FormFor   int64 // the device whose form Form is
}

type deviceImportView struct {
	DeviceID                               int64
	Applied, Duplicate, Rejected, Deferred int
	Attachments                            int
	LastAppliedSeq                         uint64
	Rejections                             []syncproto.MutationResult
}

// handleDevices handles "GET /console/devices" (as GET /v1/devices).
func (p *Pages) handleDevices(c echo.Context) error {
	return p.renderDevices(c, http.StatusOK, devicesData{})
}

func (p *Pages) renderDevices(c echo.Context, status int, d devicesData) error {
	ctx := c.Request().Context()
	pageNo, offset := pageOf(c)
	ds, total, err := p.Devices.FindDevices(ctx, server.DeviceFilter{Offset: offset, Limit: adminPageSize})
	if err != nil {
		return err
	}
	me := server.UserFromContext(ctx)
	d.Devices, d.Pager, d.CanManage = ds, newPager(c, pageNo, total), isAdmin(me)
	d.Usernames = map[int64]string{me.ID: me.Username}
	for _, dev := range ds {
		if _, ok := d.Usernames[dev.UserID]; ok {
			continue
		}
		if u, err := p.Users.FindUserByID(ctx, dev.UserID); err == nil {
			d.Usernames[dev.UserID] = u.Username
		}
	}
	if d.Form == nil {
		d.Form = newForm(nil)
	}
	return p.render(c, status, "devices", &page{Title: "执法终端", Data: d})
}

// handleDeviceRevoke handles "POST /console/devices/:id/revoke" (as POST
// /v1/devices/:id/revoke), with a reason.
func (p *Pages) handleDeviceRevoke(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	form := newForm(nil)
	form.Values.Set("reason", reason)
	if reason == "" || len(reason) > 500 {
		form.Errors["reason"] = "请填写停用原因（不超过500字节）"
		return p.renderDevices(c, http.StatusBadRequest, devicesData{Form: form, FormFor: id})
	}
	dev, err := p.Devices.RevokeDevice(c.Request().Context(), id, reason)
	if err != nil {
		if code := server.ErrorCode(err); code == server.EINVALID || code == server.ECONFLICT {
			form.Errors["reason"] = errorText(err)
			return p.renderDevices(c, statusOf(code), devicesData{Form: form, FormFor: id})
		}
		return err
	}
	p.setFlash(c, "已停用终端："+dev.Name)
	return c.Redirect(http.StatusSeeOther, "/console/devices")
}

// handleDeviceImport handles "POST /console/devices/:id/import" (as POST
// /v1/devices/:id/import): the device's export file (spotcheck-field
// export), taken in as if the device had pushed it; the counts are shown.
func (p *Pages) handleDeviceImport(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := p.Devices.FindDeviceByID(ctx, id); err != nil {
		return err
	}
	form := newForm(nil)
	f := uploadFile(c)
	if f == nil {
		form.Errors["file"] = "请选择设备导出文件"
		return p.renderDevices(c, http.StatusBadRequest, devicesData{Form: form, FormFor: id})
	}
	if p.UploadDir == "" || p.Sync == nil {
		return server.Errorf(server.EUNAVAILABLE, "导入服务不可用 (imports are not available).")
	}
	if mt, _, _ := mime.ParseMediaType(f.ContentType); mt != "application/gzip" && mt != "application/x-gzip" && !strings.HasSuffix(strings.ToLower(f.Name), ".tar.gz") && !strings.HasSuffix(strings.ToLower(f.Name), ".tgz") {
		form.Errors["file"] = "请上传执法终端导出的 .tar.gz 文件"
		return p.renderDevices(c, http.StatusUnsupportedMediaType, devicesData{Form: form, FormFor: id})
	}
	dir, err := os.MkdirTemp(p.UploadDir, "import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	body := &bodyErrors{r: f.Body}
	exp, err := server.ReadDeviceExport(body, dir)
	if err == nil {
		var resp *syncproto.DeviceImportResponse
		if resp, err = p.Sync.ImportDeviceExport(ctx, id, exp); err == nil {
			v := &deviceImportView{DeviceID: id, Attachments: resp.Attachments, LastAppliedSeq: resp.LastAppliedSeq}
			for _, r := range resp.Results {
				switch r.Status {
				case syncproto.StatusApplied:
					v.Applied++
				case syncproto.StatusDuplicate:
					v.Duplicate++
				case syncproto.StatusRejected:
					v.Rejected++
					v.Rejections = append(v.Rejections, r)
				default:
					v.Deferred++
				}
			}
			return p.renderDevices(c, http.StatusOK, devicesData{Imported: v})
		}
	}
	if body.err != nil {
		err = uploadError(body.err)
	}
	code := server.ErrorCode(err)
	if code == server.EINTERNAL || code == server.EFORBIDDEN || code == server.ENOTFOUND {
		return err
	}
	form.Errors["file"] = errorText(err)
	return p.renderDevices(c, statusOf(code), devicesData{Form: form, FormFor: id})
}

// bodyErrors keeps the first read error of the upload that is not its end.
type bodyErrors struct {
	r   io.Reader
	err error
}

func (b *bodyErrors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}
