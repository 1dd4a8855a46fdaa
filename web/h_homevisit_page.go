package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/homevisit"
	"countycare/resident"
)

// hvMember is one choice of the schedule form: a team and one of its
// members.
type hvMember struct {
	Value string // "team:practitioner"
	Team  string
	Name  string
	Role  string
}

// hvView is the home-visit work page and the resident's home-visit page.
type hvView struct {
	R        *resident.Resident // the resident's page only
	Visits   []homevisit.Visit
	Flags    []homevisit.Flag
	Members  []hvMember
	Services []string
	Kinds    []string
	Today    care.Date
	Mine     bool // the resident's own page on /me
}

func (s *Server) hvMembers(r *http.Request, rc *reqCtx) ([]hvMember, error) {
	teams, err := s.Family.Teams(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	var out []hvMember
	for _, t := range teams {
		if !t.Active || !tree.IsWithin(rc.Actor.InstitutionID, t.InstitutionID) && !tree.IsWithin(t.InstitutionID, rc.Actor.InstitutionID) {
			continue
		}
		for _, m := range t.Members {
			out = append(out, hvMember{Value: fmt.Sprintf("%d:%d", t.ID, m.PractitionerID), Team: t.Name, Name: m.Name, Role: m.Role})
		}
	}
	return out, nil
}

func (s *Server) hvData(r *http.Request, rc *reqCtx) (*hvView, error) {
	v := &hvView{Services: s.HomeVisits.Config.Services, Kinds: homevisit.FlagKinds, Today: care.Today(s.Now())}
	var err error
	if v.Visits, err = s.HomeVisits.Open(r.Context(), rc.Actor); err != nil {
		return nil, err
	}
	if v.Flags, err = s.HomeVisits.Flagged(r.Context(), rc.Actor); err != nil {
		return nil, err
	}
	if v.Members, err = s.hvMembers(r, rc); err != nil {
		return nil, err
	}
	return v, nil
}

func hvFlash(r *http.Request) string {
	switch k := r.URL.Query().Get("ok"); k {
	case "hv_requested", "hv_scheduled", "hv_recorded", "hv_cancelled", "hv_flagged":
		return "flash." + k
	}
	return ""
}

// hvPage is GET /home-visits: the open requests and visits of the
// residents the doctor manages, with the forms to schedule, record and
// cancel them, and the bedridden and disabled by village.
func (s *Server) hvPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.hvData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "home_visits", pageData{Title: s.msgs.T(rc.Lang, "homevisit.title"), Flash: hvFlash(r), Data: v})
	return nil
}

func (s *Server) hvFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, perr := s.hvData(r, rc)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "home_visits", pageData{Title: s.msgs.T(rc.Lang, "homevisit.title"), Data: v}, err)
}

// hvSchedule is POST /home-visits/{id}/schedule with member
// ("team:practitioner"), on and version.
func (s *Server) hvSchedule(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := homevisit.ScheduleInput{On: mchDate(r, "on", &fs), Version: scaled(r, "version", 1, &fs)}
	team, prac, ok := strings.Cut(r.PostFormValue("member"), ":")
	in.TeamID, _ = strconv.ParseInt(team, 10, 64)
	in.PractitionerID, _ = strconv.ParseInt(prac, 10, 64)
	if !ok || in.TeamID <= 0 || in.PractitionerID <= 0 {
		fs = append(fs, care.FieldError{Field: "team_id", Key: "field.required"})
	}
	if err := care.Invalid(fs); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	if _, err := s.HomeVisits.Schedule(r.Context(), rc.Actor, id, in); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/home-visits?ok=hv_scheduled", http.StatusSeeOther)
	return nil
}

// hvRecord is POST /home-visits/{id}/record: the visit as done, typed on
// the phone (services, blood pressure, pulse, temperature, glucose).
func (s *Server) hvRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := homevisit.RecordInput{On: mchDate(r, "on", &fs), Services: r.PostForm["services"], Note: r.PostFormValue("note"), Version: scaled(r, "version", 1, &fs),
		Vitals: homevisit.Vitals{SBP: scaled(r, "sbp", 1, &fs), DBP: scaled(r, "dbp", 1, &fs), Pulse: scaled(r, "pulse", 1, &fs),
			TempDC: scaled(r, "temp", 10, &fs), GlucoseDmmol: scaled(r, "glucose", 10, &fs)}}
	if err := care.Invalid(fs); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	if _, err := s.HomeVisits.Record(r.Context(), rc.Actor, id, in); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/home-visits?ok=hv_recorded", http.StatusSeeOther)
	return nil
}

