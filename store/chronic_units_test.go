package store_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

// TestChronicUnitCounters is a property test with a fixed seed: after random
// enrolments (some dated in the previous year), follow-ups (late ones dated
// before a later visit, by phone, in the previous year), status changes
// (closures, deaths, re-activations, closures dated back) and a year
// boundary crossed half way (the new year's counters created lazily), the
// per-unit counters give, for every clinic, disease and year, the same
// indicators as a tally of every patient's visits — for the calendar years
// and the year to date — and a rebuild gives the same counters again.
func TestChronicUnitCounters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		st := f.st
		td := f.actors[care.RoleTownshipDoctor]
		people, _, err := f.res.Search(ctx, td, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1985, Month: 1, Day: 1}, Limit: 100})
		if err != nil || len(people) < 30 {
			t.Fatalf("adults: %d %v", len(people), err)
		}
		rng := rand.New(rand.NewSource(4))
		var regs []int64
		ev := audit.Event{Action: "test"}
		diseases := []chronic.Disease{chronic.Hypertension, chronic.Hypertension, chronic.Diabetes, chronic.Tuberculosis, chronic.Mental}
		check := func(when string) { t.Helper(); checkUnitCounters(t, st, f.clk, when) }
		check("demo")
		for step := 0; step < 400; step++ {
			if step == 200 {
				f.clk.Add(50 * 24 * time.Hour) // 22 Nov → 11 Jan: a new year
				check("new year, before any write")
			}
			today := care.Today(f.clk.Now())
			switch op := rng.Intn(10); {
			case op < 2 || len(regs) == 0: // enrol
				p := people[rng.Intn(len(people))]
				on := today.AddDays(-rng.Intn(500))
				r := &chronic.Registration{County: "411723", ResidentID: p.ID, Disease: diseases[rng.Intn(len(diseases))], Status: chronic.StatusActive,
					Source: chronic.SourceDiagnosis, EnrolledOn: on, ClinicID: p.VillageID, Tier: chronic.Green, TierSince: on, NextVisit: on}
				if err := st.Enroll(ctx, r, ev); err == nil {
					regs = append(regs, r.ID)
				} else if !care.IsCode(err, care.ECONFLICT) {
					t.Fatal(err)
				}
			case op < 9: // a follow-up, possibly late or last year
				r, err := st.Registration(ctx, regs[rng.Intn(len(regs))])
				if err != nil {
					t.Fatal(err)
				}
				span := int(today.Time().Sub(r.EnrolledOn.Time()).Hours()/24) + 1
				v := chronic.Visit{Disease: r.Disease, Date: today.AddDays(-rng.Intn(span)), FaceToFace: rng.Intn(4) > 0}
				if rng.Intn(5) > 0 {
					switch r.Disease {
					case chronic.Hypertension:
						v.SBP, v.DBP = 110+rng.Intn(60), 60+rng.Intn(40)
					case chronic.Diabetes:
						v.FPG = 50 + rng.Intn(50)
					}
				}
				if r.Disease == chronic.Tuberculosis {
					v.DosesDue = 14
					v.DosesMissed = rng.Intn(3)
				}
				sv := &chronic.StoredVisit{Visit: v, County: "411723", RegistrationID: r.ID, ResidentID: r.ResidentID,
					Outcome: chronic.Outcome{Class: chronic.Controlled, NextVisit: today.AddDays(90)}}
				if err := st.SaveVisit(ctx, sv, r, nil, nil, nil, ev); err != nil && !care.IsCode(err, care.ECONFLICT) {
					t.Fatal(err)
				}
			default: // a status change
				r, err := st.Registration(ctx, regs[rng.Intn(len(regs))])
				if err != nil {
					t.Fatal(err)
				}
				switch rng.Intn(4) {
				case 0, 1:
					r.Status, r.ClosedOn = chronic.StatusClosed, today
					if rng.Intn(2) == 0 && r.EnrolledOn.Before(today) { // dated back, maybe into last year
						r.ClosedOn = today.AddDays(-rng.Intn(int(today.Time().Sub(r.EnrolledOn.Time()).Hours() / 24)))
					}
				case 2:
					r.Status, r.ClosedOn = chronic.StatusDied, today
				default:
					r.Status, r.ClosedOn = chronic.StatusActive, care.Date{}
				}
				if err := st.SetRegistrationStatus(ctx, r, ev); err != nil && !care.IsCode(err, care.ECONFLICT) {
					t.Fatal(err)
				}
			}
			if step%50 == 49 {
				check(fmt.Sprintf("step %d", step))
			}
		}
		if err := st.RebuildChronicYears(ctx, "411723"); err != nil {
			t.Fatal(err)
		}
		check("after a rebuild")
	})
}

