package screening

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/org"
	"countycare/resident"
)

// Audit actions.
const (
	ActPlan      = "screening.plan"
	ActMeasure   = "screening.measure"
	ActSuspect   = "screening.suspect"
	ActConfirm   = "screening.confirm"
	ActRuleOut   = "screening.rule_out"
	ActRead      = "screening.read"
	ActFollowUps = "screening.follow_ups"
	ActCoverage  = "screening.coverage"
)

// Repository is the storage of campaigns, measurements and cases;
// store.Store implements it.
type Repository interface {
	// CreateCampaign stores c with ev and sets its ID.
	CreateCampaign(ctx context.Context, c *Campaign, ev audit.Event) error
	// Campaign reads one campaign of a county. Errors: ENOTFOUND.
	Campaign(ctx context.Context, county string, id int64) (*Campaign, error)
	// Campaigns lists a township's campaigns, newest first.
	Campaigns(ctx context.Context, county string, township int64) ([]Campaign, error)
	// RaisedDays counts the other days (not day) on which the resident's
	// blood pressure was raised in the campaign.
	RaisedDays(ctx context.Context, county string, campaignID, residentID int64, day care.Date) (int, error)
	// SaveMeasurement stores m, the new cases and ev in one transaction and
	// sets their IDs. Errors: ECONFLICT screening.measured_today (the
	// resident was measured that day in the campaign), screening.case_pending.
	SaveMeasurement(ctx context.Context, m *Measurement, cases []*Case, ev audit.Event) error
	// CreateCase stores c with ev. Errors: ECONFLICT screening.case_pending.
	CreateCase(ctx context.Context, c *Case, ev audit.Event) error
	// Case reads one case. Errors: ENOTFOUND.
	Case(ctx context.Context, county string, id int64) (*Case, error)
	// PendingCase reads the resident's pending case of d (nil if none).
	PendingCase(ctx context.Context, county string, residentID int64, d chronic.Disease) (*Case, error)
	// CasesOf lists a resident's cases, newest first.
	CasesOf(ctx context.Context, county string, residentID int64) ([]Case, error)
	// MeasurementsOf lists a resident's screening measurements, newest first.
	MeasurementsOf(ctx context.Context, county string, residentID int64) ([]Measurement, error)
	// CloseCase stores c's closing (read at c.Version) with ev. Errors:
	// ECONFLICT screening.stale.
	CloseCase(ctx context.Context, c *Case, ev audit.Event) error
	// PendingCases lists a township's pending cases with the resident's
	// name and phone, the earliest due first.
	PendingCases(ctx context.Context, county string, township int64, limit int) ([]Case, error)
	// CampaignCounts counts a campaign's target, screened, suspected and
	// confirmed residents per village.
	CampaignCounts(ctx context.Context, c *Campaign) ([]Counts, error)
	// ActiveDiseases lists the diseases for which the resident has an
	// active chronic registration.
	ActiveDiseases(ctx context.Context, county string, residentID int64) ([]chronic.Disease, error)
	// Unscreened lists, ascending, the IDs of the campaign's target
	// residents of village (CampaignCounts' Target) not yet measured in it.
	Unscreened(ctx context.Context, c *Campaign, village int64) ([]int64, error)
}

// Residents reads residents within the actor's scope, audited (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// Enroller enrols a resident in a chronic registry (chronic.Service.Enroll).
type Enroller interface {
	Enroll(ctx context.Context, a care.Actor, residentID int64, d chronic.Disease, source string, on care.Date, note string) (*chronic.Registration, error)
}

// Service runs screening campaigns and the confirmation of suspected cases.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Chronic Enroller
	// Atomic runs fn in one database transaction (store.Store.Atomic): a
	// confirmation's enrolment and the case's closing commit together.
	Atomic func(ctx context.Context, fn func(ctx context.Context) error) error
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
}

// Township reports whether a works at a township health center: they plan
// campaigns and confirm or rule out suspected cases.
func Township(a care.Actor) bool { return a.Role == care.RoleTownshipDoctor && a.InstitutionID != 0 }

// Village reports whether a is a village doctor of a clinic: they record
// measurements of their village's residents.
func Village(a care.Actor) bool { return a.Role == care.RoleVillageDoctor && a.InstitutionID != 0 }

