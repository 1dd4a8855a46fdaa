package kpi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/family"
	"countycare/org"
	"countycare/referral"
)

// Audit actions of the dashboard.
const (
	ActView       = "kpi.dashboard"    // a dashboard page or trend was read
	ActOutOfScope = "kpi.out_of_scope" // a unit outside the viewer's scope was asked for (answered 404)
	ActExport     = "kpi.export"       // a dashboard was downloaded as CSV or XLSX
)

// ChronicReports is what Board needs of chronic (chronic.Service).
type ChronicReports interface {
	Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*chronic.Report, error)
}

// FamilyReports is what Board needs of family (family.Service).
type FamilyReports interface {
	// PointIndicators reports the rates of a period ending on day that
	// depend on that day alone, from the figures kept per day.
	PointIndicators(ctx context.Context, a care.Actor, day care.Date) (*family.Report, error)
}

// ReferralReports is what Board needs of referral (referral.Service).
type ReferralReports interface {
	Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*referral.Report, error)
}

// ConsultReports is what Board needs of consult (consult.Service): the
// 10-minute promise per inviting institution.
type ConsultReports interface {
	UnitReport(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]consult.UnitFigures, error)
}

// CriticalReports is what Board needs of critical (critical.Service):
// critical values acknowledged in time per ordering institution.
type CriticalReports interface {
	UnitAcks(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]critical.UnitAck, error)
}

// SettlementSums is what Board needs of the settlements (store.Store):
// the fees of the settled visits per institution that settled them, over
// the days [from, to] (visit dates).
type SettlementSums interface {
	SettlementSums(ctx context.Context, county string, from, to care.Date) (map[int64]Fees, error)
}

// PrescriptionSums is what Board needs of the prescriptions (store.Store):
// the prescriptions signed in [from, to) per prescribing institution.
type PrescriptionSums interface {
	PrescriptionSums(ctx context.Context, county string, from, to time.Time) (map[int64]RxCounts, error)
}

// RxCounts are the counts of one institution's signed prescriptions that
// the prescribing group divides (rx.Status, rx.Classes).
type RxCounts struct {
	Signed int // prescriptions signed
	// Decided: those whose regional review is over (every status but
	// pending); Passed took effect (an automatic pass or a pharmacist's
	// approval, dispensed or not), Returned went back to the prescriber,
	// Rejected were refused.
	Decided, Passed, Returned, Rejected int
	// Classified: those whose monitoring classes are kept (every one signed
	// since migration 0051, older ones once the duty classified them);
	// Antimicrobial and Injection count those of them with such a line.
	Classified, Antimicrobial, Injection int
}

// Fees are the sums, in fen, of settled visits' fees: the whole bill, the
// patient's share after every layer, drugs and medical materials, and the
// basic medical insurance fund's payment (统筹基金, settle.Result.Basic).
type Fees struct{ Total, Patient, Drugs, Materials, Basic int64 }

