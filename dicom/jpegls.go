package dicom

import (
	"encoding/binary"
	"fmt"
)

// JPEG-LS transfer syntaxes (PS3.5 A.4.3).
const (
	JPEGLSLossless     = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless = "1.2.840.10008.1.2.4.81"
)

// DecodeJPEGLS decodes one frame of JPEG-LS (ITU-T T.87 / ISO 14495-1:
// LOCO-I context modelling, Golomb coding, run mode; lossless and
// near-lossless; 2–16-bit samples; 1–4 components, not interleaved or
// line-interleaved, as separate scans or one) into native pixel data:
// little endian, samples interleaved, exactly the image's size. Sample
// interleave (ILV 2), restart intervals, mapping tables and point
// transforms — valid but rare — give a CannotPreviewError; a malformed
// stream, or a header that disagrees with the image pixel module, a
// FormatError.
func DecodeJPEGLS(b []byte, in ImageInfo) ([]byte, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, &FormatError{Msg: fmt.Sprintf("JPEG-LS: %d bits allocated (8 or 16)", in.BitsAllocated)}
	}
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, lsErr("no start of image")
	}
	d := &lsDecoder{llDecoder: llDecoder{b: b, pos: 2}, t: [3]int{}}
	var out []byte
	for {
		m, seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch m {
		case 0xF7: // SOF55
			if err := d.frame(seg, in); err != nil {
				return nil, err
			}
		case 0xF8: // LSE
			if err := d.presets(seg); err != nil {
				return nil, err
			}
		case 0xDD:
			if len(seg) == 2 && binary.BigEndian.Uint16(seg) != 0 {
				return nil, lsUnsupported("restart intervals are not decoded")
			}
		case 0xDA:
			if d.cols == 0 {
				return nil, lsErr("scan before the frame header")
			}
			if out == nil {
				out = make([]byte, d.rows*d.cols*d.nc*in.BitsAllocated/8)
			}
			if err := d.scan(seg, out, in.BitsAllocated/8); err != nil {
				return nil, err
			}
		case 0xD9:
			if out == nil || !d.done {
				return nil, lsErr("end of image before every component was decoded")
			}
			return out, nil
		default:
			if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
				return nil, lsErr(fmt.Sprintf("frame type FF%02X is not JPEG-LS", m))
			}
		}
	}
}

func lsErr(msg string) error { return &FormatError{Msg: "JPEG-LS: " + msg} }

// lsUnsupported is a valid stream using a feature the decoder leaves out:
// the file is kept and forwarded, with a "cannot preview" notice.
func lsUnsupported(msg string) error { return &CannotPreviewError{JPEGLSLossless, msg} }

type lsDecoder struct {
	llDecoder
	prevFF bool // the last byte read was FF (JPEG-LS bit stuffing)
	maxval int  // 0: default
	t      [3]int
	reset  int
}

func (d *lsDecoder) frame(seg []byte, in ImageInfo) error {
	if d.cols != 0 {
		return lsErr("a second frame header")
	}
	if len(seg) < 6 {
		return lsErr("short frame header")
	}
	d.precision = int(seg[0])
	d.rows, d.cols, d.nc = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
	switch {
	case d.precision < 2 || d.precision > 16:
		return lsErr(fmt.Sprintf("precision %d (2–16)", d.precision))
	case d.nc < 1 || d.nc > 4 || len(seg) != 6+3*d.nc:
		return lsErr(fmt.Sprintf("%d components", d.nc))
	case d.rows != in.Rows || d.cols != in.Columns || d.nc != in.SamplesPerPixel:
		return &FormatError{Msg: fmt.Sprintf("JPEG-LS frame is %d×%d×%d but the dataset says %d×%d×%d", d.cols, d.rows, d.nc, in.Columns, in.Rows, in.SamplesPerPixel)}
	case d.precision > in.BitsAllocated:
		return lsErr(fmt.Sprintf("precision %d exceeds %d bits allocated", d.precision, in.BitsAllocated))
	}
	for i := 0; i < d.nc; i++ {
		d.ids[i] = int(seg[6+3*i])
		if seg[7+3*i] != 0x11 {
			return lsUnsupported("subsampled components are not decoded")
		}
	}
	return nil
}

// presets reads an LSE segment of preset coding parameters (T.87 C.2.4.1.1).
func (d *lsDecoder) presets(seg []byte) error {
	if len(seg) < 1 {
		return lsErr("short LSE segment")
	}
	if seg[0] != 1 {
		return lsUnsupported(fmt.Sprintf("LSE segment type %d (only preset parameters are decoded)", seg[0]))
	}
	if len(seg) != 11 {
		return lsErr("preset parameters segment of the wrong length")
	}
	d.maxval = int(binary.BigEndian.Uint16(seg[1:]))
	d.t = [3]int{int(binary.BigEndian.Uint16(seg[3:])), int(binary.BigEndian.Uint16(seg[5:])), int(binary.BigEndian.Uint16(seg[7:]))}
	d.reset = int(binary.BigEndian.Uint16(seg[9:]))
	return nil
}

