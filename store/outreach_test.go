package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/outreach"
	"countycare/resident"
	"countycare/store"
)

type outreachFixture struct {
	*fixture
	svc      *outreach.Service
	tree     *org.Tree
	spec     care.Actor // a county specialist of a county hospital
	td       care.Actor // a township doctor at the session's township
	vd       care.Actor // a village doctor of a village of that township
	township int64
}

func newOutreachFixture(t *testing.T, d store.Dialect) *outreachFixture {
	f := newFixture(t, d)
	tree, err := f.orgs.Tree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	of := &outreachFixture{fixture: f, tree: tree, spec: f.actors[care.RoleCountySpecialist], td: f.actors[care.RoleTownshipDoctor],
		vd: f.actors[care.RoleVillageDoctor]}
	of.svc = &outreach.Service{Repo: f.st, Orgs: f.orgs, Staff: f.st, Residents: f.res, Audit: syncRecorder{f.st, t}, Config: outreach.DefaultConfig(),
		Now: f.clk.Now, Forget: f.accounts.SessionsChanged}
	of.township = of.td.InstitutionID
	if k := tree.Get(of.spec.InstitutionID).Kind; k != org.KindCountyHospital {
		t.Fatalf("the demo's county specialist works at a %s", k)
	}
	if !tree.IsWithin(of.vd.InstitutionID, of.township) {
		t.Fatal("the demo's village doctor is not under the demo's township")
	}
	return of
}

// residents returns n residents of the village doctor's clinic.
func (f *outreachFixture) residents(t *testing.T, n int) []int64 {
	t.Helper()
	list, _, err := f.res.Search(context.Background(), f.vd, "", resident.Filter{Limit: 100})
	if err != nil || len(list) < n {
		t.Fatalf("residents: %d, %v", len(list), err)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = list[i].ID
	}
	return out
}

func (f *outreachFixture) schedule(t *testing.T, day care.Date, start, end string, capacity int) *outreach.Session {
	t.Helper()
	ss, err := f.svc.Schedule(context.Background(), f.spec, outreach.ScheduleInput{TownshipID: f.township, PractitionerID: f.spec.PractitionerID,
		Specialty: "心内科", Date: day, Start: start, End: end, SlotMinutes: 30, Capacity: capacity})
	if err != nil {
		t.Fatalf("schedule %s: %v", day, err)
	}
	return ss
}

