package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/org"
	"countycare/outreach"
)

// Expert sessions in townships and multi-site practice (docs/outreach.md).

// outreachView is the sessions page: the county's sessions around today
// and, for schedulers, the form.
type outreachView struct {
	Sessions      []outreach.Session
	Scheduler     bool
	Townships     []*org.Institution
	Practitioners []org.Practitioner
	Township      int64 // the filter (0: all)
	Today         care.Date
	MaxCapacity   int
}

// dateField reads an optional date field into *d (left as it is when v
// is empty), adding outreach.date_format for a malformed one.
func dateField(v, field string, d *care.Date, fs *[]care.FieldError) {
	if v = strings.TrimSpace(v); v == "" {
		return
	}
	x, err := care.ParseDate(v)
	if err != nil {
		*fs = append(*fs, care.FieldError{Field: field, Key: "outreach.date_format"})
	}
	*d = x
}

// outreachWindow is the period the sessions page and API list by default:
// the past week and the bookable days ahead.
func (s *Server) outreachWindow(r *http.Request) (care.Date, care.Date, error) {
	today := care.Today(s.Now())
	from, to := today.AddDays(-7), today.AddDays(s.Outreach.Config.MaxAheadDays)
	var fs []care.FieldError
	dateField(r.URL.Query().Get("from"), "from", &from, &fs)
	dateField(r.URL.Query().Get("to"), "to", &to, &fs)
	if len(fs) == 0 && (to.Before(from) || to.After(from.AddDays(366))) {
		fs = append(fs, care.FieldError{Field: "to", Key: "outreach.period_invalid"})
	}
	return from, to, care.Invalid(fs)
}

func (s *Server) outreachData(r *http.Request, rc *reqCtx) (*outreachView, error) {
	from, to, err := s.outreachWindow(r)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &outreachView{Scheduler: outreach.Scheduler(rc.Actor, t), Today: care.Today(s.Now()), MaxCapacity: s.Outreach.Config.MaxCapacity,
		Township: formID(r.URL.Query().Get, "township")}
	if v.Sessions, err = s.Outreach.Sessions(r.Context(), rc.Actor, v.Township, from, to); err != nil {
		return nil, err
	}
	for _, in := range t.OfKind(0, org.KindTownshipHC) {
		if in.CountyCode == rc.Actor.CountyCode && in.Active {
			v.Townships = append(v.Townships, in)
		}
	}
	for _, k := range []org.Kind{org.KindCentralHC, org.KindSubCenter} {
		for _, in := range t.OfKind(0, k) {
			if in.CountyCode == rc.Actor.CountyCode && in.Active {
				v.Townships = append(v.Townships, in)
			}
		}
	}
	if v.Scheduler {
		if v.Practitioners, err = s.outreachSpecialists(r.Context(), rc.Actor, t); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// outreachSpecialists lists the practitioners a scheduler may give a
// session: an administrator any county hospital's, a county specialist
// their own hospital's.
func (s *Server) outreachSpecialists(ctx context.Context, a care.Actor, t *org.Tree) ([]org.Practitioner, error) {
	var hosp []int64
	if a.Role == care.RoleAdmin {
		for _, in := range t.OfKind(0, org.KindCountyHospital) {
			if in.CountyCode == a.CountyCode {
				hosp = append(hosp, in.ID)
			}
		}
	} else {
		hosp = t.Subtree(a.InstitutionID)
	}
	return s.Store.Practitioners(ctx, org.PractitionerFilter{Institutions: hosp, Limit: 500})
}

func (s *Server) outreachRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, verr := s.outreachData(r, rc)
	if verr != nil {
		return s.formError(w, r, rc, "outreach", pageData{Title: s.msgs.T(rc.Lang, "outreach.title"), Data: &outreachView{}}, verr)
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "outreach.title"), Data: v, Flash: outreachFlash(r)}
	if err != nil {
		return s.formError(w, r, rc, "outreach", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "outreach", d)
	return nil
}

// outreachFlash is the flash key named by ?ok= among the pages' own.
func outreachFlash(r *http.Request) string {
	switch k := r.URL.Query().Get("ok"); k {
	case "scheduled", "booked", "cancelled", "recorded", "acting", "site_saved", "site_revoked", "edited", "session_cancelled":
		return "outreach.flash." + k
	}
	return ""
}

// outreachPage: GET /outreach.
func (s *Server) outreachPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.outreachRender(w, r, rc, nil)
}

