package chronic

// In-memory fakes of chronic.Repository and RecomputeRepository, of the
// resident registry's storage and of the organisation tree, for the service
// rule tests (service_rules_test.go, issue 18 §6). Each fake keeps to what
// the SQL adapter does (store/chronic.go, store/outbox.go, migration 0003):
// one active registration per resident and disease (unique index
// chronic_reg_live), one visit per registration and day (UNIQUE
// (registration_id, visit_date)), optimistic versions, hand-offs found only
// through their receiving institution, the outbox's per-week limit counted
// inside the insert.

import (
	"context"
	"slices"
	"sort"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/points"
	"countycare/resident"
)

const county = "411723"

// The county: community 2 led by hospital 3 (township 10 with villages 11
// and 12); community 20 without a named lead, with hospital 21 and central
// center 22 (village 23); community 30 with neither (sub-center 31, village
// 32); village 40 directly under the county; a partner hospital as a second
// root.
func testTree() *org.Tree {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: county, Name: "示例县"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: county, Name: "城关医共体", LeadID: 3},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: county, Name: "县人民医院"},
		{ID: 10, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: county, Name: "城关镇卫生院"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: county, Name: "郭庄村卫生室"},
		{ID: 12, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: county, Name: "李庄村卫生室"},
		{ID: 20, ParentID: 1, Kind: org.KindCommunity, CountyCode: county, Name: "东部医共体"},
		{ID: 21, ParentID: 20, Kind: org.KindCountyHospital, CountyCode: county, Name: "县中医院"},
		{ID: 22, ParentID: 20, Kind: org.KindCentralHC, CountyCode: county, Name: "东镇中心卫生院"},
		{ID: 23, ParentID: 22, Kind: org.KindVillageClinic, CountyCode: county, Name: "东村卫生室"},
		{ID: 30, ParentID: 1, Kind: org.KindCommunity, CountyCode: county, Name: "西部医共体"},
		{ID: 31, ParentID: 30, Kind: org.KindSubCenter, CountyCode: county, Name: "西部次中心"},
		{ID: 32, ParentID: 31, Kind: org.KindVillageClinic, CountyCode: county, Name: "西村卫生室"},
		{ID: 40, ParentID: 1, Kind: org.KindVillageClinic, CountyCode: county, Name: "直属村卫生室"},
		{ID: 90, Kind: org.KindPartner, CountyCode: county, Name: "省人民医院"},
	})
}

type fakeOrgs struct{ t *org.Tree }

func (o fakeOrgs) Tree(context.Context) (*org.Tree, error) { return o.t, nil }

// fakeResidents is the registry's storage: residents by id and the care
// links that let county staff see them (store.ResidentScoped: the record
// and whether the scope covers it, ENOTFOUND for none).
type fakeResidents struct {
	resident.Repository
	people map[int64]*resident.Resident
	links  map[int64][]int64
}

func (f *fakeResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	r := f.people[id]
	if r == nil {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	c := *r
	sub := access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID, LinkedTo: f.links[id]}
	return &c, sc.Allows(sub), nil
}

