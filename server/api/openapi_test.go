package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// echoPath turns an OpenAPI path template back into Echo's form.
var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

func echoPath(p string) string { return templateParam.ReplaceAllString(p, ":$1") }

// documented lists the document's operations as "METHOD /echo/path".
func documented(t *testing.T, doc *openapi3.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out[method+" "+echoPath(path)] = true
		}
	}
	return out
}

// apiRoutes lists the router's routes that the API reference must cover:
// all but Echo's own fallbacks and the console and public pages (package
// server/web), which are HTML, not API.
func apiRoutes(h *apptest.Harness) map[string]bool {
	out := map[string]bool{}
	for _, r := range h.App.API.Routes() {
		if strings.HasPrefix(r.Name, "github.com/labstack/echo") || r.Path == "/*" || r.Path == "" ||
			strings.Contains(r.Name, "/server/web.") {
			continue
		}
		out[r.Method+" "+r.Path] = true
	}
	return out
}

// TestOpenAPICoversRoutes fails for a route of the router that the document
// lacks, and for an operation of the document that no route serves.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	ops := documented(t, doc)
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		routes := apiRoutes(h)
		if len(routes) < 90 {
			t.Fatalf("only %d routes found: the walk is broken", len(routes))
		}
		var missing, stale []string
		for key := range routes {
			if !ops[key] {
				missing = append(missing, key)
			}
		}
		for key := range ops {
			if !routes[key] {
				stale = append(stale, key)
			}
		}
		slices.Sort(missing)
		slices.Sort(stale)
		for _, key := range missing {
			t.Errorf("route %s is not in the API reference: add it to server/api/openapi_ops.go", key)
		}
		for _, key := range stale {
			t.Errorf("the API reference documents %s, which is not a route", key)
		}
	})
}

// TestOpenAPIServed: the document and the page are public, cacheable with
// an ETag, and the page runs under a policy that allows no script.
func TestOpenAPIServed(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		r := h.Do(t, "GET", "/openapi.json", "", nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		if !bytes.Contains(r.Body, []byte(`"openapi": "3.1.0"`)) {
			t.Fatal(`the document does not declare "openapi": "3.1.0"`)
		}
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(documented(t, doc)) < 90 {
			t.Fatalf("served document has only %d operations", len(documented(t, doc)))
		}
		tag := r.Header.Get("ETag")
		if tag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("ETag %q, Cache-Control %q", tag, r.Header.Get("Cache-Control"))
		}
		req, _ := http.NewRequest("GET", h.URL+"/openapi.json", nil)
		req.Header.Set("If-None-Match", tag)
		if r := h.Send(t, req); r.Status != http.StatusNotModified || len(r.Body) != 0 {
			t.Fatalf("If-None-Match: %d, %d bytes; want 304, none", r.Status, len(r.Body))
		}

		page := h.Do(t, "GET", "/api-docs", "", nil)
		if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /api-docs: %d %s", page.Status, page.Header.Get("Content-Type"))
		}
		csp := page.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q allows more than the page needs", csp)
		}
		body := string(page.Body)
		for _, bad := range []string{"<script", " style=", "<style", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("the page holds %q", bad)
			}
		}
		if m := regexp.MustCompile(`\son[a-z]+=`).FindString(body); m != "" {
			t.Errorf("the page holds an event handler %q", m)
		}
		for _, want := range []string{`<html lang="zh-CN">`, `href="/api-docs/style.css"`, "POST", "/v1/campaigns/{id}/draw",
			"录入公开随机数并抽取", "randomness", "syncproto.Error"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if page.Header.Get("ETag") == "" {
			t.Error("the page has no ETag")
		}
		css := h.Do(t, "GET", "/api-docs/style.css", "", nil)
		if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") || len(css.Body) == 0 {
			t.Fatalf("GET /api-docs/style.css: %d %s", css.Status, css.Header.Get("Content-Type"))
		}
	})
}