// scheduleInput reads a session from a form.
func scheduleInput(get func(string) string, fs *[]care.FieldError) outreach.ScheduleInput {
	in := outreach.ScheduleInput{TownshipID: formInt(get("township_id"), "township_id", fs), PractitionerID: formInt(get("practitioner_id"), "practitioner_id", fs),
		Specialty: get("specialty"), Start: get("start"), End: get("end"), Room: get("room"),
		SlotMinutes: int(formInt(get("slot_minutes"), "slot_minutes", fs)), Capacity: int(formInt(get("capacity"), "capacity", fs))}
	dateField(get("date"), "date", &in.Date, fs)
	return in
}

// outreachSchedule: POST /outreach/sessions.
func (s *Server) outreachSchedule(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := scheduleInput(r.PostFormValue, &fs)
	err := care.Invalid(fs)
	var ss *outreach.Session
	if err == nil {
		ss, err = s.Outreach.Schedule(r.Context(), rc.Actor, in)
	}
	if err != nil {
		return s.outreachRender(w, r, rc, err)
	}
	http.Redirect(w, r, "/outreach/sessions/"+strconv.FormatInt(ss.ID, 10)+"?ok=scheduled", http.StatusSeeOther)
	return nil
}

// sessionPageView is one session's page.
type sessionPageView struct {
	*outreach.SessionView
	Booker bool // may book for residents in their scope
	Today  care.Date
	// Organiser: may edit or cancel the session (outreach.Organiser, and
	// it has not begun); Practitioners are the specialists they may give it.
	Organiser     bool
	Practitioners []org.Practitioner
	MaxCapacity   int
	MaxReason     int
	// Texted: the text messages of the change just made (from the redirect).
	Texted *outreach.Notices
}

func (s *Server) sessionRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, err error) error {
	v, verr := s.Outreach.Session(r.Context(), rc.Actor, id)
	if verr != nil {
		return verr
	}
	pv := sessionPageView{SessionView: v, Today: care.Today(s.Now()), MaxCapacity: s.Outreach.Config.MaxCapacity, MaxReason: outreach.MaxReason,
		Booker: rc.Actor.Role == care.RoleVillageDoctor || rc.Actor.Role == care.RoleTownshipDoctor}
	t, terr := s.Orgs.Tree(r.Context())
	if terr != nil {
		return terr
	}
	if first, ok := v.Session.SlotStart(v.Session.Slots[0]); ok && s.Now().Before(first) && v.Session.Status == outreach.StatusScheduled &&
		outreach.Organiser(rc.Actor, t, v.Session) {
		pv.Organiser = true
		if pv.Practitioners, terr = s.outreachSpecialists(r.Context(), rc.Actor, t); terr != nil {
			return terr
		}
	}
	if q := r.URL.Query(); q.Has("queued") {
		n := outreach.Notices{}
		n.Queued, _ = strconv.Atoi(q.Get("queued"))
		n.NoPhone, _ = strconv.Atoi(q.Get("no_mobile"))
		pv.Texted = &n
	}
	title := s.msgs.T(rc.Lang, "outreach.session_title", v.Session.Date.String())
	d := pageData{Title: title, Flash: outreachFlash(r), Data: pv}
	if err != nil {
		return s.formError(w, r, rc, "outreach_session", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "outreach_session", d)
	return nil
}

// outreachSessionPage: GET /outreach/sessions/{id}.
func (s *Server) outreachSessionPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.sessionRender(w, r, rc, id, nil)
}

// outreachBook: POST /outreach/sessions/{id}/bookings (resident_id, slot).
func (s *Server) outreachBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	rid := formInt(r.PostFormValue("resident_id"), "resident_id", &fs)
	if rid == 0 && len(fs) == 0 {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "field.required"})
	}
	err = care.Invalid(fs)
	if err == nil {
		_, err = s.Outreach.Book(r.Context(), rc.Actor, id, rid, r.PostFormValue("slot"))
	}
	if care.IsCode(err, care.ENOTFOUND) {
		return err
	}
	if err != nil {
		return s.sessionRender(w, r, rc, id, err)
	}
	http.Redirect(w, r, "/outreach/sessions/"+strconv.FormatInt(id, 10)+"?ok=booked", http.StatusSeeOther)
	return nil
}

