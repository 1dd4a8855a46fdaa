package settle

import (
	"testing"

	"countycare/care"
)

// TestCertificationCovers: a chronic special-outpatient certification
// covers a prescription while it is active and in date (both ends
// inclusive) and one of its diagnoses falls under the certified ICD-10
// code (I10 covers I10 and the national clinical extension I10.x00; E11.9
// covers E11.900 but not E11.2) — issue 18.
func TestCertificationCovers(t *testing.T) {
	d := func(s string) care.Date { v, _ := care.ParseDate(s); return v }
	c := Certification{Category: "HT", Diagnosis: "I10", From: d("2026-01-01"), To: d("2026-06-30"), Status: CertActive}
	for _, tt := range []struct {
		day  string
		dx   []string
		want bool
	}{
		{"2026-01-01", []string{"I10"}, true},
		{"2026-06-30", []string{"J06.9", "i10.x00"}, true},
		{"2025-12-31", []string{"I10"}, false},
		{"2026-07-01", []string{"I10"}, false},
		{"2026-03-01", []string{"I11.9"}, false},
		{"2026-03-01", nil, false},
	} {
		if got := c.Covers(d(tt.day), tt.dx); got != tt.want {
			t.Errorf("%s %v: %v, want %v", tt.day, tt.dx, got, tt.want)
		}
	}
	e := Certification{Diagnosis: "E11.9", From: d("2026-01-01"), To: d("2026-12-31"), Status: CertActive}
	if !e.Covers(d("2026-05-01"), []string{"E11.900"}) || e.Covers(d("2026-05-01"), []string{"E11.2"}) {
		t.Error("E11.9 coverage")
	}
	c.Status = CertEnded
	if c.Covers(d("2026-03-01"), []string{"I10"}) {
		t.Error("an ended certification covers")
	}
}
