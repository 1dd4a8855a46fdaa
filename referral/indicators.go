package referral

import (
	"context"
	"fmt"
	"slices"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/org"
)

// This file holds the referral and tiered-care indicators, each with its
// formula and source, for a period [from, to] and a unit (a township
// center's area, or the county):
//
//   转诊量 Counts            referrals first sent in the period by direction and current status.
//                            A redirected referral is continued by a new one; only the chain's
//                            last referral is counted ("chain end"), so a patient is counted once.
//   转诊完成率 Completion    (up-referrals arrived or completed + down-referrals acknowledged)
//                            / chain-end referrals sent (issue #3: "arrived / acknowledged");
//                            cancelled ones stay in the denominator. Also per direction.
//   到达时间 Arrival         hours from the chain's first sending to the confirmed arrival, over
//                            arrived up-referrals: median and 90th percentile by the nearest-rank
//                            method (the ⌈p·n⌉-th smallest value, no interpolation).
//   县外转诊率 OutOfCounty   chain-end up-referrals to an institution outside the county / all
//                            chain-end up-referrals, overall and for residents in a poverty
//                            category (seed 000: 11 % and 1.49 %; policy-rules.md §3).
//   县域内就诊率 InCounty    settled visits at village, township or county level / all settled
//                            visits of the unit's residents (≈ 90 % target, policy-rules.md §3 [V-2nd]).
//   基层诊疗量占比 Primary   settled visits at village or township level / all settled visits
//                            (≥ 65 %, 2015 pilot standard, policy-rules.md §3 [V-2nd]).
//   县外住院率 OutOfCountyInpatient  out-of-county inpatient settlements / all inpatient settlements,
//                            i.e. 1 − in-county inpatient share, the proxy policy-rules.md §3 [U]
//                            gives for the out-of-county referral rate.
//
// Settled visits are the `settlements` rows not reversed, dated in the
// period, by the resident's village clinic (its township is the unit).

// Rate is a numerator over a denominator.
type Rate struct{ Num, Den int }

// BP returns the rate in basis points (10000 = 100 %), 0 for an empty denominator.
func (r Rate) BP() int {
	if r.Den == 0 {
		return 0
	}
	return (r.Num*10000 + r.Den/2) / r.Den
}

// Fact is what the indicators need of one referral.
type Fact struct {
	ID          int64
	Direction   Direction
	Status      Status
	FromInst    int64
	ToInst      int64
	OutOfCounty bool
	Poverty     bool
	FirstSentAt time.Time
	ArrivedAt   time.Time
	ResidentID  int64 // the patient (the dashboard's records name them; the figures do not)
}

// At is the institution a chain-end referral counts at (Compute): where
// an up-referral was sent from, where a down-referral was sent to.
func (f *Fact) At() int64 {
	if f.Direction == Down {
		return f.ToInst
	}
	return f.FromInst
}

// Done reports whether the referral counts as completed (转诊完成率, issue
// #3): an up-referral arrived or completed, a down-referral acknowledged.
func (f *Fact) Done() bool {
	if f.Direction == Down {
		return f.Status == StatusAcknowledged
	}
	return f.Status == StatusArrived || f.Status == StatusCompleted
}

// Settlement levels and visit types as the settle package writes them
// (settle.Village … settle.OutOfCounty, settle.Inpatient).
const (
	levelVillage     = "village"
	levelTownship    = "township"
	levelCounty      = "county"
	levelOutOfCounty = "out_of_county"
	visitInpatient   = "inpatient"
)

// VisitCount is a number of settled visits of one village clinic's
// residents at one level and visit type.
type VisitCount struct {
	Village   int64
	Level     string
	VisitType string
	N         int
}

// Indicators are the referral indicators of one unit.
type Indicators struct {
	Counts               map[Direction]map[Status]int // chain ends by direction and status
	Sent                 map[Direction]int            // chain ends sent
	Completion           Rate
	UpCompletion         Rate
	DownCompletion       Rate
	Arrived              int
	MedianArrival        time.Duration
	P90Arrival           time.Duration
	OutOfCounty          Rate
	OutOfCountyPoor      Rate
	Visits               int
	InCounty             Rate
	Primary              Rate
	OutOfCountyInpatient Rate
	arrivals             []time.Duration
}

// SentUp and SentDown are the chain-end referrals sent in each direction.
func (ind *Indicators) SentUp() int { return ind.Sent[Up] }

// SentDown: see SentUp.
func (ind *Indicators) SentDown() int { return ind.Sent[Down] }

