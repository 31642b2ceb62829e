package web

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/pdf"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The joint record (一企一表) of a packet as the reviewer reads it: each
// department's sealed section with its answers, notes, photos, the
// certificates shown and its correction history; the closes with the
// signatures, the stamp and the refusal note; and the flags. It is what
// GET /v1/packets/:id/record serves, with the packet's item titles and
// inspector names put in. Pictures are served by /console/attachments/SHA,
// under the API's rule for attachments (BlobService.OpenBlob).

// recordView is a joint record ready for the template.
type recordView struct {
	Packet   *server.Packet
	Record   *syncproto.JointRecord
	Sections []sectionView
	Closes   []closeView
	Flags    []flagView

	names map[int64]string  // inspector id → name, from the packet's team
	depts map[string]string // department code → name
	items map[string]string // department/item code → title
}

type sectionView struct {
	Department, DepartmentName string
	Current                    *sealedView
	Older                      []sealedView // earlier versions, newest first
	Covered                    bool
}

type sealedView struct {
	Version, Replaces    int
	CorrectionReason     string
	SealedBy             string
	SealedAt, ReceivedAt time.Time
	Hash                 string
	Answers              []answerView
	Certificates         []certificateView
	Flags                []flagView
}

type answerView struct {
	ItemCode, Title, Result, Value, Note string
	Photos                               []string
}

type certificateView struct{ Name, Number string }

type closeView struct {
	Outcome, Note, CapturedBy string
	ClosedAt, ReceivedAt      time.Time
	Hash                      string
	Signatures                []signatureView
	Stamp                     string
	Location                  *syncproto.Location
	Covers                    []string // "文化部分第1版"
	Flags                     []flagView
}

type signatureView struct{ Role, Name, Image string }

// flagView is a flag in Chinese, the department named by its name.
type flagView struct{ Code, Label, Message string }

// loadRecord reads packet id and its joint record as the user; nil when the
// user may not read the packet (its result may still be theirs to see).
func (p *Pages) loadRecord(c echo.Context, packetID string) (*recordView, error) {
	ctx := c.Request().Context()
	pk, err := p.Campaigns.FindPacketByID(ctx, packetID)
	if server.ErrorCode(err) == server.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	jr, err := p.Sync.FindJointRecord(ctx, packetID)
	if server.ErrorCode(err) == server.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rv := &recordView{Packet: pk, Record: jr, names: map[int64]string{}, depts: map[string]string{}, items: map[string]string{}}
	if ds, err := p.Departments.FindDepartments(ctx); err == nil {
		for _, d := range ds {
			rv.depts[d.Code] = d.Name
		}
	}
	for _, m := range pk.Content.Team {
		rv.names[m.InspectorID] = m.Name
	}
	for _, s := range pk.Content.Sections {
		for _, it := range s.Items {
			rv.items[s.Department+"/"+it.Code] = it.Title
		}
	}
	for _, js := range jr.Sections {
		sv := sectionView{Department: js.Department, DepartmentName: rv.deptName(js.Department), Covered: len(js.CoveredBy) > 0}
		if js.Current != nil {
			cur := rv.sealed(js.Current)
			sv.Current = &cur
			for i := len(js.History) - 2; i >= 0; i-- {
				sv.Older = append(sv.Older, rv.sealed(&js.History[i]))
			}
		}
		rv.Sections = append(rv.Sections, sv)
	}
	for i := range jr.Closes {
		rv.Closes = append(rv.Closes, rv.close(&jr.Closes[i]))
	}
	rv.Flags = rv.flags(jr.Flags)
	return rv, nil
}

func (rv *recordView) deptName(code string) string {
	if n, ok := rv.depts[code]; ok {
		return n
	}
	return code
}

func (rv *recordView) inspector(id int64) string {
	if n, ok := rv.names[id]; ok {
		return n
	}
	return "执法人员 #" + strconv.FormatInt(id, 10)
}

