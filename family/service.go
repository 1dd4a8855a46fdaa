package family

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/points"
	"countycare/resident"
)

// Repository is the storage the family doctor service needs; store.Store implements it.
type Repository interface {
	Teams(ctx context.Context, county string) ([]Team, error)
	// Team returns a team with its members; ENOTFOUND if none.
	Team(ctx context.Context, id int64) (*Team, error)
	// SaveTeam inserts (ID 0) or updates a team at t.Version (ECONFLICT if stale).
	SaveTeam(ctx context.Context, t *Team, ev audit.Event) error
	Packages(ctx context.Context, county string) ([]Package, error)
	// Package returns a package; ENOTFOUND if none.
	Package(ctx context.Context, id int64) (*Package, error)
	// SavePackage inserts (ID 0) or updates a package (ECONFLICT on a duplicate code).
	SavePackage(ctx context.Context, p *Package, ev audit.Event) error
	// Contracts lists a resident's contracts, newest first.
	Contracts(ctx context.Context, county string, residentID int64) ([]Contract, error)
	// Contract returns a contract; ENOTFOUND if none.
	Contract(ctx context.Context, id int64) (*Contract, error)
	// SignContracts closes the contracts in closes (each must still be
	// active, ECONFLICT otherwise) and stores cs, in one transaction with
	// the audit rows; a resident with another active contract is ECONFLICT.
	SignContracts(ctx context.Context, cs []*Contract, closes []Closure, evs []audit.Event) error
	// CloseContract ends an active contract (ECONFLICT if no longer active).
	CloseContract(ctx context.Context, cl Closure, ev audit.Event) error
	// SaveDelivery stores a delivered service with its audit row; the
	// same kind for the same resident on the same day — a chronic
	// follow-up visit counting as a follow_up — is ECONFLICT.
	// An award, if given, is added to the points ledger in the same
	// transaction (once per event).
	SaveDelivery(ctx context.Context, d *Delivery, award *points.Entry, ev audit.Event) error
	// Done lists a resident's services dated within [from, to]: deliveries
	// and chronic follow-up visits (as FollowUp), one per kind and day.
	Done(ctx context.Context, county string, residentID int64, from, to care.Date) ([]Done, error)
	// Deliveries lists a resident's recorded deliveries, newest first.
	Deliveries(ctx context.Context, county string, residentID int64, limit int) ([]Delivery, error)
	// Population counts active residents and the key population on day per village.
	Population(ctx context.Context, county string, clinics []int64, day care.Date) ([]Population, error)
	// ContractFacts returns the contracts of the clinics' residents that
	// overlap [from, to] or end within it, with their services from a year
	// before from up to to.
	ContractFacts(ctx context.Context, county string, clinics []int64, from, to care.Date) ([]ContractFact, error)
	ResidentNames(ctx context.Context, ids []int64) (map[int64]string, error)
}

// Closure ends a contract: its status, the first day no longer covered, why, who.
type Closure struct {
	ContractID int64
	Status     string // StatusRenewed, StatusSwitched, StatusEnded, StatusExpired
	EndedOn    care.Date
	Reason     string
	By         int64
	At         time.Time
}

// Staff looks practitioners up (store.Store implements it).
type Staff interface {
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
}

// Service is the family doctor contract service. Every call on a
// resident's contract goes through the resident registry's scope
// (another village's resident is ENOTFOUND) and is audited: writes in the
// same transaction, reads through Audit.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Staff  Staff
	Points *points.Service // awards points for delivered services; nil: none
	Days   DayStore        // the villages' figures kept per day (days.go); nil: always computed
	Audit  audit.Recorder
	Now    func() time.Time
}

// Audit actions of the family doctor service.
const (
	ActTeam       = "family.team"
	ActPackage    = "family.package"
	ActSign       = "family.sign"
	ActRenew      = "family.renew"
	ActSwitch     = "family.switch"
	ActEnd        = "family.end"
	ActService    = "family.service"
	ActRead       = "family.read"
	ActShortfall  = "family.shortfall"
	ActIndicators = "family.indicators"
)

// caring reports whether a may sign contracts and record services: the
// primary-care doctors who hold residents' records (access.Registrars).
func caring(a care.Actor) bool { return slices.Contains(access.Registrars, a.Role) }

