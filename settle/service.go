package settle

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// StoredPolicy is a policy version as the insurance office filed it.
type StoredPolicy struct {
	ID        int64
	County    string
	Year      int
	Version   int
	Name      string
	From, To  care.Date
	Body      []byte // the file as uploaded
	Policy    *Policy
	CreatedBy int64
	CreatedAt time.Time
}

// Settlement statuses.
const (
	StatusSettled  = "settled"
	StatusReversed = "reversed"
)

// Settlement is a settled visit as stored: the bill (Claim), the result
// and who did what when.
type Settlement struct {
	ID             int64
	County         string
	ResidentID     int64
	InstitutionID  int64
	VisitID        string
	Key            string // idempotency key
	ClaimHash      string
	PolicyID       int64
	Year           int
	DRG            string
	Status         string
	Claim          Claim
	Result         Result
	AccBefore      Accumulators // the patient's year-to-date totals just before this visit
	Explained      bool         // Result carries its explanation, derived again (Explain)
	CreatedBy      int64
	CreatedAt      time.Time
	ReversedBy     int64
	ReversedAt     time.Time
	ReversalReason string
	ReplacedBy     int64
	Adjustments    []Adjustment // re-settlements after an earlier visit changed (Get fills them)
}

// SettlementFilter selects settlements for lists and reports.
type SettlementFilter struct {
	County     string
	ResidentID int64
	Status     string
	From, To   care.Date // visit dates, inclusive
	Limit      int
}

// Repository is the storage settlement needs; store.Store implements it.
type Repository interface {
	SavePolicy(ctx context.Context, sp *StoredPolicy, ev audit.Event) error
	Policies(ctx context.Context, county string) ([]StoredPolicy, error)
	// PolicyFor returns the newest version in force on day; ENOTFOUND if none.
	PolicyFor(ctx context.Context, county string, day care.Date) (*StoredPolicy, error)
	// PolicyIDFor is PolicyFor's id only (policies are cached by id).
	PolicyIDFor(ctx context.Context, county string, day care.Date) (int64, error)
	SettlementPolicy(ctx context.Context, id int64) (*StoredPolicy, error)
	// SettleTx stores a settlement in one transaction: an existing
	// idempotency key replays (same claim) or is ECONFLICT (another claim);
	// replace, if not 0, is reversed first; compute runs on the
	// accumulators just before the visit in date order; a live settlement
	// of the same visit is ECONFLICT. The visits of the person-year that
	// follow it in date order (visit date, then id) — and, for a
	// correction, those that followed the corrected one — are settled
	// again with recompute in the same transaction, each change written
	// with an Adjustment, so the books are what settling the year's bills
	// in date order gives (what Resettler computes).
	// p.Replay is set when the key found an existing settlement (p.Settlement is then that one).
	SettleTx(ctx context.Context, p *Pending, replace int64) error
	// ReverseSettlement reverses a settlement and settles the visits that
	// follow it in the person-year again (recompute), in one transaction.
	ReverseSettlement(ctx context.Context, county string, id, by int64, reason string, recompute Recompute, ev audit.Event) (*Settlement, error)
	// CertRepository keeps chronic special-outpatient certifications.
	CertRepository
	// Adjustments lists what re-settlements changed on settlement id, oldest first.
	Adjustments(ctx context.Context, county string, id int64) ([]Adjustment, error)
	Settlement(ctx context.Context, id int64) (*Settlement, error)
	Settlements(ctx context.Context, f SettlementFilter) ([]Settlement, error)
	SettleAccumulators(ctx context.Context, county string, residentID int64, year int) (Accumulators, error)
}

// Residents reads residents with the actor's scope and audit.
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// Orgs gives the organisation tree.
type Orgs interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service is one-stop settlement for the insurance office (医保经办):
// policies, settling, reversing and re-settling visits, and the patient's
// view of their own settlements. Every call is scoped and audited.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      Orgs
	Audit     audit.Recorder
	Now       func() time.Time

	policies sync.Map // policy id → *StoredPolicy
}

// Audit actions of settlement.
const (
	ActPolicySave = "settle.policy"
	ActSettle     = "settle.settle"
	ActReverse    = "settle.reverse"
	ActRead       = "settle.read"
	ActPreview    = "settle.preview"
)

