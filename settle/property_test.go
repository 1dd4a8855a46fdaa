package settle

import (
	"fmt"
	"sort"
	"testing"

	"pgregory.net/rapid"
)

// genPolicy draws a valid policy: one of the shipped examples, with its
// numbers redrawn so caps, deductibles and segment bounds are often hit.
func genPolicy(t *rapid.T) *Policy {
	name := rapid.SampledFrom([]string{"example-2026.json", "985-2026.json"}).Draw(t, "policy")
	b, _ := ExampleFile(name)
	p, err := ParsePolicy(b)
	if err != nil {
		t.Fatal(err)
	}
	money := func(label string, hi int64) Fen { return Fen(rapid.Int64Range(0, hi).Draw(t, label)) }
	ratio := func(label string) Ratio { return Ratio(rapid.Int64Range(0, int64(Full)).Draw(t, label)) }
	for _, vr := range []*VisitRules{&p.Basic.Inpatient, &p.Basic.Outpatient} {
		for _, l := range Levels {
			vr.Levels[l] = LevelRule{Deductible: money("ded", 300000), Ratio: ratio("ratio")}
		}
	}
	p.Basic.AnnualCap = 1 + money("basiccap", 20000000)
	p.Basic.UnreferredCut = ratio("cut")
	for k, c := range p.Chronic {
		c.Ratio, c.AnnualCap, c.Deductible = ratio("cr"), 1+money("ccap", 1000000), money("cded", 50000)
		p.Chronic[k] = c
	}
	for _, tier := range []*CriticalTier{&p.Critical.Ordinary, &p.Critical.Poor} {
		b1 := 1 + money("seg1", 5000000)
		b2 := b1 + 1 + money("seg2", 5000000)
		tier.Deductible = money("cded", 1000000)
		tier.Segments = []Segment{{0, b1, ratio("s1")}, {b1, b2, ratio("s2")}, {b2, 0, ratio("s3")}}
		tier.AnnualCap = money("critcap", 10000000)
	}
	layers := []*SimpleLayer{&p.Assistance}
	if p.Supplementary != nil {
		layers = append(layers, p.Supplementary)
	}
	for _, l := range layers {
		for k := range l.Categories {
			l.Categories[k] = SimpleRule{Deductible: money("sded", 200000), Ratio: ratio("sr"), AnnualCap: money("scap", 5000000)}
		}
	}
	if p.BottomLine != nil {
		p.BottomLine.AnnualOOPCap = money("oopcap", 1000000)
		p.BottomLine.Base = rapid.SampledFrom([]string{"eligible", "total"}).Draw(t, "blbase")
		for k := range p.BottomLine.Targets {
			p.BottomLine.Targets[k] = ratio("target")
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("generated policy invalid: %v", err)
	}
	return p
}

func genClaim(t *rapid.T, p *Policy, id string, poverty string) *Claim {
	c := &Claim{
		VisitID:   id,
		Date:      fmt.Sprintf("2026-%02d-%02d", rapid.IntRange(1, 12).Draw(t, "month"), rapid.IntRange(1, 28).Draw(t, "day")),
		VisitType: rapid.SampledFrom([]string{Inpatient, Outpatient, Chronic}).Draw(t, "type"),
		Level:     rapid.SampledFrom(Levels).Draw(t, "level"),
		Referred:  rapid.Bool().Draw(t, "referred"),
		Poverty:   poverty,
		Insured:   rapid.IntRange(0, 9).Draw(t, "insured") > 0,
	}
	if c.VisitType == Chronic {
		c.ChronicCategory = rapid.SampledFrom(keys(p.Chronic)).Draw(t, "chronic")
	}
	n := rapid.IntRange(1, 20).Draw(t, "lines")
	for i := 0; i < n; i++ {
		c.Lines = append(c.Lines, Line{
			Code: fmt.Sprint(i), Class: rapid.SampledFrom([]string{"drug", "material", "exam", "treatment"}).Draw(t, "class"),
			Category: rapid.SampledFrom(keys(p.Categories)).Draw(t, "cat"),
			Amount:   Fen(rapid.Int64Range(int64(1-min(i, 1)), 30000000).Draw(t, "amount")), // a bill is never 0.00 (issue 18): the first item is ≥ 1 fen
		})
	}
	return c
}

// checkResult: layers plus patient equal the bill to the fen; nothing is
// negative; no layer pays more than its base.
func checkResult(t *rapid.T, r *Result) {
	sum := Fen(0)
	for _, l := range r.Layers {
		if l.Paid < 0 || l.Base < 0 {
			t.Fatalf("%s: negative amount %+v", l.Layer, l)
		}
		if l.Paid > l.Base {
			t.Fatalf("%s pays %s on a base of %s", l.Layer, l.Paid, l.Base)
		}
		sum += l.Paid
	}
	if sum != r.Insurers || r.Insurers+r.Patient != r.Total || r.Patient < 0 {
		t.Fatalf("layers %s + patient %s ≠ total %s", sum, r.Patient, r.Total)
	}
	if r.Eligible+r.Ineligible != r.Total || r.Eligible < 0 || r.Ineligible < 0 {
		t.Fatalf("eligible %s + ineligible %s ≠ total %s", r.Eligible, r.Ineligible, r.Total)
	}
}

// checkCaps: no layer's year-to-date payment exceeds its annual cap.
func checkCaps(t *rapid.T, p *Policy, poverty string, a Accumulators) {
	if a.Negative() {
		t.Fatalf("negative accumulators %+v", a)
	}
	if a.BasicPaid > p.Basic.AnnualCap {
		t.Fatalf("basic paid %s over cap %s", a.BasicPaid, p.Basic.AnnualCap)
	}
	for cat, v := range a.ChronicPaid {
		if v > p.Chronic[cat].AnnualCap {
			t.Fatalf("chronic %s paid %s over cap", cat, v)
		}
	}
	tier := p.Critical.Ordinary
	if contains(p.Critical.PoorCategories, poverty) {
		tier = p.Critical.Poor
	}
	if tier.AnnualCap > 0 && a.CriticalPaid > tier.AnnualCap {
		t.Fatalf("critical paid %s over cap %s", a.CriticalPaid, tier.AnnualCap)
	}
	if rule, ok := p.Assistance.Categories[poverty]; ok && rule.AnnualCap > 0 && a.AssistancePaid > rule.AnnualCap {
		t.Fatalf("assistance paid %s over cap %s", a.AssistancePaid, rule.AnnualCap)
	}
	if p.Supplementary != nil {
		if rule, ok := p.Supplementary.Categories[poverty]; ok && rule.AnnualCap > 0 && a.SupplementaryPaid > rule.AnnualCap {
			t.Fatalf("supplementary paid %s over cap %s", a.SupplementaryPaid, rule.AnnualCap)
		}
	}
}

// TestSettlementProperties drives a Ledger with random settlements,
// retries (same and different claim), corrections and reversals, in any
// date order, checking after every step the invariants of issue #6:
// layers + patient = bill; no layer over its cap; no negative amounts; the
// annual out-of-pocket cap holds; a retry pays once — and of issue 18:
// every live bill and every patient's year are exactly what settling the
// live bills in date order from zero gives (Resettler, the engine of
// `countycare resettle`), whatever order they were settled, corrected or
// reversed in.
func TestSettlementProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		l := NewLedger(p)
		patients := []string{"p1", "p2", "p3"}
		poverty := map[string]string{}
		for _, pt := range patients {
			poverty[pt] = rapid.SampledFrom(append([]string{""}, PovertyCategories...)).Draw(t, "poverty")
		}
		type live struct {
			key, patient string
			claim        *Claim
			n            int // when it was settled: the tie-break within a date
		}
		var settled []live
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			switch op := rapid.IntRange(0, 11).Draw(t, "op"); {
			case op < 6 || len(settled) == 0: // settle a new visit
				pt := rapid.SampledFrom(patients).Draw(t, "patient")
				key := fmt.Sprintf("k%d", i)
				c := genClaim(t, p, key, poverty[pt])
				r, replay, err := l.Settle(key, pt, c)
				if err != nil {
					t.Fatalf("settle: %v", err)
				}
				if replay {
					t.Fatal("a new key was a replay")
				}
				checkResult(t, r)
				settled = append(settled, live{key, pt, c, i})
			case op < 8: // retry: same claim pays nothing more; another claim is refused
				s := settled[rapid.IntRange(0, len(settled)-1).Draw(t, "retry")]
				before := l.Accumulators(s.patient)
				r, replay, err := l.Settle(s.key, s.patient, s.claim)
				if err != nil || !replay || r != l.Entry(s.key).Result {
					t.Fatalf("retry of %s: replay=%v err=%v", s.key, replay, err)
				}
				if !l.Accumulators(s.patient).Equal(before) {
					t.Fatal("a retry changed the accumulators")
				}
				other := *s.claim
				other.Lines = append([]Line{{Code: "extra", Category: other.Lines[0].Category, Amount: 1}}, other.Lines...)
				if _, _, err := l.Settle(s.key, s.patient, &other); err != ErrKeyReused {
					t.Fatalf("key reused with another claim: %v", err)
				}
			case op < 10: // correct: a new bill for the visit, perhaps another date
				j := rapid.IntRange(0, len(settled)-1).Draw(t, "correct")
				s := settled[j]
				key := fmt.Sprintf("k%d", i)
				c := genClaim(t, p, s.claim.VisitID, poverty[s.patient])
				r, err := l.Correct(s.key, key, c)
				if err != nil {
					t.Fatalf("correct: %v", err)
				}
				checkResult(t, r)
				if err := l.Reverse(s.key); err != ErrReversed {
					t.Fatalf("reversal of a corrected bill: %v", err)
				}
				settled[j] = live{key, s.patient, c, i}
			default: // reverse
				j := rapid.IntRange(0, len(settled)-1).Draw(t, "reverse")
				s := settled[j]
				if err := l.Reverse(s.key); err != nil {
					t.Fatalf("reverse: %v", err)
				}
				if err := l.Reverse(s.key); err != ErrReversed {
					t.Fatalf("second reversal: %v", err)
				}
				settled = append(settled[:j], settled[j+1:]...)
			}
			// The books equal a from-scratch resettlement in date order.
			for _, pt := range patients {
				var bills []live
				for _, s := range settled {
					if s.patient == pt {
						bills = append(bills, s)
					}
				}
				sort.Slice(bills, func(a, b int) bool {
					if bills[a].claim.Date != bills[b].claim.Date {
						return bills[a].claim.Date < bills[b].claim.Date
					}
					return bills[a].n < bills[b].n
				})
				rs := NewResettler(&StoredPolicy{Policy: p})
				var want Accumulators
				rs.OnResident = func(_ int64, acc Accumulators) error { want = acc; return nil }
				rs.OnVisit = func(st *Settlement, r *Result, _ Accumulators) error {
					checkResult(t, r)
					got := l.Entry(st.Key).Result
					if !SameSplit(got, r) || !got.Delta.Equal(r.Delta) {
						t.Fatalf("%s %s: ledger %v, settled in date order %v", pt, st.Key, Amounts(got), Amounts(r))
					}
					return nil
				}
				for _, b := range bills {
					if err := rs.Add(&Settlement{ResidentID: 1, Key: b.key, Claim: *b.claim, Result: *l.Entry(b.key).Result}); err != nil {
						t.Fatal(err)
					}
				}
				rs.Finish()
				if !l.Accumulators(pt).Equal(want) {
					t.Fatalf("%s: accumulators %+v, settled in date order %+v", pt, l.Accumulators(pt), want)
				}
				if rs.Summary.Changed != 0 {
					t.Fatalf("%s: %d bills differ from a resettlement", pt, rs.Summary.Changed)
				}
				checkCaps(t, p, poverty[pt], l.Accumulators(pt))
			}
		}
	})
}

func hasTarget(bl *BottomLinePolicy, vt string) bool { _, ok := bl.Targets[vt]; return ok }

func FuzzParsePolicy(f *testing.F) {
	for _, n := range ExampleNames() {
		b, _ := ExampleFile(n)
		f.Add(string(b))
	}
	f.Add(`{"county":"411723"}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy([]byte(s))
		if err != nil {
			return
		}
		// Whatever parses settles a simple claim without panicking.
		c := &Claim{VisitID: "f", Date: p.EffectiveFrom, VisitType: Inpatient, Level: County, Insured: true,
			Lines: []Line{{Category: keys(p.Categories)[0], Amount: 123456}}}
		if r, err := Settle(p, c, &Accumulators{}); err == nil && r.Insurers+r.Patient != r.Total {
			t.Fatal("unbalanced")
		}
	})
}
