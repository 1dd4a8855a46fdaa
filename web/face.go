package web

import (
	"errors"
	"net/http"

	"countycare/access"
	"countycare/care"
)

// A Face is a set of routes another package serves through this server —
// the HL7 FHIR API (package fhir) is one — so that it needs no wrapper of
// its own: every route of a face goes through the same wrapper as the
// pages and the JSON API (request ID, session, the route's access policy
// with denials audited, write checks and body limit, the audit barrier
// that holds a response until its read rows are durable, logs and
// metrics), and appears in Routes (TestEveryRouteHasAPolicy,
// docs/routes.md). Only errors are the face's own: WriteError renders them
// in the face's format (FHIR: an OperationOutcome).
type Face interface {
	// Routes registers the face's routes on m.
	Routes(m *Mount)
	// WriteError answers a failed request of one of the face's routes.
	WriteError(w http.ResponseWriter, r *http.Request, e FaceError)
}

// FaceError is an error of a face's route as the server's error table
// sees it: the HTTP status, the error code, and the message and field
// messages already in the request's language.
type FaceError struct {
	Status    int
	Code      string // care error code: not_found, forbidden, invalid …
	Message   string
	Fields    []FaceField
	RequestID string
}

// FaceField is one field error of a FaceError.
type FaceField struct {
	Field, Message string
}

// Request is what a face's handler knows about its request.
type Request struct {
	Actor     care.Actor
	Lang      string // the reader's language (zh or en)
	RequestID string
	Pattern   string
}

// FaceHandler serves one route of a face; an error it returns is rendered
// by the face's WriteError through the server's error table.
type FaceHandler func(w http.ResponseWriter, r *http.Request, rq Request) error

// Mount registers a face's routes.
type Mount struct {
	s    *Server
	face Face
}

// MountFace registers f's routes. Call it before serving.
func (s *Server) MountFace(f Face) { f.Routes(&Mount{s: s, face: f}) }

// Handle registers pattern with policy p, bodies up to limit bytes (0:
// the server's default), served by h through the server's wrapper.
func (m *Mount) Handle(pattern string, p access.Policy, limit int64, h FaceHandler) {
	if limit <= 0 {
		limit = m.s.cfg.MaxBodyBytes
	}
	m.s.routes = append(m.s.routes, Route{Pattern: pattern, Policy: p, API: true})
	m.s.mux.Handle(pattern, m.s.wrap(pattern, p, true, limit, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return h(w, r, Request{Actor: rc.Actor, Lang: rc.Lang, RequestID: rc.RequestID, Pattern: rc.Pattern})
	}, m.face))
}

// T returns message key of the catalogue in lang (web/locales), for a
// face's own texts.
func (m *Mount) T(lang, key string, args ...any) string { return m.s.msgs.T(lang, key, args...) }

// faceError renders err for a face: the status and messages of the
// server's table, in the face's format.
func (s *Server) faceError(f Face, w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	code := care.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	var ce *care.Error
	if !errors.As(err, &ce) || code == care.EINTERNAL {
		s.Log.Error("web: internal error", "request_id", rc.RequestID, "route", rc.Pattern, "err", err)
		ce, status = &care.Error{Code: care.EINTERNAL, Key: "error.internal"}, http.StatusInternalServerError
	}
	fe := FaceError{Status: status, Code: ce.Code, Message: s.msgs.T(rc.Lang, ce.Key, ce.Args...), RequestID: rc.RequestID}
	for _, f := range ce.Fields {
		fe.Fields = append(fe.Fields, FaceField{Field: f.Field, Message: s.msgs.T(rc.Lang, f.Key, f.Args...)})
	}
	f.WriteError(w, r, fe)
}

// T returns message key of the catalogue in lang, for texts the server's
// faces write outside a request (the command line's FHIR export).
func (s *Server) T(lang, key string, args ...any) string { return s.msgs.T(lang, key, args...) }
