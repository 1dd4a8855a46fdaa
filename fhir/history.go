package fhir

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/web"
)

// Versions (vread, history). The platform keeps each record's current
// state with its version (bumped by every change) and the time of the
// last change; it keeps no copy of earlier states (no second copy of the
// clinical data), and the audit trail says who changed what and when. So
// a vread of the current version answers the resource, a vread of an
// earlier version answers 410 Gone saying so, and a history holds the
// current version. A follow-up measurement (Observation) never changes:
// version 1, last updated when recorded.

// observationByID reads one follow-up measurement, "<visit>-<kind>",
// through chronic.Service.Visit (the resident read under scope, audited).
func (s *Server) observationByID(ctx context.Context, rq web.Request, id string) (*Observation, error) {
	visit, _, ok := strings.Cut(id, "-")
	vid, err := strconv.ParseInt(visit, 10, 64)
	if !ok || err != nil || vid <= 0 || s.Chronic == nil {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	v, err := s.Chronic.Visit(ctx, rq.Actor, vid)
	if err != nil {
		return nil, err
	}
	for _, o := range ObservationsOf(v) {
		if o.ID == id {
			return &o, nil
		}
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// current reads the current version of a resource: the resource, its
// version and when it last changed.
func (s *Server) current(r *http.Request, m *web.Mount, rq web.Request, typ string) (any, int, time.Time, error) {
	switch typ {
	case "Observation":
		o, err := s.observationByID(r.Context(), rq, r.PathValue("id"))
		if err != nil {
			return nil, 0, time.Time{}, err
		}
		at, _ := time.Parse(time.RFC3339, o.Meta.LastUpdated)
		return o, 1, at, nil
	}
	id, err := pathID(r)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	if typ == "Patient" {
		res, err := s.Residents.Get(r.Context(), rq.Actor, id)
		if err != nil {
			return nil, 0, time.Time{}, err
		}
		return s.patientOf(r.Context(), m, rq, res), res.Version, res.UpdatedAt, nil
	}
	reg, _, _, err := s.Chronic.Detail(r.Context(), rq.Actor, id)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	return ConditionOf(reg, func(k string) string { return m.T(rq.Lang, k) }), reg.Version, lastUpdated(reg), nil
}

// observationRead: GET /fhir/Observation/{id} — a follow-up measurement.
func (s *Server) observationRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		o, _, at, err := s.current(r, m, rq, "Observation")
		if err != nil {
			return err
		}
		w.Header().Set("ETag", `W/"1"`)
		w.Header().Set("Last-Modified", at.UTC().Format(http.TimeFormat))
		writeJSON(w, http.StatusOK, o)
		return nil
	}
}

// vread: GET /fhir/{type}/{id}/_history/{vid}.
func (s *Server) vread(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		res, version, at, err := s.current(r, m, rq, typ)
		if err != nil {
			return err
		}
		vid, err := strconv.Atoi(r.PathValue("vid"))
		switch {
		case err != nil || vid < 1 || vid > version:
			return care.Errorf(care.ENOTFOUND, "fhir.version_unknown", r.PathValue("vid"))
		case vid < version:
			writeJSON(w, http.StatusGone, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: "deleted",
				Diagnostics: m.T(rq.Lang, "fhir.version_not_kept", vid, version) + " (request " + rq.RequestID + ")"}}})
			return nil
		}
		w.Header().Set("ETag", `W/"`+strconv.Itoa(version)+`"`)
		w.Header().Set("Last-Modified", at.UTC().Format(http.TimeFormat))
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

// BundleRequest and BundleResponse are a history, batch or transaction
// entry's request and response.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is the outcome of one entry of a batch or transaction,
// or the version of a history entry.
type BundleResponse struct {
	Status       string            `json:"status"`
	Location     string            `json:"location,omitempty"`
	Etag         string            `json:"etag,omitempty"`
	LastModified string            `json:"lastModified,omitempty"`
	Outcome      *OperationOutcome `json:"outcome,omitempty"`
}

// HistoryEntry is an entry of a history, batch-response or
// transaction-response Bundle.
type HistoryEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource any             `json:"resource,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// ResponseBundle is a history, batch-response or transaction-response Bundle.
type ResponseBundle struct {
	ResourceType string         `json:"resourceType"`
	Type         string         `json:"type"`
	Meta         *Meta          `json:"meta,omitempty"`
	Total        *int           `json:"total,omitempty"`
	Link         []BundleLink   `json:"link,omitempty"`
	Entry        []HistoryEntry `json:"entry"`
}

// history: GET /fhir/{type}/{id}/_history — the versions held: the
// current one (see above); its version number says how many there have
// been.
func (s *Server) history(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		res, version, at, err := s.current(r, m, rq, typ)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		method, url := "PUT", typ+"/"+id
		if version == 1 {
			method, url = "POST", typ
		}
		base := s.base(r)
		one := 1
		b := ResponseBundle{ResourceType: "Bundle", Type: "history", Meta: &Meta{LastUpdated: instant(s.Now())}, Total: &one,
			Link: []BundleLink{{Relation: "self", URL: base + "/" + typ + "/" + id + "/_history"}},
			Entry: []HistoryEntry{{FullURL: base + "/" + typ + "/" + id, Resource: res, Request: &BundleRequest{Method: method, URL: url},
				Response: &BundleResponse{Status: "200 OK", Etag: `W/"` + strconv.Itoa(version) + `"`, LastModified: instant(at)}}}}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
