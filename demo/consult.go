package demo

import (
	"math/rand/v2"
	"sort"
	"time"

	"countycare/care"
	"countycare/consult"
)

// rosters writes the county hospital's duty rosters from 400 days ago to 14
// days ahead: three 8-hour shifts a day (08:00, 16:00, 00:00 Beijing time),
// two doctors each, rotating through the department. The demo specialist
// (cardiology) is first on every cardiology shift from yesterday on, so a
// demo request reaches the demo sign-in.
func (g *gen) rosters() error {
	depts := make([]int64, 0, len(g.deptDoctors))
	for d := range g.deptDoctors {
		depts = append(depts, d)
	}
	sort.Slice(depts, func(i, j int) bool { return depts[i] < depts[j] })
	spec := g.pract[care.RoleCountySpecialist]
	day0 := time.Date(g.today.Year, g.today.Month, g.today.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, -400)
	for _, d := range depts {
		docs := g.deptDoctors[d]
		// Residents (the last two) are not on the consultation roster.
		if len(docs) > 4 {
			docs = docs[:len(docs)-2]
		}
		n := 0
		for day := 0; day < 415; day++ {
			for shift := 0; shift < 3; shift++ {
				start := day0.AddDate(0, 0, day).Add(time.Duration(8*shift) * time.Hour)
				first, second := docs[n%len(docs)], docs[(n+1)%len(docs)]
				n++
				if spec != nil && spec.DepartmentID == d && !start.Before(day0.AddDate(0, 0, 399)) {
					first = spec.ID
					if second == spec.ID {
						second = docs[0]
					}
				}
				for pos, p := range []int64{first, second} {
					sl := &consult.Slot{ID: g.id("slot"), InstitutionID: g.hosp.ID, DepartmentID: d, PractitionerID: p, Start: start, End: start.Add(8 * time.Hour), Position: pos + 1}
					if err := g.b.DutySlot(sl, g.now); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// SeedConsultations is the seeds' yearly count of remote consultations in a
// county of SeedPopulation people (seed 001: 32,000 a year).
const SeedConsultations = 32000

// ScaledConsultations is the seeds' consultation volume for n residents.
func ScaledConsultations(n int) int { return int(int64(SeedConsultations) * int64(n) / SeedPopulation) }

// consultDepts weights the departments village doctors consult most.
var consultDepts = []struct {
	specialty string
	w         int
}{{"cardiology", 30}, {"endocrinology", 15}, {"neurology", 15}, {"respiratory", 12}, {"gastroenterology", 8}, {"pediatrics", 6},
	{"orthopedics", 5}, {"rehabilitation", 5}, {"psychiatry", 4}}

// consultations writes n closed consultations over the past year: each
// answered within the response time (about 8 % after an escalation), with
// a signed opinion and the inviting doctor's decision, and its timeline.
func (g *gen) consultations(n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+37, 53))
	deptOf := g.deptOf
	tot := 0
	for _, d := range consultDepts {
		tot += d.w
	}
	cfg := consult.DefaultConfig()
	reasons := map[string][]string{"cardiology": {"血压控制不佳伴胸闷", "心悸待查", "心电图异常"}, "endocrinology": {"血糖控制不佳", "糖尿病足"},
		"neurology": {"头晕待查", "脑卒中后遗症康复评估"}, "respiratory": {"慢性咳嗽", "慢阻肺急性加重"}, "gastroenterology": {"上腹痛待查"},
		"pediatrics": {"小儿反复发热"}, "orthopedics": {"腰腿痛"}, "rehabilitation": {"脑卒中后康复指导"}, "psychiatry": {"精神障碍患者病情波动"}}
	for i := 0; i < n; i++ {
		w := rng.IntN(tot)
		spec := consultDepts[0].specialty
		for _, d := range consultDepts {
			if w < d.w {
				spec = d.specialty
				break
			}
			w -= d.w
		}
		dept := deptOf[spec]
		docs := g.deptDoctors[dept]
		if dept == 0 || len(docs) == 0 {
			continue
		}
		p := g.people[rng.IntN(len(g.people))]
		created := g.now.Add(-time.Duration(1+rng.IntN(364*24*60)) * time.Minute)
		kind := consult.OneToOne
		if rng.IntN(20) == 0 {
			kind = consult.MDT
		} else if spec == "rehabilitation" {
			kind = consult.Rehab
		}
		urg := []consult.Urgency{consult.Routine, consult.Routine, consult.Routine, consult.Urgent, consult.Emergency}[rng.IntN(5)]
		first, second := docs[rng.IntN(len(docs))], docs[rng.IntN(len(docs))]
		c := &consult.Consultation{County: g.cfg.CountyCode, ResidentID: p.id, Kind: kind, Urgency: urg, Reason: reasons[spec][rng.IntN(len(reasons[spec]))],
			Purpose: "明确诊断，指导用药", Summary: "病情摘要（演示数据）", Specialty: spec, Departments: []int64{dept}, FromInstitution: p.village,
			ToInstitution: g.hosp.ID, ToDepartment: dept, AssignedTo: first, Status: consult.StatusClosed, Chain: []int64{first, second},
			Consent: consult.Consent{By: consult.ConsentPatient, Method: consult.ConsentWritten, At: created.Add(-5 * time.Minute)}, CreatedAt: created}
		if kind == consult.Rehab {
			c.RehabSessions = 4 + rng.IntN(9)
		}
		e := []consult.Event{{Kind: consult.EvCreated, At: created, Detail: string(kind) + " " + string(urg)}, {Kind: consult.EvAssigned, Practitioner: first, At: created}}
		limit := time.Duration(cfg.ResponseMinutes[urg]) * time.Minute
		accepted := created.Add(time.Duration(30+rng.IntN(int(limit.Seconds())-30)) * time.Second)
		if rng.IntN(100) < 8 { // nobody answered in time: the next doctor on duty took it
			c.Step, c.AssignedTo, c.Escalations = 1, second, 1
			e = append(e, consult.Event{Kind: consult.EvEscalated, Practitioner: second, At: created.Add(limit), Detail: "no answer in time"})
			accepted = created.Add(limit + time.Duration(30+rng.IntN(240))*time.Second)
		}
		answered := accepted.Add(time.Duration(10+rng.IntN(50)) * time.Minute)
		closed := answered.Add(time.Duration(10+rng.IntN(600)) * time.Minute)
		c.Deadline, c.AcceptedAt, c.AnsweredAt, c.ClosedAt = accepted, accepted, answered, closed
		o := &consult.Opinion{Assessment: "结合病史与检查，考虑" + c.Reason, Plan: "调整用药，两周后复查", SignedBy: c.AssignedTo, SignedAt: answered.UTC().Truncate(time.Microsecond)}
		switch spec {
		case "cardiology":
			o.DiagnosisCode, o.DiagnosisText = "I10", "原发性高血压"
		case "endocrinology":
			o.DiagnosisCode, o.DiagnosisText = "E11.9", "2 型糖尿病"
		}
		x := rng.IntN(100)
		c.Decision = consult.DecisionAdvice
		if x < 15 {
			c.Decision, o.Refer = consult.DecisionReferral, true
		} else if x < 30 {
			c.Decision = consult.DecisionLocal
		}
		c.ID = g.id("consultation")
		o.Hash = consult.OpinionHash(c.ID, o)
		c.Opinion = o
		e = append(e, consult.Event{Kind: consult.EvAccepted, Practitioner: c.AssignedTo, At: accepted},
			consult.Event{Kind: consult.EvOpinion, Practitioner: c.AssignedTo, At: answered, Detail: o.DiagnosisCode},
			consult.Event{Kind: consult.EvDecision, At: closed, Detail: c.Decision})
		if err := g.b.Consultation(c, e); err != nil {
			return err
		}
		g.res.Consultations++
	}
	return nil
}
