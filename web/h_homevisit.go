package web

import (
	"net/http"

	"countycare/homevisit"
)

// apiHomeVisits is GET /api/v1/home-visits: the open visits of the
// residents the doctor manages.
func (s *Server) apiHomeVisits(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.HomeVisits.Open(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"visits": nonNil(list)})
	return nil
}

// apiHomeVisitsFlagged is GET /api/v1/home-visits/flagged: the
// bedridden and disabled by village with their last visit.
func (s *Server) apiHomeVisitsFlagged(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.HomeVisits.Flagged(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"residents": nonNil(list)})
	return nil
}

// apiResidentHomeVisits is GET /api/v1/residents/{id}/home-visits.
func (s *Server) apiResidentHomeVisits(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	vs, fl, err := s.HomeVisits.OfResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"visits": nonNil(vs), "flags": nonNil(fl)})
	return nil
}

type homeVisitRequest struct {
	Reason string `json:"reason"`
}

// apiHomeVisitRequest is POST /api/v1/residents/{id}/home-visits with
// {"reason"}: a doctor asks for a home visit.
func (s *Server) apiHomeVisitRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.homeVisitRequest(w, r, rc, id)
}

// apiMyHomeVisitRequest is POST /api/v1/me/home-visits with {"reason"}:
// the resident asks for a home visit for the record they are viewing.
func (s *Server) apiMyHomeVisitRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.homeVisitRequest(w, r, rc, rc.Actor.ResidentID)
}

func (s *Server) homeVisitRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx, residentID int64) error {
	var in homeVisitRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.HomeVisits.Request(r.Context(), rc.Actor, residentID, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// apiMyHomeVisits is GET /api/v1/me/home-visits.
func (s *Server) apiMyHomeVisits(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	vs, _, err := s.HomeVisits.OfResident(r.Context(), rc.Actor, rc.Actor.ResidentID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"visits": nonNil(vs)})
	return nil
}

// apiHomeVisitSchedule is POST /api/v1/home-visits/{id}/schedule with
// {"team_id", "practitioner_id", "on", "version"}.
func (s *Server) apiHomeVisitSchedule(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in homevisit.ScheduleInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.HomeVisits.Schedule(r.Context(), rc.Actor, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// apiHomeVisitRecord is POST /api/v1/home-visits/{id}/record with {"on",
// "services", "sbp", "dbp", "pulse", "temp_dc", "glucose_dmmol", "note",
// "version"}.
func (s *Server) apiHomeVisitRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in homevisit.RecordInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.HomeVisits.Record(r.Context(), rc.Actor, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// apiHomeVisitCancel is POST /api/v1/home-visits/{id}/cancel with
// {"reason", "version"}: a doctor, or the resident who asked.
func (s *Server) apiHomeVisitCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason  string `json:"reason"`
		Version int    `json:"version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.HomeVisits.Cancel(r.Context(), rc.Actor, id, in.Reason, in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// apiCareFlag is POST /api/v1/residents/{id}/care-flags with {"kind",
// "reason", "clear"}: a doctor marks (or unmarks) a resident bedridden or
// disabled.
func (s *Server) apiCareFlag(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
		Clear  bool   `json:"clear"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.HomeVisits.SetFlag(r.Context(), rc.Actor, id, in.Kind, in.Reason, in.Clear); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
