package demo

import (
	"math"
	"math/rand/v2"

	"countycare/care"
	"countycare/childhealth"
	"countycare/idcard"
	"countycare/maternal"
)

// BirthRate is the share of residents born in a year: about 1 % (the
// issue's figure for the seed counties; China's crude birth rate was
// 6.4–7.5 ‰ in 2022–2023, higher in rural counties).
const BirthRate = 0.01

// ScaledPregnancies is a year's registered pregnancies for n residents:
// one per birth.
func ScaledPregnancies(n int) int { return int(float64(n) * BirthRate) }

// mchPerson is a woman of childbearing age or a child under 7 the
// maternal and child programmes manage.
type mchPerson struct {
	id, village int64
	birth       care.Date
	sex         idcard.Sex
	edd         care.Date // the resident record's expected delivery (zero: none)
}

// mchCollect keeps the residents the programmes need while residents are
// written.
func (g *gen) mchCollect(id, village int64, birth care.Date, sex idcard.Sex, edd care.Date) {
	if g.cfg.Pregnancies <= 0 {
		return
	}
	age := birth.AgeOn(g.today)
	switch {
	case age < 7:
		g.mchKids = append(g.mchKids, mchPerson{id, village, birth, sex, edd})
	case sex == idcard.Female && age >= 20 && age <= 42:
		g.mchWomen = append(g.mchWomen, mchPerson{id, village, birth, sex, edd})
	}
}

