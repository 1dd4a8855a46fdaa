package dicom

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// JPEG 2000 transfer syntaxes (PS3.5 A.4.4) and High-Throughput JPEG 2000
// (PS3.5 A.4.11, ISO/IEC 15444-15).
const (
	JPEG2000Lossless  = "1.2.840.10008.1.2.4.90"
	JPEG2000          = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless     = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL = "1.2.840.10008.1.2.4.202"
	HTJ2K             = "1.2.840.10008.1.2.4.203"
)

// isJ2K reports whether ts is one of the JPEG 2000 syntaxes.
func isJ2K(ts string) bool {
	switch ts {
	case JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K:
		return true
	}
	return false
}

// ErrNoJ2KDecoder is wrapped when the JPEG 2000 decoder, the opj_decompress
// program of OpenJPEG (Debian package libopenjp2-tools), is not installed:
// the file is valid, the server cannot show it.
var ErrNoJ2KDecoder = errors.New("the JPEG 2000 decoder opj_decompress (Debian package libopenjp2-tools) is not installed on the server")

// J2KHeader is what the image and tile size marker (SIZ, ISO/IEC 15444-1
// A.5.1) of a JPEG 2000 codestream declares.
type J2KHeader struct {
	Width, Height int // reference grid less its offset
	Components    int
	Precision     []int  // bits per component, 1–38
	Signed        []bool // per component
	HT            bool   // Rsiz announces Part 15 (HTJ2K) capabilities
	JP2           bool   // the codestream came in a JP2 file (boxes)
}

// j2kMaxComponents is the most components decoded (the image pixel
// module allows 1–4 samples per pixel).
const j2kMaxComponents = 4

// ReadJ2KHeader reads the SIZ marker of a JPEG 2000 codestream (or of the
// contiguous codestream box of a JP2 file) without allocating for the
// image: a codestream declaring more than 4 components, or more than
// MaxJPEGPixels pixels, is ErrLimit; a malformed header is ErrFormat.
func ReadJ2KHeader(b []byte) (J2KHeader, error) {
	var h J2KHeader
	cs, jp2, err := j2kCodestream(b)
	if err != nil {
		return h, err
	}
	h.JP2 = jp2
	if len(cs) < 4 || cs[0] != 0xFF || cs[1] != 0x4F {
		return h, j2kErr("no start of codestream (FF4F)")
	}
	if cs[2] != 0xFF || cs[3] != 0x51 {
		return h, j2kErr("the image and tile size marker (FF51) does not follow the start of codestream")
	}
	if len(cs) < 4+38 {
		return h, &FormatError{Msg: "JPEG 2000: image and tile size marker truncated", Kind: ErrTruncated}
	}
	s := cs[4:]
	lsiz := int(binary.BigEndian.Uint16(s))
	rsiz := binary.BigEndian.Uint16(s[2:])
	u32 := func(i int) uint32 { return binary.BigEndian.Uint32(s[4+4*i:]) }
	xsiz, ysiz, xo, yo := u32(0), u32(1), u32(2), u32(3)
	csiz := int(binary.BigEndian.Uint16(s[36:]))
	switch {
	case csiz < 1:
		return h, j2kErr("no components")
	case csiz > j2kMaxComponents:
		return h, &FormatError{Msg: fmt.Sprintf("JPEG 2000: the codestream declares %d components (at most %d are decoded)", csiz, j2kMaxComponents), Kind: ErrLimit}
	case xo >= xsiz || yo >= ysiz:
		return h, j2kErr(fmt.Sprintf("image offset %d,%d outside the %d×%d reference grid", xo, yo, xsiz, ysiz))
	}
	h.Width, h.Height, h.Components = int(xsiz-xo), int(ysiz-yo), csiz
	if uint64(xsiz-xo)*uint64(ysiz-yo) > MaxJPEGPixels {
		return h, &FormatError{Msg: fmt.Sprintf("JPEG 2000: the codestream declares %d×%d pixels (at most %d are decoded)", h.Width, h.Height, MaxJPEGPixels), Kind: ErrLimit}
	}
	if lsiz != 38+3*csiz {
		return h, j2kErr(fmt.Sprintf("image and tile size marker of %d bytes for %d components", lsiz, csiz))
	}
	if len(s) < lsiz {
		return h, &FormatError{Msg: "JPEG 2000: image and tile size marker truncated", Kind: ErrTruncated}
	}
	h.HT = rsiz&0x4000 != 0
	h.Precision, h.Signed = make([]int, csiz), make([]bool, csiz)
	for c := 0; c < csiz; c++ {
		ssiz, xr, yr := s[38+3*c], s[39+3*c], s[40+3*c]
		h.Precision[c], h.Signed[c] = int(ssiz&0x7F)+1, ssiz&0x80 != 0
		if xr == 0 || yr == 0 {
			return h, j2kErr(fmt.Sprintf("component %d has a zero sampling step", c))
		}
		if xr != 1 || yr != 1 {
			return h, j2kErr(fmt.Sprintf("component %d is subsampled (%d×%d); DICOM stores every component at full size", c, xr, yr))
		}
	}
	return h, nil
}

