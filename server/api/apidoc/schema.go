package apidoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// schemaGen turns Go types into schemas with openapi3gen and adapts what it
// writes to OpenAPI 3.1 (JSON Schema 2020-12): "nullable" becomes a type
// array or an anyOf with null; fields the encoder always writes are
// required in responses; structs are components named after their package.
type schemaGen struct {
	gen     *openapi3gen.Generator
	schemas openapi3.Schemas
	// names maps each component name to its Go type, to refuse two types
	// with one name.
	names map[string]reflect.Type
	// textual are types that marshal themselves as JSON strings.
	textual map[string]*openapi3.Schema
	// inRequest and inResponse: the components reached from request and
	// from response bodies. Those reached only from requests get no
	// "required": a field left out decodes as its zero value, and what a
	// request must hold is the handler's Validate.
	inRequest, inResponse map[string]bool
	roots                 []*openapi3.SchemaRef
	rootIsRequest         []bool
}

var timeType = reflect.TypeFor[time.Time]()

func newSchemaGen(schemas openapi3.Schemas) *schemaGen {
	g := &schemaGen{schemas: schemas, names: map[string]reflect.Type{}, textual: map[string]*openapi3.Schema{},
		inRequest: map[string]bool{}, inResponse: map[string]bool{}}
	g.gen = openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
			ExportComponentSchemas: true, ExportTopLevelSchema: true,
		}),
		// encoding/json writes exported fields without a tag under their Go
		// name; so must the schema.
		openapi3gen.UseAllExportedFields(),
		openapi3gen.CreateTypeNameGenerator(g.typeName),
		openapi3gen.SchemaCustomizer(g.customize),
	)
	return g
}

// typeName is "Campaign" for server/api's types and "syncproto.Session",
// "server.FollowUp" for others, so that equal names in two packages differ.
func (g *schemaGen) typeName(t reflect.Type) string {
	name := t.Name()
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg != "api" && pkg != "" {
		name = pkg + "." + name
	}
	if prev, ok := g.names[name]; ok && prev != t {
		panic(fmt.Sprintf("apidoc: %s and %s share the schema name %s", prev, t, name))
	}
	g.names[name] = t
	return name
}

// customize adapts the schema of each struct: required and nullable
// fields, and types that marshal themselves.
func (g *schemaGen) customize(_ string, t reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
	if t.Kind() != reflect.Struct || t == timeType {
		return nil
	}
	if t.Implements(reflect.TypeFor[json.Marshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		// server.Date is the only such type: "YYYY-MM-DD" or null.
		if t.Name() != "Date" {
			return fmt.Errorf("type %s marshals itself: describe it in apidoc", t)
		}
		*s = openapi3.Schema{Type: &openapi3.Types{"string", "null"}, Format: "date", Description: "日期 YYYY-MM-DD"}
		g.textual[g.typeName(t)] = s
		return nil
	}
	for _, f := range jsonFields(t) {
		prop, ok := s.Properties[f.name]
		if !ok {
			continue // an empty schema returned for a component seen before
		}
		if !f.omitempty {
			s.Required = append(s.Required, f.name)
		}
		if f.nilable {
			s.Properties[f.name] = nullable(prop)
		}
	}
	return nil
}

// nullable returns ref allowing null as well.
func nullable(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	// openapi3gen names inline schemas in Ref too ("Time"); only a
	// component reference must be wrapped.
	if strings.HasPrefix(ref.Ref, "#/") || ref.Value == nil || ref.Value.Type == nil || ref.Value.Type.IsEmpty() {
		return &openapi3.SchemaRef{Value: &openapi3.Schema{AnyOf: openapi3.SchemaRefs{
			ref, {Value: &openapi3.Schema{Type: &openapi3.Types{"null"}}},
		}}}
	}
	v := *ref.Value
	v.Nullable = false
	types := v.Type.Clone()
	if !types.Includes("null") {
		types = append(types, "null")
	}
	v.Type = &types
	return &openapi3.SchemaRef{Value: &v}
}

type jsonField struct {
	name               string
	omitempty, nilable bool
}

// jsonFields lists the JSON fields of struct t as encoding/json writes them,
// embedded structs flattened.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		ft := f.Type
		if f.Anonymous && !hasTag {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		k := ft.Kind()
		nilable := k == reflect.Pointer || k == reflect.Slice && ft.Elem().Kind() != reflect.Uint8 || k == reflect.Map || k == reflect.Interface
		out = append(out, jsonField{name: name, omitempty: omit, nilable: nilable})
	}
	return out
}

