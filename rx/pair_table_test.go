package rx

import (
	"testing"
	"testing/fstest"
)

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
	checkTable(t, testEngine.KB)
}

// TestOverlappingGroupRules: where group rules overlap on a pair, the most
// severe holds, whatever their order, and of equal grades the first listed
// (compile's comment). The shipped interactions.psv has no such overlap, so
// three rules on simvastatin × diltiazem (grouped "major" by
// g:statin-3a4|g:cyp3a4-inhibitor) are added: a lower grade after it, a
// higher one, and the higher one again; and a moderate then a major rule on
// amlodipine × paracetamol (no shipped rule), last in the file.
func TestOverlappingGroupRules(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, f := range []string{"formulary.psv", "groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
		b, err := embedded.ReadFile("kb/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if f == "interactions.psv" {
			b = append(b, "C10AA01|C08DB01|moderate|LABEL|T-lower|x\n"+
				"C08DB01|C10AA01|contraindicated|LABEL|T-higher|x\n"+
				"C10AA01|C08DB01|contraindicated|LABEL|T-equal|x\n"+
				"C08CA01|N02BE01|moderate|LABEL|Q-low|x\n"+
				"C08CA01|N02BE01|major|LABEL|Q-high|x\n"...)
		}
		fsys["kb/"+f] = &fstest.MapFile{Data: b}
	}
	kb, err := LoadFS(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"simvastatin-20t", "diltiazem-30t"}, {"diltiazem-30t", "simvastatin-20t"}} {
		if in := kb.InteractionBetween(p[0], p[1]); in == nil || in.ZH != "T-higher" || in.Severity != Block {
			t.Errorf("%s × %s: %+v, want the contraindicated rule listed first", p[0], p[1], in)
		}
	}
	// The last group rule of the file replaces the one before it (the rule
	// after it is a pair rule, which must not be taken for the holder).
	if in := kb.InteractionBetween("amlodipine-5t", "paracetamol-500t"); in == nil || in.ZH != "Q-high" {
		t.Errorf("amlodipine × paracetamol: %+v, want the major rule listed last", in)
	}
	checkTable(t, kb)
}

func checkTable(t *testing.T, kb *KB) {
	t.Helper()
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