func j2kErr(msg string) error { return &FormatError{Msg: "JPEG 2000: " + msg} }

// j2kCodestream returns the codestream: b itself, or the contents of the
// first contiguous codestream box ('jp2c') of a JP2 file (ISO/IEC 15444-1
// I.5.4; some writers put JP2 files into DICOM fragments).
func j2kCodestream(b []byte) ([]byte, bool, error) {
	if len(b) < 12 || !bytes.Equal(b[4:8], []byte("jP  ")) {
		return b, false, nil
	}
	for p, boxes := 0, 0; p+8 <= len(b); boxes++ {
		if boxes > 64 {
			return nil, true, j2kErr("no codestream box among the first 64 JP2 boxes")
		}
		n, typ, hl := uint64(binary.BigEndian.Uint32(b[p:])), string(b[p+4:p+8]), 8
		switch n {
		case 0: // to the end of the file
			n = uint64(len(b) - p)
		case 1: // 64-bit length
			if p+16 > len(b) {
				return nil, true, &FormatError{Msg: "JPEG 2000: JP2 box length truncated", Kind: ErrTruncated}
			}
			n, hl = binary.BigEndian.Uint64(b[p+8:]), 16
		}
		if n < uint64(hl) || n > uint64(len(b)-p) {
			return nil, true, &FormatError{Msg: fmt.Sprintf("JPEG 2000: JP2 box %q of %d bytes runs past the fragment", typ, n), Kind: ErrTruncated}
		}
		if typ == "jp2c" {
			return b[p+hl : p+int(n)], true, nil
		}
		p += int(n)
	}
	return nil, true, j2kErr("a JP2 file without a codestream box")
}

// j2kDecoder finds opj_decompress once and bounds how many run at once
// (one per core: each decode is CPU-bound).
var j2kDecoder = sync.OnceValues(func() (string, error) {
	return exec.LookPath("opj_decompress")
})

// checkJ2KFrame reads a frame's SIZ header (ReadJ2KHeader) and checks it
// against the image pixel module: size, components, and no component
// wider than the bits allocated. Nothing is decoded.
func checkJ2KFrame(b []byte, in ImageInfo) (J2KHeader, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return J2KHeader{}, j2kErr(fmt.Sprintf("%d bits allocated (8 or 16)", in.BitsAllocated))
	}
	h, err := ReadJ2KHeader(b)
	if err != nil {
		return h, err
	}
	if h.Width != in.Columns || h.Height != in.Rows || h.Components != in.SamplesPerPixel {
		return h, &FormatError{Msg: fmt.Sprintf("JPEG 2000 codestream is %d×%d×%d but the dataset says %d×%d×%d", h.Width, h.Height, h.Components, in.Columns, in.Rows, in.SamplesPerPixel)}
	}
	for c, p := range h.Precision {
		if p > in.BitsAllocated {
			return h, j2kErr(fmt.Sprintf("component %d has %d bits, more than the %d allocated", c, p, in.BitsAllocated))
		}
	}
	return h, nil
}

// J2KAvailable reports whether the JPEG 2000 decoder is installed: JPEG
// 2000 frames are rendered and converted only then (else "cannot
// preview", and WADO-RS answers 406 for a conversion).
func J2KAvailable() bool {
	_, err := j2kDecoder()
	return err == nil
}

var j2kSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// J2KTimeout bounds one frame's decoding by opj_decompress.
const J2KTimeout = 30 * time.Second

