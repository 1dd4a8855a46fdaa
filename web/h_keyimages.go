package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/dicom"
	"countycare/reading"
)

// The viewer's measurements and the key images of a reading study (issue
// 16). The browser draws; the server measures (reading.MeasureFile), so a
// length reads the same on every device, and the texts come from the
// message catalogue in the reader's language.

// measureText is a measurement as a reader sees it, in lang.
func (s *Server) measureText(lang string, m *reading.Measurement) string {
	T := func(k string, a ...any) string { return s.msgs.T(lang, k, a...) }
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	switch m.Kind {
	case reading.MeasureLength:
		if m.Unit == "mm" {
			return T("viewer.m.length_mm", f1(m.Value))
		}
		return T("viewer.m.length_px", f1(m.Value))
	case reading.MeasureAngle:
		return T("viewer.m.angle", f1(m.Value))
	}
	if m.ROI == nil {
		return ""
	}
	area := T("viewer.m.area_px", f1(m.ROI.Area))
	if m.ROI.AreaMM {
		area = T("viewer.m.area_mm", f1(m.ROI.Area))
	}
	key := "viewer.m.roi"
	if m.ValueUnit == "HU" {
		key = "viewer.m.roi_hu"
	}
	return T(key, T("viewer.tool."+m.Kind), area, f1(m.ROI.Mean), f1(m.ROI.SD), m.ROI.Pixels)
}

// calibrationText says which pixel size a measurement used.
func (s *Server) calibrationText(lang, kind string) string {
	return s.msgs.T(lang, "viewer.cal."+kind)
}

// parsePoints reads "x1,y1,x2,y2,…" (image pixels).
func parsePoints(v string, fs *[]care.FieldError) []dicom.Point {
	parts := strings.Split(v, ",")
	if v == "" || len(parts)%2 != 0 || len(parts) > 8 {
		*fs = append(*fs, care.FieldError{Field: "points", Key: "viewer.measure_points_format"})
		return nil
	}
	out := make([]dicom.Point, len(parts)/2)
	for i := range out {
		x, e1 := strconv.ParseFloat(strings.TrimSpace(parts[2*i]), 64)
		y, e2 := strconv.ParseFloat(strings.TrimSpace(parts[2*i+1]), 64)
		if e1 != nil || e2 != nil {
			*fs = append(*fs, care.FieldError{Field: "points", Key: "viewer.measure_points_format"})
			return nil
		}
		out[i] = dicom.Point{X: x, Y: y}
	}
	return out
}

// apiImagingMeasure: GET /api/v1/imaging/instances/{id}/measure?kind=K&frame=N&points=x1,y1,…
// computes a length, angle or region on the server, with its text.
func (s *Server) apiImagingMeasure(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	q := r.URL.Query()
	frame := 0
	if v := q.Get("frame"); v != "" {
		if frame, err = strconv.Atoi(v); err != nil {
			fs = append(fs, care.FieldError{Field: "frame", Key: "viewer.not_number"})
		}
	}
	req := reading.MeasureRequest{Kind: q.Get("kind"), Frame: frame, Points: parsePoints(q.Get("points"), &fs)}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	m, err := s.Viewer.Measure(r.Context(), rc.Actor, id, req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"measurement": m, "text": s.measureText(rc.Lang, m), "calibration_text": s.calibrationText(rc.Lang, m.Calibration)})
	return nil
}

