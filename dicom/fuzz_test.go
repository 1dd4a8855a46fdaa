package dicom

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"countycare/internal/testfiles"
)

// FuzzParse parses arbitrary bytes and renders the first frames of what
// parses: errors must be ErrFormat or ErrCannotPreview, never a panic.
// Seeded with the shared files (tcia-5's first 64 KiB) and synthetic ones.
func FuzzParse(f *testing.F) {
	dir := sharedDir(f)
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 64<<10)])
	}
	f.Add(Encode(ExplicitVRBigEndian, greyElems(2, 2, 1, 16, true, "MONOCHROME2", make([]byte, 8), true)))
	f.Add(Encode(ImplicitVRLittleEndian, greyElems(2, 2, 2, 8, false, "MONOCHROME1", make([]byte, 8), false,
		&Element{Tag: 0x00081140, VR: "SQ", Undefined: true, Items: []*Dataset{{Elements: []*Element{{Tag: TagModality, VR: "CS", Value: []byte("CT")}}}}})))
	els := greyElems(2, 2, 1, 8, false, "MONOCHROME2", nil, false)
	els[len(els)-1] = &Element{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{{0, 0, 0, 0}, {0xFF, 0xD8, 0xFF, 0xD9}}}
	f.Add(Encode(JPEGBaseline, els))
	f.Fuzz(func(t *testing.T, b []byte) {
		l := DefaultLimits
		l.MaxInflated = 16 << 20
		if sf, err := l.ParseFrames(bytes.NewReader(b), 1, 1<<20); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("ParseFrames error is not ErrFormat: %v", err)
		} else if err == nil {
			if _, err := Render(sf, 0, nil); err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCannotPreview) {
				t.Fatalf("render of a streamed frame: %v", err)
			}
		}
		file, err := l.Parse(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error is not ErrFormat: %v", err)
			}
			return
		}
		// The DICOM JSON of any parsed dataset encodes (QIDO/WADO metadata).
		if _, err := json.Marshal(JSON(file.Dataset, nil)); err != nil {
			t.Fatalf("DICOM JSON: %v", err)
		}
		in, err := file.Info()
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("info error is not ErrFormat: %v", err)
			}
			return
		}
		// The header-only check STOW-RS makes never refuses a file whose
		// first frame renders, and fails only with the same two kinds.
		perr := Previewable(file)
		if perr != nil && !errors.Is(perr, ErrFormat) && !errors.Is(perr, ErrCannotPreview) {
			t.Fatalf("Previewable error is neither ErrFormat nor ErrCannotPreview: %v", perr)
		}
		for fr := 0; fr < min(in.Frames, 2); fr++ {
			img, err := Render(file, fr, nil)
			if fr == 0 && err == nil && perr != nil {
				t.Fatalf("frame 0 renders but Previewable says %v", perr)
			}
			if err != nil {
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCannotPreview) {
					t.Fatalf("render error is neither ErrFormat nor ErrCannotPreview: %v", err)
				}
				continue
			}
			if img.Bounds().Dx() != in.Columns || img.Bounds().Dy() != in.Rows {
				t.Fatalf("rendered %v for %d×%d", img.Bounds(), in.Columns, in.Rows)
			}
			if _, _, err := Frame(file, fr); err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("frame %d: %v", fr, err)
			}
		}
	})
}

// FuzzWaveforms decodes the waveform of whatever parses: errors must be
// ErrFormat, decoded groups as long as their headers say. Seeded with
// pydicom's 12-lead ECG (its first 64 KiB and whole) and synthetic
// waveforms of each encoding.
func FuzzWaveforms(f *testing.F) {
	b := testfiles.Read(f, "ecg", "formats", "pydicom-waveform_ecg.dcm")
	f.Add(b[:64<<10])
	f.Add(waveformFile(16, "SS", []byte{1, 2, 3, 4}, 1))
	f.Add(waveformFile(8, "MB", []byte{1, 2, 3, 4}, 2))
	f.Add(waveformFile(16, "US", []byte{1, 2}, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		groups, err := Waveforms(file.Dataset, 1<<20)
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error is not ErrFormat: %v", err)
		}
		for _, g := range groups {
			if len(g.Samples) != len(g.Channels) || !(g.Fs > 0) {
				t.Fatalf("group of %d channels, %d sample rows, %v Hz", len(g.Channels), len(g.Samples), g.Fs)
			}
		}
		WaveformAnnotations(file.Dataset)
	})
}

// fuzzDecoder fuzzes a frame decoder, seeded with frame 1 of a testdata
// file and any extra seeds: every input decodes to exactly the image's
// size (in from that file) or is refused with a format error (or, when
// cannotPreview, "cannot preview" for a feature left out); never a panic.
func fuzzDecoder(f *testing.F, file string, decode func([]byte, ImageInfo) ([]byte, error), cannotPreview bool, seeds ...[]byte) {
	jf, err := Parse(readShared(f, file))
	if err != nil {
		f.Fatal(err)
	}
	in, _ := jf.Info()
	b, err := frameFragments(jf.Get(TagPixelData), in.Frames, 0)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range append([][]byte{b}, seeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decode(b, in)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !(cannotPreview && errors.Is(err, ErrCannotPreview)) {
				t.Fatalf("%v is not a format error", err)
			}
			return
		}
		if len(out) != frameBytes(in) {
			t.Fatalf("%d bytes for %+v", len(out), in)
		}
	})
}