// Trees gives the organisation tree (org.Service).
type Trees interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service builds dashboards. The capability reports it reads are kept
// where the capability keeps them (chronic: a calendar year or the year to
// date comes from chronic_unit_years; family: the figures a scheduler duty
// keeps per village and day, family_village_days) and are otherwise
// computed from their rows; either way a (scope, period) is
// computed once and kept for CacheTTL, then computed again in the
// background while views are served what was computed (snapshot), so page
// views cost no report at all (docs/dashboard.md).
type Service struct {
	Chronic  ChronicReports
	Family   FamilyReports
	Referral ReferralReports
	Consult  ConsultReports  // nil: the consultation group has no data
	Critical CriticalReports // nil: critical values have no data
	Settle   SettlementSums  // nil: the settlement group has no data
	// CaseMix: the in-patient cases by DRG for the CMI, counted against
	// DRGWeights (the configured relative weights by DRG code; nil or
	// empty, or CaseMix nil: the CMI has no data). casemix.go.
	CaseMix    CaseMixSums
	DRGWeights map[string]float64
	// Prescriptions: nil, the prescribing group has no data.
	Prescriptions PrescriptionSums
	// Turnaround: the reading centers' kept turnaround histograms (nil:
	// the turnaround indicators have no data).
	Turnaround TurnaroundSums
	// Points: the family-doctor points kept per team (nil: the points
	// group has no data).
	Points  TeamPointsSource
	Orgs    Trees
	Targets *Targets
	// Budgets are the communities' global budgets (nil or none for the
	// year: the fund use has no data).
	Budgets *Budgets
	Audit   audit.Recorder
	Now     func() time.Time
	// Kept holds the dashboards the scheduler's duty computes (kept.go);
	// nil: every view's period is computed from the reports.
	Kept KeptStore
	// RecordStore lists the records behind a figure (records.go); nil:
	// no drill-down to records.
	RecordStore RecordSource
	// ChronicRules are the chronic-care rules the figures are counted
	// with (chronic.Service.Config; zero: chronic.DefaultConfig), which
	// say why a patient is not counted.
	ChronicRules chronic.Config
	// ConsultRules are the consultation deadlines the 10-minute promise is
	// judged by (consult.Service.Config; zero: consult.DefaultConfig).
	ConsultRules consult.Config
	// CriticalRules are the critical values' escalation deadlines
	// (critical.Service.Config; zero: critical.DefaultConfig), which say
	// whether a critical value was acknowledged in time.
	CriticalRules critical.Config
	// CacheTTL is how long a computed (scope, period) is served before it
	// is computed again (serve --kpi-cache; 0: DefaultCacheTTL).
	CacheTTL time.Duration

	mu         sync.Mutex
	cache      map[cacheKey]cacheEntry
	refreshing map[cacheKey]bool // periods being computed in the background
}

// DefaultCacheTTL is the cache lifetime when none is configured.
const DefaultCacheTTL = 5 * time.Minute

// maxCached bounds the cache: the oldest entry goes first.
const maxCached = 512

type cacheKey struct {
	county string
	role   care.Role
	root   int64
	period Period
}

type cacheEntry struct {
	snap *snapshot
	at   time.Time
}

// snapshot is every visible unit's rates for one scope and period.
type snapshot struct {
	from, to care.Date
	values   map[int64]map[string]Rate
}

func (sn *snapshot) add(unit int64, id string, r Rate) {
	m := sn.values[unit]
	if m == nil {
		m = map[string]Rate{}
		sn.values[unit] = m
	}
	x := m[id]
	m[id] = Rate{x.Num + r.Num, x.Den + r.Den}
}

// Row is one indicator of a unit: its value, target and light.
type Row struct {
	Indicator Indicator
	Value     Value
	TargetBP  int
	HasTarget bool
	Light     Light
}

// TargetMinutes is the target of a Minutes indicator in minutes.
func (r Row) TargetMinutes() int { return r.TargetBP / 100 }

// Child is a unit one level below, with its rows in the Board's order.
type Child struct {
	Unit *org.Institution
	Rows []Row
}

// Board is one unit's dashboard for a period.
type Board struct {
	Unit     *org.Institution
	Path     []*org.Institution // from the viewer's root down to Unit's parent (breadcrumbs)
	Period   Period
	From, To care.Date
	AmberBP  int
	Rows     []Row
	Children []Child
}

// Village reports whether the board is a village clinic's (the lowest level).
func (b *Board) Village() bool { return b.Unit.Kind == org.KindVillageClinic }

// HasRecords reports whether the board's figure of indicator id links to
// the records behind it (Records).
func (b *Board) HasRecords(id string) bool { return HasRecords(id, b.Unit.Kind) }

// TrendPoint is an indicator's value in one month.
type TrendPoint struct {
	Month Period
	Value Value
}

// dashboardKind reports whether a unit has a dashboard: the county, a
// medical community, a township-level center, a village clinic.
func dashboardKind(k org.Kind) bool {
	switch k {
	case org.KindCounty, org.KindCommunity, org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC, org.KindVillageClinic:
		return true
	}
	return false
}

