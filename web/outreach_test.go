package web_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestExpertSessions walks an expert session (专家下沉坐诊) through the
// pages and the API: the county hospital's specialist schedules one at a
// township (bad input refused whole); a village doctor books a resident
// of their clinic (not one outside it: 404, audited), a resident books
// themself on /me; a second place is refused; the booking list shows
// names to the township and only their own residents to the village
// doctor, none to an analyst; cancellation before the cut-off only;
// attendance by the township from the session's day. The specialist,
// scheduled at the township today by a session, switches to it on
// /workplace, then sees the township's resident (audited under the
// township) and refers them up: the referral counts for the session and
// the township. Both databases.
func TestExpertSessions(t *testing.T) { testdbBoth(t, testExpertSessions) }

func testExpertSessions(t *testing.T, d store.Dialect) {
	// The sessions' clock: today 10:00 in Shanghai, moved by offset.
	y, m, dd := time.Now().In(care.Shanghai).Date()
	base := time.Date(y, m, dd, 10, 0, 0, 0, care.Shanghai)
	var offset atomic.Int64
	e := newEnvWith(t, d, envOptions{outreachNow: func() time.Time { return base.Add(time.Duration(offset.Load())) }})
	today := care.Today(base)
	spec, td, vd := e.as(care.RoleCountySpecialist), e.as(care.RoleTownshipDoctor), e.as(care.RoleVillageDoctor)
	analyst, admin, me := e.as(care.RoleAnalyst), e.as(care.RoleAdmin), e.as(care.RoleResident)
	var specPract, meID, township, home int64
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT practitioner_id, institution_id FROM accounts WHERE username = '%s'`, e.users[care.RoleCountySpecialist]), &specPract, &home)
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT resident_id FROM accounts WHERE username = '%s'`, e.users[care.RoleResident]), &meID)
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT institution_id FROM accounts WHERE username = '%s'`, e.users[care.RoleTownshipDoctor]), &township)
	rid := firstResident(t, vd)

	for _, c := range []*client{spec, td, vd, analyst, admin} {
		if r := c.get("/outreach"); r.code != 200 {
			t.Fatalf("/outreach: %d", r.code)
		}
	}
	if r := spec.get("/outreach"); !strings.Contains(r.body, `id="outreach-schedule"`) {
		t.Fatal("the specialist has no schedule form")
	}
	if r := vd.get("/outreach"); strings.Contains(r.body, `id="outreach-schedule"`) {
		t.Fatal("a village doctor may schedule")
	}
	if r := me.get("/outreach"); r.code != 403 {
		t.Fatalf("a resident on /outreach: %d", r.code)
	}
	sched := func(c *client, day care.Date, start, end string) response {
		return c.postJSON("/api/v1/outreach/sessions", map[string]any{"township_id": township, "practitioner_id": specPract, "specialty": "心血管内科",
			"date": day.String(), "start": start, "end": end, "slot_minutes": 30, "capacity": 2})
	}
	if r := vd.postJSON("/api/v1/outreach/sessions", map[string]any{}); r.code != 403 {
		t.Fatalf("a village doctor schedules: %d", r.code)
	}
	if r := spec.postJSON("/api/v1/outreach/sessions", map[string]any{"township_id": home, "practitioner_id": specPract, "specialty": "",
		"date": today.AddDays(-1).String(), "start": "10:00", "end": "09:00", "slot_minutes": 30, "capacity": 99}); r.code != 422 ||
		!strings.Contains(r.body, `"outreach.township_invalid"`) || !strings.Contains(r.body, `"outreach.date_past"`) ||
		!strings.Contains(r.body, `"outreach.slots_invalid"`) || !strings.Contains(r.body, `"outreach.capacity_range"`) {
		t.Fatalf("bad session: %d %s", r.code, r.body)
	}
	r := sched(spec, today.AddDays(1), "08:00", "09:00")
	if r.code != 201 {
		t.Fatalf("schedule: %d %s", r.code, r.body)
	}
	var sess struct {
		ID    int64    `json:"id"`
		Slots []string `json:"slots"`
	}
	json.Unmarshal([]byte(r.body), &sess)
	sid := fmt.Sprint(sess.ID)

	// Bookings: the village doctor for their resident, the resident on /me.
	book := func(c *client, resident any, slot string) response {
		return c.postJSON("/api/v1/outreach/sessions/"+sid+"/bookings", map[string]any{"resident_id": resident, "slot": slot})
	}
	if r := book(vd, json.Number(rid), "08:00"); r.code != 201 {
		t.Fatalf("village booking: %d %s", r.code, r.body)
	}
	if r := book(vd, json.Number(rid), "08:30"); r.code != 409 || errKey(t, r) != "outreach.already_booked" {
		t.Fatalf("second place: %d %s", r.code, r.body)
	}
	var outside int64
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT id FROM residents WHERE village_id <> (SELECT institution_id FROM accounts WHERE username = '%s') ORDER BY id LIMIT 1`,
		e.users[care.RoleVillageDoctor]), &outside)
	if r := book(vd, outside, "08:00"); r.code != 404 {
		t.Fatalf("booking a resident outside the clinic: %d", r.code)
	}
	e.writer.Flush(t.Context())
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE resident_id = %d AND outcome = 'denied'`, outside); n < 1 {
		t.Fatal("the refused booking is not audited")
	}
	if r := me.postJSON("/api/v1/me/outreach/bookings", map[string]any{"session_id": sess.ID, "slot": "08:00"}); r.code != 201 {
		t.Fatalf("self booking: %d %s", r.code, r.body)
	}
	if r := me.postJSON("/api/v1/me/outreach/bookings", map[string]any{"session_id": sess.ID, "slot": "08:00"}); r.code != 409 {
		t.Fatalf("self booking twice: %d %s", r.code, r.body)
	}
	if p := me.get("/me/outreach"); p.code != 200 || !strings.Contains(p.body, `id="my-bookings"`) {
		t.Fatalf("/me/outreach: %d", p.code)
	}

	// Who sees which bookings.
	var name string
	e.st.QueryRowForTest(t.Context(), `SELECT name FROM residents WHERE id = `+rid, &name)
	if p := td.get("/outreach/sessions/" + sid); p.code != 200 || !strings.Contains(p.body, name) || !strings.Contains(p.body, `id="outreach-bookings"`) {
		t.Fatalf("the township's list: %d", p.code)
	}
	if r := vd.get("/api/v1/outreach/sessions/" + sid); r.code != 200 || !strings.Contains(r.body, `"all_bookings":false`) ||
		!strings.Contains(r.body, `"resident_id":`+rid+`,`) || !strings.Contains(r.body, `"booked":2`) {
		t.Fatalf("the village doctor's list: %s", r.body)
	}
	if r := analyst.get("/api/v1/outreach/sessions/" + sid); r.code != 200 || strings.Contains(r.body, `"resident_id"`) {
		t.Fatalf("the analyst's list: %s", r.body)
	}
	e.writer.Flush(t.Context())
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'outreach.bookings'`); n < 2 {
		t.Fatalf("booking lists read: %d audit rows", n)
	}
	if r := spec.get("/api/v1/outreach/sessions/999999"); r.code != 404 {
		t.Fatalf("a missing session: %d", r.code)
	}

	// Cancellation: 22 hours before the slot with a 24-hour cut-off.
	var mine struct {
		Bookings []struct {
			ID int64 `json:"id"`
		} `json:"bookings"`
	}
	json.Unmarshal([]byte(me.get("/api/v1/me/outreach").body), &mine)
	if len(mine.Bookings) != 1 {
		t.Fatalf("my bookings: %+v", mine)
	}
	cancel := fmt.Sprintf("/api/v1/me/outreach/bookings/%d/cancel", mine.Bookings[0].ID)
	if r := me.postJSON(cancel, nil); r.code != 409 || errKey(t, r) != "outreach.cancel_too_late" {
		t.Fatalf("late cancel: %d %s", r.code, r.body)
	}
	offset.Store(int64(-10 * time.Hour)) // 32 hours before
	if r := me.postJSON(cancel, nil); r.code != 200 || !strings.Contains(r.body, `"status":"cancelled"`) {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}

	// Attendance: the township, from the session's day.
	var vb struct {
		Bookings []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"bookings"`
	}
	json.Unmarshal([]byte(td.get("/api/v1/outreach/sessions/"+sid).body), &vb)
	var live int64
	for _, b := range vb.Bookings {
		if b.Status == "booked" {
			live = b.ID
		}
	}
	attend := fmt.Sprintf("/api/v1/outreach/bookings/%d/attendance", live)
	if r := td.postJSON(attend, map[string]any{"outcome": "attended"}); r.code != 409 || errKey(t, r) != "outreach.too_early" {
		t.Fatalf("attendance the day before: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(attend, map[string]any{"outcome": "attended"}); r.code != 403 {
		t.Fatalf("a village doctor records attendance: %d", r.code)
	}
	offset.Store(int64(24 * time.Hour))
	if r := td.postForm(fmt.Sprintf("/outreach/bookings/%d/attendance", live), url.Values{"outcome": {"attended"}}, true); r.code != 303 {
		t.Fatalf("attendance from the page: %d %s", r.code, r.body)
	}
	if r := td.get("/api/v1/outreach/sessions/" + sid); !strings.Contains(r.body, `"attended":1`) {
		t.Fatalf("counts after attendance: %s", r.body)
	}
	offset.Store(0)

	// The specialist works at the township today: a session schedules them.
	if r := spec.postJSON("/api/v1/workplace", map[string]any{"institution_id": township}); r.code != 409 || errKey(t, r) != "outreach.not_scheduled" {
		t.Fatalf("switch before any session today: %d %s", r.code, r.body)
	}
	if r := spec.get("/residents/" + rid); r.code != 404 {
		t.Fatalf("the specialist at home sees a village resident: %d", r.code)
	}
	r = sched(spec, today, "14:00", "16:00")
	if r.code != 201 {
		t.Fatalf("today's session: %d %s", r.code, r.body)
	}
	json.Unmarshal([]byte(r.body), &sess)
	if p := spec.get("/workplace"); p.code != 200 || !strings.Contains(p.body, fmt.Sprintf(`value="%d"`, township)) {
		t.Fatalf("/workplace lists no township: %d", p.code)
	}
	if r := spec.postForm("/workplace", url.Values{"institution_id": {fmt.Sprint(township)}}, true); r.code != 303 {
		t.Fatalf("switch: %d %s", r.code, r.body)
	}
	if r := spec.get("/api/v1/workplace"); !strings.Contains(r.body, fmt.Sprintf(`"acting_institution_id":%d`, township)) {
		t.Fatalf("acting: %s", r.body)
	}
	if p := spec.get("/outreach"); !strings.Contains(p.body, `id="acting-at"`) {
		t.Fatal("the page does not say where the specialist works today")
	}
	if r := spec.get("/residents/" + rid); r.code != 200 {
		t.Fatalf("acting at the township, its resident: %d", r.code)
	}
	e.writer.Flush(t.Context())
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'resident.read' AND resident_id = %s AND institution_id = %d AND username = '%s'`,
		rid, township, e.users[care.RoleCountySpecialist]); n < 1 {
		t.Fatal("the read is not audited under the township")
	}
	ref := spec.postJSON("/api/v1/referrals", map[string]any{"resident_id": json.Number(rid), "reasons": []string{"em_severe_bp"}, "summary": "BP 200/120",
		"urgency": "routine", "to_institution": home, "idempotency_key": "outreach-1"})
	if ref.code != 201 {
		t.Fatalf("referral from the session: %d %s", ref.code, ref.body)
	}
	if r := spec.get(fmt.Sprintf("/api/v1/outreach/sessions/%d", sess.ID)); !strings.Contains(r.body, `"referrals":1`) {
		t.Fatalf("the session's referrals: %s", r.body)
	}
	if r := analyst.get("/api/v1/outreach/stats"); r.code != 200 || !strings.Contains(r.body, fmt.Sprintf(`"township_id":%d`, township)) || !strings.Contains(r.body, `"referrals":1`) {
		t.Fatalf("stats: %d %s", r.code, r.body)
	}
	if p := analyst.get("/outreach/stats"); p.code != 200 || !strings.Contains(p.body, `id="outreach-stats"`) {
		t.Fatalf("stats page: %d", p.code)
	}
	if p := analyst.get("/outreach/stats?from=2026-13-01"); p.code != 422 {
		t.Fatalf("bad period: %d", p.code)
	}
	// Back home: the township's residents are out of sight again (but
	// the one referred, now linked to the hospital by the referral).
	var other int64
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT id FROM residents WHERE village_id = (SELECT institution_id FROM accounts WHERE username = '%s')
		AND id <> %s AND id NOT IN (SELECT resident_id FROM care_links WHERE institution_id = %d) ORDER BY id LIMIT 1`, e.users[care.RoleVillageDoctor], rid, home), &other)
	if r := spec.get(fmt.Sprintf("/residents/%d", other)); r.code != 200 {
		t.Fatalf("acting at the township, another of its residents: %d", r.code)
	}
	if r := spec.postJSON("/api/v1/workplace", map[string]any{"institution_id": home}); r.code != 200 {
		t.Fatalf("back home: %d %s", r.code, r.body)
	}
	if r := spec.get(fmt.Sprintf("/residents/%d", other)); r.code != 404 {
		t.Fatalf("back home, the township's resident: %d", r.code)
	}
	if r := spec.get("/residents/" + rid); r.code != 200 {
		t.Fatalf("back home, the referred resident: %d", r.code)
	}

	// Multi-site registrations: administrators only, checked.
	if p := admin.get("/admin/practice-sites"); p.code != 200 || !strings.Contains(p.body, `id="site-new"`) {
		t.Fatalf("sites page: %d", p.code)
	}
	if r := spec.postJSON("/api/v1/practice-sites", map[string]any{}); r.code != 403 {
		t.Fatalf("a specialist registers: %d", r.code)
	}
	if r := admin.postJSON("/api/v1/practice-sites", map[string]any{"practitioner_id": specPract, "institution_id": home,
		"valid_from": today.String(), "valid_to": today.AddDays(30).String()}); r.code != 422 || !strings.Contains(r.body, `"outreach.site_invalid"`) ||
		!strings.Contains(r.body, `"outreach.site_no_days"`) {
		t.Fatalf("bad site: %d %s", r.code, r.body)
	}
	if r := admin.postForm("/admin/practice-sites", url.Values{"practitioner_id": {fmt.Sprint(specPract)}, "institution_id": {fmt.Sprint(township)},
		"weekday": {"1", "3"}, "valid_from": {today.String()}, "valid_to": {today.AddDays(90).String()}}, true); r.code != 303 {
		t.Fatalf("site from the page: %d %s", r.code, r.body)
	}
	if r := admin.get("/api/v1/practice-sites"); !strings.Contains(r.body, `"weekdays":[1,3]`) {
		t.Fatalf("sites: %s", r.body)
	}
}

// TestExpertSessionChanges (issue 17): the session's organiser edits and
// cancels it over the pages and the API; others may not (a village
// doctor: 403; the page shows no form to the township); capacity below
// the bookings held is refused with its own error, nothing written; a
// room change texts the booked residents (the page counts the texts and
// the residents without a mobile number); a cancellation needs a reason
// and cancels every booking, which the resident sees on /me. Both
// databases.
func TestExpertSessionChanges(t *testing.T) { testdbBoth(t, testExpertSessionChanges) }

func testExpertSessionChanges(t *testing.T, d store.Dialect) {
	y, m, dd := time.Now().In(care.Shanghai).Date()
	base := time.Date(y, m, dd, 10, 0, 0, 0, care.Shanghai)
	e := newEnvWith(t, d, envOptions{outreachNow: func() time.Time { return base }})
	today := care.Today(base)
	spec, td, vd, me := e.as(care.RoleCountySpecialist), e.as(care.RoleTownshipDoctor), e.as(care.RoleVillageDoctor), e.as(care.RoleResident)
	var specPract, township, meID int64
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT practitioner_id FROM accounts WHERE username = '%s'`, e.users[care.RoleCountySpecialist]), &specPract)
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT institution_id FROM accounts WHERE username = '%s'`, e.users[care.RoleTownshipDoctor]), &township)
	e.st.QueryRowForTest(t.Context(), fmt.Sprintf(`SELECT resident_id FROM accounts WHERE username = '%s'`, e.users[care.RoleResident]), &meID)
	rid := firstResident(t, vd)
	if err := e.st.ExecForTest(t.Context(), `UPDATE residents SET phone = '13912345678' WHERE id = `+rid); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ExecForTest(t.Context(), fmt.Sprintf(`UPDATE residents SET phone = '' WHERE id = %d`, meID)); err != nil {
		t.Fatal(err)
	}
	day := today.AddDays(2)
	r := spec.postJSON("/api/v1/outreach/sessions", map[string]any{"township_id": township, "practitioner_id": specPract, "specialty": "心血管内科",
		"date": day.String(), "start": "08:00", "end": "09:00", "slot_minutes": 30, "capacity": 2, "room": "一楼3诊室"})
	if r.code != 201 || !strings.Contains(r.body, `"room":"一楼3诊室"`) || !strings.Contains(r.body, `"version":1`) {
		t.Fatalf("schedule: %d %s", r.code, r.body)
	}
	var sess struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal([]byte(r.body), &sess)
	sid := fmt.Sprint(sess.ID)
	if r := vd.postJSON("/api/v1/outreach/sessions/"+sid+"/bookings", map[string]any{"resident_id": json.Number(rid), "slot": "08:00"}); r.code != 201 {
		t.Fatalf("village booking: %d %s", r.code, r.body)
	}
	if r := me.postJSON("/api/v1/me/outreach/bookings", map[string]any{"session_id": sess.ID, "slot": "08:00"}); r.code != 201 {
		t.Fatalf("self booking: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox WHERE purpose = 'outreach.booked' AND ref = 'outreach:%s'`, sid); n != 1 {
		t.Fatalf("confirmations: %d, want 1 (the resident on /me has no mobile number)", n)
	}

	edit := map[string]any{"version": 1, "practitioner_id": specPract, "date": day.String(), "start": "08:00", "end": "09:00", "slot_minutes": 30, "capacity": 1}
	put := func(c *client, v any) response {
		b, _ := json.Marshal(v)
		return c.do("PUT", "/api/v1/outreach/sessions/"+sid, "application/json", b, map[string]string{"X-CSRF-Token": c.csrf})
	}
	if r := put(vd, edit); r.code != 403 {
		t.Fatalf("a village doctor edits: %d", r.code)
	}
	if r := put(spec, edit); r.code != 409 || errKey(t, r) != "outreach.capacity_below_booked" {
		t.Fatalf("capacity under the bookings: %d %s", r.code, r.body)
	}
	if p := td.get("/outreach/sessions/" + sid); p.code != 200 || strings.Contains(p.body, `id="outreach-edit"`) {
		t.Fatalf("the township's page offers the edit form: %d", p.code)
	}
	if p := spec.get("/outreach/sessions/" + sid); p.code != 200 || !strings.Contains(p.body, `id="outreach-edit"`) || !strings.Contains(p.body, `id="outreach-cancel-session"`) {
		t.Fatalf("the organiser's page has no edit or cancel form: %d", p.code)
	}
	// A room change from the page: the booked residents are texted.
	form := url.Values{"version": {"1"}, "practitioner_id": {fmt.Sprint(specPract)}, "date": {day.String()}, "start": {"08:00"}, "end": {"09:00"},
		"slot_minutes": {"30"}, "capacity": {"3"}, "room": {"二楼专家诊室"}}
	r = spec.postForm("/outreach/sessions/"+sid+"/edit", form, true)
	if r.code != 303 || !strings.Contains(r.header.Get("Location"), "queued=1&no_mobile=1") {
		t.Fatalf("edit from the page: %d %s", r.code, r.header.Get("Location"))
	}
	if p := spec.get(r.header.Get("Location")); !strings.Contains(p.body, `id="outreach-texted"`) || !strings.Contains(p.body, "二楼专家诊室") {
		t.Fatal("the session page does not show the texts or the new room")
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox WHERE purpose = 'outreach.moved' AND body LIKE '%%二楼专家诊室%%'`); n != 1 {
		t.Fatalf("move messages: %d", n)
	}
	if r := spec.postForm("/outreach/sessions/"+sid+"/edit", form, true); r.code != 409 || !strings.Contains(r.body, `id="outreach-edit" open`) {
		t.Fatalf("a stale edit from the page: %d", r.code)
	}

	// Cancellation over the API.
	if r := spec.postJSON("/api/v1/outreach/sessions/"+sid+"/cancel", map[string]any{"version": 2, "reason": ""}); r.code != 422 {
		t.Fatalf("no reason: %d %s", r.code, r.body)
	}
	r = spec.postJSON("/api/v1/outreach/sessions/"+sid+"/cancel", map[string]any{"version": 2, "reason": "专家临时手术"})
	if r.code != 200 || !strings.Contains(r.body, `"status":"cancelled"`) || !strings.Contains(r.body, `"texts":{"no_mobile":1,"queued":1}`) {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM outreach_bookings WHERE session_id = %s AND status <> 'cancelled'`, sid); n != 0 {
		t.Fatalf("live bookings after the cancellation: %d", n)
	}
	if p := me.get("/me/outreach"); p.code != 200 || strings.Contains(p.body, `/cancel"`) {
		t.Fatal("the resident's page does not show the booking cancelled")
	}
	e.writer.Flush(t.Context())
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action IN ('outreach.edit', 'outreach.cancel_session') AND outcome = 'ok'`); n != 2 {
		t.Fatalf("audit rows of the edit and the cancellation: %d", n)
	}
}
