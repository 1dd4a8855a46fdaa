package family

// Tests of the contract service's rules with in-memory fakes of its own
// Repository, the resident registry's repository, the organisation tree
// and the staff list (issue 18 §6: gremlins runs only this package's
// tests, and the service's tests lived in store/ and web/). The fakes copy
// what store/family.go does: ENOTFOUND for a missing row, the unique index
// family_contracts_live (one active contract per resident, migration
// 0005) and the unique (resident, kind, day) of family_services as
// ECONFLICT, closures guarded by status = 'active', a team's version
// check, and a family follow-up refused on a day with a chronic visit.
// Each test names the rule it pins: docs/family.md (sections "Teams and
// packages", "Contracts", "Services delivered (履约)", "Indicators",
// "Access and audit"), policy-rules.md §2 and seed 002.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/points"
	"countycare/resident"
)

const county = "411723"

// Organisation: county 1 with hospital 2; township 10 with villages 11,
// 12; township 20 with village 21; partner hospital 90 outside the county.
type fakeOrgs struct{}

func (fakeOrgs) Tree(context.Context) (*org.Tree, error) {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: county, Active: true},
		{ID: 2, ParentID: 1, Kind: org.KindCountyHospital, Level: org.LevelCounty, CountyCode: county, Active: true},
		{ID: 10, ParentID: 1, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: county, Active: true},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Active: true},
		{ID: 12, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Active: true},
		{ID: 20, ParentID: 1, Kind: org.KindCentralHC, Level: org.LevelTownship, CountyCode: county, Active: true},
		{ID: 21, ParentID: 20, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Active: true},
		{ID: 90, Kind: org.KindPartner, Level: org.LevelProvince, CountyCode: "410100", Active: true},
	}), nil
}

type fakeStaff map[int64]*org.Practitioner

