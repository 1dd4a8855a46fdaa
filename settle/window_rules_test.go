package settle

// Tests of the one-stop window's service (window.go) with an in-memory
// WindowRepository that copies store/settle_more.go (issue 18 §6). Each
// test names its rule: docs/settlement.md "Treat first, pay later
// (先诊疗后付费)" and "Reports", policy-rules.md §5 (no deposit on
// in-county admission, seed 002), docs/architecture.md "Access" and
// "Audit trail".

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/resident"
)

// winRepo is settle.WindowRepository in memory.
type winRepo struct {
	adms     []Admission
	recs     []*Receivable
	pays     []Payment
	rows     map[string][]Totals // SettlementTotals by county
	asked    [2]care.Date        // the last SettlementTotals range
	budgets  map[string]Fen      // county|community|year
	budgetBy int64
	events   svcAudit
	nextID   int64
}

func (r *winRepo) id() int64 { r.nextID++; return r.nextID }

// CreateAdmission: one admission per visit of a county (ECONFLICT).
func (r *winRepo) CreateAdmission(_ context.Context, a *Admission, ev audit.Event) error {
	for _, o := range r.adms {
		if o.County == a.County && o.VisitID == a.VisitID {
			return &care.Error{Code: care.ECONFLICT, Key: "settle.admission_exists", Args: []any{a.VisitID}}
		}
	}
	a.ID, a.Status, a.CreatedAt = r.id(), "admitted", svcNow
	r.adms = append(r.adms, *a)
	r.events.Record(context.Background(), ev)
	return nil
}

func (r *winRepo) Admissions(_ context.Context, county string, openOnly bool, limit int) ([]Admission, error) {
	var out []Admission
	for i := len(r.adms) - 1; i >= 0 && len(out) < limit; i-- {
		if a := r.adms[i]; a.County == county && (!openOnly || a.Status == "admitted") {
			out = append(out, a)
		}
	}
	return out, nil
}

func (r *winRepo) Receivables(_ context.Context, county string, residentID int64, openOnly bool) ([]Receivable, error) {
	var out []Receivable
	for i := len(r.recs) - 1; i >= 0; i-- {
		if x := r.recs[i]; x.County == county && (residentID == 0 || x.ResidentID == residentID) && (!openOnly || x.Status == "open") {
			out = append(out, *x)
		}
	}
	return out, nil
}

func (r *winRepo) Receivable(_ context.Context, id int64) (*Receivable, error) {
	for _, x := range r.recs {
		if x.ID == id {
			cp := *x
			return &cp, nil
		}
	}
	return nil, notFound()
}

// SetInstalments: only an open receivable (ECONFLICT otherwise).
func (r *winRepo) SetInstalments(_ context.Context, id int64, n int, ev audit.Event) error {
	for _, x := range r.recs {
		if x.ID == id && x.Status == "open" {
			x.Instalments = n
			r.events.Record(context.Background(), ev)
			return nil
		}
	}
	return &care.Error{Code: care.ECONFLICT, Key: "settle.receivable_closed"}
}

// RecordPayment: once per key; an open receivable; never more than owed.
func (r *winRepo) RecordPayment(_ context.Context, p *Payment, ev audit.Event) (bool, error) {
	for _, o := range r.pays {
		if o.County == p.County && o.Key == p.Key {
			return true, nil
		}
	}
	for _, x := range r.recs {
		if x.ID != p.ReceivableID || x.County != p.County {
			continue
		}
		if x.Status != "open" {
			return false, &care.Error{Code: care.ECONFLICT, Key: "settle.receivable_closed"}
		}
		if p.Amount > x.Amount-x.Paid {
			return false, care.Invalid([]care.FieldError{{Field: "amount", Key: "settle.payment_too_much", Args: []any{(x.Amount - x.Paid).String()}}})
		}
		p.ID, p.PaidAt = r.id(), svcNow
		r.pays = append(r.pays, *p)
		x.Paid += p.Amount
		if x.Paid == x.Amount {
			x.Status = "paid"
		}
		r.events.Record(context.Background(), ev)
		return false, nil
	}
	return false, notFound()
}

func (r *winRepo) Payments(_ context.Context, receivableID int64) ([]Payment, error) {
	var out []Payment
	for _, p := range r.pays {
		if p.ReceivableID == receivableID {
			out = append(out, p)
		}
	}
	return out, nil
}

func (r *winRepo) SettlementTotals(_ context.Context, county string, from, to care.Date) ([]Totals, error) {
	r.asked = [2]care.Date{from, to}
	var out []Totals
	for _, t := range r.rows[county] {
		if t.Month >= from.String()[:7] && t.Month <= to.String()[:7] {
			out = append(out, t)
		}
	}
	return out, nil
}

func budgetKey(county string, community int64, year int) string {
	return county + "|" + itoa(community) + "|" + itoa(int64(year))
}

func (r *winRepo) SetBudget(_ context.Context, county string, communityID int64, year int, amount Fen, by int64, ev audit.Event) error {
	r.budgets[budgetKey(county, communityID, year)] = amount
	r.budgetBy = by
	r.events.Record(context.Background(), ev)
	return nil
}

func (r *winRepo) Budgets(_ context.Context, county string, year int) (map[int64]Fen, error) {
	out := map[int64]Fen{}
	for _, c := range []int64{2, 4, 32} {
		if a, ok := r.budgets[budgetKey(county, c, year)]; ok {
			out[c] = a
		}
	}
	return out, nil
}

func newWindow() (*Window, *winRepo, *svcAudit) {
	repo := &winRepo{rows: map[string][]Totals{}, budgets: map[string]Fen{}}
	log := &svcAudit{}
	now := func() time.Time { return svcNow }
	rs := &resident.Service{Repo: svcRegistry{}, Orgs: svcOrgs{}, Audit: log, Now: now}
	return &Window{Repo: repo, Residents: rs, Orgs: svcOrgs{}, Now: now}, repo, log
}

// TestAdmitDepositRule pins Window.Admit and NoDepositEligible
// (policy-rules.md §5, seed 002: no deposit on in-county admission for a
// resident in a poverty category; docs/settlement.md "Treat first, pay
// later"): the rule and its reason are recorded with the admission, which
// is audited with the data.
func TestAdmitDepositRule(t *testing.T) {
	w, repo, _ := newWindow()
	today := care.Today(svcNow)
	for _, tt := range []struct {
		resident, inst int64
		ok             bool
		why            string
	}{
		{101, 3, true, "settle.no_deposit.eligible"},
		{101, 10, true, "settle.no_deposit.eligible"},
		{101, 31, false, "settle.no_deposit.out_of_county"}, // another county's township
		{101, 20, false, "settle.no_deposit.out_of_county"}, // city level
		{101, 21, false, "settle.no_deposit.out_of_county"}, // province level
		{101, 22, false, "settle.no_deposit.out_of_county"}, // national level
		{100, 3, false, "settle.no_deposit.not_poor"},
	} {
		visit := "A" + itoa(tt.resident) + "-" + itoa(tt.inst)
		a, err := w.Admit(bg, officerA, tt.resident, tt.inst, " "+visit+" ", today)
		if err != nil || a.NoDeposit != tt.ok || a.Eligibility != tt.why {
			t.Errorf("resident %d at %d: %+v %v, want %v %s", tt.resident, tt.inst, a, err, tt.ok, tt.why)
			continue
		}
		if a.ID == 0 || a.County != countyA || a.ResidentID != tt.resident || a.InstitutionID != tt.inst || a.VisitID != visit || a.AdmittedOn != today || a.CreatedBy != 7 || a.Status != "admitted" {
			t.Errorf("admission %+v", a)
		}
	}
	ev := repo.events.of(ActAdmit)
	if len(ev) != 7 || ev[0].Detail != "visit A101-3 no_deposit=true" || ev[6].Detail != "visit A100-3 no_deposit=false" || ev[0].ResidentID != 101 || ev[0].CountyCode != countyA {
		t.Errorf("admission audit %+v", ev)
	}
	if _, err := w.Admit(bg, officerA, 101, 3, "A101-3", today); ceCode(err) != care.ECONFLICT {
		t.Errorf("the visit admitted twice: %v", err)
	}
	if _, err := w.Admit(bg, officerB, 101, 3, "B1", today); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another county's officer: %v", err)
	}
}

