package demo

import (
	"context"
	"math/rand/v2"
	"time"

	"countycare/care"
	"countycare/family"
	"countycare/healthedu"
	"countycare/homevisit"
	"countycare/org"
	"countycare/store"
)

// SeedEduSessions and SeedEduAttendance are one county's year of health
// education: "2018年，开展健康讲习活动3000多场次，受众达40万人次" (seed 000,
// a county of about SeedPopulation): some 133 people a session.
const (
	SeedEduSessions   = 3000
	SeedEduAttendance = 400000
)

// ScaledEduSessions scales the seeds' yearly sessions to n residents.
func ScaledEduSessions(n int) int { return int(int64(SeedEduSessions) * int64(n) / SeedPopulation) }

// ScaledHomeVisits scales the seeds' yearly home visits (送医送护 28,932,
// seed 001, SeedHomeVisits) to n residents.
func ScaledHomeVisits(n int) int { return int(int64(SeedHomeVisits) * int64(n) / SeedPopulation) }

// BedriddenShare and DisabledShare are the shares of residents 65 and over
// the demo flags bedridden and disabled ([U]: a plausible figure, not
// from the seeds).
const (
	BedriddenShare = 0.02
	DisabledShare  = 0.03
)

var eduTopics = []string{"高血压的防治", "糖尿病的饮食", "合理膳食", "戒烟限酒", "老年人防跌倒", "慢阻肺的自我管理", "脑卒中的早期识别", "孕期保健",
	"儿童营养", "结核病防治", "艾滋病防治", "心理健康", "中医养生", "控盐减油", "传染病防控", "科学就医"}

// healthEducation writes the year of health education and home visits
// in one bulk load, after the family-doctor teams exist: n sessions over
// the county's village clinics and township centers (half lectures, the
// rest counselling, bulletin boards, materials and individual education;
// 5 % still planned for the coming month), attendances around the seed's
// 133 a lecture; the bedridden and disabled among the 65+ flagged; visits
// home visits requested by residents or their doctors, most for the
// flagged, scheduled to a member of the township's team and done (about
// 5 % cancelled; those of the last week still open, one per resident).
// The double prescriptions go with the demo's prescriptions
// (prescriptions.go).
func (g *gen) healthEducation(ctx context.Context, st *store.Store, sessions, visits int) error {
	if sessions <= 0 && visits <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+53, 29))
	var insts []*org.Institution
	for _, in := range g.insts {
		if in.Level == org.LevelVillage || in.Level == org.LevelTownship {
			insts = append(insts, in)
		}
	}
	return st.BulkLoad(ctx, func(b *store.Bulk) error {
		kinds := []healthedu.Kind{healthedu.Lecture, healthedu.Lecture, healthedu.Lecture, healthedu.Lecture, healthedu.Lecture,
			healthedu.Counsel, healthedu.Counsel, healthedu.Bulletin, healthedu.Materials, healthedu.Individual}
		for i := 0; i < sessions && len(insts) > 0; i++ {
			in := insts[rng.IntN(len(insts))]
			k := kinds[rng.IntN(len(kinds))]
			s := &healthedu.Session{ID: g.id("edu_sessions"), CountyCode: g.cfg.CountyCode, InstitutionID: in.ID, Kind: k, Place: in.Name,
				Topic: eduTopics[rng.IntN(len(eduTopics))], Audience: "辖区居民", Version: 1}
			if rng.IntN(20) == 0 {
				s.PlannedOn = g.today.AddDays(1 + rng.IntN(30))
			} else {
				s.PlannedOn = g.today.AddDays(-rng.IntN(365))
				s.HeldOn, s.Version = s.PlannedOn, 2
				switch k {
				case healthedu.Lecture, healthedu.Counsel:
					s.Attendance = max(5, int(rng.NormFloat64()*40+float64(SeedEduAttendance/SeedEduSessions)))
				case healthedu.Materials:
					s.Attendance, s.Materials = 50+rng.IntN(300), s.Topic+"宣传折页"
				case healthedu.Individual:
					s.Attendance = 1
				}
			}
			s.CreatedAt = g.notAfterNow(s.PlannedOn.Time().Add(-72 * time.Hour))
			if err := b.EduSession(s); err != nil {
				return err
			}
		}
		g.res.EduSessions = sessions
		return g.homeVisitsYear(b, rng, visits)
	})
}

