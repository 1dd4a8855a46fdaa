package web

import (
	"net/http"
	"time"

	"countycare/care"
	"countycare/outreach"
)

// The JSON API of expert sessions and multi-site practice (docs/outreach.md).

type apiSession struct {
	ID             int64     `json:"id"`
	TownshipID     int64     `json:"township_id"`
	Township       string    `json:"township"`
	HostID         int64     `json:"host_id"`
	PractitionerID int64     `json:"practitioner_id"`
	Specialist     string    `json:"specialist"`
	Specialty      string    `json:"specialty"`
	Date           care.Date `json:"date"`
	Slots          []string  `json:"slots"`
	SlotMinutes    int       `json:"slot_minutes"`
	Capacity       int       `json:"capacity"`
	Room           string    `json:"room"`
	Status         string    `json:"status"`
	CancelReason   string    `json:"cancel_reason,omitempty"`
	Version        int       `json:"version"`
	Booked         int       `json:"booked"`
	Attended       int       `json:"attended"`
	NoShow         int       `json:"no_show"`
	Referrals      int       `json:"referrals"`
	Free           int       `json:"free"`
}

func toAPISession(x *outreach.Session) apiSession {
	return apiSession{ID: x.ID, TownshipID: x.TownshipID, Township: x.TownshipName, HostID: x.HostID, PractitionerID: x.PractitionerID,
		Specialist: x.Specialist, Specialty: x.Specialty, Date: x.Date, Slots: x.Slots, SlotMinutes: x.SlotMinutes, Capacity: x.Capacity,
		Room: x.Room, Status: x.Status, CancelReason: x.CancelReason, Version: x.Version, Booked: x.Booked, Attended: x.Attended, NoShow: x.NoShow, Referrals: x.Referrals, Free: x.Free()}
}

func apiSessions(xs []outreach.Session) []apiSession {
	out := make([]apiSession, len(xs))
	for i := range xs {
		out[i] = toAPISession(&xs[i])
	}
	return out
}

type apiBooking struct {
	ID         int64      `json:"id"`
	SessionID  int64      `json:"session_id"`
	ResidentID int64      `json:"resident_id"`
	Name       string     `json:"name,omitempty"`
	Slot       string     `json:"slot"`
	Status     string     `json:"status"`
	Channel    string     `json:"channel"`
	BookedAt   time.Time  `json:"booked_at"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
	Date       *care.Date `json:"date,omitempty"`
	Township   string     `json:"township,omitempty"`
	Specialty  string     `json:"specialty,omitempty"`
}

func toAPIBooking(b *outreach.Booking) apiBooking {
	out := apiBooking{ID: b.ID, SessionID: b.SessionID, ResidentID: b.ResidentID, Name: b.ResidentName, Slot: b.Slot, Status: b.Status,
		Channel: b.Channel, BookedAt: b.BookedAt, UpdatedAt: optTime(b.UpdatedAt), Township: b.Township, Specialty: b.Specialty}
	if !b.Date.IsZero() {
		out.Date = &b.Date
	}
	return out
}

func apiBookings(bs []outreach.Booking) []apiBooking {
	out := make([]apiBooking, len(bs))
	for i := range bs {
		out[i] = toAPIBooking(&bs[i])
	}
	return out
}

// apiOutreachSessions: GET /api/v1/outreach/sessions?from=&to=&township=.
func (s *Server) apiOutreachSessions(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.outreachWindow(r)
	if err != nil {
		return err
	}
	xs, err := s.Outreach.Sessions(r.Context(), rc.Actor, formID(r.URL.Query().Get, "township"), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "sessions": apiSessions(xs)})
	return nil
}

// apiOutreachSchedule: POST /api/v1/outreach/sessions {"township_id",
// "practitioner_id","specialty","date","start","end","slot_minutes","capacity"}.
func (s *Server) apiOutreachSchedule(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		TownshipID     int64     `json:"township_id"`
		PractitionerID int64     `json:"practitioner_id"`
		Specialty      string    `json:"specialty"`
		Date           care.Date `json:"date"`
		Start          string    `json:"start"`
		End            string    `json:"end"`
		SlotMinutes    int       `json:"slot_minutes"`
		Capacity       int       `json:"capacity"`
		Room           string    `json:"room"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.Outreach.Schedule(r.Context(), rc.Actor, outreach.ScheduleInput{TownshipID: in.TownshipID, PractitionerID: in.PractitionerID,
		Specialty: in.Specialty, Date: in.Date, Start: in.Start, End: in.End, SlotMinutes: in.SlotMinutes, Capacity: in.Capacity, Room: in.Room})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPISession(x))
	return nil
}

