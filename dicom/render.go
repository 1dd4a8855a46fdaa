package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// Items returns the items of a sequence element at this level (nil if absent).
func (ds *Dataset) Items(t Tag) []*Dataset {
	if e := ds.Get(t); e != nil {
		return e.Items
	}
	return nil
}

// ImageInfo is the image pixel module of a dataset.
type ImageInfo struct {
	Rows, Columns       int
	Frames              int // Number of Frames, 1 when absent
	SamplesPerPixel     int
	Photometric         string
	PlanarConfiguration int
	BitsAllocated       int
	BitsStored          int
	HighBit             int
	Signed              bool    // Pixel Representation 1
	Slope, Intercept    float64 // Rescale Slope (1 when absent) and Intercept
	Window              *Window // the file's first window, if any
}

// MaxJPEGPixels bounds the size of a JPEG, 12-bit JPEG or JPEG 2000 frame
// decoded (the decoders allocate it before reading the compressed data):
// 8192 × 8192, more than any radiograph.
const MaxJPEGPixels = 1 << 26

// MaxPixels bounds Rows × Columns × Frames × Samples a dataset may declare.
const MaxPixels = 1 << 30

// Info reads the image pixel module. It fails (ErrFormat) on values no
// renderer could use; a dataset without pixel data has Rows = 0.
func (ds *Dataset) Info() (ImageInfo, error) {
	var in ImageInfo
	in.Rows, _ = ds.Int(TagRows)
	in.Columns, _ = ds.Int(TagColumns)
	in.Frames = 1
	if n, ok := ds.Int(TagNumberOfFrames); ok {
		in.Frames = n
	}
	in.SamplesPerPixel = 1
	if n, ok := ds.Int(TagSamplesPerPixel); ok {
		in.SamplesPerPixel = n
	}
	in.Photometric = ds.String(TagPhotometricInterpretation)
	in.PlanarConfiguration, _ = ds.Int(TagPlanarConfiguration)
	in.BitsAllocated, _ = ds.Int(TagBitsAllocated)
	in.BitsStored, _ = ds.Int(TagBitsStored)
	if in.BitsStored == 0 {
		in.BitsStored = in.BitsAllocated
	}
	in.HighBit = in.BitsStored - 1
	if h, ok := ds.Int(TagHighBit); ok {
		in.HighBit = h
	}
	pr, _ := ds.Int(TagPixelRepresentation)
	in.Signed = pr == 1
	in.Slope = 1
	if s, ok := ds.Float(TagRescaleSlope); ok && s != 0 {
		in.Slope = s
	}
	in.Intercept, _ = ds.Float(TagRescaleIntercept)
	if c, ok := ds.Float(TagWindowCenter); ok {
		if w, ok := ds.Float(TagWindowWidth); ok && w >= 1 {
			in.Window = &Window{Center: c, Width: w}
		}
	}
	bad := func(f string, a ...any) (ImageInfo, error) {
		return in, &FormatError{Msg: "image pixel module: " + fmt.Sprintf(f, a...)}
	}
	switch {
	case in.Rows < 0 || in.Columns < 0 || in.Frames < 1 || in.SamplesPerPixel < 1 || in.SamplesPerPixel > 4:
		return bad("rows %d, columns %d, frames %d, samples per pixel %d", in.Rows, in.Columns, in.Frames, in.SamplesPerPixel)
	case int64(in.Rows)*int64(in.Columns)*int64(in.Frames)*int64(in.SamplesPerPixel) > MaxPixels:
		return bad("%d×%d×%d×%d pixels exceed %d", in.Rows, in.Columns, in.Frames, in.SamplesPerPixel, MaxPixels)
	case in.BitsStored > in.BitsAllocated || in.HighBit >= in.BitsAllocated || in.HighBit+1 < in.BitsStored:
		return bad("bits allocated %d, stored %d, high bit %d", in.BitsAllocated, in.BitsStored, in.HighBit)
	}
	return in, nil
}

// Window is a VOI window (centre/width in modality units, after rescale).
type Window struct {
	Center, Width float64
}

