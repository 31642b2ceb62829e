package web

import (
	"maps"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Helpers of the directory and administration screens (departments,
// enterprises, inspectors, imports, declarations, devices, accounts, audit).

// adminPageSize is how many rows a directory list shows per page.
const adminPageSize = 50

// pager is a list's paging: the page shown (from 1) and the links around it.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // links, "" at the ends
}

// pageOf reads ?page= (from 1) and returns the offset to ask for.
func pageOf(c echo.Context) (page, offset int) {
	page, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || page < 1 || page > 1_000_000 {
		page = 1
	}
	return page, (page - 1) * adminPageSize
}

// newPager makes the links of page out of total, keeping the query's other
// parameters.
func newPager(c echo.Context, page, total int) pager {
	pages := max(1, (total+adminPageSize-1)/adminPageSize)
	p := pager{Page: page, Pages: pages, Total: total}
	link := func(n int) string {
		q := maps.Clone(c.QueryParams())
		q.Set("page", strconv.Itoa(n))
		return c.Request().URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	return p
}

// pathID is the positive integer :id of the path, else the 404 page.
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, server.Errorf(server.ENOTFOUND, "未找到 (not found).")
	}
	return id, nil
}

// formValues reads a form's fields (url-encoded or multipart).
func formValues(c echo.Context) (url.Values, error) {
	vals, err := c.FormParams()
	if err != nil {
		return nil, server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
	}
	out := maps.Clone(vals)
	out.Del(csrfField)
	return out, nil
}

// fieldError puts a service's error on the field its message names (by
// the first of fields that matches), else above the form; an internal error
// is returned to show the error page.
func fieldError(form *Form, err error, fields []fieldWord) error {
	if server.ErrorCode(err) == server.EINTERNAL {
		return err
	}
	msg := errorText(err)
	if f := fieldOf(msg, fields); f != "" {
		form.Errors[f] = msg
	} else {
		form.Message = msg
	}
	return nil
}

// fieldOf is the field of the first of fields whose word msg starts with
// (or contains, for a word that may be anywhere), or "" for the form.
func fieldOf(msg string, fields []fieldWord) string {
	for _, f := range fields {
		if strings.HasPrefix(msg, f.Word) || f.Anywhere && strings.Contains(msg, f.Word) {
			return f.Field
		}
	}
	return ""
}

// fieldWord names a form field by a word of the messages about it.
type fieldWord struct {
	Word, Field string
	Anywhere    bool // the word may be anywhere in the message
}

// int64Ptr parses an optional positive id; "" is nil.
func int64Ptr(s string) (*int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return nil, false
	}
	return &v, true
}

// departmentNames maps department ids to names, for tables.
func (p *Pages) departmentNames(c echo.Context) (map[int64]string, []*server.Department, error) {
	ds, err := p.Departments.FindDepartments(c.Request().Context())
	if err != nil {
		return nil, nil, err
	}
	m := make(map[int64]string, len(ds))
	for _, d := range ds {
		m[d.ID] = d.Name
	}
	return m, ds, nil
}