// TestOpenAPIRequestExamplesReachHandlers sends every JSON request example to
// its route, as a caller the route admits (authz_test.go's policies), on an
// object that does not exist, so nothing changes. With a field added that the
// handler's type lacks, the route must refuse it by name: the handler decodes
// strictly before anything else. The example itself must pass the handler's
// decoding: a refusal for an unknown field or a wrong type means the document
// names another type than the handler decodes.
func TestOpenAPIRequestExamplesReachHandlers(t *testing.T) {
	doc, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	pol := policies()
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		dev := newFieldDevice(t, h, "insp-a1")
		tokens := map[server.Role]string{}
		for _, a := range actors[1:] {
			role := h.Users[a].Role
			if role == server.RoleInspector {
				tokens[role] = dev.Token // device-bound, for the sync routes too
			} else {
				tokens[role] = h.Token(t, a)
			}
		}
		decodeRefusal := regexp.MustCompile(`未知字段|类型错误|JSON|请求体`)
		n := 0
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.RequestBody == nil {
					continue
				}
				mt := op.RequestBody.Value.Content.Get("application/json")
				if mt == nil || mt.Example == nil {
					continue
				}
				n++
				key := method + " " + echoPath(path)
				p, ok := pol[key]
				if !ok {
					t.Errorf("%s: no policy", key)
					continue
				}
				token := ""
				if !p.public {
					for _, r := range []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator, server.RoleInspector} {
						if slices.Contains(p.roles, r) {
							token = tokens[r]
							break
						}
					}
				}
				url := strings.NewReplacer("{id}", "999999", "{credit_code}", "91350203000000019Y").Replace(path)
				send := func(body any) *apptest.Response {
					b, err := json.Marshal(body)
					if err != nil {
						t.Fatal(err)
					}
					req, err := http.NewRequest(method, h.URL+url, bytes.NewReader(b))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
					if token != "" {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					return h.Send(t, req)
				}
				extra := map[string]any{"no_such_field": 1}
				for k, v := range mt.Example.(map[string]any) {
					extra[k] = v
				}
				if r := send(extra); r.Status != http.StatusBadRequest || !strings.Contains(r.Error().Message, "no_such_field") {
					t.Errorf("%s: an unknown field got %d %s, want 400 naming it", key, r.Status, r.Body)
				}
				if r := send(mt.Example); r.Status == http.StatusBadRequest && decodeRefusal.MatchString(r.Error().Message) {
					t.Errorf("%s: the handler refuses the example: %s", key, r.Body)
				}
			}
		}
		if n < 40 {
			t.Errorf("only %d request examples sent", n)
		}
	})
}

// closeObjects forbids, in every object schema of doc, properties the schema
// does not name, so that a response with an undocumented field fails.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, sub := range [][]*openapi3.SchemaRef{s.AnyOf, s.OneOf, s.AllOf} {
			for _, r := range sub {
				walk(r)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
}

// TestOpenAPIResponsesMatchSchemas reads every JSON GET route the
// authorization walk can build an object for, and checks the real answer
// against the document's schema for it: every field the schema requires is
// there with its type, and no field is there that the schema lacks.
func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	built, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(built)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(js) // resolves the $refs
	if err != nil {
		t.Fatal(err)
	}
	closeObjects(doc)
	pol := policies()
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		dev := newFieldDevice(t, h, "insp-a1")
		tokens := map[server.Role]string{}
		for _, a := range actors[1:] {
			role := h.Users[a].Role
			if role == server.RoleInspector {
				tokens[role] = dev.Token
			} else {
				tokens[role] = h.Token(t, a)
			}
		}
		w := &walk{h: h}
		checked := 0
		for path, item := range doc.Paths.Map() {
			op := item.Get
			if op == nil {
				continue
			}
			resp := op.Responses.Status(http.StatusOK)
			if resp == nil || resp.Value.Content.Get("application/json") == nil {
				continue
			}
			schema := resp.Value.Content.Get("application/json").Schema.Value
			key := "GET " + echoPath(path)
			p := pol[key]
			url := echoPath(path)
			if p.object != nil {
				objPath := p.object(w, t, "a")
				url = strings.Replace(url, ":id", objPath[strings.LastIndex(objPath, "/")+1:], 1)
			}
			if strings.Contains(url, ":") {
				continue // no object to read
			}
			token := ""
			if !p.public {
				for _, r := range []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator, server.RoleInspector} {
					if slices.Contains(p.roles, r) {
						token = tokens[r]
						break
					}
				}
			}
			req, err := http.NewRequest("GET", h.URL+url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			r := h.Send(t, req)
			if r.Status != http.StatusOK {
				t.Logf("%s: %d, not checked", key, r.Status)
				continue
			}
			var v any
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
				t.Errorf("%s: the answer does not match the document: %v\n%s", key, err, r.Body)
			}
			checked++
		}
		t.Logf("%d answers checked", checked)
		if checked < 30 {
			t.Errorf("only %d answers checked", checked)
		}
	})
}
