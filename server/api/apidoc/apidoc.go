// Package apidoc builds the API's OpenAPI 3.1 document from a table of
// operations whose bodies are named by their Go types, and renders it as a
// page. The schemas come from the types the handlers decode and encode, so
// the document cannot drift from them; the table itself is checked against
// the router by server/api's tests.
package apidoc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// MIMEJSON is the content type of every JSON body.
const MIMEJSON = "application/json"

// Operation is one route of the router, as the document shows it.
type Operation struct {
	Method string // "GET", "POST", …
	// Path is the route as registered in Echo, with :name parameters.
	Path        string
	Tag         string
	Summary     string
	Description string
	// Public: no access token is needed. Scheme names another security
	// scheme of the Spec the operation needs instead (the metrics token).
	Public bool
	Scheme string
	// PathParams describes path parameters that are not a positive integer
	// id (the default for every :name).
	PathParams []Param
	Query      []Param
	Headers    []Param
	// Request is the body the handler reads; nil for none.
	Request *Body
	// Status is the success status (200 when 0); Response its body, nil for
	// none. ResponseHeaders are headers of the success response.
	Status          int
	Response        *Body
	ResponseHeaders []Param
	// Errors are the error statuses particular to the operation; the usual
	// ones (400, 401, 403, 404, 413, 415) are added from its shape.
	Errors []int
}

// Param is a path, query or header parameter.
type Param struct {
	Name        string
	Description string
	Type        string // "string" (default), "integer" or "boolean"
	Enum        []string
	Required    bool
	Example     string
}

// Body is a request or response body: JSON of a Go type, or other content.
type Body struct {
	// ContentTypes lists the media types; JSON bodies have MIMEJSON.
	ContentTypes []string
	// Type is the Go type the handler decodes (requests) or encodes
	// (responses); nil for bodies that are not JSON.
	Type        reflect.Type
	Description string
	// Example is JSON text of an example value; it must decode into Type.
	Example string
	// Optional: an empty request body is accepted.
	Optional bool
}

// JSON is a JSON body of type T with an example (JSON text, may be "").
func JSON[T any](example string) *Body {
	return &Body{ContentTypes: []string{MIMEJSON}, Type: reflect.TypeFor[T](), Example: example}
}

// File is a body that is not JSON: a file, an image, a stream.
func File(description string, contentTypes ...string) *Body {
	return &Body{ContentTypes: contentTypes, Description: description}
}

// IsJSON reports whether b is a JSON body of a Go type.
func (b *Body) IsJSON() bool { return b != nil && b.Type != nil }

// OpenAPIPath turns an Echo path ("/v1/campaigns/:id") into an OpenAPI
// template ("/v1/campaigns/{id}").
func OpenAPIPath(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + name + "}"
		}
	}
	return strings.Join(parts, "/")
}

// pathParamNames returns the :names of an Echo path, in order.
func pathParamNames(echoPath string) []string {
	var names []string
	for _, p := range strings.Split(echoPath, "/") {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			names = append(names, name)
		}
	}
	return names
}

// Spec is everything the document is built from.
type Spec struct {
	Title, Version, Description string
	Operations                  []Operation
	// ErrorType is the body of every error response; ErrorCodes maps each
	// error code to its HTTP status, ErrorTitles each status to a title.
	ErrorType   reflect.Type
	ErrorCodes  map[string]int
	ErrorTitles map[int]string
	// Tags in display order, with their descriptions.
	Tags []Tag
	// Schemes are bearer tokens other than the access token.
	Schemes []Scheme
}

// Scheme is a bearer token an operation may need instead of the access token.
type Scheme struct{ Name, Description string }

// Tag is a group of operations.
type Tag struct{ Name, Description string }

// securityScheme is the name of the bearer scheme in the document.
const securityScheme = "bearerAuth"

// Build returns the OpenAPI 3.1 document of spec.
func Build(spec Spec) (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title: spec.Title, Version: spec.Version, Description: spec.Description,
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{},
			Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{
				securityScheme: &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
					Type: "http", Scheme: "bearer", BearerFormat: "JWT",
					Description: "登录（POST /v1/auth/login）得到的访问令牌，放在 Authorization: Bearer … 中；有效期10分钟，用刷新令牌续期。",
				}},
			},
		},
		Security: openapi3.SecurityRequirements{{securityScheme: []string{}}},
	}
	for _, sc := range spec.Schemes {
		doc.Components.SecuritySchemes[sc.Name] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer", Description: sc.Description,
		}}
	}
	for _, t := range spec.Tags {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t.Name, Description: t.Description})
	}
	gen := newSchemaGen(doc.Components.Schemas)

	errRef, err := gen.ref(spec.ErrorType, false)
	if err != nil {
		return nil, fmt.Errorf("error body: %w", err)
	}
	statuses := map[int][]string{}
	for code, status := range spec.ErrorCodes {
		statuses[status] = append(statuses[status], code)
	}
	for status, codes := range statuses {
		slices.Sort(codes)
		title := spec.ErrorTitles[status]
		if title == "" {
			title = http.StatusText(status)
		}
		ex, _ := json.Marshal(map[string]string{"code": codes[0], "message": title, "request_id": "c0a80101-0001"})
		doc.Components.Responses[errorResponseName(status)] = &openapi3.ResponseRef{Value: &openapi3.Response{
			Description: ptr(fmt.Sprintf("%s。错误码：%s", title, strings.Join(codes, "、"))),
			Content: openapi3.Content{MIMEJSON: &openapi3.MediaType{
				Schema: errRef, Example: json.RawMessage(ex),
			}},
		}}
	}

	doc.Components.Responses[defaultErrorResponse] = &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: ptr("其他错误（如500 internal、503 unavailable），错误体相同"),
		Content:     openapi3.Content{MIMEJSON: &openapi3.MediaType{Schema: errRef}},
	}}

	seen := map[string]bool{}
	for i := range spec.Operations {
		op := &spec.Operations[i]
		key := op.Method + " " + op.Path
		if seen[key] {
			return nil, fmt.Errorf("operation %s is listed twice", key)
		}
		seen[key] = true
		o, err := buildOperation(gen, op, statuses)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		path := OpenAPIPath(op.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.SetOperation(op.Method, o)
	}
	if err := gen.finish(); err != nil {
		return nil, err
	}
	return doc, nil
}