func (rv *recordView) sealed(s *syncproto.SealedSection) sealedView {
	sec := s.Section
	v := sealedView{Version: sec.Version, Replaces: sec.Replaces, CorrectionReason: sec.CorrectionReason,
		SealedBy: rv.inspector(sec.InspectorID), SealedAt: sec.SealedAt, ReceivedAt: s.ReceivedAt, Hash: s.Hash,
		Flags: rv.flags(s.Flags)}
	for _, a := range sec.Answers {
		av := answerView{ItemCode: a.ItemCode, Title: rv.items[sec.Department+"/"+a.ItemCode], Result: a.Result, Value: a.Value, Note: a.Note}
		for _, ph := range a.Photos {
			av.Photos = append(av.Photos, ph.SHA256)
		}
		v.Answers = append(v.Answers, av)
	}
	for _, cs := range sec.Certificates {
		v.Certificates = append(v.Certificates, certificateView{Name: rv.inspector(cs.InspectorID), Number: cs.CertificateNumber})
	}
	return v
}

func (rv *recordView) close(c *syncproto.SealedClose) closeView {
	r := c.Record
	v := closeView{Outcome: r.Close.Outcome, Note: r.Close.Note, CapturedBy: rv.inspector(r.InspectorID),
		ClosedAt: r.ClosedAt, ReceivedAt: c.ReceivedAt, Hash: c.Hash, Location: r.Close.Location, Flags: rv.flags(c.Flags)}
	for _, s := range r.Close.Signatures {
		v.Signatures = append(v.Signatures, signatureView{Role: s.Role, Name: s.Name, Image: s.Image.SHA256})
	}
	if r.Close.Stamp != nil {
		v.Stamp = r.Close.Stamp.SHA256
	}
	for _, ref := range r.Covers {
		v.Covers = append(v.Covers, rv.deptName(ref.Department)+"部分第"+strconv.Itoa(ref.Version)+"版")
	}
	return v
}

// flags puts flags in Chinese: the message's Chinese part, with the
// department's name for its code.
func (rv *recordView) flags(fs []syncproto.RecordFlag) []flagView {
	var out []flagView
	for _, f := range fs {
		msg := chinese(f.Message)
		if f.Department != "" {
			msg = strings.ReplaceAll(msg, f.Department, rv.deptName(f.Department))
		}
		out = append(out, flagView{Code: f.Code, Label: flagLabel(f.Code), Message: msg})
	}
	return out
}

// handleAttachment handles "GET /console/attachments/:id": an attachment
// (a photo, a signature, a stamp) by SHA-256, to a user who may read a
// packet that references it (BlobService.OpenBlob, as GET
// /v1/attachments/:id); to anyone else it does not exist.
func (p *Pages) handleAttachment(c echo.Context) error {
	sha := c.Param("id")
	if !syncproto.ValidSHA256(sha) {
		return server.Errorf(server.ENOTFOUND, "附件不存在 (attachment not found).")
	}
	b, f, err := p.Blobs.OpenBlob(c.Request().Context(), sha)
	if err != nil {
		return err
	}
	defer f.Close()
	return serveStoredImage(c, b, f)
}

// handleEvidence handles "GET /console/evidence/*" for "ID/SHA256": an
// evidence image of follow-up ID, to a user who may see the task
// (FollowUpService.OpenEvidence, as GET /v1/followups/:id/evidence).
func (p *Pages) handleEvidence(c echo.Context) error {
	idText, sha, ok := strings.Cut(c.Param("*"), "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || !syncproto.ValidSHA256(sha) {
		return server.Errorf(server.ENOTFOUND, "附件不存在 (evidence not found).")
	}
	b, f, err := p.FollowUps.OpenEvidence(c.Request().Context(), id, sha)
	if err != nil {
		return err
	}
	defer f.Close()
	return serveStoredImage(c, b, f)
}

// serveStoredImage streams a stored image, never cached: a signed-out browser
// must not keep showing it.
func serveStoredImage(c echo.Context, b *server.Blob, f io.ReadSeeker) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, b.ContentType)
	h.Set(echo.HeaderCacheControl, "private, no-store")
	h.Set(echo.HeaderContentDisposition, "inline")
	http.ServeContent(c.Response(), c.Request(), "", b.CreatedAt, f)
	return nil
}

// handleRecordPDF handles "GET /console/packets/:id/record.pdf": the
// printed joint record, as GET /v1/packets/:id/record.pdf, for whoever may
// read the packet.
func (p *Pages) handleRecordPDF(c echo.Context) error {
	id := c.Param("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return server.Errorf(server.ENOTFOUND, "检查包不存在 (packet not found).")
	}
	src := &pdf.Sources{Campaigns: p.Campaigns, Sync: p.Sync, Blobs: p.Blobs, Departments: p.Departments}
	r, err := src.LoadRecord(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pdf.WriteRecord(&buf, r); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="record-`+id+`.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}
