package fhir

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A transaction bundle is mostly resources the write path reads a few
// members of, or none (types the platform does not hold). decodeBundle
// reads one with a single validating pass (json.Valid) and then a walk
// that only finds where each value starts and ends — no copies, no maps
// but each resource's top-level members — instead of decoding the whole
// document (encoding/json scans each byte two or three times and copies
// every raw value). The members the write path takes are decoded later
// with encoding/json.

// walkError is a bundle that is valid JSON of the wrong shape.
type walkError string

func (e walkError) Error() string { return string(e) }

// decodeBundle reads a Bundle's type, resourceType and entries. The
// entries' resources are objects of raw members that point into body.
func decodeBundle(body []byte) (*bundleIn, error) {
	if !json.Valid(body) {
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
						e.Resource = object{}
						return walkObject(body, v, func(rk []byte, rv int) int {
							end := skipValue(body, rv)
							if bytes.IndexByte(rk, '\\') >= 0 {
								var s string
								json.Unmarshal(rk, &s)
								e.Resource[s] = body[rv:end]
							} else {
								e.Resource[string(rk[1:len(rk)-1])] = body[rv:end]
							}
							return end
						})
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
