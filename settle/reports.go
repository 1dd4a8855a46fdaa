package settle

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Totals are settled visits summed by month, institution, visit type and
// DRG group: the input of every report (store.SettlementTotals).
type Totals struct {
	Month         string // YYYY-MM of the visit
	InstitutionID int64
	VisitType     string
	DRG           string
	Count         int
	Total         Fen
	Eligible      Fen
	Basic         Fen
	Critical      Fen
	Assistance    Fen
	Supplementary Fen
	BottomLine    Fen
	Patient       Fen
	Drugs         Fen
	Materials     Fen
}

// Fund returns what one layer paid.
func (t Totals) Fund(layer string) Fen {
	switch layer {
	case LayerBasic:
		return t.Basic
	case LayerCritical:
		return t.Critical
	case LayerAssistance:
		return t.Assistance
	case LayerSupplementary:
		return t.Supplementary
	case LayerBottomLine:
		return t.BottomLine
	}
	return 0
}

// Insurers is what all funds paid together: what the hospital advanced at
// the one-stop window and recovers from the funds (一站式结算, 医院垫付).
func (t Totals) Insurers() Fen {
	return t.Basic + t.Critical + t.Assistance + t.Supplementary + t.BottomLine
}

// FundMonth is one fund's claim for one month (按基金、按月申报).
type FundMonth struct {
	Month  string
	Fund   string
	Visits int
	Amount Fen
}

// ClaimsByFundMonth sums what each fund owes per month, for visits the fund paid on.
func ClaimsByFundMonth(rows []Totals) []FundMonth {
	type k struct{ m, f string }
	sums := map[k]*FundMonth{}
	for _, r := range rows {
		for _, f := range LayerOrder {
			if a := r.Fund(f); a > 0 {
				x := sums[k{r.Month, f}]
				if x == nil {
					x = &FundMonth{Month: r.Month, Fund: f}
					sums[k{r.Month, f}] = x
				}
				x.Amount += a
				x.Visits += r.Count
			}
		}
	}
	out := make([]FundMonth, 0, len(sums))
	for _, v := range sums {
		out = append(out, *v)
	}
	order := map[string]int{}
	for i, l := range LayerOrder {
		order[l] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Month != out[j].Month {
			return out[i].Month < out[j].Month
		}
		return order[out[i].Fund] < order[out[j].Fund]
	})
	return out
}

// Reconciliation is one institution's month: what it advanced to patients
// at the window and what each fund owes it (月度对账).
type Reconciliation struct {
	InstitutionID int64
	Visits        int
	Total         Fen
	Advanced      Fen
	ByFund        map[string]Fen
	Patient       Fen
}

// Reconcile sums the month's settlements per institution.
func Reconcile(rows []Totals, month string) []Reconciliation {
	by := map[int64]*Reconciliation{}
	for _, r := range rows {
		if r.Month != month {
			continue
		}
		x := by[r.InstitutionID]
		if x == nil {
			x = &Reconciliation{InstitutionID: r.InstitutionID, ByFund: map[string]Fen{}}
			by[r.InstitutionID] = x
		}
		x.Visits += r.Count
		x.Total += r.Total
		x.Advanced += r.Insurers()
		x.Patient += r.Patient
		for _, f := range LayerOrder {
			x.ByFund[f] += r.Fund(f)
		}
	}
	out := make([]Reconciliation, 0, len(by))
	for _, v := range by {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstitutionID < out[j].InstitutionID })
	return out
}

// Indicators are the cost indicators of policy-rules.md §6 over a set of visits.
type Indicators struct {
	Visits          int
	Total           Fen
	DrugRatio       Ratio // 药占比 = drug revenue / medical revenue
	MaterialRatio   Ratio // 耗占比 = material revenue / medical revenue
	InpatientCases  int
	CostPerCase     Fen     // mean total per inpatient case
	CasesWithDRG    int     // inpatient cases whose DRG has a weight
	CMI             float64 // Σ RW / cases with a weight (policy-rules.md §6)
	UnknownDRGCases int     // inpatient cases with a DRG missing from the weight table
}

