package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

func TestRenderError(t *testing.T) {
	p := New(api.Services{}, make([]byte, 32), nil)
	for _, tt := range []struct {
		name, path string
		err        error
		status     int
		want       []string // in the page
		location   string   // a redirect instead
	}{
		{"Internal", "/console/", errors.New("disk on fire at /var/lib/secret"), 500, []string{"服务器内部错误", "请稍后再试"}, ""},
		{"Invalid", "/results/x", server.Errorf(server.EINVALID, "统一社会信用代码无效 (invalid credit code)."), 400, []string{"请求无效", "统一社会信用代码无效"}, ""},
		{"Forbidden", "/console/", server.Errorf(server.EFORBIDDEN, "无权执行此操作 (your role may not do this)."), 403, []string{"无权访问", "无权执行此操作"}, ""},
		{"NotFound", "/campaigns/9", server.Errorf(server.ENOTFOUND, "未找到 (not found)."), 404, []string{"页面不存在"}, ""},
		{"SignIn", "/console/x?y=1", server.Errorf(server.EUNAUTHORIZED, "请先登录 (sign in first)."), 303, nil, "/console/login?next=%2Fconsole%2Fx%3Fy%3D1"},
		{"PasswordChange", "/console/", server.Errorf(server.EPASSWORDCHANGE, "请先修改一次性密码 (change it)."), 303, nil, "/console/password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, tt.path, nil), rec)
			p.RenderError(c, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
				t.Errorf("no CSP on the error page")
			}
			if tt.location != "" {
				if got := rec.Header().Get("Location"); got != tt.location {
					t.Errorf("Location %q, want %q", got, tt.location)
				}
				return
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, leak := range []string{"disk on fire", "/var/lib/secret", "(invalid credit code)", "your role"} {
				if strings.Contains(body, leak) {
					t.Errorf("page shows %q", leak)
				}
			}
		})
	}
}
