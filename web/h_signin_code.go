package web

import (
	"net/http"
	"net/url"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/notify"
)

// Sign-in by phone and a one-time code (residents; issue 13 §4): the
// number first (POST /login/code sends the code), then the code (POST
// /login/code/verify). Both forms carry the double-submit login token.

// codeLoginPage shows the phone form.
func (s *Server) codeLoginPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if !rc.Actor.IsZero() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.renderCodeLogin(w, r, rc, http.StatusOK, false, url.Values{}, nil)
	return nil
}

// renderCodeLogin renders the page with a fresh login token: the phone
// step, or (sent) the code step for form's phone.
func (s *Server) renderCodeLogin(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, sent bool, form url.Values, ce *care.Error) {
	tok := account.NewToken()
	s.setCookie(w, loginCSRF, tok, time.Hour)
	d := pageData{Title: s.msgs.T(rc.Lang, "signin.title"), CSRF: tok, Error: ce, Form: form,
		Data: map[string]any{"Sent": sent, "Digits": account.CodeDigits, "Minutes": int(s.Accounts.Config.Codes.Lifetime / time.Minute)}}
	s.render(w, r, rc, status, "login_code", d)
}

// codeRequest sends a code to the number (if it is someone's) and shows
// the code step; refusals (not a mobile number, too many codes) show the
// phone step again with the reason.
func (s *Server) codeRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	phone := r.PostFormValue("phone")
	form := url.Values{"phone": {phone}}
	if err := s.Accounts.RequestCode(r.Context(), phone, s.clientIP(r)); err != nil {
		ce, ok := err.(*care.Error)
		if !ok || ce.Code == care.EINTERNAL {
			return err
		}
		s.renderCodeLogin(w, r, rc, statusOf[ce.Code], false, form, ce)
		return nil
	}
	form.Set("phone", notify.NormalizePhone(phone))
	s.renderCodeLogin(w, r, rc, http.StatusOK, true, form, nil)
	return nil
}

// codeVerify checks the code and signs in; a refusal shows the code step
// again with its reason (wrong, expired, used, spent, none sent).
func (s *Server) codeVerify(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	old := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		old = c.Value
	}
	tok, _, err := s.Accounts.LoginWithCode(r.Context(), account.CodeLogin{Phone: r.PostFormValue("phone"), Code: r.PostFormValue("code"),
		OldToken: old, IP: s.clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		ce, ok := err.(*care.Error)
		if !ok || ce.Code == care.EINTERNAL {
			return err
		}
		s.renderCodeLogin(w, r, rc, statusOf[ce.Code], true, url.Values{"phone": {r.PostFormValue("phone")}}, ce)
		return nil
	}
	s.clearCookie(w, loginCSRF)
	s.setCookie(w, sessionCookie, tok, s.Accounts.Config.AbsoluteTimeout)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
	return nil
}
