package dicom

import (
	"encoding/binary"
	"fmt"
)

// RLELossless is the RLE Lossless transfer syntax (PS3.5 Annex G).
const RLELossless = "1.2.840.10008.1.2.5"

// DecodeRLE decodes one frame of RLE Lossless pixel data (PS3.5 Annex G)
// into native pixel data: little endian, samples interleaved (Planar
// Configuration 0), exactly Rows × Columns × Samples per Pixel × Bits
// Allocated/8 bytes. The frame is a 64-byte header — the number of
// segments and up to 15 segment offsets — followed by the segments, one
// per byte of each sample, most significant byte first (G.2); each segment
// is a PackBits byte stream (G.3.1). The output is allocated once, from the
// image pixel module, whatever the segments say; a segment that runs past
// its plane, a missing segment or an offset outside the frame is a
// FormatError, never a panic or a larger buffer.
func DecodeRLE(frame []byte, in ImageInfo) ([]byte, error) {
	if in.BitsAllocated%8 != 0 || in.BitsAllocated == 0 || in.BitsAllocated > 32 {
		return nil, &FormatError{Msg: fmt.Sprintf("RLE: %d bits allocated (8, 16 or 32)", in.BitsAllocated)}
	}
	bps := in.BitsAllocated / 8
	nseg := in.SamplesPerPixel * bps
	if nseg > 15 {
		return nil, &FormatError{Msg: fmt.Sprintf("RLE: %d samples of %d bytes need %d segments (at most 15)", in.SamplesPerPixel, bps, nseg)}
	}
	if len(frame) < 64 {
		return nil, &FormatError{Msg: fmt.Sprintf("RLE: frame of %d bytes is shorter than its 64-byte header", len(frame)), Kind: ErrTruncated}
	}
	if got := int(binary.LittleEndian.Uint32(frame)); got != nseg {
		return nil, &FormatError{Msg: fmt.Sprintf("RLE: %d segments, the image needs %d", got, nseg)}
	}
	plane := in.Rows * in.Columns
	out := make([]byte, plane*nseg)
	stride := in.SamplesPerPixel * bps // bytes per pixel in the output
	for s := 0; s < nseg; s++ {
		start := int(binary.LittleEndian.Uint32(frame[4+4*s:]))
		end := len(frame)
		if s+1 < nseg {
			end = int(binary.LittleEndian.Uint32(frame[8+4*s:]))
		}
		if start < 64 || start > end || end > len(frame) {
			return nil, &FormatError{Msg: fmt.Sprintf("RLE: segment %d at bytes %d–%d of a %d-byte frame", s, start, end, len(frame))}
		}
		// Segment s is byte (bps-1 - s%bps) (little endian: 0 is least
		// significant) of sample s/bps.
		sample, byteOf := s/bps, bps-1-s%bps
		if err := unpackBits(frame[start:end], out, sample*bps+byteOf, stride, plane); err != nil {
			return nil, fmt.Errorf("RLE segment %d: %w", s, err)
		}
	}
	return out, nil
}

// unpackBits decodes a PackBits segment (PS3.5 G.3.1) into n bytes written
// at out[at], out[at+stride], … A segment may end with padding; it must
// not produce more than n bytes nor fewer.
func unpackBits(seg, out []byte, at, stride, n int) error {
	i, k := 0, 0
	for i < len(seg) && k < n {
		c := int(int8(seg[i]))
		i++
		switch {
		case c >= 0: // copy the next c+1 bytes
			m := c + 1
			if i+m > len(seg) {
				return &FormatError{Msg: "a literal run goes past the segment", Kind: ErrTruncated}
			}
			if k+m > n {
				return &FormatError{Msg: fmt.Sprintf("a literal run of %d bytes goes past the %d of the plane", m, n)}
			}
			for _, b := range seg[i : i+m] {
				out[at+k*stride] = b
				k++
			}
			i += m
		case c >= -127: // repeat the next byte 1-c times
			m := 1 - c
			if i >= len(seg) {
				return &FormatError{Msg: "a replicate run has no byte", Kind: ErrTruncated}
			}
			if k+m > n {
				return &FormatError{Msg: fmt.Sprintf("a replicate run of %d bytes goes past the %d of the plane", m, n)}
			}
			b := seg[i]
			i++
			for ; m > 0; m-- {
				out[at+k*stride] = b
				k++
			}
		} // c == -128 is a no-op

	}
	if k < n {
		return &FormatError{Msg: fmt.Sprintf("the segment gives %d of the plane's %d bytes", k, n), Kind: ErrTruncated}
	}
	return nil
}
