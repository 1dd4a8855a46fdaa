package online

import (
	"testing"

	"countycare/care"
	"countycare/idcard"
)

// FuzzValidateGuardian: any name and ID number typed at a booking are
// either refused with field errors or accepted as an adult's valid ID
// number, never a panic.
func FuzzValidateGuardian(f *testing.F) {
	f.Add("王秀英", "510722199004050129")
	f.Add("", "")
	f.Add("李", "51072220120405012X")
	f.Add("Zhang San", "11010519491231002x")
	day := day("2026-11-30")
	f.Fuzz(func(t *testing.T, name, id string) {
		g := Guardian{Name: name, IDNumber: id}
		fs := ValidateGuardian(&g, day)
		if len(fs) > 0 {
			return
		}
		n, err := idcard.Parse(g.IDNumber, day.Time())
		if err != nil || care.DateOf(n.BirthDate()).AgeOn(day) < 18 {
			t.Fatalf("accepted %q: %v", g.IDNumber, err)
		}
		if r := len([]rune(g.Name)); r < 2 || r > 30 {
			t.Fatalf("accepted name %q", g.Name)
		}
	})
}
