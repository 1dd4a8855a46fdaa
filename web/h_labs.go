package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/lab"
	"countycare/resident"
)

// labsView is a resident's lab results page.
type labsView struct {
	R        *resident.Resident
	Results  []lab.Result
	Analytes []lab.Analyte
	Saved    []*lab.Result // after recording
}

func (s *Server) labsData(r *http.Request, rc *reqCtx) (*labsView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, rs, err := s.Labs.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	return &labsView{R: res, Results: rs, Analytes: lab.Analytes()}, nil
}

func (s *Server) labsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.labsData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "labs", pageData{Title: s.msgs.T(rc.Lang, "lab.title"), Data: v})
	return nil
}

// labsSubmit records one result from the form.
func (s *Server) labsSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.labsData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "lab.title"), Data: v}
	in := lab.Input{Code: r.PostFormValue("code"), Value: r.PostFormValue("value"), Unit: r.PostFormValue("unit"),
		RefRange: r.PostFormValue("ref_range"), Flag: r.PostFormValue("flag"), Specimen: r.PostFormValue("specimen"),
		Device: r.PostFormValue("device"), Doctor: r.PostFormValue("doctor"), CollectedAt: r.PostFormValue("collected_at"),
		ResultedAt: r.PostFormValue("resulted_at")}
	saved, err := s.Labs.Record(r.Context(), rc.Actor, v.R.ID, []lab.Input{in}, nil)
	if err != nil {
		return s.formError(w, r, rc, "labs", d, err)
	}
	return s.labsDone(w, r, rc, v, saved)
}

// labsDone re-reads the list and shows what was saved.
func (s *Server) labsDone(w http.ResponseWriter, r *http.Request, rc *reqCtx, v *labsView, saved []*lab.Result) error {
	_, rs, err := s.Labs.ForResident(r.Context(), rc.Actor, v.R.ID)
	if err != nil {
		return err
	}
	v.Results, v.Saved = rs, saved
	s.render(w, r, rc, http.StatusOK, "labs", pageData{Title: s.msgs.T(rc.Lang, "lab.title"), Flash: "lab.saved", Data: v})
	return nil
}

// labsImport records the results of an uploaded CSV file (field "file").
func (s *Server) labsImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.labsData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "lab.title"), Data: v}
	f, _, err := r.FormFile("file")
	if err != nil {
		return s.formError(w, r, rc, "labs", d, care.Invalid([]care.FieldError{{Field: "file", Key: "field.required"}}))
	}
	defer f.Close()
	saved, err := s.importLabs(r, rc, v.R.ID, f)
	if err != nil {
		return s.formError(w, r, rc, "labs", d, err)
	}
	return s.labsDone(w, r, rc, v, saved)
}

func (s *Server) importLabs(r *http.Request, rc *reqCtx, residentID int64, body io.Reader) ([]*lab.Result, error) {
	rows, err := lab.ParseCSV(body)
	if err != nil {
		if errors.Is(err, lab.ErrFormat) {
			msg := strings.TrimPrefix(err.Error(), lab.ErrFormat.Error()+": ")
			return nil, &care.Error{Code: care.EINVALID, Key: "lab.csv", Args: []any{msg}, Fields: []care.FieldError{{Field: "file", Key: "lab.csv", Args: []any{msg}}}, Err: err}
		}
		return nil, err
	}
	return s.Labs.Import(r.Context(), rc.Actor, residentID, rows)
}

// apiLabResult is the JSON form of a result.
type apiLabResult struct {
	ID          int64    `json:"id"`
	ResidentID  int64    `json:"resident_id"`
	ClinicID    int64    `json:"clinic_id"`
	OrderedBy   int64    `json:"ordered_by"`
	Doctor      string   `json:"doctor"`
	Analyte     string   `json:"analyte"`
	LOINC       string   `json:"loinc"`
	LocalCode   string   `json:"local_code"`
	Value       float64  `json:"value"`
	Unit        string   `json:"unit"`
	ValueSI     float64  `json:"value_si"`
	UnitSI      string   `json:"unit_si"`
	RefLow      *float64 `json:"ref_low"`
	RefHigh     *float64 `json:"ref_high"`
	Flag        string   `json:"flag"`
	Specimen    string   `json:"specimen"`
	Device      string   `json:"device"`
	CollectedAt string   `json:"collected_at"`
	ResultedAt  string   `json:"resulted_at"`
	Critical    string   `json:"critical,omitempty"`
	AlertID     int64    `json:"alert_id,omitempty"`
}

