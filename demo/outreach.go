package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/outreach"
)

// OutreachWeeksPerYear is the demo's expert sessions: the articles report
// county experts going down to every township each week (seed 001: the
// county hospital's joint clinics at the central health centers; seed 004:
// experts posted to every township health center), so each township
// center gets one session a week.
const OutreachWeeksPerYear = 52

// demoCancelReasons are the reasons the demo's cancelled sessions give.
var demoCancelReasons = []string{"专家临时手术", "暴雨天气停诊", "专家参加省级培训"}

// outreachAhead is how many weeks of sessions the demo schedules ahead
// (open for booking).
const outreachAhead = 4

// outreach writes weekly expert sessions at every township center over
// the past weeks and outreachAhead weeks ahead: a county hospital doctor
// (rotating through the departments) on the township's weekday, 08:30–
// 11:30 in 30-minute slots of 3; past sessions with 8–16 bookings of the
// township's residents (85 % attended, 10 % no-shows, 5 % cancelled),
// coming ones partly booked; each session's specialist registered at the
// township for its date. Each session is held in a room of the center
// (专家诊室); about one session in 30 was cancelled with a reason (its
// bookings cancelled with it, its specialist's site revoked) and one in 20
// moved to another room after it was scheduled — the articles give no
// rate, these are there so the pages show both.
func (g *gen) outreach(weeks int) error {
	if weeks <= 0 || g.hosp == nil {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+53, 23))
	var towns []*org.Institution
	townOf := map[int64]int64{} // village → township
	for _, in := range g.insts {
		if outreach.Township(in.Kind) {
			towns = append(towns, in)
		}
	}
	for _, in := range g.insts {
		if in.Kind == org.KindVillageClinic {
			townOf[in.ID] = in.ParentID
		}
	}
	people := map[int64][]int64{} // township → some of its residents
	for _, p := range g.people {
		if t := townOf[p.village]; t != 0 && len(people[t]) < 2000 {
			people[t] = append(people[t], p.id)
		}
	}
	type doctor struct {
		id   int64
		dept string
	}
	var doctors []doctor
	for i, dep := range g.depts {
		for _, id := range g.deptDoctors[dep] {
			doctors = append(doctors, doctor{id, countyDepartments[i].name})
		}
	}
	if len(doctors) < len(towns) {
		return fmt.Errorf("demo: %d county doctors for %d townships' weekly sessions", len(doctors), len(towns))
	}
	slots, _ := outreach.MakeSlots("08:30", "11:30", 30)
	for ti, tw := range towns {
		wd := time.Weekday(1 + ti%5)
		first := g.today.AddDays(-7 * weeks)
		for first.Time().Weekday() != wd {
			first = first.AddDays(1)
		}
		for w := 0; ; w++ {
			day := first.AddDays(7 * w)
			if day.After(g.today.AddDays(7 * outreachAhead)) {
				break
			}
			doc := doctors[(w*len(towns)+ti)%len(doctors)]
			created := g.notAfterNow(day.AddDays(-14).Time().Add(time.Duration(rng.IntN(8*3600)) * time.Second))
			s := &outreach.Session{ID: g.id("outreach_session"), CountyCode: g.cfg.CountyCode, TownshipID: tw.ID, HostID: g.hosp.ID, PractitionerID: doc.id,
				Specialty: doc.dept, Date: day, Slots: slots, SlotMinutes: 30, Capacity: 3, Status: outreach.StatusScheduled, CreatedAt: created, Version: 1,
				Room: "专家诊室"}
			switch x := rng.IntN(60); {
			case x < 2:
				s.Status, s.CancelReason, s.Version = outreach.StatusCancelled, demoCancelReasons[rng.IntN(len(demoCancelReasons))], 2
				s.CancelledAt = g.notAfterNow(created.Add(time.Duration(1+rng.IntN(10*24)) * time.Hour))
			case x < 5:
				s.Room, s.Version = "二楼会议室（临时）", 2
				s.UpdatedAt = g.notAfterNow(created.Add(time.Duration(1+rng.IntN(10*24)) * time.Hour))
			}
			site := &outreach.PracticeSite{ID: g.id("practice_site"), CountyCode: g.cfg.CountyCode, PractitionerID: doc.id, InstitutionID: tw.ID,
				Dates: []care.Date{day}, ValidFrom: day, ValidTo: day, SessionID: s.ID, CreatedAt: created}
			if err := g.b.OutreachSession(s, site); err != nil {
				return err
			}
			g.res.OutreachSessions++
			pool := people[tw.ID]
			if len(pool) == 0 {
				continue
			}
			past := !day.After(g.today) && s.Status == outreach.StatusScheduled
			n := rng.IntN(10)
			if past {
				n = 8 + rng.IntN(9)
			}
			taken := map[int64]bool{}
			for k := 0; k < n && k < len(slots)*s.Capacity; k++ {
				rid := pool[rng.IntN(len(pool))]
				if taken[rid] {
					continue
				}
				taken[rid] = true
				b := &outreach.Booking{ID: g.id("outreach_booking"), CountyCode: g.cfg.CountyCode, SessionID: s.ID, ResidentID: rid, Slot: slots[k/s.Capacity],
					Status: outreach.Booked, Channel: outreach.ChannelVillage, BookedAt: g.notAfterNow(created.Add(time.Duration(1+rng.IntN(12*24)) * time.Hour))}
				if rng.IntN(10) < 3 {
					b.Channel = outreach.ChannelSelf
				}
				if past {
					switch x := rng.IntN(100); {
					case x < 85:
						b.Status = outreach.Attended
					case x < 95:
						b.Status = outreach.NoShow
					default:
						b.Status = outreach.Cancelled
					}
					b.UpdatedAt = g.notAfterNow(day.Time().Add(time.Duration(3*3600+rng.IntN(4*3600)) * time.Second)) // 11:00–15:00 in Shanghai
				}
				if s.Status == outreach.StatusCancelled {
					b.Status, b.UpdatedAt = outreach.Cancelled, s.CancelledAt
					if b.BookedAt.After(s.CancelledAt) { // booked before the session was cancelled
						b.BookedAt = created.Add(s.CancelledAt.Sub(created) / 2)
					}
				}
				if err := g.b.OutreachBooking(b); err != nil {
					return err
				}
				g.res.OutreachBookings++
			}
		}
	}
	return nil
}
