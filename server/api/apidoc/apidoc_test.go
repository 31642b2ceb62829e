package apidoc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

type testError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type testInner struct {
	A string `json:"a"`
}

type TestEmbedded struct {
	E int `json:"e"`
}

type testSample struct {
	Req   string     `json:"req"`
	Opt   string     `json:"opt,omitempty"`
	Ptr   *int       `json:"ptr"`
	In    *testInner `json:"in"`
	List  []string   `json:"list"`
	Bytes []byte     `json:"bytes"`
	When  time.Time  `json:"when"`
	TestEmbedded
	Untagged int
	Skipped  string `json:"-"`
}

func testSpec(ops ...Operation) Spec {
	return Spec{
		Title: "t", Version: "1", Operations: ops,
		ErrorType:  reflect.TypeFor[testError](),
		ErrorCodes: map[string]int{"invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "too_large": 413, "unsupported_type": 415, "internal": 500},
	}
}

func TestBuildSchemasFollowEncodingJSON(t *testing.T) {
	doc, err := Build(testSpec(
		Operation{Method: "GET", Path: "/x/:id", Tag: "x", Summary: "x", Response: JSON[testSample](`{"req": "r", "ptr": null, "in": {"a": "b"}, "list": null, "bytes": "AAE=", "when": "2026-12-06T10:00:00+08:00", "e": 1, "Untagged": 2}`)},
		Operation{Method: "POST", Path: "/x", Tag: "x", Summary: "y", Public: true, Request: JSON[testInner](`{"a": "b"}`)},
	))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte("nullable")) || !bytes.Contains(js, []byte(`"openapi":"3.1.0"`)) {
		t.Errorf("not a 3.1 document: %s", js)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["apidoc.testSample"]
	if s == nil {
		t.Fatalf("no testSample schema: %v", doc.Components.Schemas)
	}
	v := s.Value
	want := []string{"req", "ptr", "in", "list", "bytes", "when", "e", "Untagged"}
	got := slices.Clone(v.Required)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("required = %v, want %v", got, want)
	}
	if _, ok := v.Properties["Skipped"]; ok {
		t.Error(`a json:"-" field is in the schema`)
	}
	if ty := v.Properties["ptr"].Value.Type; !ty.Includes("integer") || !ty.Includes("null") {
		t.Errorf("ptr type %v, want integer or null", ty)
	}
	if ty := v.Properties["list"].Value.Type; !ty.Includes("array") || !ty.Includes("null") {
		t.Errorf("list type %v, want array or null", ty)
	}
	if ty := v.Properties["bytes"].Value.Type; ty.Includes("null") {
		t.Errorf("bytes type %v: []byte is a base64 string here", ty)
	}
	in := v.Properties["in"].Value
	if len(in.AnyOf) != 2 || in.AnyOf[0].Ref != "#/components/schemas/apidoc.testInner" || !in.AnyOf[1].Value.Type.Is("null") {
		t.Errorf("in = %+v, want anyOf [testInner, null]", in)
	}
	// testInner is also a request body: it is reached from a response, so it
	// keeps its required fields.
	if r := doc.Components.Schemas["apidoc.testInner"].Value.Required; !slices.Equal(r, []string{"a"}) {
		t.Errorf("testInner required = %v", r)
	}
	op := doc.Paths.Value("/x/{id}").Get
	for _, code := range []string{"200", "401", "403", "404", "default"} {
		if op.Responses.Value(code) == nil {
			t.Errorf("GET /x/{id} has no %s response", code)
		}
	}
	post := doc.Paths.Value("/x").Post
	if post.Security == nil || len(*post.Security) != 0 {
		t.Error("a public operation needs no token")
	}
	if post.Responses.Value("401") != nil || post.Responses.Value("415") == nil {
		t.Error("public POST with a body: want 415 and no 401")
	}

	var page bytes.Buffer
	if err := WritePage(&page, doc, "/s.css", "/o.json"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`href="/s.css"`, "/x/{id}", `<a href="#schema-apidoc-testInner">apidoc.testInner</a> | null`, "公开，无需令牌"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestBuildRefusesMistakes(t *testing.T) {
	ok := Operation{Method: "GET", Path: "/x", Tag: "x", Summary: "x"}
	for name, ops := range map[string][]Operation{
		"twice":            {ok, ok},
		"unknown path arg": {{Method: "GET", Path: "/x", PathParams: []Param{{Name: "id"}}}},
		"bad example":      {{Method: "POST", Path: "/x", Request: JSON[testInner](`{"a": `)}},
		"example of file":  {{Method: "POST", Path: "/x", Request: &Body{ContentTypes: []string{"image/png"}, Example: `1`}}},
		"unknown status":   {{Method: "GET", Path: "/x", Errors: []int{http.StatusTeapot}}},
		"self-marshaller":  {{Method: "GET", Path: "/x", Response: JSON[struct{ T selfMarshal }](``)}},
	} {
		_, err := Build(testSpec(ops...))
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Errorf("%s: Build accepted it", name)
		}
	}
}

type selfMarshal struct{ X int }

func (selfMarshal) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }
