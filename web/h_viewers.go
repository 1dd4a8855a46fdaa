package web

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/dicom"
	"countycare/reading"
	"countycare/resident"
)

// The browser viewers (issue #5): an ECG on a calibrated grid and DICOM
// images with window/level. Pages are shells; their scripts
// (static/ecgview.js, static/imgview.js) read the JSON and PNG endpoints
// below. Every endpoint goes through reading.Viewer, which checks the
// resident's scope and writes the audit row.

// ecgViewerPage: GET /ecg/studies/{id}.
func (s *Server) ecgViewerPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.Viewer.ECG(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "ecg_viewer", pageData{Title: s.msgs.T(rc.Lang, "viewer.ecg_title"), Data: v})
	return nil
}

// imagingViewerPage: GET /imaging/instances/{id}.
func (s *Server) imagingViewerPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.Viewer.Imaging(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "image_viewer", pageData{Title: s.msgs.T(rc.Lang, "viewer.image_title"), Data: v})
	return nil
}

// studiesView is a resident's list of studies.
type studiesView struct {
	R       *resident.Resident
	ECG     []reading.ECGStudy
	Imaging []reading.ImagingInstance
}

// residentStudiesPage: GET /residents/{id}/studies.
func (s *Server) residentStudiesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, ecgs, imgs, err := s.Viewer.Studies(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "resident_studies", pageData{Title: s.msgs.T(rc.Lang, "viewer.studies_title"), Data: studiesView{R: res, ECG: ecgs, Imaging: imgs}})
	return nil
}

func apiECGStudy(st *reading.ECGStudy) map[string]any {
	return map[string]any{"id": st.ID, "resident_id": st.ResidentID, "clinic_id": st.ClinicID, "center_id": st.CenterID, "format": st.Format,
		"fs": st.Fs, "leads": st.Leads, "seconds": math.Round(st.Seconds*100) / 100, "status": st.Status, "uploaded_at": st.UploadedAt,
		"preread": apiPreRead(st.PreRead)}
}

func apiImagingInstance(in *reading.ImagingInstance) map[string]any {
	return map[string]any{"id": in.ID, "resident_id": in.ResidentID, "study_uid": in.StudyUID, "series_uid": in.SeriesUID, "sop_uid": in.SOPUID,
		"modality": in.Modality, "study_date": in.StudyDate, "rows": in.Rows, "columns": in.Columns, "frames": in.Frames,
		"no_preview": in.NoPreview, "status": in.Status, "uploaded_at": in.UploadedAt}
}

// apiECGViewer: GET /api/v1/ecg/studies/{id}, the study and its leads.
func (s *Server) apiECGViewer(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.Viewer.ECG(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := apiECGStudy(v.Study)
	out["lead_names"], out["lead_units"] = v.Leads, v.Units
	if v.Intervals != nil {
		out["measurements"] = apiIntervals(v.Intervals)
	}
	if in := v.Info; in != nil {
		// The machine's own interpretation, as the file gives it.
		ms := make([]map[string]any, len(in.Measurements))
		for i, m := range in.Measurements {
			ms[i] = map[string]any{"code": m.Code, "kind": m.Kind, "value": m.Value, "unit": m.Unit}
		}
		out["machine"] = map[string]any{"statements": nonNil(in.Statements), "measurements": ms}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryFloat parses an optional number; a malformed one is a field error.
func queryFloat(r *http.Request, name string, def float64, fs *[]care.FieldError) float64 {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		*fs = append(*fs, care.FieldError{Field: name, Key: "viewer.not_number"})
	}
	return f
}

// apiECGSamples: GET /api/v1/ecg/studies/{id}/samples?start=S&seconds=N.
// The samples are ADC units per lead with gain (units per mV) and
// baseline, so the body stays integers; beats are sample indices from
// the start of the record at beats_fs.
func (s *Server) apiECGSamples(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	start := queryFloat(r, "start", 0, &fs)
	seconds := queryFloat(r, "seconds", 10, &fs)
	if err := care.Invalid(fs); err != nil {
		return err
	}
	seg, err := s.Viewer.ECGSamples(r.Context(), rc.Actor, id, start, seconds)
	if err != nil {
		return err
	}
	leads := make([]map[string]any, len(seg.Leads))
	for i, l := range seg.Leads {
		leads[i] = map[string]any{"name": l.Name, "units": l.Units, "gain": l.Gain, "baseline": l.Baseline, "fs": l.Fs, "samples": l.Samples}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"fs": seg.Fs, "start": seg.Start, "frames": seg.Frames, "beats_fs": seg.BeatsFs, "beats": seg.Beats, "leads": leads})
	return nil
}

// apiImagingViewer: GET /api/v1/imaging/instances/{id}: the instance, its
// study, the previous study of the modality and the window controls.
func (s *Server) apiImagingViewer(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.Viewer.Imaging(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := apiImagingInstance(v.Instance)
	study := make([]map[string]any, len(v.Study))
	for i := range v.Study {
		study[i] = apiImagingInstance(&v.Study[i])
	}
	out["study"] = study
	if v.Previous != nil {
		out["previous"] = apiImagingInstance(v.Previous)
	}
	out["greyscale"], out["photometric"] = v.Greyscale, v.Info.Photometric
	out["rescale_slope"], out["rescale_intercept"] = v.Info.Slope, v.Info.Intercept
	if v.Info.Window != nil {
		out["window"] = map[string]float64{"center": v.Info.Window.Center, "width": v.Info.Window.Width}
	}
	presets := make([]map[string]any, len(v.Presets))
	for i, p := range v.Presets {
		presets[i] = map[string]any{"name": p.Name, "center": p.Center, "width": p.Width}
	}
	out["presets"] = presets
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiImagingFrame: GET /api/v1/imaging/instances/{id}/frames/{frame}?center=C&width=W,
// one frame as PNG, windowed (rescale slope/intercept applied first)
// with C/W, else the file's window, else the frame's range.
func (s *Server) apiImagingFrame(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	frame, ferr := strconv.Atoi(r.PathValue("frame"))
	if ferr != nil {
		fs = append(fs, care.FieldError{Field: "frame", Key: "viewer.not_number"})
	}
	var win *dicom.Window
	if r.URL.Query().Has("center") || r.URL.Query().Has("width") {
		win = &dicom.Window{Center: queryFloat(r, "center", 0, &fs), Width: queryFloat(r, "width", 0, &fs)}
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	img, err := s.Viewer.ImagingFrame(r.Context(), rc.Actor, id, frame, win)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := dicom.EncodePNG(&buf, img); err != nil {
		return care.Internal("web.apiImagingFrame", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}

// apiResidentStudies: GET /api/v1/residents/{id}/studies.
func (s *Server) apiResidentStudies(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, ecgs, imgs, err := s.Viewer.Studies(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	e := make([]map[string]any, len(ecgs))
	for i := range ecgs {
		e[i] = apiECGStudy(&ecgs[i])
	}
	im := make([]map[string]any, len(imgs))
	for i := range imgs {
		im[i] = apiImagingInstance(&imgs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"ecg": e, "imaging": im})
	return nil
}