// checkUnitCounters compares, for every clinic and disease, the indicators of
// the last three calendar years and of the year to date from the per-unit
// counters with those of every visit and of the year summaries.
func checkUnitCounters(t *testing.T, st *store.Store, clk *clock, when string) {
	t.Helper()
	ctx := context.Background()
	today := care.Today(clk.Now())
	var periods [][2]care.Date
	for y := today.Year - 2; y <= today.Year; y++ {
		periods = append(periods, [2]care.Date{{Year: y, Month: 1, Day: 1}, {Year: y, Month: 12, Day: 31}})
	}
	periods = append(periods, [2]care.Date{{Year: today.Year, Month: 1, Day: 1}, today})
	for _, p := range periods {
		cfg := chronic.DefaultConfig()
		self := func(c int64) []int64 { return []int64{c} }
		byUnits := &chronic.Tally{From: p[0], To: p[1], Config: cfg, UnitsOf: self}
		byVisits := &chronic.Tally{From: p[0], To: p[1], Config: cfg, UnitsOf: self}
		bySummaries := &chronic.Tally{From: p[0], To: p[1], Config: cfg, UnitsOf: self}
		if err := st.ChronicUnitYears(ctx, "411723", nil, p[0].Year, func(u *chronic.UnitYear) error { byUnits.AddUnitYear(u); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := st.ChronicPeriodFromVisits(ctx, "411723", nil, p[0], p[1], func(pp *chronic.PatientPeriod) error { byVisits.Add(pp); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := st.ChronicPeriod(ctx, "411723", nil, p[0], p[1], func(pp *chronic.PatientPeriod) error { bySummaries.Add(pp); return nil }); err != nil {
			t.Fatal(err)
		}
		u, v, s := byUnits.Result(), byVisits.Result(), bySummaries.Result()
		if len(u) != len(v) || len(s) != len(v) {
			t.Errorf("%s %s..%s: %d cells from counters, %d from visits, %d from summaries", when, p[0], p[1], len(u), len(v), len(s))
		}
		for k, want := range v {
			if got := u[k]; got != want {
				t.Errorf("%s %s..%s clinic %d %s: counters %+v, visits %+v", when, p[0], p[1], k.Unit, k.Disease, got, want)
			}
			if got := s[k]; got != want {
				t.Errorf("%s %s..%s clinic %d %s: summaries %+v, visits %+v", when, p[0], p[1], k.Unit, k.Disease, got, want)
			}
		}
	}
}

// TestChronicUnitCountersConcurrent: while one goroutine creates the
// counters of a year nobody read before (two years ago), others enrol
// patients backdated into it and record follow-ups dated in it; afterwards
// the counters still equal a tally of every visit (on PostgreSQL the
// advisory lock orders the creation against the changes in flight).
func TestChronicUnitCountersConcurrent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		st := f.st
		people, _, err := f.res.Search(ctx, f.actors[care.RoleTownshipDoctor], "", resident.Filter{BornOnOrBefore: care.Date{Year: 1985, Month: 1, Day: 1}, Limit: 100})
		if err != nil || len(people) < 40 {
			t.Fatalf("adults: %d %v", len(people), err)
		}
		today := care.Today(f.clk.Now())
		past := today.Year - 2
		ev := audit.Event{Action: "test"}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(people); i += 4 {
					p := people[i]
					on := care.Date{Year: past, Month: 3, Day: 1 + i%28}
					r := &chronic.Registration{County: "411723", ResidentID: p.ID, Disease: chronic.Mental, Status: chronic.StatusActive,
						Source: chronic.SourceDiagnosis, EnrolledOn: on, ClinicID: p.VillageID, Tier: chronic.Green, TierSince: on, NextVisit: on}
					if err := st.Enroll(ctx, r, ev); err != nil {
						if !care.IsCode(err, care.ECONFLICT) {
							errs <- err
						}
						continue
					}
					sv := &chronic.StoredVisit{Visit: chronic.Visit{Disease: chronic.Mental, Date: on.AddDays(30), FaceToFace: true}, County: "411723",
						RegistrationID: r.ID, ResidentID: p.ID, Outcome: chronic.Outcome{Class: chronic.Controlled, NextVisit: on.AddDays(120)}}
					if err := st.SaveVisit(ctx, sv, r, nil, nil, nil, ev); err != nil {
						errs <- err
					}
				}
			}(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.ChronicUnitYears(ctx, "411723", nil, past, func(*chronic.UnitYear) error { return nil }); err != nil {
				errs <- err
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		checkUnitCounters(t, st, f.clk, "after concurrent changes")
	})
}
