package apidoc

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// StyleCSS is the page's style sheet, served beside it: the page has no
// inline style or script, so a strict Content-Security-Policy holds.
//
//go:embed style.css
var StyleCSS []byte

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// PageCSP is the Content-Security-Policy the page satisfies: no script at
// all, the style sheet from the same origin, nothing else.
const PageCSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// WritePage renders doc as a readable page in Simplified Chinese. styleURL
// is where the style sheet is served; specURL where the JSON document is.
func WritePage(w io.Writer, doc *openapi3.T, styleURL, specURL string) error {
	v := pageView{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description,
		StyleURL: styleURL, SpecURL: specURL}
	byTag := map[string]*tagView{}
	for _, t := range doc.Tags {
		tv := &tagView{Name: t.Name, Description: t.Description}
		byTag[t.Name] = tv
		v.Tags = append(v.Tags, tv)
	}
	paths := doc.Paths.Keys()
	slices.Sort(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		methods := make([]string, 0, 4)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			o := item.GetOperation(m)
			ov := operationView(doc, m, path, o)
			tag := ""
			if len(o.Tags) > 0 {
				tag = o.Tags[0]
			}
			tv := byTag[tag]
			if tv == nil {
				tv = &tagView{Name: tag}
				byTag[tag] = tv
				v.Tags = append(v.Tags, tv)
			}
			tv.Operations = append(tv.Operations, ov)
			v.Count++
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v.Schemas = append(v.Schemas, schemaView{Name: name, Anchor: schemaAnchor(name),
			Fields: fields(doc.Components.Schemas[name].Value)})
	}
	errNames := make([]string, 0, len(doc.Components.Responses))
	for name := range doc.Components.Responses {
		errNames = append(errNames, name)
	}
	slices.Sort(errNames)
	for _, name := range errNames {
		r := doc.Components.Responses[name].Value
		status := strings.TrimPrefix(name, "Error")
		if status == "" {
			status = "其他"
		}
		v.Errors = append(v.Errors, errorView{Status: status, Description: deref(r.Description)})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type pageView struct {
	Title, Version, Description string
	StyleURL, SpecURL           string
	Count                       int
	Tags                        []*tagView
	Schemas                     []schemaView
	Errors                      []errorView
}

type tagView struct {
	Name, Description string
	Operations        []opView
}

type opView struct {
	Method, Path, ID, Summary, Description string
	Public                                 bool
	// Scheme names the token needed when it is not the access token.
	Scheme    string
	Params    []paramView
	Request   *bodyView
	Responses []responseView
}

type paramView struct {
	Name, In, Type, Description string
	Required                    bool
}

type bodyView struct {
	ContentTypes []string
	Required     bool
	Description  string
	Schema       typeView
	Fields       fieldsView
	Example      string
}

// fieldsView is a table of fields; Required shows the column of fields
// always present (responses), left out for requests, whose rules are the
// handler's.
type fieldsView struct {
	Rows     []fieldView
	Required bool
}

type responseView struct {
	Status, Description string
	Body                *bodyView
	ErrorRef            bool
}

type schemaView struct {
	Name, Anchor string
	Fields       fieldsView
}

type fieldView struct {
	Name     string
	Type     typeView
	Required bool
}

type errorView struct{ Status, Description string }

// typeView is a type as text with links to the components it names.
type typeView []typePart

type typePart struct{ Text, Link string }

func operationView(doc *openapi3.T, method, path string, o *openapi3.Operation) opView {
	ov := opView{Method: method, Path: path, ID: o.OperationID, Summary: o.Summary, Description: o.Description,
		Public: o.Security != nil && len(*o.Security) == 0}
	if o.Security != nil {
		for _, req := range *o.Security {
			for name := range req {
				if name != securityScheme {
					ov.Scheme = name
				}
			}
		}
	}
	for _, p := range o.Parameters {
		pv := p.Value
		ov.Params = append(ov.Params, paramView{Name: pv.Name, In: paramIn[pv.In], Type: typeText(pv.Schema).String(),
			Description: pv.Description, Required: pv.Required})
	}
	if rb := o.RequestBody; rb != nil && rb.Value != nil {
		ov.Request = body(rb.Value.Content, rb.Value.Description)
		ov.Request.Required = rb.Value.Required
	}
	codes := o.Responses.Keys()
	slices.Sort(codes) // "default" sorts after the digits
	for _, code := range codes {
		r := o.Responses.Value(code)
		rv := responseView{Status: code}
		if code == "default" {
			rv.Status = "其他"
		}
		if r.Ref != "" {
			rv.ErrorRef = true
			name := strings.TrimPrefix(r.Ref, "#/components/responses/")
			if c, ok := doc.Components.Responses[name]; ok {
				rv.Description = deref(c.Value.Description)
			}
		} else {
			rv.Description = deref(r.Value.Description)
			if len(r.Value.Content) > 0 {
				rv.Body = body(r.Value.Content, "")
			}
		}
		ov.Responses = append(ov.Responses, rv)
	}
	return ov
}

var paramIn = map[string]string{"path": "路径", "query": "查询", "header": "请求头"}

func body(content openapi3.Content, description string) *bodyView {
	bv := &bodyView{Description: description}
	types := make([]string, 0, len(content))
	for ct := range content {
		types = append(types, ct)
	}
	slices.Sort(types)
	bv.ContentTypes = types
	if mt := content[MIMEJSON]; mt != nil {
		bv.Schema = typeText(mt.Schema)
		s := mt.Schema
		if s != nil && s.Ref == "" && s.Value != nil {
			bv.Fields = fields(s.Value)
		}
		if mt.Example != nil {
			if b, err := json.MarshalIndent(mt.Example, "", "  "); err == nil {
				bv.Example = string(b)
			}
		}
	}
	return bv
}

func fields(s *openapi3.Schema) fieldsView {
	if s == nil {
		return fieldsView{}
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]fieldView, 0, len(names))
	for _, name := range names {
		out = append(out, fieldView{Name: name, Type: typeText(s.Properties[name]), Required: slices.Contains(s.Required, name)})
	}
	return fieldsView{Rows: out, Required: len(s.Required) > 0}
}

func schemaAnchor(name string) string { return "schema-" + strings.ReplaceAll(name, ".", "-") }

func (t typeView) String() string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.Text)
	}
	return b.String()
}

