package dicom

import (
	"encoding/binary"
	"fmt"
)

// JPEG Lossless transfer syntaxes (PS3.5 A.4.1): process 14 with any
// predictor, and its selection value 1 (the most common from CT and DR).
const (
	JPEGLossless    = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1 = "1.2.840.10008.1.2.4.70"
)

// DecodeJPEGLossless decodes one frame of lossless JPEG (ITU-T T.81
// Annex H: Huffman-coded differences, predictors 1–7, point transform,
// restart intervals, 2–16-bit precision, 1–4 components with sampling
// factors 1) into native pixel data: little endian, samples interleaved,
// exactly Rows × Columns × Samples per Pixel × Bits Allocated/8 bytes. The
// JPEG frame header must agree with the image pixel module before
// anything is allocated; a truncated or corrupt stream is a FormatError.
func DecodeJPEGLossless(b []byte, in ImageInfo) ([]byte, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, &FormatError{Msg: fmt.Sprintf("JPEG Lossless: %d bits allocated (8 or 16)", in.BitsAllocated)}
	}
	d := llDecoder{codec: "JPEG Lossless", b: b}
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, llErr("no start of image")
	}
	d.pos = 2
	var out []byte
	for {
		m, seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xC3: // SOF3: lossless, Huffman
			if err := d.frameHeader(seg, in); err != nil {
				return nil, err
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, llErr(fmt.Sprintf("frame type SOF%d is not lossless Huffman (SOF3)", m-0xC0))
		case m == 0xC4:
			if err := d.huffmanTables(seg); err != nil {
				return nil, err
			}
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, llErr("bad restart interval segment")
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xDA:
			if d.cols == 0 {
				return nil, llErr("scan before the frame header")
			}
			if out == nil {
				out = make([]byte, d.rows*d.cols*d.nc*in.BitsAllocated/8)
			}
			if err := d.scan(seg, out, in.BitsAllocated/8); err != nil {
				return nil, err
			}
		case m == 0xD9: // EOI
			if out == nil || !d.done {
				return nil, llErr("end of image before every component was decoded")
			}
			return out, nil
		}
	}
}

func llErr(msg string) error {
	return &FormatError{Msg: "JPEG Lossless: " + msg}
}

// err is a FormatError naming the decoder's codec.
func (d *llDecoder) err(msg string) error {
	return &FormatError{Msg: d.codec + ": " + msg}
}

// truncated is a FormatError (ErrTruncated) naming the decoder's codec.
func (d *llDecoder) truncated(msg string) error {
	return &FormatError{Msg: d.codec + ": " + msg, Kind: ErrTruncated}
}

type llHuff struct {
	maxcode [18]int32 // largest code of each length (−1: none)
	valptr  [17]int32
	mincode [17]int32
	vals    []byte
	ok      bool
}

type llDecoder struct {
	codec      string // for messages: "JPEG Lossless", "JPEG Extended"
	b          []byte
	pos        int
	precision  int
	rows, cols int
	nc         int    // components
	ids        [4]int // component identifiers
	huff       [4]llHuff
	restart    int
	decoded    [4]bool
	done       bool
	// bit reader
	acc       uint32
	nbits     int
	hitMarker bool
}

// segment reads the next marker and its segment (nil for markers without
// one); it skips fill bytes.
func (d *llDecoder) segment() (byte, []byte, error) {
	for d.pos < len(d.b) && d.b[d.pos] != 0xFF {
		d.pos++ // stray bytes between segments
	}
	for d.pos < len(d.b) && d.b[d.pos] == 0xFF {
		d.pos++
	}
	if d.pos >= len(d.b) {
		return 0, nil, d.truncated("stream ends before the end of image")
	}
	m := d.b[d.pos]
	d.pos++
	if m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
		return m, nil, nil
	}
	if d.pos+2 > len(d.b) {
		return 0, nil, d.truncated("truncated segment length")
	}
	n := int(binary.BigEndian.Uint16(d.b[d.pos:]))
	if n < 2 || d.pos+n > len(d.b) {
		return 0, nil, d.truncated(fmt.Sprintf("segment FF%02X of %d bytes runs past the stream", m, n))
	}
	seg := d.b[d.pos+2 : d.pos+n]
	d.pos += n
	return m, seg, nil
}

