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
	for _, f := range []string{"formulary.psv", "groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
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
		"selector": {"interactions.psv", "Z99ZZ|B01AA03|major|LABEL|x|x\n"},
		"grade":    {"interactions.psv", "B01AA03|M01AE01|severe|LABEL|x|x\n"},
		// A pair rule names two substances and cites the label section.
		"pair group":       {"pairs.psv", "g:qt|C10AA01|contraindicated|label §4|x|x\n"},
		"pair prefix":      {"pairs.psv", "C10AA|J01FA09|contraindicated|label §4|x|x\n"},
		"pair no citation": {"pairs.psv", "C10AA05|J01FA01|contraindicated||x|x\n"},
		"pair twice":       {"pairs.psv", "J01FA09|C10AA01|contraindicated|label §4|x|x\n"},
		"pair grade":       {"pairs.psv", "C10AA05|J01FA01|severe|label §4|x|x\n"},
		"duplicate":        {"formulary.psv", strings.SplitAfter(read("formulary.psv"), "\n")[2]},
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

// Every pair a drug's own label calls contraindicated is blocked, whatever
// its group rule says, and the finding cites the label section (issue 18:
// the group rule statin-3a4 + CYP3A4 inhibitor graded simvastatin with
// clarithromycin "major", sending it to a pharmacist).
func TestContraindicatedPairsBlocked(t *testing.T) {
	kb := testEngine.KB
	n := 0
	for ri := range kb.Interactions {
		r := &kb.Interactions[ri]
		if !r.Pair || r.Severity != Block {
			continue
		}
		if !strings.Contains(r.Source, "§") && !strings.Contains(r.Source, "【禁忌】") {
			t.Errorf("%s|%s: citation %q names no label section", r.A, r.B, r.Source)
		}
		for _, a := range kb.members(r.A) {
			for _, b := range kb.members(r.B) {
				n++
				da, db := &kb.Drugs[a], &kb.Drugs[b]
				p := &Prescription{Issued: day("2026-03-10"), Kind: KindNormal, InstitutionLevel: "county",
					Diagnoses: []string{"Z00"}, Patient: Patient{AgeMonths: 50 * 12, WeightKg: 65},
					Lines: []Line{
						{DrugCode: da.Code, Dose: da.Dose.MinSingle, DoseUnit: da.Unit, Frequency: "qd", Days: 1, Quantity: 1},
						{DrugCode: db.Code, Dose: db.Dose.MinSingle, DoseUnit: db.Unit, Frequency: "qd", Days: 1, Quantity: 1},
					}}
				fs := testEngine.Review(p, day("2026-03-10"), nil)
				found := false
				for _, f := range fs {
					if f.Rule == RuleInteraction {
						found = true
						if f.Severity != Block || f.Source != r.Source || f.Line != 1 || f.Other != 2 {
							t.Errorf("%s + %s: %v from %q, want block citing %q", da.Code, db.Code, f.Severity, f.Source, r.Source)
						}
					}
				}
				if !found {
					t.Errorf("%s + %s: no interaction finding", da.Code, db.Code)
				}
				if Outcome(fs) != Block {
					t.Errorf("%s + %s: outcome %v, want block", da.Code, db.Code, Outcome(fs))
				}
			}
		}
	}
	// The statin pairs the issue names are among them.
	for _, pair := range [][2]string{{"simvastatin-20t", "clarithromycin-250t"}, {"erythromycin-250t", "simvastatin-20t"}} {
		if in := kb.InteractionBetween(pair[0], pair[1]); in == nil || in.Severity != Block || !strings.Contains(in.Source, "Contraindications") {
			t.Errorf("%s + %s: %+v", pair[0], pair[1], in)
		}
	}
	if n < 15 {
		t.Errorf("%d contraindicated drug pairs checked, want ≥ 15", n)
	}
	// A pair rule also grades down: the group grade is a default. The
	// simvastatin + diltiazem pair has no pair rule and keeps the group's.
	if in := kb.InteractionBetween("simvastatin-20t", "diltiazem-30t"); in == nil || in.Pair || in.Severity != Warn {
		t.Errorf("simvastatin + diltiazem: %+v", in)
	}
}

// A pair rule replaces its group rule's grade in both directions: a label
// that grades a pair lower than its class wins too.
func TestPairRuleOverridesGroupBothWays(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, f := range []string{"formulary.psv", "groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
		b, err := embedded.ReadFile("kb/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if f == "pairs.psv" {
			b = append(b, "C10AA01|C08DB01|moderate|test label §7|x|x\n"...)
		}
		fsys["kb/"+f] = &fstest.MapFile{Data: b}
	}
	kb, err := LoadFS(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	if in := kb.InteractionBetween("diltiazem-30t", "simvastatin-20t"); in == nil || in.Severity != Info || in.Source != "test label §7" {
		t.Errorf("down-graded pair: %+v", in)
	}
	if in := kb.InteractionBetween("verapamil-40t", "simvastatin-20t"); in == nil || in.Severity != Warn {
		t.Errorf("the group rule's other pairs: %+v", in)
	}
}