func (g *gen) homeVisitsYear(b *store.Bulk, rng *rand.Rand, n int) error {
	elderBorn := care.Date{Year: g.today.Year - 65, Month: 1, Day: 1}
	var flagged []person
	for _, p := range g.people {
		if !p.birth.Before(elderBorn) {
			continue
		}
		kind, reason := "", ""
		switch x := rng.Float64(); {
		case x < BedriddenShare:
			kind, reason = homevisit.Bedridden, "长期卧床，生活不能自理"
		case x < BedriddenShare+DisabledShare:
			kind, reason = homevisit.Disabled, "肢体残疾，行动不便"
		default:
			continue
		}
		if err := b.CareFlag(&homevisit.Flag{CountyCode: g.cfg.CountyCode, ResidentID: p.id, Kind: kind, VillageID: p.village, Reason: reason,
			SetAt: g.now.Add(-time.Duration(rng.Int64N(int64(700 * 24 * time.Hour))))}); err != nil {
			return err
		}
		flagged = append(flagged, p)
	}
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	township := map[int64]int64{}
	for _, c := range g.clinics {
		township[c.ID] = c.ParentID
	}
	reasons := []string{"卧床，伤口需要换药", "行动不便，需上门测血压血糖", "出院后随访", "导尿管需要更换", "需要上门采血", "脑卒中后康复指导"}
	services := homevisit.DefaultConfig().Services
	open := map[int64]bool{}
	for i := 0; i < n; i++ {
		who := g.people[rng.IntN(len(g.people))]
		if len(flagged) > 0 && rng.IntN(10) < 6 {
			who = flagged[rng.IntN(len(flagged))]
		}
		team := g.teams[township[who.village]]
		asked := g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		recent := g.now.Sub(asked) < 7*24*time.Hour
		if recent && open[who.id] || team == nil || len(team.Members) == 0 {
			continue
		}
		v := &homevisit.Visit{ID: g.id("home_visits"), CountyCode: g.cfg.CountyCode, ResidentID: who.id, VillageID: who.village,
			Reason: reasons[rng.IntN(len(reasons))], ByResident: rng.IntN(3) == 0, RequestedAt: asked, Status: homevisit.Requested, Version: 1}
		if !recent || rng.IntN(2) == 0 {
			m := team.Members[rng.IntN(len(team.Members))]
			v.Status, v.TeamID, v.PractitionerID = homevisit.Scheduled, team.ID, m.PractitionerID
			v.ScheduledAt = asked.Add(time.Duration(1+rng.IntN(20)) * time.Hour)
			v.ScheduledOn, v.Version = care.Today(v.ScheduledAt).AddDays(rng.IntN(3)), 2
		}
		switch {
		case recent:
			open[who.id] = true
		case rng.IntN(20) == 0:
			v.Status, v.CancelReason, v.Version = homevisit.Cancelled, "已住院", v.Version+1
		default:
			v.Status, v.VisitedOn, v.Version = homevisit.Done, v.ScheduledOn, v.Version+1
			if v.VisitedOn.After(g.today) {
				v.VisitedOn = g.today
			}
			for _, j := range rng.Perm(len(services))[:1+rng.IntN(3)] {
				v.Services = append(v.Services, services[j])
			}
			v.SBP, v.DBP, v.Pulse, v.TempDC = 110+rng.IntN(60), 65+rng.IntN(30), 60+rng.IntN(40), 360+rng.IntN(10)
		}
		if err := b.HomeVisit(v); err != nil {
			return err
		}
		g.res.DoorToDoor++
	}
	return nil
}

// keepTeam remembers a township's family-doctor team for the home visits.
func (g *gen) keepTeam(township int64, t *family.Team) {
	if g.teams == nil {
		g.teams = map[int64]*family.Team{}
	}
	g.teams[township] = t
}