// sessionChange runs an edit or a cancellation of a session from its
// page: back to the page with the texts counted, or the form's errors.
func (s *Server) sessionChange(w http.ResponseWriter, r *http.Request, rc *reqCtx, ok string,
	change func(id int64, version int) (outreach.Notices, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	version := int(formInt(r.PostFormValue("version"), "version", &fs))
	err = care.Invalid(fs)
	var n outreach.Notices
	if err == nil {
		n, err = change(id, version)
	}
	if care.IsCode(err, care.ENOTFOUND) || care.IsCode(err, care.EFORBIDDEN) {
		return err
	}
	if err != nil {
		return s.sessionRender(w, r, rc, id, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/outreach/sessions/%d?ok=%s&queued=%d&no_mobile=%d", id, ok, n.Queued, n.NoPhone), http.StatusSeeOther)
	return nil
}

// outreachEdit: POST /outreach/sessions/{id}/edit (version, practitioner_id,
// date, start, end, slot_minutes, capacity, room).
func (s *Server) outreachEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.sessionChange(w, r, rc, "edited", func(id int64, version int) (outreach.Notices, error) {
		var fs []care.FieldError
		in := scheduleInput(r.PostFormValue, &fs)
		if err := care.Invalid(fs); err != nil {
			return outreach.Notices{}, err
		}
		_, n, err := s.Outreach.Edit(r.Context(), rc.Actor, id, editInput(in, version))
		return n, err
	})
}

// editInput is the edit a session form or body describes.
func editInput(in outreach.ScheduleInput, version int) outreach.EditInput {
	return outreach.EditInput{Version: version, PractitionerID: in.PractitionerID, Date: in.Date, Start: in.Start, End: in.End,
		SlotMinutes: in.SlotMinutes, Capacity: in.Capacity, Room: in.Room}
}

// outreachCancelSession: POST /outreach/sessions/{id}/cancel (version, reason).
func (s *Server) outreachCancelSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.sessionChange(w, r, rc, "session_cancelled", func(id int64, version int) (outreach.Notices, error) {
		_, n, err := s.Outreach.CancelSession(r.Context(), rc.Actor, id, version, r.PostFormValue("reason"))
		return n, err
	})
}

// bookingAction runs a booking change from a page and returns to next.
func (s *Server) bookingAction(w http.ResponseWriter, r *http.Request, rc *reqCtx, act func(id int64) (*outreach.Booking, error), ok string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := act(id)
	if err != nil {
		if ce, isCE := err.(*care.Error); isCE && (ce.Code == care.ECONFLICT || ce.Code == care.EINVALID) {
			if rc.Actor.Role == care.RoleResident {
				return s.myOutreachRender(w, r, rc, err)
			}
			if b2, err2 := s.Outreach.Repo.OutreachBooking(r.Context(), rc.Actor.CountyCode, id); err2 == nil {
				return s.sessionRender(w, r, rc, b2.SessionID, err)
			}
		}
		return err
	}
	next := "/outreach/sessions/" + strconv.FormatInt(b.SessionID, 10)
	if rc.Actor.Role == care.RoleResident {
		next = "/me/outreach"
	}
	http.Redirect(w, r, next+"?ok="+ok, http.StatusSeeOther)
	return nil
}

// outreachCancel: POST /outreach/bookings/{id}/cancel and /me/outreach/bookings/{id}/cancel.
func (s *Server) outreachCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.bookingAction(w, r, rc, func(id int64) (*outreach.Booking, error) { return s.Outreach.Cancel(r.Context(), rc.Actor, id) }, "cancelled")
}

// outreachAttend: POST /outreach/bookings/{id}/attendance (outcome).
func (s *Server) outreachAttend(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.bookingAction(w, r, rc, func(id int64) (*outreach.Booking, error) {
		return s.Outreach.Attend(r.Context(), rc.Actor, id, r.PostFormValue("outcome"))
	}, "recorded")
}

