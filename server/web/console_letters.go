package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/pdf"
)

// The notification letters (告知书) of a campaign: the PDFs, the lead
// department's contact line and the materials each department asks for,
// the delivery record of each target (送达记录) and the targets not yet
// served. Every handler calls the services the JSON routes call
// (api/letters.go, api/print.go, PATCH /v1/campaigns/:id), behind the same
// role sets; the store decides which campaigns and targets the user may
// touch.

// proofFormLimit caps the delivery form: a proof of at most
// api.MaxProofBytes and the record's fields.
var proofFormLimit = middleware.BodyLimit(fmt.Sprintf("%dKiB", api.MaxProofBytes>>10+64)) // KiB: "K" is 1000

// consoleProofForm is console for the delivery form, read as a stream
// after the session and role checks: its fields (a few, each small) are
// kept in memory and its proof file is copied to a temporary file, so
// that neither a large file nor a large field is ever held in memory
// (Go's ParseMultipartForm keeps up to 10 MiB of fields in memory
// whatever its limit).
func (p *Pages) consoleProofForm(roles []server.Role) []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{pageHeaders("no-store"), proofFormLimit, p.requireSession, api.Allow(roles), p.spoolProofForm, p.csrf}
}

const proofFileKey = "web.proof"

// spooledProof is the delivery form's proof file, on disk.
type spooledProof struct {
	ContentType string
	File        *os.File
	Size        int64
}

// maxFormField bounds one field of the delivery form: a note of
// server.MaxDeliveryNote characters, of at most 4 bytes each, fits.
const maxFormField = 4*server.MaxDeliveryNote + 64

// spoolProofForm reads a multipart delivery form: at most 20 fields of at
// most maxFormField bytes, and the first "proof" file, of which at most
// api.MaxProofBytes+1 bytes are kept (StoreLetterProof refuses more), once
// the caller may record the campaign's deliveries. The temporary file is
// removed when the request ends, whatever happened.
func (p *Pages) spoolProofForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		if err != nil || mt != "multipart/form-data" {
			return next(c)
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
		}
		badForm := server.Errorf(server.EINVALID, "表单无效 (the form has too many or too long fields).")
		form := url.Values{}
		var proof *spooledProof
		defer func() {
			if proof != nil {
				proof.File.Close()
				os.Remove(proof.File.Name())
			}
		}()
		for fields := 0; ; {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return uploadError(err)
			}
			if part.FileName() != "" || part.FormName() == "proof" {
				if part.FormName() != "proof" || proof != nil {
					return badForm
				}
				// As the API's proof route: nothing is written for a
				// caller who may not record this campaign's deliveries.
				id, err := letterCampaignID(c)
				if err != nil {
					return err
				}
				if err := p.Letters.CanRecordDeliveries(r.Context(), id); err != nil {
					return err
				}
				if p.FreeDiskGate != nil {
					if err := p.FreeDiskGate(func(echo.Context) error { return nil })(c); err != nil {
						return err
					}
				}
				f, err := os.CreateTemp(p.UploadDir, "proof-form-*")
				if err != nil {
					return err
				}
				proof = &spooledProof{ContentType: part.Header.Get(echo.HeaderContentType), File: f}
				if proof.Size, err = io.Copy(f, io.LimitReader(part, api.MaxProofBytes+1)); err != nil {
					return uploadError(err)
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return err
				}
				continue
			}
			if fields++; fields > 20 {
				return badForm
			}
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return uploadError(err)
			}
			if len(b) > maxFormField {
				return badForm
			}
			form.Add(part.FormName(), string(b))
		}
		r.Form, r.PostForm = form, form
		if proof != nil {
			c.Set(proofFileKey, proof)
		}
		return next(c)
	}
}

// lettersPath is the letters page of campaign id.
func lettersPath(id int64) string { return fmt.Sprintf("/console/campaigns/%d/letters", id) }

// letterTargetPath is the delivery page of one target.
func letterTargetPath(id int64, code string) string {
	return lettersPath(id) + "/targets/" + url.PathEscape(code)
}

// noLettersText answers what needs the letters before the packets exist.
const noLettersText = "检查包下发后才能出具和送达告知书。"

// deptMaterials is one participating department and what it asks the
// targets to prepare, with its form on a draft.
type deptMaterials struct {
	ID    int64
	Code  string
	Name  string
	Lead  bool
	Items []string
	Form  *Form
}