// maternalChild writes a year of the programmes: n pregnancies registered
// over the past year (the women the resident record shows pregnant first,
// then others), each with the antenatal visits due so far (about 90 %
// kept, a missed one now and then: the overdue lists), the delivery and
// the postpartum visits for those due; and every child under 7 with a
// record and the past year's checks, the measurements drawn around the
// WHO medians. Village doctors of the woman's or child's village record
// them.
func (g *gen) maternalChild(n int) error {
	if n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+41, 17))
	mc, cc := maternal.DefaultConfig(), childhealth.DefaultConfig()
	women := g.mchWomen
	rng.Shuffle(len(women), func(i, j int) { women[i], women[j] = women[j], women[i] })
	// Those with a due date on their record come first.
	k := 0
	for i := range women {
		if !women[i].edd.IsZero() {
			women[i], women[k] = women[k], women[i]
			k++
		}
	}
	if n > len(women) {
		n = len(women)
	}
	factors := mc.FactorCodes()
	for _, w := range women[:n] {
		var lmp care.Date
		if !w.edd.IsZero() {
			lmp = w.edd.AddDays(-280)
		} else {
			lmp = g.today.AddDays(-(60 + rng.IntN(365+220)))
		}
		reg := lmp.AddDays(49 + rng.IntN(50)) // 7–14 weeks
		if reg.After(g.today) {
			reg = g.today
		}
		p := &maternal.Pregnancy{ID: g.id("mch_pregnancy"), CountyCode: g.cfg.CountyCode, ResidentID: w.id, ManagedBy: w.village, ClinicID: w.village,
			LMP: lmp, EDD: maternal.EDD(lmp), RegisteredOn: reg, Gravida: 1 + rng.IntN(3), HeightMM: 1500 + rng.IntN(200), Status: maternal.StatusOpen, Version: 1}
		p.Parity = rng.IntN(p.Gravida)
		p.WeightG = int(float64(p.HeightMM*p.HeightMM) / 1e6 * (19 + rng.Float64()*7) * 1000)
		p.Factors = mc.Derive(maternal.Measures{Age: w.birth.AgeOn(reg), HeightMM: p.HeightMM, WeightG: p.WeightG})
		if rng.IntN(100) < 25 {
			p.Factors = append(p.Factors, factors[rng.IntN(len(factors))])
		}
		p.Colour, p.Purple = maternal.Grade(p.Factors, mc.Factors)
		var vs []maternal.Visit
		var last maternal.Kind
		lastDate := reg
		add := func(k maternal.Kind, d care.Date) {
			v := maternal.Visit{ID: g.id("mch_visit"), PregnancyID: p.ID, CountyCode: p.CountyCode, ResidentID: p.ResidentID, Kind: k, Date: d,
				ClinicID: w.village, CreatedAt: g.at(d, 10), Colour: p.Colour}
			if k.Antenatal() {
				v.GestDays = maternal.GestDays(lmp, d)
				v.WeightG = p.WeightG + v.GestDays*60
				v.SBP, v.DBP, v.HbGL = 100+rng.IntN(35), 60+rng.IntN(25), 100+rng.IntN(35)
				if v.GestDays >= 20*7 {
					v.FundalMM = (v.GestDays/7 + rng.IntN(5) - 2) * 10
					v.FetalHR = 120 + rng.IntN(40)
				}
				found := mc.Derive(maternal.Measures{SBP: v.SBP, DBP: v.DBP, HbGL: v.HbGL})
				v.Factors = found
				for _, f := range found {
					p.Factors = appendNew(p.Factors, f)
				}
				p.Colour, p.Purple = maternal.Grade(p.Factors, mc.Factors)
				v.Colour = p.Colour
			}
			vs = append(vs, v)
			last, lastDate = k, d
		}
		for _, k := range maternal.Kinds[:5] {
			w, _ := mc.Schedule(p, k)
			if w.From.After(g.today) || rng.IntN(100) < 8 {
				continue
			}
			d := w.From.AddDays(rng.IntN(1 + int(w.To.Time().Sub(w.From.Time()).Hours()/24)))
			if k == maternal.Antenatal1 {
				d = reg
			}
			if d.After(g.today) || d.Before(lastDate) || !p.EDD.AddDays(7).After(d) {
				continue
			}
			add(k, d)
		}
		delivered := lmp.AddDays(266 + rng.IntN(22))
		if !delivered.After(g.today) && !delivered.Before(lastDate) {
			p.Status, p.DeliveredOn, p.DischargedOn = maternal.StatusDelivered, delivered, delivered.AddDays(2+rng.IntN(3))
			p.DeliveryMode, p.Outcome, p.BabyWeightG = maternal.Modes[[]int{0, 0, 0, 1, 2, 2}[rng.IntN(6)]], "live", 2600+rng.IntN(1400)
			if p.DischargedOn.After(g.today) {
				p.DischargedOn = g.today
			}
			lastDate = p.DischargedOn
			for _, k := range maternal.Kinds[5:] {
				w, _ := mc.Schedule(p, k)
				d := w.From.AddDays(rng.IntN(1 + int(w.To.Time().Sub(w.From.Time()).Hours()/24)))
				if d.After(g.today) || d.Before(lastDate) || rng.IntN(100) < 7 {
					continue
				}
				add(k, d)
			}
		}
		next, ok := mc.Next(p, last, g.today)
		if ok {
			p.NextKind, p.NextFrom, p.NextDue = next.Kind, next.From, next.To
		} else if last == maternal.Postpartum6 {
			p.Status = maternal.StatusClosed
		}
		if err := g.b.Pregnancy(p, vs); err != nil {
			return err
		}
		g.res.Pregnancies++
	}
	yearAgo := g.today.AddDays(-365)
	for _, kid := range g.mchKids {
		sex := childhealth.Boy
		if kid.sex == idcard.Female {
			sex = childhealth.Girl
		}
		c := &childhealth.Child{ID: g.id("mch_child"), CountyCode: g.cfg.CountyCode, ResidentID: kid.id, ManagedBy: kid.village, Sex: sex,
			BirthDate: kid.birth, DischargedOn: kid.birth.AddDays(1 + rng.IntN(4)), BirthWeightG: 2600 + rng.IntN(1400), BirthLengthMM: 470 + rng.IntN(60),
			GestWeeks: 37 + rng.IntN(5), Status: childhealth.StatusActive, RegisteredOn: kid.birth.AddDays(7), Version: 1}
		if c.DischargedOn.After(g.today) {
			c.DischargedOn = g.today
		}
		if c.RegisteredOn.Before(yearAgo) {
			c.RegisteredOn = yearAgo
		} else if c.RegisteredOn.After(g.today) {
			c.RegisteredOn = g.today
		}
		// The child's own growth track: a z-score kept through the year.
		zw, zl := rng.NormFloat64()*0.9, rng.NormFloat64()*0.9
		var ks []childhealth.Check
		var last childhealth.Kind
		for _, k := range childhealth.Kinds {
			w := cc.Schedule(k, c.BirthDate, c.DischargedOn)
			if w.From.Before(yearAgo) {
				last = k // done before the demo year (not written)
				continue
			}
			if w.From.After(g.today) || rng.IntN(100) < 8 {
				continue
			}
			d := w.From.AddDays(rng.IntN(1 + int(w.To.Time().Sub(w.From.Time()).Hours()/24)))
			if d.After(g.today) {
				d = g.today
			}
			age := int(d.Time().Sub(c.BirthDate.Time()).Hours() / 24)
			kg, _ := childhealth.ValueAt(childhealth.WeightForAge, sex, float64(age), zw+rng.NormFloat64()*0.2)
			cm, _ := childhealth.ValueAt(childhealth.HeightForAge, sex, float64(age), zl+rng.NormFloat64()*0.2)
			ck := childhealth.Check{ID: g.id("mch_check"), ChildID: c.ID, CountyCode: c.CountyCode, ResidentID: c.ResidentID, Kind: k, Date: d, AgeDays: age,
				WeightG: int(math.Round(kg * 1000)), LengthMM: int(math.Round(cm * 10)), ClinicID: kid.village, CreatedAt: g.at(d, 9)}
			ck.Scores = childhealth.Score(sex, age, ck.WeightG, ck.LengthMM)
			ck.Findings = childhealth.Classify(ck.Scores)
			ks = append(ks, ck)
			last = k
		}
		if w, ok := cc.Next(c, last, g.today); ok {
			c.NextKind, c.NextFrom, c.NextDue = w.Kind, w.From, w.To
		} else {
			c.Status = childhealth.StatusClosed
		}
		c.Version += len(ks)
		if err := g.b.Child(c, ks); err != nil {
			return err
		}
		g.res.Children++
		g.res.ChildChecks += len(ks)
	}
	return nil
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