// outreachStatsView is the counts page.
type outreachStatsView struct {
	From, To care.Date
	Rows     []outreach.TownshipStats
	Total    outreach.TownshipStats
}

func (s *Server) outreachStatsData(r *http.Request, rc *reqCtx) (*outreachStatsView, error) {
	today := care.Today(s.Now())
	v := &outreachStatsView{From: today.AddDays(-365), To: today}
	var fs []care.FieldError
	dateField(r.URL.Query().Get("from"), "from", &v.From, &fs)
	dateField(r.URL.Query().Get("to"), "to", &v.To, &fs)
	if err := care.Invalid(fs); err != nil {
		return v, err
	}
	rows, err := s.Outreach.Stats(r.Context(), rc.Actor, v.From, v.To)
	if err != nil {
		return v, err
	}
	v.Rows = rows
	for _, x := range rows {
		v.Total.Sessions += x.Sessions
		v.Total.Seen += x.Seen
		v.Total.NoShow += x.NoShow
		v.Total.Referrals += x.Referrals
	}
	return v, nil
}

// outreachStatsPage: GET /outreach/stats?from=&to=.
func (s *Server) outreachStatsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.outreachStatsData(r, rc)
	d := pageData{Title: s.msgs.T(rc.Lang, "outreach.stats_title"), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "outreach_stats", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "outreach_stats", d)
	return nil
}

// myOutreachView is a resident's page: their bookings and the sessions
// they may book.
type myOutreachView struct {
	Bookings []outreach.Booking
	Open     []outreach.Session
	Cutoff   int
}

// myOutreach reads a resident's bookings (audited) and the sessions open
// for booking.
func (s *Server) myOutreach(r *http.Request, rc *reqCtx) (*myOutreachView, error) {
	bs, err := s.Outreach.Mine(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	open, err := s.Outreach.Bookable(r.Context(), rc.Actor.CountyCode)
	if err != nil {
		return nil, err
	}
	return &myOutreachView{Bookings: bs, Open: open, Cutoff: s.Outreach.Config.CancelCutoffHours}, nil
}

func (s *Server) myOutreachRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, verr := s.myOutreach(r, rc)
	if verr != nil {
		return verr
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "outreach.mine_title"), Flash: outreachFlash(r), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "my_outreach", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "my_outreach", d)
	return nil
}

// myOutreachPage: GET /me/outreach.
func (s *Server) myOutreachPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.myOutreachRender(w, r, rc, nil)
}

// myOutreachBook: POST /me/outreach/bookings (session_id, slot).
func (s *Server) myOutreachBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	sid := formInt(r.PostFormValue("session_id"), "session_id", &fs)
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Outreach.Book(r.Context(), rc.Actor, sid, rc.Actor.ResidentID, r.PostFormValue("slot"))
	}
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return s.myOutreachRender(w, r, rc, err)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/me/outreach?ok=booked", http.StatusSeeOther)
	return nil
}

// workplaceView is a practitioner's workplaces today and their sites.
type workplaceView struct {
	Places []outreach.Workplace
	Sites  []outreach.PracticeSite
}

// workplacePage: GET /workplace.
func (s *Server) workplacePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.workplaceRender(w, r, rc, nil)
}

func (s *Server) workplaceRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	ps, sites, werr := s.Outreach.Workplaces(r.Context(), rc.Actor)
	if werr != nil {
		return werr
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "outreach.workplace_title"), Flash: outreachFlash(r), Data: workplaceView{Places: ps, Sites: sites}}
	if err != nil {
		return s.formError(w, r, rc, "workplace", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "workplace", d)
	return nil
}

// workplaceSwitch: POST /workplace (institution_id).
func (s *Server) workplaceSwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	id := formInt(r.PostFormValue("institution_id"), "institution_id", &fs)
	err := care.Invalid(fs)
	if err == nil {
		err = s.Outreach.Act(r.Context(), rc.Actor, id)
	}
	if err != nil {
		return s.workplaceRender(w, r, rc, err)
	}
	http.Redirect(w, r, "/workplace?ok=acting", http.StatusSeeOther)
	return nil
}

