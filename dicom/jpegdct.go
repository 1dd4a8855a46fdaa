package dicom

import (
	"encoding/binary"
	"fmt"
	"image/color"
	"math"
)

// DecodeJPEGExtended decodes one frame of sequential DCT-based JPEG with
// Huffman coding (ITU-T T.81 processes 1, 2 and 4: SOF0 and SOF1, 8- or
// 12-bit samples, 1–4 components with sampling factors 1–4, restart
// intervals) into native pixel data: little endian, samples interleaved,
// exactly Rows × Columns × Samples per Pixel × Bits Allocated/8 bytes.
// Go's image/jpeg decodes 8-bit samples only; CT and MR modalities write
// 12-bit (PS3.5 A.4.1, JPEG Extended). Subsampled components are
// upsampled by replication; colour samples stay as coded (YBR_FULL after
// decoding) unless the dataset says RGB while the stream is YCbCr-coded
// (no Adobe transform 0, component IDs not R, G, B: as image/jpeg
// decides), when they are converted to RGB. It decodes JPEG Baseline
// (…4.50) frames too, for conversion; previews of 8-bit JPEG use
// image/jpeg. The frame header must agree with the image pixel module
// before anything is allocated; progressive or arithmetic-coded frames
// (not allowed under this transfer syntax) and corrupt streams are
// FormatErrors.
func DecodeJPEGExtended(b []byte, in ImageInfo) ([]byte, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, &FormatError{Msg: fmt.Sprintf("JPEG Extended: %d bits allocated (8 or 16)", in.BitsAllocated)}
	}
	d := dctDecoder{llDecoder: llDecoder{codec: "JPEG Extended", b: b}}
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, d.err("no start of image")
	}
	d.pos = 2
	for {
		m, seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xC0 || m == 0xC1:
			if err := d.frameHeader(seg, in); err != nil {
				return nil, err
			}
		case m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, d.err(fmt.Sprintf("frame type SOF%d is not sequential DCT with Huffman coding (SOF0, SOF1)", m-0xC0))
		case m == 0xC4:
			if err := readDHT(seg, &d.huff, &d.ac, d.err); err != nil {
				return nil, err
			}
		case m == 0xDB:
			if err := d.quantTables(seg); err != nil {
				return nil, err
			}
		case m == 0xDD:
			if len(seg) != 2 {
				return nil, d.err("bad restart interval segment")
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xDA:
			if d.cols == 0 {
				return nil, d.err("scan before the frame header")
			}
			if err := d.scan(seg); err != nil {
				return nil, err
			}
		case m == 0xEE: // APP14: Adobe's colour transform flag
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.transform = true, seg[11]
			}
		case m == 0xD9:
			if d.cols == 0 || !d.done {
				return nil, d.err("end of image before every component was decoded")
			}
			out := d.output(in.BitsAllocated / 8)
			if in.Photometric == "RGB" && d.nc == 3 && d.precision == 8 && d.yccCoded() {
				for i := 0; i+2 < len(out); i += 3 {
					out[i], out[i+1], out[i+2] = color.YCbCrToRGB(out[i], out[i+1], out[i+2])
				}
			}
			return out, nil
		}
	}
}

type dctComponent struct {
	id, h, v, tq int
	bw, bh       int     // blocks across and down in the component's plane (whole MCUs)
	cw, ch       int     // blocks holding the component's own samples (T.81 A.1.1)
	plane        []int32 // bw·8 × bh·8 samples
	pred         int32
	decoded      bool
}

type dctDecoder struct {
	llDecoder
	ac         [4]llHuff
	quant      [4][64]int32 // in zigzag order
	quantOK    [4]bool
	comps      []dctComponent
	hmax, vmax int
	mcux, mcuy int
	adobe      bool // an APP14 Adobe segment, with its transform flag
	transform  byte
}

