package web

import (
	"net/http"
	"strconv"

	"countycare/settle"
)

// Chronic special-outpatient certifications (门慢/门特): a section of the
// settlement window's page for a resident, and the JSON API. Insurance
// officers only (the route policy and the service both say so).

func certInput(get func(string) string, residentID int64) settle.CertInput {
	return settle.CertInput{ResidentID: residentID, Category: get("category"), Diagnosis: get("diagnosis"), From: get("valid_from"), To: get("valid_to"), Office: get("office")}
}

// certCreate records a certification from the window's form.
func (s *Server) certCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rid, _ := strconv.ParseInt(r.PostFormValue("resident_id"), 10, 64)
	if _, err := s.Settle.Certify(r.Context(), rc.Actor, certInput(r.PostFormValue, rid)); err != nil {
		fv, ferr := s.settleFormData(r, rc, rid)
		if ferr != nil {
			return err
		}
		return s.formError(w, r, rc, "settle_form", pageData{Title: s.msgs.T(rc.Lang, "settle.new"), Data: fv}, err)
	}
	http.Redirect(w, r, "/settlement/new?resident="+strconv.FormatInt(rid, 10)+"&ok=cert_saved#certs", http.StatusSeeOther)
	return nil
}

// certEnd ends a certification from the window's form.
func (s *Server) certEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.Settle.EndCertification(r.Context(), rc.Actor, id, r.PostFormValue("reason"))
	if err != nil {
		rid, _ := strconv.ParseInt(r.PostFormValue("resident_id"), 10, 64)
		fv, ferr := s.settleFormData(r, rc, rid)
		if ferr != nil {
			return err
		}
		return s.formError(w, r, rc, "settle_form", pageData{Title: s.msgs.T(rc.Lang, "settle.new"), Data: fv}, err)
	}
	http.Redirect(w, r, "/settlement/new?resident="+strconv.FormatInt(c.ResidentID, 10)+"&ok=cert_ended#certs", http.StatusSeeOther)
	return nil
}

type apiCertIn struct {
	Category  string `json:"category"`
	Diagnosis string `json:"diagnosis"`
	From      string `json:"valid_from"`
	To        string `json:"valid_to"`
	Office    string `json:"office"`
}

// apiCerts lists a resident's certifications.
func (s *Server) apiCerts(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cs, err := s.Settle.Certifications(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []settle.Certification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"certifications": cs})
	return nil
}

// apiCertCreate records a certification.
func (s *Server) apiCertCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiCertIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Settle.Certify(r.Context(), rc.Actor, settle.CertInput{ResidentID: id, Category: in.Category, Diagnosis: in.Diagnosis, From: in.From, To: in.To, Office: in.Office})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// apiCertEnd ends a certification.
func (s *Server) apiCertEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Settle.EndCertification(r.Context(), rc.Actor, id, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
