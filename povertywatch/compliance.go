package povertywatch

import (
	"context"
	"fmt"
	"slices"

	"countycare/audit"
	"countycare/care"
	"countycare/settle"
)

// BottomLineBill is a live bill of a patient in a poverty category, with
// the amounts every layer paid and the policy it was settled under.
type BottomLineBill struct {
	SettlementID int64
	ResidentID   int64
	ResidentName string
	VisitDate    care.Date
	VisitType    string
	Poverty      string
	Total        settle.Fen
	Eligible     settle.Fen
	Paid         settle.Fen // all five layers
	PolicyID     int64
}

// BillCheck is one bill against the bottom line ("985").
type BillCheck struct {
	Applies bool         // the policy's bottom line covers this patient and visit type
	Target  settle.Ratio // the final reimbursement target
	Base    settle.Fen   // what the target is a share of (eligible or total cost)
	Due     settle.Fen   // the least the layers together must have paid
	Reached bool
	OOP     settle.Fen // base less what was paid: what counts toward the yearly cap
}

// CheckBill checks one bill against its policy's bottom line (the "985"
// rule of seed 002 and the reference policy-rules.md: in-patient final
// reimbursement ≥ 90 %, chronic/major outpatient ≥ 80 %, yearly
// out-of-pocket ≤ ¥5,000 — each a policy parameter, settle.BottomLinePolicy).
// The bottom line applies when the policy has one, names the patient's
// poverty category and sets a target for the visit type. The target is
// reached when the layers together paid at least target × base, rounded
// half up to the fen as the engine rounds (settle.Ratio.Of).
func CheckBill(b BottomLineBill, bl *settle.BottomLinePolicy) BillCheck {
	if bl == nil || !slices.Contains(bl.Categories, b.Poverty) {
		return BillCheck{}
	}
	target, ok := bl.Targets[b.VisitType]
	if !ok {
		return BillCheck{}
	}
	base := b.Eligible
	if bl.Base == "total" {
		base = b.Total
	}
	due := target.Of(base)
	return BillCheck{Applies: true, Target: target, Base: base, Due: due, Reached: b.Paid >= due, OOP: max(0, base-b.Paid)}
}

// VisitTypeCompliance is the share of one visit type's bills that reached
// their target.
type VisitTypeCompliance struct {
	VisitType string
	Bills     int
	Reached   int
}

// Share is Reached/Bills in basis points; ok is false with no bills
// ("no data", never 0 %).
func (v VisitTypeCompliance) Share() (settle.Ratio, bool) {
	if v.Bills == 0 {
		return 0, false
	}
	return settle.Ratio(int64(v.Reached) * int64(settle.Full) / int64(v.Bills)), true
}

// Shortfall is a bill whose layers paid less than the bottom line's target.
type Shortfall struct {
	BottomLineBill
	BillCheck
}

// CapBreach is a patient whose out-of-pocket spending on bills the bottom
// line covers went past the policy's yearly cap.
type CapBreach struct {
	ResidentID   int64
	ResidentName string
	Poverty      string
	OOP          settle.Fen
	Cap          settle.Fen
}

// Compliance is the bottom-line compliance report of a county year.
type Compliance struct {
	Year        int
	Checked     int // bills the bottom line applies to
	ByVisitType []VisitTypeCompliance
	Shortfalls  []Shortfall
	CapBreaches []CapBreach
}

// Report builds the compliance report from a year's bills of patients in
// poverty categories and the bottom lines of the policies they were
// settled under (nil: the policy has none). Bills are in resident order.
func Report(year int, bills []BottomLineBill, lines map[int64]*settle.BottomLinePolicy) *Compliance {
	c := &Compliance{Year: year}
	byType := map[string]*VisitTypeCompliance{}
	type acc struct {
		oop  settle.Fen
		cap  settle.Fen
		name string
		pov  string
	}
	perResident := map[int64]*acc{}
	var order []int64
	for _, b := range bills {
		bl := lines[b.PolicyID]
		chk := CheckBill(b, bl)
		if !chk.Applies {
			continue
		}
		c.Checked++
		v := byType[b.VisitType]
		if v == nil {
			v = &VisitTypeCompliance{VisitType: b.VisitType}
			byType[b.VisitType] = v
		}
		v.Bills++
		if chk.Reached {
			v.Reached++
		} else {
			c.Shortfalls = append(c.Shortfalls, Shortfall{b, chk})
		}
		if bl.AnnualOOPCap > 0 {
			a := perResident[b.ResidentID]
			if a == nil {
				a = &acc{name: b.ResidentName, pov: b.Poverty}
				perResident[b.ResidentID] = a
				order = append(order, b.ResidentID)
			}
			a.oop += chk.OOP
			a.cap = bl.AnnualOOPCap
		}
	}
	for _, id := range order {
		if a := perResident[id]; a.oop > a.cap {
			c.CapBreaches = append(c.CapBreaches, CapBreach{ResidentID: id, ResidentName: a.name, Poverty: a.pov, OOP: a.oop, Cap: a.cap})
		}
	}
	for _, vt := range []string{settle.Inpatient, settle.Chronic, settle.Outpatient} {
		if v := byType[vt]; v != nil {
			c.ByVisitType = append(c.ByVisitType, *v)
			delete(byType, vt)
		}
	}
	for _, v := range byType { // a visit type a later policy adds
		c.ByVisitType = append(c.ByVisitType, *v)
	}
	return c
}

// ActCompliance is the audit action of reading the report (it names patients).
const ActCompliance = "povertywatch.bottom_line"

// Compliance returns the actor's county's bottom-line compliance report
// for year. Errors: EFORBIDDEN.
func (s *Service) Compliance(ctx context.Context, a care.Actor, year int) (*Compliance, error) {
	if err := s.check(a); err != nil {
		return nil, err
	}
	bills, err := s.Repo.BottomLineBills(ctx, a.CountyCode, year)
	if err != nil {
		return nil, err
	}
	lines := map[int64]*settle.BottomLinePolicy{}
	for _, b := range bills {
		if _, ok := lines[b.PolicyID]; ok {
			continue
		}
		sp, err := s.Repo.SettlementPolicy(ctx, b.PolicyID)
		if err != nil {
			return nil, err
		}
		lines[b.PolicyID] = sp.Policy.BottomLine
	}
	c := Report(year, bills, lines)
	ev := audit.New(ctx, a, ActCompliance, 0)
	ev.Detail = fmt.Sprintf("year %d: %d bills checked, %d below target, %d over the cap", year, c.Checked, len(c.Shortfalls), len(c.CapBreaches))
	s.Audit.Record(ctx, ev)
	return c, nil
}
