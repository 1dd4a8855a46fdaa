package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/org"
	"countycare/referral"
)

// Referral volumes. The seeds give no yearly referral count; they give the
// county's out-of-county referral rate, 11 %, and 1.49 % for residents in
// poverty (seed 000). The demo assumes 15 up-referrals per 1,000
// residents a year (about 15,300 for the seeds' 1.02 M people: a rural
// county hospital admits on the order of 100,000 patients a year, and a
// referral from primary care stands behind a minority of them), and a
// down-referral for 35 % of the completed in-county up-referrals (down-
// referrals lag far behind up-referrals in Chinese counties). Both are
// assumptions [U], documented in docs/referral.md.
const (
	ReferralsPer1000      = 15
	DownReferralPercent   = 35
	OutOfCountyPercent    = 11.0
	OutOfCountyPoorPermil = 15 // 1.49 %
)

// ScaledReferrals is the demo's yearly up-referral volume for n residents.
func ScaledReferrals(n int) int { return n * ReferralsPer1000 / 1000 }

// referrals writes n up-referrals sent over the past year through the
// state machine (referral.Next): accepted, arrived and completed, some
// redirected to the county TCM hospital and continued there, some
// cancelled, the most recent still open; 35 % of the completed in-county
// ones come back down with follow-up tasks, acknowledged by the village
// clinic except the most recent. Care links expire 72 h after a referral
// closes, as the service would set them.
func (g *gen) referrals(n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+29, 47))
	insts := make([]org.Institution, len(g.insts))
	for i, in := range g.insts {
		insts[i] = *in
	}
	tree := org.NewTree(insts)
	var tcm int64
	var partners []int64
	for _, in := range g.insts {
		switch {
		case in.Kind == org.KindCountyHospital && strings.Contains(in.Name, "中医院"):
			tcm = in.ID
		case in.Kind == org.KindPartner:
			partners = append(partners, in.ID)
		}
	}
	grace := referral.DefaultConfig().LinkGrace
	county := g.cfg.CountyCode
	htn := []referral.Reason{referral.HTNNotAtTarget, referral.HTNHardToControl, referral.HTNOrganDamage, referral.ChronicTwoUncontrolled, referral.ChronicNewComplication}
	other := []referral.Reason{referral.OtherDiagnosis, referral.OtherBeyond, referral.ChronicWorseComplication, referral.ChronicAdverseUncontrollable}
	emerg := []referral.Reason{referral.EmSevereBP, referral.EmSuspectedACS, referral.EmConsciousness, referral.EmChestBackPain, referral.EmPulmonaryOedema}
	events := func(r *referral.Referral, steps ...referral.Event) error {
		for i := range steps {
			e := &steps[i]
			e.ID, e.County, e.ReferralID = g.id("referral_event"), county, r.ID
			if err := g.b.ReferralEvent(e); err != nil {
				return err
			}
		}
		return nil
	}
	link := func(r *referral.Referral) error {
		l := &access.CareLink{ID: g.id("link"), CountyCode: county, ResidentID: r.ResidentID, InstitutionID: r.ToInst, Kind: access.LinkReferral,
			Reason: "referral", CreatedAt: r.SentAt}
		if !r.ClosedAt.IsZero() {
			l.ExpiresAt = r.ClosedAt.Add(grace)
		}
		r.CareLinkID = l.ID
		return g.b.CareLink(l)
	}
	start := g.now.Add(-365 * 24 * time.Hour)
	hours := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(time.Hour))
	}
	// The demo village's doctor should find referrals of their own: one in
	// twenty is drawn from the demo village.
	var local []person
	for _, p := range g.people {
		if p.village == g.demoVillage.ID {
			local = append(local, p)
		}
	}
	for i := 0; i < n; i++ {
		p := g.people[rng.IntN(len(g.people))]
		if len(local) > 0 && rng.IntN(20) == 0 {
			p = local[rng.IntN(len(local))]
		}
		from := p.village
		if rng.IntN(100) < 30 { // sent by the township center
			from = referral.PrimaryCenter(tree, p.village)
		}
		sent := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		poor := p.poverty != ""
		r := &referral.Referral{ID: g.id("referral"), County: county, Direction: referral.Up, Status: referral.StatusSent, ResidentID: p.id, Poverty: poor,
			GreenChannel: poor, Urgency: referral.Routine, FromInst: from, ToInst: g.hosp.ID, IdempotencyKey: fmt.Sprintf("demo:%d", i),
			FirstSentAt: sent, SentAt: sent, Version: 1}
		switch age := p.birth.AgeOn(care.Today(sent)); {
		case rng.IntN(100) < 15:
			r.Urgency, r.Reasons, r.Summary = referral.Emergency, []referral.Reason{emerg[rng.IntN(len(emerg))]}, "急诊转运，途中监护"
		case age >= 45:
			r.Reasons, r.Summary = []referral.Reason{htn[rng.IntN(len(htn))]}, "高血压随访控制不满意，规律服药仍未达标"
		default:
			r.Reasons, r.Summary = []referral.Reason{other[rng.IntN(len(other))]}, "诊断不明，需上级医院进一步检查"
		}
		if len(g.depts) > 0 {
			r.ToDept = g.depts[rng.IntN(len(g.depts))]
		}
		ooc := rng.Float64()*100 < OutOfCountyPercent
		if poor {
			ooc = rng.IntN(1000) < OutOfCountyPoorPermil
		}
		if ooc && len(partners) > 0 {
			r.ToInst, r.ToDept, r.OutOfCounty = partners[rng.IntN(len(partners))], 0, true
		}
		r.BedRequested = rng.IntN(100) < 40
		evs := []referral.Event{{Action: "create", To: referral.StatusSent, ByInst: from, At: sent}}
		t := sent
		step := func(act referral.Action, after time.Duration, note string) bool {
			at := t.Add(after)
			if at.After(g.now) {
				return false
			}
			to, err := referral.Next(r.Direction, r.Urgency, r.Status, act)
			if err != nil {
				panic(err) // a bug in the generator: the demo follows the state machine
			}
			by := r.ToInst
			if referral.SideOf(act) == referral.Sender {
				by = r.FromInst
			}
			evs = append(evs, referral.Event{Action: string(act), From: r.Status, To: to, Note: note, ByInst: by, At: at})
			r.Status, r.Note, r.UpdatedAt, t = to, note, at, at
			switch to {
			case referral.StatusAccepted:
				r.AcceptedAt = at
			case referral.StatusArrived:
				r.ArrivedAt = at
			}
			if to.Closed() {
				r.ClosedAt = at
			}
			return true
		}
		fate := rng.IntN(100)
		var redirectTo int64
		switch {
		case fate < 5: // cancelled by the sender before acceptance
			step(referral.ActCancel, hours(0.5, 12), "患者拒绝转诊")
		case fate < 9 && !r.OutOfCounty && tcm != 0: // redirected to the TCM hospital
			if step(referral.ActRedirect, hours(0.5, 8), "本院床位已满") {
				redirectTo = tcm
			}
		case r.Urgency == referral.Emergency:
			if step(referral.ActArrive, hours(0.3, 3), "") {
				step(referral.ActComplete, hours(48, 240), "")
			}
		default:
			if step(referral.ActAccept, hours(0.5, 24), "") {
				r.Appointment = t.Add(hours(12, 72))
				if r.BedRequested {
					r.Bed = fmt.Sprintf("%d-%02d", 1+rng.IntN(12), 1+rng.IntN(40))
				}
				if rng.IntN(100) < 4 {
					step(referral.ActCancel, hours(24, 96), "患者未按预约就诊")
				} else if step(referral.ActArrive, r.Appointment.Sub(t)+hours(-2, 2), "") {
					step(referral.ActComplete, hours(4, 240), "")
				}
			}
		}
		r.UpdatedAt = t
		if err := link(r); err != nil {
			return err
		}
		if err := g.b.Referral(r); err != nil {
			return err
		}
		if err := events(r, evs...); err != nil {
			return err
		}
		g.res.UpReferrals++
		final := r
		if redirectTo != 0 {
			c := *r
			c.ID, c.Status, c.ToInst, c.ToDept, c.RedirectedFrom, c.IdempotencyKey = g.id("referral"), referral.StatusSent, redirectTo, 0, r.ID, fmt.Sprintf("redirect:%d", r.ID)
			c.SentAt, c.AcceptedAt, c.ArrivedAt, c.ClosedAt, c.Note = t, time.Time{}, time.Time{}, time.Time{}, "本院床位已满"
			r, evs = &c, []referral.Event{{Action: "create", To: referral.StatusSent, ByInst: c.FromInst, At: t}}
			if step(referral.ActAccept, hours(0.5, 6), "") {
				r.Appointment = t.Add(hours(6, 48))
				if step(referral.ActArrive, r.Appointment.Sub(t), "") {
					step(referral.ActComplete, hours(48, 240), "")
				}
			}
			r.UpdatedAt = t
			if err := link(r); err != nil {
				return err
			}
			if err := g.b.Referral(r); err != nil {
				return err
			}
			if err := events(r, evs...); err != nil {
				return err
			}
			final = r
		}
		// Down at discharge.
		if final.Status != referral.StatusCompleted || final.OutOfCounty || rng.IntN(100) >= DownReferralPercent {
			continue
		}
		d := &referral.Referral{ID: g.id("referral"), County: county, Direction: referral.Down, Status: referral.StatusSent, ResidentID: p.id, Poverty: poor,
			GreenChannel: poor, Urgency: referral.Routine, FromInst: final.ToInst, FromDept: final.ToDept, ToInst: p.village, UpReferralID: final.ID,
			Summary: "住院治疗后病情稳定，诊断明确，方案确定", Diagnosis: "I10", DiagnosisText: "原发性高血压", Plan: "继续降压治疗，低盐饮食，每两周测血压",
			IdempotencyKey: fmt.Sprintf("demo-down:%d", final.ID), FirstSentAt: final.ClosedAt, SentAt: final.ClosedAt, UpdatedAt: final.ClosedAt, Version: 1}
		if final.Reasons[0] == referral.OtherDiagnosis || final.Reasons[0] == referral.OtherBeyond {
			d.Diagnosis, d.DiagnosisText, d.Plan = "K29.7", "胃炎", "规律服药，两周后复查"
		}
		r, t, evs = d, d.SentAt, []referral.Event{{Action: "create", To: referral.StatusSent, ByInst: d.FromInst, At: d.SentAt}}
		step(referral.ActAcknowledge, hours(0.5, 48), "")
		if err := g.b.Referral(d); err != nil {
			return err
		}
		if err := events(d, evs...); err != nil {
			return err
		}
		day := care.Today(d.SentAt)
		for k, kind := range []referral.TaskKind{referral.TaskFollowUp, referral.TaskBP, referral.TaskMedication}[:1+rng.IntN(3)] {
			task := &referral.Task{ID: g.id("referral_task"), County: county, ReferralID: d.ID, ResidentID: p.id, ClinicID: p.village, Kind: kind, Due: day.AddDays(7 * (k + 1))}
			if err := g.b.ReferralTask(task, d.SentAt); err != nil {
				return err
			}
		}
		g.res.DownReferrals++
	}
	return nil
}
