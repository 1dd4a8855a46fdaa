package kpi

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"countycare/care"
	"countycare/org"
)

// Budgets are the global budgets of the county's medical communities (医保
// 总额预算: the basic medical insurance fund's yearly budget a close-knit
// medical community is paid under, 总额付费 — 关于推进紧密型县域医疗卫生
// 共同体建设的意见, 2023: 实行医保基金总额付费, 加强监督考核, 结余留用,
// 合理超支分担; policy-rules.md §5 [U: the amounts are the insurance
// office's]), in fen per community and year, read from a versioned JSON
// file (serve --kpi-budgets; docs/dashboard.md):
//
//	{"version": 1,
//	 "budgets": {"<the community's institution code>": {"2026": 1250000000000}}}
//
// They give the dashboard's fund use (settle_fund_use): the fund paid so
// far in the year against the budget, judged against the share of the
// year elapsed.
type Budgets struct {
	byCode map[string]map[int]int64 // community code → year → fen
}

// FundUse is the indicator of the fund use against the global budget,
// judged against the share of the year elapsed (ElapsedBP) instead of a
// target.
const FundUse = "settle_fund_use"

// BudgetsVersion is the file format this code reads.
const BudgetsVersion = 1

type budgetsFile struct {
	Version int                         `json:"version"`
	Budgets map[string]map[string]int64 `json:"budgets"`
}

// LoadBudgets reads a budgets file against the organisation tree. Every
// fault is named with its field (budgets.<code>.<year>): malformed JSON or
// an unknown field, another version, a code that is not a medical
// community of the tree (an unknown community), a year that is not one, an
// amount that is not a positive number of fen, and a year that one
// community has and another lacks (a missing year: the county's figure
// would be a partial sum). Errors are EINVALID; nothing is half-loaded.
func LoadBudgets(r io.Reader, t *org.Tree) (*Budgets, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f budgetsFile
	if err := dec.Decode(&f); err != nil {
		return nil, care.Invalid([]care.FieldError{{Field: "file", Key: "kpi.budgets.syntax", Args: []any{err.Error()}}})
	}
	var fs []care.FieldError
	if f.Version != BudgetsVersion {
		fs = append(fs, care.FieldError{Field: "version", Key: "kpi.budgets.version", Args: []any{f.Version, BudgetsVersion}})
	}
	communities := map[string]bool{}
	for _, in := range t.OfKind(0, org.KindCommunity) {
		if in.Code != "" {
			communities[in.Code] = true
		}
	}
	b := &Budgets{byCode: map[string]map[int]int64{}}
	codes := make([]string, 0, len(f.Budgets))
	for c := range f.Budgets {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	allYears := map[int]string{} // a year → a community that has it
	for _, c := range codes {
		if !communities[c] {
			fs = append(fs, care.FieldError{Field: "budgets." + c, Key: "kpi.budgets.unknown_community", Args: []any{c}})
			continue
		}
		years := map[int]int64{}
		for ys, fen := range f.Budgets[c] {
			field := "budgets." + c + "." + ys
			y, ok := fileYear(ys)
			if !ok {
				fs = append(fs, care.FieldError{Field: field, Key: "kpi.targets.year", Args: []any{ys}})
				continue
			}
			if fen <= 0 {
				fs = append(fs, care.FieldError{Field: field, Key: "kpi.budgets.amount", Args: []any{fen}})
				continue
			}
			years[y] = fen
			if _, ok := allYears[y]; !ok {
				allYears[y] = c
			}
		}
		b.byCode[c] = years
	}
	for _, c := range codes {
		if !communities[c] {
			continue
		}
		for y, other := range allYears {
			if _, ok := b.byCode[c][y]; !ok {
				fs = append(fs, care.FieldError{Field: fmt.Sprintf("budgets.%s.%d", c, y), Key: "kpi.budgets.missing_year", Args: []any{y, other}})
			}
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	return b, nil
}

// Budget returns a community's budget for year in fen; ok is false when
// the file sets none (the page then shows no data for the fund use, never
// a share of nothing).
func (b *Budgets) Budget(code string, year int) (int64, bool) {
	if b == nil {
		return 0, false
	}
	fen, ok := b.byCode[code][year]
	return fen, ok
}

// ElapsedBP is the share of day's year elapsed by the end of day, in basis
// points: the pace the fund use is judged against (a community that has
// used more of its budget than of its year is ahead of its budget).
func ElapsedBP(day care.Date) int {
	jan1 := care.Date{Year: day.Year, Month: 1, Day: 1}.Time()
	days := int(care.Date{Year: day.Year + 1, Month: 1, Day: 1}.Time().Sub(jan1).Hours() / 24)
	done := int(day.Time().Sub(jan1).Hours()/24) + 1
	return (done*10000 + days/2) / days
}
