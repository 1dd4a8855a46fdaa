package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCannotTranscode is returned by Transcode for a conversion it does
// not make (compressed pixel data, or a target other than an uncompressed
// little-endian syntax).
var ErrCannotTranscode = fmt.Errorf("dicom: cannot convert to that transfer syntax")

// Uncompressed reports whether ts keeps native pixel data: implicit and
// explicit VR little endian, explicit VR big endian and deflated.
func Uncompressed(ts string) bool {
	switch ts {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian:
		return true
	}
	return false
}

// Decodable reports whether Transcode can decode pixel data stored in ts:
// the uncompressed syntaxes, RLE Lossless, JPEG Lossless, JPEG-LS, JPEG
// 2000 (and HTJ2K, when its decoder is installed), JPEG Baseline and
// Extended (8- and 12-bit) and Deflated Image Frame Compression
// (decodeFrame).
func Decodable(ts string) bool { return Uncompressed(ts) || compressedDecoded(ts) }

// compressedDecoded reports whether ts is a compressed syntax whose frames
// this package decodes into native pixel data (decodeFrame).
func compressedDecoded(ts string) bool {
	switch ts {
	case RLELossless, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, JPEGBaseline, JPEGExtended, DeflatedImageFrame:
		return true
	}
	return isJ2K(ts) && J2KAvailable()
}

// decodeFrame decodes one frame of compressed pixel data stored in ts into
// native little-endian interleaved samples.
func decodeFrame(ts string, b []byte, in ImageInfo) ([]byte, error) {
	switch ts {
	case RLELossless:
		return DecodeRLE(b, in)
	case JPEGLossless, JPEGLosslessSV1:
		return DecodeJPEGLossless(b, in)
	case JPEGLSLossless, JPEGLSNearLossless:
		return DecodeJPEGLS(b, in)
	case JPEGBaseline, JPEGExtended:
		return DecodeJPEGExtended(b, in)
	case DeflatedImageFrame:
		return DecodeDeflatedFrame(b, in)
	}
	if isJ2K(ts) {
		px, err := DecodeJPEG2000(b, in)
		if errors.Is(err, ErrNoJ2KDecoder) {
			return nil, &CannotPreviewError{ts, err.Error()}
		}
		return px, err
	}
	return nil, fmt.Errorf("%w: %s", ErrCannotTranscode, TransferSyntaxName(ts))
}

// decodedPhotometric is the photometric interpretation of frames decoded
// from ts: JPEG 2000's component transforms (YBR_RCT, YBR_ICT) are undone
// by the decoder, giving RGB (PS3.3 C.7.6.3.1.2); JPEG's subsampled
// YBR_FULL_422 is upsampled, giving YBR_FULL (PS3.5 8.2.1); others keep
// theirs.
func decodedPhotometric(ts, p string) string {
	switch {
	case isJ2K(ts) && (p == "YBR_RCT" || p == "YBR_ICT"):
		return "RGB"
	case (ts == JPEGBaseline || ts == JPEGExtended) && p == "YBR_FULL_422":
		return "YBR_FULL"
	}
	return p
}

// CanTranscode reports whether Transcode converts a file stored in from
// into to: from an uncompressed syntax, RLE or JPEG Lossless, into explicit or
// implicit VR little endian (the same syntax needs no conversion).
func CanTranscode(from, to string) bool {
	return from != to && Decodable(from) && (to == ExplicitVRLittleEndian || to == ImplicitVRLittleEndian)
}

// Transcode writes f as a Part 10 file in transfer syntax ts (explicit or
// implicit VR little endian) from any uncompressed syntax: big-endian
// values are swapped by VR (pixel data OW by 16-bit words), a deflated
// dataset is written inflated, VRs an implicit file does not carry stay
// UN. The file meta group is kept with the new Transfer Syntax UID; group
// length elements of the dataset (retired) are dropped, as the lengths
// change. RLE and JPEG Lossless pixel data is decoded, every frame, into native
// pixel data (OW above 8 bits allocated, else OB; Planar Configuration 0).
// Other compressed files give ErrCannotTranscode.
func Transcode(f *File, ts string) ([]byte, error) {
	if !Decodable(f.TransferSyntax) || (ts != ExplicitVRLittleEndian && ts != ImplicitVRLittleEndian) {
		return nil, fmt.Errorf("%w: %s (%s) to %s (%s)", ErrCannotTranscode, TransferSyntaxName(f.TransferSyntax), f.TransferSyntax, TransferSyntaxName(ts), ts)
	}
	out := make([]byte, 128, 1024)
	out = append(out, "DICM"...)
	tsv := []byte(ts)
	if len(tsv)%2 == 1 {
		tsv = append(tsv, 0)
	}
	var meta []byte
	hasTS := false
	for _, e := range f.Meta.Elements {
		switch {
		case e.Tag == TagFileMetaInformationGroupLength:
			continue
		case e.Tag == TagTransferSyntaxUID:
			e, hasTS = &Element{Tag: e.Tag, VR: "UI", Value: tsv}, true
		}
		meta = appendElement(meta, e)
	}
	if !hasTS {
		meta = appendElement(meta, &Element{Tag: TagTransferSyntaxUID, VR: "UI", Value: tsv})
	}
	out = appendElement(out, &Element{Tag: TagFileMetaInformationGroupLength, VR: "UL", Value: binary.LittleEndian.AppendUint32(nil, uint32(len(meta)))})
	out = append(out, meta...)
	enc := encoder{explicit: ts == ExplicitVRLittleEndian}
	for _, e := range f.Elements {
		if e.Tag.Element() == 0 {
			continue
		}
		if e.Fragments != nil && compressedDecoded(f.TransferSyntax) && e.Tag == TagPixelData {
			native, err := decodeFrames(f, e)
			if err != nil {
				return nil, err
			}
			out = enc.appendElement(out, native)
			continue
		}
		if e.Fragments != nil {
			return nil, fmt.Errorf("%w: encapsulated pixel data", ErrCannotTranscode)
		}
		if e.Tag == TagPlanarConfiguration && compressedDecoded(f.TransferSyntax) {
			e = &Element{Tag: e.Tag, VR: "US", Value: []byte{0, 0}} // the decoded samples are interleaved
		}
		if e.Tag == TagPhotometricInterpretation && compressedDecoded(f.TransferSyntax) {
			if p := f.String(TagPhotometricInterpretation); decodedPhotometric(f.TransferSyntax, p) != p {
				v := []byte(decodedPhotometric(f.TransferSyntax, p))
				if len(v)%2 == 1 {
					v = append(v, ' ')
				}
				e = &Element{Tag: e.Tag, VR: "CS", Value: v}
			}
		}
		out = enc.appendElement(out, littleEndian(e, f.BigEndian))
	}
	return out, nil
}

