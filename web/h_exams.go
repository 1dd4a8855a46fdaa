package web

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
)

// examsView is a resident's photos and fetal traces with the upload forms.
type examsView struct {
	R       *resident.Resident
	Photos  []reading.PhotoStudy
	Traces  []reading.FetalStudy
	Centers []*org.Institution
	Photo   *reading.PhotoStudy // after an upload
	Trace   *reading.FetalStudy
}

func (s *Server) examsData(r *http.Request, rc *reqCtx) (*examsView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, ps, fs, err := s.Exams.Exams(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &examsView{R: res, Photos: ps, Traces: fs}
	for _, in := range t.OfKind(0, org.KindDiagnosis) {
		if in.CountyCode == res.CountyCode {
			v.Centers = append(v.Centers, in)
		}
	}
	sort.SliceStable(v.Centers, func(i, j int) bool { return v.Centers[i].Name < v.Centers[j].Name })
	return v, nil
}

func (s *Server) examsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.examsData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "exams", pageData{Title: s.msgs.T(rc.Lang, "exam.title"), Data: v})
	return nil
}

// formFile reads an uploaded file of at most limit bytes (one more is read
// so the service can refuse it as too large).
func formFile(r *http.Request, field string, limit int64) (string, []byte, error) {
	f, h, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return "", nil, care.Invalid([]care.FieldError{{Field: field, Key: "field.required"}})
	}
	if err != nil {
		return "", nil, care.Invalid([]care.FieldError{{Field: field, Key: "ecg.file_unreadable"}})
	}
	defer f.Close()
	b, err := readUpload(f, h.Size, limit)
	if err != nil {
		return "", nil, care.Invalid([]care.FieldError{{Field: field, Key: "ecg.file_unreadable"}})
	}
	return h.Filename, b, nil
}

