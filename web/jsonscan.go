package web

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"countycare/care"
)

// Limits on the shape of a JSON body (issue 18 §2: every parser of outside
// input works in bounded memory). The endpoints' bodies nest 5 levels at
// most (a settlement policy) and hold at most about 2,000 array elements
// (a bill of settle.MaxLines lines); what is decoded is
// bounded by the body and by these counts (docs/architecture.md, "A
// request").
const (
	// MaxJSONDepth bounds the nesting of arrays and objects.
	MaxJSONDepth = 32
	// MaxJSONValues bounds the values that make a decoded value grow: the
	// elements of arrays and the members of objects other than structs'
	// (maps, untyped values), at every level together. A struct's members
	// fill its fixed fields (unknown ones are refused), so they are not
	// counted.
	MaxJSONValues = 10_000
)

// jsonScan checks a body against the type it will be decoded into, without
// allocating: nesting depth and the number of values (refused at once, as
// an invalid request naming the byte), object keys that name no field of
// their struct (as encoding/json's DisallowUnknownFields would refuse), and
// data after the top-level value. A syntax error stops the scan; the
// decoder then names it.
type jsonScan struct {
	b       []byte
	i       int
	depth   int
	values  int
	unknown string // the first key that names no field ("" if none)
	hasUnk  bool
	syntax  bool
	limit   *care.Error
}

// scanJSON scans body for a value of type t. It returns the refusal over a
// limit, or the end of the first value (end < len(body) when data follows).
func scanJSON(body []byte, t reflect.Type) (s *jsonScan, end int) {
	s = &jsonScan{b: body}
	s.value(t)
	end = s.i
	s.ws()
	return s, end
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) stop() bool { return s.syntax || s.limit != nil }

func (s *jsonScan) over(key string, max int) {
	s.limit = &care.Error{Code: care.EINVALID, Key: "error.bad_json",
		Fields: []care.FieldError{{Field: "body", Key: key, Args: []any{max, s.i}}}}
}

// str skips a string starting at s.i ('"'); it returns its contents and
// whether they hold an escape.
func (s *jsonScan) str() (raw []byte, escaped bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], escaped
		}
	}
	s.syntax = true
	return nil, false
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	fieldsCache    sync.Map // reflect.Type → map[string]reflect.Type
)

// opaque reports whether the decoder hands t's JSON to t itself (or keeps
// it raw): its keys are not checked.
func opaque(t reflect.Type) bool {
	if t == nil || t == rawMessageType || t.Kind() == reflect.Interface {
		return true
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler)
}

func (s *jsonScan) value(t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && opaque(t) {
		t = nil
	}
	s.ws()
	if s.i >= len(s.b) {
		s.syntax = true
		return
	}
	switch s.b[s.i] {
	case '{':
		s.container(t, '}')
	case '[':
		s.container(t, ']')
	case '"':
		s.str()
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

func (s *jsonScan) container(t reflect.Type, close byte) {
	if s.depth++; s.depth > MaxJSONDepth {
		s.over("error.json_too_deep", MaxJSONDepth)
		return
	}
	s.i++
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch {
		case close == '}' && t.Kind() == reflect.Struct:
			if f, ok := fieldsCache.Load(t); ok {
				fields = f.(map[string]reflect.Type)
			} else {
				fields = jsonFields(t)
				fieldsCache.Store(t, fields)
			}
		case close == '}' && t.Kind() == reflect.Map, close == ']' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			elem = t.Elem()
		}
	}
	for first := true; ; first = false {
		s.ws()
		if s.i >= len(s.b) {
			s.syntax = true
			return
		}
		if s.b[s.i] == close && first {
			s.i++
			s.depth--
			return
		}
		if close == ']' || fields == nil {
			s.values++
		}
		if s.values > MaxJSONValues {
			s.over("error.json_too_many", MaxJSONValues)
			return
		}
		vt := elem
		if close == '}' {
			if s.b[s.i] != '"' {
				s.syntax = true
				return
			}
			raw, escaped := s.str()
			if s.stop() {
				return
			}
			if fields != nil {
				k := string(raw)
				if escaped {
					k, _ = strconv.Unquote(`"` + k + `"`)
				}
				ft, ok := fields[k]
				if !ok {
					ft, ok = fields[strings.ToLower(k)]
				}
				if !ok && !s.hasUnk {
					s.unknown, s.hasUnk = k, true
				}
				vt = ft
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				s.syntax = true
				return
			}
			s.i++
		}
		s.value(vt)
		if s.stop() {
			return
		}
		s.ws()
		if s.i >= len(s.b) {
			s.syntax = true
			return
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			s.depth--
			return
		default:
			s.syntax = true
			return
		}
	}
}
