package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Tags the measurement tools and overlays read.
const (
	TagImagerPixelSpacing          Tag = 0x00181164
	TagImageOrientationPatient     Tag = 0x00200037
	TagFrameTime                   Tag = 0x00181063
	TagCineRate                    Tag = 0x00180040
	TagRecommendedDisplayFrameRate Tag = 0x00082144
	TagSharedFunctionalGroups      Tag = 0x52009229
	TagPixelMeasuresSequence       Tag = 0x00289110
	TagPlaneOrientationSequence    Tag = 0x00209116
)

// Calibration kinds: how a distance in pixels becomes millimetres.
const (
	CalibrationPixelSpacing       = "pixel_spacing"        // Pixel Spacing (0028,0030): in the patient
	CalibrationImagerPixelSpacing = "imager_pixel_spacing" // Imager Pixel Spacing (0018,1164): at the detector, not corrected for magnification
	CalibrationNone               = "none"                 // no spacing: pixels only
)

// Calibration is the size of a pixel: RowMM is the spacing between rows
// (vertical), ColMM between columns (horizontal), the order of Pixel
// Spacing's two values (PS3.3 C.7.6.2.1.1). Kind none has both 0.
type Calibration struct {
	Kind         string
	RowMM, ColMM float64
}

// Calibrated reports whether distances can be given in millimetres.
func (c Calibration) Calibrated() bool { return c.Kind != CalibrationNone }

// Calibration returns the pixel size a measurement uses: Pixel Spacing
// (top level, else in the shared functional groups' Pixel Measures of an
// enhanced multi-frame image), else Imager Pixel Spacing, else none. A
// spacing that is not two positive finite numbers is ignored, as if absent.
func (ds *Dataset) Calibration() Calibration {
	pair := func(d *Dataset, t Tag) (float64, float64, bool) {
		v := d.Floats(t)
		if len(v) != 2 || !(v[0] > 0) || !(v[1] > 0) || v[0] > 1e4 || v[1] > 1e4 {
			return 0, 0, false
		}
		return v[0], v[1], true
	}
	if r, c, ok := pair(ds, TagPixelSpacing); ok {
		return Calibration{CalibrationPixelSpacing, r, c}
	}
	for _, g := range ds.Items(TagSharedFunctionalGroups) {
		for _, m := range g.Items(TagPixelMeasuresSequence) {
			if r, c, ok := pair(m, TagPixelSpacing); ok {
				return Calibration{CalibrationPixelSpacing, r, c}
			}
		}
	}
	if r, c, ok := pair(ds, TagImagerPixelSpacing); ok {
		return Calibration{CalibrationImagerPixelSpacing, r, c}
	}
	return Calibration{Kind: CalibrationNone}
}

// Point is a position on the image in pixels: X along a row (columns), Y
// down the columns (rows); pixel (c, r) covers [c, c+1) × [r, r+1).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Length is the distance between a and b: in millimetres with the
// calibration's spacing, else in pixels (mm false).
func Length(c Calibration, a, b Point) (v float64, mm bool) {
	dx, dy := b.X-a.X, b.Y-a.Y
	if !c.Calibrated() {
		return math.Hypot(dx, dy), false
	}
	return math.Hypot(dx*c.ColMM, dy*c.RowMM), true
}

// Angle is the angle at vertex b between the rays to a and c, in degrees
// (0–180), measured in the patient's plane (pixel sides scaled by the
// spacing, so a non-square pixel does not bend it). It is NaN when a or c
// is at the vertex.
func Angle(cal Calibration, a, b, c Point) float64 {
	sx, sy := 1.0, 1.0
	if cal.Calibrated() {
		sx, sy = cal.ColMM, cal.RowMM
	}
	ux, uy := (a.X-b.X)*sx, (a.Y-b.Y)*sy
	vx, vy := (c.X-b.X)*sx, (c.Y-b.Y)*sy
	nu, nv := math.Hypot(ux, uy), math.Hypot(vx, vy)
	if nu == 0 || nv == 0 {
		return math.NaN()
	}
	cos := (ux*vx + uy*vy) / (nu * nv)
	return math.Acos(math.Max(-1, math.Min(1, cos))) * 180 / math.Pi
}

// ROI shapes.
const (
	ROIEllipse   = "ellipse"
	ROIRectangle = "rectangle"
)