// Render renders one frame (0-based) of a file's pixel data. win chooses the
// window for greyscale images; nil uses the file's first window, else the
// frame's minimum and maximum. Greyscale gives an *image.Gray (MONOCHROME1
// inverted), colour an *image.RGBA.
func Render(f *File, frame int, win *Window) (image.Image, error) {
	in, err := f.Info()
	if err != nil {
		return nil, err
	}
	pd := f.Get(TagPixelData)
	if pd == nil || in.Rows == 0 || in.Columns == 0 {
		return nil, &CannotPreviewError{f.TransferSyntax, "the dataset has no pixel data"}
	}
	if frame < 0 || frame >= in.Frames {
		return nil, fmt.Errorf("dicom: frame %d out of range (the file has %d)", frame, in.Frames)
	}
	if pd.Fragments != nil || pd.Undefined {
		return renderEncapsulated(f, pd, in, frame, win)
	}
	switch f.TransferSyntax {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian:
	default:
		return nil, &CannotPreviewError{f.TransferSyntax, "native pixel data under a compressed transfer syntax"}
	}
	if in.BitsAllocated == 1 && in.SamplesPerPixel == 1 {
		// Segmentations and overlays: frames follow each other bit by bit.
		n := in.Rows * in.Columns
		px, in1, err := unpackBitFrame(pd.Value, frame*n, n, in)
		if err != nil {
			return nil, err
		}
		return renderNative(f, px, in1, false, win)
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, &CannotPreviewError{f.TransferSyntax, fmt.Sprintf("%d bits allocated (1, 8 and 16 are rendered)", in.BitsAllocated)}
	}
	bpp := in.BitsAllocated / 8
	size := in.Rows * in.Columns * in.SamplesPerPixel * bpp
	if len(pd.Value) < (frame+1)*size {
		return nil, &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, frame %d needs %d", len(pd.Value), frame, (frame+1)*size), Kind: ErrTruncated}
	}
	px := pd.Value[frame*size : (frame+1)*size]
	// OB 8-bit data is never swapped; OW data follows the byte order, so
	// 8-bit samples in big-endian OW come in swapped pairs.
	big := f.BigEndian && bpp == 2
	if f.BigEndian && bpp == 1 && pd.VR == "OW" {
		sw := make([]byte, len(px))
		for i := range sw {
			if j := (frame*size + i) ^ 1; j < len(pd.Value) {
				sw[i] = pd.Value[j]
			}
		}
		px = sw
	}
	return renderNative(f, px, in, big, win)
}

