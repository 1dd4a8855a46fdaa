package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"countycare/care"
	"countycare/chronic"
	"countycare/elderly"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

// elderlyForm is a valid check-up form with the blood pressure and
// fasting glucose given and the 33 TCM answers.
func elderlyForm(sbp, dbp int, fpg float64) elderly.Form {
	tcm := make([]int, elderly.TCMQuestions)
	for i := range tcm {
		tcm[i] = 2
	}
	tcm[0] = 5
	return elderly.Form{Symptoms: []string{"dizziness"}, TempC10: 366, Pulse: 76, Resp: 18, SBPLeft: sbp - 4, DBPLeft: dbp - 2, SBPRight: sbp, DBPRight: dbp,
		HeightMM: 1620, WeightG: 64000, WaistMM: 860, SelfCare: []int{0, 0, 0, 1, 1}, Cognitive: "negative", Depression: "negative",
		Smoking: "current", Labs: map[string]float64{"fpg": fpg, "ldl": 3.0}, ECG: "normal", Guidance: []string{"recheck"}, Risks: []string{"quit_smoking"}, TCM: tcm}
}

// TestElderlyCheckup walks the yearly check-up of a resident aged 65+
// (国家基本公共卫生服务规范 第三版, 老年人健康管理服务规范): impossible
// values refused whole; the check-up stored with its self-care grade,
// findings, suspected cases (BP ≥ 140/90, FPG ≥ 7.0 mmol/L outside the
// registry) and TCM constitution; one a year; the roster's status; the
// suspected list without residents registered since; out of scope is
// not found; every read and write audited. Both databases.
func TestElderlyCheckup(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		svc := &elderly.Service{Repo: f.st, Residents: f.res, Audit: syncRecorder{f.st, t}, Config: elderly.DefaultConfig(),
			Library: elderly.DefaultLibrary(), Now: f.clk.Now}
		vd := f.actors[care.RoleVillageDoctor]
		today := care.Today(f.clk.Now())
		unchecked := func(r *resident.Resident) bool {
			ks, err := f.st.Checkups(ctx, r.CountyCode, r.ID)
			return err == nil && (len(ks) == 0 || ks[0].Year != today.Year)
		}
		old := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool {
			reg, _ := f.st.ChronicDiseases(ctx, r.CountyCode, r.ID)
			return r.Age(today) >= 70 && !reg["hypertension"] && !reg["diabetes"] && unchecked(r)
		})
		// A 15-kg adult 3 m tall, systolic below diastolic: refused whole.
		bad := elderlyForm(150, 95, 7.4)
		bad.WeightG, bad.HeightMM, bad.SBPLeft, bad.DBPLeft = 15000, 3000, 80, 120
		_, err := svc.Record(ctx, vd, old.ID, today, bad)
		ce, _ := err.(*care.Error)
		if care.ErrorCode(err) != care.EINVALID || ce == nil || len(ce.Fields) < 3 {
			t.Fatalf("impossible values: %v", err)
		}
		if ks, _ := f.st.Checkups(ctx, old.CountyCode, old.ID); !unchecked(&old) {
			t.Fatalf("a refused check-up was stored: %d", len(ks))
		}
		if _, err := svc.Record(ctx, vd, old.ID, today.AddDays(1), elderlyForm(120, 80, 5)); fieldKey(err) != "elderly.date_future" {
			t.Fatalf("future date: %v", err)
		}
		k, err := svc.Record(ctx, vd, old.ID, today, elderlyForm(150, 95, 7.4))
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		if !slices.Equal(k.Suspected, []string{"hypertension", "diabetes"}) || k.SelfCare != elderly.Independent || k.SelfCareScore != 2 ||
			k.TCM == nil || !slices.Equal(k.TCM.Types, []elderly.Constitution{elderly.Balanced}) || !slices.Contains(k.Findings, "bp_high") {
			t.Fatalf("recorded %+v", k)
		}
		// One check-up a year (规范 §2 每年1次).
		if _, err := svc.Record(ctx, vd, old.ID, today, elderlyForm(120, 80, 5)); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("second check-up this year: %v", err)
		}
		_, ks, err := svc.History(ctx, vd, old.ID)
		if err != nil || len(ks) != 1 || ks[0].Form.Labs["fpg"] != 7.4 || ks[0].TCM == nil || ks[0].TCM.Scores[0].Score != 21 || ks[0].Date != today {
			t.Fatalf("history: %v %+v", err, ks)
		}
		// The roster shows the resident done; every eligible one is counted.
		ro, err := svc.Roster(ctx, vd, []elderly.Status{elderly.Done}, 0)
		if err != nil || ro.Counts[elderly.Done] < 1 || ro.Counts[elderly.Done]+ro.Counts[elderly.Due]+ro.Counts[elderly.Overdue] != ro.Total {
			t.Fatalf("roster: %v %+v", err, ro)
		}
		if !slices.ContainsFunc(ro.Rows, func(e elderly.RosterEntry) bool { return e.ResidentID == old.ID && e.Status == elderly.Done }) {
			t.Fatalf("resident not done in the roster")
		}
		// The suspected list names both diseases; a resident already in
		// the hypertension registry is suspected of diabetes only.
		sus, err := svc.Suspected(ctx, vd)
		if err != nil || !slices.ContainsFunc(sus, func(c elderly.Checkup) bool { return c.ID == k.ID && len(c.Suspected) == 2 && c.Name != "" }) {
			t.Fatalf("suspected: %v %d", err, len(sus))
		}
		// Once enrolled in the hypertension registry the resident is
		// listed for diabetes only; a resident enrolled before the
		// check-up is suspected of diabetes only. The township's doctor
		// records for its villages.
		enrol := func(r *resident.Resident) {
			reg := &chronic.Registration{County: r.CountyCode, ResidentID: r.ID, Disease: chronic.Hypertension, Status: chronic.StatusActive,
				Source: chronic.SourceDiagnosis, EnrolledOn: today, ClinicID: r.VillageID, Tier: chronic.Green, TierSince: today, NextVisit: today}
			if err := f.st.Enroll(ctx, reg, auditEvent(vd, r.ID)); err != nil {
				t.Fatal(err)
			}
		}
		enrol(&old)
		sus, err = svc.Suspected(ctx, vd)
		if err != nil || !slices.ContainsFunc(sus, func(c elderly.Checkup) bool { return c.ID == k.ID && slices.Equal(c.Suspected, []string{"diabetes"}) }) {
			t.Fatalf("suspected after enrolment: %v %+v", err, sus)
		}
		td := f.actors[care.RoleTownshipDoctor]
		htn := findResident(t, f, td, resident.Filter{}, func(r *resident.Resident) bool {
			return r.ID != old.ID && r.Age(today) >= 65 && unchecked(r)
		})
		enrol(&htn)
		k2, err := svc.Record(ctx, td, htn.ID, today, elderlyForm(160, 100, 8.0))
		if err != nil || !slices.Equal(k2.Suspected, []string{"diabetes"}) {
			t.Fatalf("registered resident: %v %v", err, k2)
		}
		// Too young in the year.
		young := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool { return r.Age(today) >= 40 && r.Age(today) < 60 })
		if _, err := svc.Record(ctx, vd, young.ID, today, elderlyForm(120, 80, 5)); fieldKey(err) != "elderly.not_eligible" {
			t.Fatalf("under 65: %v", err)
		}
		// A village doctor of another village: not found, and audited.
		other := vd
		if err := f.st.QueryForTest(ctx, fmt.Sprintf(`SELECT MIN(id) FROM institutions WHERE kind = 'village_clinic' AND id <> %d`, old.VillageID), &other.InstitutionID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Record(ctx, other, old.ID, today, elderlyForm(120, 80, 5)); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("other village writes: %v", err)
		}
		if _, err := svc.Roster(ctx, f.actors[care.RoleCountySpecialist], nil, 0); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Fatalf("county specialist reads the roster: %v", err)
		}
		for _, act := range []string{elderly.ActRecord, elderly.ActRead} {
			if !hasAudit(t, f.st, old.ID, act, "") {
				t.Errorf("no %s audit row", act)
			}
		}
		for _, act := range []string{elderly.ActRoster, elderly.ActSuspected} {
			if !hasAuditAny(t, f.st, act) {
				t.Errorf("no %s audit row", act)
			}
		}
	})
}

