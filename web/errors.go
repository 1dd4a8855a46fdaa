package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"countycare/care"
)

// statusOf maps each error code to its HTTP status: the one table.
var statusOf = map[string]int{
	care.EINVALID:      http.StatusUnprocessableEntity,
	care.ENOTFOUND:     http.StatusNotFound,
	care.EFORBIDDEN:    http.StatusForbidden,
	care.EUNAUTHORIZED: http.StatusUnauthorized,
	care.ECONFLICT:     http.StatusConflict,
	care.ELOCKED:       http.StatusLocked,
	care.ETOOMANY:      http.StatusTooManyRequests,
	care.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	care.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	care.ENOTACCEPT:    http.StatusNotAcceptable,
	care.EINTERNAL:     http.StatusInternalServerError,
	care.EUNAVAILABLE:  http.StatusServiceUnavailable,
	care.EPRECONDITION: http.StatusPreconditionFailed,
	care.ECHECKSUM:     460, // tus 1.0 checksum extension: "460 Checksum Mismatch"
}

// apiError is the JSON error body.
type apiError struct {
	Error struct {
		Code    string          `json:"code"`
		Key     string          `json:"key"`
		Message string          `json:"message"`
		Fields  []apiFieldError `json:"fields,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

type apiFieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// renderError answers with err: JSON on the API, an error page otherwise.
// Internal errors are logged with their detail; the user sees only the
// code, a message in their language and the request ID.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	if rc.face != nil {
		s.faceError(rc.face, w, r, rc, err)
		return
	}
	code := care.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	var ce *care.Error
	if !errors.As(err, &ce) || code == care.EINTERNAL {
		s.Log.Error("web: internal error", "request_id", rc.RequestID, "route", rc.Pattern, "err", err)
		ce = &care.Error{Code: care.EINTERNAL, Key: "error.internal"}
	}
	if rc.API {
		var body apiError
		body.Error.Code = ce.Code
		body.Error.Key = ce.Key
		body.Error.Message = s.msgs.T(rc.Lang, ce.Key, ce.Args...)
		for _, f := range ce.Fields {
			body.Error.Fields = append(body.Error.Fields, apiFieldError{Field: f.Field, Code: f.Key, Message: s.msgs.T(rc.Lang, f.Key, f.Args...)})
		}
		body.RequestID = rc.RequestID
		writeJSON(w, status, body)
		return
	}
	if code == care.EUNAUTHORIZED && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, rc, status, "error", pageData{Title: s.msgs.T(rc.Lang, "error.title"), Error: ce})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// Encoded first, so the answer carries its length: compress leaves
	// one below gzipMinLength as it is (bench replay's profile, docs/benchmarks.md).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
