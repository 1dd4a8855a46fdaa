package dicom

import (
	"bytes"
	"compress/flate"
	"countycare/internal/memtest"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

// A 1 GiB deflate bomb (about 1 MB) is refused by Parse and ParseFrames
// after inflating at most the bound through a small window: neither
// allocates more than 8 MiB for it.
func TestDeflateBombBoundedMemory(t *testing.T) {
	head := greyElems(16384, 16384, 2, 16, false, "MONOCHROME2", nil, false)
	head = head[:len(head)-1] // Pixel Data comes from DeflatedZeros
	bomb := DeflatedZeros(head, 1<<30)
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb of %d bytes; want about 1 MB", len(bomb))
	}
	const bound = 8 << 20
	var err error
	if n := memtest.AllocatedBy(func() { _, err = Parse(bomb) }); n > bound {
		t.Errorf("Parse allocated %d bytes for a deflate bomb; bound %d", n, bound)
	}
	if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "inflates past") {
		t.Errorf("Parse of a deflate bomb: %v; want ErrLimit naming the bound", err)
	}
	if n := memtest.AllocatedBy(func() { _, err = DefaultLimits.ParseFrames(bytes.NewReader(bomb), 1, 256<<20) }); n > bound {
		t.Errorf("ParseFrames allocated %d bytes for a deflate bomb; bound %d", n, bound)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("ParseFrames of a deflate bomb: %v; want ErrLimit", err)
	}
}

// The bound is the ratio to the compressed size (plus 1 MiB) and
// MaxInflated, whichever is smaller; a real deflated image is far below.
func TestInflateBound(t *testing.T) {
	head := greyElems(64, 64, 1, 16, false, "MONOCHROME2", nil, false)
	head = head[:len(head)-1]
	small := DeflatedZeros(head, 64*64*2)
	f, err := Parse(small)
	if err != nil {
		t.Fatalf("small deflated file: %v", err)
	}
	if in, err := f.Info(); err != nil || in.Rows != 64 || in.Frames != 1 {
		t.Fatalf("small deflated file: %+v %v", in, err)
	}
	if img, err := Render(f, 0, nil); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("render of a small deflated file: %v", err)
	}
	// 8 MiB of zeros (about 8 KB compressed): past 100×8 KB + 1 MiB.
	big := DeflatedZeros(head, 8<<20)
	if _, err := Parse(big); !errors.Is(err, ErrLimit) {
		t.Errorf("8 MiB from %d bytes under the default ratio: %v; want ErrLimit", len(big), err)
	}
	l := DefaultLimits
	l.MaxInflateRatio = 0 // MaxInflated alone
	if _, err := l.Parse(big); err != nil {
		t.Errorf("8 MiB without a ratio: %v", err)
	}
	l.MaxInflated = 4 << 20
	if _, err := l.Parse(big); !errors.Is(err, ErrLimit) {
		t.Errorf("8 MiB past MaxInflated 4 MiB: %v", err)
	}
	for _, c := range []struct {
		n, want int64
	}{{0, 1 << 20}, {1000, 100*1000 + 1<<20}, {10 << 20, 256 << 20}, {1 << 40, 256 << 20}} {
		if got := DefaultLimits.inflateBound(c.n); got != c.want {
			t.Errorf("inflateBound(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestElementBomb: a deflated dataset of a million 8-byte elements (tags
// varied so that it deflates only about 4:1, within the inflate bound) is
// refused at MaxElements having allocated under 64 MiB; the tree of a
// million elements took about 150 MiB.
func TestElementBomb(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	var ds bytes.Buffer
	for i := 0; i < 1<<20; i++ {
		ds.Write([]byte{0x09, 0x00, byte(rng.Intn(256)), byte(0x10 + rng.Intn(0xE0)), 'L', 'O', 0, 0})
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	w.Write(ds.Bytes())
	w.Close()
	b := append(Encode(DeflatedExplicitVRLittleEndian, nil), z.Bytes()...)
	for name, file := range map[string][]byte{"deflated": b, "explicit": append(Encode(ExplicitVRLittleEndian, nil), ds.Bytes()...)} {
		var err error
		if n := memtest.AllocatedBy(func() { _, err = Parse(file) }); n > 64<<20 {
			t.Errorf("%s (%d bytes): allocated %d MiB for a million elements; bound 64 MiB", name, len(file), n>>20)
		} else {
			t.Logf("%s (%d bytes): allocated %d MiB", name, len(file), n>>20)
		}
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 262144 elements") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
