package demo

import (
	"math/rand/v2"

	"countycare/care"
	"countycare/elderly"
	"countycare/idcard"
)

// ElderlyCoverage is the articles' share of residents aged 65+ given the
// yearly check-up (about 70 %), and ElderlyTCMShare the share of all
// residents 65+ with TCM health management (about 60 %).
const (
	ElderlyCoverage = 70
	ElderlyTCMShare = 60
)

// elderlyCollect keeps the residents aged 65+ this year while residents
// are written.
func (g *gen) elderlyCollect(id, village int64, birth care.Date, sex idcard.Sex) {
	if g.cfg.ElderlyPercent <= 0 || elderly.AgeInYear(birth, g.today.Year) < 65 {
		return
	}
	g.elders = append(g.elders, mchPerson{id: id, village: village, birth: birth, sex: sex})
}

// elderlyYear writes a year of check-ups: percent of the residents 65+
// checked on a day of the past year by their village clinic, the
// measurements drawn around rural elderly norms (about a third with
// BP ≥ 140/90, one in ten with a fasting glucose ≥ 7.0), the assessment,
// suspected cases and TCM constitution derived by the programme's own
// rules (elderly.Config), TCM answers for ElderlyTCMShare of all 65+.
func (g *gen) elderlyYear(percent int) error {
	if percent <= 0 || len(g.elders) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+67, 23))
	cfg := elderly.DefaultConfig()
	tcmPercent := min(100, ElderlyTCMShare*100/max(percent, 1))
	for _, p := range g.elders {
		if rng.IntN(100) >= percent {
			continue
		}
		on := g.today.AddDays(-rng.IntN(365))
		if elderly.AgeInYear(p.birth, on.Year) < cfg.MinAge {
			on = g.today
		}
		sex := "F"
		if p.sex == idcard.Male {
			sex = "M"
		}
		h := 1480 + rng.IntN(250)
		if sex == "M" {
			h += 80
		}
		bmi := 18 + rng.Float64()*12
		sbp := 110 + rng.IntN(60)
		dbp := min(sbp-30, 62+rng.IntN(36))
		f := elderly.Form{Symptoms: []string{"none"}, TempC10: 362 + rng.IntN(8), Pulse: 60 + rng.IntN(30), Resp: 16 + rng.IntN(5),
			SBPLeft: sbp - rng.IntN(6), DBPLeft: dbp - rng.IntN(4), SBPRight: sbp, DBPRight: dbp, HeightMM: h,
			WeightG: int(bmi * float64(h*h) / 1000), WaistMM: 700 + rng.IntN(300), SelfCare: []int{0, 0, 0, 0, 0},
			Cognitive: "negative", Depression: "negative", Smoking: elderly.Smoking[rng.IntN(3)], Drinking: elderly.Drinking[rng.IntN(4)],
			Exercise: elderly.Exercise[rng.IntN(4)], Diet: []string{elderly.Diets[rng.IntN(len(elderly.Diets))]},
			Labs: map[string]float64{"fpg": float64(430+rng.IntN(330)) / 100, "hb": float64(110 + rng.IntN(50)), "tc": float64(35+rng.IntN(30)) / 10,
				"tg": float64(8+rng.IntN(15)) / 10, "alt": float64(10 + rng.IntN(40)), "scr": float64(50 + rng.IntN(80))},
			ECG: "normal", Ultrasound: "normal", Guidance: []string{"next_checkup", "fall_prevention"}}
		if rng.IntN(100) < 10 {
			f.SelfCare = []int{rng.IntN(2), rng.IntN(3), rng.IntN(2), rng.IntN(3), rng.IntN(3)}
		}
		if rng.IntN(100) < 6 {
			f.Cognitive = "positive"
		}
		if rng.IntN(100) < 8 {
			f.ECG = "abnormal"
		}
		if rng.IntN(100) < 12 {
			f.Ultrasound = "abnormal"
		}
		if rng.IntN(100) < tcmPercent {
			bias := 1 + rng.IntN(8) // a leaning towards one biased constitution (0 here: balanced)
			f.TCM = make([]int, elderly.TCMQuestions)
			for i := range f.TCM {
				f.TCM[i] = 1 + rng.IntN(2)
			}
			f.TCM[0] = 3 + rng.IntN(3)
			if rng.IntN(100) < 65 {
				for _, q := range elderly.Questions(elderly.Constitutions[bias]) {
					f.TCM[q-1] = 2 + rng.IntN(4)
				}
			}
		}
		k := &elderly.Checkup{ID: g.id("elderly_checkup"), CountyCode: g.cfg.CountyCode, ResidentID: p.id, ManagedBy: p.village, Year: on.Year, Date: on,
			Form: f, BMI10: elderly.BMI10(f.WeightG, f.HeightMM), SelfCareScore: elderly.SelfCareScore(f.SelfCare), Findings: cfg.Assess(&f, sex),
			Suspected: cfg.Suspect(&f, g.registered[p.id]), ClinicID: p.village, CreatedAt: g.at(on, 9)}
		k.SBP, k.DBP = elderly.HigherArm(&f)
		k.SelfCare = cfg.SelfCareGrade(k.SelfCareScore)
		if len(k.Suspected) > 0 {
			k.Form.Guidance = append(k.Form.Guidance, "recheck")
		}
		if f.TCM != nil {
			r := cfg.IdentifyConstitution(f.TCM)
			k.TCM = &r
			g.res.ElderlyTCM++
		}
		if err := g.b.Checkup(k); err != nil {
			return err
		}
		g.res.ElderlyCheckups++
	}
	return nil
}