// TestOutreachBookingRules: scheduling refuses bad input whole and a
// second session of one specialist on a day; a slot takes no more than
// its capacity and a resident no more than one place in a session under
// parallel bookings; no booking once a slot has begun; a resident cancels
// only before the configured cut-off; attendance only by the township,
// not before the day; the counts per session and per township. Both
// databases.
func TestOutreachBookingRules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newOutreachFixture(t, d)
		ctx := context.Background()
		today := care.Today(f.clk.Now()) // 2026-11-22, 10:00 in Shanghai
		vill := f.tree.Get(f.vd.InstitutionID)

		_, err := f.svc.Schedule(ctx, f.spec, outreach.ScheduleInput{TownshipID: vill.ID, PractitionerID: f.spec.PractitionerID,
			Specialty: "", Date: today.AddDays(-1), Start: "09:00", End: "08:00", SlotMinutes: 30, Capacity: 0})
		fields := map[string]string{}
		if ce, ok := err.(*care.Error); ok {
			for _, fe := range ce.Fields {
				fields[fe.Field] = fe.Key
			}
		}
		want := map[string]string{"township_id": "outreach.township_invalid", "specialty": "field.required", "date": "outreach.date_past",
			"start": "outreach.slots_invalid", "capacity": "outreach.capacity_range"}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("bad session: field %s: got %q, want %q", k, fields[k], v)
			}
		}
		if _, err := f.svc.Schedule(ctx, f.td, outreach.ScheduleInput{}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("a township doctor schedules: %v", err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM outreach_sessions`); n != 0 {
			t.Fatalf("refused sessions left %d rows", n)
		}

		tomorrow := f.schedule(t, today.AddDays(1), "08:00", "09:00", 3)
		if len(tomorrow.Slots) != 2 || tomorrow.Slots[1] != "08:30" || tomorrow.Places() != 6 {
			t.Fatalf("slots: %v", tomorrow.Slots)
		}
		if _, err := f.svc.Schedule(ctx, f.spec, outreach.ScheduleInput{TownshipID: f.township, PractitionerID: f.spec.PractitionerID,
			Specialty: "心内科", Date: today.AddDays(1), Start: "14:00", End: "15:00", SlotMinutes: 30, Capacity: 3}); fieldKey(err) != "outreach.specialist_busy" {
			t.Fatalf("the specialist twice on a day: %v", err)
		}

		// Eight residents race for one slot of three places: three get one.
		rs := f.residents(t, 10)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.svc.Book(ctx, f.vd, tomorrow.ID, rs[i], "08:00")
			}()
		}
		wg.Wait()
		ok, full := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case fieldKey(err) == "outreach.slot_full":
				full++
			default:
				t.Errorf("parallel booking: %v", err)
			}
		}
		if ok != 3 || full != 5 {
			t.Fatalf("parallel bookings: %d booked, %d full; want 3 and 5", ok, full)
		}
		// One resident booked from four places at once: one place.
		errs = errs[:4]
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.svc.Book(ctx, f.vd, tomorrow.ID, rs[8], "08:30")
			}()
		}
		wg.Wait()
		ok = 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if fieldKey(err) != "outreach.already_booked" {
				t.Errorf("double booking: %v", err)
			}
		}
		if ok != 1 || f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outreach_bookings WHERE resident_id = %d`, rs[8])) != 1 {
			t.Fatalf("one resident holds %d places", ok)
		}
		if _, err := f.svc.Book(ctx, f.vd, tomorrow.ID, rs[9], "07:00"); fieldKey(err) != "outreach.slot_invalid" {
			t.Errorf("no such slot: %v", err)
		}

		// A session today whose slots have begun (10:00 now): no booking.
		past, err := f.svc.Schedule(ctx, f.spec, outreach.ScheduleInput{TownshipID: f.township, PractitionerID: f.spec.PractitionerID,
			Specialty: "心内科", Date: today, Start: "08:00", End: "09:00", SlotMinutes: 30, Capacity: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Book(ctx, f.vd, past.ID, rs[9], "08:00"); fieldKey(err) != "outreach.session_closed" {
			t.Errorf("booking in the past: %v", err)
		}

		// Cancellation: the slot starts in 22 hours; the cut-off is 24 (refused), then 12.
		var first *outreach.Booking
		v, err := f.svc.Session(ctx, f.vd, tomorrow.ID)
		if err != nil || len(v.Bookings) != 4 {
			t.Fatalf("the village doctor's bookings: %v, %v", v, err)
		}
		first = &v.Bookings[0]
		if _, err := f.svc.Cancel(ctx, f.vd, first.ID); fieldKey(err) != "outreach.cancel_too_late" {
			t.Fatalf("cancel within the cut-off: %v", err)
		}
		f.svc.Config.CancelCutoffHours = 12
		if _, err := f.svc.Cancel(ctx, f.vd, first.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if _, err := f.svc.Cancel(ctx, f.vd, first.ID); fieldKey(err) != "outreach.not_booked" {
			t.Fatalf("cancel twice: %v", err)
		}
		if _, err := f.svc.Book(ctx, f.vd, tomorrow.ID, rs[9], "08:00"); err != nil {
			t.Fatalf("the freed place: %v", err)
		}

		// Attendance: not before the day, only the township's staff.
		if _, err := f.svc.Attend(ctx, f.td, v.Bookings[1].ID, outreach.Attended); fieldKey(err) != "outreach.too_early" {
			t.Fatalf("attendance before the day: %v", err)
		}
		if _, err := f.svc.Attend(ctx, f.vd, v.Bookings[1].ID, outreach.Attended); !care.IsCode(err, care.EFORBIDDEN) {
			t.Fatalf("a village doctor records attendance: %v", err)
		}
		f.clk.Add(24 * time.Hour)
		if _, err := f.svc.Attend(ctx, f.td, v.Bookings[1].ID, "maybe"); fieldKey(err) != "outreach.outcome_invalid" {
			t.Fatalf("bad outcome: %v", err)
		}
		for i, o := range []string{outreach.Attended, outreach.Attended, outreach.NoShow} {
			if _, err := f.svc.Attend(ctx, f.td, v.Bookings[1+i].ID, o); err != nil {
				t.Fatalf("attendance: %v", err)
			}
		}
		if _, err := f.svc.Attend(ctx, f.td, first.ID, outreach.Attended); fieldKey(err) != "outreach.not_booked" {
			t.Fatalf("attendance of a cancelled booking: %v", err)
		}
		got, err := f.st.OutreachSession(ctx, f.td.CountyCode, tomorrow.ID)
		if err != nil || got.Booked != 1 || got.Attended != 2 || got.NoShow != 1 {
			t.Fatalf("session counts: %+v, %v", got, err)
		}
		stats, err := f.svc.Stats(ctx, f.td, today, today.AddDays(30))
		if err != nil || len(stats) != 1 || stats[0].Sessions != 2 || stats[0].Seen != 2 || stats[0].NoShow != 1 {
			t.Fatalf("township counts: %+v, %v", stats, err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_events WHERE action IN ('outreach.book', 'outreach.cancel', 'outreach.attendance') AND resident_id <> 0 AND outcome = 'ok'`); n != 4+1+1+3 {
			t.Errorf("audit rows of bookings, cancellations, attendance: %d, want 9", n)
		}
	})
}

// TestMultiSitePractice: a county specialist scheduled at a township
// today may switch their session to act for it; the actor then carries
// the township (audit rows too), sees the township's residents and not
// those linked to their home hospital; a switch to an institution they
// are not scheduled at is refused; on a day their site does not cover,
// or once it is revoked, the session acts for their home hospital again.
// Both databases.
func TestMultiSitePractice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newOutreachFixture(t, d)
		ctx := context.Background()
		today := care.Today(f.clk.Now())
		var pw string
		for _, l := range f.demo.Logins {
			if l.Role == care.RoleCountySpecialist {
				pw = l.Password
			}
		}
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: f.spec.Username, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		actor := func() care.Actor {
			t.Helper()
			_, a, err := f.accounts.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		home := f.spec.InstitutionID
		local := f.residents(t, 1)[0]
		var linked int64
		sub := strings.Trim(fmt.Sprint(f.tree.Subtree(f.township)), "[]")
		if err := f.st.QueryRowForTest(ctx, fmt.Sprintf(`SELECT c.resident_id FROM care_links c JOIN residents r ON r.id = c.resident_id
			WHERE c.institution_id = %d AND c.expires_at IS NULL AND r.village_id NOT IN (%s) ORDER BY c.id LIMIT 1`, home, strings.ReplaceAll(sub, " ", ",")), &linked); err != nil {
			t.Fatalf("a resident linked to the county hospital: %v", err)
		}
		a := actor()
		if _, err := f.res.Get(ctx, a, local); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("the specialist at home sees a village's resident: %v", err)
		}
		if _, err := f.res.Get(ctx, a, linked); err != nil {
			t.Fatalf("the specialist at home: %v", err)
		}
		// Not scheduled at the township today: refused, audited.
		if err := f.svc.Act(ctx, a, f.township); fieldKey(err) != "outreach.not_scheduled" {
			t.Fatalf("act unscheduled: %v", err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_events WHERE action = 'outreach.acting' AND outcome = 'denied'`); n != 1 {
			t.Fatalf("the refused switch is not audited")
		}
		// A session today schedules them there.
		f.schedule(t, today, "14:00", "16:00", 4)
		ws, _, err := f.svc.Workplaces(ctx, a)
		if err != nil || len(ws) != 2 || !ws[0].Home || ws[1].InstitutionID != f.township {
			t.Fatalf("workplaces: %+v, %v", ws, err)
		}
		if err := f.svc.Act(ctx, a, f.township); err != nil {
			t.Fatalf("act: %v", err)
		}
		a = actor()
		if a.InstitutionID != f.township || a.HomeInstitutionID != home || !a.Acting() {
			t.Fatalf("acting actor: %+v", a)
		}
		if _, err := f.res.Get(ctx, a, local); err != nil {
			t.Fatalf("acting at the township, a township resident: %v", err)
		}
		if _, err := f.res.Get(ctx, a, linked); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("acting at the township, the home hospital's patient: %v", err)
		}
		if n := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM audit_events WHERE action = 'resident.read' AND resident_id = %d AND institution_id = %d AND account_id = %d`,
			local, f.township, a.AccountID)); n != 1 {
			t.Fatalf("the read's audit row does not carry the township: %d", n)
		}
		// Back home by choice.
		if err := f.svc.Act(ctx, a, home); err != nil || actor().InstitutionID != home {
			t.Fatalf("back home: %v", err)
		}
		// A registration on weekdays: Sunday (today, 2026-11-22) only.
		if _, err := f.svc.RegisterSite(ctx, f.spec, outreach.SiteInput{}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Fatalf("a specialist registers a site: %v", err)
		}
		admin := f.actors[care.RoleAdmin]
		other := f.tree.OfKind(0, org.KindTownshipHC)
		var town2 int64
		for _, in := range other {
			if in.ID != f.township && in.CountyCode == admin.CountyCode {
				town2 = in.ID
				break
			}
		}
		if _, err := f.svc.RegisterSite(ctx, admin, outreach.SiteInput{PractitionerID: f.spec.PractitionerID, InstitutionID: home,
			ValidFrom: today.AddDays(5), ValidTo: today}); !care.IsCode(err, care.EINVALID) {
			t.Fatalf("a bad site: %v", err)
		}
		site, err := f.svc.RegisterSite(ctx, admin, outreach.SiteInput{PractitionerID: f.spec.PractitionerID, InstitutionID: town2,
			Weekdays: []int{0}, ValidFrom: today, ValidTo: today.AddDays(90)})
		if err != nil {
			t.Fatalf("site: %v", err)
		}
		if err := f.svc.Act(ctx, a, town2); err != nil || actor().InstitutionID != town2 {
			t.Fatalf("act at the weekday site: %v", err)
		}
		// Revoked: the stored switch no longer holds.
		if err := f.svc.RevokeSite(ctx, admin, site.ID); err != nil {
			t.Fatal(err)
		}
		f.accounts.SessionsChanged(a.AccountID)
		if got := actor(); got.InstitutionID != home || got.Acting() {
			t.Fatalf("after the revocation the session acts for %d", got.InstitutionID)
		}
		// A switch stored for a township the practitioner is not scheduled
		// at today (yesterday's session, say) falls back to home.
		if err := f.st.SetActingInstitution(ctx, a.SessionID, town2, audit.New(ctx, a, "test", 0)); err != nil {
			t.Fatal(err)
		}
		f.accounts.SessionsChanged(a.AccountID)
		if got := actor(); got.InstitutionID != home {
			t.Fatalf("unscheduled day: acts for %d", got.InstitutionID)
		}
	})
}

func (f *outreachFixture) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	if err := f.st.QueryRowForTest(context.Background(), q, &n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// outbox counts the queued messages of purpose about session id.
func (f *outreachFixture) outbox(t *testing.T, purpose string, id int64) int {
	return f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outbox WHERE purpose = '%s' AND ref = 'outreach:%d'`, purpose, id))
}

