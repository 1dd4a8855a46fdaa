package fhir

import (
	"bytes"
	"encoding/json"
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
	i := skipWS(body, 0)
	if body[i] != '{' {
		return nil, walkError("not a JSON object")
	}
	b := &bundleIn{}
	var err error
	eachMember(body, i, func(key, val []byte) {
		if err != nil {
			return
		}
		switch string(key) {
		case `"resourceType"`:
			err = unmarshalMember("resourceType", val, &b.ResourceType)
		case `"type"`:
			err = unmarshalMember("type", val, &b.Type)
		case `"entry"`:
			if val[0] != '[' {
				err = walkError("entry: not an array")
				return
			}
			b.Entry = nil // a repeated member: the last stands, as encoding/json
			eachElement(val, func(el []byte) {
				if err != nil {
					return
				}
				if el[0] != '{' {
					err = walkError("entry: an element is not an object")
					return
				}
				var e entryIn
				eachMember(el, 0, func(k, v []byte) {
					if err != nil {
						return
					}
					switch string(k) {
					case `"fullUrl"`:
						err = unmarshalMember("fullUrl", v, &e.FullURL)
					case `"request"`:
						err = unmarshalMember("request", v, &e.Request)
					case `"resource"`:
						if v[0] != '{' {
							return // no resource: refused by ParseBundle
						}
						e.Resource = object{}
						eachMember(v, 0, func(rk, rv []byte) {
							if bytes.IndexByte(rk, '\\') >= 0 {
								var s string
								json.Unmarshal(rk, &s)
								e.Resource[s] = rv
								return
							}
							e.Resource[string(rk[1:len(rk)-1])] = rv
						})
					}
				})
				b.Entry = append(b.Entry, e)
			})
		}
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

// eachMember calls fn with each member's key (quoted, as written) and
// value of the valid JSON object that starts at i.
func eachMember(b []byte, i int, fn func(key, val []byte)) {
	i = skipWS(b, i+1) // past '{'
	for b[i] != '}' {
		k := skipValue(b, i)
		key := b[i:k]
		i = skipWS(b, k)
		i = skipWS(b, i+1) // past ':'
		v := skipValue(b, i)
		fn(key, b[i:v])
		i = skipWS(b, v)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
}

// eachElement calls fn with each element of the valid JSON array b.
func eachElement(b []byte, fn func(el []byte)) {
	i := skipWS(b, 1)
	for b[i] != ']' {
		v := skipValue(b, i)
		fn(b[i:v])
		i = skipWS(b, v)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
}