// hvCancel is POST /home-visits/{id}/cancel with reason and version.
func (s *Server) hvCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	version := scaled(r, "version", 1, &fs)
	if err := care.Invalid(fs); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	if _, err := s.HomeVisits.Cancel(r.Context(), rc.Actor, id, r.PostFormValue("reason"), version); err != nil {
		return s.hvFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/home-visits?ok=hv_cancelled", http.StatusSeeOther)
	return nil
}

// hvResidentData is the resident's home-visit page: a doctor's
// (/residents/{id}/home-visits) or the resident's own (/me/home-visits).
func (s *Server) hvResidentData(r *http.Request, rc *reqCtx, residentID int64, mine bool) (*hvView, error) {
	v := &hvView{Kinds: homevisit.FlagKinds, Today: care.Today(s.Now()), Mine: mine}
	var err error
	if v.R, err = s.Residents.Get(r.Context(), rc.Actor, residentID); err != nil {
		return nil, err
	}
	if v.Visits, v.Flags, err = s.HomeVisits.OfResident(r.Context(), rc.Actor, residentID); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Server) hvResidentID(r *http.Request, rc *reqCtx) (int64, bool, error) {
	if rc.Actor.Role == care.RoleResident {
		return rc.Actor.ResidentID, true, nil
	}
	id, err := pathID(r)
	return id, false, err
}

// hvResidentPage is GET /residents/{id}/home-visits and GET
// /me/home-visits: the visits asked for and done, the flags, and the
// request form.
func (s *Server) hvResidentPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, mine, err := s.hvResidentID(r, rc)
	if err != nil {
		return err
	}
	v, err := s.hvResidentData(r, rc, id, mine)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "resident_home_visits", pageData{Title: s.msgs.T(rc.Lang, "homevisit.resident_title"), Flash: hvFlash(r), Data: v})
	return nil
}

func (s *Server) hvResidentError(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, mine bool, err error) error {
	v, perr := s.hvResidentData(r, rc, id, mine)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "resident_home_visits", pageData{Title: s.msgs.T(rc.Lang, "homevisit.resident_title"), Data: v}, err)
}

func hvResidentURL(id int64, mine bool) string {
	if mine {
		return "/me/home-visits"
	}
	return fmt.Sprintf("/residents/%d/home-visits", id)
}

// hvRequest is POST /residents/{id}/home-visits and POST /me/home-visits.
func (s *Server) hvRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, mine, err := s.hvResidentID(r, rc)
	if err != nil {
		return err
	}
	if _, err := s.HomeVisits.Request(r.Context(), rc.Actor, id, r.PostFormValue("reason")); err != nil {
		return s.hvResidentError(w, r, rc, id, mine, err)
	}
	http.Redirect(w, r, hvResidentURL(id, mine)+"?ok=hv_requested", http.StatusSeeOther)
	return nil
}

// hvMyCancel is POST /me/home-visits/{id}/cancel: the resident cancels
// their own request.
func (s *Server) hvMyCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	version := scaled(r, "version", 1, &fs)
	err = care.Invalid(fs)
	if err == nil {
		_, err = s.HomeVisits.Cancel(r.Context(), rc.Actor, id, r.PostFormValue("reason"), version)
	}
	if err != nil {
		return s.hvResidentError(w, r, rc, rc.Actor.ResidentID, true, err)
	}
	http.Redirect(w, r, "/me/home-visits?ok=hv_cancelled", http.StatusSeeOther)
	return nil
}

// hvFlag is POST /residents/{id}/care-flags with kind, reason and clear.
func (s *Server) hvFlag(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.HomeVisits.SetFlag(r.Context(), rc.Actor, id, r.PostFormValue("kind"), r.PostFormValue("reason"), r.PostFormValue("clear") == "1"); err != nil {
		return s.hvResidentError(w, r, rc, id, false, err)
	}
	http.Redirect(w, r, hvResidentURL(id, false)+"?ok=hv_flagged", http.StatusSeeOther)
	return nil
}
