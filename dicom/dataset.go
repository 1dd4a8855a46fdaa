package dicom

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Get returns the element with tag t at this level, or nil.
func (ds *Dataset) Get(t Tag) *Element {
	if ds == nil {
		return nil
	}
	if ds.byTag == nil {
		ds.byTag = make(map[Tag]*Element, len(ds.Elements))
		for _, e := range ds.Elements {
			if _, dup := ds.byTag[e.Tag]; !dup {
				ds.byTag[e.Tag] = e
			}
		}
	}
	return ds.byTag[t]
}

// Strings returns the backslash-separated values of a string element,
// trimmed of padding, decoded with the Specific Character Set for the
// VRs that use it (SH, LO, ST, LT, UT, UC, PN).
func (ds *Dataset) Strings(t Tag) []string {
	e := ds.Get(t)
	if e == nil || len(e.Value) == 0 {
		return nil
	}
	s := string(e.Value)
	switch e.VR {
	case "SH", "LO", "ST", "LT", "UT", "UC", "PN", "UN":
		s = decodeCharset(e.Value, ds.charset)
	}
	var out []string
	for _, v := range strings.Split(s, `\`) {
		out = append(out, strings.Trim(v, " \x00"))
	}
	return out
}

// String returns the first value of a string element ("" if absent).
func (ds *Dataset) String(t Tag) string {
	v := ds.Strings(t)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// PersonName returns a PN value as text: the alphabetic, ideographic and
// phonetic groups joined by "=", components by "^" (as stored).
func (ds *Dataset) PersonName(t Tag) string { return ds.String(t) }

// Charset is the Specific Character Set in force for this dataset.
func (ds *Dataset) Charset() string { return ds.charset }

// Ints returns the values of a numeric element: US, SS, UL, SL binary or IS/DS text.
func (ds *Dataset) Ints(t Tag) []int {
	e := ds.Get(t)
	if e == nil {
		return nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if ds.BigEndian {
		bo = binary.BigEndian
	}
	var out []int
	switch e.VR {
	case "US":
		for i := 0; i+2 <= len(e.Value); i += 2 {
			out = append(out, int(bo.Uint16(e.Value[i:])))
		}
	case "SS":
		for i := 0; i+2 <= len(e.Value); i += 2 {
			out = append(out, int(int16(bo.Uint16(e.Value[i:]))))
		}
	case "UL":
		for i := 0; i+4 <= len(e.Value); i += 4 {
			out = append(out, int(bo.Uint32(e.Value[i:])))
		}
	case "SL":
		for i := 0; i+4 <= len(e.Value); i += 4 {
			out = append(out, int(int32(bo.Uint32(e.Value[i:]))))
		}
	default:
		for _, f := range ds.Floats(t) {
			if f >= math.MinInt32 && f <= math.MaxInt32 {
				out = append(out, int(math.Round(f)))
			}
		}
	}
	return out
}

// Int returns the first value of a numeric element and whether there is one.
func (ds *Dataset) Int(t Tag) (int, bool) {
	v := ds.Ints(t)
	if len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// Floats returns the values of a DS/IS (text) or FL/FD (binary) element.
func (ds *Dataset) Floats(t Tag) []float64 {
	e := ds.Get(t)
	if e == nil {
		return nil
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if ds.BigEndian {
		bo = binary.BigEndian
	}
	var out []float64
	switch e.VR {
	case "FL":
		for i := 0; i+4 <= len(e.Value); i += 4 {
			out = append(out, float64(math.Float32frombits(bo.Uint32(e.Value[i:]))))
		}
	case "FD":
		for i := 0; i+8 <= len(e.Value); i += 8 {
			out = append(out, math.Float64frombits(bo.Uint64(e.Value[i:])))
		}
	case "US", "SS", "UL", "SL":
		for _, v := range ds.Ints(t) {
			out = append(out, float64(v))
		}
	default:
		for _, s := range strings.Split(string(e.Value), `\`) {
			f, err := strconv.ParseFloat(strings.Trim(s, " \x00"), 64)
			if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				out = append(out, f)
			}
		}
	}
	return out
}

// Float returns the first value of a decimal element and whether there is one.
func (ds *Dataset) Float(t Tag) (float64, bool) {
	v := ds.Floats(t)
	if len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// decodeCharset decodes text in the given Specific Character Set. ISO_IR 192
// is UTF-8; GB18030 and GBK go through golang.org/x/text; the default
// repertoire and ISO_IR 100 are read as Latin-1. ISO 2022 code extensions
// (escape sequences) are not interpreted: their bytes are read as Latin-1
// (see docs/dicom.md).
func decodeCharset(b []byte, charset string) string {
	cs := charset
	if i := strings.IndexByte(cs, '\\'); i >= 0 {
		// Multi-valued: the first value is the default repertoire; a
		// second single-byte value without ISO 2022 is rare. Use the first
		// non-empty non-2022 value.
		for _, v := range strings.Split(cs, `\`) {
			v = strings.TrimSpace(v)
			if v != "" && !strings.HasPrefix(v, "ISO 2022") {
				cs = v
				break
			}
		}
	}
	switch strings.TrimSpace(cs) {
	case "ISO_IR 192":
		if utf8.Valid(b) {
			return string(b)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case "GB18030":
		if s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
	case "GBK":
		if s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
	}
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c) // Latin-1
	}
	return string(r)
}
