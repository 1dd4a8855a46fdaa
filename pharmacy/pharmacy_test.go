package pharmacy

import (
	"slices"
	"testing"

	"countycare/care"
	"countycare/rx"
)

func day(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestAllocateFEFO: first expiry first out, expired lots skipped, and a
// short drug takes nothing at all (nothing dispensed).
func TestAllocateFEFO(t *testing.T) {
	lots := []Lot{
		{ID: 1, DrugCode: "a", Batch: "late", Expiry: day("2027-06-30"), Quantity: 100},
		{ID: 2, DrugCode: "a", Batch: "soon", Expiry: day("2026-12-31"), Quantity: 10},
		{ID: 3, DrugCode: "a", Batch: "gone", Expiry: day("2026-11-29"), Quantity: 50},
		{ID: 4, DrugCode: "b", Batch: "b1", Expiry: day("2027-01-31"), Quantity: 5},
	}
	today := day("2026-11-30")
	takes, shorts := AllocateFEFO(lots, map[string]int64{"a": 14, "b": 5}, today)
	want := []Take{{LotID: 2, DrugCode: "a", Batch: "soon", Expiry: day("2026-12-31"), Quantity: 10},
		{LotID: 1, DrugCode: "a", Batch: "late", Expiry: day("2027-06-30"), Quantity: 4},
		{LotID: 4, DrugCode: "b", Batch: "b1", Expiry: day("2027-01-31"), Quantity: 5}}
	if shorts != nil || !slices.Equal(takes, want) {
		t.Errorf("got %+v %+v, want %+v", takes, shorts, want)
	}
	// The expired lot of 50 does not count: 110 usable, 111 needed.
	takes, shorts = AllocateFEFO(lots, map[string]int64{"a": 111, "b": 1}, today)
	if takes != nil || len(shorts) != 1 || shorts[0] != (Short{DrugCode: "a", Need: 111, Have: 110}) {
		t.Errorf("short: got %+v %+v", takes, shorts)
	}
	// A lot is usable on its expiry date (有效期至), not the day after.
	if _, shorts = AllocateFEFO(lots, map[string]int64{"a": 1}, day("2027-06-30")); shorts != nil {
		t.Errorf("usable on expiry day: %+v", shorts)
	}
	if _, shorts = AllocateFEFO(lots, map[string]int64{"a": 1}, day("2027-07-01")); len(shorts) != 1 {
		t.Errorf("expired the day after: %+v", shorts)
	}
	if _, shorts = AllocateFEFO(lots, map[string]int64{"unknown": 1}, today); len(shorts) != 1 || shorts[0].Have != 0 {
		t.Errorf("drug not held: %+v", shorts)
	}
}

func TestUnits(t *testing.T) {
	for _, c := range []struct {
		q    float64
		want int64
	}{{7, 7}, {7.5, 8}, {0.1, 1}, {14.0000000001, 14}} {
		if got := Units(c.q); got != c.want {
			t.Errorf("Units(%v) = %d, want %d", c.q, got, c.want)
		}
	}
}

// TestClassesAndShortfalls checks the "at least 5 drugs per chronic
// disease class at township and village" rule (DOMAIN.md §4, seed 004)
// against the shipped knowledge base.
func TestClassesAndShortfalls(t *testing.T) {
	kb := rx.MustLoad()
	if got := ClassesOf(kb.Drug("amlodipine-5t")); !slices.Equal(got, []ChronicClass{Hypertension}) {
		t.Errorf("amlodipine classes %v", got)
	}
	if got := ClassesOf(kb.Drug("metformin-500t")); !slices.Contains(got, Diabetes) {
		t.Errorf("metformin classes %v", got)
	}
	today := day("2026-11-30")
	// Every class must be fillable at village level with the knowledge base's drugs.
	all := Shortfalls(kb, "village", nil, today, MinDrugsPerClass)
	if len(all) != len(Classes) {
		t.Fatalf("empty clinic: %d classes short, want %d", len(all), len(Classes))
	}
	for _, sf := range all {
		if sf.Missing != MinDrugsPerClass {
			t.Errorf("%s missing %d", sf.Class, sf.Missing)
		}
		for _, c := range sf.Options {
			if !MayStock(kb.Drug(c), "village") {
				t.Errorf("%s offered %s, not a village drug", sf.Class, c)
			}
		}
	}
	var lots []Lot
	for i, code := range []string{"amlodipine-5t", "nifedipine-cr30t", "enalapril-10t", "losartan-50t", "hydrochlorothiazide-25t"} {
		lots = append(lots, Lot{ID: int64(i + 1), DrugCode: code, Expiry: day("2027-01-01"), Quantity: 10})
	}
	sf := Shortfalls(kb, "village", lots, today, MinDrugsPerClass)
	for _, s := range sf {
		if s.Class == Hypertension {
			t.Errorf("5 hypertension drugs in stock, still short: %+v", s)
		}
	}
	// One of them expired: short by one again.
	lots[0].Expiry = day("2026-11-01")
	sf = Shortfalls(kb, "village", lots, today, MinDrugsPerClass)
	found := false
	for _, s := range sf {
		if s.Class == Hypertension {
			found = s.Missing == 1 && len(s.Have) == 4
		}
	}
	if !found {
		t.Errorf("expired lot still counted: %+v", sf)
	}
}

func TestMayStock(t *testing.T) {
	kb := rx.MustLoad()
	var countyOnly *rx.Drug
	for i := range kb.Drugs {
		if kb.Drugs[i].Levels == rx.AtCounty {
			countyOnly = &kb.Drugs[i]
			break
		}
	}
	if countyOnly == nil {
		t.Fatal("no county-only drug in the knowledge base")
	}
	if MayStock(countyOnly, "village") || MayStock(countyOnly, "township") || !MayStock(countyOnly, "county") {
		t.Errorf("%s: levels not respected", countyOnly.Code)
	}
	if len(Formulary(kb, nil, "village")) >= len(Formulary(kb, nil, "county")) {
		t.Error("the village formulary should be smaller than the county's")
	}
}

func TestCheckLevel(t *testing.T) {
	cases := []struct {
		name    string
		l       Level
		low     bool
		cover   float64
		suggest int64
	}{
		// 60 dispensed in 30 days = 2 a day; 20 on hand = 10 days < 14.
		{"low cover", Level{OnHand: 20, Dispensed: 60, Threshold: Threshold{MinCoverDays: 14}}, true, 10, 36},
		{"enough", Level{OnHand: 40, Dispensed: 60, Threshold: Threshold{MinCoverDays: 14}}, false, 20, 0},
		{"not dispensed", Level{OnHand: 3, Threshold: Threshold{MinCoverDays: 14}}, false, -1, 0},
		{"below floor", Level{OnHand: 3, Threshold: Threshold{MinUnits: 10}}, true, -1, 17},
	}
	for _, c := range cases {
		l := c.l
		CheckLevel(&l)
		if l.Low != c.low || l.CoverDays != c.cover || l.SuggestQty != c.suggest {
			t.Errorf("%s: got low %v cover %v suggest %d, want %v %v %d", c.name, l.Low, l.CoverDays, l.SuggestQty, c.low, c.cover, c.suggest)
		}
	}
}

func TestStateMachines(t *testing.T) {
	if !OrderRequested.CanMove(OrderApproved) || OrderRequested.CanMove(OrderShipped) || OrderShipped.CanMove(OrderCancelled) || OrderReceived.CanMove(OrderShipped) {
		t.Error("supply order transitions")
	}
	if !CanMove(ModeDelivery, FulPacked, FulShipped) || CanMove(ModeDelivery, FulPacked, FulDelivered) || !CanMove(ModeDelivery, FulFailed, FulReturned) ||
		CanMove(ModeDelivery, FulDelivered, FulReturned) || !CanMove(ModePickup, FulReady, FulPickedUp) || CanMove(ModePickup, FulReady, FulShipped) {
		t.Error("fulfilment transitions")
	}
}

func TestPrices(t *testing.T) {
	kb := rx.MustLoad()
	p, err := ExamplePrices(kb)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != len(kb.Drugs) {
		t.Errorf("example prices %d, drugs %d", len(p), len(kb.Drugs))
	}
	for _, bad := range []string{"nope|1|A", "amlodipine-5t|1.234|A", "amlodipine-5t|-1|A", "amlodipine-5t|1|D", "amlodipine-5t|0|A"} {
		if _, err := ParsePrices([]byte(bad), kb); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for s, want := range map[string]int64{"12": 1200, "12.5": 1250, "0.05": 5, "3.10": 310} {
		if got, err := ParseYuan(s); err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d %v, want %d", s, got, err, want)
		}
	}
}
