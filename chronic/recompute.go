package chronic

import (
	"context"
	"fmt"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
)

// History is a registration (in any status) with every visit (raw
// readings, oldest first) and the resident's birth date: what a tier and
// the indicators are recomputed from.
type History struct {
	Reg    Registration
	Birth  care.Date
	Visits []Visit
}

// RecomputeTier re-assesses every visit of a history in order with the
// current Config (the classification of each visit depends on the one
// before it) and returns the tier the rules give now, with its reason.
// Stored visit outcomes are the record of what was decided at the time and
// are not rewritten; only the tier (who manages the patient) moves.
func RecomputeTier(h *History, c Config) (Tier, string) {
	r := h.Reg
	r.LastClass = ""
	outcomes := make([]Outcome, 0, len(h.Visits))
	for i := range h.Visits {
		v := &h.Visits[i]
		v.Disease = r.Disease
		v.PriorStrokeMI = v.PriorStrokeMI || r.PriorStrokeMI
		o := Assess(v, &r, h.Birth.AgeOn(v.Date), c)
		outcomes = append(outcomes, o)
		r.LastClass = o.Class
	}
	return TierFor(outcomes, c)
}

// TierUpdate is one registration whose tier moves in a recompute.
type TierUpdate struct {
	RegistrationID int64
	Version        int // the registration's version when read; a newer one is left alone
	Tier           Tier
	Since          care.Date
	Change         TierChange
	Link           *access.CareLink // a red tier: the county hospital's care link
}

// RecomputeRepository is the storage a recompute needs.
type RecomputeRepository interface {
	// ChronicHistories streams every registration of a county with its visits.
	ChronicHistories(ctx context.Context, county string, fn func(*History) error) error
	// ApplyTierUpdates saves tier moves with their hand-offs and links in
	// batches, skipping registrations changed since they were read; it
	// returns how many were applied.
	ApplyTierUpdates(ctx context.Context, us []TierUpdate, ev audit.Event) (int, error)
	// RebuildChronicYears rewrites the per-year follow-up summaries of a
	// county from its visits, in one transaction.
	RebuildChronicYears(ctx context.Context, county string) error
}

// RecomputeSummary reports a recompute.
type RecomputeSummary struct {
	Registrations int
	Visits        int
	Changed       int            // registrations whose tier the rules now put elsewhere
	Applied       int            // of which saved (0 for a dry run)
	Moves         map[string]int // "green→yellow" → count
	Tiers         map[Tier]int
	Indicators    *Report       // the county's indicators for the year to date
	ReadTime      time.Duration // streaming every visit, re-assessing, tallying the year
	IndicatorTime time.Duration // estimates and the report
	ApplyTime     time.Duration // rebuilding the year summaries and saving the moves
}

// Recompute re-derives every active patient's tier from their visits with
// the current Config and recomputes the county's indicators for the year
// to date. With apply it moves the patients whose tier changed, each with
// a hand-off to the level that now manages them (and a care link for the
// county hospital on red), audited as one system action per batch. Run it
// after changing the tier rules or the targets.
func (s *Service) Recompute(ctx context.Context, repo RecomputeRepository, a care.Actor, apply bool) (*RecomputeSummary, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	sum := &RecomputeSummary{Moves: map[string]int{}, Tiers: map[Tier]int{}}
	today := care.Today(s.Now())
	from := care.Date{Year: today.Year, Month: 1, Day: 1}
	// One pass over every visit: the tiers, and the indicators of the year to date.
	tl := &Tally{From: from, To: today, Config: s.Config, UnitsOf: func(c int64) []int64 { return unitsOf(t, c) }}
	var ups []TierUpdate
	start := time.Now()
	err = repo.ChronicHistories(ctx, a.CountyCode, func(h *History) error {
		r := &h.Reg
		if !r.EnrolledOn.After(today) && (r.ClosedOn.IsZero() || !r.ClosedOn.Before(from)) {
			p := PatientPeriod{RegistrationID: r.ID, Disease: r.Disease, ClinicID: r.ClinicID,
				Ended: r.Status == StatusClosed && !r.ClosedOn.IsZero() && !r.ClosedOn.After(today)}
			for i := range h.Visits {
				if v := &h.Visits[i]; !v.Date.Before(from) && !v.Date.After(today) {
					p.AddVisit(v)
				}
			}
			tl.Add(&p)
		}
		if r.Status != StatusActive {
			return nil
		}
		sum.Registrations++
		sum.Visits += len(h.Visits)
		tier, reason := RecomputeTier(h, s.Config)
		sum.Tiers[tier]++
		if tier == r.Tier {
			return nil
		}
		sum.Changed++
		sum.Moves[string(r.Tier)+"→"+string(tier)]++
		to := Responsible(t, r.ClinicID, tier)
		u := TierUpdate{RegistrationID: r.ID, Version: r.Version, Tier: tier, Since: today,
			Change: TierChange{County: r.County, RegistrationID: r.ID, ResidentID: r.ResidentID, From: r.Tier, To: tier,
				Reason: reason, ToInstitution: to}}
		if tier == Red {
			u.Link = &access.CareLink{CountyCode: r.County, ResidentID: r.ResidentID, InstitutionID: to, Kind: LinkKindChronic,
				Reason: string(r.Disease) + " red tier (recompute)", CreatedBy: a.AccountID}
		}
		ups = append(ups, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sum.ReadTime = time.Since(start)
	start = time.Now()
	rep, err := s.finishReport(ctx, t, tl, a.CountyCode, nil, func(int64) bool { return true })
	if err != nil {
		return nil, err
	}
	sum.Indicators, sum.IndicatorTime = rep, time.Since(start)
	if apply {
		start = time.Now()
		if err := repo.RebuildChronicYears(ctx, a.CountyCode); err != nil {
			return sum, err
		}
		sum.ApplyTime = time.Since(start)
	}
	if apply && len(ups) > 0 {
		start = time.Now()
		ev := audit.New(ctx, a, ActRecompute, 0)
		ev.CountyCode = a.CountyCode
		ev.Detail = fmt.Sprintf("tier recompute: %d of %d registrations move", len(ups), sum.Registrations)
		if sum.Applied, err = repo.ApplyTierUpdates(ctx, ups, ev); err != nil {
			return sum, err
		}
		sum.ApplyTime += time.Since(start)
	}
	return sum, nil
}

// ActRecompute is the audit action of a tier recompute batch.
const ActRecompute = "chronic.recompute"