func township(k org.Kind) bool {
	return k == org.KindSubCenter || k == org.KindCentralHC || k == org.KindTownshipHC
}

// root is the unit a viewer sees the dashboard of, and everything below:
// the county for the health commission's analysts (卫健局), their own
// township center for its staff. Least privilege: no other role has a
// dashboard (EFORBIDDEN).
func root(a care.Actor, t *org.Tree) (*org.Institution, error) {
	switch a.Role {
	case care.RoleAnalyst:
		for _, r := range t.Roots() {
			if r.Kind == org.KindCounty && r.CountyCode == a.CountyCode {
				return r, nil
			}
		}
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	case care.RoleTownshipDoctor:
		if in := t.Get(a.InstitutionID); in != nil && township(in.Kind) {
			return in, nil
		}
	}
	return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
}

// scope resolves the viewer's root and the unit asked for (0: the root).
// A unit that does not exist, has no dashboard or lies outside the
// viewer's scope is ENOTFOUND — the same answer, so that scope reveals
// nothing — and the attempt is audited (ActOutOfScope, denied).
func (s *Service) scope(ctx context.Context, a care.Actor, unitID int64) (*org.Tree, *org.Institution, *org.Institution, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := root(a, t)
	if err != nil {
		return nil, nil, nil, err
	}
	if unitID == 0 {
		return t, r, r, nil
	}
	u := t.Get(unitID)
	if u == nil || !dashboardKind(u.Kind) || !t.IsWithin(unitID, r.ID) {
		ev := audit.New(ctx, a, ActOutOfScope, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("dashboard unit %d outside scope %d", unitID, r.ID)
		s.Audit.Record(ctx, ev)
		return nil, nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return t, r, u, nil
}

// Board returns the dashboard of unit (0: the viewer's root) for period:
// the unit's indicators against the county's targets for the period's
// year, and each unit one level below with the same indicators (the
// drill-down). Errors: EFORBIDDEN (a role without a dashboard), ENOTFOUND
// (a unit out of scope, audited), EINVALID (period), and the reports'.
// The view is audited.
func (s *Service) Board(ctx context.Context, a care.Actor, unitID int64, p Period) (*Board, error) {
	t, r, u, err := s.scope(ctx, a, unitID)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx, a, r.ID, p)
	if err != nil {
		return nil, err
	}
	b := &Board{Unit: u, Path: path(t, r, u), Period: p, From: sn.from, To: sn.to, AmberBP: s.Targets.AmberBP}
	b.Rows = s.rows(sn, u, p.Year)
	for _, c := range t.Children(u.ID) {
		if dashboardKind(c.Kind) {
			b.Children = append(b.Children, Child{Unit: c, Rows: s.rows(sn, c, p.Year)})
		}
	}
	ev := audit.New(ctx, a, ActView, 0)
	ev.Detail = fmt.Sprintf("dashboard unit %d period %s children %d", u.ID, p, len(b.Children))
	s.Audit.Record(ctx, ev)
	return b, nil
}

// Trend returns indicator id's value at unit for each month from January
// of the period's year to its end. Errors as Board, and EINVALID for an
// unknown indicator.
func (s *Service) Trend(ctx context.Context, a care.Actor, unitID int64, id string, p Period) ([]TrendPoint, error) {
	in, err := lookupField(id)
	if err != nil {
		return nil, err
	}
	_, r, u, err := s.scope(ctx, a, unitID)
	if err != nil {
		return nil, err
	}
	var out []TrendPoint
	for _, m := range p.TrendMonths(care.Today(s.Now())) {
		sn, err := s.snapshot(ctx, a, r.ID, m)
		if err != nil {
			return nil, err
		}
		out = append(out, TrendPoint{Month: m, Value: Of(in, sn.values[u.ID][id])})
	}
	ev := audit.New(ctx, a, ActView, 0)
	ev.Detail = fmt.Sprintf("dashboard trend %s unit %d period %s", id, u.ID, p)
	s.Audit.Record(ctx, ev)
	return out, nil
}

// rows evaluates the catalogue at unit u. A village has no referral rows:
// referrals and visit shares are counted per township and above.
func (s *Service) rows(sn *snapshot, u *org.Institution, year int) []Row {
	var out []Row
	for _, in := range Catalogue {
		if u.Kind == org.KindVillageClinic && in.Group == "referral" {
			continue
		}
		row := Row{Indicator: in, Value: Of(in, sn.values[u.ID][in.ID])}
		if in.ID == CMI {
			row.Value.Unweighted = sn.values[u.ID][cmiUnweighted].Num
		}
		if in.ID == FundUse {
			// The pace, not a target: the share of the year elapsed by the
			// period's end (Budgets); green at or under it.
			if row.Value.OK() {
				row.TargetBP, row.HasTarget = ElapsedBP(sn.to), true
				row.Light = Judge(in, row.Value, row.TargetBP, s.Targets.AmberBP)
			}
			out = append(out, row)
			continue
		}
		if t, err := s.Targets.Target(in.ID, year); err == nil {
			row.TargetBP, row.HasTarget = t, true
			row.Light = Judge(in, row.Value, t, s.Targets.AmberBP)
		}
		out = append(out, row)
	}
	return out
}

// snapshot returns the rates of every unit of the viewer's scope for a
// period. Younger than CacheTTL: from the cache. Older, but younger than
// MaxStale: from the cache too, while one computation in the background
// replaces it (stale while revalidate), so that a page view computes only
// when nothing usable is cached — the first view of a (scope, period)
// since start, or after a long quiet spell.
func (s *Service) snapshot(ctx context.Context, a care.Actor, rootID int64, p Period) (*snapshot, error) {
	now := s.Now()
	k := cacheKey{county: a.CountyCode, role: a.Role, root: rootID, period: p}
	ttl := s.CacheTTL
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	s.mu.Lock()
	e, ok := s.cache[k]
	switch age := now.Sub(e.at); {
	case ok && age < ttl:
		s.mu.Unlock()
		return e.snap, nil
	case ok && age < MaxStale*ttl:
		if !s.refreshing[k] {
			if s.refreshing == nil {
				s.refreshing = map[cacheKey]bool{}
			}
			s.refreshing[k] = true
			// The viewer's context without its end: the computation
			// outlives the response (its reads are audited as the viewer's).
			go func(ctx context.Context) {
				sn, err := s.load(ctx, a, rootID, p)
				s.mu.Lock()
				defer s.mu.Unlock()
				delete(s.refreshing, k)
				if err == nil {
					s.put(k, sn, now)
				}
			}(context.WithoutCancel(ctx))
		}
		s.mu.Unlock()
		return e.snap, nil
	}
	s.mu.Unlock()
	sn, err := s.load(ctx, a, rootID, p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(k, sn, now)
	return sn, nil
}

// MaxStale bounds how old (in CacheTTLs) a cached period may be and still
// be served while it is computed again.
const MaxStale = 6

// put caches sn; s.mu is held.
func (s *Service) put(k cacheKey, sn *snapshot, at time.Time) {
	if s.cache == nil {
		s.cache = map[cacheKey]cacheEntry{}
	}
	if _, ok := s.cache[k]; !ok && len(s.cache) >= maxCached {
		var oldest cacheKey
		first := true
		for k, e := range s.cache {
			if first || e.at.Before(s.cache[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(s.cache, oldest)
	}
	s.cache[k] = cacheEntry{snap: sn, at: at}
}

// Invalidate drops every cached period, so that the next view computes
// afresh (after a bulk import or a recompute).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// compute reads the capability reports for the viewer over the period
// and lays their rates out per unit.
func (s *Service) compute(ctx context.Context, a care.Actor, rootID int64, p Period) (*snapshot, error) {
	today := care.Today(s.Now())
	from, to := p.From(), p.To(today)
	if from.After(today) {
		return nil, care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.future"}})
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	sn := &snapshot{from: from, to: to, values: map[int64]map[string]Rate{}}
	cr, err := s.Chronic.Indicators(ctx, a, from, to)
	if err != nil {
		return nil, err
	}
	for _, u := range cr.Units {
		addChronic(sn, u.Unit.ID, u.Cells[chronic.Hypertension], "htn")
		addChronic(sn, u.Unit.ID, u.Cells[chronic.Diabetes], "dm")
	}
	// Family and referral figures are per village and per township: they
	// are summed up the tree, within the viewer's scope only (a township's
	// villages never make a county figure).
	up := func(id int64, f func(unit int64)) { s.upTree(t, rootID, id, f) }
	fr, err := s.Family.PointIndicators(ctx, a, to)
	if err != nil {
		return nil, err
	}
	for v, in := range fr.ByVillage {
		up(v, func(u int64) {
			sn.add(u, "family_coverage", Rate(in.Coverage))
			sn.add(u, "family_key_coverage", Rate(in.KeyCoverage))
			sn.add(u, "family_fulfilment", Rate(in.Fulfilment))
		})
	}
	county := t.Get(rootID) != nil && t.Get(rootID).Kind == org.KindCounty
	if county {
		sn.values[rootID] = mergeFamily(sn.values[rootID], fr.Total)
	}
	rr, err := s.Referral.Indicators(ctx, a, from, to)
	if err != nil {
		return nil, err
	}
	for _, u := range rr.Units {
		add := func(id int64) {
			sn.add(id, "in_county", Rate(u.Ind.InCounty))
			sn.add(id, "primary_share", Rate(u.Ind.Primary))
			sn.add(id, "referral_completion", Rate(u.Ind.Completion))
			sn.add(id, "out_of_county", Rate(u.Ind.OutOfCounty))
		}
		if u.Depth == 0 {
			add(u.Unit.ID) // the county's own figure counts county-level senders too
			continue
		}
		up(u.Unit.ID, add)
	}
	// Consultations and critical values are counted by the institution that
	// asked or ordered, summed up the tree; the county's own figure counts
	// every one of the county once (county-level institutions too).
	byInstitution := func(inst int64, add func(u int64)) {
		if !t.IsWithin(inst, rootID) {
			return
		}
		up(inst, add)
		if county && inst != rootID {
			add(rootID)
		}
	}
	start := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, care.Shanghai)
	end := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, 1)
	if s.Consult != nil {
		cr, err := s.Consult.UnitReport(ctx, a, start, end)
		if err != nil {
			return nil, err
		}
		for inst, f := range cr {
			byInstitution(inst, func(u int64) {
				sn.add(u, "consult_sla", Rate(f.SLA))
				sn.add(u, "consult_escalated", Rate(f.Escalated))
			})
		}
	}
	if s.Critical != nil {
		ca, err := s.Critical.UnitAcks(ctx, a, start, end)
		if err != nil {
			return nil, err
		}
		for inst, f := range ca {
			byInstitution(inst, func(u int64) { sn.add(u, "critical_ack_in_time", Rate{f.InTime, f.Judged}) })
		}
	}
	if s.Settle != nil {
		fs, err := s.Settle.SettlementSums(ctx, a.CountyCode, from, to)
		if err != nil {
			return nil, err
		}
		for inst, f := range fs {
			byInstitution(inst, func(u int64) {
				sn.add(u, "settle_oop_share", Rate{int(f.Patient), int(f.Total)})
				sn.add(u, "settle_drug_share", Rate{int(f.Drugs), int(f.Total)})
				sn.add(u, "settle_material_share", Rate{int(f.Materials), int(f.Total)})
			})
		}
	}
	if err := s.addFundUse(ctx, a, sn, t, rootID, county, to); err != nil {
		return nil, err
	}
	if err := s.addCaseMix(ctx, a, sn, from, to, byInstitution); err != nil {
		return nil, err
	}
	if err := s.addTeamContracts(ctx, a, sn, t, rootID, to); err != nil {
		return nil, err
	}
	if s.Prescriptions != nil {
		ps, err := s.Prescriptions.PrescriptionSums(ctx, a.CountyCode, start, end)
		if err != nil {
			return nil, err
		}
		for inst, c := range ps {
			byInstitution(inst, func(u int64) { addPrescriptions(sn, u, c) })
		}
	}
	return sn, nil
}

// addFundUse adds each medical community's fund use within the viewer's
// scope (settle_fund_use): the basic fund paid for the visits its
// institutions settled from January 1 to the period's end, over the
// community's budget for the year; the county's figure sums its
// communities with a budget. A community without one, and every unit
// below a community, has no figure (the budget is the community's).
func (s *Service) addFundUse(ctx context.Context, a care.Actor, sn *snapshot, t *org.Tree, rootID int64, county bool, to care.Date) error {
	if s.Settle == nil || s.Budgets == nil {
		return nil
	}
	var fs map[int64]Fees
	for _, c := range t.OfKind(rootID, org.KindCommunity) {
		budget, ok := s.Budgets.Budget(c.Code, to.Year)
		if !ok {
			continue
		}
		if fs == nil {
			var err error
			if fs, err = s.Settle.SettlementSums(ctx, a.CountyCode, care.Date{Year: to.Year, Month: 1, Day: 1}, to); err != nil {
				return err
			}
		}
		var paid int64
		for _, inst := range t.Subtree(c.ID) {
			paid += fs[inst].Basic
		}
		r := Rate{int(paid), int(budget)}
		sn.add(c.ID, FundUse, r)
		if county && c.ID != rootID {
			sn.add(rootID, FundUse, r)
		}
	}
	return nil
}

// addPrescriptions adds one institution's prescriptions to unit u: the
// review outcomes over the prescriptions decided, the antibiotic and
// injection rates over the prescriptions classified (Catalogue).
func addPrescriptions(sn *snapshot, u int64, c RxCounts) {
	sn.add(u, "rx_passed", Rate{c.Passed, c.Decided})
	sn.add(u, "rx_returned", Rate{c.Returned, c.Decided})
	sn.add(u, "rx_rejected", Rate{c.Rejected, c.Decided})
	sn.add(u, "rx_antibiotic", Rate{c.Antimicrobial, c.Classified})
	sn.add(u, "rx_injection", Rate{c.Injection, c.Classified})
}

// mergeFamily sets the county's family rates from the report's total.
func mergeFamily(m map[string]Rate, tot family.Indicators) map[string]Rate {
	if m == nil {
		m = map[string]Rate{}
	}
	m["family_coverage"], m["family_key_coverage"], m["family_fulfilment"] = Rate(tot.Coverage), Rate(tot.KeyCoverage), Rate(tot.Fulfilment)
	return m
}

func addChronic(sn *snapshot, unit int64, c chronic.Indicators, prefix string) {
	sn.add(unit, prefix+"_standardised", Rate(c.Standardised))
	sn.add(unit, prefix+"_controlled", Rate(c.Controlled))
	sn.add(unit, prefix+"_health_managed", Rate(c.HealthManaged))
}

// upTree calls f with unit id and each of its ancestors with a dashboard
// within the viewer's scope (rootID), the county excepted (whose figure
// counts every institution of the county once): a figure summed up the tree.
func (s *Service) upTree(t *org.Tree, rootID, id int64, f func(unit int64)) {
	f(id)
	anc := t.Ancestors(id) // from the tree's root down: walk it nearest first
	for i := len(anc) - 1; i >= 0; i-- {
		an := anc[i]
		if !t.IsWithin(an.ID, rootID) {
			return
		}
		if dashboardKind(an.Kind) && an.Kind != org.KindCounty {
			f(an.ID)
		}
	}
}
