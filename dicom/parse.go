package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what a file can make the parser build.
type Limits struct {
	MaxElements int   // elements in the whole file, items and fragments included
	MaxDepth    int   // nesting of sequences
	MaxInflated int64 // bytes of a deflated dataset once inflated
	// MaxInflateRatio bounds a deflated dataset to this many times its
	// compressed size (plus 1 MiB); 0 means MaxInflated alone.
	MaxInflateRatio int64
}

// DefaultLimits are generous for real studies and stop pathological input.
// 262,144 elements (a 3,000-frame enhanced CT with per-frame functional
// groups has about 100,000) keep the parsed tree under about 40 MiB: each
// element costs about 150 bytes however few bytes of file it took.
// A deflated dataset may inflate to 100 times its size plus 1 MiB (real
// images deflate 2–15:1; zeros about 1,000:1) and to 256 MiB at most, the
// largest upload taken uncompressed (reading.MaxDICOMBytes).
var DefaultLimits = Limits{MaxElements: 1 << 18, MaxDepth: 12, MaxInflated: 256 << 20, MaxInflateRatio: 100}

// Element is one attribute. Value holds the raw bytes in the dataset's byte
// order (it shares the parsed buffer); Items the items of a sequence;
// Fragments the items of encapsulated pixel data (the first is the basic
// offset table, possibly empty).
type Element struct {
	Tag       Tag
	VR        string
	Value     []byte
	Items     []*Dataset
	Fragments [][]byte
	Undefined bool // encoded with undefined length
}

// Dataset is an ordered set of elements.
type Dataset struct {
	Elements  []*Element
	BigEndian bool
	charset   string // Specific Character Set in force (inherited by items)
	byTag     map[Tag]*Element
}

// File is a parsed Part 10 file.
type File struct {
	Meta           *Dataset
	TransferSyntax string
	*Dataset
}

// Parse parses a DICOM Part 10 file with DefaultLimits.
func Parse(b []byte) (*File, error) { return DefaultLimits.Parse(b) }

// ParseReader reads at most max bytes from r and parses them; a longer
// input is refused (ErrLimit).
func ParseReader(r io.Reader, max int64) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &FormatError{Offset: int(max), Msg: fmt.Sprintf("file larger than %d bytes", max), Kind: ErrLimit}
	}
	return Parse(b)
}

type parser struct {
	b        []byte
	pos      int
	explicit bool
	big      bool
	lim      Limits
	n        int
}

func (p *parser) errf(kind error, format string, a ...any) error {
	return &FormatError{Offset: p.pos, Msg: fmt.Sprintf(format, a...), Kind: kind}
}

// Parse parses a DICOM Part 10 file under these limits.
func (l Limits) Parse(b []byte) (*File, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, &FormatError{Offset: 128, Msg: "no DICM prefix after the 128-byte preamble (not a DICOM Part 10 file)"}
	}
	p := &parser{b: b, pos: 132, explicit: true, lim: l}
	meta := &Dataset{}
	if err := p.top(p.parseDataset(meta, len(b), 0, func(t Tag) bool { return t.Group() != 0x0002 })); err != nil {
		return nil, err
	}
	f := &File{Meta: meta}
	f.TransferSyntax = meta.String(TagTransferSyntaxUID)
	if f.TransferSyntax == "" {
		return nil, &FormatError{Offset: 132, Msg: "file meta group has no transfer syntax UID (0002,0010)"}
	}
	ds := &Dataset{}
	rest := p.pos
	switch f.TransferSyntax {
	case ImplicitVRLittleEndian:
		p.explicit = false
	case ExplicitVRBigEndian:
		p.big = true
		ds.BigEndian = true
	case DeflatedExplicitVRLittleEndian:
		inflated, err := l.inflate(b[rest:])
		if err != nil {
			return nil, &FormatError{Offset: rest, Msg: "deflated dataset: " + err.Error(), Kind: kindOf(err)}
		}
		p.b, p.pos, rest = inflated, 0, 0
	}
	start := p.pos
	err := p.checkSyntax(f.TransferSyntax)
	if err == nil {
		err = p.top(p.parseDataset(ds, len(p.b), 0, nil))
	}
	if err != nil {
		if !errors.Is(err, ErrLimit) {
			if other := l.guessSyntax(p.b[start:], f.TransferSyntax); other != "" {
				return nil, &FormatError{Offset: start, Kind: ErrTransferSyntax, Msg: fmt.Sprintf("the file claims %s (%s) but the dataset is encoded as %s (%s) [%v]",
					f.TransferSyntax, TransferSyntaxName(f.TransferSyntax), other, TransferSyntaxName(other), err)}
			}
		}
		return nil, err
	}
	f.Dataset = ds
	return f, nil
}