// PlanInput is a campaign as typed.
type PlanInput struct {
	Name     string
	Diseases []chronic.Disease
	Villages []int64
	StartsOn care.Date
	EndsOn   care.Date
}

// Plan creates a township's campaign. Errors: EFORBIDDEN (not a township
// doctor), EINVALID (no name or a long one, no disease or one without a
// screening rule, no village or one not a village clinic of the township,
// a period ending before it starts, already over or longer than a year).
// Nothing is stored on an error.
func (s *Service) Plan(ctx context.Context, a care.Actor, in PlanInput) (*Campaign, error) {
	if !Township(a) {
		return nil, s.deny(ctx, a, ActPlan, 0, care.EFORBIDDEN, "error.forbidden")
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 {
		fs = append(fs, care.FieldError{Field: "name", Key: "field.required"})
	} else if n > MaxName {
		fs = append(fs, care.FieldError{Field: "name", Key: "field.too_long", Args: []any{MaxName}})
	}
	ds := dedupe(in.Diseases)
	if len(ds) == 0 {
		fs = append(fs, care.FieldError{Field: "diseases", Key: "screening.diseases_required"})
	}
	for _, d := range ds {
		if !CanScreen(d) {
			fs = append(fs, care.FieldError{Field: "diseases", Key: "screening.disease_no_rule"})
			break
		}
	}
	vs := dedupe(in.Villages)
	if len(vs) == 0 {
		fs = append(fs, care.FieldError{Field: "villages", Key: "screening.villages_required"})
	}
	for _, v := range vs {
		if in := tree.Get(v); in == nil || in.Kind != org.KindVillageClinic || !tree.IsWithin(v, a.InstitutionID) {
			fs = append(fs, care.FieldError{Field: "villages", Key: "screening.village_not_ours"})
			break
		}
	}
	switch {
	case in.StartsOn.IsZero() || in.EndsOn.IsZero():
		fs = append(fs, care.FieldError{Field: "starts_on", Key: "screening.period_required"})
	case in.EndsOn.Before(in.StartsOn):
		fs = append(fs, care.FieldError{Field: "ends_on", Key: "screening.period_order"})
	case in.EndsOn.Before(today):
		fs = append(fs, care.FieldError{Field: "ends_on", Key: "screening.period_over"})
	case in.EndsOn.Time().Sub(in.StartsOn.Time()) > MaxCampaignDays*24*time.Hour:
		fs = append(fs, care.FieldError{Field: "ends_on", Key: "screening.period_long", Args: []any{MaxCampaignDays}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	slices.Sort(vs)
	c := &Campaign{CountyCode: a.CountyCode, TownshipID: a.InstitutionID, Name: in.Name, Diseases: ordered(ds), Villages: vs,
		MinAge: s.Config.MinAge, StartsOn: in.StartsOn, EndsOn: in.EndsOn, CreatedBy: a.AccountID, CreatedAt: s.Now()}
	ev := audit.New(ctx, a, ActPlan, 0)
	ev.CountyCode, ev.Detail = a.CountyCode, fmt.Sprintf("campaign %q, %d villages, %s–%s", c.Name, len(vs), c.StartsOn, c.EndsOn)
	if err := s.Repo.CreateCampaign(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// township returns the township health center above a village clinic
// (the level that manages the yellow tier, chronic.Responsible).
func township(t *org.Tree, village int64) int64 {
	return chronic.Responsible(t, village, chronic.Yellow)
}

// Campaigns lists the campaigns a sees: a township's own, or those of a
// village doctor's township that cover the village. Errors: EFORBIDDEN.
func (s *Service) Campaigns(ctx context.Context, a care.Actor) ([]Campaign, error) {
	tw, err := s.townshipOf(ctx, a)
	if err != nil {
		return nil, err
	}
	cs, err := s.Repo.Campaigns(ctx, a.CountyCode, tw)
	if err != nil || Township(a) {
		return cs, err
	}
	return slices.DeleteFunc(cs, func(c Campaign) bool { return !c.Covers(a.InstitutionID) }), nil
}

// Worklists lists the campaigns open today over the village doctor a's
// village with the residents still to be screened in each, for the
// offline village app (villagesync's pull, which audits the residents it
// sends). Errors: EFORBIDDEN (not a village doctor).
func (s *Service) Worklists(ctx context.Context, a care.Actor) ([]Worklist, error) {
	if !Village(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	cs, err := s.Campaigns(ctx, a)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	var out []Worklist
	for _, c := range cs {
		if !c.Open(today) {
			continue
		}
		ids, err := s.Repo.Unscreened(ctx, &c, a.InstitutionID)
		if err != nil {
			return nil, err
		}
		out = append(out, Worklist{Campaign: c, ToScreen: ids})
	}
	return out, nil
}

func (s *Service) townshipOf(ctx context.Context, a care.Actor) (int64, error) {
	switch {
	case Township(a):
		return a.InstitutionID, nil
	case Village(a):
		tree, err := s.Orgs.Tree(ctx)
		if err != nil {
			return 0, err
		}
		return township(tree, a.InstitutionID), nil
	}
	return 0, care.Errorf(care.EFORBIDDEN, "error.forbidden")
}

// CampaignFor reads a campaign a may see: the township's, or one covering
// the village doctor's village. Errors: EFORBIDDEN, ENOTFOUND (also for a
// campaign out of scope, audited as denied).
func (s *Service) CampaignFor(ctx context.Context, a care.Actor, id int64) (*Campaign, error) {
	if !Township(a) && !Village(a) {
		return nil, s.deny(ctx, a, ActRead, 0, care.EFORBIDDEN, "error.forbidden")
	}
	c, err := s.Repo.Campaign(ctx, a.CountyCode, id)
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	if c == nil || (Township(a) && c.TownshipID != a.InstitutionID) || (Village(a) && !c.Covers(a.InstitutionID)) {
		return nil, s.deny(ctx, a, ActRead, 0, care.ENOTFOUND, "screening.campaign_not_found")
	}
	return c, nil
}

// RecordInput is a measurement as typed (0: not measured).
type RecordInput struct {
	Date        care.Date
	SBP1, DBP1  int
	SBP2, DBP2  int
	Glucose     int // 0.1 mmol/L
	MealHours   int
	CoughDays   int
	Haemoptysis bool
}

// Record stores a village doctor's screening of a resident of their village
// in a campaign, applies the rules of the campaign's diseases (a disease the
// resident is already registered for is not screened) and routes each
// suspected case to the township with its due date. Errors: EFORBIDDEN,
// ENOTFOUND (campaign or resident out of scope, audited), EINVALID
// (impossible values, a date outside the campaign or in the future, a
// resident under the campaign's age or not of its villages, nothing the
// campaign screens for measured, a measurement of a disease it does not
// screen for), ECONFLICT screening.measured_today. Nothing is stored on an
// error.
func (s *Service) Record(ctx context.Context, a care.Actor, campaignID, residentID int64, in RecordInput) (*Measurement, []*Case, error) {
	if !Village(a) {
		return nil, nil, s.deny(ctx, a, ActMeasure, residentID, care.EFORBIDDEN, "error.forbidden")
	}
	c, err := s.CampaignFor(ctx, a, campaignID)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	today := care.Today(s.Now())
	if in.Date.IsZero() {
		in.Date = today
	}
	m := &Measurement{CountyCode: c.CountyCode, CampaignID: c.ID, ResidentID: res.ID, VillageID: res.VillageID, Date: in.Date,
		SBP1: in.SBP1, DBP1: in.DBP1, SBP2: in.SBP2, DBP2: in.DBP2, Glucose: in.Glucose, MealHours: in.MealHours,
		CoughDays: in.CoughDays, Haemoptysis: in.Haemoptysis, By: a.AccountID, CreatedAt: s.Now(), Results: map[chronic.Disease]Result{}}
	fs := checkMeasurement(m)
	switch {
	case in.Date.After(today):
		fs = append(fs, care.FieldError{Field: "date", Key: "screening.date_future"})
	case in.Date.Before(c.StartsOn) || in.Date.After(c.EndsOn):
		fs = append(fs, care.FieldError{Field: "date", Key: "screening.date_outside", Args: []any{c.StartsOn, c.EndsOn}})
	}
	if !c.Covers(res.VillageID) {
		fs = append(fs, care.FieldError{Field: "resident", Key: "screening.resident_not_in_campaign"})
	} else if age := res.Age(in.Date); age < c.MinAge {
		fs = append(fs, care.FieldError{Field: "resident", Key: "screening.resident_young", Args: []any{age, c.MinAge}})
	}
	if res.Status != resident.StatusActive {
		fs = append(fs, care.FieldError{Field: "resident", Key: "screening.resident_not_active"})
	}
	if m.HasBP() && !c.Screens(chronic.Hypertension) {
		fs = append(fs, care.FieldError{Field: "sbp1", Key: "screening.not_screened"})
	}
	if m.Glucose != 0 && !c.Screens(chronic.Diabetes) {
		fs = append(fs, care.FieldError{Field: "glucose", Key: "screening.not_screened"})
	}
	if (m.CoughDays != 0 || m.Haemoptysis) && !c.Screens(chronic.Tuberculosis) {
		fs = append(fs, care.FieldError{Field: "cough_days", Key: "screening.not_screened"})
	}
	if !m.HasBP() && m.Glucose == 0 && !c.Screens(chronic.Tuberculosis) {
		fs = append(fs, care.FieldError{Field: "sbp1", Key: "screening.nothing_measured"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, nil, s.refuse(ctx, a, ActMeasure, res, err)
	}
	registered, err := s.Repo.ActiveDiseases(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, err
	}
	m.BPRaised = BPRaised(m, s.Config)
	for _, d := range c.Diseases {
		var r Result
		switch {
		case slices.Contains(registered, d):
			r = Registered
		case d == chronic.Hypertension && m.HasBP():
			other := 0
			if m.BPRaised {
				if other, err = s.Repo.RaisedDays(ctx, c.CountyCode, c.ID, res.ID, m.Date); err != nil {
					return nil, nil, err
				}
			}
			r = ScreenHypertension(m, other, s.Config)
		case d == chronic.Diabetes:
			r = ScreenDiabetes(m, s.Config)
		case d == chronic.Tuberculosis:
			r = ScreenTuberculosis(m, s.Config)
		}
		if r != "" {
			m.Results[d] = r
		}
	}
	var cases []*Case
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range c.Diseases {
		if m.Results[d] != Suspected {
			continue
		}
		if p, err := s.Repo.PendingCase(ctx, res.CountyCode, res.ID, d); err != nil {
			return nil, nil, err
		} else if p != nil {
			continue // already routed: the township confirms it once
		}
		cases = append(cases, s.newCase(res, township(tree, res.VillageID), d, SourceCampaign, c.ID, m.Date, detail(m, d)))
	}
	ev := audit.New(ctx, a, ActMeasure, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("campaign %d %s: %s", c.ID, m.Date, resultsText(c.Diseases, m.Results))
	if err := s.Repo.SaveMeasurement(ctx, m, cases, ev); err != nil {
		return nil, nil, err
	}
	return m, cases, nil
}

func (s *Service) newCase(res *resident.Resident, tw int64, d chronic.Disease, source string, campaignID int64, on care.Date, detail string) *Case {
	rule := map[chronic.Disease]string{chronic.Hypertension: RuleHypertension, chronic.Diabetes: RuleDiabetes, chronic.Tuberculosis: RuleTuberculosis}[d]
	return &Case{CountyCode: res.CountyCode, ResidentID: res.ID, VillageID: res.VillageID, TownshipID: tw, Disease: d, Source: source,
		CampaignID: campaignID, Rule: rule, Detail: detail, SuspectedOn: on, DueOn: on.AddDays(s.Config.ConfirmDays[d]), Status: CasePending,
		Version: 1, CreatedAt: s.Now()}
}

// detail is the finding behind a suspected case, as the follow-up list shows it.
func detail(m *Measurement, d chronic.Disease) string {
	switch d {
	case chronic.Hypertension:
		sbp, dbp := m.MeanBP()
		return fmt.Sprintf("%d/%d mmHg", sbp, dbp)
	case chronic.Diabetes:
		return fmt.Sprintf("%.1f mmol/L, %d h", float64(m.Glucose)/10, m.MealHours)
	}
	if m.Haemoptysis {
		return fmt.Sprintf("%d d, +", m.CoughDays)
	}
	return fmt.Sprintf("%d d", m.CoughDays)
}

func resultsText(ds []chronic.Disease, rs map[chronic.Disease]Result) string {
	var b []string
	for _, d := range ds {
		if r, ok := rs[d]; ok {
			b = append(b, string(d)+"="+string(r))
		}
	}
	return strings.Join(b, ",")
}

// SuspectInput is a suspected case from another source: the elderly
// check-up, a clinic visit, a health hut's device.
type SuspectInput struct {
	ResidentID int64
	Disease    chronic.Disease
	Source     string    // one of Sources
	Rule       string    // the rule that found it, by name (e.g. RuleHypertension)
	Detail     string    // the finding, as the list shows it (≤ 100 characters)
	On         care.Date // the day found (zero: today)
}

// Suspect routes a suspected case from another source to the resident's
// township for confirmation, due ConfirmDays later. A resident with a
// pending case of the disease keeps it: Suspect returns that one. Errors:
// EFORBIDDEN (not a village or township doctor), ENOTFOUND (resident out
// of scope, audited), EINVALID (a disease without a screening rule, an
// unknown source, no rule, a long detail, a date in the future, a resident
// already registered for the disease). Nothing is stored on an error.
func (s *Service) Suspect(ctx context.Context, a care.Actor, in SuspectInput) (*Case, error) {
	if !Village(a) && !Township(a) {
		return nil, s.deny(ctx, a, ActSuspect, in.ResidentID, care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, in.ResidentID)
	if err != nil {
		return nil, err
	}
	return s.suspect(ctx, a, res, in)
}

// suspect is Suspect of a resident a has read, in scope.
func (s *Service) suspect(ctx context.Context, a care.Actor, res *resident.Resident, in SuspectInput) (*Case, error) {
	today := care.Today(s.Now())
	if in.On.IsZero() {
		in.On = today
	}
	var fs []care.FieldError
	if !CanScreen(in.Disease) {
		fs = append(fs, care.FieldError{Field: "disease", Key: "screening.disease_no_rule"})
	}
	if !slices.Contains(Sources, in.Source) {
		fs = append(fs, care.FieldError{Field: "source", Key: "screening.source_unknown"})
	}
	if strings.TrimSpace(in.Rule) == "" {
		fs = append(fs, care.FieldError{Field: "rule", Key: "field.required"})
	}
	if utf8.RuneCountInString(in.Detail) > 100 || utf8.RuneCountInString(in.Rule) > 60 {
		fs = append(fs, care.FieldError{Field: "detail", Key: "field.too_long", Args: []any{100}})
	}
	if in.On.After(today) {
		fs = append(fs, care.FieldError{Field: "on", Key: "screening.date_future"})
	}
	if len(fs) == 0 {
		registered, err := s.Repo.ActiveDiseases(ctx, res.CountyCode, res.ID)
		if err != nil {
			return nil, err
		}
		if slices.Contains(registered, in.Disease) {
			fs = append(fs, care.FieldError{Field: "disease", Key: "screening.already_registered"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, s.refuse(ctx, a, ActSuspect, res, err)
	}
	if p, err := s.Repo.PendingCase(ctx, res.CountyCode, res.ID, in.Disease); err != nil {
		return nil, err
	} else if p != nil {
		s.audit(ctx, a, ActSuspect, res.ID, fmt.Sprintf("suspected %s from %s: case %d already pending", p.Disease, in.Source, p.ID))
		return p, nil
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	c := s.newCase(res, township(tree, res.VillageID), in.Disease, in.Source, 0, in.On, strings.TrimSpace(in.Detail))
	c.Rule = strings.TrimSpace(in.Rule)
	ev := audit.New(ctx, a, ActSuspect, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("suspected %s from %s by %s, due %s", c.Disease, c.Source, c.Rule, c.DueOn)
	if err := s.Repo.CreateCase(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// caseFor reads a case the township doctor a confirms. Errors: EFORBIDDEN,
// ENOTFOUND (also another township's case, audited as denied).
func (s *Service) caseFor(ctx context.Context, a care.Actor, id int64, act string) (*Case, error) {
	if !Township(a) {
		return nil, s.deny(ctx, a, act, 0, care.EFORBIDDEN, "error.forbidden")
	}
	c, err := s.Repo.Case(ctx, a.CountyCode, id)
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	if c == nil || c.TownshipID != a.InstitutionID {
		return nil, s.deny(ctx, a, act, 0, care.ENOTFOUND, "screening.case_not_found")
	}
	return c, nil
}

// Confirm records the township's diagnosis of a suspected case and enrols
// the resident in the disease's registry (chronic.Service.Enroll, source
// screening) in the same transaction as the case's closing. Errors:
// EFORBIDDEN, ENOTFOUND, ECONFLICT screening.case_closed or
// screening.stale, EINVALID (a date before the suspicion or in the future,
// the enrolment's own faults). Nothing is stored on an error.
func (s *Service) Confirm(ctx context.Context, a care.Actor, caseID int64, on care.Date, note string) (*Case, error) {
	c, err := s.caseFor(ctx, a, caseID, ActConfirm)
	if err != nil {
		return nil, err
	}
	if err := s.closable(c, &on); err != nil {
		return nil, err
	}
	ctx, barrier := audit.WithBarrier(ctx)
	err = s.Atomic(ctx, func(ctx context.Context) error {
		reg, err := s.Chronic.Enroll(ctx, a, c.ResidentID, c.Disease, chronic.SourceScreening, on, note)
		if err != nil {
			return err
		}
		c.Status, c.ClosedOn, c.ClosedBy, c.RegistrationID = CaseConfirmed, on, a.AccountID, reg.ID
		ev := audit.New(ctx, a, ActConfirm, c.ResidentID)
		ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("case %d %s confirmed, registration %d", c.ID, c.Disease, reg.ID)
		return s.Repo.CloseCase(ctx, c, ev)
	})
	if werr := barrier.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RuleOut closes a suspected case as not confirmed, with the reason.
// Errors: EFORBIDDEN, ENOTFOUND, ECONFLICT, EINVALID (no reason or a long
// one, a date before the suspicion or in the future).
func (s *Service) RuleOut(ctx context.Context, a care.Actor, caseID int64, on care.Date, reason string) (*Case, error) {
	c, err := s.caseFor(ctx, a, caseID, ActRuleOut)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if err := s.closable(c, &on); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(reason); n == 0 {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "screening.reason_required"}})
	} else if n > MaxReason {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "field.too_long", Args: []any{MaxReason}}})
	}
	c.Status, c.ClosedOn, c.ClosedBy, c.Reason = CaseRuledOut, on, a.AccountID, reason
	ev := audit.New(ctx, a, ActRuleOut, c.ResidentID)
	ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("case %d %s ruled out", c.ID, c.Disease)
	if err := s.Repo.CloseCase(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) closable(c *Case, on *care.Date) error {
	if c.Status != CasePending {
		return care.Errorf(care.ECONFLICT, "screening.case_closed")
	}
	today := care.Today(s.Now())
	if on.IsZero() {
		*on = today
	}
	if on.After(today) || on.Before(c.SuspectedOn) {
		return care.Invalid([]care.FieldError{{Field: "on", Key: "screening.close_date", Args: []any{c.SuspectedOn}}})
	}
	return nil
}

// FollowUps lists the township's pending confirmations, the earliest due
// (the overdue) first, at most ListMax, audited. Errors: EFORBIDDEN.
func (s *Service) FollowUps(ctx context.Context, a care.Actor) ([]Case, error) {
	if !Township(a) {
		return nil, s.deny(ctx, a, ActFollowUps, 0, care.EFORBIDDEN, "error.forbidden")
	}
	list, err := s.Repo.PendingCases(ctx, a.CountyCode, a.InstitutionID, ListMax)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	late := 0
	for i := range list {
		if list[i].Overdue(today) {
			late++
		}
	}
	s.audit(ctx, a, ActFollowUps, 0, fmt.Sprintf("pending confirmations n=%d, overdue %d", len(list), late))
	return list, nil
}

// OfResident reads a resident through resident.Service (scope checked)
// with their screening measurements and suspected cases, newest first,
// audited. Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) OfResident(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []Measurement, []Case, error) {
	if !Village(a) && !Township(a) {
		return nil, nil, nil, s.deny(ctx, a, ActRead, residentID, care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := s.Repo.MeasurementsOf(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := s.Repo.CasesOf(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	s.audit(ctx, a, ActRead, res.ID, fmt.Sprintf("%d screening measurements, %d cases", len(ms), len(cs)))
	return res, ms, cs, nil
}

// Coverage counts a campaign per village — a village doctor sees their own
// village only — with the campaign's total (VillageID 0), audited. Errors:
// those of CampaignFor.
func (s *Service) Coverage(ctx context.Context, a care.Actor, campaignID int64) (*Campaign, []Counts, Counts, error) {
	c, err := s.CampaignFor(ctx, a, campaignID)
	if err != nil {
		return nil, nil, Counts{}, err
	}
	rows, err := s.Repo.CampaignCounts(ctx, c)
	if err != nil {
		return nil, nil, Counts{}, err
	}
	if Village(a) {
		rows = slices.DeleteFunc(rows, func(r Counts) bool { return r.VillageID != a.InstitutionID })
	}
	var total Counts
	for _, r := range rows {
		total.Add(r)
	}
	s.audit(ctx, a, ActCoverage, 0, fmt.Sprintf("campaign %d coverage, %d villages", c.ID, len(rows)))
	return c, rows, total, nil
}

func (s *Service) audit(ctx context.Context, a care.Actor, act string, residentID int64, detail string) {
	ev := audit.New(ctx, a, act, residentID)
	ev.CountyCode, ev.Detail = a.CountyCode, detail
	s.Audit.Record(ctx, ev)
}

// deny audits a refusal and returns its error.
func (s *Service) deny(ctx context.Context, a care.Actor, act string, residentID int64, code, key string) error {
	ev := audit.New(ctx, a, act, residentID)
	ev.CountyCode, ev.Outcome, ev.Detail = a.CountyCode, audit.OutcomeDenied, key
	s.Audit.Record(ctx, ev)
	return care.Errorf(code, key)
}

// refuse audits an invalid write and returns err.
func (s *Service) refuse(ctx context.Context, a care.Actor, act string, res *resident.Resident, err error) error {
	ev := audit.New(ctx, a, act, res.ID)
	ev.CountyCode, ev.Outcome, ev.Detail = res.CountyCode, audit.OutcomeInvalid, "refused: "+fieldKeys(err)
	s.Audit.Record(ctx, ev)
	return err
}

func fieldKeys(err error) string {
	ce, ok := err.(*care.Error)
	if !ok {
		return err.Error()
	}
	var ks []string
	for _, f := range ce.Fields {
		ks = append(ks, f.Key)
	}
	return strings.Join(ks, ",")
}

func dedupe[T comparable](xs []T) []T {
	var out []T
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// ordered sorts diseases in Screenable's order.
func ordered(ds []chronic.Disease) []chronic.Disease {
	var out []chronic.Disease
	for _, d := range Screenable {
		if slices.Contains(ds, d) {
			out = append(out, d)
		}
	}
	return out
}

// RuleElderlyCheckup names the rule that finds a suspected case at the
// elderly's yearly check-up (elderly.Config.Suspect: BP ≥ 140/90 on the
// higher arm or fasting glucose ≥ 7.0 mmol/L, outside the registry).
const RuleElderlyCheckup = "elderly.Config.Suspect"

// RouteSuspected routes a case found at an elderly check-up of res to the
// resident's township (elderly.Router): Suspect with SourceCheckup, of
// the resident the check-up's writer read already (elderly.Service.Record
// reads res through resident.Service.Get, audited, and checks a manages
// the resident's village), so the resident is not read a second time. A
// pending case of the disease is kept (Suspect's rule), so routing the
// same finding twice adds nothing. Errors: Suspect's.
func (s *Service) RouteSuspected(ctx context.Context, a care.Actor, res *resident.Resident, disease string, on care.Date, detail string) error {
	if !Village(a) && !Township(a) {
		return s.deny(ctx, a, ActSuspect, res.ID, care.EFORBIDDEN, "error.forbidden")
	}
	_, err := s.suspect(ctx, a, res, SuspectInput{ResidentID: res.ID, Disease: chronic.Disease(disease), Source: SourceCheckup,
		Rule: RuleElderlyCheckup, Detail: detail, On: on})
	return err
}
