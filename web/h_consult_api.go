package web

import (
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/consult"
	"countycare/org"
)

type apiConsultOut struct {
	ID            int64     `json:"id"`
	ResidentID    int64     `json:"resident_id"`
	Kind          string    `json:"kind"`
	Urgency       string    `json:"urgency"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	Specialty     string    `json:"specialty"`
	ToInstitution int64     `json:"to_institution"`
	ToDepartment  int64     `json:"to_department"`
	AssignedTo    int64     `json:"assigned_to"`
	Step          int       `json:"step"`
	Escalations   int       `json:"escalations"`
	Deadline      time.Time `json:"deadline"`
	CreatedAt     time.Time `json:"created_at"`
	Opinion       any       `json:"opinion,omitempty"`
	Decision      string    `json:"decision,omitempty"`
}

func apiConsult(c *consult.Consultation) apiConsultOut {
	out := apiConsultOut{ID: c.ID, ResidentID: c.ResidentID, Kind: string(c.Kind), Urgency: string(c.Urgency), Status: string(c.Status), Reason: c.Reason,
		Specialty: c.Specialty, ToInstitution: c.ToInstitution, ToDepartment: c.ToDepartment, AssignedTo: c.AssignedTo, Step: c.Step, Escalations: c.Escalations,
		Deadline: c.Deadline, CreatedAt: c.CreatedAt, Decision: c.Decision}
	if o := c.Opinion; o != nil {
		out.Opinion = map[string]any{"assessment": o.Assessment, "diagnosis_code": o.DiagnosisCode, "diagnosis_text": o.DiagnosisText, "plan": o.Plan,
			"refer": o.Refer, "signed_by": o.SignedBy, "signed_at": o.SignedAt, "sha256": o.Hash}
	}
	return out
}

func (s *Server) apiConsultCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ResidentID    int64   `json:"resident_id"`
		Kind          string  `json:"kind"`
		Urgency       string  `json:"urgency"`
		Reason        string  `json:"reason"`
		Purpose       string  `json:"purpose"`
		Summary       string  `json:"summary"`
		Specialty     string  `json:"specialty"`
		MinTitle      string  `json:"min_title"`
		ToInstitution int64   `json:"to_institution"`
		Departments   []int64 `json:"departments"`
		RehabSessions int     `json:"rehab_sessions"`
		Consent       struct {
			By     string    `json:"by"`
			Name   string    `json:"name"`
			Method string    `json:"method"`
			At     time.Time `json:"at"`
		} `json:"consent"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d := consult.Draft{ResidentID: in.ResidentID, Kind: consult.Kind(in.Kind), Urgency: consult.Urgency(in.Urgency), Reason: in.Reason, Purpose: in.Purpose,
		Summary: in.Summary, Specialty: in.Specialty, MinTitle: org.Title(in.MinTitle), ToInstitution: in.ToInstitution, Departments: in.Departments,
		RehabSessions: in.RehabSessions, Key: r.Header.Get("Idempotency-Key"),
		Consent: consult.Consent{By: in.Consent.By, Name: in.Consent.Name, Method: in.Consent.Method, At: in.Consent.At}}
	c, err := s.Consult.Request(r.Context(), rc.Actor, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiConsult(c))
	return nil
}

func (s *Server) apiConsultList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	mine, queue, board, err := s.Consult.Lists(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	conv := func(cs []consult.Consultation) []apiConsultOut {
		out := make([]apiConsultOut, 0, len(cs))
		for i := range cs {
			out = append(out, apiConsult(&cs[i]))
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{"requested": conv(mine), "queue": conv(queue), "department": conv(board)})
	return nil
}

func (s *Server) apiConsultGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, evs, ms, err := s.Consult.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	events := make([]map[string]any, 0, len(evs))
	for _, e := range evs {
		events = append(events, map[string]any{"kind": e.Kind, "practitioner": e.Practitioner, "detail": e.Detail, "at": e.At})
	}
	msgs := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		msgs = append(msgs, map[string]any{"id": m.ID, "author": m.Author, "body": m.Body, "attachments": m.Attachments, "at": m.At})
	}
	writeJSON(w, http.StatusOK, map[string]any{"consultation": apiConsult(c), "events": events, "messages": msgs})
	return nil
}

// apiConsultDo runs a state change with a JSON body.
func (s *Server) apiConsultDo(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason        string `json:"reason"`
		Assessment    string `json:"assessment"`
		DiagnosisCode string `json:"diagnosis_code"`
		DiagnosisText string `json:"diagnosis_text"`
		Plan          string `json:"plan"`
		Refer         bool   `json:"refer"`
		Decision      string `json:"decision"`
		Note          string `json:"note"`
		Body          string `json:"body"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	var c *consult.Consultation
	switch r.PathValue("action") {
	case "accept":
		c, err = s.Consult.Accept(r.Context(), rc.Actor, id)
	case "decline":
		c, err = s.Consult.Decline(r.Context(), rc.Actor, id, in.Reason)
	case "opinion":
		c, err = s.Consult.Sign(r.Context(), rc.Actor, id, consult.Opinion{Assessment: in.Assessment, DiagnosisCode: in.DiagnosisCode, DiagnosisText: in.DiagnosisText, Plan: in.Plan, Refer: in.Refer})
	case "decision":
		c, err = s.Consult.Decide(r.Context(), rc.Actor, id, in.Decision, in.Note)
	case "cancel":
		c, err = s.Consult.Cancel(r.Context(), rc.Actor, id, in.Reason)
	case "messages":
		m, err := s.Consult.Post(r.Context(), rc.Actor, id, in.Body, nil)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": m.ID, "at": m.At})
		return nil
	default:
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiConsult(c))
	return nil
}

func (s *Server) apiConsultIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.consultPeriod(r)
	if err != nil {
		return err
	}
	ind, err := s.Consult.Report(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	// Breakdowns go out as the pages show them: counts under
	// resident.SmallCell as "<5", so a count cannot single out a person.
	towns := map[string]string{}
	for id, n := range ind.ByTownship {
		towns[strconv.FormatInt(id, 10)] = cell(n)
	}
	cells := func(m map[string]int) map[string]string {
		out := map[string]string{}
		for k, n := range m {
			out[k] = cell(n)
		}
		return out
	}
	kinds := map[string]int{}
	for k, n := range ind.ByKind {
		kinds[string(k)] = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "total": ind.Total, "by_kind": cells(kinds), "by_specialty": cells(ind.BySpecialty),
		"by_township": towns, "accepted": ind.Accepted, "median_accept_seconds": ind.MedianAccept.Seconds(), "p90_accept_seconds": ind.P90Accept.Seconds(),
		"sla":         map[string]any{"numerator": ind.SLA.Num, "denominator": ind.SLA.Den, "percent": ind.SLA.Percent()},
		"escalations": ind.Escalations, "escalated_cases": ind.Escalated, "outcomes": cells(ind.Outcomes)})
	return nil
}
