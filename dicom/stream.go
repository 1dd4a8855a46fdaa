package dicom

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// growBuf reads a stream into a buffer on demand.
type growBuf struct {
	r   io.Reader
	b   []byte
	eof bool
	max int64
}

// more reads at least as many bytes again as the buffer holds (64 KiB at first).
func (g *growBuf) more() error {
	if g.eof {
		return &FormatError{Offset: len(g.b), Msg: "the file ends inside an element", Kind: ErrTruncated}
	}
	return g.fill(len(g.b) + max(64<<10, len(g.b)))
}

// fill reads until the buffer holds n bytes or the stream ends.
func (g *growBuf) fill(n int) error {
	if int64(n) > g.max {
		n = int(g.max) + 1
	}
	for len(g.b) < n && !g.eof {
		if len(g.b) == cap(g.b) {
			// Grow by doubling, not to n at once: a length field (or a
			// deflate bomb) never buys memory the stream does not fill.
			nb := make([]byte, len(g.b), min(n, max(2*cap(g.b), 64<<10)))
			copy(nb, g.b)
			g.b = nb
		}
		k, err := g.r.Read(g.b[len(g.b):min(n, cap(g.b))])
		g.b = g.b[:len(g.b)+k]
		var corrupt flate.CorruptInputError
		var lim limitErr
		switch {
		case errors.As(err, &lim):
			return &FormatError{Offset: len(g.b), Msg: "deflated dataset: " + lim.Error(), Kind: ErrLimit}
		case err == io.EOF:
			g.eof = true
		case errors.Is(err, io.ErrUnexpectedEOF):
			// A deflated dataset cut short: the upload is truncated, not an I/O fault.
			return &FormatError{Offset: len(g.b), Msg: "the deflated dataset ends early", Kind: ErrTruncated}
		case errors.As(err, &corrupt):
			return &FormatError{Offset: len(g.b), Msg: "the deflated dataset is corrupt: " + err.Error()}
		case err != nil:
			return err
		}
	}
	if int64(len(g.b)) > g.max {
		return &FormatError{Offset: int(g.max), Msg: fmt.Sprintf("more than %d bytes", g.max), Kind: ErrLimit}
	}
	return nil
}

// ParseFrames reads a Part 10 file from r only as far as the first n frames
// of native pixel data, so the first frame of a long cine can be shown
// before the rest arrives. The File's Pixel Data holds those frames only.
// Encapsulated pixel data is read to its end (at most max bytes). A file
// without pixel data is read whole. max bounds the bytes read from r (and
// inflated, for the deflated transfer syntax).
func (l Limits) ParseFrames(r io.Reader, n int, max int64) (*File, error) {
	if n < 1 {
		n = 1
	}
	g := &growBuf{r: r, max: max}
	if err := g.fill(132); err != nil {
		return nil, err
	}
	if len(g.b) < 132 || string(g.b[128:132]) != "DICM" {
		return nil, &FormatError{Offset: 128, Msg: "no DICM prefix after the 128-byte preamble (not a DICOM Part 10 file)"}
	}
	// File meta group: stop at the first tag outside group 2.
	meta := &Dataset{}
	var p *parser
	for {
		meta = &Dataset{}
		p = &parser{b: g.b, pos: 132, explicit: true, lim: l}
		err := p.top(p.parseDataset(meta, len(g.b), 0, func(t Tag) bool { return t.Group() != 0x0002 }))
		if (err == nil && p.pos < len(g.b)) || (err == nil && g.eof) {
			break
		}
		if err != nil && !errors.Is(err, ErrTruncated) || g.eof {
			return nil, err
		}
		if err := g.more(); err != nil {
			return nil, err
		}
	}
	f := &File{Meta: meta, TransferSyntax: meta.String(TagTransferSyntaxUID)}
	if f.TransferSyntax == "" {
		return nil, &FormatError{Offset: 132, Msg: "file meta group has no transfer syntax UID (0002,0010)"}
	}
	explicit, big := true, false
	ds := &Dataset{}
	switch f.TransferSyntax {
	case ImplicitVRLittleEndian:
		explicit = false
	case ExplicitVRBigEndian:
		big = true
		ds.BigEndian = true
	}
	start := p.pos
	if f.TransferSyntax == DeflatedExplicitVRLittleEndian {
		rest := g.b[p.pos:]
		zr := l.newInflater(io.MultiReader(bytesReader(rest), r))
		defer zr.Close()
		g = &growBuf{r: zr, max: l.MaxInflated}
		start = 0
	}
	// Dataset up to the top-level Pixel Data.
	for {
		ds = &Dataset{BigEndian: big}
		p = &parser{b: g.b, pos: start, explicit: explicit, big: big, lim: l}
		err := p.top(p.parseDataset(ds, len(g.b), 0, func(t Tag) bool { return t == TagPixelData }))
		if err == nil && (p.pos+12 <= len(g.b) || g.eof) {
			break
		}
		if err != nil && !errors.Is(err, ErrTruncated) {
			return nil, err
		}
		if g.eof {
			if err == nil {
				err = p.errf(ErrTruncated, "pixel data element header cut short")
			}
			return nil, err
		}
		if err := g.more(); err != nil {
			return nil, err
		}
	}
	f.Dataset = ds
	if p.pos >= len(g.b) {
		return f, nil // no pixel data
	}
	if len(g.b)-p.pos < 12 && explicit && longVR(string(g.b[p.pos+4:p.pos+6])) {
		return nil, p.errf(ErrTruncated, "pixel data element header cut short")
	}
	var length uint32
	hdr := 8
	if explicit {
		vr := string(g.b[p.pos+4 : p.pos+6])
		if longVR(vr) {
			length, hdr = p.u32(p.pos+8), 12
		} else {
			length = uint32(p.u16(p.pos + 6))
		}
	} else {
		length = p.u32(p.pos + 4)
	}
	in, err := ds.Info()
	if err != nil {
		return nil, err
	}
	if length != undefinedLength && in.BitsAllocated%8 == 0 && in.BitsAllocated > 0 {
		// Native: read just the first n frames (or the element, if shorter).
		size := int64(in.Rows) * int64(in.Columns) * int64(in.SamplesPerPixel) * int64(in.BitsAllocated/8)
		want := min(int64(length), size*int64(min(n, in.Frames)))
		if err := g.fill(p.pos + hdr + int(want)); err != nil {
			return nil, err
		}
		if len(g.b) < p.pos+hdr+int(want) {
			return nil, p.errf(ErrTruncated, "pixel data: %d bytes of the first frames, the stream ends after %d", want, len(g.b)-p.pos-hdr)
		}
		el := &Element{Tag: TagPixelData, VR: "OW", Value: g.b[p.pos+hdr : p.pos+hdr+int(want)]}
		if explicit {
			el.VR = string(g.b[p.pos+4 : p.pos+6])
		}
		ds.Elements = append(ds.Elements, el)
		ds.byTag = nil
		return f, nil
	}
	// Encapsulated (or odd bit depths): read the rest and parse it.
	for !g.eof {
		if err := g.more(); err != nil {
			return nil, err
		}
	}
	p.b = g.b
	if err := p.top(p.parseDataset(ds, len(g.b), 0, nil)); err != nil {
		return nil, err
	}
	ds.byTag = nil
	return f, nil
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &sliceReader{append([]byte(nil), b...)} }
