package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/settle"
)

// jsonBodyError turns a failed strict decode of body into v into an
// invalid-request error that names every faulty field and its rule (issue
// 18: a negative amount was answered "the body is not valid JSON"). Syntax
// errors name the byte offset; everything else is found by walking the body
// against v's type (jsonFaults), so a wrong type, an unknown field and a
// value its type refuses (a negative amount, a date that is no date) each
// come back as {field, code, message}, with array indices in the path
// (lines[2].dose).
func jsonBodyError(body []byte, v any, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimSpace(body))) && strings.HasPrefix(se.Error(), "unexpected end of JSON input"):
		// json.Unmarshal's word for a body cut short (a Decoder's io.ErrUnexpectedEOF).
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json", Err: err,
			Fields: []care.FieldError{{Field: "body", Key: "error.json_syntax", Args: []any{len(body)}}}}
	case errors.As(err, &se):
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json", Err: err,
			Fields: []care.FieldError{{Field: "body", Key: "error.json_syntax", Args: []any{se.Offset}}}}
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) == 0:
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json", Err: err,
			Fields: []care.FieldError{{Field: "body", Key: "error.json_empty"}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json", Err: err,
			Fields: []care.FieldError{{Field: "body", Key: "error.json_syntax", Args: []any{len(body)}}}}
	}
	fs := jsonFaults(body, reflect.TypeOf(v), "")
	if len(fs) == 0 {
		// The walk found nothing the decoder did: name what the decoder says.
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			fs = []care.FieldError{{Field: te.Field, Key: "error.field_invalid"}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			fs = []care.FieldError{{Field: name, Key: "error.field_unknown"}}
		default:
			fs = []care.FieldError{{Field: "body", Key: "error.field_invalid"}}
		}
	}
	return &care.Error{Code: care.EINVALID, Key: "error.invalid", Fields: fs, Err: err}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	fenType         = reflect.TypeFor[settle.Fen]()
	ratioType       = reflect.TypeFor[settle.Ratio]()
	dateType        = reflect.TypeFor[care.Date]()
)

// jsonFaults lists the fields of raw that cannot be decoded into a value of
// type t, with path as their prefix, sorted by path.
func jsonFaults(raw []byte, t reflect.Type, path string) []care.FieldError {
	raw = bytes.TrimSpace(raw)
	if t == nil || len(raw) == 0 {
		return nil
	}
	field := path
	if field == "" {
		field = "body"
	}
	for t.Kind() == reflect.Pointer {
		if string(raw) == "null" {
			return nil
		}
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		if pt.Implements(textUnmarshaler) && !pt.Implements(jsonUnmarshaler) && raw[0] != '"' && string(raw) != "null" {
			return []care.FieldError{{Field: field, Key: valueRule(t, raw)}}
		}
		if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			return []care.FieldError{{Field: field, Key: valueRule(t, raw)}}
		}
		return nil
	}
	if string(raw) == "null" {
		return nil // null leaves the Go value as it is
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return []care.FieldError{{Field: field, Key: "error.field_want_object"}}
		}
		fields := jsonFields(t)
		var out []care.FieldError
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				ft, ok = fields[strings.ToLower(k)] // encoding/json matches names case-insensitively
			}
			if !ok {
				out = append(out, care.FieldError{Field: sub, Key: "error.field_unknown"})
				continue
			}
			out = append(out, jsonFaults(obj[k], ft, sub)...)
		}
		return out
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && raw[0] == '"' {
			if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
				return []care.FieldError{{Field: field, Key: "error.field_invalid"}}
			}
			return nil
		}
		var arr []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &arr) != nil {
			return []care.FieldError{{Field: field, Key: "error.field_want_array"}}
		}
		var out []care.FieldError
		for i, el := range arr {
			out = append(out, jsonFaults(el, t.Elem(), field+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case reflect.Map:
		var obj map[string]json.RawMessage
		if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
			return []care.FieldError{{Field: field, Key: "error.field_want_object"}}
		}
		var out []care.FieldError
		for k, el := range obj {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			out = append(out, jsonFaults(el, t.Elem(), sub)...)
		}
		slices.SortFunc(out, func(a, b care.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return out
	case reflect.Interface:
		return nil
	}
	if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
		return []care.FieldError{{Field: field, Key: scalarRule(t, raw)}}
	}
	return nil
}

// jsonFields maps the JSON names of t's fields (and their lower-case forms)
// to their types, flattening embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					add(et)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, ok := out[name]; !ok {
				out[name] = f.Type
			}
			if _, ok := out[strings.ToLower(name)]; !ok {
				out[strings.ToLower(name)] = f.Type
			}
		}
	}
	add(t)
	return out
}

// scalarRule names what a scalar field wants.
func scalarRule(t reflect.Type, raw []byte) string {
	switch t.Kind() {
	case reflect.String:
		return "error.field_want_string"
	case reflect.Bool:
		return "error.field_want_boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return "error.field_want_integer_range" // a number, but not a whole one in range
		}
		return "error.field_want_integer"
	case reflect.Float32, reflect.Float64:
		return "error.field_want_number"
	}
	return "error.field_invalid"
}

// valueRule names the rule a value of a type with its own decoding breaks.
func valueRule(t reflect.Type, raw []byte) string {
	switch t {
	case fenType:
		switch {
		case raw[0] != '"':
			return "error.field_want_amount"
		case len(raw) > 1 && raw[1] == '-':
			return "error.field_negative"
		}
		return "error.field_amount"
	case ratioType:
		return "error.field_percent"
	case dateType:
		return "error.field_date"
	}
	return "error.field_invalid"
}