// Previewable says from the header alone whether Render can show f's
// first frame: nil, or the error Render would give for what it checks
// before decoding a pixel — no pixel data, a transfer syntax, photometric
// interpretation, samples or bits it does not render (CannotPreviewError),
// a palette without its tables, pixel data shorter than one native frame,
// fragments that do not make a frame, an 8-bit JPEG or a JPEG 2000
// codestream whose header disagrees with the dataset or is over
// MaxJPEGPixels (FormatError). It decodes nothing, so it costs
// microseconds where Render costs milliseconds (a STOW-RS instance is
// checked with it, issue 16); a compressed frame that passes may still fail
// when it is first rendered (a corrupt or cut codestream), and then Render
// says why.
func Previewable(f *File) error {
	in, err := f.Info()
	if err != nil {
		return err
	}
	ts := f.TransferSyntax
	pd := f.Get(TagPixelData)
	if pd == nil || in.Rows == 0 || in.Columns == 0 || in.Frames == 0 {
		return &CannotPreviewError{ts, "the dataset has no pixel data"}
	}
	if pd.Fragments != nil || pd.Undefined {
		jpeg8 := ts == JPEGBaseline || ts == JPEGExtended && in.BitsAllocated == 8
		if !jpeg8 && !compressedDecoded(ts) && !isJ2K(ts) {
			return &CannotPreviewError{ts, "this compressed pixel encoding is not decoded in the server; the file is stored and forwarded as it is"}
		}
		if len(pd.Fragments) < 2 {
			return &FormatError{Msg: "encapsulated pixel data has no fragments"}
		}
		bitFrame := in.BitsAllocated == 1 && in.SamplesPerPixel == 1 && ts == DeflatedImageFrame
		if in.BitsAllocated != 8 && in.BitsAllocated != 16 && !bitFrame {
			return &CannotPreviewError{ts, fmt.Sprintf("%d bits allocated (8 and 16 are rendered)", in.BitsAllocated)}
		}
		b, err := frameFragments(pd, in.Frames, 0)
		if err != nil {
			return err
		}
		switch {
		case jpeg8:
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
			if err != nil {
				return &CannotPreviewError{ts, "JPEG stream not decoded: " + err.Error()}
			}
			if int64(cfg.Width)*int64(cfg.Height) > MaxJPEGPixels {
				return &CannotPreviewError{ts, fmt.Sprintf("JPEG frame of %d×%d pixels is larger than the %d the server decodes", cfg.Width, cfg.Height, MaxJPEGPixels)}
			}
			if cfg.Width != in.Columns || cfg.Height != in.Rows {
				return &FormatError{Msg: fmt.Sprintf("JPEG frame is %d×%d but the dataset says %d×%d", cfg.Width, cfg.Height, in.Columns, in.Rows)}
			}
			return nil // rendered as image/jpeg decodes it
		case isJ2K(ts):
			if _, err := checkJ2KFrame(b, in); err != nil {
				return err
			}
			if !J2KAvailable() {
				return &CannotPreviewError{ts, ErrNoJ2KDecoder.Error()}
			}
		}
		if bitFrame {
			in.BitsAllocated, in.BitsStored, in.HighBit = 8, 1, 0 // unpacked to a byte a pixel
		}
		in.PlanarConfiguration = 0
		in.Photometric = decodedPhotometric(ts, in.Photometric)
		return previewableNative(f, in)
	}
	switch ts {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian:
	default:
		return &CannotPreviewError{ts, "native pixel data under a compressed transfer syntax"}
	}
	if in.BitsAllocated == 1 && in.SamplesPerPixel == 1 {
		if n := in.Rows * in.Columns; (n+7)/8 > len(pd.Value) {
			return &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, the frame needs %d bits from bit 0", len(pd.Value), n), Kind: ErrTruncated}
		}
		in.BitsAllocated, in.BitsStored, in.HighBit = 8, 1, 0
		return previewableNative(f, in)
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return &CannotPreviewError{ts, fmt.Sprintf("%d bits allocated (1, 8 and 16 are rendered)", in.BitsAllocated)}
	}
	if size := in.Rows * in.Columns * in.SamplesPerPixel * in.BitsAllocated / 8; len(pd.Value) < size {
		return &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, frame 0 needs %d", len(pd.Value), size), Kind: ErrTruncated}
	}
	return previewableNative(f, in)
}

