package server

import (
	"strings"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Text rules shared by every Validate: stored text is valid UTF-8 without
// control characters (PostgreSQL refuses NUL, and the others only break
// exports), single-line fields carry no tabs or line breaks either, and a
// name that reaches a CSV file may not start like a spreadsheet formula.

// ControlChar reports whether s holds a control character: a C0 control
// (NUL included), DEL, or a C1 control. With multiline, tab, line feed and
// carriage return are allowed, as in free-text notes. The rule is the wire's.
func ControlChar(s string, multiline bool) bool { return syncproto.ControlChar(s, multiline) }

// FormulaLeading reports whether s starts with a character a spreadsheet
// takes as the start of a formula (= + - @) or with a tab or carriage return.
func FormulaLeading(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// CheckLine returns EINVALID unless s, a single-line field called what, is at
// most max bytes of valid UTF-8 without control characters (tabs and line
// breaks included). Empty is allowed; callers check required fields.
func CheckLine(what, s string, max int) error {
	switch {
	case len(s) > max:
		return Errorf(EINVALID, "%s过长，最多%d字节 (%s is longer than %d bytes).", what, max, what, max)
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "%s含有无效的UTF-8字符 (%s is not valid UTF-8).", what, what)
	case ControlChar(s, false):
		return Errorf(EINVALID, "%s不能含控制字符、制表符或换行 (%s may not contain control characters, tabs or line breaks).", what, what)
	}
	return nil
}

// CheckName is CheckLine for a name that reaches CSV files or the public
// manifest: it also may not start like a spreadsheet formula.
func CheckName(what, s string, max int) error {
	if err := CheckLine(what, s, max); err != nil {
		return err
	}
	if FormulaLeading(s) {
		return Errorf(EINVALID, "%s不能以=、+、-、@开头 (%s may not start with =, +, - or @): %q", what, what, s)
	}
	return nil
}

// CheckText is CheckLine for free text such as notes and reasons: tabs and
// line breaks are allowed.
func CheckText(what, s string, max int) error {
	switch {
	case len(s) > max:
		return Errorf(EINVALID, "%s过长，最多%d字节 (%s is longer than %d bytes).", what, max, what, max)
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "%s含有无效的UTF-8字符 (%s is not valid UTF-8).", what, what)
	case ControlChar(s, true):
		return Errorf(EINVALID, "%s不能含控制字符 (%s may not contain control characters).", what, what)
	}
	return nil
}
