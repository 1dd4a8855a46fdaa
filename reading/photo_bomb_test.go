package reading_test

import (
	"bytes"
	"compress/zlib"
	"countycare/internal/memtest"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"countycare/reading"
)

// pngBomb is a valid 16-bit RGBA PNG of w×h black pixels: IDAT is
// zlib-compressed zeros (about 1,000:1), so 200 MB of pixels is a few
// hundred KB.
func pngBomb(w, h int) []byte {
	chunk := func(out []byte, typ string, data []byte) []byte {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		start := len(out)
		out = append(append(out, typ...), data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // 16 bits, RGBA, deflate, filter 0, no interlace
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, 1+w*8) // filter type 0, then zeros
	for y := 0; y < h; y++ {
		zw.Write(row)
	}
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = chunk(out, "IHDR", ihdr)
	out = chunk(out, "IDAT", z.Bytes())
	return chunk(out, "IEND", nil)
}

// TestPhotoDecodeBound: a 25-megapixel 16-bit PNG (under the pixel limit,
// a few hundred KB) would decode to 200 MB: it is refused from its header
// (image.DecodeConfig) before decoding, allocating next to nothing; a
// small one of the same kind is accepted.
func TestPhotoDecodeBound(t *testing.T) {
	bomb := pngBomb(5000, 5000)
	if len(bomb) > reading.MaxPhotoBytes {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	var err error
	n := memtest.AllocatedBy(func() { _, err = reading.ReadPhoto(bomb) })
	if !errors.Is(err, reading.ErrPhoto) || !strings.Contains(err.Error(), "decode to 190 MiB") {
		t.Errorf("a 5000×5000 16-bit PNG: %v", err)
	}
	if n > 8<<20 {
		t.Errorf("allocated %d bytes refusing it; bound 8 MiB", n)
	}
	if p, err := reading.ReadPhoto(pngBomb(200, 100)); err != nil || p.Width != 200 || p.ContentType != "image/png" {
		t.Errorf("a 200×100 16-bit PNG: %+v %v", p, err)
	}
}
