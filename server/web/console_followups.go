package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Follow-ups (谁管辖、谁负责): the tasks an approved result with problems
// opens, as GET /v1/followups serves them, and each task's page where the
// department's admin assigns it, the assignee works it (logging actions
// with evidence images) and asks for closure, and a second person closes
// it or refuses. Every step calls FollowUpService as the signed-in user,
// so the store decides who may take it.

// evidenceLimit caps the body of the action form: its images together
// are at most one attachment's size.
var evidenceLimit = middleware.BodyLimit(strconv.Itoa((syncproto.MaxAttachmentBytes+1<<20)>>10) + "K")

// followUpsData is the list's.
type followUpsData struct {
	State   string
	Overdue bool
	States  []string
	Rows    []followUpRow
}

type followUpRow struct {
	server.FollowUp
	Assignee template.HTML
}

// handleFollowUps handles "GET /console/followups?state=&overdue=1".
func (p *Pages) handleFollowUps(c echo.Context) error {
	ctx := c.Request().Context()
	var f server.FollowUpFilter
	d := followUpsData{States: server.FollowUpStates}
	if v := c.QueryParam("state"); v != "" {
		if !slices.Contains(server.FollowUpStates, v) {
			return server.Errorf(server.EINVALID, "未知的任务状态 (unknown state).")
		}
		f.State, d.State = &v, v
	}
	switch c.QueryParam("overdue") {
	case "":
	case "1":
		f.Overdue, d.Overdue = true, true
	default:
		return server.Errorf(server.EINVALID, "逾期筛选无效 (overdue must be 1).")
	}
	campaign, err := parseQueryID(c, "campaign_id")
	if err != nil {
		return err
	}
	f.CampaignID = campaign
	fs, err := p.FollowUps.FindFollowUps(ctx, f)
	if err != nil {
		return err
	}
	for _, fu := range fs {
		d.Rows = append(d.Rows, followUpRow{FollowUp: fu, Assignee: p.personLabel(c, fu.AssigneeID)})
	}
	return p.render(c, http.StatusOK, "followups", &page{Title: "后续处理", Data: d})
}

// followUpData is a task's page.
type followUpData struct {
	F        *server.FollowUp
	Assignee template.HTML
	Log      []followUpLogEntry
	// Assignees: whom the admin may assign (the department's active
	// inspectors and admins).
	Assignees []*server.User
	// The forms shown, by role and state; the service decides the rest.
	CanAssign, CanStart, CanNote, CanRequest, CanDecide bool
	EvidenceMax                                         int
}

type followUpLogEntry struct {
	server.FollowUpRecord
	Actor template.HTML
	Note  template.HTML // the entry's text; an assignment's names the assignee
}

// logNote is an entry's text for the page: the store words an assignment
// "指派给USERNAME (assigned to USERNAME)", shown as 指派给 and the username.
func logNote(a server.FollowUpRecord) template.HTML {
	if a.Kind == server.FollowUpActionAssign {
		if who, ok := strings.CutPrefix(chinese(a.Text), "指派给"); ok {
			return template.HTML("指派给" + `<span translate="no">` + template.HTMLEscapeString(who) + "</span>")
		}
	}
	return template.HTML(template.HTMLEscapeString(a.Text))
}

// handleFollowUp handles "GET /console/followups/:id".
func (p *Pages) handleFollowUp(c echo.Context) error {
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	return p.renderFollowUp(c, id, http.StatusOK, nil)
}

func (p *Pages) renderFollowUp(c echo.Context, id int64, status int, form *Form) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	f, err := p.FollowUps.FindFollowUpByID(ctx, id)
	if err != nil {
		return err
	}
	d := followUpData{F: f, Assignee: p.personLabel(c, f.AssigneeID), EvidenceMax: syncproto.MaxAttachmentBytes >> 20}
	for _, a := range f.Actions {
		actor := a.ActorID
		d.Log = append(d.Log, followUpLogEntry{FollowUpRecord: a, Actor: p.personLabel(c, &actor), Note: logNote(a)})
	}
	admin := slices.Contains(api.DeptAdmins, u.Role)
	staff := slices.Contains(api.DeptStaff, u.Role)
	_, assignable := server.NextFollowUpState(f.State, server.FollowUpActionAssign)
	d.CanAssign = admin && assignable == nil
	d.CanStart = staff && f.State == server.FollowUpStateOpen
	d.CanNote = staff && f.State != server.FollowUpStateClosed
	d.CanRequest = staff && f.State == server.FollowUpStateInProgress
	d.CanDecide = admin && f.State == server.FollowUpStateClosureRequested
	if d.CanAssign {
		us, _, err := p.Users.FindUsers(ctx, server.UserFilter{DepartmentID: &f.DepartmentID, Limit: 500})
		if err != nil {
			return err
		}
		for _, x := range us {
			if server.CheckFollowUpAssignee(x, f.DepartmentID) == nil {
				d.Assignees = append(d.Assignees, x)
			}
		}
	}
	if form == nil {
		form = newForm(nil)
		if f.AssigneeID != nil {
			form.Values.Set("assignee_id", strconv.FormatInt(*f.AssigneeID, 10))
		}
	}
	return p.render(c, status, "followup", &page{Title: f.EnterpriseName + " · 后续处理", Data: d, Form: form})
}