// TestElderlyRosterRows: the roster kept on rows (issue 17) lists, counts
// and orders the township's residents 65+ as elderly.Config.StatusOn does
// for each one from their check-ups (规范 老年人健康管理 §2: 每年1次;
// overdue OverdueDays after the last check-up, or after 1 January of the
// 65th year when never checked): a check-up written moves its resident in
// the same transaction; pages join up to the whole list. Both databases.
func TestElderlyRosterRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		cfg := elderly.DefaultConfig()
		svc := &elderly.Service{Repo: f.st, Residents: f.res, Audit: syncRecorder{f.st, t}, Config: cfg, Library: elderly.DefaultLibrary(), Now: f.clk.Now}
		td := f.actors[care.RoleTownshipDoctor]
		today := care.Today(f.clk.Now())
		clinics, err := f.res.ManagedClinics(ctx, td)
		if err != nil {
			t.Fatal(err)
		}
		// Check-ups of past years straight into the table (a year and a
		// month ago: overdue; ten months ago: due) and one this year.
		ages := []int{}
		add := func(r *resident.Resident, on care.Date) {
			k := &elderly.Checkup{CountyCode: r.CountyCode, ResidentID: r.ID, ManagedBy: r.VillageID, Year: on.Year, Date: on, Form: elderlyForm(120, 80, 5),
				SelfCare: elderly.Independent, ClinicID: r.VillageID, By: td.AccountID, CreatedAt: f.clk.Now()}
			if err := f.st.CreateCheckup(ctx, k, auditEvent(td, r.ID)); err != nil {
				t.Fatalf("check-up %s: %v", on, err)
			}
		}
		seen := map[int64]bool{}
		for i, on := range []care.Date{today.AddDays(-400), today.AddDays(-300), today.AddDays(-300), today.AddDays(-20)} {
			r := findResident(t, f, td, resident.Filter{}, func(r *resident.Resident) bool {
				ks, _ := f.st.Checkups(ctx, r.CountyCode, r.ID)
				return !seen[r.ID] && r.Age(today) >= 67 && len(ks) == 0
			})
			seen[r.ID] = true
			add(&r, on)
			if i == 1 { // an older check-up of the same resident does not move them back
				add(&r, today.AddDays(-800))
			}
			ages = append(ages, r.Age(today))
		}
		var all []elderly.RosterEntry
		for page := 0; ; page++ {
			rows, err := f.st.ElderlyRoster(ctx, td.CountyCode, clinics, cfg.Bounds(today), nil, page*7, 7)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rows...)
			if len(rows) < 7 {
				break
			}
		}
		var eligible int
		if err := f.st.QueryForTest(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM residents WHERE status = 'active' AND birth_date <= '%d-12-31' AND village_id IN (%s)`,
			today.Year-cfg.MinAge, joinIDs(clinics)), &eligible); err != nil {
			t.Fatal(err)
		}
		if len(all) != eligible || eligible < 10 {
			t.Fatalf("roster %d rows, %d residents 65+", len(all), eligible)
		}
		counts, err := f.st.ElderlyRosterCounts(ctx, td.CountyCode, clinics, cfg.Bounds(today))
		if err != nil {
			t.Fatal(err)
		}
		want := map[elderly.Status]int{}
		rank := map[elderly.Status]int{elderly.Overdue: 0, elderly.Due: 1, elderly.Done: 2}
		for i, e := range all {
			ks, err := f.st.Checkups(ctx, td.CountyCode, e.ResidentID)
			if err != nil {
				t.Fatal(err)
			}
			var last care.Date
			if len(ks) > 0 {
				last = ks[0].Date
			}
			st, _ := cfg.StatusOn(e.BirthDate, last, today)
			if e.Last != last || e.Status != st {
				t.Fatalf("resident %d: row last %s %s, check-ups say %s %s", e.ResidentID, e.Last, e.Status, last, st)
			}
			want[st]++
			if i > 0 {
				p := all[i-1]
				if rank[p.Status] > rank[e.Status] || (p.Status == e.Status && cfg.WindowFrom(p.BirthDate, p.Last).After(cfg.WindowFrom(e.BirthDate, e.Last))) {
					t.Fatalf("order: %+v before %+v", p, e)
				}
			}
		}
		if want[elderly.Overdue] == 0 || want[elderly.Due] == 0 || want[elderly.Done] == 0 || counts[elderly.Overdue] != want[elderly.Overdue] ||
			counts[elderly.Due] != want[elderly.Due] || counts[elderly.Done] != want[elderly.Done] {
			t.Fatalf("counts %v, want %v (ages %v)", counts, want, ages)
		}
		// A check-up recorded through the service moves its resident to
		// done at once, in the roster the service pages. Its suspected
		// hypertension is routed to the township with the resident the
		// check-up read: one audited read of the resident (code review of
		// issue 17: screening.Suspect read them again).
		ro, err := svc.Roster(ctx, td, []elderly.Status{elderly.Overdue}, 0)
		if err != nil || len(ro.Rows) == 0 || ro.Counts[elderly.Overdue] != want[elderly.Overdue] {
			t.Fatalf("overdue roster: %v %+v", err, ro)
		}
		i := slices.IndexFunc(ro.Rows, func(e elderly.RosterEntry) bool {
			reg, err := f.st.ChronicDiseases(ctx, td.CountyCode, e.ResidentID)
			return err == nil && len(reg) == 0
		})
		if i < 0 {
			t.Fatal("no overdue resident outside the chronic registries")
		}
		first := ro.Rows[i]
		svc.Route = screeningService(f, t)
		reads := fmt.Sprintf(`SELECT COUNT(*) FROM audit_events WHERE action = 'resident.read' AND resident_id = %d`, first.ResidentID)
		var before, after int
		if err := f.st.QueryForTest(ctx, reads, &before); err != nil {
			t.Fatal(err)
		}
		k, err := svc.Record(ctx, td, first.ResidentID, today, elderlyForm(150, 95, 5))
		if err != nil || !slices.Equal(k.Suspected, []string{"hypertension"}) || len(k.Unrouted) > 0 {
			t.Fatalf("record: %v %+v", err, k)
		}
		if err := f.st.QueryForTest(ctx, reads, &after); err != nil {
			t.Fatal(err)
		}
		if c, err := f.st.PendingCase(ctx, td.CountyCode, first.ResidentID, chronic.Hypertension); err != nil || c == nil || after-before != 1 {
			t.Fatalf("routed case %v %v; resident reads %d", c, err, after-before)
		}
		ro2, err := svc.Roster(ctx, td, []elderly.Status{elderly.Done}, 0)
		if err != nil || ro2.Counts[elderly.Overdue] != want[elderly.Overdue]-1 || ro2.Counts[elderly.Done] != want[elderly.Done]+1 ||
			!slices.ContainsFunc(ro2.Rows, func(e elderly.RosterEntry) bool { return e.ResidentID == first.ResidentID && e.Last == today }) {
			t.Fatalf("after the check-up: %v %+v", err, ro2.Counts)
		}
		if _, err := svc.Roster(ctx, td, nil, -1); fieldKey(err) != "elderly.page" {
			t.Fatalf("negative page: %v", err)
		}
	})
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