// CostIndicators computes the ratios, cost per case and CMI given a DRG
// weight table (RW by DRG code). Ratios are of all visits' totals (the
// herbal-pieces exclusion of 药占比 is not modelled: items carry no such class).
func CostIndicators(rows []Totals, weights map[string]float64) Indicators {
	var ind Indicators
	var drugs, mats, inpTotal Fen
	var rwSum float64
	for _, r := range rows {
		ind.Visits += r.Count
		ind.Total += r.Total
		drugs += r.Drugs
		mats += r.Materials
		if r.VisitType == Inpatient {
			ind.InpatientCases += r.Count
			inpTotal += r.Total
			if w, ok := weights[r.DRG]; ok && r.DRG != "" {
				ind.CasesWithDRG += r.Count
				rwSum += w * float64(r.Count)
			} else if r.DRG != "" {
				ind.UnknownDRGCases += r.Count
			}
		}
	}
	if ind.Total > 0 {
		ind.DrugRatio = Ratio(roundDiv(int64(drugs)*int64(Full), int64(ind.Total)))
		ind.MaterialRatio = Ratio(roundDiv(int64(mats)*int64(Full), int64(ind.Total)))
	}
	if ind.InpatientCases > 0 {
		ind.CostPerCase = Fen(roundDiv(int64(inpTotal), int64(ind.InpatientCases)))
	}
	if ind.CasesWithDRG > 0 {
		ind.CMI = rwSum / float64(ind.CasesWithDRG)
	}
	return ind
}

// BudgetLine is one community's fund budget for a year (总额预算, 结余留用).
type BudgetLine struct {
	CommunityID int64
	Budget      Fen
	Spent       Fen // basic fund paid for visits at the community's institutions
	Projected   Fen // Spent scaled to the whole year by days elapsed
	Surplus     Fen // Budget − Projected (negative: projected overspend)
}

// Budget projects each community's spending to the year's end: spent ×
// days in year / days elapsed on day (linear, the simple forecast a
// commission reads first).
func Budget(budgets map[int64]Fen, spent map[int64]Fen, year int, day time.Time) []BudgetLine {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	days := int64(end.Sub(start).Hours() / 24)
	elapsed := int64(day.Sub(start).Hours()/24) + 1
	if elapsed < 1 {
		elapsed = 1
	}
	if elapsed > days {
		elapsed = days
	}
	ids := map[int64]bool{}
	for id := range budgets {
		ids[id] = true
	}
	for id := range spent {
		ids[id] = true
	}
	var out []BudgetLine
	for id := range ids {
		b := BudgetLine{CommunityID: id, Budget: budgets[id], Spent: spent[id]}
		b.Projected = Fen(roundDiv(int64(b.Spent)*days, elapsed))
		b.Surplus = b.Budget - b.Projected
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CommunityID < out[j].CommunityID })
	return out
}

// WeightTable is a DRG relative-weight table (RW_g = group mean cost / all
// cases' mean cost; policy-rules.md §6). Grouping is not done here: a bill
// names its DRG.
type WeightTable struct {
	Source  string             `json:"source"`
	Weights map[string]float64 `json:"weights"`
}

// ParseWeights reads a weight table; weights must be positive.
func ParseWeights(b []byte) (*WeightTable, error) {
	var w WeightTable
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("drg weights: %w", err)
	}
	for k, v := range w.Weights {
		if v <= 0 || v > 100 {
			return nil, fmt.Errorf("drg weights: %s has weight %v", k, v)
		}
	}
	return &w, nil
}

// ExampleWeights returns the shipped illustrative DRG weight table.
func ExampleWeights() *WeightTable {
	b, _ := examples.ReadFile("policies/drg-weights-example.json.txt")
	w, err := ParseWeights(b)
	if err != nil {
		panic(err)
	}
	return w
}
