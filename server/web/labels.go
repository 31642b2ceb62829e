package web

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"asset":          assetURL,
	"time":           formatTime,
	"timep":          formatTimePtr,
	"stamp":          formatStamp,
	"stratum":        stratumLabel,
	"roleLabel":      roleLabel,
	"campaignStatus": campaignStatusLabel,
	"resultState":    resultStateLabel,
	"errorTitle":     errorTitle,
	"short":          short,
	"inc":            func(i int) int { return i + 1 },
}

// timeLayout is how pages show a moment: Beijing time, to the minute.
const timeLayout = "2006-01-02 15:04"

// formatTime shows t in Asia/Shanghai; the zero time as "—".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(calendar.Shanghai()).Format(timeLayout)
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

// formatStamp shows a time written in a public record (RFC 3339, UTC) in
// Asia/Shanghai; what does not parse is shown as it is.
func formatStamp(s string) string {
	if s == "" {
		return "—"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(calendar.Shanghai()).Format(timeLayout + ":05")
}

// stratumLabel names a stratum; the one stratum of a campaign without a
// ratio table has the empty name.
func stratumLabel(s string) string {
	if s == "" {
		return "全部"
	}
	return s
}

// short is the first 16 characters of a digest, for tables; the full one
// is in its title attribute or on the campaign's page.
func short(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:16] + "…"
}

var roleLabels = map[server.Role]string{
	server.RolePlatformAdmin:   "平台管理员",
	server.RoleDepartmentAdmin: "部门系统管理员",
	server.RoleLeadCoordinator: "牵头部门协调员",
	server.RoleInspector:       "执法人员",
}

func roleLabel(r server.Role) string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return "未知角色"
}

var campaignStatusLabels = map[string]string{
	string(server.CampaignDraft):     "草稿",
	string(server.CampaignCommitted): "已提交（待摇号）",
	string(server.CampaignDrawn):     "已抽取检查对象",
	string(server.CampaignTeamed):    "已组队",
	string(server.CampaignIssued):    "已下发检查表",
}

// campaignStatusLabel takes a server.CampaignStatus or its string.
func campaignStatusLabel(s any) string {
	var key string
	switch v := s.(type) {
	case server.CampaignStatus:
		key = string(v)
	case string:
		key = v
	}
	if l, ok := campaignStatusLabels[key]; ok {
		return l
	}
	return "未知状态"
}

var resultStateLabels = map[string]string{
	syncproto.ResultDraft:    "待录入",
	syncproto.ResultEntered:  "待复核",
	syncproto.ResultReturned: "已退回",
	syncproto.ResultApproved: "已通过",
}

func resultStateLabel(s string) string {
	if l, ok := resultStateLabels[s]; ok {
		return l
	}
	return "未知状态"
}

// errorTitles are the headings of error pages, by code.
var errorTitles = map[string]string{
	server.EINVALID:        "请求无效",
	server.EUNAUTHORIZED:   "请先登录",
	server.EFORBIDDEN:      "无权访问",
	server.ENOTFOUND:       "页面不存在",
	server.ECONFLICT:       "操作与当前状态冲突",
	server.ETOOLARGE:       "提交的内容过大",
	server.ERATELIMITED:    "操作过于频繁",
	server.EUNSUPPORTED:    "不支持的文件类型",
	server.EUNAVAILABLE:    "服务暂时不可用",
	server.EINTERNAL:       "服务器内部错误",
	server.EDEVICEREVOKED:  "设备已停用",
	server.ETOKENREUSED:    "登录凭证已失效",
	server.EPASSWORDCHANGE: "请先修改密码",
	server.EQUOTA:          "超出配额",
	server.ENOSPACE:        "存储空间不足",
	server.ETOOEARLY:       "时间未到",
}

func errorTitle(code string) string {
	if t, ok := errorTitles[code]; ok {
		return t
	}
	return "出错了"
}

// statuses are the HTTP statuses of error pages, by code, as the API's.
var statuses = map[string]int{
	server.EINVALID: 400, server.EUNAUTHORIZED: 401, server.EFORBIDDEN: 403, server.ENOTFOUND: 404,
	server.ECONFLICT: 409, server.ETOOLARGE: 413, server.ERATELIMITED: 429, server.EUNSUPPORTED: 415,
	server.EUPGRADE: 426, server.EUNAVAILABLE: 503, server.EINTERNAL: 500, server.EDEVICEREVOKED: 403,
	server.ETOKENREUSED: 401, server.EPASSWORDCHANGE: 403, server.EREFUSED: 422, server.EQUOTA: 429,
	server.ENOSPACE: 507, server.ETOOEARLY: 409,
}

func statusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return 500
}

// errorText is the Chinese part of an error's message ("中文 (english)."
// shows as "中文"); an internal error's never leaves the server.
func errorText(err error) string {
	code := server.ErrorCode(err)
	if code == server.EINTERNAL {
		return "服务器内部错误，请稍后再试。如果问题持续，请联系管理员。"
	}
	msg := chinese(server.ErrorMessage(err))
	// A campaign's status by its label: "当前状态为issued，" reads
	// "当前状态为“已下发检查表”，".
	for code, label := range campaignStatusLabels {
		msg = strings.ReplaceAll(msg, "状态为"+code+"，", "状态为“"+label+"”，")
	}
	return msg
}

// chinese is the Chinese part of a service's message. Messages read
// "中文 (english gloss)." and may name a field in both languages inside
// ("材料 (material)须为1-200字节 (…)."); both glosses go, and so does any
// detail after the gloss ("… (…): \"=x\"", "… (invalid ratio): ratio …"):
// the form that shows the message still holds the value the user typed.
// A message without an English gloss is kept whole, as "请填写 (1) 与 (2)".
func chinese(msg string) string {
	msg = strings.TrimSpace(msg)
	body := msg
	if i := strings.LastIndex(msg, "):"); i > 0 && isDetail(msg[i+2:]) {
		body = msg[:i+1]
	}
	body = strings.TrimSuffix(body, ".")
	open := glossStart(body)
	if open < 0 {
		return strings.TrimSpace(englishName.ReplaceAllString(msg, ""))
	}
	return strings.TrimSpace(englishName.ReplaceAllString(body[:open], ""))
}

// isDetail: what follows a gloss is a quoted value or English.
func isDetail(s string) bool {
	s = strings.TrimSpace(s)
	if _, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		return true
	}
	return isASCII(s)
}

// glossStart is where the English gloss that ends body begins (its space,
// or its parenthesis right after a Chinese character), or -1.
func glossStart(body string) int {
	if !strings.HasSuffix(body, ")") {
		return -1
	}
	depth := 0
	for i := len(body) - 1; i > 0; i-- {
		switch body[i] {
		case ')':
			depth++
		case '(':
			if depth--; depth > 0 {
				continue
			}
			switch {
			case !englishWord.MatchString(body[i:]):
				return -1
			case body[i-1] == ' ':
				return i - 1
			case body[i-1] >= utf8.RuneSelf: // "（500字节以内）(a withdrawal …)"
				return i
			}
			return -1
		}
	}
	return -1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var (
	// englishWord is a word of two Latin letters or more.
	englishWord = regexp.MustCompile(`[A-Za-z]{2,}`)
	// englishName is a field's English name after its Chinese one.
	englishName = regexp.MustCompile(` \([A-Za-z][ -'*-~]*\)`)
)