// apiSessionChange runs an edit or a cancellation of session {id} with
// the body decoded into in, and answers the session as it is now and the
// text messages queued (residents without a mobile number counted).
func (s *Server) apiSessionChange(w http.ResponseWriter, r *http.Request, in any, change func(id int64) (*outreach.Session, outreach.Notices, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := decodeJSON(r, in); err != nil {
		return err
	}
	x, n, err := change(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"session": toAPISession(x), "texts": map[string]int{"queued": n.Queued, "no_mobile": n.NoPhone}})
	return nil
}

// apiOutreachEdit: PUT /api/v1/outreach/sessions/{id} {"version",
// "practitioner_id", "date", "start", "end", "slot_minutes", "capacity",
// "room"} — the whole new session (its organiser only).
func (s *Server) apiOutreachEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Version        int       `json:"version"`
		PractitionerID int64     `json:"practitioner_id"`
		Date           care.Date `json:"date"`
		Start          string    `json:"start"`
		End            string    `json:"end"`
		SlotMinutes    int       `json:"slot_minutes"`
		Capacity       int       `json:"capacity"`
		Room           string    `json:"room"`
	}
	return s.apiSessionChange(w, r, &in, func(id int64) (*outreach.Session, outreach.Notices, error) {
		return s.Outreach.Edit(r.Context(), rc.Actor, id, outreach.EditInput{Version: in.Version, PractitionerID: in.PractitionerID,
			Date: in.Date, Start: in.Start, End: in.End, SlotMinutes: in.SlotMinutes, Capacity: in.Capacity, Room: in.Room})
	})
}

// apiOutreachCancelSession: POST /api/v1/outreach/sessions/{id}/cancel
// {"version", "reason"}.
func (s *Server) apiOutreachCancelSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Version int    `json:"version"`
		Reason  string `json:"reason"`
	}
	return s.apiSessionChange(w, r, &in, func(id int64) (*outreach.Session, outreach.Notices, error) {
		return s.Outreach.CancelSession(r.Context(), rc.Actor, id, in.Version, in.Reason)
	})
}

// apiOutreachSession: GET /api/v1/outreach/sessions/{id} — the session
// with the bookings the caller may see.
func (s *Server) apiOutreachSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.Outreach.Session(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"session": toAPISession(v.Session), "bookings": apiBookings(v.Bookings),
		"all_bookings": v.AllBookings, "free_by_slot": v.FreeBySlot})
	return nil
}

// apiOutreachBook: POST /api/v1/outreach/sessions/{id}/bookings {"resident_id","slot"}.
func (s *Server) apiOutreachBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		ResidentID int64  `json:"resident_id"`
		Slot       string `json:"slot"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := s.Outreach.Book(r.Context(), rc.Actor, id, in.ResidentID, in.Slot)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIBooking(b))
	return nil
}

// apiMyOutreachBook: POST /api/v1/me/outreach/bookings {"session_id","slot"}.
func (s *Server) apiMyOutreachBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		SessionID int64  `json:"session_id"`
		Slot      string `json:"slot"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := s.Outreach.Book(r.Context(), rc.Actor, in.SessionID, rc.Actor.ResidentID, in.Slot)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIBooking(b))
	return nil
}

// apiMyOutreach: GET /api/v1/me/outreach — the resident's bookings and
// the sessions open for booking.
func (s *Server) apiMyOutreach(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.myOutreach(r, rc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"bookings": apiBookings(v.Bookings), "open": apiSessions(v.Open), "cancel_cutoff_hours": v.Cutoff})
	return nil
}

// apiOutreachCancel: POST /api/v1/outreach/bookings/{id}/cancel (and the /me one).
func (s *Server) apiOutreachCancel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.Outreach.Cancel(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIBooking(b))
	return nil
}