func newIndicators() *Indicators {
	return &Indicators{Counts: map[Direction]map[Status]int{Up: {}, Down: {}}, Sent: map[Direction]int{}}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the ⌈p/100·n⌉-th smallest value; 0 for no values.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// add counts one chain-end referral.
func (ind *Indicators) add(f *Fact) {
	ind.Counts[f.Direction][f.Status]++
	ind.Sent[f.Direction]++
	done := f.Done()
	switch f.Direction {
	case Up:
		ind.UpCompletion.Den++
		if done {
			ind.UpCompletion.Num++
		}
		ind.OutOfCounty.Den++
		if f.OutOfCounty {
			ind.OutOfCounty.Num++
		}
		if f.Poverty {
			ind.OutOfCountyPoor.Den++
			if f.OutOfCounty {
				ind.OutOfCountyPoor.Num++
			}
		}
		if done && !f.ArrivedAt.IsZero() && !f.FirstSentAt.IsZero() {
			ind.arrivals = append(ind.arrivals, f.ArrivedAt.Sub(f.FirstSentAt))
		}
	case Down:
		ind.DownCompletion.Den++
		if done {
			ind.DownCompletion.Num++
		}
	}
	ind.Completion.Den++
	if done {
		ind.Completion.Num++
	}
}

func (ind *Indicators) addVisits(v VisitCount) {
	ind.Visits += v.N
	ind.InCounty.Den += v.N
	ind.Primary.Den += v.N
	switch v.Level {
	case levelVillage, levelTownship:
		ind.Primary.Num += v.N
		ind.InCounty.Num += v.N
	case levelCounty:
		ind.InCounty.Num += v.N
	}
	if v.VisitType == visitInpatient {
		ind.OutOfCountyInpatient.Den += v.N
		if v.Level == levelOutOfCounty {
			ind.OutOfCountyInpatient.Num += v.N
		}
	}
}

func (ind *Indicators) finish() {
	ind.Arrived = len(ind.arrivals)
	ind.MedianArrival = Percentile(ind.arrivals, 50)
	ind.P90Arrival = Percentile(ind.arrivals, 90)
}

// Compute returns the indicators per unit. unitsOf names the units an
// institution counts towards (its township center's area and the county);
// an up-referral counts where it was sent from, a down-referral where it
// was sent to, visits where the resident lives. Redirected referrals are
// not counted (their continuation is).
func Compute(facts []Fact, visits []VisitCount, unitsOf func(inst int64) []int64) map[int64]*Indicators {
	out := map[int64]*Indicators{}
	get := func(u int64) *Indicators {
		if out[u] == nil {
			out[u] = newIndicators()
		}
		return out[u]
	}
	for i := range facts {
		f := &facts[i]
		if f.Status == StatusRedirected {
			continue
		}
		for _, u := range unitsOf(f.At()) {
			get(u).add(f)
		}
	}
	for _, v := range visits {
		for _, u := range unitsOf(v.Village) {
			get(u).addVisits(v)
		}
	}
	for _, ind := range out {
		ind.finish()
	}
	return out
}

// UnitReport is one unit's indicators.
type UnitReport struct {
	Unit  *org.Institution
	Depth int // 0 county, 1 township
	Ind   *Indicators
}

// Report is the indicators of every unit an actor may see over a period.
type Report struct {
	From, To care.Date
	Units    []UnitReport
}

// UnitsOf maps an institution to the units its referrals and visits
// count towards: its township center and its county.
func UnitsOf(t *org.Tree, inst int64) []int64 {
	var out []int64
	for in := t.Get(inst); in != nil; in = t.Get(in.ParentID) {
		switch in.Kind {
		case org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
			if len(out) == 0 {
				out = append(out, in.ID)
			}
		case org.KindCounty:
			out = append(out, in.ID)
		}
	}
	return out
}

// Indicators computes the referral indicators for [from, to] per township
// and for the county: analysts and county specialists see every unit, a
// township doctor their own township. The read is audited. Errors:
// EINVALID (period), EFORBIDDEN (other roles).
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*Report, error) {
	if err := chronic.CheckPeriod(from, to, care.Today(s.Now())); err != nil {
		return nil, err
	}
	visible := func(int64) bool { return true }
	switch a.Role {
	case care.RoleAnalyst, care.RoleCountySpecialist:
	case care.RoleTownshipDoctor:
		visible = func(id int64) bool { return id == a.InstitutionID }
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var facts []Fact
	collect := func(f Fact) error { facts = append(facts, f); return nil }
	if err := s.Repo.ReferralFacts(ctx, a.CountyCode, from, to, collect); err != nil {
		return nil, err
	}
	visits, err := s.Repo.VisitCounts(ctx, a.CountyCode, from, to)
	if err != nil {
		return nil, err
	}
	res := Compute(facts, visits, func(id int64) []int64 { return UnitsOf(t, id) })
	rep := &Report{From: from, To: to}
	for _, c := range t.Roots() {
		if c.Kind != org.KindCounty || c.CountyCode != a.CountyCode {
			continue
		}
		if visible(c.ID) {
			rep.Units = append(rep.Units, UnitReport{Unit: c, Depth: 0, Ind: orEmpty(res[c.ID])})
		}
		var tws []*org.Institution
		for _, k := range []org.Kind{org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC} {
			tws = append(tws, t.OfKind(c.ID, k)...)
		}
		slices.SortFunc(tws, func(x, y *org.Institution) int { return int(x.ID - y.ID) })
		for _, tw := range tws {
			if visible(tw.ID) {
				rep.Units = append(rep.Units, UnitReport{Unit: tw, Depth: 1, Ind: orEmpty(res[tw.ID])})
			}
		}
	}
	ev := audit.New(ctx, a, AuditReport, 0)
	ev.Detail = fmt.Sprintf("referral indicators %s..%s units=%d", from, to, len(rep.Units))
	s.Audit.Record(ctx, ev)
	return rep, nil
}

func orEmpty(i *Indicators) *Indicators {
	if i == nil {
		i = newIndicators()
		i.finish()
	}
	return i
}
