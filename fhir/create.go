package fhir

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/web"
)

// Limits of the write path.
const (
	// MaxResourceBytes is the largest body of a create or update.
	MaxResourceBytes = 1 << 20
	// MaxBundleBytes is the largest transaction or batch bundle (a larger
	// body is 413 before it is read).
	MaxBundleBytes = 64 << 20
	// MaxBundleEntries is the most entries a bundle may hold (more: 413).
	MaxBundleEntries = 10_000
)

// readBody reads a write's body (the wrapper bounds it by the route's
// limit): ETOOLARGE past it.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	// Sized from Content-Length when it is stated (io.ReadAll would grow
	// a bundle's buffer a dozen times); MinRead more, so that the read
	// which finds the end does not grow it once more.
	size := int64(512)
	if r.ContentLength > 0 && r.ContentLength <= limit {
		size = r.ContentLength + bytes.MinRead
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(r.Body)
	b := buf.Bytes()
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return nil, care.Errorf(care.ETOOLARGE, "error.too_large", limit>>10)
	}
	if err != nil {
		return nil, care.Errorf(care.EINVALID, "fhir.json", "unreadable body")
	}
	return b, nil
}

// create: POST /fhir/{Patient,Condition,Observation} — one resource
// through its domain service; If-None-Exist (Patient: identifier) makes
// it conditional. 201 with Location (the versioned address), ETag and the
// resource as now held; 200 with the existing one for a conditional
// create that matched. A measurement the platform cannot hold (no chronic
// registration) is 422 saying why.
func (s *Server) create(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		body, err := readBody(r, MaxResourceBytes)
		if err != nil {
			return err
		}
		p, fs := parseResource(body, typ)
		if err := care.Invalid(fs); err != nil {
			return err
		}
		wr := s.writer(rq.Actor)
		var res *written
		switch typ {
		case "Patient":
			res, err = wr.createPatient(r.Context(), p.patient, r.Header.Get("If-None-Exist"))
		case "Condition":
			if r.Header.Get("If-None-Exist") != "" {
				return care.Invalid([]care.FieldError{bad("If-None-Exist", "fhir.if_none_exist")})
			}
			res, err = wr.createCondition(r.Context(), p.cond)
		case "Observation":
			if r.Header.Get("If-None-Exist") != "" {
				return care.Invalid([]care.FieldError{bad("If-None-Exist", "fhir.if_none_exist")})
			}
			var out []*written
			if out, err = wr.createVisit(r.Context(), []*observationIn{p.obs}, false); err == nil {
				res = out[0]
			}
		}
		if err != nil {
			return err
		}
		if !res.held {
			return care.Invalid(res.warnings)
		}
		return s.answerWrite(w, r, m, rq, res, append(p.warnings, res.warnings...))
	}
}

// answerWrite answers a create or update with Location, ETag and
// Last-Modified, and the resource as now held (read back through its read
// path), or nothing under Prefer: return=minimal, or an OperationOutcome
// under Prefer: return=OperationOutcome. What was not held is said in
// Warning headers (code 299) and in that OperationOutcome.
func (s *Server) answerWrite(w http.ResponseWriter, r *http.Request, m *web.Mount, rq web.Request, res *written, warnings []care.FieldError) error {
	status := http.StatusOK
	if res.created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", s.base(r)+"/"+res.location())
	w.Header().Set("ETag", `W/"`+strconv.Itoa(res.version)+`"`)
	if !res.at.IsZero() {
		w.Header().Set("Last-Modified", res.at.UTC().Format(http.TimeFormat))
	}
	oo := s.outcomeOf(m, rq.Lang, res, warnings)
	for _, x := range oo.Issue {
		if x.Severity == "warning" {
			w.Header().Add("Warning", `299 countycare "`+strings.ReplaceAll(x.Diagnostics, `"`, `'`)+`"`)
		}
	}
	if strings.Contains(r.Header.Get("Prefer"), "return=OperationOutcome") {
		writeJSON(w, status, oo)
		return nil
	}
	if strings.Contains(r.Header.Get("Prefer"), "return=minimal") {
		w.WriteHeader(status)
		return nil
	}
	v, err := s.readBack(r.Context(), m, rq, res)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// outcomeOf is the OperationOutcome of one write: information, then a
// warning per element or resource not held.
func (s *Server) outcomeOf(m *web.Mount, lang string, res *written, warnings []care.FieldError) OperationOutcome {
	oo := OperationOutcome{ResourceType: "OperationOutcome"}
	if res.held {
		key := "fhir.updated"
		if res.created {
			key = "fhir.created"
		}
		oo.Issue = append(oo.Issue, Issue{Severity: "information", Code: "informational", Diagnostics: m.T(lang, key, res.location())})
	}
	for _, x := range warnings {
		oo.Issue = append(oo.Issue, Issue{Severity: "warning", Code: "not-supported", Diagnostics: m.T(lang, x.Key, x.Args...), Expression: []string{x.Field}})
	}
	return oo
}

// readBack reads a written resource through its read path (scope, audit).
func (s *Server) readBack(ctx context.Context, m *web.Mount, rq web.Request, res *written) (any, error) {
	switch res.typ {
	case "Patient":
		id, _ := strconv.ParseInt(res.id, 10, 64)
		p, err := s.Residents.Get(ctx, rq.Actor, id)
		if err != nil {
			return nil, err
		}
		return s.patientOf(ctx, m, rq, p), nil
	case "Condition":
		id, _ := strconv.ParseInt(res.id, 10, 64)
		reg, _, _, err := s.Chronic.Detail(ctx, rq.Actor, id)
		if err != nil {
			return nil, err
		}
		return ConditionOf(reg, func(k string) string { return m.T(rq.Lang, k) }), nil
	}
	return s.observationByID(ctx, rq, res.id)
}

// ifMatch reads an If-Match header (W/"n" or "n"): the version, 0 if none.
func ifMatch(v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	v = strings.Trim(strings.TrimPrefix(strings.TrimSpace(v), "W/"), `"`)
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}

// conditionUpdate: PUT /fhir/Condition/{id} — the clinical status of a
// chronic registration (active; inactive, resolved or remission close
// it), through chronic.Service.SetStatus. If-Match W/"version" must name
// the current version: 412 otherwise. The subject and the registry
// cannot change (422).
func (s *Server) conditionUpdate(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		version, ok := ifMatch(r.Header.Get("If-Match"))
		if !ok {
			return care.Invalid([]care.FieldError{bad("If-Match", "fhir.if_match")})
		}
		body, err := readBody(r, MaxResourceBytes)
		if err != nil {
			return err
		}
		p, fs := parseResource(body, "Condition")
		if err := care.Invalid(fs); err != nil {
			return err
		}
		res, err := s.writer(rq.Actor).updateCondition(r.Context(), id, p.cond, version)
		if care.IsCode(err, care.ECONFLICT) && version != 0 {
			// A version other than the current one: 412, as FHIR asks.
			writeJSON(w, http.StatusPreconditionFailed, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: "conflict",
				Diagnostics: m.T(rq.Lang, "fhir.version_conflict", version) + " (request " + rq.RequestID + ")", Expression: []string{"If-Match"}}}})
			return nil
		}
		if err != nil {
			return err
		}
		return s.answerWrite(w, r, m, rq, res, p.warnings)
	}
}
