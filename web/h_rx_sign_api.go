package web

import (
	"net/http"
	"time"

	"countycare/care"
	"countycare/rx"
)

// Wire shape of a signed prescription (version 1).
type apiSignedOut struct {
	ID            int64           `json:"id"`
	ResidentID    int64           `json:"resident_id"`
	InstitutionID int64           `json:"institution_id"`
	Status        string          `json:"status"`
	Outcome       string          `json:"outcome"`
	Issued        string          `json:"issued"`
	Kind          string          `json:"kind"`
	Lines         []apiLine       `json:"lines"`
	Diagnoses     []string        `json:"diagnoses"`
	Findings      []rxFindingView `json:"findings"`
	SignedAt      time.Time       `json:"signed_at"`
	ReviewedAt    *time.Time      `json:"reviewed_at,omitempty"`
	ReviewSeconds int64           `json:"review_seconds,omitempty"`
	ReviewReason  string          `json:"review_reason,omitempty"`
	DispensedAt   *time.Time      `json:"dispensed_at,omitempty"`
	Version       int             `json:"version"`
}

func (s *Server) apiSigned(lang string, sg *rx.Signed) apiSignedOut {
	p := &sg.Prescription
	out := apiSignedOut{ID: sg.ID, ResidentID: sg.ResidentID, InstitutionID: sg.InstitutionID, Status: string(sg.Status), Outcome: wireOutcome(sg.Outcome),
		Issued: p.Issued.String(), Kind: string(p.Kind), Diagnoses: append([]string{}, p.Diagnoses...), Findings: s.rxFindingViews(lang, sg),
		SignedAt: sg.SignedAt, ReviewReason: sg.ReviewReason, Version: sg.Version, ReviewSeconds: int64(sg.ReviewTime() / time.Second)}
	for _, l := range p.Lines {
		out.Lines = append(out.Lines, apiLine{DrugCode: l.DrugCode, Dose: l.Dose, DoseUnit: l.DoseUnit, Frequency: l.Frequency, Route: l.Route,
			Days: l.Days, Quantity: l.Quantity, Diagnosis: l.Diagnosis, OverdoseSigned: l.OverdoseSigned})
	}
	if !sg.ReviewedAt.IsZero() {
		t := sg.ReviewedAt
		out.ReviewedAt = &t
	}
	if !sg.DispensedAt.IsZero() {
		t := sg.DispensedAt
		out.DispensedAt = &t
	}
	return out
}

// apiRxSign signs a prescription for the resident. Issued, the institution
// level and the patient's age come from the server, not the body. A
// blocked prescription answers 422 with its findings and is not stored.
func (s *Server) apiRxSign(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiPrescription
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Issued = care.Today(s.Now()).String()
	p, fs := in.prescription()
	if err := care.Invalid(fs); err != nil {
		return err
	}
	sg, findings, err := s.Prescriptions.Sign(r.Context(), rc.Actor, id, p)
	if err != nil {
		if care.IsCode(err, care.EINVALID) && len(findings) > 0 {
			blocked := &rx.Signed{Prescription: *p, Findings: findings}
			var body apiError
			body.Error.Code, body.Error.Key, body.Error.Message = care.EINVALID, "rx.blocked", s.msgs.T(rc.Lang, "rx.blocked")
			body.RequestID = rc.RequestID
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": body.Error, "findings": s.rxFindingViews(rc.Lang, blocked), "request_id": rc.RequestID})
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusCreated, s.apiSigned(rc.Lang, sg))
	return nil
}

func (s *Server) apiRxGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sg, err := s.Prescriptions.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.apiSigned(rc.Lang, sg))
	return nil
}

func (s *Server) apiRxQueue(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Prescriptions.Queue(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]apiSignedOut, 0, len(list))
	for i := range list {
		out = append(out, s.apiSigned(rc.Lang, &list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"prescriptions": out})
	return nil
}

func (s *Server) apiRxDecide(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
		Version  int    `json:"version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sg, err := s.Prescriptions.Decide(r.Context(), rc.Actor, id, rx.Status(in.Decision), in.Reason, in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.apiSigned(rc.Lang, sg))
	return nil
}

// apiRxIndicators answers the county's review indicators for
// ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 30 days).
func (s *Server) apiRxIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	to := care.Today(s.Now())
	from := to.AddDays(-29)
	var fs []care.FieldError
	for _, x := range []struct {
		name string
		d    *care.Date
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(x.name); v != "" {
			d, err := care.ParseDate(v)
			if err != nil {
				fs = append(fs, care.FieldError{Field: x.name, Key: "rx.period"})
				continue
			}
			*x.d = d
		}
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	in, err := s.Prescriptions.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	by := map[string]int{}
	for k, v := range in.ByStatus {
		by[string(k)] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": in.From.String(), "to": in.To.String(), "signed": in.Signed, "auto_passed": in.AutoPassed,
		"flagged": in.Flagged, "by_status": by, "decided": in.Decided, "median_review_seconds": int64(in.MedianReview / time.Second),
		"p90_review_seconds": int64(in.P90Review / time.Second), "reviewed_within_day": in.ReviewedWithinDay})
	return nil
}
