package syncproto

import "reflect"

// ControlChar reports whether s holds a control character: a C0 control
// (NUL included, which PostgreSQL cannot store), DEL, or a C1 control. With
// multiline, tab, line feed and carriage return are allowed, as in notes.
func ControlChar(s string, multiline bool) bool {
	// Byte by byte: C0 controls and DEL are single bytes, and a C1 control
	// is 0xC2 followed by 0x80-0x9F. 0xC2 never continues a character, so
	// it starts one wherever it stands, as a rune-by-rune reading finds too.
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x20 && c < 0x7f || c > 0xc2:
		case c < 0x20:
			if !multiline || c != '\t' && c != '\n' && c != '\r' {
				return true
			}
		case c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] < 0xa0:
			return true
		}
	}
	return false
}

// controlField finds a string in v holding a control character other than
// tab, line feed and carriage return and returns the JSON name of its field.
// ControlField finds a string anywhere in v (a decoded request) holding a
// control character other than tab, line feed and carriage return, and
// returns the JSON name of its field. Bytes ([]byte, raw JSON) are not text.
func ControlField(v any) (string, bool) { return controlField(reflect.ValueOf(v), "") }

func controlField(v reflect.Value, field string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		if ControlChar(v.String(), true) {
			return field, true
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return controlField(v.Elem(), field)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("json"); tag != "" {
				for j := 0; j < len(tag); j++ {
					if tag[j] == ',' {
						tag = tag[:j]
						break
					}
				}
				if tag != "" {
					name = tag
				}
			}
			if got, ok := controlField(v.Field(i), name); ok {
				return got, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // raw JSON or bytes, not text
		}
		for i := range v.Len() {
			if got, ok := controlField(v.Index(i), field); ok {
				return got, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if got, ok := controlField(it.Key(), field); ok {
				return got, true
			}
			if got, ok := controlField(it.Value(), field); ok {
				return got, true
			}
		}
	}
	return "", false
}