func (f fakeStaff) Practitioner(_ context.Context, id int64) (*org.Practitioner, error) {
	if p, ok := f[id]; ok {
		return p, nil
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// fakeResidents is the registry's storage: residents by id and households.
type fakeResidents struct {
	resident.Repository
	byID       map[int64]*resident.Resident
	households map[int64][]int64
}

func (f *fakeResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	r, ok := f.byID[id]
	if !ok {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	c := *r
	return &c, sc.Allows(access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID}), nil
}

func (f *fakeResidents) Household(_ context.Context, id int64) (*resident.Household, []resident.Resident, error) {
	ids, ok := f.households[id]
	if !ok {
		return nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	var ms []resident.Resident
	for _, x := range ids {
		ms = append(ms, *f.byID[x])
	}
	return &resident.Household{ID: id, CountyCode: county, Number: fmt.Sprintf("H%d", id)}, ms, nil
}

// fakeRepo is family.Repository in memory.
type fakeRepo struct {
	teams      map[int64]*Team
	packages   map[int64]*Package
	contracts  []Contract // id order
	deliveries []Delivery
	chronic    map[string]bool // chronic visits "resident|day"
	registered map[int64]bool  // in a chronic registry
	awards     []points.Entry
	events     []audit.Event // rows written with the data
	pops       []Population
	facts      []ContractFact
	names      map[int64]string
	calls      []string // arguments of the reads that take a scope or a period
	nextID     int64
}

func newFakeRepo() *fakeRepo {
	return &fakeRepo{teams: map[int64]*Team{}, packages: map[int64]*Package{}, chronic: map[string]bool{}, registered: map[int64]bool{}, names: map[int64]string{}, nextID: 1000}
}

func (f *fakeRepo) id() int64 { f.nextID++; return f.nextID }

func (f *fakeRepo) Teams(_ context.Context, c string) ([]Team, error) {
	var out []Team
	for _, t := range f.teams {
		if t.CountyCode == c {
			out = append(out, *t)
		}
	}
	slices.SortFunc(out, func(a, b Team) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *fakeRepo) Team(_ context.Context, id int64) (*Team, error) {
	t, ok := f.teams[id]
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := *t
	c.Members = slices.Clone(t.Members)
	return &c, nil
}

func (f *fakeRepo) SaveTeam(_ context.Context, t *Team, ev audit.Event) error {
	if t.ID == 0 {
		t.ID, t.Version = f.id(), 1
	} else {
		old, ok := f.teams[t.ID]
		if !ok || old.Version != t.Version {
			return &care.Error{Code: care.ECONFLICT, Key: "family.team.stale"}
		}
		t.Version++
	}
	c := *t
	c.Members = slices.Clone(t.Members)
	f.teams[t.ID] = &c
	ev.Detail = fmt.Sprintf("team %d: %s", t.ID, ev.Detail)
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Packages(_ context.Context, c string) ([]Package, error) {
	var out []Package
	for _, p := range f.packages {
		if p.CountyCode == c {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b Package) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *fakeRepo) Package(_ context.Context, id int64) (*Package, error) {
	p, ok := f.packages[id]
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := *p
	return &c, nil
}

func (f *fakeRepo) SavePackage(_ context.Context, p *Package, ev audit.Event) error {
	for _, x := range f.packages {
		if x.ID != p.ID && x.CountyCode == p.CountyCode && x.Code == p.Code {
			return care.Errorf(care.ECONFLICT, "error.conflict")
		}
	}
	if p.ID == 0 {
		p.ID = f.id()
	}
	c := *p
	f.packages[p.ID] = &c
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Contracts(_ context.Context, c string, residentID int64) ([]Contract, error) {
	var out []Contract
	for _, x := range f.contracts {
		if x.CountyCode == c && x.ResidentID == residentID {
			out = append(out, x)
		}
	}
	// ORDER BY start_date DESC, id DESC
	slices.SortFunc(out, func(a, b Contract) int {
		if a.Start != b.Start {
			if a.Start.After(b.Start) {
				return -1
			}
			return 1
		}
		return int(b.ID - a.ID)
	})
	return out, nil
}

func (f *fakeRepo) at(id int64) int {
	return slices.IndexFunc(f.contracts, func(c Contract) bool { return c.ID == id })
}

func (f *fakeRepo) Contract(_ context.Context, id int64) (*Contract, error) {
	i := f.at(id)
	if i < 0 {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := f.contracts[i]
	return &c, nil
}

// close applies a closure to cs, guarded by status = 'active' (store.closeContract).
func closeIn(cs []Contract, cl Closure) error {
	i := slices.IndexFunc(cs, func(c Contract) bool { return c.ID == cl.ContractID })
	if i < 0 || cs[i].Status != StatusActive {
		return &care.Error{Code: care.ECONFLICT, Key: "family.contract.not_active"}
	}
	cs[i].Status, cs[i].EndedOn, cs[i].EndReason, cs[i].ClosedBy, cs[i].ClosedAt = cl.Status, cl.EndedOn, cl.Reason, cl.By, cl.At
	return nil
}

// SignContracts is one transaction: all or nothing.
func (f *fakeRepo) SignContracts(_ context.Context, cs []*Contract, closes []Closure, evs []audit.Event) error {
	work := slices.Clone(f.contracts)
	for _, cl := range closes {
		if err := closeIn(work, cl); err != nil {
			return err
		}
	}
	next := f.nextID
	for _, c := range cs {
		if c.Status == StatusActive && slices.ContainsFunc(work, func(x Contract) bool {
			return x.Status == StatusActive && x.CountyCode == c.CountyCode && x.ResidentID == c.ResidentID
		}) {
			return care.Errorf(care.ECONFLICT, "error.conflict") // family_contracts_live
		}
		next++
		x := *c
		x.ID = next
		work = append(work, x)
	}
	for i, c := range cs {
		c.ID = work[len(work)-len(cs)+i].ID
	}
	f.nextID, f.contracts = next, work
	for i, ev := range evs {
		if i < len(cs) {
			ev.Detail = fmt.Sprintf("contract %d: %s", cs[i].ID, ev.Detail)
		}
		f.events = append(f.events, ev)
	}
	return nil
}

func (f *fakeRepo) CloseContract(_ context.Context, cl Closure, ev audit.Event) error {
	if err := closeIn(f.contracts, cl); err != nil {
		return err
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) SaveDelivery(_ context.Context, d *Delivery, award *points.Entry, ev audit.Event) error {
	if d.Kind == FollowUp && f.chronic[fmt.Sprintf("%d|%s", d.ResidentID, d.Date)] {
		return &care.Error{Code: care.ECONFLICT, Key: "family.service.duplicate"}
	}
	if slices.ContainsFunc(f.deliveries, func(x Delivery) bool {
		return x.CountyCode == d.CountyCode && x.ResidentID == d.ResidentID && x.Kind == d.Kind && x.Date == d.Date
	}) {
		return care.Errorf(care.ECONFLICT, "error.conflict")
	}
	d.ID = f.id()
	f.deliveries = append(f.deliveries, *d)
	if award != nil && !slices.ContainsFunc(f.awards, func(e points.Entry) bool {
		return e.CountyCode == award.CountyCode && e.ResidentID == award.ResidentID && e.Rule == award.Rule && e.EventRef == award.EventRef
	}) {
		f.awards = append(f.awards, *award)
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRepo) Done(_ context.Context, c string, residentID int64, from, to care.Date) ([]Done, error) {
	f.calls = append(f.calls, fmt.Sprintf("Done %d %s..%s", residentID, from, to))
	var out []Done
	for _, d := range f.deliveries {
		if d.CountyCode == c && d.ResidentID == residentID && !d.Date.Before(from) && !d.Date.After(to) {
			out = append(out, Done{d.Kind, d.Date})
		}
	}
	for k := range f.chronic {
		var id int64
		var day string
		fmt.Sscanf(strings.Replace(k, "|", " ", 1), "%d %s", &id, &day)
		if dd := d(day); id == residentID && !dd.Before(from) && !dd.After(to) && !slices.Contains(out, Done{FollowUp, dd}) {
			out = append(out, Done{FollowUp, dd})
		}
	}
	return out, nil
}

func (f *fakeRepo) Deliveries(_ context.Context, c string, residentID int64, limit int) ([]Delivery, error) {
	var out []Delivery
	for i := len(f.deliveries) - 1; i >= 0; i-- {
		if x := f.deliveries[i]; x.CountyCode == c && x.ResidentID == residentID && len(out) < limit {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeRepo) ChronicRegistered(_ context.Context, _ string, residentID int64) (bool, error) {
	return f.registered[residentID], nil
}

func (f *fakeRepo) Population(_ context.Context, c string, clinics []int64, day care.Date) ([]Population, error) {
	f.calls = append(f.calls, fmt.Sprintf("Population %s %v %s", c, clinics, day))
	var out []Population
	for _, p := range f.pops {
		if slices.Contains(clinics, p.VillageID) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeRepo) ContractFacts(_ context.Context, c string, clinics []int64, from, to care.Date) ([]ContractFact, error) {
	f.calls = append(f.calls, fmt.Sprintf("ContractFacts %s %v %s..%s", c, clinics, from, to))
	var out []ContractFact
	for _, x := range f.facts {
		if slices.Contains(clinics, x.VillageID) && !x.Start.After(to) && !x.End.Before(from) {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeRepo) ResidentNames(_ context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for _, id := range ids {
		if n, ok := f.names[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

func (a *auditLog) actions() []string {
	var out []string
	for _, e := range a.events {
		out = append(out, e.Action+":"+e.Outcome)
	}
	return out
}

var (
	famNow   = time.Date(2026, 11, 29, 10, 0, 0, 0, care.Shanghai)
	famToday = care.Today(famNow)

	villageDr  = care.Actor{AccountID: 7, Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: county, PractitionerID: 70}
	townshipDr = care.Actor{AccountID: 8, Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: county, PractitionerID: 80}
	otherTwpDr = care.Actor{AccountID: 9, Role: care.RoleTownshipDoctor, InstitutionID: 20, CountyCode: county, PractitionerID: 90}
	admin      = care.Actor{AccountID: 1, Role: care.RoleAdmin, InstitutionID: 1, CountyCode: county}
	analyst    = care.Actor{AccountID: 2, Role: care.RoleAnalyst, InstitutionID: 1, CountyCode: county}
	specialist = care.Actor{AccountID: 3, Role: care.RoleCountySpecialist, InstitutionID: 2, CountyCode: county, PractitionerID: 30}
)

type famHarness struct {
	s   *Service
	r   *fakeRepo
	res *fakeResidents
	log *auditLog
}

// newFamily serves: residents 100–105 of village 11 (100 aged 70, 101–105
// adults under 65 with no key group; 103 has moved away), 200 of village
// 21; household 1 = 100–104 and 200; team 1 (owner township 10, active),
// team 2 (owner village 11), team 3 (owner township 20), team 4 (inactive,
// owner 10), team 5 (another county); package 1 (basic: follow-up ×4,
// check-up ×1), 2 (personalised, 120 yuan), 3 (inactive), 4 (another county).
func newFamily() *famHarness {
	rs := map[int64]*resident.Resident{
		100: {ID: 100, CountyCode: county, VillageID: 11, BirthDate: d("1956-05-01"), Status: resident.StatusActive, Name: "甲"},
		101: {ID: 101, CountyCode: county, VillageID: 11, BirthDate: d("1980-05-01"), Status: resident.StatusActive, Name: "乙"},
		102: {ID: 102, CountyCode: county, VillageID: 11, BirthDate: d("1982-05-01"), Status: resident.StatusActive},
		103: {ID: 103, CountyCode: county, VillageID: 11, BirthDate: d("1984-05-01"), Status: resident.StatusMoved},
		104: {ID: 104, CountyCode: county, VillageID: 11, BirthDate: d("1986-05-01"), Status: resident.StatusActive},
		105: {ID: 105, CountyCode: county, VillageID: 11, BirthDate: d("2026-10-01"), Status: resident.StatusActive},
		200: {ID: 200, CountyCode: county, VillageID: 21, BirthDate: d("1970-05-01"), Status: resident.StatusActive},
	}
	fr := &fakeResidents{byID: rs, households: map[int64][]int64{1: {100, 101, 102, 103, 104, 200}, 2: {200}}}
	log := &auditLog{}
	now := func() time.Time { return famNow }
	r := newFakeRepo()
	two := []Member{{PractitionerID: 70, Role: MemberVillageDoctor}, {PractitionerID: 80, Role: MemberDoctor}}
	r.teams[1] = &Team{ID: 1, CountyCode: county, Name: "一队", InstitutionID: 10, LeaderID: 80, Members: two, Active: true, Version: 1}
	r.teams[2] = &Team{ID: 2, CountyCode: county, Name: "二队", InstitutionID: 11, LeaderID: 70, Members: two, Active: true, Version: 1}
	r.teams[3] = &Team{ID: 3, CountyCode: county, Name: "三队", InstitutionID: 20, LeaderID: 90, Members: two, Active: true, Version: 1}
	r.teams[4] = &Team{ID: 4, CountyCode: county, Name: "四队", InstitutionID: 10, LeaderID: 80, Members: two, Active: false, Version: 1}
	r.teams[5] = &Team{ID: 5, CountyCode: "999999", Name: "外县", InstitutionID: 10, LeaderID: 80, Members: two, Active: true, Version: 1}
	basic := Dues{{FollowUp, 4}, {Checkup, 1}}
	r.packages[1] = &Package{ID: 1, CountyCode: county, Code: "basic", Kind: PackageBasic, Services: basic, Active: true}
	r.packages[2] = &Package{ID: 2, CountyCode: county, Code: "chronic", Kind: PackagePersonalised, FeeFen: 12000, Services: Dues{{HomeVisit, 4}}, Active: true}
	r.packages[3] = &Package{ID: 3, CountyCode: county, Code: "old", Kind: PackageBasic, Services: basic, Active: false}
	r.packages[4] = &Package{ID: 4, CountyCode: "999999", Code: "basic", Kind: PackageBasic, Services: basic, Active: true}
	staff := fakeStaff{
		70: {ID: 70, InstitutionID: 11, Name: "村医", Active: true},
		80: {ID: 80, InstitutionID: 10, Name: "乡医", Active: true},
		81: {ID: 81, InstitutionID: 10, Name: "离职", Active: false},
		30: {ID: 30, InstitutionID: 2, Name: "专科", Active: true},
		95: {ID: 95, InstitutionID: 90, Name: "省医", Active: true},
		96: {ID: 96, InstitutionID: 999, Name: "无机构", Active: true},
	}
	rsvc := &resident.Service{Repo: fr, Orgs: fakeOrgs{}, Audit: log, Now: now}
	s := &Service{Repo: r, Residents: rsvc, Orgs: fakeOrgs{}, Staff: staff, Audit: log, Now: now}
	return &famHarness{s: s, r: r, res: fr, log: log}
}

func code(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Code
	}
	if err != nil {
		return "other:" + err.Error()
	}
	return ""
}

// fields lists an error's field errors as "field:key".
func fields(err error) string {
	if err == nil {
		return ""
	}
	ce, ok := err.(*care.Error)
	if !ok {
		return fmt.Sprint(err)
	}
	var out []string
	for _, f := range ce.Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return strings.Join(out, ",")
}

func consentNow() Consent {
	return Consent{By: ConsentSelf, Method: ConsentPaper, At: famNow.Add(-time.Hour)}
}

func terms(team, pkg int64, start care.Date) Terms {
	return Terms{TeamID: team, PackageID: pkg, Start: start, End: MinEnd(start), Consent: consentNow()}
}

// contract adds an active contract directly to the store.
func (h *famHarness) contract(resID, team int64, start, end care.Date, status string) *Contract {
	id := h.r.id()
	h.r.contracts = append(h.r.contracts, Contract{ID: id, CountyCode: county, ResidentID: resID, TeamID: team, PackageID: 1, Services: Dues{{FollowUp, 4}, {Checkup, 1}},
		Start: start, End: end, Status: status, Consent: consentNow()})
	return &h.r.contracts[len(h.r.contracts)-1]
}

func (h *famHarness) stored(id int64) Contract { return h.r.contracts[h.r.at(id)] }

// TestCanManageTeam pins docs/family.md "Teams and packages": the
// administrator manages every team of the county, a township doctor the
// teams owned by their center or its village clinics, nobody else.
func TestCanManageTeam(t *testing.T) {
	tree, _ := fakeOrgs{}.Tree(context.Background())
	for _, tt := range []struct {
		a     care.Actor
		owner int64
		want  bool
	}{
		{admin, 10, true}, {admin, 21, true},
		{townshipDr, 10, true}, {townshipDr, 11, true}, {townshipDr, 12, true}, {townshipDr, 20, false}, {townshipDr, 21, false},
		{villageDr, 11, false}, {specialist, 11, false}, {analyst, 11, false},
	} {
		if got := CanManageTeam(tt.a, tree, tt.owner); got != tt.want {
			t.Errorf("%s at %d managing a team of %d: %v", tt.a.Role, tt.a.InstitutionID, tt.owner, got)
		}
	}
}

// TestSaveTeamRules pins SaveTeam (docs/family.md "Teams and packages"):
// the owner is a township-level center or a village clinic the actor may
// manage; members are active practitioners of the county, never of a
// partner hospital; names and institutions are filled from the staff
// list; the write is audited with the data; an edit is checked against
// the team's current owner and version.
func TestSaveTeamRules(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	team := func(owner int64, ms ...int64) *Team {
		tm := &Team{Name: " 新队 ", InstitutionID: owner, LeaderID: ms[0], Active: true}
		for _, m := range ms {
			tm.Members = append(tm.Members, Member{PractitionerID: m, Role: MemberDoctor})
		}
		return tm
	}
	tm := team(11, 70, 80)
	if err := h.s.SaveTeam(ctx, townshipDr, tm); err != nil {
		t.Fatalf("township doctor, team of their village: %v", err)
	}
	got := h.r.teams[tm.ID]
	if got == nil || got.CountyCode != county || got.Name != "新队" || got.Members[0].Name != "村医" || got.Members[0].InstitutionID != 11 || got.Members[1].Name != "乡医" || got.Members[1].InstitutionID != 10 {
		t.Errorf("stored team %+v", got)
	}
	if n := len(h.r.events); n != 1 || h.r.events[0].Action != ActTeam || h.r.events[0].AccountID != 8 || h.r.events[0].Detail != fmt.Sprintf(`team %d: team "新队" owner 11 members 2`, tm.ID) {
		t.Errorf("audit rows %+v", h.r.events)
	}
	for _, tt := range []struct {
		name string
		a    care.Actor
		team *Team
		code string
		want string
	}{
		{"a village doctor", villageDr, team(11, 70, 80), care.EFORBIDDEN, ""},
		{"another township's village", townshipDr, team(21, 70, 80), care.EFORBIDDEN, ""},
		{"the administrator, any owner", admin, team(21, 70, 80), "", ""},
		{"owned by the county hospital", admin, team(2, 70, 80), care.EINVALID, "institution_id:family.team.owner"},
		{"owned by an unknown institution", admin, team(999, 70, 80), care.EINVALID, "institution_id:family.team.owner"},
		{"owned by the county", admin, team(1, 70, 80), care.EINVALID, "institution_id:family.team.owner"},
		{"no owner", admin, team(0, 70, 80), care.EINVALID, "institution_id:family.team.owner"},
		{"an inactive member", admin, team(10, 70, 81), care.EINVALID, "members:family.team.member"},
		{"a partner hospital's doctor", admin, team(10, 70, 95), care.EINVALID, "members:family.team.member"},
		{"a doctor of no known institution", admin, team(10, 70, 96), care.EINVALID, "members:family.team.member"},
		{"an unknown practitioner", admin, team(10, 70, 77), care.EINVALID, "members:family.team.member"},
		{"a county specialist joins (1+1+1)", admin, team(10, 80, 30), "", ""},
		{"the central center owns it", admin, team(20, 70, 80), "", ""},
	} {
		n := len(h.r.teams)
		err := h.s.SaveTeam(ctx, tt.a, tt.team)
		if code(err) != tt.code || fields(err) != tt.want && tt.code == care.EINVALID {
			t.Errorf("%s: %v (%s), want %s %s", tt.name, err, fields(err), tt.code, tt.want)
		}
		if saved := len(h.r.teams) > n; saved != (tt.code == "") {
			t.Errorf("%s: saved=%v", tt.name, saved)
		}
	}
	// An edit is judged on the current owner too: a township doctor cannot
	// take another township's team, even by naming their own village.
	edit := team(11, 70, 80)
	edit.ID, edit.Version = 3, 1
	if err := h.s.SaveTeam(ctx, townshipDr, edit); code(err) != care.EFORBIDDEN {
		t.Errorf("editing another township's team: %v", err)
	}
	edit = team(12, 70, 80)
	edit.ID, edit.Version = 1, 1
	if err := h.s.SaveTeam(ctx, townshipDr, edit); err != nil || h.r.teams[1].InstitutionID != 12 || h.r.teams[1].Version != 2 {
		t.Errorf("editing their own team: %v %+v", err, h.r.teams[1])
	}
	edit = team(12, 70, 80)
	edit.ID, edit.Version = 1, 1 // stale
	if err := h.s.SaveTeam(ctx, townshipDr, edit); code(err) != care.ECONFLICT {
		t.Errorf("stale edit: %v", err)
	}
	edit.ID = 5 // another county's team: not found, like a missing one
	if err := h.s.SaveTeam(ctx, admin, edit); code(err) != care.ENOTFOUND || err.(*care.Error).Key != "family.team.not_found" {
		t.Errorf("another county's team: %v", err)
	}
	edit.ID = 404
	if err := h.s.SaveTeam(ctx, admin, edit); code(err) != care.ENOTFOUND {
		t.Errorf("a missing team: %v", err)
	}
}

// TestTeamsOfTheCounty pins Teams and Team: the actor's county only; a
// team of another county is not found, like a missing one.
func TestTeamsOfTheCounty(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	ts, err := h.s.Teams(ctx, villageDr)
	if err != nil || len(ts) != 4 {
		t.Errorf("teams of the county: %d %v", len(ts), err)
	}
	if tm, err := h.s.Team(ctx, villageDr, 2); err != nil || tm.Name != "二队" {
		t.Errorf("team 2: %+v %v", tm, err)
	}
	for _, id := range []int64{5, 404} {
		if tm, err := h.s.Team(ctx, villageDr, id); tm != nil || code(err) != care.ENOTFOUND || err.(*care.Error).Key != "family.team.not_found" {
			t.Errorf("team %d: %+v %v", id, tm, err)
		}
	}
	ps, err := h.s.Packages(ctx, villageDr)
	if err != nil || len(ps) != 3 {
		t.Errorf("packages of the county: %d %v", len(ps), err)
	}
}

// TestSavePackageRules pins SavePackage (docs/family.md "Teams and
// packages"): administrators only; a name of 1–60 characters, a code of
// 1–32 bytes, a kind; a basic package is free, a personalised one costs
// 0–1,000,000 fen a year; at least one valid service line; audited.
func TestSavePackageRules(t *testing.T) {
	ctx := context.Background()
	pkg := func(mod func(p *Package)) *Package {
		p := &Package{Code: " p1 ", Name: " 包 ", Kind: PackagePersonalised, FeeFen: 12000, Services: Dues{{FollowUp, 4}}, Active: true}
		mod(p)
		return p
	}
	for _, tt := range []struct {
		name string
		p    *Package
		want string
	}{
		{"personalised, 120 yuan", pkg(func(*Package) {}), ""},
		{"basic, free", pkg(func(p *Package) { p.Kind, p.FeeFen = PackageBasic, 0 }), ""},
		{"basic with a fee", pkg(func(p *Package) { p.Kind, p.FeeFen = PackageBasic, 1 }), "fee:family.package.fee"},
		{"basic with a negative fee", pkg(func(p *Package) { p.Kind, p.FeeFen = PackageBasic, -1 }), "fee:family.package.fee"},
		{"personalised, free", pkg(func(p *Package) { p.FeeFen = 0 }), ""},
		{"personalised, 10,000 yuan", pkg(func(p *Package) { p.FeeFen = 1_000_000 }), ""},
		{"personalised, 10,000.01 yuan", pkg(func(p *Package) { p.FeeFen = 1_000_001 }), "fee:family.package.fee"},
		{"personalised, −0.01 yuan", pkg(func(p *Package) { p.FeeFen = -1 }), "fee:family.package.fee"},
		{"unknown kind", pkg(func(p *Package) { p.Kind = "premium" }), "kind:family.package.kind"},
		{"unknown kind, free", pkg(func(p *Package) { p.Kind, p.FeeFen = "", 0 }), "kind:family.package.kind"},
		{"60-character name", pkg(func(p *Package) { p.Name = strings.Repeat("包", 60) }), ""},
		{"61-character name", pkg(func(p *Package) { p.Name = strings.Repeat("包", 61) }), "name:family.package.name"},
		{"blank name", pkg(func(p *Package) { p.Name = "  " }), "name:family.package.name"},
		{"32-byte code", pkg(func(p *Package) { p.Code = strings.Repeat("c", 32) }), ""},
		{"33-byte code", pkg(func(p *Package) { p.Code = strings.Repeat("c", 33) }), "code:family.package.code"},
		{"blank code", pkg(func(p *Package) { p.Code = " " }), "code:family.package.code"},
		{"no services", pkg(func(p *Package) { p.Services = nil }), "services:family.package.services"},
		{"a line of 0 a year", pkg(func(p *Package) { p.Services = Dues{{FollowUp, 0}} }), "services:family.package.services"},
		{"a kind twice", pkg(func(p *Package) { p.Services = Dues{{FollowUp, 1}, {FollowUp, 2}} }), "services:family.package.services"},
	} {
		h := newFamily()
		err := h.s.SavePackage(ctx, admin, tt.p)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
			continue
		}
		if tt.want != "" {
			if len(h.r.events) != 0 || len(h.r.packages) != 4 {
				t.Errorf("%s: refused but stored", tt.name)
			}
			continue
		}
		got := h.r.packages[tt.p.ID]
		if got == nil || got.CountyCode != county || strings.TrimSpace(got.Name) != got.Name || strings.TrimSpace(got.Code) != got.Code {
			t.Errorf("%s: stored %+v", tt.name, got)
		}
		if len(h.r.events) != 1 || h.r.events[0].Action != ActPackage || h.r.events[0].Detail != fmt.Sprintf("package %s %s fee %d: %s", got.Code, got.Kind, got.FeeFen, got.Services) {
			t.Errorf("%s: audit %+v", tt.name, h.r.events)
		}
	}
	h := newFamily()
	for _, a := range []care.Actor{townshipDr, villageDr, analyst} {
		if err := h.s.SavePackage(ctx, a, pkg(func(*Package) {})); code(err) != care.EFORBIDDEN {
			t.Errorf("%s saving a package: %v", a.Role, err)
		}
	}
	if err := h.s.SavePackage(ctx, admin, pkg(func(p *Package) { p.Code = "basic" })); code(err) != care.ECONFLICT {
		t.Errorf("a code in use: %v", err)
	}
}

// TestSignRules pins Sign (docs/family.md "Contracts", policy-rules.md §2):
// village and township doctors sign for residents in their scope; the team
// must be active, of the county and own the resident's village (its
// clinic or township center); the package active and of the county; the
// resident active; the contract copies the package's services and fee;
// one team at a time (ECONFLICT on resident_id); an expired contract is
// closed as expired; the signing is audited with the data.
func TestSignRules(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	tm := terms(1, 2, famToday)
	c, err := h.s.Sign(ctx, villageDr, 100, tm)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	st := h.stored(c.ID)
	if st.Status != StatusActive || st.CountyCode != county || st.ResidentID != 100 || st.TeamID != 1 || st.PackageID != 2 || st.FeeFen != 12000 ||
		st.Services.String() != "home_visit:4" || st.SignedBy != 7 || st.InstitutionID != 11 || st.Start != famToday || st.End != MinEnd(famToday) || st.Consent.By != ConsentSelf {
		t.Errorf("stored contract %+v", st)
	}
	if len(h.r.events) != 1 || h.r.events[0].Action != ActSign || h.r.events[0].ResidentID != 100 || h.r.events[0].CountyCode != county ||
		h.r.events[0].Detail != fmt.Sprintf("contract %d: team 1 package 2 %s..%s consent self/paper_signature", c.ID, famToday, MinEnd(famToday)) {
		t.Errorf("audit %+v", h.r.events)
	}
	// One team at a time.
	_, err = h.s.Sign(ctx, villageDr, 100, terms(2, 1, famToday))
	if code(err) != care.ECONFLICT || err.(*care.Error).Key != "family.contract.already_active" || fields(err) != "resident_id:family.contract.already_active" {
		t.Errorf("a second contract: %v %s", err, fields(err))
	}
	for _, tt := range []struct {
		name string
		a    care.Actor
		res  int64
		t    Terms
		code string
		want string
	}{
		{"a county specialist", specialist, 101, terms(1, 1, famToday), care.EFORBIDDEN, ""},
		{"an analyst", analyst, 101, terms(1, 1, famToday), care.EFORBIDDEN, ""},
		{"the administrator", admin, 101, terms(1, 1, famToday), care.EFORBIDDEN, ""},
		{"another village's resident", villageDr, 200, terms(3, 1, famToday), care.ENOTFOUND, ""},
		{"a team of another township", villageDr, 101, terms(3, 1, famToday), care.EINVALID, "team_id:family.team.not_serving"},
		{"an inactive team", villageDr, 101, terms(4, 1, famToday), care.EINVALID, "team_id:family.team.not_serving"},
		{"another county's team", villageDr, 101, terms(5, 1, famToday), care.EINVALID, "team_id:family.team.not_serving"},
		{"a missing team", villageDr, 101, terms(404, 1, famToday), care.EINVALID, "team_id:family.team.not_serving"},
		{"an inactive package", villageDr, 101, terms(1, 3, famToday), care.EINVALID, "package_id:family.package.required"},
		{"another county's package", villageDr, 101, terms(1, 4, famToday), care.EINVALID, "package_id:family.package.required"},
		{"a missing package", villageDr, 101, terms(1, 404, famToday), care.EINVALID, "package_id:family.package.required"},
		{"a resident who moved away", villageDr, 103, terms(1, 1, famToday), care.EINVALID, "resident_id:family.resident_not_active"},
		{"a term a day short of a year", villageDr, 101, Terms{TeamID: 1, PackageID: 1, Start: famToday, End: MinEnd(famToday).AddDays(-1), Consent: consentNow()},
			care.EINVALID, "end:family.contract.min_term"},
		{"no team, no package", villageDr, 101, terms(0, 0, famToday), care.EINVALID, "team_id:family.team.required,package_id:family.package.required"},
		{"the village clinic's own team", villageDr, 101, terms(2, 1, famToday), "", ""},
		{"the township doctor, the township's team", townshipDr, 102, terms(1, 1, famToday), "", ""},
	} {
		n := len(h.r.contracts)
		_, err := h.s.Sign(ctx, tt.a, tt.res, tt.t)
		if code(err) != tt.code || tt.code == care.EINVALID && fields(err) != tt.want {
			t.Errorf("%s: %v %q, want %s %q", tt.name, err, fields(err), tt.code, tt.want)
		}
		if saved := len(h.r.contracts) > n; saved != (tt.code == "") {
			t.Errorf("%s: saved=%v", tt.name, saved)
		}
	}
	// An active contract whose end has passed is closed as expired.
	old := h.contract(104, 1, d("2025-01-01"), famToday.AddDays(-1), StatusActive).ID
	c, err = h.s.Sign(ctx, villageDr, 104, terms(1, 1, famToday))
	if err != nil || h.stored(old).Status != StatusExpired || h.stored(old).EndReason != "expired" || h.stored(old).ClosedBy != 7 || !h.stored(old).ClosedAt.Equal(famNow) || !h.stored(old).EndedOn.IsZero() {
		t.Errorf("expired contract: %v %+v", err, h.stored(old))
	}
	if c == nil || c.PreviousID != 0 || h.stored(c.ID).Status != StatusActive {
		t.Errorf("new contract after an expired one: %+v", c)
	}
	// One ending on the new start is still in force: not closed, refused.
	h.contract(105, 1, d("2026-10-01"), famToday, StatusActive)
	if _, err := h.s.Sign(ctx, villageDr, 105, terms(1, 1, famToday)); code(err) != care.ECONFLICT {
		t.Errorf("a contract ending on the new start: %v", err)
	}
}

// TestSignHousehold pins SignHousehold (docs/family.md "Contracts": every
// member of a household without a contract, in one transaction; a
// household contracts with one team, policy-rules.md §2): members out of
// scope are not seen, inactive ones are left out, members with a contract
// in force or signed ahead are skipped, an expired contract is closed.
func TestSignHousehold(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	busy := h.contract(101, 1, d("2026-01-01"), d("2026-12-31"), StatusActive).ID        // in force
	h.contract(102, 1, famToday.AddDays(10), MinEnd(famToday.AddDays(10)), StatusActive) // signed ahead, not yet in force: busy
	expired := h.contract(104, 1, d("2025-01-01"), famToday.AddDays(-1), StatusActive).ID
	h.contract(100, 1, d("2026-01-01"), d("2026-12-31"), StatusRenewed) // renewed, runs to its end: busy
	tm := terms(1, 1, famToday)
	tm.Consent = Consent{By: ConsentHouseholdHead, Name: "户主", Method: ConsentPaper, At: famNow}
	cs, skipped, err := h.s.SignHousehold(ctx, villageDr, 1, tm)
	if err != nil {
		t.Fatalf("household: %v", err)
	}
	var made, skip []int64
	for _, c := range cs {
		made = append(made, c.ResidentID)
	}
	for _, r := range skipped {
		skip = append(skip, r.ID)
	}
	if fmt.Sprint(made) != "[104]" || fmt.Sprint(skip) != "[100 101 102]" {
		t.Errorf("signed %v, skipped %v; want [104], [100 101 102] (103 moved away, 200 out of scope)", made, skip)
	}
	if h.stored(expired).Status != StatusExpired || h.stored(busy).Status != StatusActive {
		t.Errorf("closures: expired %s, busy %s", h.stored(expired).Status, h.stored(busy).Status)
	}
	var signs []string
	for _, e := range h.r.events {
		signs = append(signs, e.Action+" "+fmt.Sprint(e.ResidentID)+" "+e.Detail)
	}
	if want := fmt.Sprintf("[family.sign 104 contract %d: household 1 team 1 package 1 %s..%s consent household_head/paper_signature]", cs[0].ID, famToday, MinEnd(famToday)); fmt.Sprint(signs) != want {
		t.Errorf("audit %v, want %s", signs, want)
	}
	// Nobody left to sign.
	cs, skipped, err = h.s.SignHousehold(ctx, villageDr, 1, tm)
	if cs != nil || len(skipped) != 4 || fields(err) != "household_id:family.household.none" {
		t.Errorf("everyone contracted: %v %d %v", cs, len(skipped), err)
	}
	if _, _, err := h.s.SignHousehold(ctx, villageDr, 2, tm); code(err) != care.ENOTFOUND {
		t.Errorf("a household with no member in scope: %v", err)
	}
	if _, _, err := h.s.SignHousehold(ctx, specialist, 1, tm); code(err) != care.EFORBIDDEN {
		t.Errorf("a county specialist: %v", err)
	}
	bad := tm
	bad.TeamID = 3
	h2 := newFamily()
	if _, _, err := h2.s.SignHousehold(ctx, villageDr, 1, bad); fields(err) != "team_id:family.team.not_serving" || len(h2.r.contracts) != 0 {
		t.Errorf("another township's team: %v", err)
	}
}

// TestRenewWindow pins Renew (docs/family.md "Contracts": renew from 90
// days before the end, RenewWindowDays; the new contract starts the day
// after the end; the old one is marked renewed and runs to its end; the
// team and package stay unless changed).
func TestRenewWindow(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	in90 := h.contract(100, 1, famToday.AddDays(90-364), famToday.AddDays(90), StatusActive).ID
	in91 := h.contract(101, 1, famToday.AddDays(91-364), famToday.AddDays(91), StatusActive).ID
	tm := Terms{End: MinEnd(famToday.AddDays(91)), Consent: consentNow()}
	c, err := h.s.Renew(ctx, villageDr, in90, tm)
	if err != nil {
		t.Fatalf("renewing 90 days before the end: %v", err)
	}
	if c.Start != famToday.AddDays(91) || c.TeamID != 1 || c.PackageID != 1 || c.PreviousID != in90 || c.Status != StatusActive {
		t.Errorf("renewal %+v", c)
	}
	old := h.stored(in90)
	if old.Status != StatusRenewed || old.EndReason != "renewed" || !old.EndedOn.IsZero() || old.ClosedBy != 7 || !old.Covers(famToday) {
		t.Errorf("renewed contract %+v", old)
	}
	if e := h.r.events[len(h.r.events)-1]; e.Action != ActRenew || e.ResidentID != 100 ||
		e.Detail != fmt.Sprintf("contract %d: renew contract %d: team 1 package 1 %s..%s", c.ID, in90, c.Start, c.End) {
		t.Errorf("audit %+v", e)
	}
	tm.End = MinEnd(famToday.AddDays(92))
	_, err = h.s.Renew(ctx, villageDr, in91, tm)
	if fields(err) != "start:family.contract.renew_early" || err.(*care.Error).Fields[0].Args[0] != RenewWindowDays {
		t.Errorf("renewing 91 days before the end: %v", err)
	}
	if _, err := h.s.Renew(ctx, villageDr, in90, tm); code(err) != care.ECONFLICT || err.(*care.Error).Key != "family.contract.not_active" {
		t.Errorf("renewing twice: %v", err)
	}
	// Another team and package may be chosen; the township's own team is fine.
	tm2 := Terms{TeamID: 2, PackageID: 2, End: MinEnd(famToday.AddDays(92)), Consent: consentNow()}
	if c, err := h.s.Renew(ctx, villageDr, in91, tm2); err == nil || c != nil {
		t.Errorf("still too early with another team: %v", err)
	}
	exp := h.contract(102, 1, d("2025-11-01"), famToday.AddDays(-10), StatusActive).ID // expired ten days ago: may still be renewed
	tm3 := Terms{TeamID: 2, PackageID: 2, End: MinEnd(famToday.AddDays(-9)), Consent: consentNow()}
	if c, err := h.s.Renew(ctx, villageDr, exp, tm3); err != nil || c.TeamID != 2 || c.PackageID != 2 || c.FeeFen != 12000 || c.Start != famToday.AddDays(-9) {
		t.Errorf("renewal with another team and package: %+v %v", c, err)
	}
	other := h.contract(200, 3, d("2026-01-01"), d("2026-12-31"), StatusActive).ID
	for _, tt := range []struct {
		name string
		a    care.Actor
		id   int64
		code string
	}{
		{"a missing contract", villageDr, 404, care.ENOTFOUND},
		{"another village's contract", villageDr, other, care.ENOTFOUND},
		{"a county specialist", specialist, in91, care.EFORBIDDEN},
	} {
		if _, err := h.s.Renew(ctx, tt.a, tt.id, tm); code(err) != tt.code {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, err := h.s.Renew(ctx, villageDr, 404, tm); err.(*care.Error).Key != "family.contract.not_found" {
		t.Errorf("missing contract key: %v", err)
	}
}

// TestSwitchTeam pins Switch (docs/family.md "Contracts": the old contract
// is switched with ended_on = the switch day and a reason; the new one
// with another team starts that day; the day lies within the old term and
// not in the past; the reason has 1–200 characters).
func TestSwitchTeam(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		start  care.Date // zero: today
		team   int64
		reason string
		want   string
	}{
		{"today, by default", care.Date{}, 2, " 搬到本村 ", ""},
		{"the old term's last day", d("2026-12-31"), 2, "搬家", ""},
		{"the day after the old term", d("2027-01-01"), 2, "搬家", "start:family.contract.switch_date"},
		{"yesterday", famToday.AddDays(-1), 2, "搬家", "start:family.contract.switch_date"},
		{"the same team", care.Date{}, 1, "搬家", "team_id:family.contract.same_team"},
		{"no reason", care.Date{}, 2, "  ", "reason:family.contract.reason"},
		{"a 200-character reason", care.Date{}, 2, strings.Repeat("因", 200), ""},
		{"a 201-character reason", care.Date{}, 2, strings.Repeat("因", 201), "reason:family.contract.reason"},
		{"a team not serving the village", care.Date{}, 3, "搬家", "team_id:family.team.not_serving"},
	} {
		h := newFamily()
		old := h.contract(100, 1, d("2026-01-01"), d("2026-12-31"), StatusActive).ID
		tm := Terms{TeamID: tt.team, Start: tt.start, Consent: consentNow()}
		tm.End = MinEnd(famToday)
		if !tt.start.IsZero() && tt.start.After(famToday) {
			tm.End = MinEnd(tt.start)
		}
		c, err := h.s.Switch(ctx, villageDr, old, tm, tt.reason)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
			continue
		}
		if err != nil {
			if h.stored(old).Status != StatusActive || len(h.r.contracts) != 1 {
				t.Errorf("%s: refused but changed", tt.name)
			}
			continue
		}
		day := tt.start
		if day.IsZero() {
			day = famToday
		}
		o := h.stored(old)
		if o.Status != StatusSwitched || o.EndedOn != day || o.EndReason != strings.TrimSpace(tt.reason) || o.ClosedBy != 7 {
			t.Errorf("%s: old contract %+v", tt.name, o)
		}
		if c.Start != day || c.TeamID != tt.team || c.PackageID != 1 || c.PreviousID != old || h.stored(c.ID).Status != StatusActive {
			t.Errorf("%s: new contract %+v", tt.name, c)
		}
		if e := h.r.events[0]; e.Action != ActSwitch || e.Detail != fmt.Sprintf("contract %d: switch contract %d team 1 → %d from %s", c.ID, old, tt.team, day) {
			t.Errorf("%s: audit %+v", tt.name, e)
		}
	}
	// The switch day lies within the old term: not before its start.
	h := newFamily()
	future := h.contract(100, 1, famToday.AddDays(10), MinEnd(famToday.AddDays(10)), StatusActive).ID
	tm := Terms{TeamID: 2, Start: famToday.AddDays(9), End: MinEnd(famToday.AddDays(9)), Consent: consentNow()}
	if _, err := h.s.Switch(ctx, villageDr, future, tm, "搬家"); fields(err) != "start:family.contract.switch_date" {
		t.Errorf("a day before the old term: %v", err)
	}
	tm = Terms{TeamID: 2, Start: famToday.AddDays(10), End: MinEnd(famToday.AddDays(10)), Consent: consentNow()}
	if _, err := h.s.Switch(ctx, villageDr, future, tm, "搬家"); err != nil {
		t.Errorf("the old term's first day: %v", err)
	}
	if _, err := h.s.Switch(ctx, villageDr, future, tm, "搬家"); code(err) != care.ECONFLICT {
		t.Errorf("switching a switched contract: %v", err)
	}
	if _, err := h.s.Switch(ctx, specialist, future, tm, "搬家"); code(err) != care.EFORBIDDEN {
		t.Errorf("a county specialist: %v", err)
	}
}

// TestEndContract pins End (docs/family.md "Contracts": ended with a day
// and a reason — moved away, died, withdrew): the day lies from the start
// to the day after the end and not after tomorrow; 1–200 characters of
// reason; once (ECONFLICT after); audited with the data.
func TestEndContract(t *testing.T) {
	ctx := context.Background()
	running := func(h *famHarness) int64 {
		return h.contract(100, 1, d("2026-06-01"), d("2027-05-31"), StatusActive).ID
	}
	lapsed := func(h *famHarness) int64 {
		return h.contract(100, 1, d("2025-06-01"), d("2026-05-31"), StatusActive).ID
	}
	for _, tt := range []struct {
		name   string
		mk     func(*famHarness) int64
		on     care.Date
		reason string
		want   string
	}{
		{"today", running, famToday, "迁出", ""},
		{"tomorrow", running, famToday.AddDays(1), "迁出", ""},
		{"the day after tomorrow", running, famToday.AddDays(2), "迁出", "ended_on:family.contract.end_date"},
		{"the first day", running, d("2026-06-01"), "迁出", ""},
		{"the day before the start", running, d("2026-05-31"), "迁出", "ended_on:family.contract.end_date"},
		{"no day", running, care.Date{}, "迁出", "ended_on:family.contract.end_date"},
		{"the day after the end", lapsed, d("2026-06-01"), "死亡", ""},
		{"two days after the end", lapsed, d("2026-06-02"), "死亡", "ended_on:family.contract.end_date"},
		{"no reason", running, famToday, " ", "reason:family.contract.reason"},
		{"a 200-character reason", running, famToday, strings.Repeat("因", 200), ""},
		{"a 201-character reason", running, famToday, strings.Repeat("因", 201), "reason:family.contract.reason"},
	} {
		h := newFamily()
		id := tt.mk(h)
		c, err := h.s.End(ctx, villageDr, id, tt.on, tt.reason)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
			continue
		}
		st := h.stored(id)
		if err != nil {
			if st.Status != StatusActive || len(h.r.events) != 0 {
				t.Errorf("%s: refused but closed", tt.name)
			}
			continue
		}
		if c.Status != StatusEnded || c.EndedOn != tt.on || st.Status != StatusEnded || st.EndedOn != tt.on || st.EndReason != strings.TrimSpace(tt.reason) || st.ClosedBy != 7 {
			t.Errorf("%s: %+v stored %+v", tt.name, c, st)
		}
		if e := h.r.events[0]; len(h.r.events) != 1 || e.Action != ActEnd || e.ResidentID != 100 || e.Detail != fmt.Sprintf("end contract %d from %s", id, tt.on) {
			t.Errorf("%s: audit %+v", tt.name, h.r.events)
		}
		if _, err := h.s.End(ctx, villageDr, id, tt.on, tt.reason); code(err) != care.ECONFLICT {
			t.Errorf("%s: ended twice: %v", tt.name, err)
		}
	}
	h := newFamily()
	id := running(h)
	if _, err := h.s.End(ctx, townshipDr, id, famToday, "迁出"); err != nil {
		t.Errorf("the township doctor: %v", err)
	}
	if _, err := h.s.End(ctx, otherTwpDr, running(h), famToday, "迁出"); code(err) != care.ENOTFOUND {
		t.Errorf("another township's doctor: %v", err)
	}
}

// TestRecordService pins Record (docs/family.md "Services delivered
// (履约)"): a day not in the future nor before birth, covered by a
// contract (the service counts against that one); a known kind; a note of
// at most 200 characters; the same kind on the same day, or a follow-up on
// a chronic visit's day, is ECONFLICT; the points award (docs/family.md
// "Health points": event family_service:<kind>:<day>) and the audit row go
// with the data.
func TestRecordService(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	h.s.Points = &points.Service{Rules: points.DefaultRules()}
	old := h.contract(100, 1, d("2026-01-01"), d("2026-12-31"), StatusSwitched)
	h.r.contracts[len(h.r.contracts)-1].EndedOn = d("2026-09-01")
	oldID := old.ID
	newID := h.contract(100, 2, d("2026-09-01"), d("2027-08-31"), StatusActive).ID
	dl, err := h.s.Record(ctx, villageDr, 100, FollowUp, famToday, " 血压 ")
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	if dl.ContractID != newID || dl.Kind != FollowUp || dl.Date != famToday || dl.PractitionerID != 70 || dl.InstitutionID != 11 || dl.RecordedBy != 7 || dl.Note != "血压" || dl.CountyCode != county || dl.ResidentID != 100 {
		t.Errorf("delivery %+v", dl)
	}
	ref := fmt.Sprintf("family_service:follow_up:%s", famToday)
	if len(h.r.awards) != 1 || h.r.awards[0].EventRef != ref || h.r.awards[0].Points != 5 || h.r.awards[0].Rule != points.FollowUp || h.r.awards[0].CreatedBy != 7 || h.r.awards[0].On != famToday {
		t.Errorf("award %+v", h.r.awards)
	}
	if e := h.r.events[0]; e.Action != ActService || e.ResidentID != 100 || e.Detail != fmt.Sprintf("follow_up on %s contract %d points +5", famToday, newID) {
		t.Errorf("audit %+v", e)
	}
	// The day before the switch counts against the old contract.
	if dl, err := h.s.Record(ctx, villageDr, 100, Checkup, d("2026-08-31"), ""); err != nil || dl.ContractID != oldID {
		t.Errorf("a service on the old contract's last day: %+v %v", dl, err)
	}
	// A rule worth nothing awards nothing.
	h.s.Points.Rules.Education = 0
	if _, err := h.s.Record(ctx, villageDr, 100, Education, famToday, ""); err != nil || len(h.r.awards) != 2 || strings.Contains(h.r.events[len(h.r.events)-1].Detail, "points") {
		t.Errorf("education worth 0 points: %v %+v", err, h.r.awards)
	}
	h.s.Points = nil
	if _, err := h.s.Record(ctx, villageDr, 100, HomeVisit, famToday, ""); err != nil || len(h.r.awards) != 2 || h.r.events[len(h.r.events)-1].Detail != fmt.Sprintf("home_visit on %s contract %d", famToday, newID) {
		t.Errorf("no points service: %v %+v", err, h.r.events[len(h.r.events)-1])
	}
	_, err = h.s.Record(ctx, villageDr, 100, FollowUp, famToday, "")
	if ce, ok := err.(*care.Error); !ok || ce.Code != care.ECONFLICT || ce.Key != "family.service.duplicate" || fields(err) != "kind:family.service.duplicate" || ce.Args[0] != famToday.String() {
		t.Errorf("the same service twice: %v", err)
	}
	h.r.chronic[fmt.Sprintf("100|%s", famToday.AddDays(-1))] = true
	if _, err := h.s.Record(ctx, villageDr, 100, FollowUp, famToday.AddDays(-1), ""); code(err) != care.ECONFLICT {
		t.Errorf("a follow-up on a chronic visit's day: %v", err)
	}
	if _, err := h.s.Record(ctx, villageDr, 100, Checkup, famToday.AddDays(-1), ""); err != nil {
		t.Errorf("a check-up on a chronic visit's day: %v", err)
	}
	// Resident 105 was born on 2026-10-01 and has a contract from that day.
	h.contract(105, 2, d("2026-10-01"), d("2027-09-30"), StatusActive)
	for _, tt := range []struct {
		name string
		res  int64
		kind Kind
		on   care.Date
		note string
		want string
	}{
		{"tomorrow", 100, Rehab, famToday.AddDays(1), "", "date:family.service.future"},
		{"no day", 100, Rehab, care.Date{}, "", "date:family.service.future"},
		{"the day of birth", 105, Rehab, d("2026-10-01"), "", ""},
		{"the day before birth", 105, Rehab, d("2026-09-30"), "", "date:family.service.before_birth"},
		{"a day no contract covers", 100, Rehab, d("2025-12-31"), "", "date:family.service.no_contract"},
		{"a day of no contract at all", 101, Rehab, famToday, "", "date:family.service.no_contract"},
		{"an unknown kind", 100, "massage", famToday, "", "kind:family.service.kind"},
		{"a 200-character note", 100, Rehab, famToday, strings.Repeat("记", 200), ""},
		{"a 201-character note", 100, Checkup, famToday, strings.Repeat("记", 201), "note:field.too_long"},
		{"everything wrong", 100, "", famToday.AddDays(1), strings.Repeat("记", 201), "kind:family.service.kind,date:family.service.future,note:field.too_long"},
	} {
		n := len(h.r.deliveries)
		_, err := h.s.Record(ctx, villageDr, tt.res, tt.kind, tt.on, tt.note)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
		}
		if saved := len(h.r.deliveries) > n; saved != (tt.want == "") {
			t.Errorf("%s: saved=%v", tt.name, saved)
		}
	}
	if _, err := h.s.Record(ctx, specialist, 100, Rehab, famToday, ""); code(err) != care.EFORBIDDEN {
		t.Errorf("a county specialist: %v", err)
	}
	if _, err := h.s.Record(ctx, villageDr, 200, Rehab, famToday, ""); code(err) != care.ENOTFOUND {
		t.Errorf("another village's resident: %v", err)
	}
}

// TestPanelReadIsAudited pins Panel (docs/family.md "Access and audit":
// every read of a contract panel is audited as family.read; "Services
// delivered": counted per contract year; key groups, including a chronic
// registry, need KeyGroupMinServices a year).
func TestPanelReadIsAudited(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	cur := h.contract(100, 1, d("2025-03-01"), d("2027-02-28"), StatusRenewed).ID
	next := h.contract(100, 1, d("2027-03-01"), d("2028-02-29"), StatusActive).ID
	h.contract(100, 1, d("2028-03-01"), d("2029-02-28"), StatusEnded) // ahead but ended: not the next one
	h.r.deliveries = []Delivery{
		{ID: 1, CountyCode: county, ResidentID: 100, Kind: Checkup, Date: d("2026-02-28")}, // the previous contract year
		{ID: 2, CountyCode: county, ResidentID: 100, Kind: Checkup, Date: d("2026-03-01")},
		{ID: 3, CountyCode: county, ResidentID: 100, Kind: HomeVisit, Date: d("2026-05-01")},
	}
	h.r.chronic["100|2026-04-01"] = true
	p, err := h.s.Panel(ctx, villageDr, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.Current == nil || p.Current.ID != cur || p.Next == nil || p.Next.ID != next || len(p.Contracts) != 3 || p.Contracts[0].Start != d("2028-03-01") {
		t.Fatalf("panel contracts: current %+v next %+v n=%d", p.Current, p.Next, len(p.Contracts))
	}
	if p.YearFrom != d("2026-03-01") || p.YearTo != d("2027-02-28") || fmt.Sprint(h.r.calls) != fmt.Sprintf("[Done 100 2026-03-01..%s]", famToday) {
		t.Errorf("contract year %s..%s, calls %v", p.YearFrom, p.YearTo, h.r.calls)
	}
	if want := "[{follow_up 4 1} {checkup 1 1} {home_visit 0 1}]"; fmt.Sprint(p.Lines) != want || p.Services != 3 || !p.Key || len(p.Deliveries) != 3 || p.Deliveries[0].ID != 3 {
		t.Errorf("lines %v (want %s), services %d, key %v, deliveries %v", p.Lines, want, p.Services, p.Key, p.Deliveries)
	}
	if fmt.Sprint(h.log.actions()) != "[resident.read:ok family.read:ok]" || h.log.events[1].ResidentID != 100 || h.log.events[1].CountyCode != county || h.log.events[1].Detail != "contracts n=3" {
		t.Errorf("audit %v %+v", h.log.actions(), h.log.events)
	}
	// No contract, not in a key group, then in a chronic registry.
	p, err = h.s.Panel(ctx, villageDr, 101)
	if err != nil || p.Current != nil || p.Next != nil || p.Lines != nil || !p.YearFrom.IsZero() || p.Key {
		t.Errorf("resident 101: %+v %v", p, err)
	}
	h.r.registered[101] = true
	if p, _ := h.s.Panel(ctx, villageDr, 101); !p.Key {
		t.Error("a resident in a chronic registry is in a key group")
	}
	h.log.events = nil
	if _, err := h.s.Panel(ctx, villageDr, 200); code(err) != care.ENOTFOUND || fmt.Sprint(h.log.actions()) != "[resident.read:denied]" {
		t.Errorf("another village's resident: %v %v", err, h.log.actions())
	}
}

// TestShortfallList pins Shortfalls (docs/family.md "Services delivered":
// key-group residents need at least 4 services a year, seed 002
// "重点人群每年至少 4 次服务"; /family/shortfall lists a clinic's or a
// township's contracted key-group residents below 4 this contract year;
// the read is audited).
func TestShortfallList(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	mk := func(id, res, village int64, key bool, n int, endedOn care.Date) ContractFact {
		f := ContractFact{Contract: Contract{ID: id, ResidentID: res, Start: d("2026-03-01"), End: d("2027-02-28"), EndedOn: endedOn, Services: Dues{{FollowUp, 4}}}, VillageID: village, Key: key}
		for i := 0; i < n; i++ {
			f.Done = append(f.Done, Done{FollowUp, d("2026-04-01").AddDays(i)})
		}
		return f
	}
	h.r.facts = []ContractFact{
		mk(1, 100, 11, true, 3, care.Date{}),     // 3 services: short
		mk(2, 101, 11, true, 4, care.Date{}),     // 4: enough
		mk(3, 102, 11, false, 0, care.Date{}),    // not in a key group
		mk(4, 104, 11, true, 0, famToday),        // ended today: not in force
		mk(5, 105, 12, true, 1, care.Date{}),     // village 12
		mk(6, 200, 21, true, 0, care.Date{}),     // another township
		mk(7, 106, 11, true, 0, d("2026-11-30")), // ends tomorrow: in force today
	}
	h.r.names = map[int64]string{100: "甲", 105: "戊", 106: "己"}
	out, err := h.s.Shortfalls(ctx, villageDr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out {
		got = append(got, fmt.Sprintf("%d %s v%d c%d n%d %s", s.ResidentID, s.Name, s.VillageID, s.ContractID, s.Services, s.YearEnds))
	}
	if want := "[106 己 v11 c7 n0 2026-11-29 100 甲 v11 c1 n3 2027-02-28]"; fmt.Sprint(got) != want {
		t.Errorf("village 11: %v, want %s", got, want)
	}
	if fmt.Sprint(h.r.calls) != fmt.Sprintf("[ContractFacts %s [11] %s..%s]", county, famToday, famToday) {
		t.Errorf("calls %v", h.r.calls)
	}
	if e := h.log.events[0]; len(h.log.events) != 1 || e.Action != ActShortfall || e.Detail != "key-group shortfall list n=2" || e.ResidentID != 0 {
		t.Errorf("audit %+v", h.log.events)
	}
	out, err = h.s.Shortfalls(ctx, townshipDr)
	if err != nil || len(out) != 3 || out[0].ResidentID != 106 || out[1].ResidentID != 105 || out[2].ResidentID != 100 {
		t.Errorf("township 10: %+v %v", out, err)
	}
	for _, a := range []care.Actor{analyst, specialist, admin} {
		if _, err := h.s.Shortfalls(ctx, a); code(err) != care.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
}

// TestIndicatorsPeriodAndScope pins Indicators (docs/family.md
// "Indicators": for [from, to], to clamped to today, at most five years;
// analysts see every village of the county, township doctors their
// villages, nobody else; villages sum exactly to the total; the read is
// audited).
func TestIndicatorsPeriodAndScope(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	h.r.pops = []Population{{VillageID: 11, Residents: 10, Key: 4}, {VillageID: 12, Residents: 5, Key: 1}, {VillageID: 21, Residents: 20, Key: 2}}
	h.r.facts = []ContractFact{
		{Contract: Contract{ID: 1, ResidentID: 100, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusActive}, VillageID: 11, Key: true},
		{Contract: Contract{ID: 2, ResidentID: 105, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusActive}, VillageID: 12},
		{Contract: Contract{ID: 3, ResidentID: 200, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusActive}, VillageID: 21, Key: true},
	}
	r, err := h.s.Indicators(ctx, analyst, d("2026-01-01"), d("2027-06-30"))
	if err != nil {
		t.Fatal(err)
	}
	if r.To != famToday || r.From != d("2026-01-01") || len(r.ByVillage) != 3 {
		t.Errorf("period %s..%s, villages %d", r.From, r.To, len(r.ByVillage))
	}
	if r.Total.Coverage != (Rate{3, 35}) || r.Total.KeyCoverage != (Rate{2, 7}) || r.ByVillage[11].Coverage != (Rate{1, 10}) || r.ByVillage[21].KeyCoverage != (Rate{1, 2}) {
		t.Errorf("total %+v, village 11 %+v", r.Total, r.ByVillage[11])
	}
	if want := fmt.Sprintf("[Population %[1]s [11 12 21] %[2]s ContractFacts %[1]s [11 12 21] 2026-01-01..%[2]s]", county, famToday); fmt.Sprint(h.r.calls) != want {
		t.Errorf("calls %v, want %s", h.r.calls, want)
	}
	if e := h.log.events[0]; e.Action != ActIndicators || e.Detail != fmt.Sprintf("family indicators 2026-01-01..%s villages=3", famToday) {
		t.Errorf("audit %+v", e)
	}
	h.r.calls = nil
	r, err = h.s.Indicators(ctx, townshipDr, d("2026-01-01"), care.Date{})
	if err != nil || r.To != famToday || len(r.ByVillage) != 2 || r.Total.Coverage != (Rate{2, 15}) {
		t.Errorf("township 10: %+v %v", r, err)
	}
	if want := fmt.Sprintf("[Population %[1]s [11 12] %[2]s ContractFacts %[1]s [11 12] 2026-01-01..%[2]s]", county, famToday); fmt.Sprint(h.r.calls) != want {
		t.Errorf("township calls %v", h.r.calls)
	}
	for _, a := range []care.Actor{villageDr, specialist, admin} {
		if _, err := h.s.Indicators(ctx, a, d("2026-01-01"), famToday); code(err) != care.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	to := d("2026-06-30")
	for _, tt := range []struct {
		name     string
		from, to care.Date
		ok       bool
	}{
		{"one day", to, to, true},
		{"five years", AddYears(to, -5), to, true},
		{"five years and a day", AddYears(to, -5).AddDays(-1), to, false},
		{"from after to", to.AddDays(1), to, false},
		{"no start", care.Date{}, to, false},
		{"a start after today, to clamped", famToday.AddDays(1), d("2027-01-01"), false},
		{"today to a later day", famToday, d("2027-01-01"), true},
	} {
		_, err := h.s.Indicators(ctx, analyst, tt.from, tt.to)
		if (err == nil) != tt.ok || !tt.ok && fields(err) != "from:family.period" {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
