package web

import (
	"fmt"
	"net/http"
	"strings"

	"countycare/care"
	"countycare/healthedu"
)

// eduView is the health-education page.
type eduView struct {
	Year       int
	Writer     bool
	Editor     bool // the advice library's administrator (healthedu.Editor)
	Kinds      []healthedu.Kind
	Indicators *healthedu.Indicators
	Sessions   []healthedu.Session
	Today      care.Date
	Own        int64 // the actor's institution: its planned sessions get a record form
}

// Share formats the double-prescription rate with one decimal.
func (v *eduView) Share() string { return fmt.Sprintf("%.1f", v.Indicators.Share()) }

func (s *Server) eduData(r *http.Request, rc *reqCtx) (*eduView, error) {
	year, err := s.eduYear(r)
	if err != nil {
		return nil, err
	}
	v := &eduView{Year: year, Writer: healthedu.Writer(rc.Actor), Editor: healthedu.Editor(rc.Actor), Kinds: healthedu.Kinds, Today: care.Today(s.Now()), Own: rc.Actor.InstitutionID}
	if v.Indicators, err = s.HealthEdu.Indicators(r.Context(), rc.Actor, year); err != nil {
		return nil, err
	}
	if v.Writer {
		if v.Sessions, err = s.HealthEdu.Sessions(r.Context(), rc.Actor, year); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// eduPage is GET /healthedu: the year's tallies against the spec's
// minimums, the double-prescription share, and for the village and
// township doctors the sessions with the forms to plan and record them.
func (s *Server) eduPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.eduData(r, rc)
	if err != nil {
		return err
	}
	flash := ""
	if k := r.URL.Query().Get("ok"); k == "edu_planned" || k == "edu_recorded" {
		flash = "flash." + k
	}
	s.render(w, r, rc, http.StatusOK, "healthedu", pageData{Title: s.msgs.T(rc.Lang, "healthedu.title"), Flash: flash, Data: v})
	return nil
}

func (s *Server) eduFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, perr := s.eduData(r, rc)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "healthedu", pageData{Title: s.msgs.T(rc.Lang, "healthedu.title"), Data: v}, err)
}

// eduPlan is POST /healthedu/sessions.
func (s *Server) eduPlan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := healthedu.SessionInput{Kind: healthedu.Kind(r.PostFormValue("kind")), PlannedOn: mchDate(r, "planned_on", &fs), Place: r.PostFormValue("place"),
		Topic: r.PostFormValue("topic"), Audience: r.PostFormValue("audience"), Materials: r.PostFormValue("materials")}
	if err := care.Invalid(fs); err != nil {
		return s.eduFormError(w, r, rc, err)
	}
	if _, err := s.HealthEdu.Plan(r.Context(), rc.Actor, in); err != nil {
		return s.eduFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/healthedu?ok=edu_planned", http.StatusSeeOther)
	return nil
}

// eduRecord is POST /healthedu/sessions/{id}/record.
func (s *Server) eduRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := healthedu.RecordInput{HeldOn: mchDate(r, "held_on", &fs), Attendance: scaled(r, "attendance", 1, &fs), Materials: r.PostFormValue("materials"),
		Version: scaled(r, "version", 1, &fs)}
	for _, f := range strings.FieldsFunc(r.PostFormValue("attendees"), func(c rune) bool { return c == ',' || c == ' ' || c == '，' }) {
		var rid int64
		if _, err := fmt.Sscan(f, &rid); err != nil || rid <= 0 {
			fs = append(fs, care.FieldError{Field: "attendees", Key: "healthedu.attendee_id"})
			break
		}
		in.Attendees = append(in.Attendees, rid)
	}
	if err := care.Invalid(fs); err != nil {
		return s.eduFormError(w, r, rc, err)
	}
	if _, err := s.HealthEdu.Record(r.Context(), rc.Actor, id, in); err != nil {
		return s.eduFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/healthedu?ok=edu_recorded", http.StatusSeeOther)
	return nil
}

// myEduRxPage is GET /me/education-rx: the resident's health-education
// prescriptions, printable.
func (s *Server) myEduRxPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.HealthEdu.PrescriptionsOf(r.Context(), rc.Actor, rc.Actor.ResidentID)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "me_edu_rx", pageData{Title: s.msgs.T(rc.Lang, "healthedu.rx_title"), Data: list})
	return nil
}