// ROIStats are the statistics of the pixels inside a region: their mean
// and population standard deviation in modality units (Hounsfield units
// for CT, after Rescale Slope and Intercept), the smallest and largest,
// the pixels counted, and the region's geometric area (mm² when
// calibrated, else pixels²).
type ROIStats struct {
	Pixels  int     `json:"pixels"`
	Mean    float64 `json:"mean"`
	SD      float64 `json:"sd"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Area    float64 `json:"area"`
	AreaMM  bool    `json:"area_mm"`
	WidthX  float64 `json:"width"` // the bounding box in mm (or pixels)
	HeightY float64 `json:"height"`
}

// RegionStats measures the region of shape (ROIEllipse or ROIRectangle)
// whose bounding box has corners a and b, over one frame's modality values
// (FrameValues). A pixel counts when its centre (c+½, r+½) is inside; the
// box is clipped to the image. Errors: an unknown shape, a box with no
// pixel centre inside.
func RegionStats(vals []float64, in ImageInfo, cal Calibration, shape string, a, b Point) (ROIStats, error) {
	var st ROIStats
	if shape != ROIEllipse && shape != ROIRectangle {
		return st, fmt.Errorf("dicom: unknown region shape %q", shape)
	}
	x0, x1 := math.Min(a.X, b.X), math.Max(a.X, b.X)
	y0, y1 := math.Min(a.Y, b.Y), math.Max(a.Y, b.Y)
	cx, cy, rx, ry := (x0+x1)/2, (y0+y1)/2, (x1-x0)/2, (y1-y0)/2
	c0, c1 := max(0, int(math.Floor(x0))), min(in.Columns-1, int(math.Ceil(x1)))
	r0, r1 := max(0, int(math.Floor(y0))), min(in.Rows-1, int(math.Ceil(y1)))
	var sum, sum2 float64
	st.Min, st.Max = math.Inf(1), math.Inf(-1)
	for r := r0; r <= r1; r++ {
		py := float64(r) + 0.5
		if py < y0 || py > y1 {
			continue
		}
		for c := c0; c <= c1; c++ {
			px := float64(c) + 0.5
			if px < x0 || px > x1 {
				continue
			}
			if shape == ROIEllipse {
				if rx == 0 || ry == 0 {
					continue
				}
				dx, dy := (px-cx)/rx, (py-cy)/ry
				if dx*dx+dy*dy > 1 {
					continue
				}
			}
			v := vals[r*in.Columns+c]
			st.Pixels++
			sum += v
			sum2 += v * v
			st.Min, st.Max = math.Min(st.Min, v), math.Max(st.Max, v)
		}
	}
	if st.Pixels == 0 {
		return ROIStats{}, fmt.Errorf("dicom: the region holds no pixel")
	}
	n := float64(st.Pixels)
	st.Mean = sum / n
	st.SD = math.Sqrt(math.Max(0, sum2/n-st.Mean*st.Mean))
	w, h := x1-x0, y1-y0
	if cal.Calibrated() {
		w, h, st.AreaMM = w*cal.ColMM, h*cal.RowMM, true
	}
	st.WidthX, st.HeightY = w, h
	st.Area = w * h
	if shape == ROIEllipse {
		st.Area = math.Pi * w * h / 4
	}
	return st, nil
}

// FrameValues returns one frame of a greyscale image as modality values
// (stored value masked to Bits Stored at High Bit, sign-extended, then
// Rescale Slope and Intercept: PS3.3 C.7.6.3.1, C.11.1), row by row, with
// the pixel module. Native and every decoded compressed syntax are read;
// colour images and frames the server cannot decode are errors.
func FrameValues(f *File, frame int) ([]float64, ImageInfo, error) {
	in, err := f.Info()
	if err != nil {
		return nil, in, err
	}
	pd := f.Get(TagPixelData)
	if pd == nil || in.Rows == 0 || in.Columns == 0 {
		return nil, in, &CannotPreviewError{f.TransferSyntax, "the dataset has no pixel data"}
	}
	if in.SamplesPerPixel != 1 || (in.Photometric != "MONOCHROME1" && in.Photometric != "MONOCHROME2") {
		return nil, in, &FormatError{Msg: fmt.Sprintf("%s images have no single value per pixel to measure", in.Photometric)}
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, in, &CannotPreviewError{f.TransferSyntax, fmt.Sprintf("%d bits allocated (8 and 16 are measured)", in.BitsAllocated)}
	}
	if frame < 0 || frame >= in.Frames {
		return nil, in, fmt.Errorf("dicom: frame %d out of range (the file has %d)", frame, in.Frames)
	}
	n := in.Rows * in.Columns
	bpp := in.BitsAllocated / 8
	var px []byte
	big := false
	if pd.Fragments != nil || pd.Undefined {
		if !compressedDecoded(f.TransferSyntax) {
			return nil, in, &CannotPreviewError{f.TransferSyntax, "this compressed pixel encoding is not decoded in the server"}
		}
		if len(pd.Fragments) < 2 {
			return nil, in, &FormatError{Msg: "encapsulated pixel data has no fragments"}
		}
		b, err := frameFragments(pd, in.Frames, frame)
		if err != nil {
			return nil, in, err
		}
		if px, err = decodeFrame(f.TransferSyntax, b, in); err != nil {
			return nil, in, err
		}
	} else {
		if !Uncompressed(f.TransferSyntax) {
			return nil, in, &CannotPreviewError{f.TransferSyntax, "native pixel data under a compressed transfer syntax"}
		}
		size := n * bpp
		if len(pd.Value) < (frame+1)*size {
			return nil, in, &FormatError{Msg: fmt.Sprintf("pixel data holds %d bytes, frame %d needs %d", len(pd.Value), frame, (frame+1)*size), Kind: ErrTruncated}
		}
		px, big = pd.Value[frame*size:(frame+1)*size], f.BigEndian && bpp == 2
	}
	if len(px) < n*bpp {
		return nil, in, &FormatError{Msg: fmt.Sprintf("decoded frame holds %d bytes, %d needed", len(px), n*bpp), Kind: ErrTruncated}
	}
	stored := storedValue(in)
	out := make([]float64, n)
	for i := range out {
		var raw uint32
		switch {
		case bpp == 1:
			raw = uint32(px[i])
		case big:
			raw = uint32(binary.BigEndian.Uint16(px[2*i:]))
		default:
			raw = uint32(binary.LittleEndian.Uint16(px[2*i:]))
		}
		out[i] = float64(stored(raw))*in.Slope + in.Intercept
	}
	return out, in, nil
}

// Orientation are the letters on the four sides of an image, from Image
// Orientation (Patient) (0020,0037): the patient directions the rows and
// columns run towards, in the patient-based coordinate system of PS3.3
// C.7.6.2.1.1 (x to the patient's left, y posterior, z head). Each side
// names up to three directions, the strongest first; a direction counts
// when its cosine is at least ObliqueCosine, so a slightly tilted slice
// keeps its single letter and an oblique one shows two or three (as
// OHIF's orientation markers do). Empty when the file has no orientation.
type Orientation struct {
	Left, Right, Top, Bottom string
}

// ObliqueCosine is the smallest direction cosine named on a side (about
// 15° off the axis).
const ObliqueCosine = 0.25

// Orientation reads Image Orientation (Patient), top level or in the shared
// functional groups; ok is false when absent or not two unit vectors.
func (ds *Dataset) Orientation() (Orientation, bool) {
	v := ds.Floats(TagImageOrientationPatient)
	if len(v) != 6 {
		for _, g := range ds.Items(TagSharedFunctionalGroups) {
			for _, m := range g.Items(TagPlaneOrientationSequence) {
				if w := m.Floats(TagImageOrientationPatient); len(w) == 6 {
					v = w
				}
			}
		}
	}
	if len(v) != 6 {
		return Orientation{}, false
	}
	return OrientationOf([3]float64{v[0], v[1], v[2]}, [3]float64{v[3], v[4], v[5]})
}

// OrientationOf gives the side letters of an image whose rows run along
// row (the direction of increasing column) and whose columns run along
// col (increasing row). ok is false for a vector that is not about unit
// length.
func OrientationOf(row, col [3]float64) (Orientation, bool) {
	for _, v := range [][3]float64{row, col} {
		if n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2]); math.IsNaN(n) || math.Abs(n-1) > 0.05 {
			return Orientation{}, false
		}
	}
	neg := func(v [3]float64) [3]float64 { return [3]float64{-v[0], -v[1], -v[2]} }
	return Orientation{Right: directions(row), Left: directions(neg(row)), Bottom: directions(col), Top: directions(neg(col))}, true
}

// directions names the patient directions of v, strongest first: L/R
// (x), P/A (y), H/F (z).
func directions(v [3]float64) string {
	type d struct {
		letter string
		mag    float64
	}
	ds := make([]d, 0, 3)
	for i, pair := range [3][2]string{{"L", "R"}, {"P", "A"}, {"H", "F"}} {
		l := pair[0]
		if v[i] < 0 {
			l = pair[1]
		}
		if math.Abs(v[i]) >= ObliqueCosine {
			ds = append(ds, d{l, math.Abs(v[i])})
		}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].mag > ds[j].mag })
	var b strings.Builder
	for _, x := range ds {
		b.WriteString(x.letter)
	}
	return b.String()
}

// CineFrameMS is the time between frames of a multi-frame image for cine
// play: Frame Time (0018,1063) in ms, else 1000 / Cine Rate (0018,0040),
// else 1000 / Recommended Display Frame Rate (0008,2144); 0 when none says.
func (ds *Dataset) CineFrameMS() float64 {
	if t, ok := ds.Float(TagFrameTime); ok && t > 0 && t < 1e5 {
		return t
	}
	for _, tag := range []Tag{TagCineRate, TagRecommendedDisplayFrameRate} {
		if r, ok := ds.Float(tag); ok && r > 0 && r < 1e4 {
			return 1000 / r
		}
	}
	return 0
}
