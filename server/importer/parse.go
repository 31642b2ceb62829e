package importer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
)

// Row error codes for values. The store adds unknown_department,
// forbidden_department, certificate_in_other_department and invalid_row.
const (
	CodeMissingField       = "missing_field"
	CodeFieldTooLong       = "field_too_long"
	CodeInvalidCreditCode  = "invalid_credit_code"
	CodeInvalidStatus      = "invalid_status"
	CodeInvalidRiskClass   = "invalid_risk_class"
	CodeInvalidCoordinates = "invalid_coordinates"
	CodeInvalidDate        = "invalid_date"
	CodeInvalidDateRange   = "invalid_date_range"
	CodeInvalidDomain      = "invalid_domain"
	CodeInvalidRow         = "invalid_row"
	CodeDuplicateKey       = "duplicate_key"
	CodeInvalidCharacter   = "invalid_character"
)

func rowErr(column, code, format string, args ...any) *server.ImportRowError {
	return &server.ImportRowError{Column: column, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldNames are the Chinese names used in messages.
var fieldNames = map[string]string{
	"credit_code": "统一社会信用代码", "name": "名称", "category": "类别", "district": "所属区县",
	"address": "地址", "legal_representative": "法定代表人", "licence_number": "许可证号",
	"department": "部门", "certificate_number": "执法证号", "phone": "电话",
	"certificate_valid_from": "执法证有效期起", "certificate_valid_until": "执法证有效期止",
}

// text returns column name's value, or a row error if it is required and
// empty or longer than max bytes.
func text(rec record, name string, required bool, max int) (string, *server.ImportRowError) {
	v := rec.get(name)
	switch {
	case v == "" && required:
		return "", rowErr(name, CodeMissingField, "%s不能为空 (%s is required).", fieldNames[name], name)
	case required && isClearMarker(v):
		return "", rowErr(name, CodeMissingField, "%s为必填项，不能清空 (%s is required and cannot be cleared).", fieldNames[name], name)
	case len(v) > max:
		return "", rowErr(name, CodeFieldTooLong, "%s过长，最多%d字节 (%s is longer than %d bytes).", fieldNames[name], max, name, max)
	}
	return v, nil
}

// enterpriseStatuses maps the status words found in registration exports.
var enterpriseStatuses = map[string]server.EnterpriseStatus{
	"": server.EnterpriseActive, "存续": server.EnterpriseActive, "在业": server.EnterpriseActive,
	"开业": server.EnterpriseActive, "正常": server.EnterpriseActive,
	"停业": server.EnterpriseSuspended, "歇业": server.EnterpriseSuspended,
	"注销": server.EnterpriseDeregistered, "吊销": server.EnterpriseRevoked,
}

// categories maps the Chinese names of known categories to their codes; any
// other value is kept as written.
var categories = map[string]string{
	"互联网上网服务营业场所": server.CategoryInternetCafe,
	"网吧":          server.CategoryInternetCafe,
}

// optional reads an optional column. A blank cell, or a column the file
// lacks, sets nothing (set is false: the stored value stays); a clear marker
// sets the field to empty; any other value sets it.
func optional(rec record, name string) (v string, set bool) {
	v = rec.get(name)
	switch {
	case v == "":
		return "", false
	case isClearMarker(v):
		return "", true
	}
	return v, true
}

// isClearMarker reports whether v is one of server.ImportClearMarkers.
func isClearMarker(v string) bool {
	for _, m := range server.ImportClearMarkers {
		if strings.EqualFold(v, m) {
			return true
		}
	}
	return false
}

// optionalText is optional for a text column of at most max bytes.
func optionalText(rec record, name string, max int, flag server.ImportFields, set *server.ImportFields) (string, *server.ImportRowError) {
	v, ok := optional(rec, name)
	if !ok {
		return "", nil
	}
	*set |= flag
	if len(v) > max {
		return "", rowErr(name, CodeFieldTooLong, "%s过长，最多%d字节 (%s is longer than %d bytes).", fieldNames[name], max, name, max)
	}
	return v, nil
}

// parseEnterprise turns a row into an enterprise and the optional fields it
// sets, or says what is wrong with it (the first problem found, with its
// column). Fields the row does not set hold their defaults, for a new record.
func parseEnterprise(rec record) (e *server.Enterprise, set server.ImportFields, rerr *server.ImportRowError) {
	e = &server.Enterprise{}
	// Letters in credit codes are upper case; lower case is a typing slip.
	if e.CreditCode, rerr = text(rec, "credit_code", true, 64); rerr != nil {
		return nil, 0, rerr
	}
	e.CreditCode = strings.ToUpper(e.CreditCode)
	if err := server.CheckCreditCode(e.CreditCode); err != nil {
		return nil, 0, rowErr("credit_code", CodeInvalidCreditCode, "%s", server.ErrorMessage(err))
	}
	if e.Name, rerr = text(rec, "name", true, 200); rerr != nil {
		return nil, 0, rerr
	}
	if e.Category, rerr = text(rec, "category", true, 64); rerr != nil {
		return nil, 0, rerr
	}
	if c, ok := categories[e.Category]; ok {
		e.Category = c
	}
	if e.District, rerr = text(rec, "district", true, 64); rerr != nil {
		return nil, 0, rerr
	}
	if e.Address, rerr = optionalText(rec, "address", 500, server.ImportAddress, &set); rerr != nil {
		return nil, 0, rerr
	}
	if e.LegalRepresentative, rerr = optionalText(rec, "legal_representative", 100, server.ImportLegalRepresentative, &set); rerr != nil {
		return nil, 0, rerr
	}
	if e.LicenceNumber, rerr = optionalText(rec, "licence_number", 100, server.ImportLicenceNumber, &set); rerr != nil {
		return nil, 0, rerr
	}
	status := rec.get("status")
	if isClearMarker(status) {
		return nil, 0, rowErr("status", CodeInvalidStatus, "经营状态不能清空 (status cannot be cleared): %q", status)
	} else if status != "" {
		set |= server.ImportStatus
	}
	if s, ok := enterpriseStatuses[status]; ok {
		e.Status = s
	} else {
		e.Status = server.EnterpriseStatus(strings.ToLower(status))
	}
	if !e.Status.Valid() {
		return nil, 0, rowErr("status", CodeInvalidStatus, "经营状态无效，须为active、suspended、deregistered、revoked或存续、停业、注销、吊销 (status must be active, suspended, deregistered or revoked): %q", status)
	}
	risk, ok := optional(rec, "risk_class")
	if ok {
		set |= server.ImportRiskClass
	}
	e.RiskClass = server.RiskClass(strings.TrimSuffix(strings.ToUpper(risk), "类"))
	if !e.RiskClass.Valid() {
		return nil, 0, rowErr("risk_class", CodeInvalidRiskClass, "信用风险分类须为A、B、C、D或空 (risk class must be A, B, C, D or empty): %q", risk)
	}
	lat, lon := rec.get("latitude"), rec.get("longitude")
	switch clearLat, clearLon := isClearMarker(lat), isClearMarker(lon); {
	case clearLat && (clearLon || lon == ""), clearLon && lat == "":
		// Coordinates go together: clearing one clears both.
		set |= server.ImportCoordinates
		lat, lon = "", ""
	case clearLat || clearLon:
		return nil, 0, rowErr("latitude", CodeInvalidCoordinates, "经纬度须同时清空 (clear latitude and longitude together).")
	}
	if lat != "" || lon != "" {
		set |= server.ImportCoordinates
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(lon, 64)
		switch {
		case lat == "" || lon == "":
			col := "latitude"
			if lon == "" {
				col = "longitude"
			}
			return nil, 0, rowErr(col, CodeInvalidCoordinates, "经纬度须同时提供 (latitude and longitude go together).")
		case err1 != nil || math.IsNaN(la) || la < -90 || la > 90:
			return nil, 0, rowErr("latitude", CodeInvalidCoordinates, "纬度须为-90到90之间的数 (latitude must be a number from -90 to 90): %q", lat)
		case err2 != nil || math.IsNaN(lo) || lo < -180 || lo > 180:
			return nil, 0, rowErr("longitude", CodeInvalidCoordinates, "经度须为-180到180之间的数 (longitude must be a number from -180 to 180): %q", lon)
		}
		e.Latitude, e.Longitude = &la, &lo
	}
	// The domain's rules have the last word; the checks above name the column.
	if err := e.Validate(); err != nil {
		return nil, 0, rowErr("", CodeInvalidRow, "%s", server.ErrorMessage(err))
	}
	return e, set, nil
}

// inspectorStatuses maps the status words rosters use.
var inspectorStatuses = map[string]server.InspectorStatus{
	"": server.InspectorActive, "在岗": server.InspectorActive, "在职": server.InspectorActive, "正常": server.InspectorActive,
	"休假": server.InspectorOnLeave, "请假": server.InspectorOnLeave,
	"离职": server.InspectorLeft, "调离": server.InspectorLeft, "退休": server.InspectorLeft,
}

// parseInspector turns a row into an inspector, its department code and
// the optional fields it sets, or says what is wrong with it. The department
// is resolved by the store.
func parseInspector(rec record) (dept string, in *server.Inspector, set server.ImportFields, rerr *server.ImportRowError) {
	in = &server.Inspector{}
	dept, rerr = text(rec, "department", true, 32)
	if rerr != nil {
		return "", nil, 0, rerr
	}
	dept = strings.ToLower(dept) // department codes are lower case
	if in.Name, rerr = text(rec, "name", true, 100); rerr != nil {
		return "", nil, 0, rerr
	}
	if in.CertificateNumber, rerr = text(rec, "certificate_number", true, 64); rerr != nil {
		return "", nil, 0, rerr
	}
	for _, d := range []struct {
		col string
		to  *server.Date
	}{{"certificate_valid_from", &in.CertificateValidFrom}, {"certificate_valid_until", &in.CertificateValidUntil}} {
		v, rerr := text(rec, d.col, true, 64)
		if rerr != nil {
			return "", nil, 0, rerr
		}
		date, ok := parseDate(v)
		if !ok {
			return "", nil, 0, rowErr(d.col, CodeInvalidDate, "%s日期无效，格式应为YYYY-MM-DD (%s is not a valid date; use YYYY-MM-DD): %q", fieldNames[d.col], d.col, v)
		}
		*d.to = date
	}
	if in.CertificateValidUntil.Before(in.CertificateValidFrom) {
		return "", nil, 0, rowErr("certificate_valid_until", CodeInvalidDateRange, "执法证有效期截止日早于起始日 (certificate expires before it starts): %s < %s", in.CertificateValidUntil, in.CertificateValidFrom)
	}
	domains, ok := optional(rec, "domains")
	if ok {
		set |= server.ImportDomains
	}
	in.Domains = splitDomains(domains)
	if len(in.Domains) > server.MaxInspectorDomains {
		return "", nil, 0, rowErr("domains", CodeInvalidDomain, "执法领域最多%d项 (at most %d enforcement domains).", server.MaxInspectorDomains, server.MaxInspectorDomains)
	}
	for _, d := range in.Domains {
		if len(d) > 64 {
			return "", nil, 0, rowErr("domains", CodeInvalidDomain, "执法领域过长，每项最多64字节 (each enforcement domain must be at most 64 bytes): %q", d)
		}
	}
	if in.Phone, rerr = optionalText(rec, "phone", 32, server.ImportPhone, &set); rerr != nil {
		return "", nil, 0, rerr
	}
	status := rec.get("status")
	if isClearMarker(status) {
		return "", nil, 0, rowErr("status", CodeInvalidStatus, "状态不能清空 (status cannot be cleared): %q", status)
	} else if status != "" {
		set |= server.ImportStatus
	}
	if s, ok := inspectorStatuses[status]; ok {
		in.Status = s
	} else {
		in.Status = server.InspectorStatus(strings.ToLower(status))
	}
	if !in.Status.Valid() {
		return "", nil, 0, rowErr("status", CodeInvalidStatus, "状态须为active、on_leave、left或在岗、休假、离职 (status must be active, on_leave or left): %q", status)
	}
	// Validate needs a department id; the store sets the real one.
	in.DepartmentID = 1
	if err := in.Validate(); err != nil {
		return "", nil, 0, rowErr("", CodeInvalidRow, "%s", server.ErrorMessage(err))
	}
	in.DepartmentID = 0
	return dept, in, set, nil
}

// dateLayouts are the ways dates are written in rosters, ISO first.
var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102"}

// parseDate reads a date in one of dateLayouts, or an Excel date serial (the
// raw value of a date cell in XLSX).
func parseDate(s string) (server.Date, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return server.DateOf(t), true
		}
	}
	// Serials 1 to 99999 cover 1900-01-01 to 2173; an 8-digit number was
	// tried as YYYYMMDD above.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 1 && f < 100000 {
		if t, err := excelize.ExcelDateToTime(f, false); err == nil {
			return server.DateOf(t), true
		}
	}
	return server.Date{}, false
}

// splitDomains splits a list of enforcement domains on ; ； or 、, dropping
// empty items and repeats.
func splitDomains(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' || r == '、' })
	out := make([]string, 0, len(parts))
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
