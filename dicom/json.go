package dicom

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// JSON returns ds in the DICOM JSON model (PS3.18 Annex F.2): an object
// keyed by eight upper-case hex digits, each with "vr" and "Value" (or
// "BulkDataURI" / "InlineBinary" for binary VRs). Person names become
// {"Alphabetic", "Ideographic", "Phonetic"}; IS and DS become numbers.
// bulk, if not nil, names the URI of a binary element at the top level
// (pixel data); binary elements without one are sent inline when shorter
// than 64 KiB and left without a value otherwise.
func JSON(ds *Dataset, bulk func(t Tag) string) map[string]any {
	out := make(map[string]any, len(ds.Elements))
	var bo binary.ByteOrder = binary.LittleEndian
	if ds.BigEndian {
		bo = binary.BigEndian
	}
	for _, e := range ds.Elements {
		if e.Tag.Element() == 0 || e.Tag.Group() == 0x0002 { // group lengths, file meta
			continue
		}
		vr := e.VR
		if vr == "" || vr == "UN" && len(e.Items) == 0 {
			vr = "UN"
		}
		v := map[string]any{"vr": vr}
		key := fmt.Sprintf("%08X", uint32(e.Tag))
		out[key] = v
		switch vr {
		case "SQ":
			items := make([]any, 0, len(e.Items))
			for _, it := range e.Items {
				items = append(items, JSON(it, nil))
			}
			if len(items) > 0 {
				v["Value"] = items
			}
		case "PN":
			var names []any
			for _, s := range ds.Strings(e.Tag) {
				g := strings.SplitN(s, "=", 3)
				pn := map[string]any{}
				for i, k := range []string{"Alphabetic", "Ideographic", "Phonetic"} {
					if i < len(g) && g[i] != "" {
						pn[k] = g[i]
					}
				}
				names = append(names, pn)
			}
			if len(names) > 0 {
				v["Value"] = names
			}
		case "IS", "DS":
			var nums []any
			for _, s := range strings.Split(strings.Trim(string(e.Value), " \x00"), `\`) {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				if vr == "IS" {
					if n, err := strconv.ParseInt(s, 10, 64); err == nil {
						nums = append(nums, n)
					}
				} else if f, err := strconv.ParseFloat(s, 64); err == nil {
					nums = append(nums, f)
				}
			}
			if len(nums) > 0 {
				v["Value"] = nums
			}
		case "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT":
			if e.Tag == TagPixelData {
				setBinary(v, e, bulk)
				break
			}
			if vals := binaryValues(vr, e.Value, bo); len(vals) > 0 {
				v["Value"] = vals
			}
		case "OB", "OW", "OF", "OD", "OL", "OV", "UN":
			setBinary(v, e, bulk)
		case "LT", "ST", "UT", "UR":
			if s := ds.Strings(e.Tag); len(s) > 0 {
				if t := strings.Join(s, `\`); t != "" {
					v["Value"] = []any{t}
				}
			}
		default:
			var vals []any
			for _, s := range ds.Strings(e.Tag) {
				vals = append(vals, s)
			}
			if len(vals) > 0 && !(len(vals) == 1 && vals[0] == "") {
				v["Value"] = vals
			}
		}
	}
	return out
}

func setBinary(v map[string]any, e *Element, bulk func(Tag) string) {
	if bulk != nil {
		if u := bulk(e.Tag); u != "" {
			v["BulkDataURI"] = u
			return
		}
	}
	if e.Fragments == nil && len(e.Value) > 0 && len(e.Value) < 64<<10 {
		v["InlineBinary"] = base64.StdEncoding.EncodeToString(e.Value)
	}
}

func binaryValues(vr string, b []byte, bo binary.ByteOrder) []any {
	var out []any
	size := map[string]int{"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "SV": 8, "UV": 8, "AT": 4}[vr]
	for i := 0; i+size <= len(b); i += size {
		switch vr {
		case "US":
			out = append(out, bo.Uint16(b[i:]))
		case "SS":
			out = append(out, int16(bo.Uint16(b[i:])))
		case "UL":
			out = append(out, bo.Uint32(b[i:]))
		case "SL":
			out = append(out, int32(bo.Uint32(b[i:])))
		case "FL":
			out = append(out, float64(math.Float32frombits(bo.Uint32(b[i:]))))
		case "FD":
			out = append(out, math.Float64frombits(bo.Uint64(b[i:])))
		case "SV":
			out = append(out, int64(bo.Uint64(b[i:])))
		case "UV":
			out = append(out, bo.Uint64(b[i:]))
		case "AT":
			out = append(out, fmt.Sprintf("%04X%04X", bo.Uint16(b[i:]), bo.Uint16(b[i+2:])))
		}
	}
	return out
}

// Frame returns the pixel data of frame n (0-based) as stored: the native
// bytes of that frame for uncompressed syntaxes, or the frame's compressed
// bytes for encapsulated ones (compressed reports which). Errors: no pixel
// data or a frame out of range (ErrFormat).
func Frame(f *File, n int) (b []byte, compressed bool, err error) {
	in, err := f.Info()
	if err != nil {
		return nil, false, err
	}
	pd := f.Get(TagPixelData)
	if pd == nil || in.Rows == 0 || in.Columns == 0 {
		return nil, false, &FormatError{Msg: "the dataset has no pixel data"}
	}
	if n < 0 || n >= in.Frames {
		return nil, false, &FormatError{Msg: fmt.Sprintf("frame %d out of range (the file has %d)", n+1, in.Frames)}
	}
	if pd.Fragments != nil {
		if len(pd.Fragments) < 2 {
			return nil, false, &FormatError{Msg: "encapsulated pixel data has no fragments"}
		}
		b, err := frameFragments(pd, in.Frames, n)
		return b, true, err
	}
	bits := in.Rows * in.Columns * in.SamplesPerPixel * in.BitsAllocated
	if bits%8 != 0 && in.Frames > 1 {
		return nil, false, &FormatError{Msg: "frames are not byte-aligned"}
	}
	size := (bits + 7) / 8
	if size <= 0 || (n+1)*size > len(pd.Value) {
		return nil, false, &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, frame %d needs %d", len(pd.Value), n+1, (n+1)*size)}
	}
	return pd.Value[n*size : (n+1)*size], false, nil
}

// Rewrite returns b with the given top-level string elements replaced (or
// added, as LO, UI or PN by their dictionary VR), re-encoded in the file's
// transfer syntax. It is for synthesising test and benchmark data from
// real files and works on little-endian uncompressed and encapsulated
// files only (not deflated or big endian: ErrFormat).
func Rewrite(b []byte, set map[Tag]string) ([]byte, error) {
	f, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if f.TransferSyntax == DeflatedExplicitVRLittleEndian || f.TransferSyntax == ExplicitVRBigEndian {
		return nil, &FormatError{Msg: "cannot rewrite a deflated or big-endian file"}
	}
	elems := make([]*Element, 0, len(f.Elements)+len(set))
	done := map[Tag]bool{}
	val := func(t Tag, s string) []byte {
		v := []byte(s)
		if len(v)%2 == 1 {
			if dict[t] == "UI" {
				v = append(v, 0)
			} else {
				v = append(v, ' ')
			}
		}
		return v
	}
	for _, e := range f.Elements {
		if e.Tag == TagSpecificCharacterSet {
			e = &Element{Tag: e.Tag, VR: "CS", Value: []byte("ISO_IR 192")}
			done[e.Tag] = true
		}
		if s, ok := set[e.Tag]; ok {
			e = &Element{Tag: e.Tag, VR: e.VR, Value: val(e.Tag, s)}
			if e.VR == "" {
				e.VR = dict[e.Tag]
			}
			done[e.Tag] = true
		}
		elems = append(elems, e)
	}
	if !done[TagSpecificCharacterSet] {
		elems = append(elems, &Element{Tag: TagSpecificCharacterSet, VR: "CS", Value: []byte("ISO_IR 192")})
	}
	for t, s := range set {
		if !done[t] {
			vr := dict[t]
			if vr == "" {
				vr = "LO"
			}
			elems = append(elems, &Element{Tag: t, VR: vr, Value: val(t, s)})
		}
	}
	return Encode(f.TransferSyntax, elems), nil
}
