package settle

// In-memory fakes for the service-layer tests (issue 18 §6: gremlins runs
// only the package's own tests, so the Service and Window methods were
// never reached). Each fake copies what the SQL adapter does for the cases
// the tests use (store/settlements.go, store/settle_more.go,
// store/certifications.go): ENOTFOUND for a missing row, ECONFLICT with
// the store's message keys, the idempotency keys, one live settlement per
// visit, and a person-year settled in date order (visit date, then id)
// whenever an earlier bill changes, with an Adjustment per changed visit.
// The resident registry is the real resident.Service over a fake
// repository, so scope and its audit rows are resident's own.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

const (
	countyA = "411723"
	countyB = "411724"
)

// svcNow is "now" for the service tests: 2026-06-15 10:00 in Beijing.
var svcNow = time.Date(2026, 6, 15, 10, 0, 0, 0, care.Shanghai)

var (
	officerA  = care.Actor{AccountID: 7, Username: "yb1", Role: care.RoleInsuranceOfficer, InstitutionID: 5, CountyCode: countyA}
	officerB  = care.Actor{AccountID: 8, Username: "yb2", Role: care.RoleInsuranceOfficer, InstitutionID: 35, CountyCode: countyB}
	villageA  = care.Actor{AccountID: 9, Username: "cy1", Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: countyA}
	analystA  = care.Actor{AccountID: 10, Username: "fx1", Role: care.RoleAnalyst, InstitutionID: 6, CountyCode: countyA}
	resident0 = care.Actor{AccountID: 11, Username: "jm1", Role: care.RoleResident, ResidentID: 100, CountyCode: countyA}
)

// svcPeople: 100 (not poor) and 101 (特困) live in county A, managed by
// village clinic 11; 300 (特困) lives in county B.
var svcPeople = map[int64]resident.Resident{
	100: {ID: 100, CountyCode: countyA, VillageID: 11},
	101: {ID: 101, CountyCode: countyA, VillageID: 11, Poverty: resident.PovertyExtreme},
	300: {ID: 300, CountyCode: countyB, VillageID: 31, Poverty: resident.PovertyExtreme},
}

type svcRegistry struct{ resident.Repository }

func (svcRegistry) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	r, ok := svcPeople[id]
	if !ok {
		return nil, false, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return &r, sc.Allows(access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID}), nil
}

// svcOrgs: county A (1) with its insurance office (5), commission (6),
// community 2 (county hospital 3, township 10, village clinic 11) and
// community 4 (no visits); partner hospitals filed under county A at city
// (20), province (21) and national (22) level; county B (30) with its
// township (31), community 32 and insurance office 35.
type svcOrgs struct{}

func (svcOrgs) Tree(context.Context) (*org.Tree, error) {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: countyA, Name: "A县"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: countyA, Name: "A县第一医共体"},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, Level: org.LevelCounty, CountyCode: countyA, Name: "A县人民医院"},
		{ID: 4, ParentID: 1, Kind: org.KindCommunity, CountyCode: countyA, Name: "A县第二医共体"},
		{ID: 5, ParentID: 1, Kind: org.KindInsurance, CountyCode: countyA, Name: "A县医保局"},
		{ID: 6, ParentID: 1, Kind: org.KindCommission, CountyCode: countyA, Name: "A县卫健委"},
		{ID: 10, ParentID: 2, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: countyA, Name: "甲镇卫生院"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: countyA, Name: "甲村卫生室"},
		{ID: 20, Kind: org.KindPartner, Level: org.LevelCity, CountyCode: countyA, Name: "市医院"},
		{ID: 21, Kind: org.KindPartner, Level: org.LevelProvince, CountyCode: countyA, Name: "省医院"},
		{ID: 22, Kind: org.KindPartner, Level: org.LevelNational, CountyCode: countyA, Name: "北京医院"},
		{ID: 30, Kind: org.KindCounty, CountyCode: countyB, Name: "B县"},
		{ID: 31, ParentID: 32, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: countyB, Name: "乙镇卫生院"},
		{ID: 32, ParentID: 30, Kind: org.KindCommunity, CountyCode: countyB, Name: "B县医共体"},
		{ID: 35, ParentID: 30, Kind: org.KindInsurance, CountyCode: countyB, Name: "B县医保局"},
	}), nil
}

type svcAudit struct{ events []audit.Event }

