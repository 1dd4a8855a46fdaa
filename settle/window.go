package settle

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// Admission is an inpatient admission at the one-stop window. With
// NoDeposit (先诊疗后付费) the patient pays no deposit and their share at
// discharge becomes a Receivable.
type Admission struct {
	ID            int64
	County        string
	ResidentID    int64
	InstitutionID int64
	VisitID       string
	NoDeposit     bool
	Eligibility   string // why no deposit is needed, or why one is
	Status        string // admitted, settled
	AdmittedOn    care.Date
	CreatedBy     int64
	CreatedAt     time.Time
}

// Receivable is what a treat-first-pay-later patient owes after settlement.
type Receivable struct {
	ID           int64
	County       string
	ResidentID   int64
	SettlementID int64
	Amount       Fen
	Paid         Fen
	Instalments  int
	Status       string // open, paid, cancelled, refund_due
	CreatedAt    time.Time
}

// Owed is what is still to pay.
func (r *Receivable) Owed() Fen { return max(0, r.Amount-r.Paid) }

// NextInstalment is the amount of the next instalment: the rest split
// evenly over the instalments not yet paid, rounded up to the fen.
func (r *Receivable) NextInstalment() Fen {
	if r.Owed() == 0 || r.Instalments <= 1 {
		return r.Owed()
	}
	per := (r.Amount + Fen(r.Instalments) - 1) / Fen(r.Instalments)
	return min(per, r.Owed())
}

// Payment is money received against a receivable.
type Payment struct {
	ID           int64
	County       string
	ReceivableID int64
	Amount       Fen
	Method       string // cash, wechat, alipay, bank, card
	Key          string
	RecordedBy   int64
	PaidAt       time.Time
}

// PaymentMethods are the accepted ways to pay.
var PaymentMethods = []string{"cash", "wechat", "alipay", "bank", "card"}

// WindowRepository is the storage of admissions, receivables and reports.
type WindowRepository interface {
	CreateAdmission(ctx context.Context, a *Admission, ev audit.Event) error
	Admissions(ctx context.Context, county string, openOnly bool, limit int) ([]Admission, error)
	Receivables(ctx context.Context, county string, residentID int64, openOnly bool) ([]Receivable, error)
	Receivable(ctx context.Context, id int64) (*Receivable, error)
	SetInstalments(ctx context.Context, id int64, n int, ev audit.Event) error
	RecordPayment(ctx context.Context, p *Payment, ev audit.Event) (bool, error)
	Payments(ctx context.Context, receivableID int64) ([]Payment, error)
	SettlementTotals(ctx context.Context, county string, from, to care.Date) ([]Totals, error)
	SetBudget(ctx context.Context, county string, communityID int64, year int, amount Fen, by int64, ev audit.Event) error
	Budgets(ctx context.Context, county string, year int) (map[int64]Fen, error)
}

// Window is the one-stop window's work around settlement: treat-first-
// pay-later admissions, receivables and instalments, and the reports of
// the insurance office (claims per fund, reconciliation, cost indicators,
// the community fund budget).
type Window struct {
	Repo      WindowRepository
	Residents Residents
	Orgs      Orgs
	Weights   *WeightTable
	Now       func() time.Time
}

// Audit actions of the window.
const (
	ActAdmit      = "settle.admit"
	ActPayment    = "settle.payment"
	ActInstalment = "settle.instalments"
	ActBudget     = "settle.budget"
)

// NoDepositEligible decides treat-first-pay-later: residents in a poverty
// category admitted in their own county (seed 002, policy-rules.md §5:
// "no deposit on in-county admission"). It returns the reason either way.
func NoDepositEligible(poverty string, inCounty bool) (bool, string) {
	switch {
	case poverty == "":
		return false, "settle.no_deposit.not_poor"
	case !inCounty:
		return false, "settle.no_deposit.out_of_county"
	}
	return true, "settle.no_deposit.eligible"
}

