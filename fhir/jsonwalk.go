package fhir

import (
	"bytes"
	"encoding/binary"
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
// Its walk validates as it goes (vwalk: validValue both checks and
// finds the end of every value it does not read), so the body is read
// once; a shape fault found on the way is kept and the walk goes on
// checking, so that malformed JSON is reported as such first, then text
// that is not UTF-8, then the shape.
func decodeBundle(body []byte) (*bundleIn, error) {
	b, valid, shape := walkBundle(body)
	if !valid {
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
	if shape != nil {
		return nil, shape
	}
	return b, nil
}

// walkBundle is decodeBundle's walk: valid is whether body is valid
// JSON (json.Valid's answer), err the first shape fault.
func walkBundle(body []byte) (b *bundleIn, valid bool, err error) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		end, ok := validValue(body, i, 0)
		return nil, ok && skipWS(body, end) == len(body), walkError("not a JSON object")
	}
	b = &bundleIn{}
	value := func(v, depth int) int { return validEnd(body, v, depth) }
	end, ok := vwalk(body, i, 1, func(key []byte, v int) int {
		switch string(key) {
		case `"resourceType"`, `"type"`:
			end := value(v, 1)
			if end > 0 && err == nil {
				into := &b.ResourceType
				if key[1] == 't' {
					into = &b.Type
				}
				err = unmarshalMember(memberName(key), body[v:end], into)
			}
			return end
		case `"entry"`:
			if body[v] != '[' {
				if err == nil {
					err = walkError("entry: not an array")
				}
				return value(v, 1)
			}
			b.Entry = nil // a repeated member: the last stands, as encoding/json
			end, ok := vwalk(body, v, 2, func(_ []byte, el int) int {
				if body[el] != '{' {
					if err == nil {
						err = walkError("entry: an element is not an object")
					}
					return value(el, 2)
				}
				var e entryIn
				end, ok := vwalk(body, el, 3, func(k []byte, v int) int {
					switch string(k) {
					case `"fullUrl"`, `"request"`:
						end := value(v, 3)
						if end > 0 && err == nil {
							if k[1] == 'f' {
								err = unmarshalMember("fullUrl", body[v:end], &e.FullURL)
							} else {
								err = unmarshalMember("request", body[v:end], &e.Request)
							}
						}
						return end
					case `"resource"`:
						if body[v] != '{' {
							return value(v, 3) // no resource: refused by ParseBundle
						}
						e.Resource, e.ResourceType = nil, nil
						end, ok := vwalk(body, v, 4, func(rk []byte, rv int) int {
							end := value(rv, 4)
							if end > 0 && (string(rk) == `"resourceType"` || bytes.IndexByte(rk, '\\') >= 0 && memberName(rk) == "resourceType") {
								e.ResourceType = body[rv:end] // the last stands, as encoding/json
							}
							return end
						})
						if !ok {
							return 0
						}
						e.Resource = body[v:end]
						return end
					}
					return value(v, 3)
				})
				if !ok {
					return 0
				}
				b.Entry = append(b.Entry, e)
				return end
			})
			if !ok {
				return 0
			}
			return end
		}
		return value(v, 1)
	})
	if !ok || skipWS(body, end) != len(body) {
		return nil, false, nil
	}
	return b, true, err
}

// vwalk walks the object or array at i as walkObject and walkArray do,
// checking it is valid JSON as it goes: fn gets each member's key (a
// valid string, quoted as written; nil for an array's element) and where
// its value starts, and returns where the value ends having checked it,
// or 0 if it is not valid. depth is the container's nesting (1 at the
// top; validValue's bound). ok is false for anything not valid JSON.
func vwalk(b []byte, i, depth int, fn func(key []byte, v int) int) (end int, ok bool) {
	if depth > maxNesting {
		return i, false
	}
	closing := byte('}')
	if b[i] == '[' {
		closing = ']'
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, true
	}
	for {
		var key []byte
		if closing == '}' {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			k, ok := validString(b, i)
			if !ok {
				return i, false
			}
			key = b[i:k]
			if i = skipWS(b, k); i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
		if i >= len(b) {
			return i, false
		}
		end := fn(key, i)
		if end == 0 {
			return i, false
		}
		if i = skipWS(b, end); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case closing:
			return i + 1, true
		default:
			return i, false
		}
	}
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
// The names the write path knows are not copied.
func members(res []byte) object {
	o := make(object, 16)
	walkObject(res, 0, func(k []byte, v int) int {
		end := skipValue(res, v)
		name, ok := elementNames[string(k[1:len(k)-1])]
		if !ok {
			name = memberName(k)
		}
		o[name] = res[v:end]
		return end
	})
	return o
}

// elementNames holds the elements of heldElements by name, and the
// others a Synthea resource of those types has.
var elementNames = func() map[string]string {
	m := map[string]string{}
	for _, names := range heldElements {
		for _, n := range names {
			m[n] = n
		}
	}
	for _, n := range []string{"text", "encounter", "abatementDateTime", "valueCodeableConcept", "valueString",
		"multipleBirthBoolean", "multipleBirthInteger", "maritalStatus", "communication", "deceasedDateTime"} {
		m[n] = n
	}
	return m
}()

// unmarshalMember decodes one member's value; a wrong type names it.
func unmarshalMember(name string, val []byte, v any) error {
	if decodeFast(val, v) {
		return nil
	}
	if err := json.Unmarshal(val, v); err != nil {
		return walkError(name + ": " + jsonDetail(err))
	}
	return nil
}

// Eight spaces at a time: a pretty-printed bundle (Synthea's) is more
// than half indentation.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch {
		case i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:]) == eightSpaces:
			i += 8
		case b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// eightSpaces is eight bytes of ' ' read as one word.
const eightSpaces = 0x2020202020202020

// skipValue returns the index just past the value that starts at i, in
// JSON already known to be valid.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		// The next quote not escaped (an odd run of backslashes before
		// it) ends the string: IndexByte finds quotes many bytes at a time.
		for i++; ; i++ {
			i += bytes.IndexByte(b[i:], '"')
			k := i - 1
			for b[k] == '\\' {
				k--
			}
			if (i-1-k)%2 == 0 {
				return i + 1
			}
		}
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case ' ':
				for i+9 <= len(b) && binary.LittleEndian.Uint64(b[i+1:]) == eightSpaces {
					i += 8
				}
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
		depth++
		return vwalk(b, i, depth, func(_ []byte, v int) int { return validEnd(b, v, depth) })
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

// validEnd is validValue for vwalk: the end of the valid value at v, 0
// if it is not valid.
func validEnd(b []byte, v, depth int) int {
	end, ok := validValue(b, v, depth)
	if !ok {
		return 0
	}
	return end
}

// validString checks the string that starts at i (its opening quote).
// Eight bytes at a time while none of them is a quote, a backslash or a
// control character (most of a bundle is plain text), then byte by byte.
func validString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		for i+8 <= len(b) && plainText(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
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

// plainText reports whether none of the eight bytes of x is a quote, a
// backslash or a control character (below 0x20): the bit tricks "has a
// zero byte" and "has a byte less than n" of Sean Anderson's Bit
// Twiddling Hacks (graphics.stanford.edu/~seander/bithacks.html), exact
// for the question whether any byte is one, which is all that is asked.
func plainText(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	control := (x - ones*0x20) & ^x & highs
	return hasZero(x^(ones*'"'))|hasZero(x^(ones*'\\'))|control == 0
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
