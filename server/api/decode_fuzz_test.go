package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// FuzzDecodeJSON: any body gets either a decoded, valid request or a client
// error with a stable code (never a panic, never an internal error).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"a","password":"b"}`, `{}`, ``, `{`, `[]`, `null`, `{"username":1}`,
		`{"username":"a","password":"b"} {}`, `{"username":"a","password":"b","x":1}`,
		`{"username":"` + string(make([]byte, 70)) + `","password":"b"}`, "\xff\xfe",
		`{"username":"a\u0000","password":"b"}`, `{"username":"a","password":"\u001b\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c := e.NewContext(req, httptest.NewRecorder())
		var v syncproto.LoginRequest
		err := decodeJSON(c, &v)
		if err == nil {
			if v.Validate() != nil {
				t.Fatalf("decoded an invalid request: %+v", v)
			}
			if server.ControlChar(v.Username, true) || server.ControlChar(v.Password, true) {
				t.Fatalf("decoded a control character: %+q", []string{v.Username, v.Password})
			}
			return
		}
		switch server.ErrorCode(err) {
		case server.EINVALID, server.ETOOLARGE:
		default:
			t.Fatalf("error %v has code %q", err, server.ErrorCode(err))
		}
	})
}
