package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"countycare/account"
	"countycare/appraisal"
	"countycare/care"
	"countycare/kpi"
	"countycare/org"
	"countycare/survey"
)

// Resident surveys (issue 14 §4): GET/POST /s?t= is the survey a text
// message links to, answered without signing in; GET/POST /me/surveys/{id}
// the same on the resident's own page; GET /surveys/results the results
// for staff, each group shown only from the configured minimum of answers.
// docs/appraisal.md.

// surveysOn answers 404 for h's route when the server has no survey service.
func (s *Server) surveysOn(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if s.Surveys == nil {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		return h(w, r, rc)
	}
}

// surveyView is the survey page's data.
type surveyView struct {
	Inv       *survey.Invitation
	Place     string // the institution's name
	Questions []survey.Question
	Action    string // where the form posts
	Done      bool
}

func (s *Server) surveyView(r *http.Request, inv *survey.Invitation, action string) (*surveyView, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &surveyView{Inv: inv, Questions: s.Surveys.Config.Questions, Action: action}
	if u := t.Get(inv.InstitutionID); u != nil {
		v.Place = u.Name
	}
	return v, nil
}

// surveyForm reads the answers of the configured questions from a form.
func (s *Server) surveyForm(r *http.Request) map[string]string {
	out := map[string]string{}
	for _, q := range s.Surveys.Config.Questions {
		if v, ok := r.PostForm[q.ID]; ok && len(v) > 0 {
			out[q.ID] = v[0]
		}
	}
	return out
}

// surveyPage serves GET /s?t=: the survey of a link, for anyone holding it.
func (s *Server) surveyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tok := r.URL.Query().Get("t")
	inv, err := s.Surveys.Open(r.Context(), tok)
	if err != nil {
		return err
	}
	v, err := s.surveyView(r, inv, "/s")
	if err != nil {
		return err
	}
	csrf := rc.csrfOrLogin(s, w)
	s.render(w, r, rc, http.StatusOK, "survey", pageData{Title: s.msgs.T(rc.Lang, "survey.title"), CSRF: csrf, Data: v, Form: url.Values{"t": {tok}}})
	return nil
}

// csrfOrLogin is the page's CSRF token: the session's, or for a visitor a
// new double-submit login token (as sign-in and password reset use).
func (rc *reqCtx) csrfOrLogin(s *Server, w http.ResponseWriter) string {
	if rc.Session != nil {
		return rc.Session.CSRFToken
	}
	csrf := account.NewToken()
	s.setCookie(w, loginCSRF, csrf, time.Hour)
	return csrf
}

// surveySubmit serves POST /s: the answers of a link's survey.
func (s *Server) surveySubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tok := r.PostFormValue("t")
	return s.surveyAnswer(w, r, rc, "/s", url.Values{"t": {tok}},
		func(form map[string]string) error { return s.Surveys.AnswerLink(r.Context(), tok, form) },
		func() (*survey.Invitation, error) { return s.Surveys.Open(r.Context(), tok) })
}

// surveyAnswer stores a survey's answers through answer and thanks the
// resident; answers that do not fit the questions show the form again
// (reopened through reopen) with the answers given and a message per question.
func (s *Server) surveyAnswer(w http.ResponseWriter, r *http.Request, rc *reqCtx, action string, f url.Values,
	answer func(map[string]string) error, reopen func() (*survey.Invitation, error)) error {
	form := s.surveyForm(r)
	title := s.msgs.T(rc.Lang, "survey.title")
	if err := answer(form); err != nil {
		if !care.IsCode(err, care.EINVALID) {
			return err
		}
		inv, oerr := reopen()
		if oerr != nil {
			return oerr
		}
		v, verr := s.surveyView(r, inv, action)
		if verr != nil {
			return verr
		}
		for k, x := range form {
			f.Set(k, x)
		}
		return s.formError(w, r, rc, "survey", pageData{Title: title, CSRF: rc.csrfOrLogin(s, w), Data: v, Form: f}, err)
	}
	if rc.Session == nil {
		s.clearCookie(w, loginCSRF)
	}
	s.render(w, r, rc, http.StatusOK, "survey", pageData{Title: title, Data: &surveyView{Done: true}})
	return nil
}

// mySurvey serves GET /me/surveys/{id}: one of the resident's own open surveys.
func (s *Server) mySurvey(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	inv, err := s.Surveys.OpenMine(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	v, err := s.surveyView(r, inv, "/me/surveys/"+strconv.FormatInt(id, 10))
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "survey", pageData{Title: s.msgs.T(rc.Lang, "survey.title"), Data: v, Form: url.Values{}})
	return nil
}

// mySurveySubmit serves POST /me/surveys/{id}.
func (s *Server) mySurveySubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.surveyAnswer(w, r, rc, "/me/surveys/"+strconv.FormatInt(id, 10), url.Values{},
		func(form map[string]string) error { return s.Surveys.AnswerMine(r.Context(), rc.Actor, id, form) },
		func() (*survey.Invitation, error) { return s.Surveys.OpenMine(r.Context(), rc.Actor, id) })
}

// resultRow is one row of the results page.
type resultRow struct {
	Name      string
	Unit      *org.Institution
	Row       survey.Row
	Satisfied kpi.Value
	Aware     kpi.Value
}

// surveyResults serves GET /surveys/results[?year=]: satisfaction and
// policy awareness per institution and doctor within the viewer's scope,
// a group of fewer than the minimum answers shown as too few.
func (s *Server) surveyResults(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	today := care.Today(s.Now())
	pd := pageData{Title: s.msgs.T(rc.Lang, "survey.results"), Form: r.URL.Query()}
	year, yerr := s.appraisalYear(r)
	type view struct {
		Years    []periodOption
		Res      *survey.Results
		Units    []resultRow
		Doctors  []resultRow
		MinCount int
	}
	v := &view{Years: s.yearOptions(rc.Lang, today, year)}
	pd.Data = v
	if yerr != nil {
		return s.formError(w, r, rc, "survey_results", pd, yerr)
	}
	res, err := s.Surveys.Results(r.Context(), rc.Actor, year)
	if err != nil {
		return err
	}
	v.Res, v.MinCount = res, res.MinCount
	share := func(num, den int) kpi.Value { return kpi.Of(appraisal.Satisfaction, kpi.Rate{Num: num, Den: den}) }
	for _, x := range res.Units {
		v.Units = append(v.Units, resultRow{Name: x.Unit.Name, Unit: x.Unit, Row: x, Satisfied: share(x.Tally.Satisfied, x.Tally.Answers), Aware: share(x.Tally.Aware, x.Tally.AwareAsked)})
	}
	for _, x := range res.Doctors {
		name := ""
		if p, err := s.Store.Practitioner(r.Context(), x.Doctor); err == nil {
			name = p.Name
		}
		v.Doctors = append(v.Doctors, resultRow{Name: name, Unit: x.Unit, Row: x, Satisfied: share(x.Tally.Satisfied, x.Tally.Answers), Aware: share(x.Tally.Aware, x.Tally.AwareAsked)})
	}
	s.render(w, r, rc, http.StatusOK, "survey_results", pd)
	return nil
}
