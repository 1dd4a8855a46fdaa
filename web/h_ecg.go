package web

import (
	"errors"
	"math"
	"net/http"
	"sort"

	"countycare/care"
	"countycare/ecg"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
)

// ecgUploadView is the ECG upload page of a resident.
type ecgUploadView struct {
	R       *resident.Resident
	Centers []*org.Institution
	Study   *reading.ECGStudy // after a successful upload
	// ResumeHours is how long a resumable upload can be continued (the
	// form then sends through tus.js); 0 without resumable uploads.
	ResumeHours int
}

func (s *Server) ecgUploadData(r *http.Request, rc *reqCtx) (*ecgUploadView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &ecgUploadView{R: res, ResumeHours: s.resumeHours()}
	for _, in := range t.OfKind(0, org.KindDiagnosis) {
		if in.CountyCode == res.CountyCode {
			v.Centers = append(v.Centers, in)
		}
	}
	sort.SliceStable(v.Centers, func(i, j int) bool { return v.Centers[i].Name < v.Centers[j].Name })
	return v, nil
}

func (s *Server) ecgUploadPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.ecgUploadData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "ecg_upload", pageData{Title: s.msgs.T(rc.Lang, "ecg.upload_title"), Data: v})
	return nil
}

// ecgUploadFrom reads the multipart form: center_id, and either a WFDB
// header ("header") with its signal file ("signal") or one file
// ("signal": DICOM waveform, SCP-ECG, aECG XML or CSV).
func ecgUploadFrom(r *http.Request) (reading.ECGUpload, error) {
	var up reading.ECGUpload
	var fs []care.FieldError
	up.CenterID = formInt(r.FormValue("center_id"), "center_id", &fs)
	read := func(field string, required bool) (string, []byte) {
		f, h, err := r.FormFile(field)
		if errors.Is(err, http.ErrMissingFile) {
			if required {
				fs = append(fs, care.FieldError{Field: field, Key: "field.required"})
			}
			return "", nil
		}
		if err != nil {
			fs = append(fs, care.FieldError{Field: field, Key: "ecg.file_unreadable"})
			return "", nil
		}
		defer f.Close()
		b, err := readUpload(f, h.Size, reading.MaxECGBytes)
		if err != nil {
			fs = append(fs, care.FieldError{Field: field, Key: "ecg.file_unreadable"})
		}
		return h.Filename, b
	}
	up.HeaderName, up.Header = read("header", false)
	up.SignalName, up.Signal = read("signal", true)
	up.Urgent = r.FormValue("urgent") == "1"
	return up, care.Invalid(fs)
}

func (s *Server) ecgUploadSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.ecgUploadData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "ecg.upload_title"), Data: v}
	up, err := ecgUploadFrom(r)
	if err == nil {
		v.Study, err = s.Reading.UploadECG(r.Context(), rc.Actor, v.R.ID, up)
	}
	if err != nil {
		return s.formError(w, r, rc, "ecg_upload", d, err)
	}
	d.Flash = "ecg.sent"
	s.render(w, r, rc, http.StatusOK, "ecg_upload", d)
	return nil
}

// ecgWorklistMoved: GET /ecg/worklist, the ECG-only worklist that the
// reading workflow's worklist replaced (issue 18): a permanent redirect to
// its ECG view, for bookmarks.
func (s *Server) ecgWorklistMoved(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	http.Redirect(w, r, "/reading/worklist?modality=ECG", http.StatusMovedPermanently)
	return nil
}

// apiECGPreRead is the JSON form of a pre-read.
type apiECGPreRead struct {
	Summary   string        `json:"summary"` // "normal" or "abnormal"
	Priority  int           `json:"priority"`
	HeartRate float64       `json:"heart_rate"`
	Findings  []ecg.Finding `json:"findings"`
	Premature int           `json:"premature_beats"`
	Pauses    int           `json:"pauses"`
	Irregular bool          `json:"irregular"`
}

