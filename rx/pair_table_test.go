package rx

import "testing"

// Tests of the compiled interaction table against a plain reading of its
// rules (kb.go, compile's comment): for a pair of drugs, a pair rule
// (pairs.psv) sets the pair whatever the group rules give; otherwise the most
// severe group rule (interactions.psv) holds, the first listed of equal
// severity; a substance never interacts with itself (same full ATC code).

// expectedRule is the oracle: it walks the rules in file order, as a reader
// of interactions.psv and pairs.psv would, without the dense table.
func expectedRule(kb *KB, mem [][2][]bool, a, b int) *Interaction {
	if a == b || kb.Drugs[a].ATC[0] == kb.Drugs[b].ATC[0] {
		return nil
	}
	var group, pair *Interaction
	for ri := range kb.Interactions {
		r := &kb.Interactions[ri]
		as, bs := mem[ri][0], mem[ri][1]
		if !(as[a] && bs[b]) && !(as[b] && bs[a]) {
			continue
		}
		if r.Pair {
			pair = r // the last pair rule; pairs.psv refuses a pair listed twice
			continue
		}
		if group == nil || r.Severity > group.Severity {
			group = r
		}
	}
	if pair != nil {
		return pair
	}
	return group
}

// TestCompiledTableMatchesRules checks every pair of the shipped formulary
// and the Pairs statistic (the number of distinct drug pairs with an
// interaction, shown on the knowledge-base page).
func TestCompiledTableMatchesRules(t *testing.T) {
	kb := testEngine.KB
	n := len(kb.Drugs)
	// mem[rule][side][drug]: whether the rule's selector names the drug.
	mem := make([][2][]bool, len(kb.Interactions))
	for ri, r := range kb.Interactions {
		for side, sel := range [2]string{r.A, r.B} {
			mem[ri][side] = make([]bool, n)
			for _, d := range kb.members(sel) {
				mem[ri][side][d] = true
			}
		}
	}
	pairs, bad := 0, 0
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			want := expectedRule(kb, mem, a, b)
			got := kb.InteractionBetween(kb.Drugs[a].Code, kb.Drugs[b].Code)
			if got != want {
				if bad++; bad <= 5 {
					t.Errorf("%s × %s: rule %+v, want %+v", kb.Drugs[a].Code, kb.Drugs[b].Code, got, want)
				}
			}
			if a < b && want != nil {
				pairs++
			}
		}
	}
	if kb.Pairs != pairs {
		t.Errorf("kb.Pairs = %d, want %d distinct pairs", kb.Pairs, pairs)
	}
}