// UploadPolicy files a new policy version for the actor's county: the
// version is the next for its year; nothing is overwritten.
// Errors: EINVALID (policy faults, another county).
func (s *Service) UploadPolicy(ctx context.Context, a care.Actor, body []byte) (*StoredPolicy, error) {
	p, err := ParsePolicy(body)
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*PolicyError); ok {
			msg = strings.Join(pe.Faults, "; ")
		}
		return nil, &care.Error{Code: care.EINVALID, Key: "settle.policy_invalid", Args: []any{clip(msg, 500)},
			Fields: []care.FieldError{{Field: "policy", Key: "settle.policy_invalid", Args: []any{clip(msg, 500)}}}}
	}
	if p.County != a.CountyCode {
		return nil, care.Invalid([]care.FieldError{{Field: "policy", Key: "settle.policy_other_county", Args: []any{p.County}}})
	}
	existing, err := s.Repo.Policies(ctx, p.County)
	if err != nil {
		return nil, err
	}
	p.Version = 1
	for _, e := range existing {
		if e.Year == p.Year && e.Version >= p.Version {
			p.Version = e.Version + 1
		}
	}
	from, _ := care.ParseDate(p.EffectiveFrom)
	to, _ := care.ParseDate(p.EffectiveTo)
	sp := &StoredPolicy{County: p.County, Year: p.Year, Version: p.Version, Name: p.Name, From: from, To: to, Body: body, Policy: p, CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActPolicySave, 0)
	ev.Detail = fmt.Sprintf("policy %s %d v%d", p.County, p.Year, p.Version)
	return sp, s.Repo.SavePolicy(ctx, sp, ev)
}

// Input is what the one-stop window enters for a visit.
type Input struct {
	ResidentID      int64
	InstitutionID   int64
	VisitID         string
	Date            string
	VisitType       string
	ChronicCategory string
	Referred        bool
	Insured         bool
	DRG             string
	Lines           []Line
}

// claim builds the engine's claim: the level from the institution, the
// poverty category from the resident's record as it is today.
func (s *Service) claim(ctx context.Context, a care.Actor, in Input) (*resident.Resident, *Claim, error) {
	var fs []care.FieldError
	in.VisitID = strings.TrimSpace(in.VisitID)
	if in.VisitID == "" || utf8.RuneCountInString(in.VisitID) > 40 || strings.ContainsAny(in.VisitID, "<>\"' ") {
		fs = append(fs, care.FieldError{Field: "visit_id", Key: "settle.visit_id_invalid"})
	}
	if len(in.DRG) > 20 {
		fs = append(fs, care.FieldError{Field: "drg", Key: "field.too_long", Args: []any{20}})
	}
	r, err := s.Residents.Get(ctx, a, in.ResidentID)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	level := ""
	inst := t.Get(in.InstitutionID)
	switch {
	case inst == nil || inst.Level == org.LevelNone:
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "settle.institution_invalid"})
	case inst.CountyCode != r.CountyCode || inst.Level == org.LevelCity || inst.Level == org.LevelProvince || inst.Level == org.LevelNational:
		level = OutOfCounty
	default:
		level = string(inst.Level)
	}
	if err := care.Invalid(fs); err != nil {
		return nil, nil, err
	}
	return r, &Claim{VisitID: in.VisitID, Date: in.Date, VisitType: in.VisitType, ChronicCategory: in.ChronicCategory, Level: level,
		Referred: in.Referred, Poverty: string(r.Poverty), Insured: in.Insured, Lines: in.Lines}, nil
}

// claimError turns an engine fault into a care error for the user.
func claimError(err error) error {
	if ce, ok := err.(*ClaimError); ok {
		return &care.Error{Code: care.EINVALID, Key: ce.Key, Args: ce.Args, Fields: []care.FieldError{{Field: ce.Field, Key: ce.Key, Args: ce.Args}}}
	}
	return err
}

func (s *Service) policyFor(ctx context.Context, county, date string) (*StoredPolicy, error) {
	day, err := care.ParseDate(date)
	if err != nil {
		return nil, care.Invalid([]care.FieldError{{Field: "date", Key: "settle.date_invalid", Args: []any{date}}})
	}
	id, err := s.Repo.PolicyIDFor(ctx, county, day)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Invalid([]care.FieldError{{Field: "date", Key: "settle.no_policy", Args: []any{date}}})
	}
	if err != nil {
		return nil, err
	}
	return s.policy(ctx, id)
}