// sitesView is the administrators' multi-site registrations page.
type sitesView struct {
	Sites         []outreach.PracticeSite
	Institutions  []*org.Institution
	Practitioners []org.Practitioner
	Today         care.Date
}

func (s *Server) sitesRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	sites, serr := s.Outreach.CountySites(r.Context(), rc.Actor)
	if serr != nil {
		return serr
	}
	t, terr := s.Orgs.Tree(r.Context())
	if terr != nil {
		return terr
	}
	v := sitesView{Sites: sites, Today: care.Today(s.Now())}
	var ids []int64
	for _, k := range []org.Kind{org.KindCountyHospital, org.KindDiagnosis, org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC} {
		for _, in := range t.OfKind(0, k) {
			if in.CountyCode == rc.Actor.CountyCode && in.Active {
				v.Institutions = append(v.Institutions, in)
				ids = append(ids, in.ID)
			}
		}
	}
	if v.Practitioners, terr = s.Store.Practitioners(r.Context(), org.PractitionerFilter{Institutions: ids, Limit: 500}); terr != nil {
		return terr
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "outreach.sites_title"), Flash: outreachFlash(r), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "practice_sites", d, err)
	}
	s.render(w, r, rc, http.StatusOK, "practice_sites", d)
	return nil
}

// sitesPage: GET /admin/practice-sites.
func (s *Server) sitesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.sitesRender(w, r, rc, nil)
}

// siteInput reads a registration from a form: weekdays as repeated
// "weekday" fields, dates as one "dates" field (ISO dates separated by
// spaces or commas).
func siteInput(r *http.Request, fs *[]care.FieldError) outreach.SiteInput {
	in := outreach.SiteInput{PractitionerID: formInt(r.PostFormValue("practitioner_id"), "practitioner_id", fs),
		InstitutionID: formInt(r.PostFormValue("institution_id"), "institution_id", fs)}
	for _, v := range r.PostForm["weekday"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			*fs = append(*fs, care.FieldError{Field: "weekdays", Key: "outreach.weekday_invalid"})
			break
		}
		in.Weekdays = append(in.Weekdays, n)
	}
	for _, v := range strings.FieldsFunc(r.PostFormValue("dates"), func(c rune) bool { return c == ',' || c == ' ' || c == '，' || c == '\n' }) {
		var d care.Date
		if dateField(v, "dates", &d, fs); !d.IsZero() {
			in.Dates = append(in.Dates, d)
		}
	}
	dateField(r.PostFormValue("valid_from"), "valid_from", &in.ValidFrom, fs)
	dateField(r.PostFormValue("valid_to"), "valid_to", &in.ValidTo, fs)
	return in
}

// siteCreate: POST /admin/practice-sites.
func (s *Server) siteCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := siteInput(r, &fs)
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Outreach.RegisterSite(r.Context(), rc.Actor, in)
	}
	if err != nil {
		return s.sitesRender(w, r, rc, err)
	}
	http.Redirect(w, r, "/admin/practice-sites?ok=site_saved", http.StatusSeeOther)
	return nil
}

// siteRevoke: POST /admin/practice-sites/{id}/revoke.
func (s *Server) siteRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Outreach.RevokeSite(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/practice-sites?ok=site_revoked", http.StatusSeeOther)
	return nil
}

// SiteDays describes when a practice site schedules its practitioner:
// the weekdays, the listed dates and the validity.
func (p pageData) SiteDays(x outreach.PracticeSite) string {
	var parts []string
	for _, d := range outreach.WeekdaysOf(x.Weekdays) {
		parts = append(parts, p.T("outreach.weekday."+strconv.Itoa(d)))
	}
	for _, d := range x.Dates {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, p.T("list.sep")) + " · " + p.T("outreach.valid", x.ValidFrom.String(), x.ValidTo.String())
}

// ActingAt is the name of the institution a multi-site practitioner acts
// for today, when it is not their own ("" otherwise).
func (p pageData) ActingAt() string {
	if !p.Actor.Acting() || p.srv == nil || p.srv.Orgs == nil {
		return ""
	}
	t, err := p.srv.Orgs.Tree(context.Background())
	if err != nil {
		return ""
	}
	if in := t.Get(p.Actor.InstitutionID); in != nil {
		return in.Name
	}
	return ""
}