func apiPreRead(p reading.PreRead) apiECGPreRead {
	out := apiECGPreRead{Summary: "normal", Priority: p.Priority, HeartRate: math.Round(p.HeartRate*10) / 10, Findings: p.Findings,
		Premature: p.Premature, Pauses: p.Pauses, Irregular: p.Irregular}
	if p.Abnormal() {
		out.Summary = "abnormal"
	}
	if out.Findings == nil {
		out.Findings = []ecg.Finding{}
	}
	return out
}

// apiECGIntervals is the JSON form of the 12-lead measurements (ms,
// degrees; a measurement not made is absent).
type apiECGIntervals struct {
	HeartRate     float64       `json:"heart_rate"`
	PR            *float64      `json:"pr_ms,omitempty"`
	QRS           float64       `json:"qrs_ms"`
	QT            *float64      `json:"qt_ms,omitempty"`
	QTcBazett     *float64      `json:"qtc_bazett_ms,omitempty"`
	QTcFridericia *float64      `json:"qtc_fridericia_ms,omitempty"`
	Axis          *float64      `json:"axis_deg,omitempty"`
	Statement     ecg.Statement `json:"statement,omitempty"`
	BeatsAveraged int           `json:"beats_averaged"`
}

func apiIntervals(m *ecg.Intervals) apiECGIntervals {
	r := func(v float64) *float64 { v = math.Round(v); return &v }
	out := apiECGIntervals{HeartRate: math.Round(m.HeartRate*10) / 10, QRS: math.Round(m.QRS), Statement: m.Statement, BeatsAveraged: m.Beats}
	if m.PWave {
		out.PR = r(m.PR)
	}
	if m.QT > 0 {
		out.QT, out.QTcBazett, out.QTcFridericia = r(m.QT), r(m.QTcB), r(m.QTcF)
	}
	if m.HasAxis {
		out.Axis = r(m.Axis)
	}
	return out
}

// apiECGUpload: POST /api/v1/residents/{id}/ecg with a JSON body
// {"center_id", "header_name", "header", "signal_name", "signal"}, the
// files base64-encoded; a one-file ECG (DICOM waveform, SCP-ECG, aECG XML
// or CSV, told apart by content) goes in signal with no header.
func (s *Server) apiECGUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		CenterID   int64  `json:"center_id"`
		HeaderName string `json:"header_name"`
		Header     []byte `json:"header"`
		SignalName string `json:"signal_name"`
		Signal     []byte `json:"signal"`
		Urgent     bool   `json:"urgent"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Signal) == 0 {
		return care.Invalid([]care.FieldError{{Field: "signal", Key: "field.required"}})
	}
	st, err := s.Reading.UploadECG(r.Context(), rc.Actor, id, reading.ECGUpload{CenterID: in.CenterID, HeaderName: in.HeaderName,
		Header: in.Header, SignalName: in.SignalName, Signal: in.Signal, Urgent: in.Urgent})
	if err != nil {
		return err
	}
	out := map[string]any{"id": st.ID, "resident_id": st.ResidentID, "center_id": st.CenterID, "format": st.Format,
		"fs": st.Fs, "leads": st.Leads, "seconds": math.Round(st.Seconds*10) / 10, "status": st.Status, "uploaded_at": st.UploadedAt, "preread": apiPreRead(st.PreRead)}
	if m := st.Intervals; m != nil {
		out["measurements"] = apiIntervals(m)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// apiECGWorklist: GET /api/v1/ecg/worklist, the reader's center.
func (s *Server) apiECGWorklist(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	items, err := s.Reading.ECGWorklist(r.Context(), rc.Actor, 0)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = map[string]any{"id": it.StudyID, "resident_id": it.ResidentID, "resident_name": it.ResidentName, "clinic": it.ClinicName,
			"uploaded_at": it.UploadedAt, "preread": apiPreRead(it.PreRead)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"studies": out})
	return nil
}