func (d *llDecoder) frameHeader(seg []byte, in ImageInfo) error {
	if d.cols != 0 {
		return llErr("a second frame header")
	}
	if len(seg) < 6 {
		return llErr("short frame header")
	}
	d.precision = int(seg[0])
	d.rows, d.cols, d.nc = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
	switch {
	case d.precision < 2 || d.precision > 16:
		return llErr(fmt.Sprintf("precision %d (2–16)", d.precision))
	case d.nc < 1 || d.nc > 4 || len(seg) != 6+3*d.nc:
		return llErr(fmt.Sprintf("%d components", d.nc))
	case d.rows != in.Rows || d.cols != in.Columns || d.nc != in.SamplesPerPixel:
		return &FormatError{Msg: fmt.Sprintf("JPEG Lossless frame is %d×%d×%d but the dataset says %d×%d×%d", d.cols, d.rows, d.nc, in.Columns, in.Rows, in.SamplesPerPixel)}
	case d.precision > in.BitsAllocated:
		return llErr(fmt.Sprintf("precision %d exceeds %d bits allocated", d.precision, in.BitsAllocated))
	}
	for i := 0; i < d.nc; i++ {
		d.ids[i] = int(seg[6+3*i])
		if seg[7+3*i] != 0x11 {
			return llErr("subsampled components are not supported (sampling factors must be 1)")
		}
	}
	return nil
}

// huffmanTables reads DHT (T.81 B.2.4.2) into the DC (lossless) tables;
// an AC table is refused.
func (d *llDecoder) huffmanTables(seg []byte) error {
	return readDHT(seg, &d.huff, nil, d.err)
}

// readDHT reads a DHT segment (T.81 B.2.4.2) and builds the decoding
// tables of F.2.2.3 (mincode, maxcode, valptr): class 0 into dc, class 1
// into ac (refused when ac is nil).
func readDHT(seg []byte, dc, ac *[4]llHuff, errf func(string) error) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errf("short Huffman table")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || (tc == 1 && ac == nil) || th > 3 {
			return errf("Huffman table class or destination out of range")
		}
		total := 0
		for i := 1; i <= 16; i++ {
			total += int(seg[i])
		}
		if total > 256 || len(seg) < 17+total {
			return errf("Huffman table values run past the segment")
		}
		h := llHuff{vals: append([]byte(nil), seg[17:17+total]...), ok: true}
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			n := int32(seg[l])
			if n == 0 {
				h.maxcode[l] = -1
			} else {
				h.valptr[l], h.mincode[l] = k, code
				code += n
				k += n
				h.maxcode[l] = code - 1
			}
			if code > 1<<l {
				return errf("Huffman table has more codes than its lengths allow")
			}
			code <<= 1
		}
		h.maxcode[17] = 0x7fffffff
		if tc == 0 {
			dc[th] = h
		} else {
			ac[th] = h
		}
		seg = seg[17+total:]
	}
	return nil
}

// bit returns the next bit of the entropy-coded data (T.81 F.2.2.5):
// FF00 is a stuffed FF; a marker ends the data (zeros are fed after it,
// and decoding past the end is caught by the caller's count).
func (d *llDecoder) bit() (uint32, error) {
	if d.nbits == 0 {
		if d.hitMarker || d.pos >= len(d.b) {
			return 0, d.truncated("entropy-coded data ends early")
		}
		c := d.b[d.pos]
		if c == 0xFF {
			if d.pos+1 >= len(d.b) {
				return 0, d.truncated("stream ends inside the scan")
			}
			if d.b[d.pos+1] != 0 {
				d.hitMarker = true
				return 0, d.truncated("a marker interrupts the scan")
			}
			d.pos++
		}
		d.pos++
		d.acc, d.nbits = uint32(c), 8
	}
	d.nbits--
	return (d.acc >> uint(d.nbits)) & 1, nil
}

func (d *llDecoder) bits(n int) (int32, error) {
	var v int32
	for ; n > 0; n-- {
		b, err := d.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | int32(b)
	}
	return v, nil
}

// symbol decodes one Huffman-coded symbol (T.81 F.2.2.3, DECODE).
func (d *llDecoder) symbol(h *llHuff) (int, error) {
	code := int32(0)
	l := 1
	for ; l <= 16; l++ {
		b, err := d.bit()
		if err != nil {
			return 0, err
		}
		code = code<<1 | int32(b)
		if h.maxcode[l] >= 0 && code <= h.maxcode[l] {
			break
		}
	}
	if l > 16 {
		return 0, d.err("invalid Huffman code")
	}
	i := h.valptr[l] + code - h.mincode[l]
	if i < 0 || int(i) >= len(h.vals) {
		return 0, d.err("invalid Huffman code")
	}
	return int(h.vals[i]), nil
}

// extend reads s extra bits and extends them to a signed value (T.81
// F.2.2.1, RECEIVE and EXTEND).
func (d *llDecoder) extend(s int) (int32, error) {
	v, err := d.bits(s)
	if err != nil {
		return 0, err
	}
	if v < 1<<uint(s-1) {
		v += -1<<uint(s) + 1
	}
	return v, nil
}

// diff decodes one difference (T.81 H.1.2.2, F.2.2.1): a Huffman-coded
// category SSSS, then SSSS extra bits; 16 means 32768 with none.
func (d *llDecoder) diff(h *llHuff) (int32, error) {
	s, err := d.symbol(h)
	switch {
	case err != nil:
		return 0, err
	case s == 0:
		return 0, nil
	case s == 16:
		return 32768, nil
	case s > 16:
		return 0, d.err(fmt.Sprintf("difference category %d", s))
	}
	return d.extend(s)
}