// TestOutreachSessionChanges (issue 17): a session is edited by its
// organiser only — another hospital's specialist gets 404, audited —;
// capacity cannot drop below the bookings a slot holds and a booked slot
// cannot vanish (nothing written); a move texts every booked resident
// with a mobile number (one without is counted, not an error) and moves
// their slots; the day-before reminder goes out once however often the
// duty runs, only in its hours, and again after a move; a cancellation
// cancels every booking, revokes the specialist's site and texts them
// (nothing half-written on a bad reason); a village doctor cancels only
// bookings they made. Both databases.
func TestOutreachSessionChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newOutreachFixture(t, d)
		ctx := context.Background()
		today := care.Today(f.clk.Now()) // 2026-11-22, 10:00 in Shanghai
		ss := f.schedule(t, today.AddDays(2), "08:00", "09:00", 3)
		me := f.actors[care.RoleResident]
		var rs []int64
		for _, r := range f.residents(t, 6) {
			if r != me.ResidentID && len(rs) < 5 {
				rs = append(rs, r)
			}
		}
		for i, r := range rs {
			phone := fmt.Sprintf("1380000%04d", i)
			if i == 2 {
				phone = "" // no mobile number: skipped and counted
			}
			if err := f.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE residents SET phone = '%s' WHERE id = %d`, phone, r)); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range rs[:4] {
			slot := "08:00"
			if i == 3 {
				slot = "08:30"
			}
			if _, err := f.svc.Book(ctx, f.vd, ss.ID, r, slot); err != nil {
				t.Fatalf("book %d: %v", i, err)
			}
		}
		if n := f.outbox(t, outreach.PurposeBooked, ss.ID); n != 3 {
			t.Fatalf("confirmations: %d, want 3 (one resident has no mobile number)", n)
		}

		edit := outreach.EditInput{PractitionerID: f.spec.PractitionerID, Date: ss.Date, Start: "08:00", End: "09:00", SlotMinutes: 30, Capacity: 2}
		if _, _, err := f.svc.Edit(ctx, f.spec, ss.ID, edit); fieldKey(err) != "outreach.capacity_below_booked" {
			t.Fatalf("capacity 2 under 3 bookings: %v", err)
		}
		edit.Capacity, edit.End = 3, "08:30"
		if _, _, err := f.svc.Edit(ctx, f.spec, ss.ID, edit); fieldKey(err) != "outreach.slots_booked" {
			t.Fatalf("dropping a booked slot: %v", err)
		}
		edit.End, edit.Room = "09:00", strings.Repeat("室", outreach.MaxRoom+1)
		if _, _, err := f.svc.Edit(ctx, f.spec, ss.ID, edit); fieldKey(err) != "outreach.room_long" {
			t.Fatalf("a long room: %v", err)
		}
		if got, _ := f.svc.Repo.OutreachSession(ctx, f.spec.CountyCode, ss.ID); got.Version != 1 || got.Capacity != 3 || f.outbox(t, outreach.PurposeMoved, ss.ID) != 0 {
			t.Fatalf("a refused edit wrote: version %d capacity %d", got.Version, got.Capacity)
		}
		if _, _, err := f.svc.Edit(ctx, f.td, ss.ID, edit); !care.IsCode(err, care.EFORBIDDEN) {
			t.Fatalf("a township doctor edits: %v", err)
		}
		var other int64
		for _, in := range f.tree.OfKind(0, org.KindCountyHospital) {
			if in.CountyCode == f.spec.CountyCode && !f.tree.IsWithin(in.ID, f.spec.InstitutionID) && !f.tree.IsWithin(f.spec.InstitutionID, in.ID) {
				other = in.ID
			}
		}
		if other == 0 {
			t.Fatal("the demo county has one county hospital")
		}
		stranger := care.Actor{AccountID: 990001, Username: "other.specialist", Role: care.RoleCountySpecialist, InstitutionID: other, CountyCode: f.spec.CountyCode}
		if _, _, err := f.svc.Edit(ctx, stranger, ss.ID, edit); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("another hospital's specialist edits: %v", err)
		}
		if _, _, err := f.svc.CancelSession(ctx, stranger, ss.ID, 0, "停诊"); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("another hospital's specialist cancels: %v", err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_events WHERE username = 'other.specialist' AND outcome = 'denied' AND action IN ('outreach.edit', 'outreach.cancel_session')`); n != 2 {
			t.Fatalf("out-of-scope organiser: %d denied audit rows, want 2", n)
		}

		// The day-before reminder: tomorrow's sessions only, in its hours, once.
		if r, err := f.svc.Remind(ctx); err != nil || r.Due != 0 {
			t.Fatalf("reminders two days ahead: %+v %v", r, err)
		}
		f.clk.Add(24 * time.Hour) // the day before, 10:00
		for run := range 2 {
			r, err := f.svc.Remind(ctx)
			want := outreach.Reminded{Due: 4, Queued: 3, NoPhone: 1}
			if run == 1 {
				want = outreach.Reminded{}
			}
			if err != nil || r != want {
				t.Fatalf("reminder run %d: %+v %v, want %+v", run, r, err, want)
			}
		}
		if n := f.outbox(t, outreach.PurposeReminder, ss.ID); n != 3 {
			t.Fatalf("reminders queued: %d, want 3 after two runs", n)
		}

		// A move: to the day after, 09:00–10:00, a room; slots follow in order.
		edit = outreach.EditInput{Version: 1, PractitionerID: f.spec.PractitionerID, Date: ss.Date.AddDays(1), Start: "09:00", End: "10:00",
			SlotMinutes: 30, Capacity: 4, Room: "二楼专家诊室"}
		moved, n, err := f.svc.Edit(ctx, f.spec, ss.ID, edit)
		if err != nil || n != (outreach.Notices{Queued: 3, NoPhone: 1}) || moved.Version != 2 {
			t.Fatalf("move: %+v %+v %v", moved, n, err)
		}
		if _, _, err := f.svc.Edit(ctx, f.spec, ss.ID, edit); fieldKey(err) != "outreach.stale" {
			t.Fatalf("an edit of a stale version: %v", err)
		}
		if n := f.outbox(t, outreach.PurposeMoved, ss.ID); n != 3 {
			t.Fatalf("move messages: %d", n)
		}
		if n := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outreach_bookings WHERE session_id = %d AND slot = '09:00'`, ss.ID)); n != 3 {
			t.Fatalf("bookings at 09:00 after the move: %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM outbox WHERE purpose = 'outreach.moved' AND body LIKE '%09:30%二楼专家诊室%'`); n != 1 {
			t.Fatalf("the move message of the 08:30 booking names 09:30 and the room: %d", n)
		}
		if n := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM practice_sites WHERE session_id = %d AND valid_from = '%s'`, ss.ID, edit.Date)); n != 1 {
			t.Fatalf("the specialist's site did not move with the session")
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_events WHERE action = 'outreach.edit' AND outcome <> 'denied'`); n != 1 {
			t.Fatalf("edit audit rows: %d", n)
		}
		f.clk.Add(24 * time.Hour) // the day before the new date: reminded again
		if r, err := f.svc.Remind(ctx); err != nil || r.Queued != 3 {
			t.Fatalf("reminders after the move: %+v %v", r, err)
		}
		f.clk.Add(12 * time.Hour) // 22:00: outside the reminder hours
		if err := f.st.ExecForTest(ctx, `UPDATE outreach_bookings SET reminded_at = NULL`); err != nil {
			t.Fatal(err)
		}
		if r, err := f.svc.Remind(ctx); err != nil || r.Due != 0 {
			t.Fatalf("reminders at night: %+v %v", r, err)
		}
		f.clk.Add(-12 * time.Hour)

		// A village doctor cancels only the bookings they made.
		self, err := f.svc.Book(ctx, me, ss.ID, me.ResidentID, "09:30")
		if err != nil {
			t.Fatalf("self booking: %v", err)
		}
		if _, err := f.svc.Cancel(ctx, f.vd, self.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("a village doctor cancels a resident's own booking: %v", err)
		}

		// Cancellation: a reason is required; then the cascade.
		if _, _, err := f.svc.CancelSession(ctx, f.spec, ss.ID, 0, "  "); fieldKey(err) != "outreach.reason" {
			t.Fatalf("no reason: %v", err)
		}
		if n := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outreach_bookings WHERE session_id = %d AND status = 'booked'`, ss.ID)); n != 5 {
			t.Fatalf("a refused cancellation touched bookings: %d booked", n)
		}
		c, n, err := f.svc.CancelSession(ctx, f.spec, ss.ID, 2, "专家临时手术")
		if err != nil || c.Status != outreach.StatusCancelled {
			t.Fatalf("cancel: %v", err)
		}
		if n.NoPhone < 1 || n.Queued < 3 || n.Queued+n.NoPhone != 5 {
			t.Fatalf("cancel notices: %+v", n)
		}
		if k := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outreach_bookings WHERE session_id = %d AND status <> 'cancelled'`, ss.ID)); k != 0 {
			t.Fatalf("bookings left live after the cancellation: %d", k)
		}
		if k := f.outbox(t, outreach.PurposeCancelled, ss.ID); k != n.Queued {
			t.Fatalf("cancel messages: %d, want %d", k, n.Queued)
		}
		if k := f.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM practice_sites WHERE session_id = %d AND revoked_at IS NULL`, ss.ID)); k != 0 {
			t.Fatalf("the specialist's site for the day is still live")
		}
		if _, _, err := f.svc.CancelSession(ctx, f.spec, ss.ID, 0, "again"); fieldKey(err) != "outreach.session_cancelled" {
			t.Fatalf("cancel twice: %v", err)
		}
		if _, err := f.svc.Book(ctx, f.vd, ss.ID, rs[4], "09:00"); fieldKey(err) != "outreach.session_closed" {
			t.Fatalf("booking a cancelled session: %v", err)
		}
		if got, _ := f.svc.Repo.OutreachSession(ctx, f.spec.CountyCode, ss.ID); got.CancelReason != "专家临时手术" || got.CancelledBy != f.spec.AccountID {
			t.Fatalf("cancelled session: %+v", got)
		}
	})
}
