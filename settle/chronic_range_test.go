package settle

import (
	"strings"
	"testing"
)

// TestChronicDrugRange pins ChronicCategory.Pays and the policy check of
// the drug range (用药范围) of a chronic special-outpatient category
// (docs/settlement.md "Chronic special-outpatient certifications"; issue 18
// §5): an ATC prefix covers every code under it; an empty range pays any
// drug; a range entry that is not an ATC prefix is refused when the policy
// is loaded.
func TestChronicDrugRange(t *testing.T) {
	ht := ChronicCategory{Drugs: []string{"C08", "C09AA"}}
	for atc, want := range map[string]bool{"C08CA01": true, "C08": true, "C09AA05": true, "C09CA01": false, "B01AC06": false, "": false, "C0": false} {
		if got := ht.Pays(atc); got != want {
			t.Errorf("HT range %v pays %q = %v, want %v", ht.Drugs, atc, got, want)
		}
	}
	if !(ChronicCategory{}).Pays("B01AC06") {
		t.Error("an empty range must pay any drug")
	}
	for s, want := range map[string]bool{"C": true, "C09": true, "C09AA05": true, "C09AA051": false, "": false, "c09": false, "9C": false, "C09-A": false} {
		if got := atcPrefix(s); got != want {
			t.Errorf("atcPrefix(%q) = %v, want %v", s, got, want)
		}
	}
	raw, err := examples.ReadFile("policies/985-2026.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), `"drugs": ["A10"]`, `"drugs": ["A10", "a10"]`, 1)
	if bad == string(raw) {
		t.Fatal("985-2026.json has no DM drug range to edit")
	}
	if _, err := ParsePolicy([]byte(bad)); err == nil || !strings.Contains(err.Error(), `chronic_outpatient.DM.drugs: "a10" is not an ATC code prefix`) {
		t.Errorf("a lower-case range entry: %v", err)
	}
	p, err := ParsePolicy(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Chronic["HT"].Drugs; strings.Join(got, " ") != "C02 C03 C07 C08 C09" {
		t.Errorf("985-2026 HT range %v", got)
	}
}