// typeText writes a schema as a short type expression: "string | null",
// "array<syncproto.Mutation>", links for components.
func typeText(ref *openapi3.SchemaRef) typeView {
	if ref == nil {
		return typeView{{Text: "任意"}}
	}
	if name, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/"); ok {
		return typeView{{Text: name, Link: "#" + schemaAnchor(name)}}
	}
	s := ref.Value
	if s == nil {
		return typeView{{Text: "任意"}}
	}
	if len(s.AnyOf) > 0 {
		var out typeView
		for i, r := range s.AnyOf {
			if i > 0 {
				out = append(out, typePart{Text: " | "})
			}
			out = append(out, typeText(r)...)
		}
		return out
	}
	if s.Type == nil || s.Type.IsEmpty() {
		return typeView{{Text: "任意"}}
	}
	var out typeView
	for i, t := range s.Type.Slice() {
		if i > 0 {
			out = append(out, typePart{Text: " | "})
		}
		switch t {
		case "array":
			out = append(out, typePart{Text: "array<"})
			out = append(out, typeText(s.Items)...)
			out = append(out, typePart{Text: ">"})
		case "object":
			if s.AdditionalProperties.Schema != nil {
				out = append(out, typePart{Text: "object<string, "})
				out = append(out, typeText(s.AdditionalProperties.Schema)...)
				out = append(out, typePart{Text: ">"})
			} else {
				out = append(out, typePart{Text: "object"})
			}
		default:
			text := t
			if s.Format != "" && t != "null" {
				text += " (" + s.Format + ")"
			}
			if len(s.Enum) > 0 && t != "null" {
				vals := make([]string, len(s.Enum))
				for i, e := range s.Enum {
					b, _ := json.Marshal(e)
					vals[i] = string(b)
				}
				text += " ∈ {" + strings.Join(vals, ", ") + "}"
			}
			out = append(out, typePart{Text: text})
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