// lsParams are a scan's coding parameters (T.87 A.2.1, C.2.4.1.1.1).
type lsParams struct {
	maxval, near, rng, qbpp, limit, reset int
	t1, t2, t3                            int
}

func clampInt(v, lo, hi int) int {
	if v > hi || v < lo {
		return lo
	}
	return v
}

func (d *lsDecoder) params(near int) (lsParams, error) {
	p := lsParams{maxval: d.maxval, near: near, reset: d.reset}
	if p.maxval == 0 {
		p.maxval = 1<<uint(d.precision) - 1
	}
	if p.reset == 0 {
		p.reset = 64
	}
	if near < 0 || near > min(255, p.maxval/2) {
		return p, lsErr(fmt.Sprintf("NEAR %d out of range", near))
	}
	p.rng = (p.maxval+2*near)/(2*near+1) + 1
	for p.qbpp = 0; 1<<uint(p.qbpp) < p.rng; p.qbpp++ {
	}
	bpp := 2
	for 1<<uint(bpp) < p.maxval+1 {
		bpp++
	}
	p.limit = 2 * (bpp + max(8, bpp))
	// Default thresholds (C.2.4.1.1.1), where the stream gives none.
	var t1, t2, t3 int
	if p.maxval >= 128 {
		f := (min(p.maxval, 4095) + 128) / 256
		t1 = clampInt(f*(3-2)+2+3*near, near+1, p.maxval)
		t2 = clampInt(f*(7-3)+3+5*near, t1, p.maxval)
		t3 = clampInt(f*(21-4)+4+7*near, t2, p.maxval)
	} else {
		f := 256 / (p.maxval + 1)
		t1 = clampInt(max(2, 3/f+3*near), near+1, p.maxval)
		t2 = clampInt(max(3, 7/f+5*near), t1, p.maxval)
		t3 = clampInt(max(4, 21/f+7*near), t2, p.maxval)
	}
	p.t1, p.t2, p.t3 = t1, t2, t3
	if d.t[0] != 0 {
		p.t1 = d.t[0]
	}
	if d.t[1] != 0 {
		p.t2 = d.t[1]
	}
	if d.t[2] != 0 {
		p.t3 = d.t[2]
	}
	return p, nil
}

// lsContexts are the context variables of a scan (T.87 A.2.1).
type lsContexts struct {
	a, b, c, n [367]int
	nn         [367]int // run interruption contexts 365, 366
}

func newContexts(p lsParams) *lsContexts {
	cx := &lsContexts{}
	a := max(2, (p.rng+32)/64)
	for i := range cx.a {
		cx.a[i], cx.n[i] = a, 1
	}
	return cx
}

// lsJ is the run-length order table J (T.87 A.2.1).
var lsJ = [32]int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// lsBit reads one bit of JPEG-LS entropy-coded data: after an FF byte the
// next byte's high bit is a stuffed zero (T.87 A.1); an FF followed by a
// byte with its high bit set is a marker, which ends the data.
func (d *lsDecoder) lsBit() (int, error) {
	if d.nbits == 0 {
		if d.pos >= len(d.b) {
			return 0, &FormatError{Msg: "JPEG-LS: entropy-coded data ends early", Kind: ErrTruncated}
		}
		c := d.b[d.pos]
		if c == 0xFF && d.pos+1 < len(d.b) && d.b[d.pos+1]&0x80 != 0 {
			return 0, &FormatError{Msg: "JPEG-LS: a marker interrupts the scan", Kind: ErrTruncated}
		}
		d.pos++
		d.acc, d.nbits = uint32(c), 8
		if d.prevFF { // after an FF byte the high bit is a stuffed 0
			d.nbits = 7
		}
		d.prevFF = c == 0xFF
	}
	d.nbits--
	return int(d.acc>>uint(d.nbits)) & 1, nil
}