// Admit records an admission; the deposit rule is decided here and shown
// to the cashier. Errors: EINVALID, ENOTFOUND, ECONFLICT (visit admitted).
func (w *Window) Admit(ctx context.Context, a care.Actor, residentID, institutionID int64, visitID string, on care.Date) (*Admission, error) {
	r, err := w.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	t, err := w.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	visitID = strings.TrimSpace(visitID)
	if visitID == "" || utf8.RuneCountInString(visitID) > 40 || strings.ContainsAny(visitID, "<>\"' ") {
		fs = append(fs, care.FieldError{Field: "visit_id", Key: "settle.visit_id_invalid"})
	}
	inst := t.Get(institutionID)
	if inst == nil || inst.Level == org.LevelNone || inst.Level == org.LevelVillage {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "settle.institution_invalid"})
	}
	today := care.Today(w.Now())
	if on.IsZero() || on.After(today) || on.Before(today.AddDays(-366)) {
		fs = append(fs, care.FieldError{Field: "admitted_on", Key: "settle.admitted_on_invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	inCounty := inst.CountyCode == r.CountyCode && inst.Level != org.LevelCity && inst.Level != org.LevelProvince && inst.Level != org.LevelNational
	ok, why := NoDepositEligible(string(r.Poverty), inCounty)
	adm := &Admission{County: r.CountyCode, ResidentID: r.ID, InstitutionID: institutionID, VisitID: visitID, NoDeposit: ok, Eligibility: why, AdmittedOn: on, CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActAdmit, r.ID)
	ev.CountyCode, ev.Detail = r.CountyCode, fmt.Sprintf("visit %s no_deposit=%v", visitID, ok)
	return adm, w.Repo.CreateAdmission(ctx, adm, ev)
}

// Pay records a payment against a receivable the actor may see; a retry
// with the same key records nothing more. Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (w *Window) Pay(ctx context.Context, a care.Actor, receivableID int64, amount Fen, method, key string) (*Receivable, bool, error) {
	rec, err := w.Repo.Receivable(ctx, receivableID)
	if err != nil {
		return nil, false, err
	}
	if _, err := w.Residents.Get(ctx, a, rec.ResidentID); err != nil {
		return nil, false, err
	}
	var fs []care.FieldError
	if amount <= 0 {
		fs = append(fs, care.FieldError{Field: "amount", Key: "settle.payment_positive"})
	}
	if !contains(PaymentMethods, method) {
		fs = append(fs, care.FieldError{Field: "method", Key: "settle.payment_method"})
	}
	if key = strings.TrimSpace(key); key == "" || len(key) > 100 {
		fs = append(fs, care.FieldError{Field: "idempotency_key", Key: "settle.key_required"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, false, err
	}
	ev := audit.New(ctx, a, ActPayment, rec.ResidentID)
	ev.CountyCode, ev.Detail = rec.County, fmt.Sprintf("receivable %d paid %s by %s", rec.ID, amount, method)
	replay, err := w.Repo.RecordPayment(ctx, &Payment{County: rec.County, ReceivableID: rec.ID, Amount: amount, Method: method, Key: key, RecordedBy: a.AccountID}, ev)
	if err != nil {
		return nil, false, err
	}
	rec, err = w.Repo.Receivable(ctx, receivableID)
	return rec, replay, err
}

// MaxInstalments bounds an instalment plan.
const MaxInstalments = 24

// SetInstalments agrees an instalment plan (1–24) for an open receivable.
func (w *Window) SetInstalments(ctx context.Context, a care.Actor, receivableID int64, n int) error {
	if n < 1 || n > MaxInstalments {
		return care.Invalid([]care.FieldError{{Field: "instalments", Key: "settle.instalments_range", Args: []any{MaxInstalments}}})
	}
	rec, err := w.Repo.Receivable(ctx, receivableID)
	if err != nil {
		return err
	}
	if _, err := w.Residents.Get(ctx, a, rec.ResidentID); err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActInstalment, rec.ResidentID)
	ev.CountyCode, ev.Detail = rec.County, fmt.Sprintf("receivable %d in %d instalments", rec.ID, n)
	return w.Repo.SetInstalments(ctx, receivableID, n, ev)
}

// Report is the insurance office's view of a year (or one month of it).
type Report struct {
	Year       int
	Month      string // YYYY-MM for the reconciliation
	Claims     []FundMonth
	Reconciled []Reconciliation
	Indicators Indicators
	Budget     []BudgetLine
}

// Reports builds the year's claims per fund and month, one month's
// reconciliation, the cost indicators and the fund budget for the actor's
// county. They are aggregates: no resident is named, so analysts may read them.
func (w *Window) Reports(ctx context.Context, a care.Actor, year int, month string) (*Report, error) {
	if year < 2000 || year > 2100 {
		return nil, care.Invalid([]care.FieldError{{Field: "year", Key: "settle.year_invalid"}})
	}
	if month == "" {
		month = care.Today(w.Now()).Time().Format("2006-01")
	}
	if len(month) != 7 || month[4] != '-' || month[:4] != fmt.Sprint(year) {
		month = fmt.Sprintf("%d-12", year)
	}
	from, _ := care.MakeDate(year, 1, 1)
	to, _ := care.MakeDate(year, 12, 31)
	rows, err := w.Repo.SettlementTotals(ctx, a.CountyCode, from, to)
	if err != nil {
		return nil, err
	}
	rep := &Report{Year: year, Month: month, Claims: ClaimsByFundMonth(rows), Reconciled: Reconcile(rows, month)}
	weights := map[string]float64{}
	if w.Weights != nil {
		weights = w.Weights.Weights
	}
	rep.Indicators = CostIndicators(rows, weights)
	budgets, err := w.Repo.Budgets(ctx, a.CountyCode, year)
	if err != nil {
		return nil, err
	}
	t, err := w.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	spent := map[int64]Fen{}
	for _, r := range rows {
		if c := t.Community(r.InstitutionID); c != nil {
			spent[c.ID] += r.Basic
		}
	}
	for _, c := range t.OfKind(0, org.KindCommunity) {
		if c.CountyCode == a.CountyCode {
			if _, ok := spent[c.ID]; !ok {
				spent[c.ID] = 0
			}
		}
	}
	day := w.Now()
	if day.Year() != year {
		day = time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	rep.Budget = Budget(budgets, spent, year, day)
	return rep, nil
}

// SetBudget sets a community's global budget for a year (总额预算).
func (w *Window) SetBudget(ctx context.Context, a care.Actor, communityID int64, year int, amount Fen) error {
	t, err := w.Orgs.Tree(ctx)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	if c := t.Get(communityID); c == nil || c.Kind != org.KindCommunity || c.CountyCode != a.CountyCode {
		fs = append(fs, care.FieldError{Field: "community_id", Key: "settle.community_invalid"})
	}
	if year < 2000 || year > 2100 {
		fs = append(fs, care.FieldError{Field: "year", Key: "settle.year_invalid"})
	}
	if amount <= 0 {
		fs = append(fs, care.FieldError{Field: "amount", Key: "settle.payment_positive"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActBudget, 0)
	ev.Detail = fmt.Sprintf("community %d year %d budget %s", communityID, year, amount)
	return w.Repo.SetBudget(ctx, a.CountyCode, communityID, year, amount, a.AccountID, ev)
}

// Admissions lists the county's admissions (open ones first for the window).
func (w *Window) Admissions(ctx context.Context, a care.Actor, openOnly bool) ([]Admission, error) {
	return w.Repo.Admissions(ctx, a.CountyCode, openOnly, 100)
}

// Receivables lists receivables: the county's for the insurance office,
// a resident's own for a resident (residentID must then be their own).
func (w *Window) Receivables(ctx context.Context, a care.Actor, residentID int64, openOnly bool) ([]Receivable, error) {
	county := a.CountyCode
	if residentID != 0 {
		r, err := w.Residents.Get(ctx, a, residentID)
		if err != nil {
			return nil, err
		}
		county = r.CountyCode
	}
	return w.Repo.Receivables(ctx, county, residentID, openOnly)
}

// Payments lists a receivable's payments if the actor may see its resident.
func (w *Window) Payments(ctx context.Context, a care.Actor, receivableID int64) (*Receivable, []Payment, error) {
	rec, err := w.Repo.Receivable(ctx, receivableID)
	if err != nil {
		return nil, nil, err
	}
	if _, err := w.Residents.Get(ctx, a, rec.ResidentID); err != nil {
		return nil, nil, err
	}
	ps, err := w.Repo.Payments(ctx, receivableID)
	return rec, ps, err
}