// TestAdmitFieldRules pins Window.Admit's fields: a visit number as for a
// settlement (1–40 characters, no markup or spaces), an institution that
// admits (not a village clinic nor an office), and an admission day from
// 366 days ago up to today; every fault named at once.
func TestAdmitFieldRules(t *testing.T) {
	w, repo, _ := newWindow()
	today := care.Today(svcNow)
	for _, tt := range []struct {
		name  string
		inst  int64
		visit string
		on    care.Date
		want  []string
	}{
		{"today", 3, "A1", today, nil},
		{"366 days ago", 3, "A2", today.AddDays(-366), nil},
		{"367 days ago", 3, "A3", today.AddDays(-367), []string{"admitted_on:settle.admitted_on_invalid"}},
		{"tomorrow", 3, "A4", today.AddDays(1), []string{"admitted_on:settle.admitted_on_invalid"}},
		{"no day", 3, "A5", care.Date{}, []string{"admitted_on:settle.admitted_on_invalid"}},
		{"village clinic", 11, "A6", today, []string{"institution_id:settle.institution_invalid"}},
		{"insurance office", 5, "A7", today, []string{"institution_id:settle.institution_invalid"}},
		{"no such institution", 999, "A8", today, []string{"institution_id:settle.institution_invalid"}},
		{"40 characters", 3, strings.Repeat("号", 40), today, nil},
		{"41 characters", 3, strings.Repeat("号", 41), today, []string{"visit_id:settle.visit_id_invalid"}},
		{"no visit", 3, " ", today, []string{"visit_id:settle.visit_id_invalid"}},
		{"markup", 3, "A<9", today, []string{"visit_id:settle.visit_id_invalid"}},
		{"every fault", 999, "", today.AddDays(1),
			[]string{"visit_id:settle.visit_id_invalid", "institution_id:settle.institution_invalid", "admitted_on:settle.admitted_on_invalid"}},
	} {
		n := len(repo.adms)
		_, err := w.Admit(bg, officerA, 101, tt.inst, tt.visit, tt.on)
		if got := fieldKeys(err); !slices.Equal(got, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
		if tt.want != nil && len(repo.adms) != n {
			t.Errorf("%s: a refused admission was stored", tt.name)
		}
	}
}

// TestNextInstalment pins Receivable.Owed and NextInstalment
// (docs/settlement.md "Treat first, pay later": instalments split the
// balance; never more than is owed): the balance split evenly over the
// instalments, rounded up to the fen; the last one is what is left; no
// plan (0 or 1 instalment) is one payment of everything owed.
func TestNextInstalment(t *testing.T) {
	for _, tt := range []struct {
		amount, paid Fen
		n            int
		owed, next   Fen
	}{
		{1000, 0, 3, 1000, 334},
		{999, 0, 3, 999, 333},
		{1000, 668, 3, 332, 332},
		{1000, 900, 3, 100, 100},
		{1000, 0, 2, 1000, 500},
		{1000, 0, 1, 1000, 1000},
		{1000, 0, 0, 1000, 1000},
		{1000, 400, 0, 600, 600},
		{1000, 1000, 3, 0, 0},
		{1000, 1200, 3, 0, 0}, // paid over (a correction lowered the share): nothing owed
	} {
		r := Receivable{Amount: tt.amount, Paid: tt.paid, Instalments: tt.n}
		if r.Owed() != tt.owed || r.NextInstalment() != tt.next {
			t.Errorf("%d paid %d in %d: owed %d next %d, want %d and %d", tt.amount, tt.paid, tt.n, r.Owed(), r.NextInstalment(), tt.owed, tt.next)
		}
	}
}

func withReceivable(repo *winRepo, resident int64, amount Fen) *Receivable {
	r := &Receivable{ID: repo.id(), County: svcPeople[resident].CountyCode, ResidentID: resident, SettlementID: 50, Amount: amount, Instalments: 1, Status: "open"}
	repo.recs = append(repo.recs, r)
	return r
}

// TestPayRules pins Window.Pay (docs/settlement.md "Treat first, pay
// later": each payment recorded once per key, never more than is owed):
// a positive amount, a known method, a key of 1–100 bytes; the receivable's
// resident in the actor's scope; audited with the data.
func TestPayRules(t *testing.T) {
	w, repo, _ := newWindow()
	rec := withReceivable(repo, 101, 1000)
	for _, tt := range []struct {
		name   string
		amount Fen
		method string
		key    string
		want   []string
	}{
		{"zero", 0, "cash", "k", []string{"amount:settle.payment_positive"}},
		{"negative", -1, "cash", "k", []string{"amount:settle.payment_positive"}},
		{"unknown method", 1, "bitcoin", "k", []string{"method:settle.payment_method"}},
		{"no key", 1, "cash", "  ", []string{"idempotency_key:settle.key_required"}},
		{"101-byte key", 1, "cash", strings.Repeat("k", 101), []string{"idempotency_key:settle.key_required"}},
		{"every fault", 0, "", "", []string{"amount:settle.payment_positive", "method:settle.payment_method", "idempotency_key:settle.key_required"}},
	} {
		if _, _, err := w.Pay(bg, officerA, rec.ID, tt.amount, tt.method, tt.key); !slices.Equal(fieldKeys(err), tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, _, err := w.Pay(bg, officerA, 999, 1, "cash", "k"); ceCode(err) != care.ENOTFOUND {
		t.Errorf("no such receivable: %v", err)
	}
	if _, _, err := w.Pay(bg, officerB, rec.ID, 1, "cash", "k"); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another county's officer: %v", err)
	}
	if _, _, err := w.Pay(bg, resident0, rec.ID, 1, "cash", "k"); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another resident: %v", err)
	}
	if len(repo.pays) != 0 {
		t.Fatal("a refused payment was recorded")
	}
	got, replay, err := w.Pay(bg, officerA, rec.ID, 1, "cash", " k1 ")
	if err != nil || replay || got.Paid != 1 || got.Owed() != 999 || got.Status != "open" {
		t.Fatalf("first payment: %+v replay=%v %v", got, replay, err)
	}
	if p := repo.pays[0]; p.Key != "k1" || p.Method != "cash" || p.RecordedBy != 7 || p.County != countyA || p.ReceivableID != rec.ID {
		t.Errorf("payment %+v", p)
	}
	ev := repo.events.of(ActPayment)
	if len(ev) != 1 || ev[0].Detail != "receivable "+itoa(rec.ID)+" paid 0.01 by cash" || ev[0].ResidentID != 101 || ev[0].CountyCode != countyA {
		t.Errorf("payment audit %+v", ev)
	}
	if got, replay, err := w.Pay(bg, officerA, rec.ID, 1, "cash", "k1"); err != nil || !replay || got.Paid != 1 {
		t.Errorf("retry: %+v replay=%v %v", got, replay, err)
	}
	if _, _, err := w.Pay(bg, officerA, rec.ID, 1000, "wechat", "k2"); !slices.Equal(fieldKeys(err), []string{"amount:settle.payment_too_much"}) {
		t.Errorf("more than owed: %v", err)
	}
	for i, m := range PaymentMethods {
		if _, _, err := w.Pay(bg, officerA, rec.ID, 1, m, "m"+itoa(int64(i))); err != nil {
			t.Errorf("method %s: %v", m, err)
		}
	}
	got, _, err = w.Pay(bg, officerA, rec.ID, 1000-6, "bank", strings.Repeat("k", 100))
	if err != nil || got.Status != "paid" || got.Owed() != 0 {
		t.Errorf("the rest, under a 100-byte key: %+v %v", got, err)
	}
	if _, _, err := w.Pay(bg, officerA, rec.ID, 1, "cash", "k9"); ceCode(err) != care.ECONFLICT {
		t.Errorf("paying a settled balance: %v", err)
	}
	if _, ps, err := w.Payments(bg, officerA, rec.ID); err != nil || len(ps) != 7 {
		t.Errorf("payments: %d %v", len(ps), err)
	}
}

// TestSetInstalmentsRange pins Window.SetInstalments (docs/settlement.md
// "Treat first, pay later": the window agrees instalments, 1–24): an open
// receivable of a resident in scope, audited with the data.
func TestSetInstalmentsRange(t *testing.T) {
	w, repo, _ := newWindow()
	rec := withReceivable(repo, 101, 1000)
	for _, n := range []int{0, -1, MaxInstalments + 1} {
		err := w.SetInstalments(bg, officerA, rec.ID, n)
		if !slices.Equal(fieldKeys(err), []string{"instalments:settle.instalments_range"}) || err.(*care.Error).Fields[0].Args[0] != MaxInstalments {
			t.Errorf("%d instalments: %v", n, err)
		}
	}
	if err := w.SetInstalments(bg, officerA, 999, 2); ceCode(err) != care.ENOTFOUND {
		t.Errorf("no such receivable: %v", err)
	}
	if err := w.SetInstalments(bg, officerB, rec.ID, 2); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another county's officer: %v", err)
	}
	if len(repo.events.events) != 0 {
		t.Fatal("a refused plan was written")
	}
	for _, n := range []int{1, MaxInstalments} {
		if err := w.SetInstalments(bg, officerA, rec.ID, n); err != nil || repo.recs[0].Instalments != n {
			t.Errorf("%d instalments: %v (stored %d)", n, err, repo.recs[0].Instalments)
		}
	}
	ev := repo.events.of(ActInstalment)
	if len(ev) != 2 || ev[1].Detail != "receivable "+itoa(rec.ID)+" in 24 instalments" || ev[1].ResidentID != 101 || ev[1].CountyCode != countyA {
		t.Errorf("instalment audit %+v", ev)
	}
	repo.recs[0].Status = "paid"
	if err := w.SetInstalments(bg, officerA, rec.ID, 2); ceCode(err) != care.ECONFLICT {
		t.Errorf("a closed balance: %v", err)
	}
}

