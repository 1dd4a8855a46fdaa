package settle

// Tests written against the survivors of the run of 2026-12-07 04:27 on
// branch i18-settle (issue 18 §6, docs/mutation.md), each naming its rule.

import "testing"

// TestICD10ShapeBoundaries pins icd10Shape (certify.go: a letter A–Z, two
// digits, optionally a dot and 1–7 letters or digits, 11 characters at
// most — docs/settlement.md, the certified code is an ICD-10 code) at
// every character class's first and last member and just outside it.
func TestICD10ShapeBoundaries(t *testing.T) {
	for s, want := range map[string]bool{
		"A00": true, "Z99": true, "A09": true, "Z90": true,
		"@00": false, "[00": false, "a00": false,
		"A/0": false, "A:0": false, "A0/": false, "A0:": false,
		"A00.09": true, "A00.az": true, "A00.AZ": true,
		"A00./": false, "A00.:": false, "A00.`": false, "A00.{": false, "A00.@": false, "A00.[": false,
		"I10.x00x012": true, "I10.x00x0123": false, "I1": false, "I10x": false,
	} {
		if got := icd10Shape(s); got != want {
			t.Errorf("icd10Shape(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestAccumulatorsKeepChronicTotalsOnOtherVisits pins Accumulators.Add (the
// ledger model of docs/settlement.md: a settlement adds its delta): a visit
// that adds nothing to the chronic totals keeps those the year already has,
// and a first chronic delta is kept on empty totals.
func TestAccumulatorsKeepChronicTotalsOnOtherVisits(t *testing.T) {
	a := Accumulators{ChronicPaid: map[string]Fen{"HT": 100}, ChronicDeductible: map[string]Fen{"DM": 20}}
	got := a.Add(Accumulators{OutOfPocket: 5}, 1)
	if got.ChronicPaid["HT"] != 100 || got.ChronicDeductible["DM"] != 20 || got.OutOfPocket != 5 {
		t.Errorf("an outpatient visit after chronic ones: %+v", got)
	}
	if back := got.Add(Accumulators{OutOfPocket: 5}, -1); back.ChronicPaid["HT"] != 100 || back.ChronicDeductible["DM"] != 20 || back.OutOfPocket != 0 {
		t.Errorf("its reversal: %+v", back)
	}
	if e := (Accumulators{}).Add(Accumulators{OutOfPocket: 5}, 1); e.ChronicPaid != nil || e.ChronicDeductible != nil {
		t.Errorf("no chronic totals on either side: %+v", e)
	}
}
