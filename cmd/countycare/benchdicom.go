package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"countycare/dicom"
)

func cmdBenchDICOM(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench dicom", "Time the imaging preview path on one core: parse a DICOM file, render a frame to 8-bit\n"+
		"(window from the file, else the frame's min/max) and encode it as PNG (fastest level). Without --file a\n"+
		"512×512 16-bit CT is synthesised. A second workload synthesises a --cine-frames ultrasound cine\n"+
		"(RGB, --cine-size) and times reading it from an io.Reader only up to its first frame, rendering and PNG. Prints p50 and p99 per step.", stderr)
	file := fs.String("file", "", "a DICOM file to measure instead of the synthetic 512×512 16-bit CT")
	frame := fs.Int("frame", 0, "frame to render")
	runs := fs.Int("runs", 200, "runs per workload")
	cineFrames := fs.Int("cine-frames", 30, "frames of the synthetic cine (0: skip)")
	cineSize := fs.String("cine-size", "600x800", "rows x columns of the synthetic cine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return &exitError{2, "bench dicom: --runs must be ≥ 1"}
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)

	name := "synthetic CT"
	var b []byte
	if *file != "" {
		var err error
		if b, err = os.ReadFile(*file); err != nil {
			return err
		}
		name = filepath.Base(*file)
	} else {
		b = syntheticCT(512, 512)
	}
	r, err := timePreview(b, *frame, *runs, false)
	if err != nil {
		return fmt.Errorf("bench dicom: %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s: %s, %d bytes, PNG %d bytes, %d runs, 1 core\n", name, r.desc, len(b), r.pngBytes, *runs)
	r.print(stdout)
	if *cineFrames > 0 {
		var rows, cols int
		if _, err := fmt.Sscanf(*cineSize, "%dx%d", &rows, &cols); err != nil || rows < 1 || cols < 1 || rows*cols > 4096*4096 {
			return &exitError{2, "bench dicom: --cine-size must be ROWSxCOLUMNS"}
		}
		cine := syntheticCine(rows, cols, *cineFrames)
		r, err := timePreview(cine, 0, *runs, true)
		if err != nil {
			return fmt.Errorf("bench dicom: cine: %w", err)
		}
		fmt.Fprintf(stdout, "cine first frame (streamed: the file is read only up to frame 0): %s, %d bytes, PNG %d bytes, %d runs, 1 core\n", r.desc, len(cine), r.pngBytes, *runs)
		r.print(stdout)
	}
	return nil
}

type previewTimes struct {
	desc                      string
	pngBytes                  int
	parse, render, png, total []time.Duration
}