func (l *svcAudit) Record(_ context.Context, e audit.Event) { l.events = append(l.events, e) }

// of returns the events recorded with action.
func (l *svcAudit) of(action string) []audit.Event {
	var out []audit.Event
	for _, e := range l.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// svcRepo is settle.Repository in memory.
type svcRepo struct {
	policies    []StoredPolicy
	sts         []*Settlement
	adjs        []Adjustment
	certs       []*Certification
	events      svcAudit // rows written in the data's transaction
	policyReads int
	nextID      int64
}

func (r *svcRepo) id() int64 { r.nextID++; return r.nextID }

func notFound() error { return &care.Error{Code: care.ENOTFOUND, Key: "error.not_found"} }

// SavePolicy: (county, year, version) is unique (ECONFLICT).
func (r *svcRepo) SavePolicy(_ context.Context, sp *StoredPolicy, ev audit.Event) error {
	for _, p := range r.policies {
		if p.County == sp.County && p.Year == sp.Year && p.Version == sp.Version {
			return &care.Error{Code: care.ECONFLICT, Key: "error.conflict"}
		}
	}
	sp.ID, sp.CreatedAt = r.id(), svcNow
	r.policies = append(r.policies, *sp)
	r.events.Record(context.Background(), ev)
	return nil
}

// Policies: newest first (year, then version, descending).
func (r *svcRepo) Policies(_ context.Context, county string) ([]StoredPolicy, error) {
	var out []StoredPolicy
	for _, p := range r.policies {
		if p.County == county {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Year != out[j].Year {
			return out[i].Year > out[j].Year
		}
		return out[i].Version > out[j].Version
	})
	return out, nil
}

func (r *svcRepo) PolicyFor(ctx context.Context, county string, day care.Date) (*StoredPolicy, error) {
	var best *StoredPolicy
	for i, p := range r.policies {
		if p.County == county && !day.Before(p.From) && !p.To.Before(day) && (best == nil || p.Version > best.Version) {
			best = &r.policies[i]
		}
	}
	if best == nil {
		return nil, notFound()
	}
	return best, nil
}

func (r *svcRepo) PolicyIDFor(ctx context.Context, county string, day care.Date) (int64, error) {
	p, err := r.PolicyFor(ctx, county, day)
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

func (r *svcRepo) SettlementPolicy(_ context.Context, id int64) (*StoredPolicy, error) {
	r.policyReads++
	for i := range r.policies {
		if r.policies[i].ID == id {
			return &r.policies[i], nil
		}
	}
	return nil, notFound()
}

// clone is a settlement as read back from the database: the bill, the
// result without its explanation and the accumulators decoded from JSON.
func clone(st *Settlement) *Settlement {
	c := *st
	b, _ := json.Marshal(st.Claim)
	c.Claim = Claim{}
	_ = json.Unmarshal(b, &c.Claim)
	b, _ = json.Marshal(st.Result.WithoutSteps())
	c.Result = Result{}
	_ = json.Unmarshal(b, &c.Result)
	b, _ = json.Marshal(st.AccBefore)
	c.AccBefore = Accumulators{}
	_ = json.Unmarshal(b, &c.AccBefore)
	c.Adjustments = nil
	return &c
}

func (r *svcRepo) find(county string, id int64) *Settlement {
	for _, st := range r.sts {
		if st.ID == id && (county == "" || st.County == county) {
			return st
		}
	}
	return nil
}

// refold settles a person-year's live visits again in date order (visit
// date, then id) from zero accumulators, as store.refold does: fresh, if
// not nil, is being settled now (its id is the highest) and compute
// settles it; every other visit is settled again with recompute, and each
// whose split changes gets an Adjustment. Nothing is written if a visit
// fails.
func (r *svcRepo) refold(county string, residentID int64, year int, fresh *Settlement, compute func(Accumulators) (*Result, error),
	recompute Recompute, cause string, causeID, by int64) (int, error) {
	var live []*Settlement
	for _, st := range r.sts {
		if st.County == county && st.ResidentID == residentID && st.Year == year && st.Status == StatusSettled {
			live = append(live, st)
		}
	}
	if fresh != nil {
		live = append(live, fresh)
	}
	sort.SliceStable(live, func(i, j int) bool { return live[i].Claim.Date < live[j].Claim.Date })
	type step struct {
		st     *Settlement
		res    *Result
		before Accumulators
	}
	var plan []step
	acc := Accumulators{}
	for _, st := range live {
		var res *Result
		var err error
		if st == fresh {
			res, err = compute(acc)
		} else {
			res, err = recompute(st, acc)
		}
		if err != nil {
			return 0, err
		}
		plan = append(plan, step{st, res, acc})
		acc = acc.Add(res.Delta, 1)
	}
	n := 0
	for _, p := range plan {
		if p.st != fresh && !SameSplit(&p.st.Result, p.res) {
			r.adjs = append(r.adjs, Adjustment{ID: r.id(), SettlementID: p.st.ID, Cause: cause, CauseID: causeID,
				Before: Amounts(&p.st.Result), After: Amounts(p.res), CreatedBy: by, CreatedAt: svcNow})
			n++
		}
		p.st.Result, p.st.AccBefore = *p.res.WithoutSteps(), p.before
		if p.st == fresh {
			p.st.Result = *p.res // the caller keeps the explanation of what it settled now
		}
	}
	return n, nil
}

// SettleTx as store.settleInTx.
func (r *svcRepo) SettleTx(_ context.Context, p *Pending, replace int64) error {
	st := p.Settlement
	p.Replay = false
	for _, o := range r.sts {
		if o.County == st.County && o.Key == st.Key {
			if o.ClaimHash != st.ClaimHash {
				return &care.Error{Code: care.ECONFLICT, Key: "settle.key_reused"}
			}
			p.Replay = true
			*st = *clone(o)
			return nil
		}
	}
	var old *Settlement
	if replace != 0 {
		if old = r.find(st.County, replace); old == nil {
			return notFound()
		}
		if old.Status != StatusSettled {
			return &care.Error{Code: care.ECONFLICT, Key: "settle.already_reversed"}
		}
	}
	for _, o := range r.sts {
		if o != old && o.County == st.County && o.VisitID == st.VisitID && o.Status == StatusSettled {
			return &care.Error{Code: care.ECONFLICT, Key: "settle.visit_settled", Args: []any{st.VisitID}}
		}
	}
	if old != nil {
		old.Status = StatusReversed
	}
	st.ID = r.id()
	cause, causeID := CauseEarlierVisit, st.ID
	if old != nil {
		cause, causeID = CauseCorrection, old.ID
	}
	n, err := r.refold(st.County, st.ResidentID, st.Year, st, p.Compute, p.Recompute, cause, causeID, st.CreatedBy)
	if err != nil {
		if old != nil {
			old.Status = StatusSettled
		}
		return err
	}
	st.CreatedAt = svcNow
	r.sts = append(r.sts, clone(st))
	if old != nil {
		old.ReversedBy, old.ReversedAt, old.ReversalReason, old.ReplacedBy = st.CreatedBy, svcNow, "corrected bill", st.ID
		if old.Year != st.Year {
			if _, err := r.refold(old.County, old.ResidentID, old.Year, nil, nil, p.Recompute, CauseCorrection, old.ID, st.CreatedBy); err != nil {
				return err
			}
		}
	}
	if n > 0 {
		p.Event.Detail += fmt.Sprintf("; %d later visit(s) of the year settled again", n)
	}
	r.events.Record(context.Background(), p.Event)
	return nil
}

// ReverseSettlement as store.ReverseSettlement (receivables are the
// window's fake's business and are not modelled here).
func (r *svcRepo) ReverseSettlement(_ context.Context, county string, id, by int64, reason string, recompute Recompute, ev audit.Event) (*Settlement, error) {
	st := r.find(county, id)
	if st == nil {
		return nil, notFound()
	}
	if st.Status != StatusSettled {
		return nil, &care.Error{Code: care.ECONFLICT, Key: "settle.already_reversed"}
	}
	st.Status = StatusReversed
	n, err := r.refold(county, st.ResidentID, st.Year, nil, nil, recompute, CauseReversal, id, by)
	if err != nil {
		st.Status = StatusSettled
		return nil, err
	}
	st.ReversedBy, st.ReversedAt, st.ReversalReason = by, svcNow, reason
	if n > 0 {
		ev.Detail += fmt.Sprintf("; %d later visit(s) of the year settled again", n)
	}
	r.events.Record(context.Background(), ev)
	return clone(st), nil
}

func (r *svcRepo) Adjustments(_ context.Context, county string, id int64) ([]Adjustment, error) {
	var out []Adjustment
	for _, a := range r.adjs {
		if st := r.find(county, a.SettlementID); st != nil && a.SettlementID == id {
			out = append(out, a)
		}
	}
	return out, nil
}

func (r *svcRepo) Settlement(_ context.Context, id int64) (*Settlement, error) {
	if st := r.find("", id); st != nil {
		return clone(st), nil
	}
	return nil, notFound()
}

// Settlements: newest first; a limit outside 1–1000 is 100.
func (r *svcRepo) Settlements(_ context.Context, f SettlementFilter) ([]Settlement, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []Settlement
	for i := len(r.sts) - 1; i >= 0 && len(out) < limit; i-- {
		st := r.sts[i]
		if st.County == f.County && (f.ResidentID == 0 || st.ResidentID == f.ResidentID) && (f.Status == "" || st.Status == f.Status) {
			out = append(out, *clone(st))
		}
	}
	return out, nil
}

// SettleAccumulators: what the person-year's live settlements added.
func (r *svcRepo) SettleAccumulators(_ context.Context, county string, residentID int64, year int) (Accumulators, error) {
	acc := Accumulators{}
	for _, st := range r.sts {
		if st.County == county && st.ResidentID == residentID && st.Year == year && st.Status == StatusSettled {
			acc = acc.Add(st.Result.Delta, 1)
		}
	}
	return acc, nil
}

func (r *svcRepo) SaveCertification(_ context.Context, c *Certification, ev audit.Event) error {
	c.ID, c.CreatedAt = r.id(), svcNow
	cp := *c
	r.certs = append(r.certs, &cp)
	r.events.Record(context.Background(), ev)
	return nil
}

// EndCertification: only an active certification of the county ends (ECONFLICT otherwise).
func (r *svcRepo) EndCertification(_ context.Context, county string, id, by int64, reason string, at time.Time, ev audit.Event) (*Certification, error) {
	for _, c := range r.certs {
		if c.ID == id && c.County == county && c.Status == CertActive {
			c.Status, c.EndedBy, c.EndedAt, c.EndReason = CertEnded, by, at, reason
			r.events.Record(context.Background(), ev)
			cp := *c
			return &cp, nil
		}
	}
	return nil, &care.Error{Code: care.ECONFLICT, Key: "settle.cert_ended"}
}

func (r *svcRepo) Certification(_ context.Context, id int64) (*Certification, error) {
	for _, c := range r.certs {
		if c.ID == id {
			cp := *c
			return &cp, nil
		}
	}
	return nil, notFound()
}

// Certifications: newest first.
func (r *svcRepo) Certifications(_ context.Context, county string, residentID int64) ([]Certification, error) {
	var out []Certification
	for i := len(r.certs) - 1; i >= 0; i-- {
		if c := r.certs[i]; c.County == county && c.ResidentID == residentID {
			out = append(out, *c)
		}
	}
	return out, nil
}

// newSettleService returns a Service over an empty repository, with the
// audit log shared by the service and the resident registry.
func newSettleService() (*Service, *svcRepo, *svcAudit) {
	repo := &svcRepo{}
	log := &svcAudit{}
	now := func() time.Time { return svcNow }
	rs := &resident.Service{Repo: svcRegistry{}, Orgs: svcOrgs{}, Audit: log, Now: now}
	return &Service{Repo: repo, Residents: rs, Orgs: svcOrgs{}, Audit: log, Now: now}, repo, log
}

// withExamplePolicy files example-2026.json (county A, 2026) as version 1.
func withExamplePolicy(repo *svcRepo) *StoredPolicy {
	b, _ := ExampleFile("example-2026.json")
	p, err := ParsePolicy(b)
	if err != nil {
		panic(err)
	}
	sp := StoredPolicy{County: p.County, Year: p.Year, Version: 1, Name: p.Name, Body: b, Policy: p}
	sp.From, _ = care.ParseDate(p.EffectiveFrom)
	sp.To, _ = care.ParseDate(p.EffectiveTo)
	_ = repo.SavePolicy(context.Background(), &sp, audit.Event{})
	repo.events = svcAudit{}
	return &repo.policies[len(repo.policies)-1]
}

func ceCode(err error) string { return care.ErrorCode(err) }

// fieldKeys lists an EINVALID error's fields as "field:key".
func fieldKeys(err error) []string {
	ce, ok := err.(*care.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range ce.Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return out
}

func errKey(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Key
	}
	return ""
}
