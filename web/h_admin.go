package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

type accountsView struct {
	Accounts []account.Summary
	Pending  []account.ResetRequest // privileged resets awaiting a second administrator
	Roles    []care.Role
	Now      time.Time
}

func (s *Server) accountsData(r *http.Request) (*accountsView, error) {
	as, err := s.Store.Accounts(r.Context(), 1000)
	if err != nil {
		return nil, err
	}
	pending, err := s.Accounts.PendingResets(r.Context())
	if err != nil {
		return nil, err
	}
	return &accountsView{Accounts: as, Pending: pending, Roles: care.Roles[:len(care.Roles)-1], Now: s.Now()}, nil
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.accountsData(r)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "accounts", pageData{Title: s.msgs.T(rc.Lang, "accounts.title"), Data: v, Form: r.URL.Query()})
	return nil
}

func (s *Server) accountCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := account.NewAccount{Username: r.PostFormValue("username"), Role: care.Role(r.PostFormValue("role")),
		PractitionerID: formInt(r.PostFormValue("practitioner_id"), "practitioner_id", &fs), Password: r.PostFormValue("password")}
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Accounts.CreateStaffAccount(r.Context(), rc.Actor, in)
	}
	if err != nil {
		v, verr := s.accountsData(r)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "accounts", pageData{Title: s.msgs.T(rc.Lang, "accounts.title"), Data: v}, err)
	}
	http.Redirect(w, r, "/admin/accounts?ok=account_created", http.StatusSeeOther)
	return nil
}

func (s *Server) accountDisable(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.accountSetDisabled(w, r, rc, true)
}

func (s *Server) accountEnable(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.accountSetDisabled(w, r, rc, false)
}

func (s *Server) accountSetDisabled(w http.ResponseWriter, r *http.Request, rc *reqCtx, disabled bool) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Accounts.SetDisabled(r.Context(), rc.Actor, id, disabled); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/accounts?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) accountReset(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Accounts.ResetPassword(r.Context(), rc.Actor, id, r.PostFormValue("password")); err != nil {
		v, verr := s.accountsData(r)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "accounts", pageData{Title: s.msgs.T(rc.Lang, "accounts.title"), Data: v}, err)
	}
	http.Redirect(w, r, "/admin/accounts?ok=password_reset", http.StatusSeeOther)
	return nil
}

// auditFilterFrom reads the auditor's search form.
func auditFilterFrom(q map[string][]string) (audit.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	var fs []care.FieldError
	f := audit.Filter{Username: get("username"), Action: get("action"), Outcome: get("outcome"), RequestID: get("request_id"), Limit: 100}
	if v := get("resident_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fs = append(fs, care.FieldError{Field: "resident_id", Key: "field.number"})
		}
		f.ResidentIDs = []int64{id}
	}
	for _, k := range []string{"from", "to"} {
		if v := get(k); v != "" {
			d, err := care.ParseDate(v)
			if err != nil {
				fs = append(fs, care.FieldError{Field: k, Key: "field.date"})
				continue
			}
			t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, care.Shanghai)
			if k == "from" {
				f.From = t
			} else {
				f.To = t.AddDate(0, 0, 1)
			}
		}
	}
	if v := get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fs = append(fs, care.FieldError{Field: "before", Key: "field.number"})
		}
		f.BeforeSeq = n
	}
	return f, care.Invalid(fs)
}

type auditView struct {
	Events   []audit.Event
	Next     int64
	Verifier *audit.Verifier
	Insts    *org.Tree
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	d := pageData{Title: s.msgs.T(rc.Lang, "audit.title"), Form: q}
	f, err := auditFilterFrom(q)
	if err != nil {
		d.Error = err.(*care.Error)
		d.Data = &auditView{}
		s.render(w, r, rc, http.StatusUnprocessableEntity, "audit", d)
		return nil
	}
	evs, err := s.Store.SearchAudit(r.Context(), f)
	if err != nil {
		return err
	}
	v := &auditView{Events: evs}
	if len(evs) == f.Limit {
		v.Next = evs[len(evs)-1].Seq
	}
	ev := audit.New(r.Context(), rc.Actor, audit.ActAuditSearch, 0)
	ev.Detail = "audit search " + r.URL.RawQuery
	s.Audit.Record(r.Context(), ev)
	d.Data = v
	s.render(w, r, rc, http.StatusOK, "audit", d)
	return nil
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.Store.VerifyAudit(r.Context(), s.AuditKey)
	if err != nil {
		return err
	}
	ev := audit.New(r.Context(), rc.Actor, audit.ActAuditVerify, 0)
	ev.Detail = "rows checked " + strconv.FormatInt(v.Rows, 10) + ", problems " + strconv.Itoa(len(v.Problems))
	if !v.OK() {
		ev.Outcome = audit.OutcomeFailed
	}
	s.Audit.Record(r.Context(), ev)
	s.render(w, r, rc, http.StatusOK, "audit", pageData{Title: s.msgs.T(rc.Lang, "audit.title"), Data: &auditView{Verifier: v}})
	return nil
}

// accountResetRequest asks to reset a privileged account: the owner is
// told, and a second administrator must approve before the owner gets a
// one-time link (neither administrator learns the password or the link).
func (s *Server) accountResetRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Accounts.RequestReset(r.Context(), rc.Actor, id); err != nil {
		return s.accountsFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/admin/accounts?ok=reset_requested", http.StatusSeeOther)
	return nil
}

// accountResetApprove is the second administrator's approval: the owner
// gets the one-time link.
func (s *Server) accountResetApprove(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Accounts.ApproveReset(r.Context(), rc.Actor, id); err != nil {
		return s.accountsFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/admin/accounts?ok=reset_link_sent", http.StatusSeeOther)
	return nil
}

func (s *Server) accountsFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, verr := s.accountsData(r)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, rc, "accounts", pageData{Title: s.msgs.T(rc.Lang, "accounts.title"), Data: v}, err)
}