func (f *fakeResidents) LinkedInstitutions(_ context.Context, _ string, id int64, _ time.Time) ([]int64, error) {
	return f.links[id], nil
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

func (a *auditLog) actions() []string {
	var out []string
	for _, e := range a.events {
		out = append(out, e.Action)
	}
	return out
}

// fakeRepo is chronic.Repository and RecomputeRepository in memory. events
// are the audit rows written in the same transaction as the data.
type fakeRepo struct {
	now       func() time.Time
	residents *fakeResidents
	regs      map[int64]*Registration
	nextID    int64
	visits    []StoredVisit
	changes   []TierChange
	links     []access.CareLink
	awards    []points.Entry
	calls     []Call
	outbox    []notify.Message
	events    []audit.Event

	adults        map[int64]int // residents ≥ minAge per village clinic
	adultCalls    int
	adultArgs     []any // minAge, day of the last AdultCounts
	unitYears     []UnitYear
	unitYearCalls []int // the years asked
	periodCalls   int
	readErr       error // returned by ChronicPeriod and ChronicUnitYears (a failed read)

	histories []History
	applyErr  error // returned by ApplyTierUpdates (a failed batch)
	applied   []TierUpdate
	applyEv   []audit.Event
	rebuilt   int

	overdueLimit int
	queuedSince  time.Time
	queuedWeek   int
}

func newFakeRepo(now func() time.Time, rs *fakeResidents) *fakeRepo {
	return &fakeRepo{now: now, residents: rs, regs: map[int64]*Registration{}, adults: map[int64]int{}}
}

func (f *fakeRepo) id() int64 { f.nextID++; return f.nextID }

func (f *fakeRepo) Enroll(_ context.Context, r *Registration, ev audit.Event) error {
	for _, x := range f.regs {
		if x.County == r.County && x.ResidentID == r.ResidentID && x.Disease == r.Disease && x.Status == StatusActive {
			return care.Errorf(care.ECONFLICT, "error.conflict") // chronic_reg_live
		}
	}
	r.ID, r.CreatedAt, r.Version = f.id(), f.now(), 1
	c := *r
	f.regs[r.ID] = &c
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Registration(_ context.Context, id int64) (*Registration, error) {
	r := f.regs[id]
	if r == nil {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := *r
	return &c, nil
}

func (f *fakeRepo) Registrations(_ context.Context, county string, residentID int64) ([]Registration, error) {
	var out []Registration
	for _, r := range f.regs {
		if r.County == county && r.ResidentID == residentID {
			out = append(out, *r)
		}
	}
	// Active first, then by id (store.Registrations).
	sort.Slice(out, func(i, j int) bool {
		ai, aj := out[i].Status == StatusActive, out[j].Status == StatusActive
		if ai != aj {
			return ai
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// byDateDesc orders a registration's visits newest first (visit_date DESC, id DESC).
func (f *fakeRepo) byDateDesc(registrationID int64) []StoredVisit {
	var vs []StoredVisit
	for _, v := range f.visits {
		if v.RegistrationID == registrationID {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Date != vs[j].Date {
			return vs[j].Date.Before(vs[i].Date)
		}
		return vs[i].ID > vs[j].ID
	})
	return vs
}

func (f *fakeRepo) RecentOutcomes(_ context.Context, registrationID int64, n int) ([]Outcome, error) {
	vs := f.byDateDesc(registrationID)
	var out []Outcome
	for i := 0; i < len(vs) && i < n; i++ {
		out = append([]Outcome{{Class: vs[i].Outcome.Class, Urgent: vs[i].Outcome.Urgent, Refer: vs[i].Outcome.Refer}}, out...)
	}
	return out, nil
}

func (f *fakeRepo) SaveVisit(_ context.Context, v *StoredVisit, r *Registration, change *TierChange, link *access.CareLink, award *points.Entry, ev audit.Event) error {
	for _, x := range f.visits {
		if x.RegistrationID == v.RegistrationID && x.Date == v.Date {
			return &care.Error{Code: care.ECONFLICT, Key: "chronic.visit_duplicate", Args: []any{v.Date.String()}}
		}
	}
	cur := f.regs[r.ID]
	if cur == nil || cur.Version != r.Version {
		return &care.Error{Code: care.ECONFLICT, Key: "chronic.stale"}
	}
	v.ID, v.CreatedAt = f.id(), f.now()
	f.visits = append(f.visits, *v)
	cur.Tier, cur.TierSince, cur.LastClass, cur.LastVisit, cur.NextVisit, cur.Risk = r.Tier, r.TierSince, r.LastClass, r.LastVisit, r.NextVisit, r.Risk
	cur.Version++
	r.Version++
	if change != nil {
		change.ID, change.CreatedAt = f.id(), f.now()
		f.changes = append(f.changes, *change)
	}
	if award != nil {
		f.awards = append(f.awards, *award)
	}
	if link != nil {
		link.CreatedAt = f.now()
		f.links = append(f.links, *link)
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Visits(_ context.Context, registrationID int64, limit int) ([]StoredVisit, error) {
	vs := f.byDateDesc(registrationID)
	return vs[:min(limit, len(vs))], nil
}

func (f *fakeRepo) SetRegistrationStatus(_ context.Context, r *Registration, ev audit.Event) error {
	cur := f.regs[r.ID]
	if cur == nil || cur.Version != r.Version {
		return &care.Error{Code: care.ECONFLICT, Key: "chronic.stale"}
	}
	if r.Status == StatusActive {
		for _, x := range f.regs {
			if x.ID != r.ID && x.County == r.County && x.ResidentID == r.ResidentID && x.Disease == r.Disease && x.Status == StatusActive {
				return &care.Error{Code: care.ECONFLICT, Key: "chronic.already_registered"}
			}
		}
	}
	cur.Status, cur.ClosedOn = r.Status, r.ClosedOn
	cur.Version++
	r.Version++
	f.events = append(f.events, ev)
	return nil
}

// Overdue is store.Overdue: active registrations of the clinics whose next
// visit is before today and whom no call hides (hide_until > today),
// highest risk first, then most overdue, then by id.
func (f *fakeRepo) Overdue(_ context.Context, county string, clinics []int64, today care.Date, limit int) ([]Overdue, error) {
	f.overdueLimit = limit
	var out []Overdue
	for _, r := range f.regs {
		if r.County != county || !slices.Contains(clinics, r.ClinicID) || r.Status != StatusActive || !r.NextVisit.Before(today) {
			continue
		}
		hidden := false
		for _, c := range f.calls {
			hidden = hidden || c.RegistrationID == r.ID && c.HideUntil.After(today)
		}
		if hidden {
			continue
		}
		p := f.residents.people[r.ResidentID]
		out = append(out, Overdue{Registration: *r, Name: p.Name, Phone: p.Phone,
			DaysOverdue: int(today.Time().Sub(r.NextVisit.Time()).Hours() / 24)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		if a.NextVisit != b.NextVisit {
			return a.NextVisit.Before(b.NextVisit)
		}
		return a.ID < b.ID
	})
	return out[:min(limit, len(out))], nil
}

func (f *fakeRepo) SaveCall(_ context.Context, c *Call, ev audit.Event) error {
	c.ID, c.CreatedAt = f.id(), f.now()
	f.calls = append(f.calls, *c)
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Handoffs(_ context.Context, institutionID int64, open bool, limit int) ([]TierChange, error) {
	var out []TierChange
	for i := len(f.changes) - 1; i >= 0 && len(out) < limit; i-- {
		if c := f.changes[i]; c.ToInstitution == institutionID && (!open || c.AcknowledgedAt.IsZero()) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeRepo) AcknowledgeHandoff(_ context.Context, id, institutionID, by int64, at time.Time, ev audit.Event) error {
	for i := range f.changes {
		c := &f.changes[i]
		if c.ID != id || c.ToInstitution != institutionID {
			continue
		}
		if !c.AcknowledgedAt.IsZero() {
			return care.Errorf(care.ECONFLICT, "chronic.handoff_acknowledged")
		}
		c.AcknowledgedBy, c.AcknowledgedAt = by, at
		ev.ResidentID, ev.CountyCode = c.ResidentID, c.County
		f.events = append(f.events, ev)
		return nil
	}
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

func (f *fakeRepo) TierCounts(_ context.Context, county string, clinics []int64) (map[int64]map[Tier]int, error) {
	out := map[int64]map[Tier]int{}
	for _, r := range f.regs {
		if r.County == county && r.Status == StatusActive && slices.Contains(clinics, r.ClinicID) {
			if out[r.ClinicID] == nil {
				out[r.ClinicID] = map[Tier]int{}
			}
			out[r.ClinicID][r.Tier]++
		}
	}
	return out, nil
}

func (f *fakeRepo) TierChanges(_ context.Context, registrationID int64) ([]TierChange, error) {
	var out []TierChange
	for _, c := range f.changes {
		if c.RegistrationID == registrationID {
			out = append(out, c)
		}
	}
	return out, nil
}

// ChronicPeriod is store.chronicVisits: the registrations under management
// in [from, to] of the clinics (nil: all), in id order, each with its
// visits of the period folded in oldest first.
func (f *fakeRepo) ChronicPeriod(_ context.Context, county string, clinics []int64, from, to care.Date, fn func(*PatientPeriod) error) error {
	f.periodCalls++
	if f.readErr != nil {
		return f.readErr
	}
	var ids []int64
	for id := range f.regs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := f.regs[id]
		if r.County != county || clinics != nil && !slices.Contains(clinics, r.ClinicID) || !UnderManagement(r.EnrolledOn, r.ClosedOn, from, to) {
			continue
		}
		p := &PatientPeriod{RegistrationID: r.ID, Disease: r.Disease, ClinicID: r.ClinicID,
			Ended: r.Status == StatusClosed && !r.ClosedOn.IsZero() && !r.ClosedOn.Before(from) && !r.ClosedOn.After(to)}
		vs := f.byDateDesc(r.ID)
		for i := len(vs) - 1; i >= 0; i-- {
			if !vs[i].Date.Before(from) && !vs[i].Date.After(to) {
				p.AddVisit(&vs[i].Visit)
			}
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeRepo) ChronicUnitYears(_ context.Context, county string, clinics []int64, year int, fn func(*UnitYear) error) error {
	f.unitYearCalls = append(f.unitYearCalls, year)
	if f.readErr != nil {
		return f.readErr
	}
	for i := range f.unitYears {
		u := f.unitYears[i]
		if u.Year == year && (clinics == nil || slices.Contains(clinics, u.ClinicID)) {
			if err := fn(&u); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeRepo) AdultCounts(_ context.Context, county string, clinics []int64, minAge int, day care.Date) (map[int64]int, error) {
	f.adultCalls++
	f.adultArgs = []any{minAge, day}
	out := map[int64]int{}
	for c, n := range f.adults {
		if clinics == nil || slices.Contains(clinics, c) {
			out[c] = n
		}
	}
	return out, nil
}

// QueueMessages is store.QueueMessages: a resident who already had perWeek
// messages of the purpose since since is skipped; the rest are queued.
func (f *fakeRepo) QueueMessages(_ context.Context, msgs []notify.Message, perWeek int, since time.Time, ev audit.Event) (int, error) {
	f.queuedSince, f.queuedWeek = since, perWeek
	queued := 0
	for _, m := range msgs {
		if err := m.Valid(); err != nil {
			return 0, err
		}
		if perWeek > 0 && m.ResidentID != 0 {
			n := 0
			for _, o := range f.outbox {
				if o.ResidentID == m.ResidentID && o.Purpose == m.Purpose && !o.CreatedAt.Before(since) {
					n++
				}
			}
			if n >= perWeek {
				continue
			}
		}
		m.Status, m.CreatedAt = notify.StatusQueued, f.now()
		f.outbox = append(f.outbox, m)
		queued++
	}
	f.events = append(f.events, ev)
	return queued, nil
}

// RecomputeRepository.

func (f *fakeRepo) ChronicHistories(_ context.Context, county string, fn func(*History) error) error {
	for i := range f.histories {
		h := f.histories[i]
		h.Visits = slices.Clone(h.Visits)
		if h.Reg.County != county {
			continue
		}
		if err := fn(&h); err != nil {
			return err
		}
	}
	return nil
}

// ApplyTierUpdates is store.ApplyTierUpdates: a registration whose version
// moved since it was read (a follow-up meanwhile) is left alone.
func (f *fakeRepo) ApplyTierUpdates(_ context.Context, us []TierUpdate, ev audit.Event) (int, error) {
	if f.applyErr != nil {
		return 0, f.applyErr
	}
	n := 0
	for _, u := range us {
		if r := f.regs[u.RegistrationID]; r != nil && (r.Version != u.Version || r.Status != StatusActive) {
			continue
		}
		f.applied = append(f.applied, u)
		n++
	}
	f.applyEv = append(f.applyEv, ev)
	return n, nil
}

func (f *fakeRepo) RebuildChronicYears(context.Context, string) error { f.rebuilt++; return nil }
