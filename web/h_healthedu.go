package web

import (
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/healthedu"
)

// eduYear reads ?year= (default: this year in Shanghai).
func (s *Server) eduYear(r *http.Request) (int, error) {
	y := care.Today(s.Now()).Year
	if v := r.URL.Query().Get("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 || n > 2100 {
			return 0, care.Invalid([]care.FieldError{{Field: "year", Key: "healthedu.year_range"}})
		}
		y = n
	}
	return y, nil
}

// apiEduSessions is GET /api/v1/healthedu/sessions?year=: the sessions of
// the actor's institutions planned in the year.
func (s *Server) apiEduSessions(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	year, err := s.eduYear(r)
	if err != nil {
		return err
	}
	list, err := s.HealthEdu.Sessions(r.Context(), rc.Actor, year)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"year": year, "sessions": nonNil(list)})
	return nil
}

// apiEduPlan is POST /api/v1/healthedu/sessions with {"kind",
// "planned_on", "place", "topic", "audience", "materials"}.
func (s *Server) apiEduPlan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in healthedu.SessionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ss, err := s.HealthEdu.Plan(r.Context(), rc.Actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ss)
	return nil
}

// apiEduSession is GET /api/v1/healthedu/sessions/{id}.
func (s *Server) apiEduSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ss, err := s.HealthEdu.Detail(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ss)
	return nil
}

// apiEduRecord is POST /api/v1/healthedu/sessions/{id}/record with
// {"held_on", "attendance", "attendees", "materials", "version"}.
func (s *Server) apiEduRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in healthedu.RecordInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ss, err := s.HealthEdu.Record(r.Context(), rc.Actor, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ss)
	return nil
}

// apiEduIndicators is GET /api/v1/healthedu/indicators?year=: each
// institution's year against the minimums, and the double-prescription
// share.
func (s *Server) apiEduIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	year, err := s.eduYear(r)
	if err != nil {
		return err
	}
	ind, err := s.HealthEdu.Indicators(r.Context(), rc.Actor, year)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"indicators": ind, "share_percent": ind.Share()})
	return nil
}

// apiEduLibrary is GET /api/v1/healthedu/library: the county's advice
// library in use, with its version; for its administrator
// (healthedu.Editor) the items' numbers, the edition and its history.
func (s *Server) apiEduLibrary(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if healthedu.Editor(rc.Actor) {
		v, err := s.HealthEdu.LibraryOf(r.Context(), rc.Actor)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	l, _, err := s.HealthEdu.Editions.Current(r.Context(), rc.Actor.CountyCode)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": l.Version, "items": l.Items})
	return nil
}

// apiResidentEduRx is GET /api/v1/residents/{id}/education-rx.
func (s *Server) apiResidentEduRx(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	list, err := s.HealthEdu.PrescriptionsOf(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"prescriptions": nonNil(list)})
	return nil
}

// apiMyEduRx is GET /api/v1/me/education-rx: the health-education
// prescriptions of the record the resident is viewing.
func (s *Server) apiMyEduRx(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.HealthEdu.PrescriptionsOf(r.Context(), rc.Actor, rc.Actor.ResidentID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"prescriptions": nonNil(list)})
	return nil
}
