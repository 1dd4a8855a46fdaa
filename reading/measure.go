package reading

import (
	"context"
	"fmt"
	"math"
	"strings"

	"countycare/care"
	"countycare/dicom"
)

// ActImagingMeasure is the audit action of a measurement on an image (the
// server reads the frame's pixel values).
const ActImagingMeasure = "reading.imaging_measure"

// Measurement kinds of the viewer's tools.
const (
	MeasureLength    = "length"
	MeasureAngle     = "angle"
	MeasureEllipse   = dicom.ROIEllipse
	MeasureRectangle = dicom.ROIRectangle
)

// measurePoints is how many points each tool takes.
var measurePoints = map[string]int{MeasureLength: 2, MeasureAngle: 3, MeasureEllipse: 2, MeasureRectangle: 2}

// MaxMeasurements bounds the measurements kept with one key image.
const MaxMeasurements = 20

// MeasureRequest is one measurement drawn on a frame: its kind and points
// in image pixels (length: the two ends; angle: the first ray's end, the
// vertex, the second ray's end; ellipse and rectangle: two corners of the
// bounding box).
type MeasureRequest struct {
	Kind   string        `json:"kind"`
	Frame  int           `json:"frame"`
	Points []dicom.Point `json:"points"`
}

// Measurement is what the server computed for a MeasureRequest, so that a
// measurement reads the same on every device. Value is the length (Unit
// "mm", or "px" without calibration) or the angle ("deg"); a region has
// ROI with its values in ValueUnit ("HU" for CT, "" for other
// modalities' stored units). Calibration names the spacing used
// (dicom.Calibration* kinds).
type Measurement struct {
	MeasureRequest
	Value       float64         `json:"value"`
	Unit        string          `json:"unit"`
	Calibration string          `json:"calibration"`
	ROI         *dicom.ROIStats `json:"roi,omitempty"`
	ValueUnit   string          `json:"value_unit,omitempty"`
}

// measureInvalid is a measurement the viewer cannot make, with the field.
func measureInvalid(key, field string, args ...any) error {
	return &care.Error{Code: care.EINVALID, Key: key, Args: args, Fields: []care.FieldError{{Field: field, Key: key}}}
}

// MeasureFile computes a measurement on a parsed file of modality. Errors
// (EINVALID): an unknown kind, the wrong number of points, a point off the
// image, a frame out of range, a region with no pixel; EUNSUPPORTED for a
// region on an image without one value per pixel (colour) or that the
// server cannot decode.
func MeasureFile(f *dicom.File, modality string, req MeasureRequest) (*Measurement, error) {
	n, ok := measurePoints[req.Kind]
	if !ok {
		return nil, measureInvalid("viewer.measure_kind", "kind")
	}
	if len(req.Points) != n {
		return nil, measureInvalid("viewer.measure_points", "points", n)
	}
	in, err := f.Info()
	if err != nil {
		return nil, &care.Error{Code: care.EUNSUPPORTED, Key: "reading.cannot_preview", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
	}
	if req.Frame < 0 || req.Frame >= max(in.Frames, 1) {
		return nil, measureInvalid("viewer.frame_invalid", "frame", max(in.Frames, 1))
	}
	for _, p := range req.Points {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || p.X < 0 || p.Y < 0 || p.X > float64(in.Columns) || p.Y > float64(in.Rows) {
			return nil, measureInvalid("viewer.measure_outside", "points")
		}
	}
	cal := f.Calibration()
	m := &Measurement{MeasureRequest: req, Calibration: cal.Kind}
	switch req.Kind {
	case MeasureLength:
		var mm bool
		m.Value, mm = dicom.Length(cal, req.Points[0], req.Points[1])
		m.Unit = "px"
		if mm {
			m.Unit = "mm"
		}
	case MeasureAngle:
		m.Value, m.Unit = dicom.Angle(cal, req.Points[0], req.Points[1], req.Points[2]), "deg"
		if math.IsNaN(m.Value) {
			return nil, measureInvalid("viewer.measure_degenerate", "points")
		}
	default:
		vals, info, err := dicom.FrameValues(f, req.Frame)
		if err != nil {
			return nil, &care.Error{Code: care.EUNSUPPORTED, Key: "viewer.measure_no_values", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
		}
		st, err := dicom.RegionStats(vals, info, cal, req.Kind, req.Points[0], req.Points[1])
		if err != nil {
			return nil, measureInvalid("viewer.measure_empty", "points")
		}
		m.ROI, m.Value, m.Unit = &st, st.Area, "mm2"
		if !st.AreaMM {
			m.Unit = "px2"
		}
		if strings.EqualFold(modality, "CT") {
			m.ValueUnit = "HU" // CT's modality LUT gives Hounsfield units (PS3.3 C.8.2.1.1.7)
		}
	}
	return m, nil
}

// Measure computes a measurement on an instance the actor may see, with an
// audit row. Errors: ENOTFOUND, EINVALID and EUNSUPPORTED as MeasureFile.
func (v *Viewer) Measure(ctx context.Context, a care.Actor, id int64, req MeasureRequest) (*Measurement, error) {
	in, res, err := v.imaging(ctx, a, id, ActImagingMeasure)
	if err != nil {
		return nil, err
	}
	var m *Measurement
	f, err := v.file(ctx, in)
	if err == nil {
		m, err = MeasureFile(f, in.Modality, req)
	}
	v.record(ctx, a, ActImagingMeasure, res, fmt.Sprintf("instance=%d frame=%d kind=%s", id, req.Frame, req.Kind), err)
	return m, err
}

// DefaultCineMS is the time between frames of a cine whose file states no
// Frame Time or rate (10 frames a second).
const DefaultCineMS = 100

// DicomDay writes a DICOM date (DA, YYYYMMDD) as YYYY-MM-DD for a page;
// anything else is returned as it is.
func DicomDay(da string) string {
	if len(da) != 8 {
		return da
	}
	for _, c := range da {
		if c < '0' || c > '9' {
			return da
		}
	}
	return da[:4] + "-" + da[4:6] + "-" + da[6:]
}
