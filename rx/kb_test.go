package rx

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// The knowledge base covers the "2+3" diseases and common primary care
// (issue #7): ≥ 150 drugs, ≥ 5 per chronic disease class (seed 004: at
// least 5 drugs per disease class stocked at township and village).
func TestKnowledgeBaseCoverage(t *testing.T) {
	kb := testEngine.KB
	if len(kb.Drugs) < 150 {
		t.Errorf("%d drugs, want ≥ 150", len(kb.Drugs))
	}
	for class, prefixes := range map[string][]string{
		"hypertension":     {"C02", "C03", "C07", "C08", "C09"},
		"diabetes":         {"A10"},
		"tuberculosis":     {"J04", "J01GA01"},
		"severe mental":    {"N05A", "N03AG01"},
		"hepatitis B":      {"J05AF"},
		"antimicrobials":   {"J01"},
		"analgesics":       {"N02", "M01"},
		"gastrointestinal": {"A02", "A03", "A07"},
	} {
		n := 0
		for i := range kb.Drugs {
			if hasATC(&kb.Drugs[i], prefixes) {
				n++
			}
		}
		if n < 5 {
			t.Errorf("%s: %d drugs, want ≥ 5", class, n)
		}
	}
	if len(kb.Interactions) < 80 || kb.Pairs < 500 {
		t.Errorf("%d interaction rules expanding to %d pairs, want ≥ 80 and ≥ 500", len(kb.Interactions), kb.Pairs)
	}
	for i := range kb.Drugs {
		d := &kb.Drugs[i]
		if d.Dose.MaxSingle <= 0 || d.NameZH == "" || d.NameEN == "" || d.Levels == 0 {
			t.Errorf("%s: incomplete entry", d.Code)
		}
	}
	// The table is symmetric.
	if a, b := kb.InteractionBetween("warfarin-2.5t", "ibuprofen-200t"), kb.InteractionBetween("ibuprofen-200t", "warfarin-2.5t"); a == nil || a != b {
		t.Error("warfarin–ibuprofen missing or asymmetric")
	}
	// The most severe rule wins for a pair: clozapine–carbamazepine.
	if in := kb.InteractionBetween("clozapine-25t", "carbamazepine-100t"); in == nil || in.Severity != Block {
		t.Errorf("clozapine–carbamazepine: %+v", in)
	}
}

// A broken knowledge base does not load: a selector that matches nothing,
// an unknown grade, a duplicate code.
func TestKnowledgeBaseRejectsTypos(t *testing.T) {
	read := func(name string) string {
		b, err := embedded.ReadFile("kb/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := fstest.MapFS{}
	for _, f := range []string{"formulary.psv", "groups.psv", "interactions.psv", "allergy.psv"} {
		base["kb/"+f] = &fstest.MapFile{Data: []byte(read(f))}
	}
	if _, err := LoadFS(base, "kb"); err != nil {
		t.Fatalf("the shipped knowledge base: %v", err)
	}
	// serve --rx-kb DIR loads a directory the same way.
	if kb, err := LoadFS(os.DirFS("kb"), "."); err != nil || len(kb.Drugs) != len(testEngine.KB.Drugs) {
		t.Fatalf("from a directory: %v", err)
	}
	for name, edit := range map[string][2]string{
		"selector":  {"interactions.psv", "Z99ZZ|B01AA03|major|LABEL|x|x\n"},
		"grade":     {"interactions.psv", "B01AA03|M01AE01|severe|LABEL|x|x\n"},
		"duplicate": {"formulary.psv", strings.SplitAfter(read("formulary.psv"), "\n")[2]},
	} {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		fsys["kb/"+edit[0]] = &fstest.MapFile{Data: []byte(read(edit[0]) + edit[1])}
		if _, err := LoadFS(fsys, "kb"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestSyntheticPrescriptionsAreValid(t *testing.T) {
	kb := testEngine.KB
	ps := Synthetic(kb, 2000, 5, 1, day("2026-03-10"))
	flagged := 0
	for i := range ps {
		if err := kb.Validate(&ps[i]); err != nil {
			t.Fatalf("prescription %d: %v", i, err)
		}
		if Outcome(testEngine.Review(&ps[i], ps[i].Issued, nil)) != 0 {
			flagged++
		}
	}
	if flagged == 0 || flagged == len(ps) {
		t.Errorf("%d of %d flagged: the mix should have both", flagged, len(ps))
	}
}

// BenchmarkReview checks 5-line prescriptions against the full knowledge
// base on one goroutine (issue #7: ≥ 100,000 a second, p99 ≤ 200 µs).
func BenchmarkReview(b *testing.B) {
	ps := Synthetic(testEngine.KB, 4096, 5, 7, day("2026-03-10"))
	buf := make([]Finding, 0, 64)
	on := day("2026-03-10")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		buf = testEngine.Review(&ps[i&4095], on, buf[:0])
	}
}

// BenchmarkValidateAndReview adds the input validation a request does.
func BenchmarkValidateAndReview(b *testing.B) {
	ps := Synthetic(testEngine.KB, 4096, 5, 7, day("2026-03-10"))
	buf := make([]Finding, 0, 64)
	on := day("2026-03-10")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := &ps[i&4095]
		if err := testEngine.KB.Validate(p); err != nil {
			b.Fatal(err)
		}
		buf = testEngine.Review(p, on, buf[:0])
	}
}