// apiOutreachAttend: POST /api/v1/outreach/bookings/{id}/attendance {"outcome":"attended"|"no_show"}.
func (s *Server) apiOutreachAttend(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Outcome string `json:"outcome"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := s.Outreach.Attend(r.Context(), rc.Actor, id, in.Outcome)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIBooking(b))
	return nil
}

// apiOutreachStats: GET /api/v1/outreach/stats?from=&to=.
func (s *Server) apiOutreachStats(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.outreachStatsData(r, rc)
	if err != nil {
		return err
	}
	type row struct {
		TownshipID int64  `json:"township_id"`
		Township   string `json:"township"`
		Sessions   int    `json:"sessions"`
		Seen       int    `json:"seen"`
		NoShow     int    `json:"no_show"`
		Referrals  int    `json:"referrals"`
	}
	rows := make([]row, len(v.Rows))
	for i, x := range v.Rows {
		rows[i] = row{x.TownshipID, x.Township, x.Sessions, x.Seen, x.NoShow, x.Referrals}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": v.From, "to": v.To, "townships": rows})
	return nil
}

type apiSite struct {
	ID             int64       `json:"id"`
	PractitionerID int64       `json:"practitioner_id"`
	Practitioner   string      `json:"practitioner"`
	InstitutionID  int64       `json:"institution_id"`
	Institution    string      `json:"institution"`
	Weekdays       []int       `json:"weekdays"`
	Dates          []care.Date `json:"dates"`
	ValidFrom      care.Date   `json:"valid_from"`
	ValidTo        care.Date   `json:"valid_to"`
	SessionID      int64       `json:"session_id,omitempty"`
}

func toAPISites(ps []outreach.PracticeSite) []apiSite {
	out := make([]apiSite, len(ps))
	for i, p := range ps {
		out[i] = apiSite{ID: p.ID, PractitionerID: p.PractitionerID, Practitioner: p.Practitioner, InstitutionID: p.InstitutionID,
			Institution: p.InstitutionName, Weekdays: outreach.WeekdaysOf(p.Weekdays), Dates: p.Dates, ValidFrom: p.ValidFrom, ValidTo: p.ValidTo,
			SessionID: p.SessionID}
		if out[i].Weekdays == nil {
			out[i].Weekdays = []int{}
		}
		if out[i].Dates == nil {
			out[i].Dates = []care.Date{}
		}
	}
	return out
}

// apiSites: GET /api/v1/practice-sites (administrators).
func (s *Server) apiSites(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ps, err := s.Outreach.CountySites(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": toAPISites(ps)})
	return nil
}

// apiSiteCreate: POST /api/v1/practice-sites {"practitioner_id",
// "institution_id","weekdays":[1,3],"dates":["2026-12-01"],"valid_from","valid_to"}.
func (s *Server) apiSiteCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PractitionerID int64       `json:"practitioner_id"`
		InstitutionID  int64       `json:"institution_id"`
		Weekdays       []int       `json:"weekdays"`
		Dates          []care.Date `json:"dates"`
		ValidFrom      care.Date   `json:"valid_from"`
		ValidTo        care.Date   `json:"valid_to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Outreach.RegisterSite(r.Context(), rc.Actor, outreach.SiteInput{PractitionerID: in.PractitionerID, InstitutionID: in.InstitutionID,
		Weekdays: in.Weekdays, Dates: in.Dates, ValidFrom: in.ValidFrom, ValidTo: in.ValidTo})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPISites([]outreach.PracticeSite{*p})[0])
	return nil
}

// apiSiteRevoke: POST /api/v1/practice-sites/{id}/revoke.
func (s *Server) apiSiteRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Outreach.RevokeSite(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
	return nil
}

// apiWorkplace: GET /api/v1/workplace — where the caller may act today,
// which one they act for, and their sites.
func (s *Server) apiWorkplace(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ps, sites, err := s.Outreach.Workplaces(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	type place struct {
		InstitutionID int64  `json:"institution_id"`
		Name          string `json:"name"`
		Home          bool   `json:"home"`
		Current       bool   `json:"current"`
	}
	out := make([]place, len(ps))
	for i, p := range ps {
		out[i] = place{p.InstitutionID, p.Name, p.Home, p.Current}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acting_institution_id": rc.Actor.InstitutionID, "places": out, "sites": toAPISites(sites)})
	return nil
}

// apiWorkplaceSwitch: POST /api/v1/workplace {"institution_id"}.
func (s *Server) apiWorkplaceSwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		InstitutionID int64 `json:"institution_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Outreach.Act(r.Context(), rc.Actor, in.InstitutionID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"acting_institution_id": in.InstitutionID})
	return nil
}
