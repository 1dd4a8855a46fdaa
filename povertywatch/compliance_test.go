package povertywatch

import (
	"context"
	"strings"
	"testing"

	"countycare/care"
	"countycare/settle"
)

// The "985" bottom line of seed 002 (policy-rules.md): in-patient ≥ 90 %,
// chronic outpatient ≥ 80 %, yearly out-of-pocket ≤ ¥5,000, on the
// policy-range (eligible) cost, for subsistence and extreme-poverty patients.
var nineEightFive = &settle.BottomLinePolicy{Categories: []string{"subsistence", "extreme"},
	Targets: map[string]settle.Ratio{settle.Inpatient: 9000, settle.Chronic: 8000}, AnnualOOPCap: 5000 * settle.Yuan, Base: "eligible"}

func TestCheckBill(t *testing.T) {
	in := BottomLineBill{VisitType: settle.Inpatient, Poverty: "subsistence", Total: 1_200_000, Eligible: 1_000_000}
	for _, tt := range []struct {
		name string
		b    func(b *BottomLineBill)
		bl   *settle.BottomLinePolicy
		want BillCheck
	}{
		{"paid exactly 90 %", func(b *BottomLineBill) { b.Paid = 900_000 }, nineEightFive,
			BillCheck{Applies: true, Target: 9000, Base: 1_000_000, Due: 900_000, Reached: true, OOP: 100_000}},
		{"one fen short", func(b *BottomLineBill) { b.Paid = 899_999 }, nineEightFive,
			BillCheck{Applies: true, Target: 9000, Base: 1_000_000, Due: 900_000, Reached: false, OOP: 100_001}},
		{"paid more than the base", func(b *BottomLineBill) { b.Paid = 1_100_000 }, nineEightFive,
			BillCheck{Applies: true, Target: 9000, Base: 1_000_000, Due: 900_000, Reached: true, OOP: 0}},
		// 90 % of ¥0.05 is 4.5 fen: due 5 fen (half up).
		{"rounding half up", func(b *BottomLineBill) { b.Eligible, b.Paid = 5, 4 }, nineEightFive,
			BillCheck{Applies: true, Target: 9000, Base: 5, Due: 5, Reached: false, OOP: 1}},
		{"chronic at 80 %", func(b *BottomLineBill) { b.VisitType, b.Paid = settle.Chronic, 800_000 }, nineEightFive,
			BillCheck{Applies: true, Target: 8000, Base: 1_000_000, Due: 800_000, Reached: true, OOP: 200_000}},
		{"on the total cost", func(b *BottomLineBill) { b.Paid = 1_080_000 },
			&settle.BottomLinePolicy{Categories: []string{"subsistence"}, Targets: map[string]settle.Ratio{settle.Inpatient: 9000}, Base: "total"},
			BillCheck{Applies: true, Target: 9000, Base: 1_200_000, Due: 1_080_000, Reached: true, OOP: 120_000}},
		{"no target for outpatient", func(b *BottomLineBill) { b.VisitType = settle.Outpatient }, nineEightFive, BillCheck{}},
		{"category not covered", func(b *BottomLineBill) { b.Poverty = "edge" }, nineEightFive, BillCheck{}},
		{"not poor", func(b *BottomLineBill) { b.Poverty = "" }, nineEightFive, BillCheck{}},
		{"policy without a bottom line", func(*BottomLineBill) {}, nil, BillCheck{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := in
			tt.b(&b)
			if got := CheckBill(b, tt.bl); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	bill := func(id, resident int64, vt, pov string, eligible, paid settle.Fen, policy int64) BottomLineBill {
		return BottomLineBill{SettlementID: id, ResidentID: resident, ResidentName: "r", VisitType: vt, Poverty: pov, Eligible: eligible, Total: eligible, Paid: paid, PolicyID: policy}
	}
	bills := []BottomLineBill{
		bill(1, 10, settle.Inpatient, "subsistence", 1_000_000, 900_000, 1),   // reached, oop ¥1,000
		bill(2, 10, settle.Inpatient, "subsistence", 5_000_000, 4_500_000, 1), // reached, oop ¥5,000: ¥6,000 in all, over the cap
		bill(3, 11, settle.Inpatient, "extreme", 1_000_000, 800_000, 1),       // short, oop ¥2,000
		bill(4, 11, settle.Chronic, "extreme", 100_000, 80_000, 1),            // reached, oop ¥200: ¥2,200
		bill(5, 12, settle.Outpatient, "subsistence", 100_000, 0, 1),          // no target: not checked
		bill(6, 13, settle.Inpatient, "subsistence", 1_000_000, 0, 2),         // policy 2 has no bottom line
		bill(7, 14, settle.Inpatient, "subsistence", 5_000_000, 4_500_000, 1), // exactly the cap: no breach
		bill(8, 15, "daycare", "subsistence", 100_000, 100_000, 3),            // a visit type a later policy adds
	}
	later := &settle.BottomLinePolicy{Categories: []string{"subsistence"}, Targets: map[string]settle.Ratio{"daycare": 5000}}
	c := Report(2026, bills, map[int64]*settle.BottomLinePolicy{1: nineEightFive, 2: nil, 3: later})
	if c.Year != 2026 || c.Checked != 6 {
		t.Fatalf("checked %d, want 6", c.Checked)
	}
	want := []VisitTypeCompliance{{settle.Inpatient, 4, 3}, {settle.Chronic, 1, 1}, {"daycare", 1, 1}}
	if len(c.ByVisitType) != len(want) {
		t.Fatalf("by visit type %+v", c.ByVisitType)
	}
	for i := range want {
		if c.ByVisitType[i] != want[i] {
			t.Errorf("visit type %d: %+v, want %+v", i, c.ByVisitType[i], want[i])
		}
	}
	if len(c.Shortfalls) != 1 || c.Shortfalls[0].SettlementID != 3 || c.Shortfalls[0].Due != 900_000 {
		t.Errorf("shortfalls %+v", c.Shortfalls)
	}
	if len(c.CapBreaches) != 1 || c.CapBreaches[0] != (CapBreach{ResidentID: 10, ResidentName: "r", Poverty: "subsistence", OOP: 600_000, Cap: 500_000}) {
		t.Errorf("cap breaches %+v", c.CapBreaches)
	}
	// A policy without a cap breaches nothing.
	c = Report(2026, []BottomLineBill{bill(9, 20, "daycare", "subsistence", 10_000_000, 0, 3)}, map[int64]*settle.BottomLinePolicy{3: later})
	if len(c.CapBreaches) != 0 || len(c.Shortfalls) != 1 {
		t.Errorf("no cap: %+v", c)
	}
	// Outpatient comes after chronic when a policy targets it.
	both := &settle.BottomLinePolicy{Categories: []string{"subsistence"}, Targets: map[string]settle.Ratio{settle.Outpatient: 5000, settle.Chronic: 5000}}
	c = Report(2026, []BottomLineBill{bill(1, 1, settle.Outpatient, "subsistence", 10, 10, 1), bill(2, 1, settle.Chronic, "subsistence", 10, 10, 1)}, map[int64]*settle.BottomLinePolicy{1: both})
	if len(c.ByVisitType) != 2 || c.ByVisitType[0].VisitType != settle.Chronic || c.ByVisitType[1].VisitType != settle.Outpatient {
		t.Errorf("order %+v", c.ByVisitType)
	}
}

func TestVisitTypeShare(t *testing.T) {
	if _, ok := (VisitTypeCompliance{}).Share(); ok {
		t.Error("no bills gave a share")
	}
	for _, tt := range []struct {
		bills, reached int
		want           settle.Ratio
	}{{3, 2, 6666}, {1, 1, 10000}, {4, 0, 0}} {
		if got, ok := (VisitTypeCompliance{Bills: tt.bills, Reached: tt.reached}).Share(); !ok || got != tt.want {
			t.Errorf("%d/%d: %d, want %d", tt.reached, tt.bills, got, tt.want)
		}
	}
}

func TestComplianceService(t *testing.T) {
	s, f, r := newService()
	ctx := context.Background()
	f.policies = map[int64]*settle.StoredPolicy{1: {ID: 1, Policy: &settle.Policy{BottomLine: nineEightFive}}}
	f.bills = []BottomLineBill{
		{SettlementID: 1, ResidentID: 10, VisitType: settle.Inpatient, Poverty: "subsistence", Eligible: 100, Paid: 50, PolicyID: 1},
		{SettlementID: 2, ResidentID: 10, VisitType: settle.Inpatient, Poverty: "subsistence", Eligible: 100, Paid: 90, PolicyID: 1},
	}
	if _, err := s.Compliance(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}, 2026); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("analyst: %v", err)
	}
	c, err := s.Compliance(ctx, officer, 2026)
	if err != nil || c.Checked != 2 || len(c.Shortfalls) != 1 {
		t.Fatalf("%+v %v", c, err)
	}
	if len(r.events) != 1 || r.events[0].Action != ActCompliance || !strings.Contains(r.events[0].Detail, "2 bills checked, 1 below target, 0 over the cap") {
		t.Errorf("audit %+v", r.events)
	}
	// A bill under a policy the store cannot find is an error, not a silent pass.
	f.bills[1].PolicyID = 9
	if _, err := s.Compliance(ctx, officer, 2026); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("missing policy: %v", err)
	}
}
