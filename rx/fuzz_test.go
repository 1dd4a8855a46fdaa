package rx

import (
	"encoding/json"
	"testing"
)

// FuzzValidateReview: any prescription decoded from outside input is either
// refused by Validate or reviewed without panicking, and a review of a
// valid prescription never reports a line that does not exist.
func FuzzValidateReview(f *testing.F) {
	seed, _ := json.Marshal(adult())
	f.Add(seed)
	f.Add([]byte(`{"Kind":"normal","InstitutionLevel":"village","Issued":"2026-03-10","Lines":[{"DrugCode":"paracetamol-500t","Dose":1e308,"DoseUnit":"g","Frequency":"prn","Days":1,"Quantity":1e-300}]}`))
	f.Add([]byte(`{"Kind":"long_term","InstitutionLevel":"county","Issued":"2026-03-10","Patient":{"AgeMonths":1,"WeightKg":0.1,"Allergies":["J","g:qt",""]},"Lines":[{"DrugCode":"insulin-glargine-300iu","Dose":3,"DoseUnit":"wIU","Frequency":"qw","Days":84,"Quantity":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Prescription
		if json.Unmarshal(b, &p) != nil {
			return
		}
		if testEngine.KB.Validate(&p) != nil {
			return
		}
		for _, fd := range testEngine.Review(&p, p.Issued, nil) {
			if fd.Line > len(p.Lines) || fd.Other > len(p.Lines) || fd.Severity < Info || fd.Severity > Block || fd.ZH == "" || fd.Source == "" {
				t.Fatalf("bad finding %+v", fd)
			}
		}
	})
}
