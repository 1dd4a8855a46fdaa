package web

import (
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/points"
)

// meReport records the resident's own steps or reading for a day.
func (s *Server) meReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	steps := 0
	if v := strings.TrimSpace(r.PostFormValue("steps")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s.meFormError(w, r, rc, care.Invalid([]care.FieldError{{Field: "steps", Key: "points.steps", Args: []any{points.MaxSteps}}}))
		}
		steps = n
	}
	_, err := s.Points.Report(r.Context(), rc.Actor, points.Rule(r.PostFormValue("kind")), steps, formDate(r.PostFormValue, "date"))
	if err != nil {
		return s.meFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/me?ok=points_reported#points", http.StatusSeeOther)
	return nil
}

func (s *Server) meFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	d, perr := s.mePage(r, rc)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "me", d, err)
}

// pointsRedeem spends a resident's points at the clinic.
func (s *Server) pointsRedeem(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("points")), 10, 64)
	if _, err := s.Points.Redeem(r.Context(), rc.Actor, id, n, r.PostFormValue("ref"), r.PostFormValue("note")); err != nil {
		return s.familyFormError(w, r, rc, id, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok=points_redeemed#points", http.StatusSeeOther)
	return nil
}

type apiPointsEntry struct {
	ID       int64     `json:"id"`
	Rule     string    `json:"rule"`
	EventRef string    `json:"event_ref"`
	Points   int64     `json:"points"`
	On       care.Date `json:"on"`
	Note     string    `json:"note,omitempty"`
}

func writePoints(w http.ResponseWriter, acc *points.Account) {
	es := []apiPointsEntry{}
	for _, e := range acc.Entries {
		es = append(es, apiPointsEntry{e.ID, string(e.Rule), e.EventRef, e.Points, e.On, e.Note})
	}
	writeJSON(w, http.StatusOK, map[string]any{"balance": acc.Balance, "entries": es})
}

func (s *Server) apiMyPoints(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	acc, err := s.Points.Ledger(r.Context(), rc.Actor, rc.Actor.ResidentID)
	if err != nil {
		return err
	}
	writePoints(w, acc)
	return nil
}

func (s *Server) apiResidentPoints(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	acc, err := s.Points.Ledger(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writePoints(w, acc)
	return nil
}

func (s *Server) apiMyPointsReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Kind  string    `json:"kind"`
		Steps int       `json:"steps"`
		Date  care.Date `json:"date"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Points.Report(r.Context(), rc.Actor, points.Rule(in.Kind), in.Steps, in.Date)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiPointsEntry{e.ID, string(e.Rule), e.EventRef, e.Points, e.On, e.Note})
	return nil
}
