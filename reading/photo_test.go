package reading

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func testImage(w, h int) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	return m
}

// jpegWithEXIF is a JPEG with an EXIF segment that claims a GPS position.
func jpegWithEXIF(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(120, 80), nil); err != nil {
		t.Fatal(err)
	}
	exif := append([]byte("Exif\x00\x00GPS 39.9N 116.4E patient=张三"), make([]byte, 20)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	seg = append(seg, exif...)
	out := append([]byte{0xFF, 0xD8}, seg...)
	return append(out, b.Bytes()[2:]...)
}

// pngWithText is a PNG with a tEXt chunk before IEND.
func pngWithText(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(100, 100)); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	data := []byte("Comment\x00patient=张三")
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "tEXt")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	iend := len(raw) - 12
	return append(append(append([]byte(nil), raw[:iend]...), chunk...), raw[iend:]...)
}

func TestReadPhoto(t *testing.T) {
	for name, in := range map[string][]byte{"jpeg": jpegWithEXIF(t), "png": pngWithText(t)} {
		p, err := ReadPhoto(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Contains(p.Clean, []byte("patient=")) || !bytes.Contains(in, []byte("patient=")) {
			t.Errorf("%s: metadata kept", name)
		}
		if _, _, err := image.Decode(bytes.NewReader(p.Clean)); err != nil {
			t.Errorf("%s: cleaned file does not decode: %v", name, err)
		}
		if p.Width < 100 || p.Height < 80 {
			t.Errorf("%s: %dx%d", name, p.Width, p.Height)
		}
	}
	j := jpegWithEXIF(t)
	bad := map[string][]byte{
		"truncated JPEG": j[:len(j)/2],
		"PDF named .jpg": []byte("%PDF-1.4 ..."),
		"tiny":           func() []byte { var b bytes.Buffer; png.Encode(&b, testImage(10, 10)); return b.Bytes() }(),
	}
	for name, in := range bad {
		if _, err := ReadPhoto(in); !errors.Is(err, ErrPhoto) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzReadPhoto(f *testing.F) {
	f.Add(jpegWithEXIF(f))
	f.Add(pngWithText(f))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ReadPhoto(in)
		if err != nil {
			if !errors.Is(err, ErrPhoto) {
				t.Fatalf("error without ErrPhoto: %v", err)
			}
			return
		}
		if _, _, err := image.DecodeConfig(bytes.NewReader(p.Clean)); err != nil {
			t.Fatalf("accepted photo's cleaned file unreadable: %v", err)
		}
	})
}