// previewableNative is renderNative's check of a frame's pixel module,
// with a palette's tables read.
func previewableNative(f *File, in ImageInfo) error {
	if err := nativeRenderable(f.TransferSyntax, in); err != nil {
		return err
	}
	if in.Photometric == "PALETTE COLOR" {
		for _, t := range [3][2]Tag{{TagRedPaletteLUTDescriptor, TagRedPaletteLUTData}, {TagGreenPaletteLUTDescriptor, TagGreenPaletteLUTData}, {TagBluePaletteLUTDescriptor, TagBluePaletteLUTData}} {
			if _, err := readPalette(f.Dataset, t[0], t[1], f.BigEndian && in.BitsAllocated == 16); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderNative renders one frame of native pixel data (px: its bytes, big:
// 16-bit samples are big endian) by its photometric interpretation.
func renderNative(f *File, px []byte, in ImageInfo, big bool, win *Window) (image.Image, error) {
	if err := nativeRenderable(f.TransferSyntax, in); err != nil {
		return nil, err
	}
	switch in.Photometric {
	case "MONOCHROME1", "MONOCHROME2":
		return renderGrey(px, in, big, win), nil
	case "RGB":
		return renderRGB(px, in), nil
	case "YBR_FULL":
		img := renderRGB(px, in)
		o := img.Pix
		for i := 0; i+3 < len(o); i += 4 {
			o[i], o[i+1], o[i+2] = color.YCbCrToRGB(o[i], o[i+1], o[i+2])
		}
		return img, nil
	}
	return renderPalette(f.Dataset, px, in, big)
}

// nativeRenderable is what renderNative checks before touching a pixel:
// a photometric interpretation it renders, with the samples and bits it
// renders it with.
func nativeRenderable(ts string, in ImageInfo) error {
	switch in.Photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if in.SamplesPerPixel != 1 {
			return &FormatError{Msg: fmt.Sprintf("%s with %d samples per pixel", in.Photometric, in.SamplesPerPixel)}
		}
		return nil
	case "RGB", "YBR_FULL":
		if in.SamplesPerPixel != 3 || in.BitsAllocated != 8 {
			return &CannotPreviewError{ts, fmt.Sprintf("%s with %d samples of %d bits (3 × 8 are rendered)", in.Photometric, in.SamplesPerPixel, in.BitsAllocated)}
		}
		return nil
	case "PALETTE COLOR":
		if in.SamplesPerPixel != 1 {
			return &FormatError{Msg: "PALETTE COLOR with more than one sample per pixel"}
		}
		return nil
	}
	return &CannotPreviewError{ts, fmt.Sprintf("photometric interpretation %q is not rendered", in.Photometric)}
}

// storedReader returns the stored value of pixel i, sign-extended and masked
// to the stored bits.
func storedValue(in ImageInfo) func(raw uint32) int32 {
	shift := uint(in.HighBit + 1 - in.BitsStored)
	mask := uint32(1)<<uint(in.BitsStored) - 1
	signBit := uint32(1) << uint(in.BitsStored-1)
	signed := in.Signed
	return func(raw uint32) int32 {
		v := (raw >> shift) & mask
		if signed && v&signBit != 0 {
			return int32(v) - int32(mask) - 1
		}
		return int32(v)
	}
}

// renderGrey windows a greyscale frame through a lookup table over every
// possible raw value (256 or 65536 entries).
func renderGrey(px []byte, in ImageInfo, big bool, win *Window) *image.Gray {
	n := in.Rows * in.Columns
	bpp := in.BitsAllocated / 8
	img := image.NewGray(image.Rect(0, 0, in.Columns, in.Rows))
	stored := storedValue(in)
	raw := func(i int) uint32 {
		if bpp == 1 {
			return uint32(px[i])
		}
		if big {
			return uint32(binary.BigEndian.Uint16(px[2*i:]))
		}
		return uint32(binary.LittleEndian.Uint16(px[2*i:]))
	}
	w := win
	if w == nil {
		w = in.Window
	}
	if w == nil {
		lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
		for i := 0; i < n; i++ {
			v := stored(raw(i))
			lo, hi = min(lo, v), max(hi, v)
		}
		a, b := float64(lo)*in.Slope+in.Intercept, float64(hi)*in.Slope+in.Intercept
		if a > b {
			a, b = b, a
		}
		w = &Window{Center: (a + b) / 2, Width: b - a + 1}
	}
	width := math.Max(w.Width, 1)
	lut := make([]uint8, 1<<uint(in.BitsAllocated))
	invert := in.Photometric == "MONOCHROME1"
	for r := range lut {
		x := float64(stored(uint32(r)))*in.Slope + in.Intercept
		// PS3.3 C.11.2.1.2.1 linear function.
		y := ((x-(w.Center-0.5))/(width-1+1e-9) + 0.5) * 255
		switch {
		case width <= 1:
			y = 0
			if x >= w.Center {
				y = 255
			}
		case y < 0:
			y = 0
		case y > 255:
			y = 255
		}
		if invert {
			y = 255 - y
		}
		lut[r] = uint8(y + 0.5)
	}
	out := img.Pix
	switch {
	case bpp == 1:
		for i := 0; i < n; i++ {
			out[i] = lut[px[i]]
		}
	case big:
		for i := 0; i < n; i++ {
			out[i] = lut[binary.BigEndian.Uint16(px[2*i:])]
		}
	default:
		for i := 0; i < n; i++ {
			out[i] = lut[binary.LittleEndian.Uint16(px[2*i:])]
		}
	}
	return img
}

func renderRGB(px []byte, in ImageInfo) *image.RGBA {
	n := in.Rows * in.Columns
	img := image.NewRGBA(image.Rect(0, 0, in.Columns, in.Rows))
	o := img.Pix
	if in.PlanarConfiguration == 1 {
		r, g, b := px[:n], px[n:2*n], px[2*n:3*n]
		for i := 0; i < n; i++ {
			o[4*i], o[4*i+1], o[4*i+2], o[4*i+3] = r[i], g[i], b[i], 255
		}
		return img
	}
	for i := 0; i < n; i++ {
		o[4*i], o[4*i+1], o[4*i+2], o[4*i+3] = px[3*i], px[3*i+1], px[3*i+2], 255
	}
	return img
}

// palette is one channel's LUT.
type palette struct {
	first int
	data  []uint8 // 8-bit output
}

func readPalette(ds *Dataset, desc, data Tag, big bool) (palette, error) {
	d := ds.Ints(desc)
	e := ds.Get(data)
	if len(d) != 3 || e == nil {
		return palette{}, &FormatError{Msg: fmt.Sprintf("PALETTE COLOR without a LUT descriptor and data %s", tagString(desc))}
	}
	entries, first, bits := d[0], d[1], d[2]
	if entries == 0 {
		entries = 65536
	}
	if first < 0 {
		first &= 0xFFFF // a US/SS descriptor read as SS
	}
	p := palette{first: first, data: make([]uint8, entries)}
	switch {
	case bits == 16 && len(e.Value) >= 2*entries:
		for i := range p.data {
			var v uint16
			if big {
				v = binary.BigEndian.Uint16(e.Value[2*i:])
			} else {
				v = binary.LittleEndian.Uint16(e.Value[2*i:])
			}
			p.data[i] = uint8(v >> 8)
		}
	case bits == 8 && len(e.Value) >= entries:
		copy(p.data, e.Value) // 8-bit entries, packed (or one per 16-bit word's low byte on some writers)
		if len(e.Value) >= 2*entries {
			for i := range p.data {
				p.data[i] = e.Value[2*i]
			}
		}
	default:
		return palette{}, &FormatError{Msg: fmt.Sprintf("palette LUT %s: %d entries of %d bits but %d bytes of data", tagString(data), entries, bits, len(e.Value))}
	}
	return p, nil
}

func (p palette) at(v int) uint8 {
	i := v - p.first
	if i < 0 {
		i = 0
	}
	if i >= len(p.data) {
		i = len(p.data) - 1
	}
	return p.data[i]
}

func renderPalette(ds *Dataset, px []byte, in ImageInfo, big bool) (image.Image, error) {
	var lut [3]palette
	for c, t := range [3][2]Tag{{TagRedPaletteLUTDescriptor, TagRedPaletteLUTData}, {TagGreenPaletteLUTDescriptor, TagGreenPaletteLUTData}, {TagBluePaletteLUTDescriptor, TagBluePaletteLUTData}} {
		p, err := readPalette(ds, t[0], t[1], big)
		if err != nil {
			return nil, err
		}
		lut[c] = p
	}
	n := in.Rows * in.Columns
	img := image.NewRGBA(image.Rect(0, 0, in.Columns, in.Rows))
	o := img.Pix
	stored := storedValue(in)
	for i := 0; i < n; i++ {
		var raw uint32
		switch {
		case in.BitsAllocated == 8:
			raw = uint32(px[i])
		case big:
			raw = uint32(binary.BigEndian.Uint16(px[2*i:]))
		default:
			raw = uint32(binary.LittleEndian.Uint16(px[2*i:]))
		}
		v := int(stored(raw))
		o[4*i], o[4*i+1], o[4*i+2], o[4*i+3] = lut[0].at(v), lut[1].at(v), lut[2].at(v), 255
	}
	return img, nil
}

// frameFragments returns the compressed bytes of one frame of encapsulated
// pixel data: by the basic offset table when there is one, else one
// fragment per frame when the counts agree, else (one frame) all fragments.
func frameFragments(pd *Element, frames, frame int) ([]byte, error) {
	frags := pd.Fragments[1:]
	bot := pd.Fragments[0]
	if len(bot) >= 4*frames && len(bot)%4 == 0 && frames > 1 {
		// Offsets are from the first byte of the first fragment's item tag.
		starts := make([]int, 0, len(frags))
		off := 0
		for _, f := range frags {
			starts = append(starts, off)
			off += 8 + len(f)
		}
		lo := int(binary.LittleEndian.Uint32(bot[4*frame:]))
		hi := off
		if frame+1 < frames {
			hi = int(binary.LittleEndian.Uint32(bot[4*frame+4:]))
		}
		var out []byte
		for i, s := range starts {
			if s >= lo && s < hi {
				out = append(out, frags[i]...)
			}
		}
		if out == nil {
			return nil, &FormatError{Msg: fmt.Sprintf("basic offset table points frame %d at no fragment", frame)}
		}
		return out, nil
	}
	switch {
	case len(frags) == frames:
		return frags[frame], nil
	case frames == 1:
		var out []byte
		for _, f := range frags {
			out = append(out, f...)
		}
		return out, nil
	}
	return nil, &FormatError{Msg: fmt.Sprintf("%d fragments for %d frames and no basic offset table", len(frags), frames)}
}

func renderEncapsulated(f *File, pd *Element, in ImageInfo, frame int, win *Window) (image.Image, error) {
	ts := f.TransferSyntax
	switch {
	case ts == JPEGBaseline || ts == JPEGExtended && in.BitsAllocated == 8:
		// 8-bit JPEG: image/jpeg, below.
	case compressedDecoded(ts) || isJ2K(ts): // J2K without its decoder: decodeFrame says so
		if len(pd.Fragments) < 2 {
			return nil, &FormatError{Msg: "encapsulated pixel data has no fragments"}
		}
		bitFrame := in.BitsAllocated == 1 && in.SamplesPerPixel == 1 && ts == DeflatedImageFrame
		if in.BitsAllocated != 8 && in.BitsAllocated != 16 && !bitFrame {
			return nil, &CannotPreviewError{ts, fmt.Sprintf("%d bits allocated (8 and 16 are rendered)", in.BitsAllocated)}
		}
		b, err := frameFragments(pd, in.Frames, frame)
		if err != nil {
			return nil, err
		}
		px, err := decodeFrame(ts, b, in)
		if err != nil {
			return nil, err
		}
		if bitFrame {
			if px, in, err = unpackBitFrame(px, 0, in.Rows*in.Columns, in); err != nil {
				return nil, err
			}
		}
		in.PlanarConfiguration = 0 // the decoders interleave the samples
		in.Photometric = decodedPhotometric(ts, in.Photometric)
		return renderNative(f, px, in, false, win)
	default:
		return nil, &CannotPreviewError{ts, "this compressed pixel encoding is not decoded in the server; the file is stored and forwarded as it is"}
	}
	if len(pd.Fragments) < 2 {
		return nil, &FormatError{Msg: "encapsulated pixel data has no fragments"}
	}
	if in.BitsAllocated != 8 {
		return nil, &CannotPreviewError{f.TransferSyntax, fmt.Sprintf("%d-bit JPEG (only 8-bit baseline is decoded)", in.BitsAllocated)}
	}
	b, err := frameFragments(pd, in.Frames, frame)
	if err != nil {
		return nil, err
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, &CannotPreviewError{f.TransferSyntax, "JPEG stream not decoded: " + err.Error()}
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxJPEGPixels {
		// The decoder allocates the whole image from the frame header: a
		// few hostile bytes could ask for gigabytes.
		return nil, &CannotPreviewError{f.TransferSyntax, fmt.Sprintf("JPEG frame of %d×%d pixels is larger than the %d the server decodes", cfg.Width, cfg.Height, MaxJPEGPixels)}
	}
	if cfg.Width != in.Columns || cfg.Height != in.Rows {
		return nil, &FormatError{Msg: fmt.Sprintf("JPEG frame is %d×%d but the dataset says %d×%d", cfg.Width, cfg.Height, in.Columns, in.Rows)}
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, &CannotPreviewError{f.TransferSyntax, "JPEG stream not decoded: " + err.Error()}
	}
	if g, ok := img.(*image.Gray); ok && in.Photometric == "MONOCHROME1" {
		for i, v := range g.Pix {
			g.Pix[i] = 255 - v
		}
	}
	_ = win // 8-bit JPEG is shown as decoded, not windowed
	return img, nil
}
