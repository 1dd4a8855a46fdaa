package points

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
	"countycare/resident"
)

// Repository is the storage of the ledger; store.Store implements it.
type Repository interface {
	// AppendPoints adds e with its audit row in one transaction unless an
	// entry with the same (county, resident, rule, event reference)
	// exists; it reports whether e was added.
	AppendPoints(ctx context.Context, e *Entry, ev audit.Event) (bool, error)
	// RedeemPoints adds a negative entry if the balance stays ≥ 0,
	// serialised per resident: EINVALID when the balance is too low,
	// ECONFLICT when the event reference was already used.
	RedeemPoints(ctx context.Context, e *Entry, ev audit.Event) error
	PointsBalance(ctx context.Context, county string, residentID int64) (int64, error)
	// PointsLedger lists a resident's entries, newest first.
	PointsLedger(ctx context.Context, county string, residentID int64, limit int) ([]Entry, error)
}

// Service is the points ledger. Every call checks the resident is in the
// actor's scope (resident.Service) and is audited.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Rules     Rules
	Audit     audit.Recorder
	Now       func() time.Time
}

// Audit actions of the ledger.
const (
	ActAward  = "points.award"
	ActReport = "points.report"
	ActRedeem = "points.redeem"
	ActRead   = "points.read"
)

// Award gives resident residentID the points of rule for the event ref
// (e.g. "chronic_visit:123") on day on. It is idempotent: a second award
// for the same event returns the first one's absence (false) and changes
// nothing. A rule worth 0 points awards nothing. Errors: EINVALID (no
// reference), ENOTFOUND (resident out of scope).
func (s *Service) Award(ctx context.Context, a care.Actor, residentID int64, rule Rule, ref string, on care.Date) (*Entry, bool, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 80 {
		return nil, false, care.Invalid([]care.FieldError{{Field: "event_ref", Key: "points.ref"}})
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, false, err
	}
	e := s.Entry(res.CountyCode, res.ID, rule, ref, on, a.AccountID)
	if e == nil {
		return nil, false, nil
	}
	ev := audit.New(ctx, a, ActAward, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s %s +%d", rule, ref, e.Points)
	ok, err := s.Repo.AppendPoints(ctx, e, ev)
	if err != nil {
		return nil, false, err
	}
	return e, ok, nil
}

// Entry returns the ledger entry rule earns for an event, or nil when the
// rule is worth nothing. Other services (the family doctor service) store
// it in their own transaction so the award and the event commit together.
func (s *Service) Entry(county string, residentID int64, rule Rule, ref string, on care.Date, by int64) *Entry {
	n := s.Rules.For(rule)
	if n <= 0 {
		return nil
	}
	return &Entry{CountyCode: county, ResidentID: residentID, Rule: rule, EventRef: ref, Points: n, On: on, CreatedBy: by}
}

// Report records the resident's own report of a day's steps or reading
// (resident role only, for themself). Once per day per kind: a second
// report is ECONFLICT. Errors: EINVALID, EFORBIDDEN, ECONFLICT.
func (s *Service) Report(ctx context.Context, a care.Actor, rule Rule, steps int, on care.Date) (*Entry, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, a.ResidentID)
	if err != nil {
		return nil, err
	}
	if err := care.Invalid(CheckReport(rule, steps, on, care.Today(s.Now()))); err != nil {
		return nil, err
	}
	e := &Entry{CountyCode: res.CountyCode, ResidentID: res.ID, Rule: rule, EventRef: string(rule) + ":" + on.String(), On: on, CreatedBy: a.AccountID}
	if rule == Steps {
		e.Points, e.Note = s.Rules.ForSteps(steps), fmt.Sprintf("%d", steps)
	} else {
		e.Points = s.Rules.Reading
	}
	ev := audit.New(ctx, a, ActReport, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s %s +%d", rule, on, e.Points)
	ok, err := s.Repo.AppendPoints(ctx, e, ev)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &care.Error{Code: care.ECONFLICT, Key: "points.reported", Args: []any{on.String()},
			Fields: []care.FieldError{{Field: "date", Key: "points.reported", Args: []any{on.String()}}}}
	}
	return e, nil
}

// Redeem spends n points of a resident (at their clinic: village and
// township doctors). ref makes a submitted form idempotent. The balance
// never goes below zero. Errors: EINVALID (n, note, balance too low),
// EFORBIDDEN, ENOTFOUND, ECONFLICT (ref already used).
func (s *Service) Redeem(ctx context.Context, a care.Actor, residentID int64, n int64, ref, note string) (*Entry, error) {
	if !slices.Contains(access.Registrars, a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	if n <= 0 || n > s.Rules.RedeemMax {
		fs = append(fs, care.FieldError{Field: "points", Key: "points.amount", Args: []any{s.Rules.RedeemMax}})
	}
	ref, note = strings.TrimSpace(ref), strings.TrimSpace(note)
	if ref == "" || len(ref) > 60 {
		fs = append(fs, care.FieldError{Field: "event_ref", Key: "points.ref"})
	}
	if note == "" || utf8.RuneCountInString(note) > 100 {
		fs = append(fs, care.FieldError{Field: "note", Key: "points.note"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	e := &Entry{CountyCode: res.CountyCode, ResidentID: res.ID, Rule: Redeem, EventRef: "redeem:" + ref, Points: -n, On: care.Today(s.Now()), Note: note, CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActRedeem, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("redeem %d", n)
	if err := s.Repo.RedeemPoints(ctx, e, ev); err != nil {
		return nil, err
	}
	return e, nil
}

// Account is a resident's points: the exact balance and the latest entries.
type Account struct {
	Balance int64
	Entries []Entry
}

// Ledger returns resident id's balance and latest entries; the read is
// audited. Errors: ENOTFOUND.
func (s *Service) Ledger(ctx context.Context, a care.Actor, residentID int64) (*Account, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	return s.LedgerOf(ctx, a, res)
}

// LedgerOf is Ledger for a resident the caller has already read through
// resident.Service.Get in this request.
func (s *Service) LedgerOf(ctx context.Context, a care.Actor, res *resident.Resident) (*Account, error) {
	b, err := s.Repo.PointsBalance(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	es, err := s.Repo.PointsLedger(ctx, res.CountyCode, res.ID, 50)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("points ledger n=%d", len(es))
	s.Audit.Record(ctx, ev)
	return &Account{Balance: b, Entries: es}, nil
}