// yccCoded reports whether three components are YCbCr-coded: not when an
// Adobe segment says transform 0, nor when the component IDs are 'R',
// 'G', 'B'; JFIF and the rest are.
func (d *dctDecoder) yccCoded() bool {
	if d.adobe {
		return d.transform != 0
	}
	return !(d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B')
}

// zigzag maps the zigzag index of a coefficient to its row-major index.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// idctCos[x][u] = C(u)/2 · cos((2x+1)uπ/16) (T.81 A.3.3).
var idctCos = func() (t [8][8]float64) {
	for x := 0; x < 8; x++ {
		for u := 0; u < 8; u++ {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			t[x][u] = c / 2 * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return t
}()

func (d *dctDecoder) frameHeader(seg []byte, in ImageInfo) error {
	if d.cols != 0 {
		return d.err("a second frame header")
	}
	if len(seg) < 6 {
		return d.err("short frame header")
	}
	d.precision = int(seg[0])
	d.rows, d.cols, d.nc = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
	switch {
	case d.precision != 8 && d.precision != 12:
		return d.err(fmt.Sprintf("precision %d (8 or 12)", d.precision))
	case d.nc < 1 || d.nc > 4 || len(seg) != 6+3*d.nc:
		return d.err(fmt.Sprintf("%d components", d.nc))
	case d.rows != in.Rows || d.cols != in.Columns || d.nc != in.SamplesPerPixel:
		return &FormatError{Msg: fmt.Sprintf("JPEG Extended frame is %d×%d×%d but the dataset says %d×%d×%d", d.cols, d.rows, d.nc, in.Columns, in.Rows, in.SamplesPerPixel)}
	case d.precision > in.BitsAllocated:
		return d.err(fmt.Sprintf("precision %d exceeds %d bits allocated", d.precision, in.BitsAllocated))
	case d.rows*d.cols > MaxJPEGPixels:
		// The planes are allocated from the header: a few hostile bytes
		// could ask for gigabytes.
		return &FormatError{Msg: fmt.Sprintf("JPEG Extended: a frame of %d×%d pixels is larger than the %d decoded", d.cols, d.rows, MaxJPEGPixels), Kind: ErrLimit}
	}
	d.comps = make([]dctComponent, d.nc)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id, c.h, c.v, c.tq = int(seg[6+3*i]), int(seg[7+3*i]>>4), int(seg[7+3*i]&15), int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return d.err(fmt.Sprintf("component %d: sampling factors %d×%d, quantisation table %d", c.id, c.h, c.v, c.tq))
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	d.mcux = (d.cols + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcuy = (d.rows + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcux*c.h, d.mcuy*c.v
		// T.81 A.1.1: the component is ceil(X·h/hmax) × ceil(Y·v/vmax) samples.
		c.cw = ((d.cols*c.h+d.hmax-1)/d.hmax + 7) / 8
		c.ch = ((d.rows*c.v+d.vmax-1)/d.vmax + 7) / 8
		c.plane = make([]int32, c.bw*8*c.bh*8)
	}
	return nil
}

// quantTables reads DQT (T.81 B.2.4.1): 8- or 16-bit values in zigzag order.
func (d *dctDecoder) quantTables(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := int(seg[0]>>4), int(seg[0]&15)
		if pq > 1 || tq > 3 {
			return d.err("quantisation table precision or destination out of range")
		}
		n := 1 + 64*(pq+1)
		if len(seg) < n {
			return d.err("quantisation table runs past the segment")
		}
		for k := 0; k < 64; k++ {
			if pq == 0 {
				d.quant[tq][k] = int32(seg[1+k])
			} else {
				d.quant[tq][k] = int32(binary.BigEndian.Uint16(seg[1+2*k:]))
			}
		}
		d.quantOK[tq] = true
		seg = seg[n:]
	}
	return nil
}

// scan decodes one sequential scan (T.81 F.2): interleaved MCUs when it
// holds several components, else the component's blocks in raster order.
func (d *dctDecoder) scan(seg []byte) error {
	if len(seg) < 1 {
		return d.err("short scan header")
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.nc || len(seg) != 4+2*ns {
		return d.err(fmt.Sprintf("scan of %d components", ns))
	}
	comps := make([]*dctComponent, ns)
	dcs, acs := make([]*llHuff, ns), make([]*llHuff, ns)
	for i := 0; i < ns; i++ {
		id, td, ta := int(seg[1+2*i]), int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		for j := range d.comps {
			if d.comps[j].id == id {
				comps[i] = &d.comps[j]
			}
		}
		if comps[i] == nil || comps[i].decoded {
			return d.err("scan names an unknown or already decoded component")
		}
		if td > 3 || ta > 3 || !d.huff[td].ok || !d.ac[ta].ok {
			return d.err("scan uses a Huffman table that was not defined")
		}
		if !d.quantOK[comps[i].tq] {
			return d.err("component uses a quantisation table that was not defined")
		}
		dcs[i], acs[i] = &d.huff[td], &d.ac[ta]
	}
	if ss, se, a := seg[1+2*ns], seg[2+2*ns], seg[3+2*ns]; ss != 0 || se != 63 || a != 0 {
		return d.err("spectral selection or successive approximation in a sequential scan")
	}
	d.acc, d.nbits, d.hitMarker = 0, 0, false
	for _, c := range comps {
		c.pred = 0
	}
	// Units: MCUs of the interleaved scan, or blocks of the single component.
	ux, uy := d.mcux, d.mcuy
	if ns == 1 {
		ux, uy = comps[0].cw, comps[0].ch
	}
	left := d.restart
	var blk [64]int32
	for u := 0; u < ux*uy; u++ {
		if d.restart > 0 && left == 0 {
			if err := d.restartMarker(); err != nil {
				return err
			}
			for _, c := range comps {
				c.pred = 0
			}
			left = d.restart
		}
		left--
		mx, my := u%ux, u/ux
		for i, c := range comps {
			bx, by, nh, nv := mx, my, 1, 1
			if ns > 1 {
				bx, by, nh, nv = mx*c.h, my*c.v, c.h, c.v
			}
			for v := 0; v < nv; v++ {
				for h := 0; h < nh; h++ {
					dcOnly, err := d.block(c, dcs[i], acs[i], &blk)
					if err != nil {
						return fmt.Errorf("unit %d: %w", u, err)
					}
					d.idct(&blk, dcOnly, c, bx+h, by+v)
				}
			}
		}
	}
	for _, c := range comps {
		c.decoded = true
	}
	d.done = true
	for i := range d.comps {
		d.done = d.done && d.comps[i].decoded
	}
	// Continue after the scan's entropy-coded data: find the next marker.
	for d.pos < len(d.b) && !(d.b[d.pos] == 0xFF && d.pos+1 < len(d.b) && d.b[d.pos+1] != 0 && (d.b[d.pos+1] < 0xD0 || d.b[d.pos+1] > 0xD7)) {
		d.pos++
	}
	return nil
}

// restartMarker byte-aligns and reads an RSTn marker (T.81 F.2.2.5).
func (d *dctDecoder) restartMarker() error {
	d.nbits, d.hitMarker = 0, false
	for d.pos+1 < len(d.b) && d.b[d.pos] == 0xFF && d.b[d.pos+1] == 0xFF {
		d.pos++
	}
	if d.pos+1 >= len(d.b) || d.b[d.pos] != 0xFF || d.b[d.pos+1] < 0xD0 || d.b[d.pos+1] > 0xD7 {
		return d.err("missing restart marker")
	}
	d.pos += 2
	return nil
}

// block decodes one 8×8 block's coefficients, dequantised, in row-major
// order (T.81 F.2.2.1 DC difference, F.2.2.2 AC run/size codes); dcOnly
// when every AC coefficient is zero.
func (d *dctDecoder) block(c *dctComponent, dc, ac *llHuff, blk *[64]int32) (dcOnly bool, err error) {
	*blk = [64]int32{}
	q := &d.quant[c.tq]
	t, err := d.symbol(dc)
	if err != nil {
		return false, err
	}
	if t > 15 {
		return false, d.err(fmt.Sprintf("DC difference category %d", t))
	}
	if t > 0 {
		diff, err := d.extend(t)
		if err != nil {
			return false, err
		}
		c.pred += diff
	}
	blk[0] = c.pred * q[0]
	dcOnly = true
	for k := 1; k < 64; {
		rs, err := d.symbol(ac)
		if err != nil {
			return false, err
		}
		r, s := rs>>4, rs&15
		if s == 0 {
			if r != 15 {
				break // end of block
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return false, d.err("AC coefficients run past the block")
		}
		v, err := d.extend(s)
		if err != nil {
			return false, err
		}
		blk[zigzag[k]] = v * q[k]
		dcOnly = false
		k++
	}
	return dcOnly, nil
}

// idct transforms a block (T.81 A.3.3, separable), level-shifts and clamps
// it to the precision, and stores it at block (bx, by) of c's plane. A
// block of DC alone is flat; rows of zero coefficients are skipped.
func (d *dctDecoder) idct(blk *[64]int32, dcOnly bool, c *dctComponent, bx, by int) {
	shift, top := float64(int(1)<<uint(d.precision-1)), int32(1)<<uint(d.precision)-1
	stride := c.bw * 8
	if dcOnly {
		p := min(max(int32(math.Round(float64(blk[0])/8+shift)), 0), top)
		for y := 0; y < 8; y++ {
			row := c.plane[(by*8+y)*stride+bx*8:][:8]
			for x := range row {
				row[x] = p
			}
		}
		return
	}
	var tmp [64]float64
	for y := 0; y < 8; y++ { // rows: columns of u
		r := blk[y*8 : y*8+8]
		if r[0]|r[1]|r[2]|r[3]|r[4]|r[5]|r[6]|r[7] == 0 {
			continue
		}
		for x := 0; x < 8; x++ {
			s := 0.0
			for u := 0; u < 8; u++ {
				if f := blk[y*8+u]; f != 0 {
					s += idctCos[x][u] * float64(f)
				}
			}
			tmp[y*8+x] = s
		}
	}
	for x := 0; x < 8; x++ {
		for y := 0; y < 8; y++ {
			s := 0.0
			for v := 0; v < 8; v++ {
				s += idctCos[y][v] * tmp[v*8+x]
			}
			p := int32(math.Round(s + shift))
			p = min(max(p, 0), top)
			c.plane[(by*8+y)*stride+bx*8+x] = p
		}
	}
}

// output interleaves the components into native samples, upsampling
// subsampled components by replication.
func (d *dctDecoder) output(bpp int) []byte {
	out := make([]byte, d.rows*d.cols*d.nc*bpp)
	o := 0
	for y := 0; y < d.rows; y++ {
		for x := 0; x < d.cols; x++ {
			for i := range d.comps {
				c := &d.comps[i]
				v := c.plane[(y*c.v/d.vmax)*c.bw*8+x*c.h/d.hmax]
				out[o] = byte(v)
				if bpp == 2 {
					out[o+1] = byte(v >> 8)
				}
				o += bpp
			}
		}
	}
	return out
}
