package rx

import "testing"

// TestClassify: a prescription's monitoring classes come from its lines'
// formulary entries — an antimicrobial (flag A, or R: restricted use, the
// 2012 rules' 分级管理) and an injection (form inj, insulin included).
func TestClassify(t *testing.T) {
	kb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		codes []string
		want  Classes
	}{
		{[]string{"amlodipine-5t"}, 0},
		{[]string{"amlodipine-5t", "amoxicillin-250c"}, WithAntimicrobial},
		{[]string{"isoniazid-100t"}, WithAntimicrobial}, // TB drugs are antimicrobials
		{[]string{"insulin-regular-400iu"}, WithInjection},
		{[]string{"ceftriaxone-1g"}, WithAntimicrobial | WithInjection},
		{[]string{"amoxicillin-250c", "insulin-regular-400iu"}, WithAntimicrobial | WithInjection},
		{[]string{"no-such-drug"}, 0},
		{nil, 0},
	} {
		p := &Prescription{}
		for _, c := range tc.codes {
			p.Lines = append(p.Lines, Line{DrugCode: c})
		}
		if got := kb.Classify(p); got != tc.want {
			t.Errorf("%v: got %b, want %b", tc.codes, got, tc.want)
		}
	}
	// Restricted-use alone (R without A) still counts: every R drug of the
	// shipped formulary is also A, so build one.
	kb.Drugs[kb.byCode["amlodipine-5t"]].Flags = RestrictedAntimicrobial
	if got := kb.Classify(&Prescription{Lines: []Line{{DrugCode: "amlodipine-5t"}}}); got != WithAntimicrobial {
		t.Errorf("restricted only: got %b", got)
	}
}