// guessSyntax returns the uncompressed syntax other than claimed under
// which the dataset parses cleanly, or "".
func (l Limits) guessSyntax(b []byte, claimed string) string {
	for _, c := range []struct {
		ts            string
		explicit, big bool
	}{{ExplicitVRLittleEndian, true, false}, {ImplicitVRLittleEndian, false, false}, {ExplicitVRBigEndian, true, true}} {
		if c.ts == claimed || (claimed != ImplicitVRLittleEndian && claimed != ExplicitVRBigEndian && c.ts == ExplicitVRLittleEndian) {
			continue
		}
		p := &parser{b: b, explicit: c.explicit, big: c.big, lim: l}
		if p.top(p.parseDataset(&Dataset{BigEndian: c.big}, len(b), 0, nil)) == nil && len(b) > 0 {
			return c.ts
		}
	}
	return ""
}

type limitErr struct{ error }

func kindOf(err error) error {
	if _, ok := err.(limitErr); ok {
		return ErrLimit
	}
	return ErrTransferSyntax
}

// checkSyntax looks at the first element of the dataset: an explicit-VR
// syntax must show a VR there, an implicit one must not.
func (p *parser) checkSyntax(ts string) error {
	if len(p.b)-p.pos < 8 {
		return nil // empty (or truncated: parseDataset says so)
	}
	g := p.u16(p.pos)
	if g == 0xFFFE {
		return p.errf(ErrTransferSyntax, "dataset starts with an item tag")
	}
	vr := string(p.b[p.pos+4 : p.pos+6])
	hasVR := knownVR(vr)
	if p.explicit && !hasVR {
		return p.errf(ErrTransferSyntax, "transfer syntax %s (%s) claims explicit VR but the first element has no VR", ts, TransferSyntaxName(ts))
	}
	if !p.explicit && hasVR && binary.LittleEndian.Uint32(p.b[p.pos+4:]) > uint32(len(p.b)) {
		return p.errf(ErrTransferSyntax, "transfer syntax %s (%s) claims implicit VR but the first element carries VR %q", ts, TransferSyntaxName(ts), vr)
	}
	if p.big && binary.BigEndian.Uint16(p.b[p.pos:]) > 0x7FE0 && binary.LittleEndian.Uint16(p.b[p.pos:]) <= 0x7FE0 {
		return p.errf(ErrTransferSyntax, "transfer syntax claims big endian but the first tag reads as little endian")
	}
	return nil
}

var vrs = "AEASATCSDADSDTFDFLISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV"

func knownVR(vr string) bool {
	if len(vr) != 2 {
		return false
	}
	for i := 0; i+2 <= len(vrs); i += 2 {
		if vrs[i:i+2] == vr {
			return true
		}
	}
	return false
}

// longVR: explicit VRs with a 2-byte reserved field and a 4-byte length.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV":
		return true
	}
	return false
}

func (p *parser) u16(at int) uint16 {
	if p.big {
		return binary.BigEndian.Uint16(p.b[at:])
	}
	return binary.LittleEndian.Uint16(p.b[at:])
}

func (p *parser) u32(at int) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(p.b[at:])
	}
	return binary.LittleEndian.Uint32(p.b[at:])
}

func (p *parser) tag(at int) Tag { return Tag(uint32(p.u16(at))<<16 | uint32(p.u16(at+2))) }

const undefinedLength = 0xFFFFFFFF