// TestWindowLists pins Window.Admissions, Receivables and Payments: the
// actor's county; a resident's own balances for a resident (someone else's
// are not found); a receivable's payments only for a resident in scope.
func TestWindowLists(t *testing.T) {
	w, repo, _ := newWindow()
	today := care.Today(svcNow)
	a1, _ := w.Admit(bg, officerA, 101, 3, "A1", today)
	if _, err := w.Admit(bg, officerA, 100, 3, "A2", today); err != nil {
		t.Fatal(err)
	}
	repo.adms[0].Status = "settled"
	repo.adms = append(repo.adms, Admission{ID: 99, County: countyB, VisitID: "B1", Status: "admitted"})
	if as, _ := w.Admissions(bg, officerA, false); len(as) != 2 || as[1].ID != a1.ID {
		t.Errorf("county A's admissions: %+v", as)
	}
	if as, _ := w.Admissions(bg, officerA, true); len(as) != 1 || as[0].VisitID != "A2" {
		t.Errorf("county A's open admissions: %+v", as)
	}
	r101 := withReceivable(repo, 101, 1000)
	r100 := withReceivable(repo, 100, 500)
	withReceivable(repo, 300, 700)
	r100b := withReceivable(repo, 100, 200)
	r100b.Status = "paid"
	if rs, err := w.Receivables(bg, officerA, 0, false); err != nil || len(rs) != 3 {
		t.Errorf("county A's receivables: %d %v", len(rs), err)
	}
	if rs, err := w.Receivables(bg, officerA, 0, true); err != nil || len(rs) != 2 {
		t.Errorf("county A's open receivables: %d %v", len(rs), err)
	}
	if rs, err := w.Receivables(bg, resident0, 100, false); err != nil || len(rs) != 2 || rs[0].ID != r100b.ID || rs[1].ID != r100.ID {
		t.Errorf("a resident's own: %+v %v", rs, err)
	}
	if _, err := w.Receivables(bg, resident0, 101, false); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another resident's: %v", err)
	}
	if rs, err := w.Receivables(bg, officerB, 300, true); err != nil || len(rs) != 1 || rs[0].County != countyB {
		t.Errorf("county B's officer, their resident: %+v %v", rs, err)
	}
	if _, _, err := w.Pay(bg, officerA, r101.ID, 10, "cash", "p1"); err != nil {
		t.Fatal(err)
	}
	rec, ps, err := w.Payments(bg, officerA, r101.ID)
	if err != nil || rec.ID != r101.ID || rec.Paid != 10 || len(ps) != 1 || ps[0].Amount != 10 {
		t.Errorf("payments: %+v %+v %v", rec, ps, err)
	}
	if _, _, err := w.Payments(bg, resident0, r101.ID); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another resident's payments: %v", err)
	}
	if _, _, err := w.Payments(bg, officerA, 999); ceCode(err) != care.ENOTFOUND {
		t.Errorf("no such receivable: %v", err)
	}
}