// letterTarget is a target of the campaign and its current delivery record.
type letterTarget struct {
	CreditCode, Name, Address string
	TeamNumber                int
	Current                   *server.LetterDelivery
}

// lettersData is the letters page's.
type lettersData struct {
	Campaign *server.Campaign
	// CanRun: the user may set the contact and record deliveries (the
	// store checks again).
	CanRun bool
	Draft  bool
	Issued bool
	// Committed: the materials shown are the manifest's, frozen.
	Committed   bool
	Departments []deptMaterials
	ContactForm *Form
	Targets     []letterTarget
	Served      int
	Unserved    []*server.UnservedTarget
	// UnservedNote says why there is no list (before the packets).
	UnservedNote string
	// Message is an error of a form the page does not show.
	Message string
}

// canRunLetters mirrors the store's rule for running a campaign, to show its forms.
func canRunLetters(u *server.User, c *server.Campaign) bool {
	return u.Role == server.RolePlatformAdmin || u.Role == server.RoleLeadCoordinator && u.InDepartment(c.LeadDepartmentID)
}

// handleLetters handles "GET /console/campaigns/:id/letters".
func (p *Pages) handleLetters(c echo.Context) error {
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	return p.renderLetters(c, id, http.StatusOK, nil, 0, nil)
}

// renderLetters shows the letters page; contact, or the materials form of
// department dept, is a form sent back with its errors.
func (p *Pages) renderLetters(c echo.Context, id int64, status int, contact *Form, dept int64, materials *Form) error {
	ctx := c.Request().Context()
	cp, err := p.Campaigns.FindCampaignByID(ctx, id) // GET /v1/campaigns/:id
	if err != nil {
		return err
	}
	d := lettersData{
		Campaign: cp, CanRun: canRunLetters(server.UserFromContext(ctx), cp), Draft: cp.Status == server.CampaignDraft,
		Issued: cp.PacketsIssuedAt != nil, Committed: cp.CommittedAt != nil, ContactForm: contact,
	}
	if d.ContactForm == nil {
		d.ContactForm = newForm(url.Values{"office": {cp.Contact.Office}, "phone": {cp.Contact.Phone}})
	}
	if d.Departments, err = p.letterMaterials(c, cp); err != nil {
		return err
	}
	for i := range d.Departments {
		if dm := &d.Departments[i]; dm.ID == dept && materials != nil {
			dm.Form, materials = materials, nil
		} else {
			dm.Form = newForm(url.Values{"items": {strings.Join(dm.Items, "\n")}})
		}
	}
	if materials != nil { // sent for a department that does not take part
		d.Message = materials.Err("items")
	}
	if d.Issued {
		if d.Targets, d.Served, err = p.letterTargets(c, id); err != nil {
			return err
		}
	}
	// GET /v1/campaigns/:id/letters/unserved: 409 before the packets.
	d.Unserved, err = p.Letters.FindUnservedTargets(ctx, id)
	if server.ErrorCode(err) == server.ECONFLICT {
		d.UnservedNote, err = noLettersText, nil
	}
	if err != nil {
		return err
	}
	return p.render(c, status, "letters", &page{Title: "告知书与送达", Data: d})
}

// letterMaterials lists the participating departments, the lead first,
// with their materials: the draft's, or once committed the manifest's
// (what the letters print).
func (p *Pages) letterMaterials(c echo.Context, cp *server.Campaign) ([]deptMaterials, error) {
	ctx := c.Request().Context()
	depts, err := p.Departments.FindDepartments(ctx)
	if err != nil {
		return nil, err
	}
	var out []deptMaterials
	for _, d := range depts {
		if slices.Contains(cp.DepartmentIDs, d.ID) {
			out = append(out, deptMaterials{ID: d.ID, Code: d.Code, Name: d.Name, Lead: d.ID == cp.LeadDepartmentID})
		}
	}
	// The lead department first, then the others as listed.
	slices.SortStableFunc(out, func(a, b deptMaterials) int {
		switch {
		case a.Lead == b.Lead:
			return 0
		case a.Lead:
			return -1
		}
		return 1
	})
	set := func(match func(deptMaterials) bool, items []string) {
		if i := slices.IndexFunc(out, match); i >= 0 {
			out[i].Items = items
		}
	}
	if cp.CommittedAt == nil {
		for _, m := range cp.Materials {
			set(func(d deptMaterials) bool { return d.ID == m.DepartmentID }, m.Items)
		}
		return out, nil
	}
	ms, err := p.Letters.FindManifestMaterials(ctx, cp.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		set(func(d deptMaterials) bool { return d.Code == m.DepartmentCode }, m.Items)
	}
	return out, nil
}

