package dicom

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
)

// DeflatedImageFrame is the Deflated Image Frame Compression transfer
// syntax (PS3.5 A.4.13, 8.2.16): each frame's native pixel data deflated
// (RFC 1951) into its own fragment; segmentations (1 bit allocated) use
// it.
const DeflatedImageFrame = "1.2.840.10008.1.2.8.1"

// frameBytes is the size of one native frame; 1-bit frames are rounded up
// to whole bytes.
func frameBytes(in ImageInfo) int {
	return (in.Rows*in.Columns*in.SamplesPerPixel*in.BitsAllocated + 7) / 8
}

// DecodeDeflatedFrame inflates one frame of Deflated Image Frame
// Compression into exactly frameBytes(in) bytes of native pixel data (1-bit
// frames stay packed). It reads at most one byte past the frame's size: a
// stream that inflates to more or less is a FormatError.
func DecodeDeflatedFrame(b []byte, in ImageInfo) ([]byte, error) {
	size := frameBytes(in)
	out := make([]byte, size+1)
	n, err := io.ReadFull(flate.NewReader(bytes.NewReader(b)), out)
	switch {
	case err == nil:
		return nil, &FormatError{Msg: fmt.Sprintf("deflated frame: inflates past the %d bytes of a frame", size), Kind: ErrLimit}
	case err != io.ErrUnexpectedEOF && err != io.EOF:
		return nil, &FormatError{Msg: "deflated frame: not a deflate stream: " + err.Error()}
	case n != size:
		return nil, &FormatError{Msg: fmt.Sprintf("deflated frame: inflates to %d bytes, a frame is %d", n, size), Kind: ErrTruncated}
	}
	return out[:size], nil
}

// unpackBitFrame turns n 1-bit samples starting at bit off of px (the first
// pixel in the least significant bit, PS3.5 D.2) into one byte each, and
// in into the matching 8-bit image pixel module (shown 0 black, 1 white
// unless the file has a window).
func unpackBitFrame(px []byte, off, n int, in ImageInfo) ([]byte, ImageInfo, error) {
	if (off+n+7)/8 > len(px) {
		return nil, in, &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, the frame needs %d bits from bit %d", len(px), n, off), Kind: ErrTruncated}
	}
	out := make([]byte, n)
	for i := range out {
		j := off + i
		out[i] = px[j/8] >> uint(j%8) & 1
	}
	in.BitsAllocated, in.BitsStored, in.HighBit, in.Signed = 8, 1, 0, false
	if in.Window == nil {
		in.Window = &Window{Center: 0.5, Width: 1} // 0 black, 1 white
	}
	return out, in, nil
}