// scan decodes one scan (SOS) into out.
func (d *llDecoder) scan(seg, out []byte, bps int) error {
	if len(seg) < 1 {
		return llErr("short scan header")
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.nc || len(seg) != 4+2*ns {
		return llErr(fmt.Sprintf("scan of %d components", ns))
	}
	comp := make([]int, ns) // index into the frame's components
	tabs := make([]*llHuff, ns)
	for i := 0; i < ns; i++ {
		id, td := int(seg[1+2*i]), int(seg[2+2*i]>>4)
		comp[i] = -1
		for j := 0; j < d.nc; j++ {
			if d.ids[j] == id {
				comp[i] = j
			}
		}
		if comp[i] < 0 || d.decoded[comp[i]] {
			return llErr("scan names an unknown or already decoded component")
		}
		if td > 3 || !d.huff[td].ok {
			return llErr("scan uses a Huffman table that was not defined")
		}
		tabs[i] = &d.huff[td]
	}
	ss, al := int(seg[1+2*ns]), int(seg[3+2*ns]&15)
	if ss < 1 || ss > 7 {
		return llErr(fmt.Sprintf("predictor %d (1–7)", ss))
	}
	if al >= d.precision {
		return llErr("point transform not below the precision")
	}
	if d.restart > 0 && d.restart%d.cols != 0 {
		// T.81 H.2: a lossless restart interval is a whole number of rows.
		return llErr(fmt.Sprintf("restart interval %d is not a whole number of %d-sample rows", d.restart, d.cols))
	}
	d.acc, d.nbits, d.hitMarker = 0, 0, false
	w, stride := d.cols, d.nc
	mask := int32(1)<<uint(d.precision-al) - 1
	initial := int32(1) << uint(d.precision-al-1)
	// Two rows of reconstructed values per scan component (before the point transform).
	prev := make([][]int32, ns)
	cur := make([][]int32, ns)
	for i := range prev {
		prev[i], cur[i] = make([]int32, w), make([]int32, w)
	}
	restartLeft := d.restart // MCUs until the next restart marker (lossless: a whole number of rows)
	firstRow := true
	for y := 0; y < d.rows; y++ {
		if d.restart > 0 && restartLeft == 0 {
			// RSTn: byte-align, read the marker, reset the prediction.
			d.nbits = 0
			if d.hitMarker {
				d.hitMarker = false
			}
			for d.pos < len(d.b) && d.b[d.pos] == 0xFF && d.pos+1 < len(d.b) && d.b[d.pos+1] == 0xFF {
				d.pos++
			}
			if d.pos+1 >= len(d.b) || d.b[d.pos] != 0xFF || d.b[d.pos+1] < 0xD0 || d.b[d.pos+1] > 0xD7 {
				return llErr("missing restart marker")
			}
			d.pos += 2
			restartLeft, firstRow = d.restart, true
		}
		for x := 0; x < w; x++ {
			for i := 0; i < ns; i++ {
				dv, err := d.diff(tabs[i])
				if err != nil {
					return fmt.Errorf("row %d, column %d: %w", y, x, err)
				}
				var p int32
				switch {
				case firstRow && x == 0:
					p = initial
				case firstRow:
					p = cur[i][x-1]
				case x == 0:
					p = prev[i][0]
				default:
					ra, rb, rc := cur[i][x-1], prev[i][x], prev[i][x-1]
					switch ss {
					case 1:
						p = ra
					case 2:
						p = rb
					case 3:
						p = rc
					case 4:
						p = ra + rb - rc
					case 5:
						p = ra + ((rb - rc) >> 1)
					case 6:
						p = rb + ((ra - rc) >> 1)
					case 7:
						p = (ra + rb) >> 1
					}
				}
				v := (p + dv) & 0xFFFF & mask
				cur[i][x] = v
				o := ((y*w+x)*stride + comp[i]) * bps
				s := uint32(v) << uint(al)
				if bps == 1 {
					out[o] = byte(s)
				} else {
					out[o], out[o+1] = byte(s), byte(s>>8)
				}
			}
			if d.restart > 0 && x == w-1 {
				restartLeft -= w
				if restartLeft < 0 {
					restartLeft = 0
				}
			}
		}
		prev, cur = cur, prev
		firstRow = false
	}
	for _, c := range comp {
		d.decoded[c] = true
	}
	d.done = true
	for i := 0; i < d.nc; i++ {
		d.done = d.done && d.decoded[i]
	}
	// Continue after the scan's entropy-coded data: find the next marker.
	for d.pos < len(d.b) && !(d.b[d.pos] == 0xFF && d.pos+1 < len(d.b) && d.b[d.pos+1] != 0 && (d.b[d.pos+1] < 0xD0 || d.b[d.pos+1] > 0xD7)) {
		d.pos++
	}
	return nil
}