var successTitles = map[int]string{
	http.StatusOK:        "成功",
	http.StatusCreated:   "已创建",
	http.StatusNoContent: "成功，无响应体",
}

// defaultErrorResponse is the component for statuses an operation does not list.
const defaultErrorResponse = "Error"

func errorResponseName(status int) string { return "Error" + strconv.Itoa(status) }

func buildOperation(gen *schemaGen, op *Operation, errStatuses map[int][]string) (*openapi3.Operation, error) {
	o := &openapi3.Operation{
		OperationID: operationID(op.Method, op.Path),
		Tags:        []string{op.Tag},
		Summary:     op.Summary,
		Description: op.Description,
		Responses:   openapi3.NewResponses(),
	}
	switch {
	case op.Scheme != "":
		o.Security = &openapi3.SecurityRequirements{{op.Scheme: []string{}}}
	case op.Public:
		o.Security = &openapi3.SecurityRequirements{} // overrides the document's: no token
	}
	given := map[string]Param{}
	for _, p := range op.PathParams {
		given[p.Name] = p
	}
	names := pathParamNames(op.Path)
	for _, name := range names {
		p, ok := given[name]
		if !ok {
			p = Param{Name: name, Type: "integer", Description: "对象编号（正整数）"}
		}
		p.Required = true
		o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: param(openapi3.ParameterInPath, p)})
		delete(given, name)
	}
	for name := range given {
		return nil, fmt.Errorf("path parameter %q is not in the path", name)
	}
	for _, p := range op.Query {
		o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: param(openapi3.ParameterInQuery, p)})
	}
	for _, p := range op.Headers {
		o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: param(openapi3.ParameterInHeader, p)})
	}

	errs := slices.Clone(op.Errors)
	if op.Request != nil {
		content, err := gen.content(op.Request, true)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		o.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{
			Description: op.Request.Description, Required: !op.Request.Optional, Content: content,
		}}
		errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if len(op.Query) > 0 {
		errs = append(errs, http.StatusBadRequest)
	}
	if !op.Public && op.Scheme == "" {
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
	}
	if len(names) > 0 {
		errs = append(errs, http.StatusNotFound)
	}

	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := &openapi3.Response{Description: ptr(successTitles[status])}
	if *resp.Description == "" {
		resp.Description = ptr(http.StatusText(status))
	}
	if op.Response != nil {
		if op.Response.Description != "" {
			resp.Description = ptr(op.Response.Description)
		}
		content, err := gen.content(op.Response, false)
		if err != nil {
			return nil, fmt.Errorf("response: %w", err)
		}
		resp.Content = content
	}
	for _, h := range op.ResponseHeaders {
		if resp.Headers == nil {
			resp.Headers = openapi3.Headers{}
		}
		p := param(openapi3.ParameterInHeader, h)
		resp.Headers[h.Name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: p.Description, Schema: p.Schema,
		}}}
	}
	o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: resp})

	slices.Sort(errs)
	for _, st := range slices.Compact(errs) {
		if _, ok := errStatuses[st]; !ok {
			return nil, fmt.Errorf("no error code answers with status %d", st)
		}
		o.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Ref: "#/components/responses/" + errorResponseName(st)})
	}
	// Anything else (500 internal, 503 unavailable, …) has the same body.
	o.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/" + defaultErrorResponse})
	return o, nil
}

func param(in string, p Param) *openapi3.Parameter {
	typ := p.Type
	if typ == "" {
		typ = "string"
	}
	s := &openapi3.Schema{Type: &openapi3.Types{typ}}
	if typ == "integer" && in == openapi3.ParameterInPath {
		s.Format = "int64"
		s.Min = ptr(1.0)
	}
	for _, e := range p.Enum {
		s.Enum = append(s.Enum, e)
	}
	out := &openapi3.Parameter{
		Name: p.Name, In: in, Description: p.Description, Required: p.Required,
		Schema: &openapi3.SchemaRef{Value: s},
	}
	if p.Example != "" {
		out.Example = p.Example
		if n, err := strconv.ParseInt(p.Example, 10, 64); err == nil && typ == "integer" {
			out.Example = n
		}
	}
	return out
}

// operationID names an operation after its method and path:
// "POST /v1/campaigns/:id/commit" → "post_v1_campaigns_id_commit".
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, r := range path {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ':':
		default:
			b.WriteByte('_')
		}
	}
	return strings.TrimRight(b.String(), "_")
}

func ptr[T any](v T) *T { return &v }
