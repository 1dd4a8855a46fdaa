package store_test

import (
	"context"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/childhealth"
	"countycare/idcard"
	"countycare/internal/testdb"
	"countycare/maternal"
	"countycare/resident"
	"countycare/store"
)

// findResident returns a resident in a's scope for whom ok holds.
func findResident(t *testing.T, f *fixture, a care.Actor, flt resident.Filter, ok func(*resident.Resident) bool) resident.Resident {
	t.Helper()
	flt.Limit = 100
	for {
		list, more, err := f.res.Search(context.Background(), a, "", flt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range list {
			if ok(&list[i]) {
				return list[i]
			}
		}
		if !more || len(list) == 0 {
			t.Fatal("no such resident in the demo county")
		}
		flt.AfterRecord = list[len(list)-1].RecordNumber
	}
}

func fieldKey(err error) string {
	if ce, ok := err.(*care.Error); ok && len(ce.Fields) > 0 {
		return ce.Fields[0].Key
	}
	if ce, ok := err.(*care.Error); ok {
		return ce.Key
	}
	return ""
}

// TestMaternalJourney walks a pregnancy through the spec (国家基本公共卫生
// 服务规范 第三版, 孕产妇健康管理): registration with the EDD by Naegele,
// the five-colour grade, antenatal visits in order, the delivery, the
// postpartum visits; bad input is refused whole; the overdue list of the
// township and the county's orange/red list; every write audited. Both
// databases.
func TestMaternalJourney(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rec := syncRecorder{f.st, t}
		svc := &maternal.Service{Repo: f.st, Residents: f.res, Audit: rec, Config: maternal.DefaultConfig(), Now: f.clk.Now}
		vd := f.actors[care.RoleVillageDoctor]
		today := care.Today(f.clk.Now())
		woman := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool {
			return r.Sex == idcard.Female && r.Age(today) >= 25 && r.Age(today) <= 33
		})
		lmp := today.AddDays(-10 * 7)
		// A 15-kg adult with 3-m height: refused, nothing stored.
		_, err := svc.Register(ctx, vd, woman.ID, maternal.RegisterInput{LMP: lmp, Gravida: 1, HeightMM: 3000, WeightG: 15000})
		if fieldKey(err) != "maternal.height_range" {
			t.Fatalf("3-m woman: %v", err)
		}
		if ps, _ := f.st.PregnanciesOf(ctx, woman.CountyCode, woman.ID); len(ps) != 0 {
			t.Fatalf("refused registration stored %d", len(ps))
		}
		p, err := svc.Register(ctx, vd, woman.ID, maternal.RegisterInput{LMP: lmp, Gravida: 2, Parity: 1, HeightMM: 1600, WeightG: 72000,
			Factors: []string{"scarred_uterus"}})
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		// BMI 28.1 is orange (2017 规范: BMI≥28), beating the scar's yellow.
		if p.EDD != maternal.EDD(lmp) || p.Colour != maternal.Orange || p.NextKind != maternal.Antenatal1 {
			t.Fatalf("registered %+v", p)
		}
		if _, err := svc.Register(ctx, vd, woman.ID, maternal.RegisterInput{LMP: lmp, Gravida: 2, Parity: 1}); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("second open pregnancy: %v", err)
		}
		// A visit dated before the registration, a fundal height at 10
		// weeks: refused whole.
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal1, Date: today.AddDays(-1)}); fieldKey(err) != "maternal.date_before_registration" {
			t.Fatalf("visit before registration: %v", err)
		}
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal1, Date: today, FundalMM: 250}); fieldKey(err) != "maternal.fundal_early" {
			t.Fatalf("fundal height at 10 weeks: %v", err)
		}
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Postpartum, Date: today}); fieldKey(err) != "maternal.postpartum_before_delivery" {
			t.Fatalf("postpartum before delivery: %v", err)
		}
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal1, Date: today, WeightG: 72500, SBP: 118, DBP: 70, HbGL: 121}); err != nil {
			t.Fatalf("first visit: %v", err)
		}
		// A second first visit, and a visit out of order.
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal1, Date: today}); fieldKey(err) != "maternal.kind_order" {
			t.Fatalf("first visit twice: %v", err)
		}
		// Ten weeks on (20 weeks), the second visit with anaemia Hb 55.
		f.clk.Add(70 * 24 * 3600e9)
		today = care.Today(f.clk.Now())
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal2, Date: today, FundalMM: 400}); fieldKey(err) != "maternal.fundal_implausible" {
			t.Fatalf("fundal 40 cm at 20 weeks: %v", err)
		}
		_, p, err = svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Antenatal2, Date: today, FundalMM: 200, FetalHR: 145, HbGL: 35})
		if err != nil {
			t.Fatalf("second visit: %v", err)
		}
		if p.Colour != maternal.Red || p.NextKind != maternal.Antenatal3 {
			t.Fatalf("after Hb 35: colour %s next %s, want red, antenatal3", p.Colour, p.NextKind)
		}
		// The county's orange/red list shows her to a county specialist; a
		// village doctor may not read it.
		cs := f.actors[care.RoleCountySpecialist]
		hr, err := svc.HighRisk(ctx, cs)
		if err != nil || !containsPregnancy(hr, p.ID) {
			t.Fatalf("high-risk list: %v, %d rows", err, len(hr))
		}
		if _, err := svc.HighRisk(ctx, vd); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Fatalf("village doctor reads the county list: %v", err)
		}
		// Five weeks later (25 weeks) the third visit's window (21–24) has
		// closed: overdue for the township and the village.
		f.clk.Add(35 * 24 * 3600e9)
		td := f.actors[care.RoleTownshipDoctor]
		od, err := svc.Overdue(ctx, vd)
		if err != nil || !containsPregnancy(od, p.ID) {
			t.Fatalf("overdue (village): %v, %d rows", err, len(od))
		}
		if _, err := svc.Overdue(ctx, td); err != nil {
			t.Fatalf("overdue (township): %v", err)
		}
		// Delivery at 39 weeks, then the postpartum home visit and the
		// 42-day check.
		f.clk.Add(98 * 24 * 3600e9)
		today = care.Today(f.clk.Now())
		if _, err := svc.RecordDelivery(ctx, vd, p.ID, maternal.DeliveryInput{Date: today, Mode: "vaginal", Outcome: "live", BabyWeightG: 9000}); fieldKey(err) != "maternal.baby_weight" {
			t.Fatalf("9-kg baby: %v", err)
		}
		p, err = svc.RecordDelivery(ctx, vd, p.ID, maternal.DeliveryInput{Date: today.AddDays(-3), DischargedOn: today.AddDays(-1), Mode: "vaginal", Outcome: "live", BabyWeightG: 3300})
		if err != nil || p.Status != maternal.StatusDelivered || p.NextKind != maternal.Postpartum {
			t.Fatalf("delivery: %v %+v", err, p)
		}
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Postpartum, Date: today, FundalMM: 120}); fieldKey(err) != "maternal.fundal_no_pregnancy" {
			t.Fatalf("fundal height after delivery: %v", err)
		}
		if _, _, err := svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Postpartum, Date: today, SBP: 120, DBP: 75}); err != nil {
			t.Fatalf("postpartum visit: %v", err)
		}
		f.clk.Add(42 * 24 * 3600e9)
		_, p, err = svc.RecordVisit(ctx, vd, p.ID, maternal.VisitInput{Kind: maternal.Postpartum6, Date: care.Today(f.clk.Now())})
		if err != nil || p.Status != maternal.StatusClosed {
			t.Fatalf("42-day check: %v, status %s", err, p.Status)
		}
		_, vs, err := svc.Detail(ctx, vd, p.ID)
		if err != nil || len(vs) != 4 {
			t.Fatalf("detail: %v, %d visits, want 4", err, len(vs))
		}
		for _, act := range []string{maternal.ActRegister, maternal.ActVisit, maternal.ActDelivery, maternal.ActRead} {
			if !hasAudit(t, f.st, woman.ID, act, "") {
				t.Errorf("no %s audit row", act)
			}
		}
		if !hasAuditAny(t, f.st, maternal.ActOverdue) || !hasAuditAny(t, f.st, maternal.ActHighRisk) {
			t.Error("list reads not audited")
		}
	})
}