// timePreview times parse, render and PNG of one frame. With stream the
// parse step reads the file from an io.Reader only as far as the frame
// (dicom.Limits.ParseFrames), as a viewer showing a cine's first frame.
func timePreview(b []byte, frame, runs int, stream bool) (previewTimes, error) {
	var r previewTimes
	var buf bytes.Buffer
	for i := 0; i < runs+1; i++ { // the first run warms up and is not counted
		t0 := time.Now()
		var f *dicom.File
		var err error
		if stream {
			f, err = dicom.DefaultLimits.ParseFrames(bytes.NewReader(b), frame+1, int64(len(b)))
		} else {
			f, err = dicom.Parse(b)
		}
		if err != nil {
			return r, err
		}
		t1 := time.Now()
		img, err := dicom.Render(f, frame, nil)
		if err != nil {
			return r, err
		}
		t2 := time.Now()
		buf.Reset()
		if err := dicom.EncodePNG(&buf, img); err != nil {
			return r, err
		}
		t3 := time.Now()
		if i == 0 {
			in, _ := f.Info()
			r.desc = fmt.Sprintf("%s %d×%d×%d frames, %d-bit %s, %s", f.String(dicom.TagModality), in.Columns, in.Rows, in.Frames,
				in.BitsAllocated, in.Photometric, dicom.TransferSyntaxName(f.TransferSyntax))
			r.pngBytes = buf.Len()
			continue
		}
		r.parse = append(r.parse, t1.Sub(t0))
		r.render = append(r.render, t2.Sub(t1))
		r.png = append(r.png, t3.Sub(t2))
		r.total = append(r.total, t3.Sub(t0))
	}
	return r, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

func (r previewTimes) print(w io.Writer) {
	fmt.Fprintf(w, "  %-7s %10s %10s\n", "step", "p50", "p99")
	for _, s := range []struct {
		n string
		d []time.Duration
	}{{"parse", r.parse}, {"render", r.render}, {"png", r.png}, {"total", r.total}} {
		fmt.Fprintf(w, "  %-7s %10s %10s\n", s.n, ms(pct(s.d, 0.5)), ms(pct(s.d, 0.99)))
	}
}

func us(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }

// syntheticCT is a rows×cols signed 16-bit CT (HU -1024..3071 as stored
// 0..4095 with intercept -1024): a disc of soft tissue in air with a ring of bone and noise.
func syntheticCT(rows, cols int) []byte {
	px := make([]byte, 0, 2*rows*cols)
	seed := uint32(1)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			dx, dy := float64(x-cols/2)/float64(cols/2), float64(y-rows/2)/float64(rows/2)
			r := math.Hypot(dx, dy)
			v := 0 // air
			switch {
			case r < 0.8:
				v = 1024 + 40
			case r < 0.88:
				v = 1024 + 1200
			}
			seed = seed*1664525 + 1013904223
			v += int(seed>>28) - 8
			px = binary.LittleEndian.AppendUint16(px, uint16(max(0, min(4095, v))))
		}
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("CT")},
		{Tag: dicom.TagPatientName, VR: "PN", Value: []byte("Synthetic^CT")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: us(1)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagRows, VR: "US", Value: us(rows)},
		{Tag: dicom.TagColumns, VR: "US", Value: us(cols)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: us(16)},
		{Tag: dicom.TagBitsStored, VR: "US", Value: us(12)},
		{Tag: dicom.TagHighBit, VR: "US", Value: us(11)},
		{Tag: dicom.TagPixelRepresentation, VR: "US", Value: us(0)},
		{Tag: dicom.TagWindowCenter, VR: "DS", Value: []byte("40")},
		{Tag: dicom.TagWindowWidth, VR: "DS", Value: []byte("400")},
		{Tag: dicom.TagRescaleIntercept, VR: "DS", Value: []byte("-1024")},
		{Tag: dicom.TagRescaleSlope, VR: "DS", Value: []byte("1")},
		{Tag: dicom.TagPixelData, VR: "OW", Value: px},
	})
}

// syntheticCine is an uncompressed RGB ultrasound cine of n frames: a
// fan-shaped speckle pattern that moves from frame to frame.
func syntheticCine(rows, cols, n int) []byte {
	frame := 3 * rows * cols
	px := make([]byte, n*frame)
	seed := uint32(7)
	for k := 0; k < n; k++ {
		for y := 0; y < rows; y++ {
			for x := 0; x < cols; x++ {
				seed = seed*1664525 + 1013904223
				dx := float64(x-cols/2) / float64(cols)
				in := y > 20 && math.Abs(dx) < float64(y)/float64(rows)*0.6
				var v byte
				if in {
					v = byte((seed >> 25) + uint32((y+k*4)%64))
				}
				i := k*frame + 3*(y*cols+x)
				px[i], px[i+1], px[i+2] = v, v, v
			}
		}
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("US")},
		{Tag: dicom.TagPatientName, VR: "PN", Value: []byte("Synthetic^Cine")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: us(3)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("RGB")},
		{Tag: dicom.TagPlanarConfiguration, VR: "US", Value: us(0)},
		{Tag: dicom.TagNumberOfFrames, VR: "IS", Value: []byte(strconv.Itoa(n))},
		{Tag: dicom.TagRows, VR: "US", Value: us(rows)},
		{Tag: dicom.TagColumns, VR: "US", Value: us(cols)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: us(8)},
		{Tag: dicom.TagBitsStored, VR: "US", Value: us(8)},
		{Tag: dicom.TagHighBit, VR: "US", Value: us(7)},
		{Tag: dicom.TagPixelRepresentation, VR: "US", Value: us(0)},
		{Tag: dicom.TagPixelData, VR: "OB", Value: px},
	})
}