// letterTargets lists the campaign's targets (its packets) with their
// current delivery records, and how many are served.
func (p *Pages) letterTargets(c echo.Context, id int64) ([]letterTarget, int, error) {
	ctx := c.Request().Context()
	ps, err := p.Campaigns.FindPackets(ctx, id) // GET /v1/campaigns/:id/packets
	if err != nil {
		return nil, 0, err
	}
	ds, err := p.Letters.FindDeliveries(ctx, id, "") // GET /v1/campaigns/:id/letters/deliveries
	if err != nil {
		return nil, 0, err
	}
	current := map[string]*server.LetterDelivery{}
	for _, d := range ds {
		if d.Current {
			current[d.CreditCode] = d
		}
	}
	out := make([]letterTarget, len(ps))
	for i, pk := range ps {
		e := pk.Content.Enterprise
		out[i] = letterTarget{CreditCode: pk.CreditCode, Name: e.Name, Address: e.Address, TeamNumber: pk.TeamNumber, Current: current[pk.CreditCode]}
	}
	slices.SortFunc(out, func(a, b letterTarget) int { return strings.Compare(a.CreditCode, b.CreditCode) })
	return out, len(current), nil
}

// handleLetterContact handles "POST /console/campaigns/:id/letters/contact":
// the contact line, as PATCH /v1/campaigns/:id with contact only (allowed
// after the commit too). Both fields empty clears it.
func (p *Pages) handleLetterContact(c echo.Context) error {
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	f := newForm(url.Values{"office": {c.FormValue("office")}, "phone": {c.FormValue("phone")}})
	ct := server.LeadContact{Office: f.Get("office"), Phone: f.Get("phone")}
	if _, err := p.Campaigns.UpdateCampaign(c.Request().Context(), id, server.CampaignUpdate{Contact: &ct}); err != nil {
		if !letterFormError(err) {
			return err
		}
		msg := errorText(err)
		switch {
		case strings.HasPrefix(msg, "联系电话"):
			f.Errors["phone"] = msg
		case strings.HasPrefix(msg, "联系部门"):
			f.Errors["office"] = msg
		default:
			f.Message = msg
		}
		return p.renderLetters(c, id, statusOf(server.ErrorCode(err)), f, 0, nil)
	}
	if ct.IsZero() {
		p.setFlash(c, "已清除告知书上的联系方式")
	} else {
		p.setFlash(c, "已保存告知书上的联系方式")
	}
	return c.Redirect(http.StatusSeeOther, lettersPath(id))
}

// handleLetterMaterials handles "POST /console/campaigns/:id/letters/materials":
// one department's materials (one a line), as PATCH /v1/campaigns/:id with
// the draft's materials where only that department's change.
func (p *Pages) handleLetterMaterials(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	var dept int64
	if _, err := fmt.Sscan(c.FormValue("department_id"), &dept); err != nil || dept <= 0 {
		return server.Errorf(server.EINVALID, "部门编号无效 (department_id is invalid).")
	}
	f := newForm(url.Values{"items": {c.FormValue("items")}})
	var items []string
	for line := range strings.SplitSeq(f.Get("items"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			items = append(items, line)
		}
	}
	cp, err := p.Campaigns.FindCampaignByID(ctx, id)
	if err != nil {
		return err
	}
	ms := []server.CampaignMaterials{{DepartmentID: dept, Items: items}}
	for _, m := range cp.Materials {
		if m.DepartmentID != dept {
			ms = append(ms, m)
		}
	}
	if _, err := p.Campaigns.UpdateCampaign(ctx, id, server.CampaignUpdate{Materials: &ms}); err != nil {
		if !letterFormError(err) {
			return err
		}
		f.Errors["items"] = errorText(err)
		return p.renderLetters(c, id, statusOf(server.ErrorCode(err)), nil, dept, f)
	}
	p.setFlash(c, "已保存材料清单")
	return c.Redirect(http.StatusSeeOther, lettersPath(id))
}

// letterFormError reports whether err is one a form shows next to its fields:
// a bad value or a state that forbids the change, not a missing object.
func letterFormError(err error) bool {
	switch server.ErrorCode(err) {
	case server.EINVALID, server.ECONFLICT, server.ETOOLARGE, server.EUNSUPPORTED, server.EREFUSED:
		return true
	}
	return false
}

