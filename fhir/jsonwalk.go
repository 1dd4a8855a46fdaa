package fhir

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A transaction bundle is mostly resources the write path reads a few
// members of, or none (types the platform does not hold). decodeBundle
// reads one with a single validating pass (validJSON, json.Valid's
// answer without its per-byte state machine) and then a walk that only
// finds where each value starts and ends — no copies, no maps, each
// resource kept as its raw bytes and its resourceType — instead of
// decoding the whole document (encoding/json scans each byte two or three
// times and copies every raw value). Only the resources of types the
// platform holds are split into their members (members), and the
// members the write path takes are decoded with encoding/json.

// walkError is a bundle that is valid JSON of the wrong shape.
type walkError string

func (e walkError) Error() string { return string(e) }

// decodeBundle reads a Bundle's type, resourceType and entries. The
// entries' resources are objects of raw members that point into body.
func decodeBundle(body []byte) (*bundleIn, error) {
	if !validJSON(body) {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		return nil, walkError("not JSON")
	}
	if !utf8.Valid(body) {
		// JSON text is UTF-8 (RFC 8259 §8.1): a member name in another
		// encoding would be read by the walk as written and by encoding/json
		// as U+FFFD, so the two would see different resources.
		return nil, walkError("not UTF-8 text")
	}
	i := skipWS(body, 0)
	if body[i] != '{' {
		return nil, walkError("not a JSON object")
	}
	b := &bundleIn{}
	var err error
	walkObject(body, i, func(key []byte, v int) int {
		if err != nil {
			return 0
		}
		switch string(key) {
		case `"resourceType"`:
			err = unmarshalMember("resourceType", body[v:skipValue(body, v)], &b.ResourceType)
		case `"type"`:
			err = unmarshalMember("type", body[v:skipValue(body, v)], &b.Type)
		case `"entry"`:
			if body[v] != '[' {
				err = walkError("entry: not an array")
				return 0
			}
			b.Entry = nil // a repeated member: the last stands, as encoding/json
			return walkArray(body, v, func(el int) int {
				if err != nil {
					return 0
				}
				if body[el] != '{' {
					err = walkError("entry: an element is not an object")
					return 0
				}
				var e entryIn
				end := walkObject(body, el, func(k []byte, v int) int {
					if err != nil {
						return 0
					}
					switch string(k) {
					case `"fullUrl"`:
						err = unmarshalMember("fullUrl", body[v:skipValue(body, v)], &e.FullURL)
					case `"request"`:
						err = unmarshalMember("request", body[v:skipValue(body, v)], &e.Request)
					case `"resource"`:
						if body[v] != '{' {
							return 0 // no resource: refused by ParseBundle
						}
						e.Resource, e.ResourceType = nil, nil
						end := walkObject(body, v, func(rk []byte, rv int) int {
							if memberName(rk) == "resourceType" {
								end := skipValue(body, rv)
								e.ResourceType = body[rv:end] // the last stands, as encoding/json
								return end
							}
							return 0
						})
						e.Resource = body[v:end]
						return end
					}
					return 0
				})
				b.Entry = append(b.Entry, e)
				return end
			})
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// memberName is a member's name from its key as written (quoted,
// perhaps with escapes).
func memberName(key []byte) string {
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		json.Unmarshal(key, &s)
		return s
	}
	return string(key[1 : len(key)-1])
}

// members splits a resource (a valid JSON object, as decodeBundle keeps
// it) into its top-level members, raw values pointing into it.
func members(res []byte) object {
	o := object{}
	walkObject(res, 0, func(k []byte, v int) int {
		end := skipValue(res, v)
		o[memberName(k)] = res[v:end]
		return end
	})
	return o
}

// unmarshalMember decodes one member's value; a wrong type names it.
func unmarshalMember(name string, val []byte, v any) error {
	if err := json.Unmarshal(val, v); err != nil {
		return walkError(name + ": " + jsonDetail(err))
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the value that starts at i, in
// JSON already known to be valid.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; ; i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// walkObject walks the valid JSON object that starts at i: fn gets each
// member's key (quoted, as written) and where its value starts, and
// returns where the value ends if it read it, or 0 to have it skipped.
// It returns the index past the object.
func walkObject(b []byte, i int, fn func(key []byte, v int) int) int {
	i = skipWS(b, i+1) // past '{'
	for b[i] != '}' {
		k := skipValue(b, i)
		key := b[i:k]
		i = skipWS(b, k)
		v := skipWS(b, i+1) // past ':'
		end := fn(key, v)
		if end == 0 {
			end = skipValue(b, v)
		}
		i = skipWS(b, end)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return i + 1
}

// walkArray walks the valid JSON array that starts at i as walkObject
// walks an object: fn gets where each element starts.
func walkArray(b []byte, i int, fn func(v int) int) int {
	i = skipWS(b, i+1) // past '['
	for b[i] != ']' {
		end := fn(i)
		if end == 0 {
			end = skipValue(b, i)
		}
		i = skipWS(b, end)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return i + 1
}

// maxNesting is encoding/json's bound on nested objects and arrays: past
// it json.Valid says no, and so does validJSON.
const maxNesting = 10000

// validJSON reports whether b is one JSON value (RFC 8259) between
// optional whitespace: json.Valid's answer (FuzzValidJSON), in one
// recursive pass rather than a state machine called for every byte.
// Strings are not checked for UTF-8 (json.Valid does not either).
func validJSON(b []byte) bool {
	i, ok := validValue(b, skipWS(b, 0), 0)
	return ok && skipWS(b, i) == len(b)
}

// validValue checks the value that starts at i and returns the index past it.
func validValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '{', '[':
		if depth++; depth > maxNesting {
			return i, false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == end {
			return i + 1, true
		}
		for {
			ok := true
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = validString(b, i); !ok {
					return i, false
				}
				if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipWS(b, i+1)
			}
			if i, ok = validValue(b, i, depth); !ok {
				return i, false
			}
			if i = skipWS(b, i); i >= len(b) {
				return i, false
			}
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
			case end:
				return i + 1, true
			default:
				return i, false
			}
		}
	case '"':
		return validString(b, i)
	case 't':
		return i + 4, bytes.HasPrefix(b[i:], []byte("true"))
	case 'f':
		return i + 5, bytes.HasPrefix(b[i:], []byte("false"))
	case 'n':
		return i + 4, bytes.HasPrefix(b[i:], []byte("null"))
	}
	return validNumber(b, i)
}

// validString checks the string that starts at i (its opening quote).
func validString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i++; i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// validNumber checks the number that starts at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) (int, bool) {
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}