// Preview settles a visit without writing anything (the cashier's check
// before confirming). Errors: EINVALID, ENOTFOUND.
func (s *Service) Preview(ctx context.Context, a care.Actor, in Input) (*Result, *Claim, error) {
	r, c, err := s.claim(ctx, a, in)
	if err != nil {
		return nil, nil, err
	}
	sp, err := s.policyFor(ctx, r.CountyCode, c.Date)
	if err != nil {
		return nil, nil, err
	}
	acc, err := s.Repo.SettleAccumulators(ctx, r.CountyCode, r.ID, sp.Year)
	if err != nil {
		return nil, nil, err
	}
	res, err := Settle(sp.Policy, c, &acc)
	if err != nil {
		return nil, nil, claimError(err)
	}
	ev := audit.New(ctx, a, ActPreview, r.ID)
	ev.CountyCode, ev.Detail = r.CountyCode, "visit "+c.VisitID
	s.Audit.Record(ctx, ev)
	return res, c, nil
}

// Pending is a settlement checked and ready to be written, by SettleTx
// or inside another transaction of the store (pharmacy dispensing pays
// and takes the drugs in one transaction: docs/pharmacy.md).
type Pending struct {
	Settlement *Settlement // the visit; after the write, the stored settlement
	Compute    func(acc Accumulators) (*Result, error)
	Recompute  Recompute // settles the later visits of the person-year again
	Event      audit.Event
	// NextKey, if set, gives the key to settle under when Key finds a
	// reversed settlement (a refunded attempt is not reused).
	NextKey func(reversedID int64) string
	Replay  bool // set by the store: Key found an existing settlement
}

// Prepare checks a visit's bill and prices it under the policy in force
// on its date, without writing anything. Errors: EINVALID, ENOTFOUND.
func (s *Service) Prepare(ctx context.Context, a care.Actor, in Input, key string) (*Pending, error) {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > 100 {
		return nil, care.Invalid([]care.FieldError{{Field: "idempotency_key", Key: "settle.key_required"}})
	}
	r, c, err := s.claim(ctx, a, in)
	if err != nil {
		return nil, err
	}
	sp, err := s.policyFor(ctx, r.CountyCode, c.Date)
	if err != nil {
		return nil, err
	}
	if err := sp.Policy.Check(c); err != nil {
		return nil, claimError(err)
	}
	p := &Pending{Recompute: s.recompute(ctx)}
	p.Settlement = &Settlement{County: r.CountyCode, ResidentID: r.ID, InstitutionID: in.InstitutionID, VisitID: c.VisitID, Key: key,
		ClaimHash: ClaimHash(c), PolicyID: sp.ID, Year: sp.Year, DRG: strings.TrimSpace(in.DRG), Status: StatusSettled, Claim: *c, CreatedBy: a.AccountID}
	p.Event = audit.New(ctx, a, ActSettle, r.ID)
	p.Event.CountyCode = r.CountyCode
	p.Compute = func(acc Accumulators) (*Result, error) {
		res, err := Settle(sp.Policy, c, &acc)
		if err != nil {
			return nil, claimError(err)
		}
		p.Event.Detail = fmt.Sprintf("visit %s total %s insurers %s patient %s", c.VisitID, res.Total, res.Insurers, res.Patient)
		return res, nil
	}
	return p, nil
}

// Settle settles a visit once: a retry with the same key returns the
// first settlement (replay true) and pays nothing more; the same key
// with another bill, or a second settlement of a visit already settled,
// is ECONFLICT. replace, if not 0, is a settlement of the same visit
// reversed in the same transaction (a corrected bill).
// Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) Settle(ctx context.Context, a care.Actor, in Input, key string, replace int64) (*Settlement, bool, error) {
	p, err := s.Prepare(ctx, a, in, key)
	if err != nil {
		return nil, false, err
	}
	if replace != 0 {
		old, err := s.Repo.Settlement(ctx, replace)
		if err != nil || old.ResidentID != p.Settlement.ResidentID || old.VisitID != p.Settlement.VisitID {
			return nil, false, care.Invalid([]care.FieldError{{Field: "replace", Key: "settle.replace_other_visit"}})
		}
	}
	if err := s.Repo.SettleTx(ctx, p, replace); err != nil {
		return nil, false, err
	}
	st := p.Settlement
	if p.Replay {
		return st, true, s.Explain(ctx, st)
	}
	st.Explained = true
	return st, false, nil
}

