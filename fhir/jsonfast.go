package fhir

import (
	"bytes"
	"encoding/json"
)

// The members a write takes (a code, a subject, a date, a quantity) are
// small, and encoding/json spends more on each than its bytes: a second
// validating scan, a decoder state, reflection. decodeFast reads the
// shapes the write path decodes most — strings, codings, references,
// quantities, an entry's request — straight from the walk's spans (the
// body is already known to be valid UTF-8 JSON), and says no whenever it
// cannot be sure it reads what encoding/json reads: a string with
// escapes, a value of another JSON type, a member name with escapes or
// not ASCII, one given twice, or one that matches a field only as encoding/json's
// case-insensitive match does. The caller then decodes with encoding/json
// from the zero value, so the result and the faults are the same
// (FuzzDecodeFast).

// decodeFast decodes raw (a valid JSON value with no surrounding space)
// into v, a zero value of one of the shapes below, and reports whether
// it did; on false v is zero again.
func decodeFast(raw []byte, v any) bool {
	if len(raw) == 0 {
		return false
	}
	ok := false
	switch t := v.(type) {
	case *string:
		if ok = fastString(raw, t); !ok {
			*t = ""
		}
	case *CodeableConcept:
		if ok = fastConcept(raw, t); !ok {
			*t = CodeableConcept{}
		}
	case **CodeableConcept:
		if ok = fastPointer(raw, t, fastConcept); !ok {
			*t = nil
		}
	case *Reference:
		if ok = fastReference(raw, t); !ok {
			*t = Reference{}
		}
	case **Reference:
		if ok = fastPointer(raw, t, fastReference); !ok {
			*t = nil
		}
	case **quantityWire:
		if ok = fastPointer(raw, t, fastQuantity); !ok {
			*t = nil
		}
	case *[]componentWire:
		if ok = fastArray(raw, t, fastComponent); !ok {
			*t = nil
		}
	case **requestWire:
		if ok = fastPointer(raw, t, fastRequest); !ok {
			*t = nil
		}
	}
	return ok
}

// fastString reads a string without escapes (its bytes are the value)
// or null (nothing, as encoding/json).
func fastString(raw []byte, s *string) bool {
	switch raw[0] {
	case 'n':
		return true
	case '"':
		if bytes.IndexByte(raw, '\\') >= 0 {
			return false
		}
		*s = string(raw[1 : len(raw)-1])
		return true
	}
	return false
}

// fastMembers walks the object raw (null: nothing to read): fn gets the
// index in names of each member named exactly so, and its value, and
// says whether it read it; members named otherwise are skipped. It says
// no for anything else than an object or null, a name with escapes, a
// name of names given twice or matched only case-insensitively (up to
// 64 names), or when fn says no.
func fastMembers(raw []byte, names []string, fn func(k int, v []byte) bool) bool {
	switch raw[0] {
	case 'n':
		return true
	case '{':
	default:
		return false
	}
	ok := true
	var seen uint64
	walkObject(raw, 0, func(key []byte, v int) int {
		if !ok {
			return 0
		}
		name := key[1 : len(key)-1]
		if !plainASCII(name) {
			ok = false // escapes, or letters that fold to ASCII ones (ſ, K)
			return 0
		}
		for k, n := range names {
			switch {
			case string(name) == n:
				if seen&(1<<k) != 0 {
					ok = false
					return 0
				}
				seen |= 1 << k
				end := skipValue(raw, v)
				ok = fn(k, raw[v:end])
				return end
			case asciiEqualFold(name, n):
				ok = false
				return 0
			}
		}
		return 0
	})
	return ok
}

// plainASCII reports whether a name is ASCII without escapes.
func plainASCII(name []byte) bool {
	for _, c := range name {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// asciiEqualFold is bytes.EqualFold for an ASCII name.
func asciiEqualFold(name []byte, n string) bool {
	if len(name) != len(n) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := n[i]
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// fastPointer reads an object (or null: nil) into a new *T.
func fastPointer[T any](raw []byte, p **T, read func([]byte, *T) bool) bool {
	switch raw[0] {
	case 'n':
		return true
	case '{':
		*p = new(T)
		return read(raw, *p)
	}
	return false
}

// fastArray reads an array (or null: nil; [] is empty, not nil, as
// encoding/json) element by element.
func fastArray[T any](raw []byte, s *[]T, read func([]byte, *T) bool) bool {
	switch raw[0] {
	case 'n':
		return true
	case '[':
	default:
		return false
	}
	ok := true
	*s = []T{}
	walkArray(raw, 0, func(el int) int {
		if !ok {
			return 0
		}
		end := skipValue(raw, el)
		*s = append(*s, *new(T))
		ok = read(raw[el:end], &(*s)[len(*s)-1])
		return end
	})
	return ok
}

var codingNames = []string{"system", "code", "display"}

func fastCoding(raw []byte, c *Coding) bool {
	return fastMembers(raw, codingNames, func(k int, v []byte) bool {
		switch k {
		case 0:
			return fastString(v, &c.System)
		case 1:
			return fastString(v, &c.Code)
		}
		return fastString(v, &c.Display)
	})
}

var conceptNames = []string{"coding", "text"}

func fastConcept(raw []byte, c *CodeableConcept) bool {
	return fastMembers(raw, conceptNames, func(k int, v []byte) bool {
		if k == 0 {
			return fastArray(v, &c.Coding, fastCoding)
		}
		return fastString(v, &c.Text)
	})
}

var referenceNames = []string{"reference", "display"}

func fastReference(raw []byte, r *Reference) bool {
	return fastMembers(raw, referenceNames, func(k int, v []byte) bool {
		if k == 0 {
			return fastString(v, &r.Reference)
		}
		return fastString(v, &r.Display)
	})
}

var quantityNames = []string{"value", "unit", "code"}

func fastQuantity(raw []byte, q *quantityWire) bool {
	return fastMembers(raw, quantityNames, func(k int, v []byte) bool {
		switch k {
		case 0:
			switch {
			case v[0] == 'n':
				return true
			case v[0] == '-' || '0' <= v[0] && v[0] <= '9':
				n := json.Number(v)
				q.Value = &n
				return true
			}
			return false // a quoted number: encoding/json's rules
		case 1:
			return fastString(v, &q.Unit)
		}
		return fastString(v, &q.Code)
	})
}

var componentNames = []string{"code", "valueQuantity"}

func fastComponent(raw []byte, c *componentWire) bool {
	return fastMembers(raw, componentNames, func(k int, v []byte) bool {
		if k == 0 {
			return fastConcept(v, &c.Code)
		}
		return fastPointer(v, &c.ValueQuantity, fastQuantity)
	})
}

var requestNames = []string{"method", "url", "ifNoneExist", "ifMatch"}

func fastRequest(raw []byte, r *requestWire) bool {
	return fastMembers(raw, requestNames, func(k int, v []byte) bool {
		switch k {
		case 0:
			return fastString(v, &r.Method)
		case 1:
			return fastString(v, &r.URL)
		case 2:
			return fastString(v, &r.IfNoneExist)
		}
		return fastString(v, &r.IfMatch)
	})
}
