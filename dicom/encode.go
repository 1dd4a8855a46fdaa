package dicom

import (
	"encoding/binary"
	"sort"
)

// Encode writes a Part 10 file: preamble, file meta group with the given
// transfer syntax UID, then the elements in explicit VR little endian
// (sorted by tag; Items are written as defined-length sequences, Fragments
// as encapsulated pixel data). It exists to synthesise test and benchmark
// data; it does not re-encode compressed pixel data, so a non-native
// transfer syntax is only a label here.
func Encode(transferSyntax string, elems []*Element) []byte {
	out := make([]byte, 128, 1024)
	out = append(out, "DICM"...)
	ts := []byte(transferSyntax)
	if len(ts)%2 == 1 {
		ts = append(ts, 0)
	}
	var meta []byte
	meta = appendElement(meta, &Element{Tag: 0x00020001, VR: "OB", Value: []byte{0, 1}})
	meta = appendElement(meta, &Element{Tag: TagTransferSyntaxUID, VR: "UI", Value: ts})
	out = appendElement(out, &Element{Tag: TagFileMetaInformationGroupLength, VR: "UL", Value: binary.LittleEndian.AppendUint32(nil, uint32(len(meta)))})
	out = append(out, meta...)
	sorted := append([]*Element(nil), elems...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Tag < sorted[j].Tag })
	enc := encoder{explicit: transferSyntax != ImplicitVRLittleEndian, big: transferSyntax == ExplicitVRBigEndian}
	for _, e := range sorted {
		out = enc.appendElement(out, e)
	}
	return out
}

// encoder writes elements in one transfer syntax. Values are copied as
// given: for big endian the caller supplies big-endian values.
type encoder struct{ explicit, big bool }

func (c encoder) bo() binary.AppendByteOrder {
	if c.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (c encoder) appendTag(b []byte, t Tag) []byte {
	b = c.bo().AppendUint16(b, t.Group())
	return c.bo().AppendUint16(b, t.Element())
}

func (c encoder) appendHeader(b []byte, e *Element, n uint32) []byte {
	b = c.appendTag(b, e.Tag)
	if !c.explicit {
		return c.bo().AppendUint32(b, n)
	}
	b = append(b, e.VR...)
	if longVR(e.VR) {
		b = append(b, 0, 0)
		return c.bo().AppendUint32(b, n)
	}
	return c.bo().AppendUint16(b, uint16(n))
}

func appendElement(b []byte, e *Element) []byte { return encoder{explicit: true}.appendElement(b, e) }

func (c encoder) appendElement(b []byte, e *Element) []byte {
	switch {
	case e.Fragments != nil:
		b = c.appendHeader(b, e, undefinedLength)
		for _, f := range e.Fragments {
			b = c.appendTag(b, TagItem)
			b = c.bo().AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
		b = c.appendTag(b, TagSequenceDelimitation)
		return append(b, 0, 0, 0, 0)
	case e.VR == "SQ":
		var body []byte
		for _, it := range e.Items {
			var ib []byte
			for _, ie := range it.Elements {
				ib = c.appendElement(ib, ie)
			}
			body = c.appendTag(body, TagItem)
			if e.Undefined {
				body = c.bo().AppendUint32(body, undefinedLength)
				body = append(body, ib...)
				body = c.appendTag(body, TagItemDelimitation)
				body = append(body, 0, 0, 0, 0)
				continue
			}
			body = c.bo().AppendUint32(body, uint32(len(ib)))
			body = append(body, ib...)
		}
		if e.Undefined {
			b = c.appendHeader(b, e, undefinedLength)
			b = append(b, body...)
			b = c.appendTag(b, TagSequenceDelimitation)
			return append(b, 0, 0, 0, 0)
		}
		b = c.appendHeader(b, e, uint32(len(body)))
		return append(b, body...)
	}
	v := e.Value
	if len(v)%2 == 1 {
		pad := byte(' ')
		if e.VR == "UI" || e.VR == "OB" || e.VR == "UN" {
			pad = 0
		}
		v = append(append([]byte(nil), v...), pad)
	}
	b = c.appendHeader(b, e, uint32(len(v)))
	return append(b, v...)
}

// u16s encodes little-endian unsigned shorts (for US values).
func u16s(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

// WithElement returns a Part 10 file with e set at the top level (added, or
// replacing the element of its tag), re-encoded by Encode: for native
// explicit-VR little-endian files, such as sample files given an attribute
// they lack. Errors: the file does not parse.
func WithElement(b []byte, e *Element) ([]byte, error) {
	f, err := Parse(b)
	if err != nil {
		return nil, err
	}
	elems := make([]*Element, 0, len(f.Elements)+1)
	for _, x := range f.Elements {
		if x.Tag != e.Tag {
			elems = append(elems, x)
		}
	}
	return Encode(f.TransferSyntax, append(elems, e)), nil
}