// ref returns the schema of t, a component reference for structs.
func (g *schemaGen) ref(t reflect.Type, request bool) (*openapi3.SchemaRef, error) {
	ref, err := g.gen.NewSchemaRefForValue(reflect.New(t).Elem().Interface(), g.schemas)
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, errors.New("no schema for " + t.String())
	}
	g.roots = append(g.roots, ref)
	g.rootIsRequest = append(g.rootIsRequest, request)
	return ref, nil
}

// content describes a body.
func (g *schemaGen) content(b *Body, request bool) (openapi3.Content, error) {
	out := openapi3.Content{}
	if !b.IsJSON() {
		if len(b.ContentTypes) == 0 {
			return nil, errors.New("a body without a Go type needs a content type")
		}
		for _, ct := range b.ContentTypes {
			s := &openapi3.Schema{Type: &openapi3.Types{"string"}, ContentMediaType: ct}
			if ct == MIMEJSON {
				s = &openapi3.Schema{Type: &openapi3.Types{"object"}, Description: b.Description}
			}
			out[ct] = &openapi3.MediaType{Schema: &openapi3.SchemaRef{Value: s}}
		}
		if b.Example != "" {
			return nil, errors.New("an example is for JSON bodies")
		}
		return out, nil
	}
	ref, err := g.ref(b.Type, request)
	if err != nil {
		return nil, err
	}
	mt := &openapi3.MediaType{Schema: ref}
	if b.Example != "" {
		var v any
		if err := json.Unmarshal([]byte(b.Example), &v); err != nil {
			return nil, fmt.Errorf("example is not JSON: %w", err)
		}
		mt.Example = v
	}
	out[MIMEJSON] = mt
	return out, nil
}

// finish resolves what openapi3gen leaves undone: references to types that
// marshal themselves are inlined, "nullable" becomes a type array, and
// components reached only from requests lose "required".
func (g *schemaGen) finish() error {
	var walkErr error
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef, request bool)
	walk = func(ref *openapi3.SchemaRef, request bool) {
		if ref == nil || walkErr != nil {
			return
		}
		if name, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/"); ok {
			if s, ok := g.textual[name]; ok {
				ref.Ref, ref.Value = "", s
				return
			}
			c, ok := g.schemas[name]
			if !ok {
				walkErr = fmt.Errorf("schema %s is referenced but not defined", name)
				return
			}
			mark := g.inResponse
			if request {
				mark = g.inRequest
			}
			if mark[name] {
				return
			}
			mark[name] = true
			walk(c, request)
			return
		}
		s := ref.Value
		if s == nil {
			return
		}
		if s.Nullable {
			s.Nullable = false
			if s.Type != nil && !s.Type.IsEmpty() && !s.Type.Includes("null") {
				types := append(s.Type.Clone(), "null")
				s.Type = &types
			}
		}
		if seen[s] && !request {
			return
		}
		seen[s] = true
		for _, p := range s.Properties {
			walk(p, request)
		}
		walk(s.Items, request)
		walk(s.AdditionalProperties.Schema, request)
		for _, sub := range [][]*openapi3.SchemaRef{s.AnyOf, s.OneOf, s.AllOf} {
			for _, r := range sub {
				walk(r, request)
			}
		}
	}
	for i, r := range g.roots {
		walk(r, g.rootIsRequest[i])
	}
	if walkErr != nil {
		return walkErr
	}
	for name, c := range g.schemas {
		if g.inRequest[name] && !g.inResponse[name] && c.Value != nil {
			c.Value.Required = nil
		}
	}
	return nil
}