// keyImageDraftFrom reads the key image form: instance_id, frame, center
// and width (both or neither), note, and measurements as the JSON list the
// viewer keeps ([{kind, points:[{x,y}…]}…]).
func keyImageDraftFrom(r *http.Request) (reading.KeyImageDraft, error) {
	var fs []care.FieldError
	d := reading.KeyImageDraft{Note: r.PostFormValue("note")}
	d.InstanceID = formInt(r.PostFormValue("instance_id"), "instance_id", &fs)
	d.Frame = int(formInt(r.PostFormValue("frame"), "frame", &fs))
	if c, wd := strings.TrimSpace(r.PostFormValue("center")), strings.TrimSpace(r.PostFormValue("width")); c != "" || wd != "" {
		cv, e1 := strconv.ParseFloat(c, 64)
		wv, e2 := strconv.ParseFloat(wd, 64)
		if e1 != nil || e2 != nil {
			fs = append(fs, care.FieldError{Field: "window", Key: "viewer.window_invalid"})
		}
		d.Window = &dicom.Window{Center: cv, Width: wv}
	}
	if v := strings.TrimSpace(r.PostFormValue("measurements")); v != "" {
		if len(v) > 16<<10 || json.Unmarshal([]byte(v), &d.Measurements) != nil {
			fs = append(fs, care.FieldError{Field: "measurements", Key: "viewer.measure_points_format"})
		}
	}
	return d, care.Invalid(fs)
}

// saveKeyImage stores the key image posted from the study page.
func (s *Server) saveKeyImage(r *http.Request, rc *reqCtx, id int64) error {
	d, err := keyImageDraftFrom(r)
	if err != nil {
		return err
	}
	_, err = s.KeyImages.Save(r.Context(), rc.Actor, id, d)
	return err
}

// keyImageView is a key image on the study page and in its report: the
// frame's URL with its window, the drawing's size and marks (SVG over the
// image, in image pixels) and each measurement's text.
type keyImageView struct {
	reading.KeyImage
	Src         string
	Cols, Rows  int
	Texts       []string
	Calibration string
	Lines       [][4]float64 // x1 y1 x2 y2 (lengths and angles' rays)
	Ellipses    [][4]float64 // cx cy rx ry
	Rects       [][4]float64 // x y w h
}

// keyImageViews lists a study's key images for the page (nil when the
// actor may not see them or there are none).
func (s *Server) keyImageViews(ctx context.Context, rc *reqCtx, st *reading.Study) []keyImageView {
	if s.KeyImages == nil || st.Kind != reading.KindImaging {
		return nil
	}
	kis, err := s.KeyImages.List(ctx, rc.Actor, st.ID)
	if err != nil {
		return nil
	}
	out := make([]keyImageView, 0, len(kis))
	for _, k := range kis {
		v := keyImageView{KeyImage: k, Src: fmt.Sprintf("/api/v1/imaging/instances/%d/frames/%d", k.InstanceID, k.Frame)}
		if k.Window != nil {
			v.Src += fmt.Sprintf("?center=%.1f&width=%.1f", k.Window.Center, k.Window.Width)
		}
		if in, err := s.Viewer.Repo.ImagingInstance(ctx, st.County, k.InstanceID); err == nil {
			v.Cols, v.Rows = in.Columns, in.Rows
		}
		for i := range k.Measurements {
			m := &k.Measurements[i]
			v.Texts = append(v.Texts, s.measureText(rc.Lang, m))
			v.Calibration = s.calibrationText(rc.Lang, m.Calibration)
			p := m.Points
			switch m.Kind {
			case reading.MeasureLength:
				v.Lines = append(v.Lines, [4]float64{p[0].X, p[0].Y, p[1].X, p[1].Y})
			case reading.MeasureAngle:
				v.Lines = append(v.Lines, [4]float64{p[1].X, p[1].Y, p[0].X, p[0].Y}, [4]float64{p[1].X, p[1].Y, p[2].X, p[2].Y})
			case reading.MeasureEllipse:
				v.Ellipses = append(v.Ellipses, [4]float64{(p[0].X + p[1].X) / 2, (p[0].Y + p[1].Y) / 2, abs(p[1].X-p[0].X) / 2, abs(p[1].Y-p[0].Y) / 2})
			case reading.MeasureRectangle:
				v.Rects = append(v.Rects, [4]float64{min(p[0].X, p[1].X), min(p[0].Y, p[1].Y), abs(p[1].X - p[0].X), abs(p[1].Y - p[0].Y)})
			}
		}
		out = append(out, v)
	}
	return out
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
