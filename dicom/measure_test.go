package dicom

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestMeasureCT checks the tools against values worked by hand on the real
// CT pydicom-CT_small.dcm (128×128, Pixel Spacing 0.661468\0.661468,
// Rescale Intercept −1024, slope 1). Its stored values at rows 60–61,
// columns 60–61 are 1013, 1015 / 1121, 1233, so −11, −9, 97, 209 HU.
func TestMeasureCT(t *testing.T) {
	f, err := Parse(readShared(t, "pydicom-CT_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	cal := f.Calibration()
	if cal != (Calibration{CalibrationPixelSpacing, 0.661468, 0.661468}) {
		t.Fatalf("calibration %+v", cal)
	}
	// A 3-4-5 triangle: 5 px × 0.661468 mm.
	if v, mm := Length(cal, Point{10, 10}, Point{13, 14}); !mm || !near(v, 3.30734, 1e-9) {
		t.Errorf("length %v mm=%v, want 3.30734 mm", v, mm)
	}
	vals, in, err := FrameValues(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-11, -9, 97, 209}
	for i, p := range [][2]int{{60, 60}, {60, 61}, {61, 60}, {61, 61}} {
		if got := vals[p[0]*in.Columns+p[1]]; got != want[i] {
			t.Errorf("HU at row %d col %d = %v, want %v", p[0], p[1], got, want[i])
		}
	}
	// Mean (−11 − 9 + 97 + 209)/4 = 71.5; deviations −82.5, −80.5, 25.5,
	// 137.5; squares sum 32843, /4 = 8210.75, √ = 90.6132…; area 4 px ×
	// 0.661468² = 4 × 0.4375399… = 1.7501597 mm².
	st, err := RegionStats(vals, in, cal, ROIRectangle, Point{60, 60}, Point{62, 62})
	if err != nil {
		t.Fatal(err)
	}
	if st.Pixels != 4 || st.Mean != 71.5 || !near(st.SD, 90.61319, 1e-4) || st.Min != -11 || st.Max != 209 || !st.AreaMM || !near(st.Area, 1.7501597, 1e-7) {
		t.Errorf("rectangle %+v", st)
	}
	// The ellipse inscribed in the same box holds the same four centres
	// ((±½, ±½) from the centre over radii 1: ½ ≤ 1), its area is π/4 of the box.
	el, err := RegionStats(vals, in, cal, ROIEllipse, Point{60, 60}, Point{62, 62})
	if err != nil {
		t.Fatal(err)
	}
	if el.Pixels != 4 || el.Mean != 71.5 || !near(el.Area, math.Pi*1.7501597/4, 1e-7) {
		t.Errorf("ellipse %+v", el)
	}
	// A box clipped to the image, and one holding no pixel centre.
	if st, err := RegionStats(vals, in, cal, ROIRectangle, Point{-5, -5}, Point{1, 1}); err != nil || st.Pixels != 1 {
		t.Errorf("clipped box: %+v %v", st, err)
	}
	if _, err := RegionStats(vals, in, cal, ROIRectangle, Point{5.6, 5.6}, Point{5.9, 5.9}); err == nil {
		t.Error("a box with no pixel centre was measured")
	}
	if _, err := RegionStats(vals, in, cal, "triangle", Point{0, 0}, Point{3, 3}); err == nil {
		t.Error("an unknown shape was measured")
	}
}

// TestFrameValuesCompressed: a JPEG Lossless CT gives the same values as
// its uncompressed original, so a region measures the same on either.
func TestFrameValuesCompressed(t *testing.T) {
	var got [2][]float64
	for i, name := range []string{"compressed/JPEG-LL.dcm", "compressed/JPEG-LL_dcmdjpeg.dcm"} {
		f, err := Parse(readShared(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if got[i], _, err = FrameValues(f, 0); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(got[0]) != len(got[1]) || len(got[0]) == 0 {
		t.Fatalf("%d and %d values", len(got[0]), len(got[1]))
	}
	for i := range got[0] {
		if got[0][i] != got[1][i] {
			t.Fatalf("value %d: %v compressed, %v original", i, got[0][i], got[1][i])
		}
	}
	f, _ := Parse(readShared(t, "pydicom-SC_rgb_jpeg_dcmd.dcm"))
	if _, _, err := FrameValues(f, 0); err == nil {
		t.Error("an RGB image gave values to measure")
	}
}

func TestCalibrationKinds(t *testing.T) {
	ds := func(es ...*Element) *File {
		f, err := Parse(Encode(ExplicitVRLittleEndian, es))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ips := &Element{Tag: TagImagerPixelSpacing, VR: "DS", Value: []byte(`0.143\0.15`)}
	ps := &Element{Tag: TagPixelSpacing, VR: "DS", Value: []byte(`0.2\0.25`)}
	for _, tt := range []struct {
		name string
		f    *File
		want Calibration
	}{
		{"pixel spacing wins", ds(ps, ips), Calibration{CalibrationPixelSpacing, 0.2, 0.25}},
		{"imager pixel spacing alone", ds(ips), Calibration{CalibrationImagerPixelSpacing, 0.143, 0.15}},
		{"none", ds(), Calibration{Kind: CalibrationNone}},
		{"one value is no spacing", ds(&Element{Tag: TagPixelSpacing, VR: "DS", Value: []byte(`0.5`)}), Calibration{Kind: CalibrationNone}},
		{"zero is no spacing", ds(&Element{Tag: TagPixelSpacing, VR: "DS", Value: []byte(`0\0`)}), Calibration{Kind: CalibrationNone}},
	} {
		if got := tt.f.Calibration(); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// Rows 0.2 mm apart, columns 0.25: 4 columns across is 1 mm, 5 rows down is 1 mm.
	c := Calibration{CalibrationPixelSpacing, 0.2, 0.25}
	if v, _ := Length(c, Point{0, 0}, Point{4, 0}); !near(v, 1, 1e-12) {
		t.Errorf("across %v", v)
	}
	if v, _ := Length(c, Point{0, 0}, Point{0, 5}); !near(v, 1, 1e-12) {
		t.Errorf("down %v", v)
	}
	if v, mm := Length(Calibration{Kind: CalibrationNone}, Point{0, 0}, Point{3, 4}); mm || v != 5 {
		t.Errorf("uncalibrated %v %v", v, mm)
	}
}

func TestAngle(t *testing.T) {
	sq := Calibration{CalibrationPixelSpacing, 0.5, 0.5}
	for _, tt := range []struct {
		name    string
		cal     Calibration
		a, b, c Point
		want    float64
	}{
		{"right angle", sq, Point{10, 0}, Point{0, 0}, Point{0, 10}, 90},
		{"straight", sq, Point{-1, 0}, Point{0, 0}, Point{1, 0}, 180},
		{"45°", sq, Point{1, 0}, Point{0, 0}, Point{1, 1}, 45},
		// Rows 1 mm apart, columns 0.5: (1,1) px is (0.5, 1) mm, atan(2) = 63.43°.
		{"non-square pixels", Calibration{CalibrationPixelSpacing, 1, 0.5}, Point{1, 0}, Point{0, 0}, Point{1, 1}, 63.434949},
		{"pixels only", Calibration{Kind: CalibrationNone}, Point{0, 5}, Point{0, 0}, Point{5, 5}, 45},
	} {
		if got := Angle(tt.cal, tt.a, tt.b, tt.c); !near(got, tt.want, 1e-5) {
			t.Errorf("%s: %v°, want %v°", tt.name, got, tt.want)
		}
	}
	if got := Angle(sq, Point{0, 0}, Point{0, 0}, Point{1, 1}); !math.IsNaN(got) {
		t.Errorf("degenerate angle %v", got)
	}
}

func TestOrientationMarkers(t *testing.T) {
	c30, s30 := math.Cos(math.Pi/6), math.Sin(math.Pi/6)
	for _, tt := range []struct {
		name     string
		row, col [3]float64
		want     Orientation
	}{
		// Axial, as scanners write it: rows to the patient's left, columns posterior.
		{"axial", [3]float64{1, 0, 0}, [3]float64{0, 1, 0}, Orientation{Left: "R", Right: "L", Top: "A", Bottom: "P"}},
		{"coronal", [3]float64{1, 0, 0}, [3]float64{0, 0, -1}, Orientation{Left: "R", Right: "L", Top: "H", Bottom: "F"}},
		{"sagittal", [3]float64{0, 1, 0}, [3]float64{0, 0, -1}, Orientation{Left: "A", Right: "P", Top: "H", Bottom: "F"}},
		// Rows turned 30° from left towards posterior: L strongest, then P.
		{"oblique axial", [3]float64{c30, s30, 0}, [3]float64{-s30, c30, 0}, Orientation{Left: "RA", Right: "LP", Top: "AL", Bottom: "PR"}},
		// A 5° tilt keeps single letters.
		{"slight tilt", [3]float64{math.Cos(0.0873), 0, math.Sin(0.0873)}, [3]float64{0, 1, 0}, Orientation{Left: "R", Right: "L", Top: "A", Bottom: "P"}},
	} {
		got, ok := OrientationOf(tt.row, tt.col)
		if !ok || got != tt.want {
			t.Errorf("%s: got %+v (ok %v), want %+v", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := OrientationOf([3]float64{2, 0, 0}, [3]float64{0, 1, 0}); ok {
		t.Error("a vector of length 2 was taken")
	}
	f, _ := Parse(readShared(t, "pydicom-CT_small.dcm"))
	if o, ok := f.Orientation(); !ok || o.Top != "A" || o.Bottom != "P" {
		t.Errorf("CT_small orientation %+v %v", o, ok)
	}
}

func TestCineFrameMS(t *testing.T) {
	for _, tt := range []struct {
		es   []*Element
		want float64
	}{
		{[]*Element{{Tag: TagFrameTime, VR: "DS", Value: []byte("33.3")}, {Tag: TagCineRate, VR: "IS", Value: []byte("10")}}, 33.3},
		{[]*Element{{Tag: TagCineRate, VR: "IS", Value: []byte("25")}}, 40},
		{[]*Element{{Tag: TagRecommendedDisplayFrameRate, VR: "IS", Value: []byte("20")}}, 50},
		{nil, 0},
	} {
		f, err := Parse(Encode(ExplicitVRLittleEndian, tt.es))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.CineFrameMS(); !near(got, tt.want, 1e-9) {
			t.Errorf("%v: %v ms, want %v", tt.es, got, tt.want)
		}
	}
}

// TestWithElement: a real CT given a body part keeps its pixels.
func TestWithElement(t *testing.T) {
	b := readShared(t, "tcia-5.dcm")
	out, err := WithElement(b, &Element{Tag: TagBodyPartExamined, VR: "CS", Value: []byte("HEAD")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(out)
	if err != nil || f.String(TagBodyPartExamined) != "HEAD" {
		t.Fatalf("%v %q", err, f.String(TagBodyPartExamined))
	}
	g, _ := Parse(b)
	v1, _, e1 := FrameValues(f, 1)
	v2, _, e2 := FrameValues(g, 1)
	if e1 != nil || e2 != nil || len(v1) != len(v2) || v1[1000] != v2[1000] {
		t.Errorf("frame values changed: %v %v", e1, e2)
	}
}