func (s *Server) photoSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.examsData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "exam.title"), Data: v}
	name, b, err := formFile(r, "file", reading.MaxPhotoBytes)
	if err == nil {
		var fs []care.FieldError
		center := formInt(r.FormValue("center_id"), "center_id", &fs)
		if err = care.Invalid(fs); err == nil {
			v.Photo, err = s.Exams.UploadPhoto(r.Context(), rc.Actor, v.R.ID, reading.PhotoUpload{CenterID: center, Kind: r.FormValue("kind"),
				Device: r.FormValue("device"), Name: name, File: b})
		}
	}
	if err != nil {
		return s.formError(w, r, rc, "exams", d, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/residents/%d/exams?ok=photo_sent", v.R.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) fetalSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.examsData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "exam.title"), Data: v}
	name, b, err := formFile(r, "file", reading.MaxFetalBytes)
	if err == nil {
		var fs []care.FieldError
		center := formInt(r.FormValue("center_id"), "center_id", &fs)
		if err = care.Invalid(fs); err == nil {
			v.Trace, err = s.Exams.UploadFetal(r.Context(), rc.Actor, v.R.ID, reading.FetalUpload{CenterID: center, Device: r.FormValue("device"), Name: name, CSV: b})
		}
	}
	if err != nil {
		return s.formError(w, r, rc, "exams", d, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/fetal/%d", v.Trace.ID), http.StatusSeeOther)
	return nil
}

// photoFile is GET /photos/{id}: the stored photo (without metadata).
func (s *Server) photoFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.Exams.Photo(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Length", strconv.Itoa(len(p.File)))
	w.Write(p.File)
	return nil
}

// CTG paper: 1 cm/min across; FHR 50–210 bpm at 20 bpm/cm (FIGO 2015
// recommends 1 cm/min and a 20 bpm/cm FHR scale), UC 0–100 at 25/cm.
const (
	ctgCM     = 30 // pixels per centimetre of paper
	ctgLeft   = 34
	ctgFHRTop = 10
	ctgFHRMin = 50
	ctgFHRMax = 210
	ctgUCMax  = 100
)

type ctgLine struct {
	X1, Y1, X2, Y2 int
	Major          bool
	Label          string
}

type ctgRect struct{ X, Y, W, H int }

// ctgView is the drawn trace.
type ctgView struct {
	W, H          int
	FHRTop, FHRH  int
	UCTop, UCH    int
	Band          ctgRect // 110–160 bpm
	Grid          []ctgLine
	FHR, UC       []string // polyline point lists (a gap in the signal starts a new one)
	Decels, Accel []ctgRect
}

func ctgY(bpm float64) float64 {
	return ctgFHRTop + (ctgFHRMax-bpm)*ctgCM/20
}

func drawCTG(tr *reading.FetalTrace, eps []reading.Episode) ctgView {
	mins := int(math.Ceil(tr.Seconds() / 60))
	fhrH := (ctgFHRMax - ctgFHRMin) * ctgCM / 20
	ucTop := ctgFHRTop + fhrH + 24
	ucH := ctgUCMax * ctgCM / 25
	v := ctgView{W: ctgLeft + mins*ctgCM + 10, FHRTop: ctgFHRTop, FHRH: fhrH, UCTop: ucTop, UCH: ucH, H: ucTop + ucH + 20}
	right := ctgLeft + mins*ctgCM
	v.Band = ctgRect{X: ctgLeft, Y: int(ctgY(160)), W: mins * ctgCM, H: int(ctgY(110) - ctgY(160))}
	for bpm := ctgFHRMin; bpm <= ctgFHRMax; bpm += 10 {
		l := ctgLine{X1: ctgLeft, X2: right, Y1: int(ctgY(float64(bpm))), Y2: int(ctgY(float64(bpm))), Major: bpm%30 == 0}
		if l.Major {
			l.Label = strconv.Itoa(bpm)
		}
		v.Grid = append(v.Grid, l)
	}
	for u := 0; u <= ctgUCMax; u += 25 {
		y := ucTop + ucH - u*ucH/ctgUCMax
		v.Grid = append(v.Grid, ctgLine{X1: ctgLeft, X2: right, Y1: y, Y2: y, Major: u%50 == 0, Label: strconv.Itoa(u)})
	}
	for m := 0; m <= mins; m++ {
		x := ctgLeft + m*ctgCM
		l := ctgLine{X1: x, X2: x, Y1: ctgFHRTop, Y2: ucTop + ucH, Major: m%10 == 0}
		if l.Major {
			l.Label = strconv.Itoa(m) + "′"
		}
		v.Grid = append(v.Grid, l)
	}
	v.FHR = polylines(tr.FHR, func(i int, x float64) (float64, float64) {
		return ctgLeft + float64(i)*ctgCM/60, ctgY(math.Max(ctgFHRMin, math.Min(ctgFHRMax, x)))
	})
	if tr.UC != nil {
		v.UC = polylines(tr.UC, func(i int, x float64) (float64, float64) {
			return ctgLeft + float64(i)*ctgCM/60, float64(ucTop+ucH) - math.Min(x, ctgUCMax)*float64(ucH)/ctgUCMax
		})
	}
	for _, e := range eps {
		r := ctgRect{X: ctgLeft + e.Start*ctgCM/60, Y: ctgFHRTop, W: max(e.Seconds*ctgCM/60, 1), H: fhrH}
		if e.Decel {
			v.Decels = append(v.Decels, r)
		} else {
			v.Accel = append(v.Accel, r)
		}
	}
	return v
}

// polylines turns a per-second series into point lists, split at NaN.
func polylines(xs []float64, at func(i int, x float64) (float64, float64)) []string {
	var out []string
	var b strings.Builder
	for i, x := range xs {
		if math.IsNaN(x) {
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
			continue
		}
		px, py := at(i, x)
		fmt.Fprintf(&b, "%.1f,%.1f ", px, py)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// fetalPage is GET /fetal/{id}: the trace on CTG paper with its flags.
func (s *Server) fetalPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, tr, an, eps, err := s.Exams.Fetal(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "fetal", pageData{Title: s.msgs.T(rc.Lang, "fetal.title"), Data: map[string]any{
		"S": st, "A": an, "C": drawCTG(tr, eps), "Minutes": fmt.Sprintf("%.1f", tr.Seconds()/60), "Signal": fmt.Sprintf("%.0f", tr.Signal*100),
		"Longest": fmt.Sprintf("%.1f", an.LongestDecel/60)}})
	return nil
}

// apiFetalStudy is the JSON form of a trace.
func apiFetalStudy(f *reading.FetalStudy) map[string]any {
	flags := make([]string, len(f.Flags))
	for i, x := range f.Flags {
		flags[i] = string(x)
	}
	return map[string]any{"id": f.ID, "resident_id": f.ResidentID, "clinic_id": f.ClinicID, "ordered_by": f.OrderedBy, "center_id": f.CenterID,
		"device": f.Device, "file_name": f.FileName, "seconds": f.Seconds, "baseline_bpm": f.Baseline, "variability_bpm": f.Variability,
		"flags": flags, "priority": f.Priority, "status": f.Status, "uploaded_at": f.UploadedAt, "alert_id": f.AlertID}
}

func apiPhotoStudy(p *reading.PhotoStudy) map[string]any {
	return map[string]any{"id": p.ID, "resident_id": p.ResidentID, "clinic_id": p.ClinicID, "ordered_by": p.OrderedBy, "center_id": p.CenterID,
		"kind": p.Kind, "device": p.Device, "file_name": p.FileName, "content_type": p.ContentType, "width": p.Width, "height": p.Height,
		"size": p.Size, "sha256": p.SHA256, "status": p.Status, "uploaded_at": p.UploadedAt, "url": fmt.Sprintf("/photos/%d", p.ID)}
}

// apiPhotoUpload: POST /api/v1/residents/{id}/photos with {"center_id",
// "kind" (fundus|skin), "device", "name", "file" (base64)}.
func (s *Server) apiPhotoUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		CenterID int64  `json:"center_id"`
		Kind     string `json:"kind"`
		Device   string `json:"device"`
		Name     string `json:"name"`
		File     []byte `json:"file"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Exams.UploadPhoto(r.Context(), rc.Actor, id, reading.PhotoUpload{CenterID: in.CenterID, Kind: in.Kind, Device: in.Device, Name: in.Name, File: in.File})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiPhotoStudy(p))
	return nil
}

// apiFetalUpload: POST /api/v1/residents/{id}/fetal with {"center_id",
// "device", "name", "csv" (base64)}.
func (s *Server) apiFetalUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		CenterID int64  `json:"center_id"`
		Device   string `json:"device"`
		Name     string `json:"name"`
		CSV      []byte `json:"csv"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	f, err := s.Exams.UploadFetal(r.Context(), rc.Actor, id, reading.FetalUpload{CenterID: in.CenterID, Device: in.Device, Name: in.Name, CSV: in.CSV})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiFetalStudy(f))
	return nil
}

// apiExams: GET /api/v1/residents/{id}/exams: photos and traces.
func (s *Server) apiExams(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, ps, fs, err := s.Exams.Exams(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	photos, traces := make([]map[string]any, len(ps)), make([]map[string]any, len(fs))
	for i := range ps {
		photos[i] = apiPhotoStudy(&ps[i])
	}
	for i := range fs {
		traces[i] = apiFetalStudy(&fs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"photos": photos, "fetal_traces": traces})
	return nil
}

// apiFetal: GET /api/v1/fetal/{id}: the trace, its analysis and the FHR
// per second (null for signal loss).
func (s *Server) apiFetal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, tr, an, eps, err := s.Exams.Fetal(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	fhr := make([]*float64, len(tr.FHR))
	for i := range tr.FHR {
		if !math.IsNaN(tr.FHR[i]) {
			v := math.Round(tr.FHR[i]*10) / 10
			fhr[i] = &v
		}
	}
	out := apiFetalStudy(st)
	out["analysis"] = map[string]any{"class": an.Class, "baseline_bpm": an.Baseline, "variability_bpm": an.Variability,
		"accelerations": an.Accelerations, "decelerations": an.Decelerations, "longest_deceleration_seconds": an.LongestDecel,
		"flags": an.Flags, "episodes": eps, "signal": tr.Signal}
	out["fhr"] = fhr
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readUpload reads an uploaded file whose size the multipart header gave
// into one buffer of that size (at most limit+1 bytes, so that the service
// can refuse a larger file as too large): io.ReadAll would grow a buffer
// by doubling and copying, holding up to twice the file at once.
func readUpload(f io.Reader, size, limit int64) ([]byte, error) {
	b := make([]byte, max(0, min(size, limit+1)))
	n, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil // shorter than announced: what there is
	}
	return b[:n], err
}