// DecodeJPEG2000 decodes one frame of JPEG 2000 (Part 1, lossless or lossy,
// and HTJ2K, Part 15) into native pixel data: little endian, samples
// interleaved, exactly Rows × Columns × Samples per Pixel × Bits
// Allocated/8 bytes. The SIZ header is read and checked against the image
// pixel module first, in Go (ReadJ2KHeader: bounded, no allocation from
// its values); only a frame that agrees is handed to OpenJPEG's
// opj_decompress in a separate process (a fault in the C decoder ends that
// process, not the server), with a time limit (J2KTimeout), one per core.
// A multi-component codestream with the reversible or irreversible
// component transform (YBR_RCT, YBR_ICT) decodes to RGB. Decoder missing:
// ErrNoJ2KDecoder; a stream OpenJPEG refuses: ErrFormat with its message.
func DecodeJPEG2000(b []byte, in ImageInfo) ([]byte, error) {
	h, err := checkJ2KFrame(b, in)
	if err != nil {
		return nil, err
	}
	prog, err := j2kDecoder()
	if err != nil {
		return nil, ErrNoJ2KDecoder
	}
	dir, err := os.MkdirTemp("", "countycare-j2k-")
	if err != nil {
		return nil, fmt.Errorf("dicom: JPEG 2000 work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "frame.j2k")
	if h.JP2 {
		src = filepath.Join(dir, "frame.jp2")
	}
	dst := filepath.Join(dir, "frame.rawl")
	if err := os.WriteFile(src, b, 0o600); err != nil {
		return nil, fmt.Errorf("dicom: JPEG 2000 work file: %w", err)
	}
	j2kSlots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), J2KTimeout)
	cmd := exec.CommandContext(ctx, prog, "-threads", "1", "-i", src, "-o", dst)
	var msg limitedBuffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	err = cmd.Run()
	timedOut := ctx.Err() == context.DeadlineExceeded
	cancel()
	<-j2kSlots
	if timedOut {
		return nil, &FormatError{Msg: fmt.Sprintf("JPEG 2000: decoding took longer than %d seconds", int(J2KTimeout.Seconds())), Kind: ErrLimit}
	}
	if err != nil {
		return nil, j2kErr("not decoded: " + firstError(msg.String(), err))
	}
	// opj_decompress writes RAWL planar: each component in turn, one byte
	// a sample up to 8 bits, else two (little endian), signed as declared,
	// clamped to the precision.
	want := 0
	for _, p := range h.Precision {
		want += h.Width * h.Height * ((p + 7) / 8)
	}
	st, err := os.Stat(dst)
	if err != nil || st.Size() != int64(want) {
		return nil, j2kErr(fmt.Sprintf("the decoder wrote %d bytes, %d expected", sizeOf(st), want))
	}
	raw, err := os.ReadFile(dst)
	if err != nil {
		return nil, fmt.Errorf("dicom: JPEG 2000 output: %w", err)
	}
	return j2kInterleave(raw, h, in), nil
}

// j2kInterleave turns opj_decompress's planar output into native
// interleaved samples of in.BitsAllocated bits.
func j2kInterleave(raw []byte, h J2KHeader, in ImageInfo) []byte {
	n, nc, bpp := h.Width*h.Height, h.Components, in.BitsAllocated/8
	out := make([]byte, n*nc*bpp)
	for c := 0; c < nc; c++ {
		wide := h.Precision[c] > 8
		for i := 0; i < n; i++ {
			var v uint16
			if wide {
				v = binary.LittleEndian.Uint16(raw[2*i:])
			} else if h.Signed[c] {
				v = uint16(int16(int8(raw[i])))
			} else {
				v = uint16(raw[i])
			}
			o := (i*nc + c) * bpp
			out[o] = byte(v)
			if bpp == 2 {
				out[o+1] = byte(v >> 8)
			}
		}
		if wide {
			raw = raw[2*n:]
		} else {
			raw = raw[n:]
		}
	}
	return out
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

// firstError is the decoder's first "[ERROR]" line (its own words for
// what is wrong with the stream), else its last line, else err.
func firstError(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "[ERROR] "); ok {
			return m
		}
	}
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}

// limitedBuffer keeps the first 16 KiB written to it (a decoder's messages).
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 16<<10 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
