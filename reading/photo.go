package reading

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG for image.Decode
	_ "image/png"  // registers PNG
)

// Photo kinds a clinic sends for reading.
const (
	PhotoFundus = "fundus" // 眼底照相
	PhotoSkin   = "skin"   // 皮肤照片
)

// Photo limits: a 24-megapixel fundus camera's JPEG is 5–12 MB.
const (
	MaxPhotoBytes  = 25 << 20
	MaxPhotoPixels = 30_000_000
	// MaxPhotoDecoded bounds the decoded image in memory: 30 megapixels of
	// 8-bit RGBA fit, 16-bit RGBA up to 16 megapixels. A PNG of zeros
	// compresses 1,000:1, so the file's size bounds nothing.
	MaxPhotoDecoded = 128 << 20
	minPhotoSide    = 64
)

// ErrPhoto is the cause of every fault ReadPhoto reports.
var ErrPhoto = errors.New("photo")

// Photo is an uploaded picture checked by content.
type Photo struct {
	ContentType   string // image/jpeg or image/png
	Width, Height int
	// Clean is the file without its metadata (EXIF, XMP, comments, text
	// chunks): those are written by the camera or any editor and are not
	// trusted — no date, orientation, patient or GPS position is read from
	// them, and none is kept.
	Clean []byte
}

// ReadPhoto checks a JPEG or PNG by its content (never the file name or the
// declared type), bounds its size and pixel count before decoding, decodes
// it whole (a truncated or corrupt file is refused) and strips metadata.
// Errors wrap ErrPhoto.
func ReadPhoto(b []byte) (*Photo, error) {
	if len(b) > MaxPhotoBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrPhoto, MaxPhotoBytes>>20)
	}
	p := &Photo{}
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		p.ContentType = "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		p.ContentType = "image/png"
	default:
		return nil, fmt.Errorf("%w: not a JPEG or PNG image", ErrPhoto)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable image: %v", ErrPhoto, err)
	}
	if cfg.Width < minPhotoSide || cfg.Height < minPhotoSide {
		return nil, fmt.Errorf("%w: %d×%d pixels is too small", ErrPhoto, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels is more than %d megapixels", ErrPhoto, cfg.Width, cfg.Height, MaxPhotoPixels/1_000_000)
	}
	if n := int64(cfg.Width) * int64(cfg.Height) * decodedBytesPerPixel(cfg.ColorModel); n > MaxPhotoDecoded {
		return nil, fmt.Errorf("%w: %d×%d pixels decode to %d MiB, more than %d MiB", ErrPhoto, cfg.Width, cfg.Height, n>>20, MaxPhotoDecoded>>20)
	}
	p.Width, p.Height = cfg.Width, cfg.Height
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: truncated or corrupt image: %v", ErrPhoto, err)
	}
	if p.ContentType == "image/jpeg" {
		p.Clean, err = stripJPEG(b)
	} else {
		p.Clean, err = stripPNG(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPhoto, err)
	}
	return p, nil
}

// stripJPEG drops APP1–APP15 (EXIF, XMP, ICC, maker notes) and COM
// segments before the scan; APP0 (JFIF) and everything from SOS on stay.
func stripJPEG(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for {
		if i+4 > len(b) || b[i] != 0xFF {
			return nil, errors.New("bad JPEG segment")
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan, end of image: copy the rest
			return append(out, b[i:]...), nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil, errors.New("bad JPEG segment length")
		}
		if !(m >= 0xE1 && m <= 0xEF) && m != 0xFE {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
}

// stripPNG drops ancillary text and metadata chunks (tEXt, zTXt, iTXt,
// eXIf, tIME); critical chunks and the rest stay.
func stripPNG(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	out = append(out, b[:8]...)
	i := 8
	for i < len(b) {
		if i+12 > len(b) {
			return nil, errors.New("bad PNG chunk")
		}
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || n > len(b)-i-12 {
			return nil, errors.New("bad PNG chunk length")
		}
		typ := string(b[i+4 : i+8])
		end := i + 12 + n
		switch typ {
		case "tEXt", "zTXt", "iTXt", "eXIf", "tIME":
		default:
			out = append(out, b[i:end]...)
		}
		i = end
		if typ == "IEND" {
			break
		}
	}
	return out, nil
}

// decodedBytesPerPixel is what image.Decode allocates per pixel for an
// image of color model m (8 when unknown: the largest).
func decodedBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}