func containsPregnancy(ps []maternal.Pregnancy, id int64) bool {
	for _, p := range ps {
		if p.ID == id && p.Name != "" {
			return true
		}
	}
	return false
}

// TestChildHealthJourney registers a child, records the newborn visit and
// checks scored against the WHO standards, refuses an implausible weight
// and a check out of order with nothing written, and lists the child as
// overdue once a window closes (规范 0～6岁儿童健康管理). Both databases.
func TestChildHealthJourney(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rec := syncRecorder{f.st, t}
		svc := &childhealth.Service{Repo: f.st, Residents: f.res, Audit: rec, Config: childhealth.DefaultConfig(), Now: f.clk.Now}
		vd := f.actors[care.RoleVillageDoctor]
		today := care.Today(f.clk.Now())
		adult := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool { return r.Age(today) >= 30 })
		if _, err := svc.Register(ctx, vd, adult.ID, childhealth.RegisterInput{}); fieldKey(err) != "childhealth.not_child" {
			t.Fatalf("adult as child: %v", err)
		}
		kid := findResident(t, f, vd, resident.Filter{BornOnOrAfter: care.DateOf(today.Time().AddDate(-6, 0, 0))}, func(r *resident.Resident) bool {
			return r.BirthDate.Before(today.AddDays(-100))
		})
		c, err := svc.Register(ctx, vd, kid.ID, childhealth.RegisterInput{DischargedOn: kid.BirthDate.AddDays(2), BirthWeightG: 3300, BirthLengthMM: 500, GestWeeks: 39})
		if err != nil {
			t.Fatalf("register child: %v", err)
		}
		if _, err := svc.Register(ctx, vd, kid.ID, childhealth.RegisterInput{}); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("second record: %v", err)
		}
		// Implausible weight (WAZ past +5): refused, nothing written.
		nb := kid.BirthDate.AddDays(5)
		if _, _, err := svc.Record(ctx, vd, c.ID, childhealth.CheckInput{Kind: childhealth.KindNewborn, Date: nb, WeightG: 15000, LengthMM: 510}); fieldKey(err) != "childhealth.implausible" {
			t.Fatalf("15-kg newborn: %v", err)
		}
		if ks, _ := f.st.ChildChecks(ctx, c.ID); len(ks) != 0 {
			t.Fatalf("refused check stored: %d", len(ks))
		}
		k, c2, err := svc.Record(ctx, vd, c.ID, childhealth.CheckInput{Kind: childhealth.KindNewborn, Date: nb, WeightG: 3400, LengthMM: 510})
		if err != nil || k.Scores.WAZ == nil || k.Scores.WHZ == nil {
			t.Fatalf("newborn visit: %v %+v", err, k)
		}
		// An underweight 3-month check: WAZ < −2.
		m3 := care.DateOf(kid.BirthDate.Time().AddDate(0, 3, 2))
		k, _, err = svc.Record(ctx, vd, c.ID, childhealth.CheckInput{Kind: childhealth.KindM3, Date: m3, WeightG: 4300, LengthMM: 600})
		if err != nil || len(k.Findings) == 0 || k.Findings[0] != childhealth.Underweight {
			t.Fatalf("3-month check: %v, findings %v", err, k.Findings)
		}
		// Out of order: the first-month check after the 3-month one.
		if _, _, err := svc.Record(ctx, vd, c.ID, childhealth.CheckInput{Kind: childhealth.KindM1, Date: m3, WeightG: 4300}); fieldKey(err) != "childhealth.kind_order" {
			t.Fatalf("check out of order: %v", err)
		}
		// A stale write (read before the last check) is refused.
		if err := f.st.AddChildCheck(ctx, c2, &childhealth.Check{ChildID: c.ID, CountyCode: c.CountyCode, Kind: childhealth.KindM6, Date: today}, auditEvent(vd, kid.ID)); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("stale write: %v", err)
		}
		cc, ks, err := svc.Detail(ctx, vd, c.ID)
		if err != nil || len(ks) != 2 {
			t.Fatalf("detail: %v, %d checks", err, len(ks))
		}
		// The next check's window closes without a visit: overdue.
		w := svc.Config.Schedule(cc.NextKind, cc.BirthDate, cc.DischargedOn)
		if !w.To.Before(today) {
			f.clk.Add(w.To.Time().Sub(today.Time()) + 48*3600e9)
		}
		od, err := svc.Overdue(ctx, vd)
		found := false
		for _, o := range od {
			found = found || o.ID == c.ID && o.Name != ""
		}
		if err != nil || !found {
			t.Fatalf("overdue children: %v, %d rows, child %d (next %s due %s)", err, len(od), c.ID, cc.NextKind, cc.NextDue)
		}
		for _, act := range []string{childhealth.ActRegister, childhealth.ActCheck, childhealth.ActRead} {
			if !hasAudit(t, f.st, kid.ID, act, "") {
				t.Errorf("no %s audit row", act)
			}
		}
	})
}

func auditEvent(a care.Actor, residentID int64) audit.Event {
	return audit.New(context.Background(), a, "test.write", residentID)
}