// parseDataset reads elements up to end. stop, if set, ends the dataset
// before an element whose tag it accepts (the meta group). Inside an
// undefined-length item it returns after the item delimiter.
func (p *parser) parseDataset(ds *Dataset, end int, depth int, stop func(Tag) bool) error {
	if depth > p.lim.MaxDepth {
		return p.errf(ErrLimit, "sequences nested deeper than %d", p.lim.MaxDepth)
	}
	for p.pos < end {
		if end-p.pos < 8 {
			return p.errf(ErrTruncated, "%d bytes left, an element header needs 8", end-p.pos)
		}
		t := p.tag(p.pos)
		if stop != nil && stop(t) {
			return nil
		}
		if t == TagItemDelimitation {
			p.pos += 8
			return errItemEnd
		}
		if t == TagItem || t == TagSequenceDelimitation {
			return p.errf(nil, "unexpected %s tag in a dataset", tagString(t))
		}
		el, err := p.parseElement(ds, end, depth)
		if err != nil {
			return err
		}
		ds.Elements = append(ds.Elements, el)
		if t == TagSpecificCharacterSet {
			ds.charset = strings.TrimRight(string(el.Value), " \x00")
		}
	}
	return nil
}

var errItemEnd = &FormatError{Msg: "item delimiter"}

// top turns an item delimiter met outside any item into an error.
func (p *parser) top(err error) error {
	if err == errItemEnd {
		p.pos -= 8
		return p.errf(nil, "item delimiter outside a sequence")
	}
	return err
}

func tagString(t Tag) string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

func (p *parser) count() error {
	p.n++
	if p.n > p.lim.MaxElements {
		return p.errf(ErrLimit, "more than %d elements", p.lim.MaxElements)
	}
	return nil
}

func (p *parser) parseElement(parent *Dataset, end int, depth int) (*Element, error) {
	if err := p.count(); err != nil {
		return nil, err
	}
	start := p.pos
	t := p.tag(p.pos)
	el := &Element{Tag: t}
	var length uint32
	if p.explicit {
		vr := string(p.b[p.pos+4 : p.pos+6])
		if !knownVR(vr) {
			return nil, p.errf(nil, "element %s has no valid VR (%q)", tagString(t), vr)
		}
		el.VR = vr
		if longVR(vr) {
			if end-p.pos < 12 {
				return nil, p.errf(ErrTruncated, "element %s header runs past the end", tagString(t))
			}
			length = p.u32(p.pos + 8)
			p.pos += 12
		} else {
			length = uint32(p.u16(p.pos + 6))
			p.pos += 8
		}
	} else {
		length = p.u32(p.pos + 4)
		p.pos += 8
		el.VR = dict[t]
		if el.VR == "" {
			el.VR = "UN"
		}
		if t.Group() == 0x0028 && t.Element() >= 0x1101 && t.Element() <= 0x1103 {
			el.VR = "US"
		}
	}
	if length == undefinedLength {
		el.Undefined = true
		switch {
		case t == TagPixelData:
			return el, p.parseFragments(el, end)
		case el.VR == "SQ":
			return el, p.parseSequence(parent, el, end, -1, depth)
		case el.VR == "UN":
			// PS3.5 6.2.2: UN of undefined length is a sequence in implicit VR little endian.
			el.VR = "SQ"
			explicit, big := p.explicit, p.big
			p.explicit, p.big = false, false
			err := p.parseSequence(parent, el, end, -1, depth)
			p.explicit, p.big = explicit, big
			return el, err
		default:
			p.pos = start
			return nil, p.errf(nil, "element %s (VR %s) has undefined length", tagString(t), el.VR)
		}
	}
	if int64(length) > int64(end-p.pos) {
		left := end - p.pos
		p.pos = start
		return nil, p.errf(ErrTruncated, "element %s length %d runs past the end (%d bytes left)", tagString(t), length, left)
	}
	if el.VR == "SQ" {
		return el, p.parseSequence(parent, el, end, p.pos+int(length), depth)
	}
	el.Value = p.b[p.pos : p.pos+int(length)]
	p.pos += int(length)
	return el, nil
}

