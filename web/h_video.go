package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/consult"
)

// consultSignal is POST /consult/{id}/signal (form fields to, type,
// payload) and POST /api/v1/consultations/{id}/signal (the same as JSON):
// one signalling message of a video call, relayed to the other
// participants' event streams as a "consult.signal" event. The answer
// lists who is already in the call (a newcomer offers to each).
func (s *Server) consultSignal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	// The page's script reads the answer: errors are JSON here too.
	rc.API = true
	return s.signal(w, r, rc)
}

func (s *Server) signal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.Live == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	var sig consult.Signal
	if rc.Pattern == "POST /api/v1/consultations/{id}/signal" {
		if err := decodeJSON(r, &sig); err != nil {
			return err
		}
	} else {
		sig.Type = r.PostFormValue("type")
		if v := r.PostFormValue("to"); v != "" {
			if sig.To, err = strconv.ParseInt(v, 10, 64); err != nil {
				return care.Invalid([]care.FieldError{{Field: "to", Key: "field.number"}})
			}
		}
		if v := r.PostFormValue("payload"); v != "" {
			sig.Payload = json.RawMessage(v)
		}
	}
	to, peers, err := s.Consult.Signal(r.Context(), rc.Actor, id, sig)
	if err != nil {
		return err
	}
	if len(to) > 0 {
		msg := map[string]any{"id": id, "from": rc.Actor.PractitionerID, "name": rc.Actor.Name, "type": sig.Type, "to": sig.To}
		if len(sig.Payload) > 0 {
			msg["payload"] = sig.Payload
		}
		if err := s.Live.PublishJSON(to, "consult.signal", msg); err != nil {
			return err
		}
	}
	if peers == nil {
		peers = []consult.Participant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"self": rc.Actor.PractitionerID, "peers": peers})
	return nil
}