// littleEndian returns e with its value in little-endian byte order (a
// copy when it was big endian) and items converted the same way.
func littleEndian(e *Element, big bool) *Element {
	c := *e
	if len(e.Items) > 0 {
		c.Items = make([]*Dataset, len(e.Items))
		for i, it := range e.Items {
			d := &Dataset{}
			for _, ie := range it.Elements {
				if ie.Tag.Element() == 0 {
					continue
				}
				d.Elements = append(d.Elements, littleEndian(ie, big))
			}
			c.Items[i] = d
		}
	}
	if big {
		if w := wordSize(e.VR); w > 1 && len(e.Value)%w == 0 {
			v := make([]byte, len(e.Value))
			for i := 0; i < len(v); i += w {
				for k := 0; k < w; k++ {
					v[i+k] = e.Value[i+w-1-k]
				}
			}
			c.Value = v
		}
	}
	if c.VR != "SQ" && !longVR(c.VR) && len(c.Value) > 0xFFFF {
		c.VR = "UN" // a short-length VR cannot hold it in explicit VR
	}
	return &c
}

// wordSize is the byte-swapping unit of a VR's binary values.
func wordSize(vr string) int {
	switch vr {
	case "US", "SS", "OW", "AT":
		return 2
	case "UL", "SL", "FL", "OF", "OL":
		return 4
	case "FD", "OD", "SV", "UV", "OV":
		return 8
	}
	return 1
}

// decodeFrames decodes every frame of compressed pixel data into one
// native Pixel Data element.
func decodeFrames(f *File, pd *Element) (*Element, error) {
	in, err := f.Info()
	if err != nil {
		return nil, err
	}
	if len(pd.Fragments) < 2 {
		return nil, &FormatError{Msg: "encapsulated pixel data has no fragments"}
	}
	size := frameBytes(in)
	if in.Rows*in.Columns*in.SamplesPerPixel*in.BitsAllocated%8 != 0 {
		// Native 1-bit frames follow each other bit by bit.
		return nil, fmt.Errorf("%w: frames of %d bits do not end on a byte", ErrCannotTranscode, in.Rows*in.Columns*in.SamplesPerPixel*in.BitsAllocated)
	}
	native := make([]byte, 0, size*in.Frames)
	for i := 0; i < in.Frames; i++ {
		b, err := frameFragments(pd, in.Frames, i)
		if err != nil {
			return nil, err
		}
		px, err := decodeFrame(f.TransferSyntax, b, in)
		if err != nil {
			return nil, err
		}
		native = append(native, px...)
	}
	if len(native)%2 == 1 {
		native = append(native, 0)
	}
	vr := "OB"
	if in.BitsAllocated > 8 {
		vr = "OW"
	}
	return &Element{Tag: TagPixelData, VR: vr, Value: native}, nil
}

// DecodedFrame returns frame n (0-based) as native explicit VR little
// endian pixel data: an uncompressed frame as stored (a big-endian file's
// 16-bit words swapped), a compressed one decoded (only that frame's
// fragments are read). A syntax the server does not decode is
// ErrCannotTranscode; a frame that does not decode is ErrFormat, or
// ErrCannotPreview with the reason.
func DecodedFrame(f *File, n int) ([]byte, error) {
	b, compressed, err := Frame(f, n)
	if err != nil {
		return nil, err
	}
	if !compressed {
		in, _ := f.Info()
		if f.BigEndian && in.BitsAllocated == 16 {
			sw := make([]byte, len(b))
			for i := 0; i+1 < len(b); i += 2 {
				sw[i], sw[i+1] = b[i+1], b[i]
			}
			return sw, nil
		}
		return b, nil
	}
	if !Decodable(f.TransferSyntax) {
		return nil, fmt.Errorf("%w: %s (%s)", ErrCannotTranscode, TransferSyntaxName(f.TransferSyntax), f.TransferSyntax)
	}
	in, _ := f.Info()
	return decodeFrame(f.TransferSyntax, b, in)
}