// followUpStep runs one step of a task from its form: a 303 with a flash
// on success, else the task's page with the message next to the form
// (named by action) and the values kept.
func (p *Pages) followUpStep(action string, do func(c echo.Context, id int64, f *Form) error, done string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parsePathID(c)
		if err != nil {
			return err
		}
		vals, err := c.FormParams()
		if err != nil {
			return server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
		}
		form := newForm(url.Values{})
		for k, v := range vals {
			if k != csrfField {
				form.Values[k] = v
			}
		}
		if err := do(c, id, form); err != nil || len(form.Errors) > 0 {
			status := http.StatusBadRequest
			if err != nil {
				code := server.ErrorCode(err)
				if code == server.EINTERNAL {
					return err
				}
				status = statusOf(code)
				var fe *evidenceFieldError
				if errors.As(err, &fe) {
					form.Errors[fe.field] = fe.prefix + errorText(fe.err)
				} else {
					form.Errors[action] = errorText(err)
				}
			}
			return p.renderFollowUp(c, id, status, form)
		}
		p.setFlash(c, done)
		return c.Redirect(http.StatusSeeOther, "/console/followups/"+strconv.FormatInt(id, 10))
	}
}

// evidenceFieldError is a service's error about one field of a form: shown next to
// it, with the service's status.
type evidenceFieldError struct {
	field, prefix string
	err           error
}

func (e *evidenceFieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *evidenceFieldError) Unwrap() error { return e.err }

// handleFollowUpAssign handles "POST /console/followups/:id/assign": assignee_id.
func (p *Pages) handleFollowUpAssign() echo.HandlerFunc {
	return p.followUpStep("assign", func(c echo.Context, id int64, f *Form) error {
		who, err := strconv.ParseInt(f.Get("assignee_id"), 10, 64)
		if err != nil || who <= 0 {
			f.Errors["assignee_id"] = "请选择承办人"
			return nil
		}
		_, err = p.FollowUps.AssignFollowUp(c.Request().Context(), id, who)
		return err
	}, "已指派承办人")
}

// followUpEntryStep is a step whose form is a text (needed or not).
func (p *Pages) followUpEntryStep(action server.FollowUpAction, field string, needText bool, done string) echo.HandlerFunc {
	return p.followUpStep(string(action), func(c echo.Context, id int64, f *Form) error {
		text := strings.TrimSpace(f.Get(field))
		if needText && text == "" {
			f.Errors[field] = "请填写说明"
			return nil
		}
		_, err := p.FollowUps.ActOnFollowUp(c.Request().Context(), id, action, server.FollowUpEntry{Text: text, Evidence: []string{}})
		return err
	}, done)
}

// handleFollowUpNote handles "POST /console/followups/:id/actions": a
// multipart form with the action's text and up to MaxFollowUpEvidence
// images, each stored as the API's evidence route stores one
// (api.Services.AddFollowUpEvidence: JPEG or PNG, size-limited, content
// checked) before the entry that cites them is logged.
func (p *Pages) handleFollowUpNote() echo.HandlerFunc {
	return p.followUpStep(string(server.FollowUpActionNote), func(c echo.Context, id int64, f *Form) error {
		ctx := c.Request().Context()
		text := strings.TrimSpace(f.Get("text"))
		if text == "" {
			f.Errors["text"] = "请填写处理情况"
			return nil
		}
		var evidence []string
		if mf, err := c.MultipartForm(); err == nil && mf != nil {
			files := mf.File["evidence"]
			if len(files) > server.MaxFollowUpEvidence {
				f.Errors["evidence"] = "每条记录最多" + strconv.Itoa(server.MaxFollowUpEvidence) + "张图片"
				return nil
			}
			for _, fh := range files {
				if fh.Size == 0 && fh.Filename == "" {
					continue // the file input left empty
				}
				r, err := fh.Open()
				if err != nil {
					return err
				}
				b, err := p.AddFollowUpEvidence(ctx, id, fh.Header.Get(echo.HeaderContentType), r)
				r.Close()
				if err != nil {
					return &evidenceFieldError{field: "evidence", prefix: fh.Filename + "：", err: err}
				}
				evidence = append(evidence, b.SHA256)
			}
		}
		if evidence == nil {
			evidence = []string{}
		}
		_, err := p.FollowUps.ActOnFollowUp(ctx, id, server.FollowUpActionNote, server.FollowUpEntry{Text: text, Evidence: evidence})
		return err
	}, "处理情况已记录")
}