// teamOwnerKinds are the institutions that own teams.
var teamOwnerKinds = []org.Kind{org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter, org.KindVillageClinic}

// CanManageTeam reports whether a may create or edit teams owned by
// institution owner: an administrator for the whole county, a township
// doctor for teams owned by their center or one of its village clinics.
// Administrators manage teams but see no clinical content.
func CanManageTeam(a care.Actor, t *org.Tree, owner int64) bool {
	switch a.Role {
	case care.RoleAdmin:
		return true
	case care.RoleTownshipDoctor:
		return t.IsWithin(owner, a.InstitutionID)
	}
	return false
}

// Teams lists the county's teams.
func (s *Service) Teams(ctx context.Context, a care.Actor) ([]Team, error) {
	return s.Repo.Teams(ctx, a.CountyCode)
}

// Team returns one team of the actor's county. Errors: ENOTFOUND.
func (s *Service) Team(ctx context.Context, a care.Actor, id int64) (*Team, error) {
	t, err := s.Repo.Team(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) || err == nil && t.CountyCode != a.CountyCode {
		return nil, care.Errorf(care.ENOTFOUND, "family.team.not_found")
	}
	return t, err
}

// SaveTeam creates (ID 0) or updates a team. The owner must be a township
// center or village clinic the actor may manage (CanManageTeam); members
// must be active practitioners of the county. Errors: EINVALID,
// EFORBIDDEN, ENOTFOUND, ECONFLICT (edited meanwhile).
func (s *Service) SaveTeam(ctx context.Context, a care.Actor, t *Team) error {
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return err
	}
	if t.ID != 0 {
		old, err := s.Team(ctx, a, t.ID)
		if err != nil {
			return err
		}
		if !CanManageTeam(a, tree, old.InstitutionID) {
			return care.Errorf(care.EFORBIDDEN, "error.forbidden")
		}
	}
	fs := t.Validate()
	if owner := tree.Get(t.InstitutionID); t.InstitutionID != 0 && (owner == nil || !slices.Contains(teamOwnerKinds, owner.Kind)) {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "family.team.owner"})
	} else if t.InstitutionID != 0 && !CanManageTeam(a, tree, t.InstitutionID) {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	for i, m := range t.Members {
		p, err := s.Staff.Practitioner(ctx, m.PractitionerID)
		if care.IsCode(err, care.ENOTFOUND) || err == nil && (!p.Active || tree.Get(p.InstitutionID) == nil || tree.Get(p.InstitutionID).Kind == org.KindPartner) {
			fs = append(fs, care.FieldError{Field: "members", Key: "family.team.member"})
			break
		} else if err != nil {
			return err
		}
		t.Members[i].Name, t.Members[i].InstitutionID = p.Name, p.InstitutionID
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	t.CountyCode = a.CountyCode
	ev := audit.New(ctx, a, ActTeam, 0)
	ev.Detail = fmt.Sprintf("team %q owner %d members %d", t.Name, t.InstitutionID, len(t.Members))
	return s.Repo.SaveTeam(ctx, t, ev)
}

// Packages lists the county's service packages.
func (s *Service) Packages(ctx context.Context, a care.Actor) ([]Package, error) {
	return s.Repo.Packages(ctx, a.CountyCode)
}

// SavePackage creates or updates a service package (administrators only).
// A basic package is free; a personalised one has a fee of 0–1,000,000
// fen. Contracts keep the services and fee they were signed with.
// Errors: EINVALID, EFORBIDDEN, ECONFLICT (code in use).
func (s *Service) SavePackage(ctx context.Context, a care.Actor, p *Package) error {
	if a.Role != care.RoleAdmin {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var fs []care.FieldError
	p.Name, p.Code = strings.TrimSpace(p.Name), strings.TrimSpace(p.Code)
	if p.Name == "" || utf8.RuneCountInString(p.Name) > 60 {
		fs = append(fs, care.FieldError{Field: "name", Key: "family.package.name"})
	}
	if p.Code == "" || len(p.Code) > 32 {
		fs = append(fs, care.FieldError{Field: "code", Key: "family.package.code"})
	}
	// An if/else chain rather than a tagless switch, so that mutation
	// testing sees the conditions (docs/mutation.md).
	if p.Kind == PackageBasic && p.FeeFen != 0 || p.Kind == PackagePersonalised && (p.FeeFen < 0 || p.FeeFen > 1_000_000) {
		fs = append(fs, care.FieldError{Field: "fee", Key: "family.package.fee"})
	} else if p.Kind != PackageBasic && p.Kind != PackagePersonalised {
		fs = append(fs, care.FieldError{Field: "kind", Key: "family.package.kind"})
	}
	if len(p.Services) == 0 {
		fs = append(fs, care.FieldError{Field: "services", Key: "family.package.services"})
	}
	if _, err := ParseDues(p.Services.String()); err != nil {
		fs = append(fs, care.FieldError{Field: "services", Key: "family.package.services"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	p.CountyCode = a.CountyCode
	ev := audit.New(ctx, a, ActPackage, 0)
	ev.Detail = fmt.Sprintf("package %s %s fee %d: %s", p.Code, p.Kind, p.FeeFen, p.Services)
	return s.Repo.SavePackage(ctx, p, ev)
}

// Panel is a resident's family doctor record: the contract history
// (newest first), the contract in force today and its fulfilment this
// contract year, and the deliveries recorded.
type Panel struct {
	Contracts  []Contract
	Current    *Contract // in force today; nil if none
	Next       *Contract // signed to start later (a renewal), if any
	Lines      []Line
	Services   int  // services this contract year (all kinds)
	Key        bool // in a key population: needs KeyGroupMinServices a year
	YearFrom   care.Date
	YearTo     care.Date
	Deliveries []Delivery
}

// Panel returns resident id's family doctor record. Errors: ENOTFOUND.
func (s *Service) Panel(ctx context.Context, a care.Actor, residentID int64) (*Panel, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	return s.PanelOf(ctx, a, res)
}

// PanelOf returns the record of a resident the caller has already read
// through resident.Service.Get in this request (scope checked); the read
// of the contracts is audited on its own row.
func (s *Service) PanelOf(ctx context.Context, a care.Actor, res *resident.Resident) (*Panel, error) {
	cs, err := s.Repo.Contracts(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	p := &Panel{Contracts: cs}
	for i := range cs {
		c := &cs[i]
		if c.Covers(today) {
			p.Current = c
		} else if c.Start.After(today) && c.Status == StatusActive {
			p.Next = c
		}
	}
	if p.Deliveries, err = s.Repo.Deliveries(ctx, res.CountyCode, res.ID, 50); err != nil {
		return nil, err
	}
	if p.Current != nil {
		p.YearFrom, p.YearTo = p.Current.ContractYear(today)
		done, err := s.Repo.Done(ctx, res.CountyCode, res.ID, p.YearFrom, today)
		if err != nil {
			return nil, err
		}
		p.Lines = Fulfilment(p.Current, done, today)
		p.Services = ServicesIn(p.Lines)
	}
	p.Key, err = s.isKey(ctx, res, today)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("contracts n=%d", len(cs))
	s.Audit.Record(ctx, ev)
	return p, nil
}

// chronicRegistered is how the service learns whether a resident is in a
// chronic disease registry (a key population): the store implements it.
type chronicRegistered interface {
	ChronicRegistered(ctx context.Context, county string, residentID int64) (bool, error)
}

func (s *Service) isKey(ctx context.Context, res *resident.Resident, day care.Date) (bool, error) {
	if len(res.KeyGroups(day)) > 0 {
		return true, nil
	}
	if cr, ok := s.Repo.(chronicRegistered); ok {
		return cr.ChronicRegistered(ctx, res.CountyCode, res.ID)
	}
	return false, nil
}

// terms loads and checks what a contract needs: the team must be active,
// of the county and own the resident's village (its clinic or township
// center); the package active and of the county.
func (s *Service) terms(ctx context.Context, a care.Actor, res *resident.Resident, t *Terms) (*Package, []care.FieldError, error) {
	fs := CheckTerms(t, s.Now())
	if t.TeamID != 0 {
		team, err := s.Repo.Team(ctx, t.TeamID)
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return nil, nil, err
		}
		tree, terr := s.Orgs.Tree(ctx)
		if terr != nil {
			return nil, nil, terr
		}
		if err != nil || !team.Active || team.CountyCode != res.CountyCode || !tree.IsWithin(res.VillageID, team.InstitutionID) {
			fs = append(fs, care.FieldError{Field: "team_id", Key: "family.team.not_serving"})
		}
	}
	var pkg *Package
	if t.PackageID != 0 {
		p, err := s.Repo.Package(ctx, t.PackageID)
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return nil, nil, err
		}
		if err != nil || !p.Active || p.CountyCode != res.CountyCode {
			fs = append(fs, care.FieldError{Field: "package_id", Key: "family.package.required"})
		} else {
			pkg = p
		}
	}
	if res.Status != resident.StatusActive {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "family.resident_not_active"})
	}
	return pkg, fs, nil
}

func (s *Service) newContract(a care.Actor, res *resident.Resident, t Terms, pkg *Package) *Contract {
	return &Contract{CountyCode: res.CountyCode, ResidentID: res.ID, TeamID: t.TeamID, PackageID: pkg.ID, Services: pkg.Services, FeeFen: pkg.FeeFen,
		Start: t.Start, End: t.End, Consent: t.Consent, Status: StatusActive, SignedBy: a.AccountID, InstitutionID: a.InstitutionID}
}

// expiredClosure closes a resident's active contract that ended before
// start (an expired one), so a new contract can be signed.
func (s *Service) expiredClosure(ctx context.Context, a care.Actor, res *resident.Resident, start care.Date) ([]Closure, error) {
	cs, err := s.Repo.Contracts(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	var out []Closure
	for _, c := range cs {
		if c.Status == StatusActive && c.End.Before(start) {
			out = append(out, Closure{ContractID: c.ID, Status: StatusExpired, Reason: "expired", By: a.AccountID, At: s.Now()})
		}
	}
	return out, nil
}

func conflictToField(err error) error {
	if care.IsCode(err, care.ECONFLICT) {
		return &care.Error{Code: care.ECONFLICT, Key: "family.contract.already_active", Fields: []care.FieldError{{Field: "resident_id", Key: "family.contract.already_active"}}}
	}
	return err
}

// Sign makes a contract between a resident and a team. The resident must
// have no contract in force or signed ahead (one team at a time,
// policy-rules.md §2); an expired one is closed. Errors: EINVALID (terms,
// consent), EFORBIDDEN, ENOTFOUND, ECONFLICT (already contracted).
func (s *Service) Sign(ctx context.Context, a care.Actor, residentID int64, t Terms) (*Contract, error) {
	if !caring(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	pkg, fs, err := s.terms(ctx, a, res, &t)
	if err != nil {
		return nil, err
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	closes, err := s.expiredClosure(ctx, a, res, t.Start)
	if err != nil {
		return nil, err
	}
	c := s.newContract(a, res, t, pkg)
	ev := audit.New(ctx, a, ActSign, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("team %d package %d %s..%s consent %s/%s", t.TeamID, pkg.ID, t.Start, t.End, t.Consent.By, t.Consent.Method)
	if err := s.Repo.SignContracts(ctx, []*Contract{c}, closes, []audit.Event{ev}); err != nil {
		return nil, conflictToField(err)
	}
	return c, nil
}

// SignHousehold signs the same terms for every active member of a
// household in the actor's scope who has no contract, in one transaction
// (a household contracts with one team, policy-rules.md §2). Consent by
// the household head covers the members. It returns the contracts made
// and the members skipped because they already have one.
// Errors: EINVALID, EFORBIDDEN, ENOTFOUND.
func (s *Service) SignHousehold(ctx context.Context, a care.Actor, householdID int64, t Terms) ([]*Contract, []resident.Resident, error) {
	if !caring(a) {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	_, members, err := s.Residents.Household(ctx, a, householdID)
	if err != nil {
		return nil, nil, err
	}
	today := care.Today(s.Now())
	var cs []*Contract
	var closes []Closure
	var evs []audit.Event
	var skipped []resident.Resident
	for i := range members {
		res := &members[i]
		if res.Status != resident.StatusActive {
			continue
		}
		pkg, fs, err := s.terms(ctx, a, res, &t)
		if err != nil {
			return nil, nil, err
		}
		if err := care.Invalid(fs); err != nil {
			return nil, nil, err
		}
		existing, err := s.Repo.Contracts(ctx, res.CountyCode, res.ID)
		if err != nil {
			return nil, nil, err
		}
		busy := false
		for _, c := range existing {
			if c.Status == StatusActive && !c.End.Before(t.Start) || c.Covers(today) {
				busy = true
			}
		}
		if busy {
			skipped = append(skipped, *res)
			continue
		}
		cl, err := s.expiredClosure(ctx, a, res, t.Start)
		if err != nil {
			return nil, nil, err
		}
		closes = append(closes, cl...)
		cs = append(cs, s.newContract(a, res, t, pkg))
		ev := audit.New(ctx, a, ActSign, res.ID)
		ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("household %d team %d package %d %s..%s consent %s/%s", householdID, t.TeamID, pkg.ID, t.Start, t.End, t.Consent.By, t.Consent.Method)
		evs = append(evs, ev)
	}
	if len(cs) == 0 {
		return nil, skipped, care.Invalid([]care.FieldError{{Field: "household_id", Key: "family.household.none"}})
	}
	if err := s.Repo.SignContracts(ctx, cs, closes, evs); err != nil {
		return nil, nil, conflictToField(err)
	}
	return cs, skipped, nil
}

// load returns a contract whose resident the actor may see.
func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Contract, *resident.Resident, error) {
	if !caring(a) {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	c, err := s.Repo.Contract(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, nil, care.Errorf(care.ENOTFOUND, "family.contract.not_found")
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := s.Residents.Get(ctx, a, c.ResidentID)
	if err != nil {
		return nil, nil, err
	}
	return c, res, nil
}

// Contract returns contract id for a reader of its resident (the
// registrars, the resident under their scope), audited as family.read.
// Errors: EFORBIDDEN (another role), ENOTFOUND (no such contract, or its
// resident out of scope).
func (s *Service) Contract(ctx context.Context, a care.Actor, id int64) (*Contract, error) {
	c, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("contract %d", c.ID)
	s.Audit.Record(ctx, ev)
	return c, nil
}

// Renew continues contract id with a new one starting the day after its
// end (续约). The old contract runs to its end and is marked renewed; the
// history keeps both. Renewal is allowed from 90 days before the end
// until a year after. Errors: EINVALID, ENOTFOUND, ECONFLICT (already
// renewed, switched or ended).
func (s *Service) Renew(ctx context.Context, a care.Actor, id int64, t Terms) (*Contract, error) {
	old, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if old.Status != StatusActive {
		return nil, care.Errorf(care.ECONFLICT, "family.contract.not_active")
	}
	t.Start = old.End.AddDays(1)
	if t.TeamID == 0 {
		t.TeamID = old.TeamID
	}
	if t.PackageID == 0 {
		t.PackageID = old.PackageID
	}
	today := care.Today(s.Now())
	pkg, fs, err := s.terms(ctx, a, res, &t)
	if err != nil {
		return nil, err
	}
	if old.End.After(today.AddDays(RenewWindowDays)) {
		fs = append(fs, care.FieldError{Field: "start", Key: "family.contract.renew_early", Args: []any{RenewWindowDays}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	c := s.newContract(a, res, t, pkg)
	c.PreviousID = old.ID
	ev := audit.New(ctx, a, ActRenew, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("renew contract %d: team %d package %d %s..%s", old.ID, t.TeamID, pkg.ID, t.Start, t.End)
	cl := Closure{ContractID: old.ID, Status: StatusRenewed, Reason: "renewed", By: a.AccountID, At: s.Now()}
	if err := s.Repo.SignContracts(ctx, []*Contract{c}, []Closure{cl}, []audit.Event{ev}); err != nil {
		return nil, err
	}
	return c, nil
}

// RenewWindowDays is how long before a contract's end it may be renewed.
const RenewWindowDays = 90

// Switch moves a resident to another team (转签): contract id ends on
// t.Start (today when zero) with the reason given, and a new contract
// with the new team starts that day. Errors: EINVALID (same team, no
// reason, terms), ENOTFOUND, ECONFLICT (no longer active).
func (s *Service) Switch(ctx context.Context, a care.Actor, id int64, t Terms, reason string) (*Contract, error) {
	old, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if old.Status != StatusActive {
		return nil, care.Errorf(care.ECONFLICT, "family.contract.not_active")
	}
	today := care.Today(s.Now())
	if t.Start.IsZero() {
		t.Start = today
	}
	if t.PackageID == 0 {
		t.PackageID = old.PackageID
	}
	pkg, fs, err := s.terms(ctx, a, res, &t)
	if err != nil {
		return nil, err
	}
	if t.TeamID == old.TeamID {
		fs = append(fs, care.FieldError{Field: "team_id", Key: "family.contract.same_team"})
	}
	if t.Start.Before(old.Start) || t.Start.After(old.LastDay()) || t.Start.Before(today) {
		fs = append(fs, care.FieldError{Field: "start", Key: "family.contract.switch_date"})
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		fs = append(fs, care.FieldError{Field: "reason", Key: "family.contract.reason"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	c := s.newContract(a, res, t, pkg)
	c.PreviousID = old.ID
	ev := audit.New(ctx, a, ActSwitch, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("switch contract %d team %d → %d from %s", old.ID, old.TeamID, t.TeamID, t.Start)
	cl := Closure{ContractID: old.ID, Status: StatusSwitched, EndedOn: t.Start, Reason: reason, By: a.AccountID, At: s.Now()}
	if err := s.Repo.SignContracts(ctx, []*Contract{c}, []Closure{cl}, []audit.Event{ev}); err != nil {
		return nil, err
	}
	return c, nil
}

// End ends contract id from day on (moved away, died, withdrew: the
// reason is required). Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) End(ctx context.Context, a care.Actor, id int64, on care.Date, reason string) (*Contract, error) {
	c, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if c.Status != StatusActive {
		return nil, care.Errorf(care.ECONFLICT, "family.contract.not_active")
	}
	var fs []care.FieldError
	today := care.Today(s.Now())
	if on.IsZero() || on.Before(c.Start) || on.After(c.End.AddDays(1)) || on.After(today.AddDays(1)) {
		fs = append(fs, care.FieldError{Field: "ended_on", Key: "family.contract.end_date"})
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		fs = append(fs, care.FieldError{Field: "reason", Key: "family.contract.reason"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	cl := Closure{ContractID: c.ID, Status: StatusEnded, EndedOn: on, Reason: reason, By: a.AccountID, At: s.Now()}
	ev := audit.New(ctx, a, ActEnd, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("end contract %d from %s", c.ID, on)
	if err := s.Repo.CloseContract(ctx, cl, ev); err != nil {
		return nil, err
	}
	c.Status, c.EndedOn, c.EndReason = StatusEnded, on, reason
	return c, nil
}

// Record records a service delivered to a resident by the actor. The day
// must not be in the future nor before birth, and a contract of the
// resident must cover it; the service counts against that contract.
// Errors: EINVALID, EFORBIDDEN, ENOTFOUND, ECONFLICT (the same kind that
// day is already recorded, or a chronic follow-up visit that day when
// kind is follow_up: nothing is counted twice).
func (s *Service) Record(ctx context.Context, a care.Actor, residentID int64, kind Kind, on care.Date, note string) (*Delivery, error) {
	if !caring(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	if !kind.Valid() {
		fs = append(fs, care.FieldError{Field: "kind", Key: "family.service.kind"})
	}
	today := care.Today(s.Now())
	var contract *Contract
	switch {
	case on.IsZero() || on.After(today):
		fs = append(fs, care.FieldError{Field: "date", Key: "family.service.future"})
	case on.Before(res.BirthDate):
		fs = append(fs, care.FieldError{Field: "date", Key: "family.service.before_birth"})
	default:
		cs, err := s.Repo.Contracts(ctx, res.CountyCode, res.ID)
		if err != nil {
			return nil, err
		}
		for i := range cs {
			if cs[i].Covers(on) {
				contract = &cs[i]
				break
			}
		}
		if contract == nil {
			fs = append(fs, care.FieldError{Field: "date", Key: "family.service.no_contract"})
		}
	}
	if note = strings.TrimSpace(note); utf8.RuneCountInString(note) > 200 {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{200}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	d := &Delivery{CountyCode: res.CountyCode, ResidentID: res.ID, ContractID: contract.ID, Kind: kind, Date: on, PractitionerID: a.PractitionerID,
		InstitutionID: a.InstitutionID, Note: note, RecordedBy: a.AccountID}
	ev := audit.New(ctx, a, ActService, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s on %s contract %d", kind, on, contract.ID)
	var award *points.Entry
	if s.Points != nil {
		// The event is the service itself: one per kind, resident and day.
		if award = s.Points.Entry(res.CountyCode, res.ID, points.Rule(kind), fmt.Sprintf("family_service:%s:%s", kind, on), on, a.AccountID); award != nil {
			ev.Detail += fmt.Sprintf(" points +%d", award.Points)
		}
	}
	if err := s.Repo.SaveDelivery(ctx, d, award, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, &care.Error{Code: care.ECONFLICT, Key: "family.service.duplicate", Args: []any{on.String()}, Fields: []care.FieldError{{Field: "kind", Key: "family.service.duplicate", Args: []any{on.String()}}}}
		}
		return nil, err
	}
	return d, nil
}

// Shortfalls lists the key-group residents of the actor's clinics (a
// village, or a township's villages) with a contract in force who have had
// fewer than KeyGroupMinServices services this contract year. The read
// is audited. Errors: EFORBIDDEN (no managed scope).
func (s *Service) Shortfalls(ctx context.Context, a care.Actor) ([]Shortfall, error) {
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	facts, err := s.Repo.ContractFacts(ctx, a.CountyCode, clinics, today, today)
	if err != nil {
		return nil, err
	}
	var out []Shortfall
	var ids []int64
	for i := range facts {
		f := &facts[i]
		if !f.Key || !f.Covers(today) {
			continue
		}
		n := ServicesIn(Fulfilment(&f.Contract, f.Done, today))
		if n < KeyGroupMinServices {
			_, to := f.ContractYear(today)
			out = append(out, Shortfall{ResidentID: f.ResidentID, VillageID: f.VillageID, ContractID: f.ID, Services: n, YearEnds: to})
			ids = append(ids, f.ResidentID)
		}
	}
	names, err := s.Repo.ResidentNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Name = names[out[i].ResidentID]
	}
	SortShortfalls(out)
	ev := audit.New(ctx, a, ActShortfall, 0)
	ev.Detail = fmt.Sprintf("key-group shortfall list n=%d", len(out))
	s.Audit.Record(ctx, ev)
	return out, nil
}

// Report is the indicators of a period per village, with the unit's total.
type Report struct {
	From, To  care.Date
	ByVillage map[int64]Indicators
	Total     Indicators
}

// Indicators computes the programme's indicators for [from, to] (to is
// clamped to today): a township doctor's villages, or the whole county
// for an analyst. Aggregates only; the read is audited.
// Errors: EINVALID (bad period), EFORBIDDEN.
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*Report, error) {
	today := care.Today(s.Now())
	if to.IsZero() || to.After(today) {
		to = today
	}
	if from.IsZero() || from.After(to) || from.Before(AddYears(to, -5)) {
		return nil, care.Invalid([]care.FieldError{{Field: "from", Key: "family.period"}})
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var clinics []int64
	switch a.Role {
	case care.RoleAnalyst:
		for _, in := range tree.OfKind(0, org.KindVillageClinic) {
			clinics = append(clinics, in.ID)
		}
	case care.RoleTownshipDoctor:
		for _, in := range tree.OfKind(a.InstitutionID, org.KindVillageClinic) {
			clinics = append(clinics, in.ID)
		}
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	pops, err := s.Repo.Population(ctx, a.CountyCode, clinics, to)
	if err != nil {
		return nil, err
	}
	facts, err := s.Repo.ContractFacts(ctx, a.CountyCode, clinics, from, to)
	if err != nil {
		return nil, err
	}
	r := &Report{From: from, To: to, ByVillage: Compute(pops, facts, from, to)}
	for _, in := range r.ByVillage {
		r.Total = r.Total.Add(in)
	}
	ev := audit.New(ctx, a, ActIndicators, 0)
	ev.Detail = fmt.Sprintf("family indicators %s..%s villages=%d", from, to, len(pops))
	s.Audit.Record(ctx, ev)
	return r, nil
}
