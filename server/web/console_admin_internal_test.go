package web

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

func TestUIMessage(t *testing.T) {
	for _, tt := range []struct{ msg, want string }{
		{"部门名称不能为空 (department name required).", "部门名称不能为空"},
		{`统一社会信用代码校验位错误 (credit code check character is wrong): "91350200MA2Y00000X"`, "统一社会信用代码校验位错误"},
		{"企业名称 (name)过长，最多200字节 (企业名称 (name) is longer than 200 bytes).", "企业名称过长，最多200字节"},
		{"撤回须说明理由（500字节以内）(a withdrawal needs a reason of at most 500 bytes).", "撤回须说明理由（500字节以内）"},
		{"没有英文说明", "没有英文说明"},
	} {
		if got := uiMessage(server.Errorf(server.EINVALID, "%s", tt.msg)); got != tt.want {
			t.Errorf("uiMessage(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
	if got := uiMessage(server.Errorf(server.EINTERNAL, "pq: connection refused")); got == "" || got == "pq: connection refused" {
		t.Errorf("an internal error shows %q", got)
	}
}
