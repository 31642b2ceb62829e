package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server/api/apidoc"
)

// decodeExample decodes a request example exactly as its handler would: the
// server's strict decoder (JSON content type, no unknown fields, one value,
// no control characters, the type's own Validate).
func decodeExample(t *testing.T, typ reflect.Type, example string) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(example))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	return decodeJSON(c, reflect.New(typ).Interface())
}

// TestOpenAPIRequestExamplesDecode: every JSON request body has an example,
// and the example is accepted by the handler's decoder into the handler's
// type; with an unknown field added it is refused, so the decoding is the
// strict one and the type is a real struct.
func TestOpenAPIRequestExamplesDecode(t *testing.T) {
	n := 0
	for _, op := range apiOperations() {
		b := op.Request
		if !b.IsJSON() {
			continue
		}
		n++
		name := op.Method + " " + op.Path
		if b.Example == "" {
			t.Errorf("%s: the request body has no example", name)
			continue
		}
		if err := decodeExample(t, b.Type, b.Example); err != nil {
			t.Errorf("%s: example refused by the decoder into %s: %v", name, b.Type, err)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(b.Example), &obj); err != nil {
			t.Errorf("%s: example is not a JSON object: %v", name, err)
			continue
		}
		obj["no_such_field"] = 1
		extra, _ := json.Marshal(obj)
		if err := decodeExample(t, b.Type, string(extra)); err == nil || !strings.Contains(err.Error(), "no_such_field") {
			t.Errorf("%s: an unknown field in the example was not refused (err %v)", name, err)
		}
	}
	if n < 40 {
		t.Errorf("only %d JSON request bodies documented", n)
	}
}

// TestOpenAPIResponseExamplesDecode: every response example decodes strictly
// (no field the type lacks, one value) into the type the handler encodes.
func TestOpenAPIResponseExamplesDecode(t *testing.T) {
	n := 0
	for _, op := range apiOperations() {
		b := op.Response
		if !b.IsJSON() || b.Example == "" {
			continue
		}
		n++
		dec := json.NewDecoder(strings.NewReader(b.Example))
		dec.DisallowUnknownFields()
		if err := dec.Decode(reflect.New(b.Type).Interface()); err != nil {
			t.Errorf("%s %s: response example does not decode into %s: %v", op.Method, op.Path, b.Type, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			t.Errorf("%s %s: response example holds more than one value", op.Method, op.Path)
		}
	}
	if n < 10 {
		t.Errorf("only %d response examples", n)
	}
}

// TestOpenAPIDocumentValid: the served bytes are an OpenAPI 3.1 document
// that kin-openapi loads and validates (JSON Schema 2020-12, examples
// checked against their schemas), with every $ref resolved.
func TestOpenAPIDocumentValid(t *testing.T) {
	d, err := loadDocs()
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(d.json, &head); err != nil || head.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, %v; want 3.1.0", head.OpenAPI, err)
	}
	if bytes.Contains(d.json, []byte(`"nullable"`)) {
		t.Error(`the document uses "nullable", which OpenAPI 3.1 does not have`)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(d.json)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatal("loaded document is not 3.1")
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("document invalid: %v", err)
	}

	// Examples against their schemas, as JSON Schema 2020-12.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			check := func(what string, content openapi3.Content) {
				mt := content.Get(apidoc.MIMEJSON)
				if mt == nil || mt.Example == nil {
					return
				}
				if err := mt.Schema.Value.VisitJSON(mt.Example, openapi3.EnableJSONSchema2020()); err != nil {
					t.Errorf("%s %s %s example does not match its schema: %v", method, path, what, err)
				}
			}
			if op.RequestBody != nil {
				check("request", op.RequestBody.Value.Content)
			}
			for code, r := range op.Responses.Map() {
				if r.Value != nil {
					check("response "+code, r.Value.Content)
				}
			}
		}
	}
}

// TestOpenAPISchemaFollowsTypes: a field the encoder always writes is
// required in a response schema, a pointer field may be null, a field with
// omitempty is optional; request types get no required fields.
func TestOpenAPISchemaFollowsTypes(t *testing.T) {
	doc, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	c := schemas["Campaign"]
	if c == nil {
		t.Fatal("no Campaign schema")
	}
	cs := c.Value
	for _, f := range []string{"id", "name", "window_start", "committed_at"} {
		if !contains(cs.Required, f) {
			t.Errorf("Campaign.%s is not required", f)
		}
	}
	if contains(cs.Required, "seed") {
		t.Error("Campaign.seed (omitempty) is required")
	}
	if ts := cs.Properties["committed_at"].Value.Type; ts == nil || !ts.Includes("null") || !ts.Includes("string") {
		t.Errorf("Campaign.committed_at type = %v, want string or null", ts)
	}
	if ws := cs.Properties["window_start"].Value; ws.Format != "date" {
		t.Errorf("Campaign.window_start format = %q, want date", ws.Format)
	}
	req := schemas["CreateCampaignRequest"]
	if req == nil || len(req.Value.Required) != 0 {
		t.Errorf("CreateCampaignRequest: %+v, want a schema without required fields", req)
	}
	if _, ok := schemas["syncproto.Error"]; !ok {
		t.Error("no syncproto.Error schema")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