// handleLettersPDF handles "GET /console/campaigns/:id/letters.pdf" with
// ?target=CREDIT: the PDF GET /v1/campaigns/:id/letters.pdf serves, read
// with the session's user.
func (p *Pages) handleLettersPDF(c echo.Context) error {
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	target := c.QueryParam("target")
	src := &pdf.Sources{Campaigns: p.Campaigns, Sync: p.Sync, Blobs: p.Blobs, Departments: p.Departments, Letters: p.Letters, PublicURL: p.PublicURL}
	l, err := src.LoadLetters(c.Request().Context(), id, target)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pdf.WriteLetters(&buf, l); err != nil {
		return err
	}
	name := fmt.Sprintf("letters-%d.pdf", id)
	if target != "" {
		name = fmt.Sprintf("letter-%d-%s.pdf", id, target)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// letterTargetData is a target's delivery page.
type letterTargetData struct {
	Campaign *server.Campaign
	Target   letterTarget
	// History is every record of the target, oldest first.
	History []*server.LetterDelivery
	CanRun  bool
	Methods []server.DeliveryMethod
	// ProofSHA256 is a proof uploaded with a form that was refused: kept
	// so the file need not be sent again.
	ProofSHA256 string
}

var deliveryMethods = []server.DeliveryMethod{server.DeliveryInPerson, server.DeliveryPost, server.DeliveryElectronic}

// handleLetterTarget handles "GET /console/campaigns/:id/letters/targets/:credit_code".
func (p *Pages) handleLetterTarget(c echo.Context) error {
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	return p.renderLetterTarget(c, id, c.Param("credit_code"), http.StatusOK, nil)
}

func (p *Pages) renderLetterTarget(c echo.Context, id int64, code string, status int, f *Form) error {
	ctx := c.Request().Context()
	cp, err := p.Campaigns.FindCampaignByID(ctx, id)
	if err != nil {
		return err
	}
	if cp.PacketsIssuedAt == nil {
		return server.Errorf(server.ECONFLICT, noLettersText)
	}
	ts, _, err := p.letterTargets(c, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ts, func(t letterTarget) bool { return t.CreditCode == code })
	if i < 0 {
		return server.Errorf(server.ENOTFOUND, "抽查对象不在该抽查中 (target not in this campaign).")
	}
	hist, err := p.Letters.FindDeliveries(ctx, id, code)
	if err != nil {
		return err
	}
	d := letterTargetData{Campaign: cp, Target: ts[i], History: hist, CanRun: canRunLetters(server.UserFromContext(ctx), cp), Methods: deliveryMethods}
	if f == nil {
		f = newForm(nil)
		if cur := ts[i].Current; cur != nil {
			f.Values.Set("delivered_on", cur.DeliveredOn.String())
			f.Values.Set("method", string(cur.Method))
			f.Values.Set("note", cur.Note)
			if cur.ProofSHA256 != "" {
				f.Values.Set("keep_proof", "1")
			}
		}
	}
	d.ProofSHA256 = f.Get("proof_sha256")
	title := "送达记录 · " + ts[i].Name
	return p.render(c, status, "letters_target", &page{Title: title, Form: f, Data: d})
}

// deliveryFields place the service's refusals of a delivery record next to
// the field they are about, by the start of their Chinese message.
var deliveryFields = []fieldWord{
	{"须指定送达日期", "delivered_on", false},
	{"送达日期", "delivered_on", false},
	{"送达方式", "method", false},
	{"送达回证", "proof", false},
	{"该对象的送达已于", "correction_reason", false},
	{"该对象尚无送达记录", "correction_reason", false},
}

// handleLetterDelivery handles "POST /console/campaigns/:id/letters/targets/:credit_code":
// a multipart form with the record's fields and an optional proof file
// (PDF, JPEG or PNG, at most api.MaxProofBytes), stored as the proof route
// stores it, then recorded as POST /v1/campaigns/:id/letters/deliveries
// records it.
func (p *Pages) handleLetterDelivery(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	code := c.Param("credit_code")
	f := newForm(url.Values{})
	for _, k := range []string{"delivered_on", "method", "note", "correction_reason", "keep_proof", "proof_sha256", "current_proof"} {
		f.Values.Set(k, c.FormValue(k))
	}
	fail := func(err error) error {
		if !letterFormError(err) {
			return err
		}
		if err := fieldError(f, err, deliveryFields); err != nil {
			return err
		}
		return p.renderLetterTarget(c, id, code, statusOf(server.ErrorCode(err)), f)
	}
	d := &server.LetterDelivery{
		CampaignID: id, CreditCode: code, Method: server.DeliveryMethod(f.Get("method")),
		Note: f.Get("note"), CorrectionReason: f.Get("correction_reason"),
	}
	if v := strings.TrimSpace(f.Get("delivered_on")); v != "" {
		if d.DeliveredOn, err = server.ParseDate(v); err != nil {
			f.Errors["delivered_on"] = "送达日期格式应为年-月-日，如2026-11-02。"
			return p.renderLetterTarget(c, id, code, http.StatusBadRequest, f)
		}
	}
	// The proof: a new file, else one uploaded with a refused try, else
	// the current record's when it is kept.
	fh, _ := c.Get(proofFileKey).(*spooledProof)
	switch {
	case fh != nil && fh.Size > 0:
		b, err := p.storeProof(c, id, fh)
		if err != nil {
			// In Chinese only: the formats are named beside the field.
			switch code := server.ErrorCode(err); code {
			case server.EREFUSED, server.EUNSUPPORTED:
				err = server.Errorf(code, "送达回证须为有效的扫描文档或图片文件（格式见上），该文件未予保存。")
			case server.ETOOLARGE:
				err = server.Errorf(code, "送达回证文件不得超过%d兆字节。", api.MaxProofBytes>>20)
			}
			return fail(err)
		}
		d.ProofSHA256 = b.SHA256
	case f.Get("proof_sha256") != "":
		d.ProofSHA256 = f.Get("proof_sha256")
	case f.Get("keep_proof") != "":
		d.ProofSHA256 = f.Get("current_proof")
	}
	f.Values.Set("proof_sha256", d.ProofSHA256)
	if d.ProofSHA256 != "" && d.ProofSHA256 == f.Get("current_proof") {
		f.Values.Del("proof_sha256") // kept with the checkbox, not a new upload
	}
	created, err := p.Letters.RecordDelivery(ctx, d)
	if err != nil {
		return fail(err)
	}
	switch {
	case !created:
		p.setFlash(c, "送达记录与当前记录相同，未作更改")
	case d.Version > 1:
		p.setFlash(c, fmt.Sprintf("已更正送达记录（第%d版）", d.Version))
	default:
		p.setFlash(c, "已记录送达")
	}
	return c.Redirect(http.StatusSeeOther, letterTargetPath(id, code))
}

// storeProof keeps an uploaded proof as the API's proof route does. The
// type is the one the browser gives the file, or, when it gives none of
// the three, the one its first bytes show; the bytes are checked against
// it either way.
func (p *Pages) storeProof(c echo.Context, id int64, fh *spooledProof) (*server.Blob, error) {
	file := fh.File
	ct := fh.ContentType
	if !isProofType(ct) {
		head := make([]byte, 512)
		n, _ := io.ReadFull(file, head)
		ct = http.DetectContentType(head[:n])
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return p.StoreLetterProof(c.Request().Context(), id, ct, file)
}

func isProofType(ct string) bool {
	return ct == "application/pdf" || ct == "image/png" || ct == "image/jpeg"
}

// handleLetterProof handles "GET /console/campaigns/:id/letters/proof?sha256=":
// the file GET /v1/campaigns/:id/letters/proofs serves.
func (p *Pages) handleLetterProof(c echo.Context) error {
	id, err := letterCampaignID(c)
	if err != nil {
		return err
	}
	sha := c.QueryParam("sha256")
	b, f, err := p.Letters.OpenProof(c.Request().Context(), id, sha)
	if err != nil {
		return err
	}
	defer f.Close()
	ext := map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[b.ContentType]
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, b.ContentType)
	h.Set(echo.HeaderContentDisposition, `attachment; filename="proof-`+sha[:12]+ext+`"`)
	h.Set("ETag", `"`+b.SHA256+`"`)
	http.ServeContent(c.Response(), c.Request(), "", b.CreatedAt, f)
	return nil
}

// letterCampaignID is the campaign id of the path.
func letterCampaignID(c echo.Context) (int64, error) {
	var id int64
	if _, err := fmt.Sscan(c.Param("id"), &id); err != nil || id <= 0 || fmt.Sprint(id) != c.Param("id") {
		return 0, server.Errorf(server.ENOTFOUND, "抽查任务不存在 (campaign not found).")
	}
	return id, nil
}