func (d *lsDecoder) lsBits(n int) (int, error) {
	v := 0
	for ; n > 0; n-- {
		b, err := d.lsBit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// golomb decodes a limited-length Golomb code (T.87 A.5.3).
func (d *lsDecoder) golomb(k, limit, qbpp int) (int, error) {
	q := 0
	for {
		b, err := d.lsBit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		q++
		if q > limit {
			return 0, lsErr("Golomb code longer than its limit")
		}
	}
	if q >= limit-qbpp-1 {
		v, err := d.lsBits(qbpp)
		return v + 1, err
	}
	if k == 0 {
		return q, nil
	}
	v, err := d.lsBits(k)
	return q<<uint(k) + v, err
}

func (d *lsDecoder) scan(seg, out []byte, bps int) error {
	if len(seg) < 1 {
		return lsErr("short scan header")
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.nc || len(seg) != 4+2*ns {
		return lsErr(fmt.Sprintf("scan of %d components", ns))
	}
	comp := make([]int, ns)
	for i := 0; i < ns; i++ {
		id := int(seg[1+2*i])
		comp[i] = -1
		for j := 0; j < d.nc; j++ {
			if d.ids[j] == id {
				comp[i] = j
			}
		}
		if comp[i] < 0 || d.decoded[comp[i]] {
			return lsErr("scan names an unknown or already decoded component")
		}
		if seg[2+2*i] != 0 {
			return lsUnsupported("mapping tables are not decoded")
		}
	}
	near, ilv, pt := int(seg[1+2*ns]), int(seg[2+2*ns]), int(seg[3+2*ns]&15)
	if pt != 0 {
		return lsUnsupported("a point transform is not decoded")
	}
	switch {
	case ilv == 2:
		return lsUnsupported("sample-interleaved scans (ILV 2) are not decoded")
	case ilv > 2, ilv == 0 && ns != 1:
		return lsErr(fmt.Sprintf("interleave mode %d with %d components", ilv, ns))
	}
	p, err := d.params(near)
	if err != nil {
		return err
	}
	cx := newContexts(p)
	d.acc, d.nbits, d.prevFF = 0, 0, false
	w := d.cols
	// Two lines per component, with one extra sample on each side.
	prev := make([][]int, ns)
	cur := make([][]int, ns)
	runIndex := make([]int, ns)
	for i := range prev {
		prev[i], cur[i] = make([]int, w+2), make([]int, w+2)
	}
	for y := 0; y < d.rows; y++ {
		for i := 0; i < ns; i++ {
			pl, cl := prev[i], cur[i]
			// Edges (T.87 A.2.1): Ra at x=0 is Rb; Rc at x=0 is the previous
			// line's Ra; Rd at the last column is Rb.
			cl[0] = pl[1]
			pl[w+1] = pl[w]
			if err := d.line(p, cx, pl, cl, &runIndex[i]); err != nil {
				return fmt.Errorf("line %d: %w", y, err)
			}
			c := comp[i]
			for x := 0; x < w; x++ {
				o := ((y*w+x)*d.nc + c) * bps
				v := cl[x+1]
				if bps == 1 {
					out[o] = byte(v)
				} else {
					out[o], out[o+1] = byte(v), byte(v>>8)
				}
			}
			prev[i], cur[i] = cl, pl
		}
	}
	for _, c := range comp {
		d.decoded[c] = true
	}
	d.done = true
	for i := 0; i < d.nc; i++ {
		d.done = d.done && d.decoded[i]
	}
	// The scan's data ends at the next marker.
	for d.pos < len(d.b) && !(d.b[d.pos] == 0xFF && d.pos+1 < len(d.b) && d.b[d.pos+1]&0x80 != 0) {
		d.pos++
	}
	return nil
}

func (p lsParams) quantize(g int) int {
	switch {
	case g <= -p.t3:
		return -4
	case g <= -p.t2:
		return -3
	case g <= -p.t1:
		return -2
	case g < -p.near:
		return -1
	case g <= p.near:
		return 0
	case g < p.t1:
		return 1
	case g < p.t2:
		return 2
	case g < p.t3:
		return 3
	}
	return 4
}

// fix reduces a reconstructed value modulo the range and clamps it (A.4.3, A.5.3).
func (p lsParams) fix(rx int) int {
	step := 2*p.near + 1
	if rx < -p.near {
		rx += p.rng * step
	} else if rx > p.maxval+p.near {
		rx -= p.rng * step
	}
	return max(0, min(p.maxval, rx))
}

// line decodes one line of one component into cl[1..w] (cl[0] holds Ra at
// the line's start, pl the previous line with its edges).
func (d *lsDecoder) line(p lsParams, cx *lsContexts, pl, cl []int, runIndex *int) error {
	w := len(cl) - 2
	for x := 1; x <= w; {
		ra, rb, rc, rd := cl[x-1], pl[x], pl[x-1], pl[x+1]
		d1, d2, d3 := rd-rb, rb-rc, rc-ra
		if abs(d1) <= p.near && abs(d2) <= p.near && abs(d3) <= p.near {
			n, err := d.run(p, cx, pl, cl, x, runIndex)
			if err != nil {
				return err
			}
			x += n
			continue
		}
		q1, q2, q3 := p.quantize(d1), p.quantize(d2), p.quantize(d3)
		sign := 1
		if q1 < 0 || q1 == 0 && (q2 < 0 || q2 == 0 && q3 < 0) {
			q1, q2, q3, sign = -q1, -q2, -q3, -1
		}
		q := 81*q1 + 9*q2 + q3
		var px int
		switch {
		case rc >= max(ra, rb):
			px = min(ra, rb)
		case rc <= min(ra, rb):
			px = max(ra, rb)
		default:
			px = ra + rb - rc
		}
		px += sign * cx.c[q]
		px = max(0, min(p.maxval, px))
		k := 0
		for cx.n[q]<<uint(k) < cx.a[q] {
			k++
			if k > 16 {
				return lsErr("context out of range")
			}
		}
		m, err := d.golomb(k, p.limit, p.qbpp)
		if err != nil {
			return err
		}
		e := m / 2
		if m&1 == 1 {
			e = -(m + 1) / 2
		}
		if p.near == 0 && k == 0 && 2*cx.b[q] <= -cx.n[q] {
			e = -(e + 1)
		}
		// Context update (A.6) with the error as coded.
		cx.b[q] += e * (2*p.near + 1)
		cx.a[q] += abs(e)
		if cx.n[q] == p.reset {
			cx.a[q] >>= 1
			cx.b[q] = floorHalf(cx.b[q])
			cx.n[q] >>= 1
		}
		cx.n[q]++
		if cx.b[q] <= -cx.n[q] {
			cx.b[q] += cx.n[q]
			if cx.c[q] > -128 {
				cx.c[q]--
			}
			if cx.b[q] <= -cx.n[q] {
				cx.b[q] = -cx.n[q] + 1
			}
		} else if cx.b[q] > 0 {
			cx.b[q] -= cx.n[q]
			if cx.c[q] < 127 {
				cx.c[q]++
			}
			if cx.b[q] > 0 {
				cx.b[q] = 0
			}
		}
		cl[x] = p.fix(px + sign*e*(2*p.near+1))
		x++
	}
	return nil
}

// run decodes a run starting at column x (1-based) and, unless it reaches
// the end of the line, the run interruption sample (A.7); it returns the
// number of samples decoded.
func (d *lsDecoder) run(p lsParams, cx *lsContexts, pl, cl []int, x int, runIndex *int) (int, error) {
	w := len(cl) - 2
	ra := cl[x-1]
	left := w - x + 1
	n := 0
	for {
		b, err := d.lsBit()
		if err != nil {
			return 0, err
		}
		if b == 0 {
			break
		}
		rg := 1 << uint(lsJ[*runIndex])
		cnt := min(rg, left-n)
		for i := 0; i < cnt; i++ {
			cl[x+n+i] = ra
		}
		n += cnt
		if cnt == rg && *runIndex < 31 {
			*runIndex++
		}
		if n == left {
			return n, nil
		}
	}
	// A '0': the run's remainder in J bits, then the interruption sample.
	r, err := d.lsBits(lsJ[*runIndex])
	if err != nil {
		return 0, err
	}
	if n+r >= left {
		return 0, lsErr("run longer than the line")
	}
	for i := 0; i < r; i++ {
		cl[x+n+i] = ra
	}
	n += r
	xi := x + n
	rb := pl[xi]
	ritype := 0
	if abs(ra-rb) <= p.near {
		ritype = 1
	}
	q := 365 + ritype
	temp := cx.a[q]
	if ritype == 1 {
		temp += cx.n[q] >> 1
	}
	k := 0
	for cx.n[q]<<uint(k) < temp {
		k++
		if k > 16 {
			return 0, lsErr("context out of range")
		}
	}
	em, err := d.golomb(k, p.limit-lsJ[*runIndex]-1, p.qbpp)
	if err != nil {
		return 0, err
	}
	t := em + ritype
	mp := t & 1
	e := (t + mp) / 2
	if (k != 0 || 2*cx.nn[q] >= cx.n[q]) == (mp == 1) {
		e = -e
	}
	if e < 0 {
		cx.nn[q]++
	}
	cx.a[q] += (em + 1 - ritype) >> 1
	if cx.n[q] == p.reset {
		cx.a[q] >>= 1
		cx.n[q] >>= 1
		cx.nn[q] >>= 1
	}
	cx.n[q]++
	if ritype == 1 {
		cl[xi] = p.fix(ra + e*(2*p.near+1))
	} else {
		s := 1
		if rb < ra {
			s = -1
		}
		cl[xi] = p.fix(rb + s*e*(2*p.near+1))
	}
	if *runIndex > 0 {
		*runIndex--
	}
	return n + 1, nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// floorHalf is floor(v/2) (B[Q] may be negative).
func floorHalf(v int) int { return v >> 1 }
