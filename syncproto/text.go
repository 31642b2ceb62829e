package syncproto

import "reflect"

// ControlChar reports whether s holds a control character: a C0 control
// (NUL included, which PostgreSQL cannot store), DEL, or a C1 control. With
// multiline, tab, line feed and carriage return are allowed, as in notes.
func ControlChar(s string, multiline bool) bool {
	for _, r := range s {
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
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
