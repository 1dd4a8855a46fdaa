package web

import (
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/proxy"
)

// A resident's sign-in and proxies (issue 13 §4): staff open a resident's
// account with their consent and grant proxies on the resident page; an
// adult resident grants their own on /me; a proxy switches whose record
// /me shows.

// residentSignin opens a resident's account with their consent, recorded
// by the doctor managing the record (an audited, scoped read first).
func (s *Server) residentSignin(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	if _, err := s.Accounts.CreateResidentAccount(r.Context(), rc.Actor, res.ID, res.CountyCode, res.Phone, r.PostFormValue("consent") == "yes"); err != nil {
		return s.familyFormError(w, r, rc, id, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok=signin_opened#signin", http.StatusSeeOther)
	return nil
}

// residentProxyGrant grants a proxy on a resident's record (staff).
func (s *Server) residentProxyGrant(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Proxies.GrantAccess(r.Context(), rc.Actor, id, proxy.Kind(r.PostFormValue("kind")), r.PostFormValue("id_number")); err != nil {
		return s.familyFormError(w, r, rc, id, err)
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok=proxy_granted#signin", http.StatusSeeOther)
	return nil
}

// grantID parses the {gid} path value.
func grantID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("gid"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound()
	}
	return id, nil
}

// residentProxyRevoke revokes a grant on a resident's record (staff).
func (s *Server) residentProxyRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	gid, err := grantID(r)
	if err != nil {
		return err
	}
	if err := s.Proxies.Revoke(r.Context(), rc.Actor, gid); err != nil {
		return err
	}
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok=proxy_revoked#signin", http.StatusSeeOther)
	return nil
}

// meProxyGrant lets an adult resident choose a proxy for their own record.
func (s *Server) meProxyGrant(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if _, err := s.Proxies.GrantAccess(r.Context(), rc.Actor, rc.Actor.ResidentID, proxy.Chosen, r.PostFormValue("id_number")); err != nil {
		return s.meFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/me?ok=proxy_granted#proxies", http.StatusSeeOther)
	return nil
}

// meProxyRevoke ends a grant on the resident's own record, or one they
// hold as a proxy.
func (s *Server) meProxyRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	gid, err := grantID(r)
	if err != nil {
		return err
	}
	if err := s.Proxies.Revoke(r.Context(), rc.Actor, gid); err != nil {
		return err
	}
	http.Redirect(w, r, "/me?ok=proxy_revoked#proxies", http.StatusSeeOther)
	return nil
}

// meViewing switches whose record the session shows: the resident's own
// or a ward's. Any other number is not found (and the refusal audited).
func (s *Server) meViewing(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := strconv.ParseInt(r.PostFormValue("resident_id"), 10, 64)
	if err != nil || id <= 0 {
		return care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	if err := s.Proxies.Switch(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/me", http.StatusSeeOther)
	return nil
}