func toAPILab(r *lab.Result) apiLabResult {
	return apiLabResult{ID: r.ID, ResidentID: r.ResidentID, ClinicID: r.ClinicID, OrderedBy: r.OrderedBy, Doctor: r.Doctor, Analyte: r.Analyte,
		LOINC: r.LOINC, LocalCode: r.LocalCode, Value: r.Value, Unit: r.Unit, ValueSI: r.ValueSI, UnitSI: r.UnitSI, RefLow: r.RefLow,
		RefHigh: r.RefHigh, Flag: r.Flag, Specimen: r.Specimen, Device: r.Device, CollectedAt: r.CollectedAt.Format("2006-01-02T15:04:05Z"),
		ResultedAt: r.ResultedAt.Format("2006-01-02T15:04:05Z"), Critical: r.Critical, AlertID: r.AlertID}
}

// apiLabs: GET /api/v1/residents/{id}/labs.
func (s *Server) apiLabs(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, rs, err := s.Labs.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]apiLabResult, len(rs))
	for i := range rs {
		out[i] = toAPILab(&rs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

// apiLabsRecord: POST /api/v1/residents/{id}/labs with {"results": [{"code",
// "value" (number), "unit", "ref_range", "flag", "specimen", "device",
// "doctor", "collected_at", "resulted_at"}]}, all or nothing.
func (s *Server) apiLabsRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return postLabResults(w, r, func(ins []lab.Input, prefix func(int) string) ([]*lab.Result, error) {
		return s.Labs.Record(r.Context(), rc.Actor, id, ins, prefix)
	})
}

// postLabResults reads {"results": [...]} (at most lab.MaxPerRequest),
// files them with record (faults named results[i].field) and answers 201
// with what was saved.
func postLabResults(w http.ResponseWriter, r *http.Request, record func(ins []lab.Input, prefix func(int) string) ([]*lab.Result, error)) error {
	var in struct {
		Results []apiLabInput `json:"results"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ins, err := labInputs(in.Results)
	if err != nil {
		return err
	}
	saved, err := record(ins, func(i int) string { return "results[" + strconv.Itoa(i) + "]." })
	if err != nil {
		return err
	}
	return writeLabs(w, saved)
}

// apiLabInput is one result as the JSON API takes it.
type apiLabInput struct {
	Code        string      `json:"code"`
	Value       json.Number `json:"value"`
	Unit        string      `json:"unit"`
	RefRange    string      `json:"ref_range"`
	Flag        string      `json:"flag"`
	Specimen    string      `json:"specimen"`
	Device      string      `json:"device"`
	Doctor      string      `json:"doctor"`
	CollectedAt string      `json:"collected_at"`
	ResultedAt  string      `json:"resulted_at"`
}

// labInputs turns the API's results into lab inputs (at most
// lab.MaxPerRequest).
func labInputs(xs []apiLabInput) ([]lab.Input, error) {
	if len(xs) > lab.MaxPerRequest {
		return nil, care.Invalid([]care.FieldError{{Field: "results", Key: "lab.too_many", Args: []any{lab.MaxPerRequest}}})
	}
	ins := make([]lab.Input, len(xs))
	for i, x := range xs {
		ins[i] = lab.Input{Code: x.Code, Value: x.Value.String(), Unit: x.Unit, RefRange: x.RefRange, Flag: x.Flag, Specimen: x.Specimen,
			Device: x.Device, Doctor: x.Doctor, CollectedAt: x.CollectedAt, ResultedAt: x.ResultedAt}
	}
	return ins, nil
}

func writeLabs(w http.ResponseWriter, saved []*lab.Result) error {
	out := make([]apiLabResult, len(saved))
	for i, r := range saved {
		out[i] = toAPILab(r)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"results": out})
	return nil
}

// apiLabsImport: POST /api/v1/residents/{id}/labs/import with a text/csv body.
func (s *Server) apiLabsImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", "text/csv")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	saved, err := s.importLabs(r, rc, id, r.Body)
	if err != nil {
		return err
	}
	return writeLabs(w, saved)
}