// parseSequence reads items up to seqEnd, or to the sequence delimiter when seqEnd < 0.
func (p *parser) parseSequence(parent *Dataset, el *Element, end, seqEnd int, depth int) error {
	if depth+1 > p.lim.MaxDepth {
		return p.errf(ErrLimit, "sequences nested deeper than %d", p.lim.MaxDepth)
	}
	limit := end
	if seqEnd >= 0 {
		limit = seqEnd
	}
	for {
		if seqEnd >= 0 && p.pos == seqEnd {
			return nil
		}
		if limit-p.pos < 8 {
			return p.errf(ErrTruncated, "sequence %s runs past the end", tagString(el.Tag))
		}
		t := p.tag(p.pos)
		length := p.u32(p.pos + 4)
		if t == TagSequenceDelimitation {
			if seqEnd >= 0 {
				return p.errf(nil, "sequence delimiter inside the defined-length sequence %s", tagString(el.Tag))
			}
			p.pos += 8
			return nil
		}
		if t != TagItem {
			return p.errf(nil, "sequence %s holds %s where an item was expected", tagString(el.Tag), tagString(t))
		}
		if err := p.count(); err != nil {
			return err
		}
		p.pos += 8
		item := &Dataset{BigEndian: p.big, charset: parent.charset}
		if length == undefinedLength {
			err := p.parseDataset(item, limit, depth+1, nil)
			if err == nil {
				return p.errf(ErrTruncated, "item of sequence %s has no item delimiter", tagString(el.Tag))
			}
			if err != errItemEnd {
				return err
			}
		} else {
			if int64(length) > int64(limit-p.pos) {
				return p.errf(ErrTruncated, "item of sequence %s, length %d, runs past the end", tagString(el.Tag), length)
			}
			if err := p.parseDataset(item, p.pos+int(length), depth+1, nil); err != nil {
				if err == errItemEnd {
					return p.errf(nil, "item delimiter inside a defined-length item of %s", tagString(el.Tag))
				}
				return err
			}
		}
		el.Items = append(el.Items, item)
	}
}

// parseFragments reads encapsulated pixel data: items up to the sequence delimiter.
func (p *parser) parseFragments(el *Element, end int) error {
	if el.VR != "OB" && el.VR != "OW" && el.VR != "UN" && el.VR != "SQ" {
		return p.errf(nil, "pixel data with undefined length has VR %s", el.VR)
	}
	el.VR = "OB"
	for {
		if end-p.pos < 8 {
			return p.errf(ErrTruncated, "encapsulated pixel data has no sequence delimiter")
		}
		t := p.tag(p.pos)
		length := p.u32(p.pos + 4)
		p.pos += 8
		if t == TagSequenceDelimitation {
			if len(el.Fragments) == 0 {
				return p.errf(nil, "encapsulated pixel data has no basic offset table item")
			}
			return nil
		}
		if t != TagItem {
			return p.errf(nil, "encapsulated pixel data holds %s where a fragment was expected", tagString(t))
		}
		if int64(length) > int64(end-p.pos) {
			return p.errf(ErrTruncated, "pixel data fragment length %d runs past the end", length)
		}
		if err := p.count(); err != nil {
			return err
		}
		el.Fragments = append(el.Fragments, p.b[p.pos:p.pos+int(length)])
		p.pos += int(length)
	}
}

// ParsePatient reads the patient's name and ID — Patient Name (0010,0010)
// and Patient ID (0010,0020) — from the first bytes of a Part 10 file, so
// that an upload can be compared with its resident before the rest is
// sent. ok is false when the prefix does not tell: it ends before the
// dataset passes group 0010, the dataset is deflated, or it cannot be
// parsed this far (Parse of the whole file then decides). The error is
// ErrFormat only for bytes that are not a Part 10 file at all.
func ParsePatient(prefix []byte) (name, id string, ok bool, err error) {
	if len(prefix) < 132 {
		return "", "", false, nil
	}
	if string(prefix[128:132]) != "DICM" {
		return "", "", false, &FormatError{Offset: 128, Msg: "no DICM prefix after the 128-byte preamble (not a DICOM Part 10 file)"}
	}
	p := &parser{b: prefix, pos: 132, explicit: true, lim: DefaultLimits}
	meta := &Dataset{}
	if p.top(p.parseDataset(meta, len(prefix), 0, func(t Tag) bool { return t.Group() != 0x0002 })) != nil {
		return "", "", false, nil
	}
	ds := &Dataset{}
	switch meta.String(TagTransferSyntaxUID) {
	case ImplicitVRLittleEndian:
		p.explicit = false
	case ExplicitVRBigEndian:
		p.big, ds.BigEndian = true, true
	case DeflatedExplicitVRLittleEndian:
		return "", "", false, nil
	}
	if p.top(p.parseDataset(ds, len(prefix), 0, func(t Tag) bool { return t.Group() > 0x0010 })) != nil || p.pos >= len(prefix) {
		return "", "", false, nil
	}
	return ds.PersonName(TagPatientName), ds.String(TagPatientID), true, nil
}