// MinReasonLen is the shortest reason accepted for a reversal.
const MinReasonLen = 2

// Reverse reverses a settlement: the funds' payments are withdrawn and the
// patient's accumulators lose exactly what it added. Errors: EINVALID (no
// reason), ENOTFOUND, ECONFLICT (already reversed; payments received on
// its receivable).
func (s *Service) Reverse(ctx context.Context, a care.Actor, id int64, reason string) (*Settlement, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < MinReasonLen || utf8.RuneCountInString(reason) > 200 {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "settle.reason_required"}})
	}
	st, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActReverse, st.ResidentID)
	ev.CountyCode, ev.Detail = st.County, "visit "+st.VisitID+": "+reason
	return s.Repo.ReverseSettlement(ctx, st.County, id, a.AccountID, reason, s.recompute(ctx), ev)
}

// recompute settles a stored visit again under the policy version it was
// settled under, on the accumulators just before it in date order.
func (s *Service) recompute(ctx context.Context) Recompute {
	return func(st *Settlement, acc Accumulators) (*Result, error) {
		sp, err := s.policy(ctx, st.PolicyID)
		if err != nil {
			return nil, err
		}
		return Settle(sp.Policy, &st.Claim, &acc)
	}
}

// Get returns a settlement the actor may see (its resident in scope) and
// audits the read. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Settlement, error) {
	st, err := s.Repo.Settlement(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Errorf(care.ENOTFOUND, "settle.not_found")
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.Residents.Get(ctx, a, st.ResidentID); err != nil {
		if care.IsCode(err, care.ENOTFOUND) {
			return nil, care.Errorf(care.ENOTFOUND, "settle.not_found")
		}
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, st.ResidentID)
	ev.CountyCode, ev.Detail = st.County, fmt.Sprintf("settlement %d", st.ID)
	s.Audit.Record(ctx, ev)
	if st.Adjustments, err = s.Repo.Adjustments(ctx, st.County, st.ID); err != nil {
		return nil, err
	}
	return st, s.Explain(ctx, st)
}

// Explain fills a stored settlement's explanation: the engine is run
// again on the stored bill, the stored accumulators from before the visit
// and the policy version it was settled under. If the amounts it finds
// differ from the stored ones (an engine change), the stored amounts stand
// and Explained stays false, so a page can say the explanation is missing.
func (s *Service) Explain(ctx context.Context, st *Settlement) error {
	sp, err := s.policy(ctx, st.PolicyID)
	if err != nil {
		return err
	}
	acc := st.AccBefore
	r, err := Settle(sp.Policy, &st.Claim, &acc)
	if err != nil || len(r.Layers) != len(st.Result.Layers) || r.Patient != st.Result.Patient {
		return nil
	}
	for i := range r.Layers {
		if r.Layers[i].Layer != st.Result.Layers[i].Layer || r.Layers[i].Paid != st.Result.Layers[i].Paid {
			return nil
		}
	}
	for i := range st.Result.Layers {
		st.Result.Layers[i].Steps = r.Layers[i].Steps
	}
	st.Explained = true
	return nil
}

// policy returns a stored policy version, parsed once (versions never change).
func (s *Service) policy(ctx context.Context, id int64) (*StoredPolicy, error) {
	if v, ok := s.policies.Load(id); ok {
		return v.(*StoredPolicy), nil
	}
	sp, err := s.Repo.SettlementPolicy(ctx, id)
	if err != nil {
		return nil, err
	}
	s.policies.Store(id, sp)
	return sp, nil
}

// ForResident lists a resident's settlements, newest first.
func (s *Service) ForResident(ctx context.Context, a care.Actor, residentID int64) ([]Settlement, error) {
	r, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	sts, err := s.Repo.Settlements(ctx, SettlementFilter{County: r.CountyCode, ResidentID: r.ID, Limit: 200})
	if err != nil {
		return nil, err
	}
	for i := range sts {
		if err := s.Explain(ctx, &sts[i]); err != nil {
			return nil, err
		}
	}
	return sts, nil
}

// Policies lists the policy versions of the actor's county.
func (s *Service) Policies(ctx context.Context, a care.Actor) ([]StoredPolicy, error) {
	return s.Repo.Policies(ctx, a.CountyCode)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