// TestSetBudgetRules pins Window.SetBudget (docs/settlement.md "Reports":
// each community's fund budget, 总额预算): a community of the actor's
// county, a year 2000–2100, a positive amount; audited without a resident.
func TestSetBudgetRules(t *testing.T) {
	w, repo, _ := newWindow()
	for _, tt := range []struct {
		name      string
		community int64
		year      int
		amount    Fen
		want      []string
	}{
		{"a township is not a community", 10, 2026, 100, []string{"community_id:settle.community_invalid"}},
		{"no such community", 999, 2026, 100, []string{"community_id:settle.community_invalid"}},
		{"another county's", 32, 2026, 100, []string{"community_id:settle.community_invalid"}},
		{"1999", 2, 1999, 100, []string{"year:settle.year_invalid"}},
		{"2101", 2, 2101, 100, []string{"year:settle.year_invalid"}},
		{"zero", 2, 2026, 0, []string{"amount:settle.payment_positive"}},
		{"every fault", 999, 1999, -1, []string{"community_id:settle.community_invalid", "year:settle.year_invalid", "amount:settle.payment_positive"}},
	} {
		if err := w.SetBudget(bg, officerA, tt.community, tt.year, tt.amount); !slices.Equal(fieldKeys(err), tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if len(repo.budgets) != 0 {
		t.Fatal("a refused budget was stored")
	}
	for _, year := range []int{2000, 2100, 2026} {
		if err := w.SetBudget(bg, officerA, 2, year, 1); err != nil {
			t.Errorf("year %d: %v", year, err)
		}
	}
	if err := w.SetBudget(bg, officerA, 2, 2026, yuan("1000000")); err != nil || repo.budgets[budgetKey(countyA, 2, 2026)] != yuan("1000000") || repo.budgetBy != 7 {
		t.Errorf("budget: %v %+v", err, repo.budgets)
	}
	ev := repo.events.of(ActBudget)
	if len(ev) != 4 || ev[3].Detail != "community 2 year 2026 budget 1000000.00" || ev[3].ResidentID != 0 || ev[3].AccountID != 7 {
		t.Errorf("budget audit %+v", ev)
	}
}

// TestReportsRules pins Window.Reports (docs/settlement.md "Reports"): a
// year 2000–2100; the reconciliation month defaults to this month and
// falls back to December when it is not a month of the year; the year's
// rows of the actor's county; each community of the county in the budget
// (spent = the basic fund paid at its institutions, projected linearly to
// the year's end from today, or the whole year for a past year); CMI only
// with a weight table.
func TestReportsRules(t *testing.T) {
	w, repo, _ := newWindow()
	for _, y := range []int{1999, 2101} {
		if _, err := w.Reports(bg, analystA, y, ""); !slices.Equal(fieldKeys(err), []string{"year:settle.year_invalid"}) {
			t.Errorf("year %d: %v", y, err)
		}
	}
	for _, y := range []int{2000, 2100} {
		if rep, err := w.Reports(bg, analystA, y, ""); err != nil || rep.Year != y || rep.Month != itoa(int64(y))+"-12" {
			t.Errorf("year %d: %+v %v", y, rep, err)
		}
	}
	repo.rows[countyA] = []Totals{
		{Month: "2026-03", InstitutionID: 3, VisitType: Inpatient, DRG: "GB19", Count: 2, Total: yuan("20000"), Basic: yuan("100000"), Patient: yuan("5000"), Drugs: yuan("5000")},
		{Month: "2026-06", InstitutionID: 10, VisitType: Outpatient, Count: 5, Total: yuan("1000"), Basic: yuan("66000"), Patient: yuan("500")},
		{Month: "2026-06", InstitutionID: 20, VisitType: Inpatient, Count: 1, Total: yuan("9000"), Basic: yuan("4000"), Patient: yuan("5000")}, // no community
	}
	repo.rows[countyB] = []Totals{{Month: "2026-06", InstitutionID: 31, VisitType: Outpatient, Count: 1, Total: yuan("100"), Basic: yuan("50")}}
	repo.budgets[budgetKey(countyA, 2, 2026)] = yuan("400000")

	rep, err := w.Reports(bg, analystA, 2026, "")
	if err != nil || rep.Month != "2026-06" || repo.asked[0].String() != "2026-01-01" || repo.asked[1].String() != "2026-12-31" {
		t.Fatalf("this year: %+v %v (asked %v)", rep, err, repo.asked)
	}
	if len(rep.Reconciled) != 2 || rep.Reconciled[0].InstitutionID != 10 || rep.Indicators.Visits != 8 || len(rep.Claims) == 0 {
		t.Errorf("June: %+v, %d visits", rep.Reconciled, rep.Indicators.Visits)
	}
	// 2026-06-15 is day 166 of 365: 1,660.00 spent at community 2 projects to 3,650.00.
	want := []BudgetLine{
		{CommunityID: 2, Budget: yuan("400000"), Spent: yuan("166000"), Projected: yuan("365000"), Surplus: yuan("35000")},
		{CommunityID: 4},
	}
	if !slices.Equal(rep.Budget, want) {
		t.Errorf("budget %+v, want %+v", rep.Budget, want)
	}
	if rep.Indicators.CMI != 0 || rep.Indicators.UnknownDRGCases != 2 {
		t.Errorf("without a weight table: CMI %v, unknown %d", rep.Indicators.CMI, rep.Indicators.UnknownDRGCases)
	}
	w.Weights = &WeightTable{Weights: map[string]float64{"GB19": 1.5}}
	if rep, _ := w.Reports(bg, analystA, 2026, "2026-03"); rep.Indicators.CMI != 1.5 || rep.Indicators.CasesWithDRG != 2 || rep.Month != "2026-03" ||
		len(rep.Reconciled) != 1 || rep.Reconciled[0].InstitutionID != 3 {
		t.Errorf("March with weights: %+v", rep)
	}
	for _, m := range []string{"2026-3", "2026/03", "2025-03", "2026-03x"} {
		if rep, _ := w.Reports(bg, analystA, 2026, m); rep.Month != "2026-12" || len(rep.Reconciled) != 0 {
			t.Errorf("month %q: %s", m, rep.Month)
		}
	}
	// A past year is projected over all of it: the projection is what was spent.
	repo.rows[countyA] = append(repo.rows[countyA], Totals{Month: "2025-05", InstitutionID: 3, Count: 1, Total: yuan("100"), Basic: yuan("80")})
	rep, _ = w.Reports(bg, analystA, 2025, "")
	if rep.Month != "2025-12" || len(rep.Budget) != 2 || rep.Budget[0].Spent != yuan("80") || rep.Budget[0].Projected != yuan("80") || rep.Budget[0].Budget != 0 {
		t.Errorf("2025: %+v", rep)
	}
	// County B's officer sees county B's rows and communities only.
	rep, _ = w.Reports(bg, officerB, 2026, "2026-06")
	if len(rep.Budget) != 1 || rep.Budget[0].CommunityID != 32 || rep.Budget[0].Spent != yuan("50") || rep.Indicators.Visits != 1 {
		t.Errorf("county B: %+v", rep)
	}
}
