package villagesync

import (
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{AccountID: 7, ClinicID: 42, At: time.Date(2026, 12, 7, 10, 0, 0, 123000, time.UTC)}
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("got %+v %v, want %+v", got, err, c)
	}
	for _, bad := range []string{"", "x", "djEuMS4y", c.String() + "A", "djEuLTEuMi4z"} {
		if _, err := ParseCursor(bad); !care.IsCode(err, care.EINVALID) {
			t.Errorf("ParseCursor(%q): %v, want invalid", bad, err)
		}
	}
}

// FuzzParseCursor: the token comes from the device; whatever it is, the
// parser answers a cursor or EINVALID, and a cursor it accepts encodes
// back to a token that parses to the same cursor.
func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{AccountID: 1, ClinicID: 2, At: time.UnixMicro(3)}.String())
	f.Add("djEuMS4yLjM")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if !care.IsCode(err, care.EINVALID) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if again, err := ParseCursor(c.String()); err != nil || again != c {
			t.Fatalf("%q: %+v then %+v %v", s, c, again, err)
		}
	})
}

func TestMergeField(t *testing.T) {
	tests := []struct {
		server, base, edited, want string
		ok                         bool
	}{
		{"a", "a", "b", "b", true},  // only the device changed it
		{"c", "a", "a", "c", true},  // only the server changed it
		{"b", "a", "b", "b", true},  // both to the same value
		{"c", "a", "b", "c", false}, // both, differently: the server's stands, conflicted
		{"", "", "", "", true},
	}
	for _, tt := range tests {
		got, ok := mergeField(tt.server, tt.base, tt.edited)
		if got != tt.want || ok != tt.ok {
			t.Errorf("mergeField(%q, %q, %q) = %q, %v; want %q, %v", tt.server, tt.base, tt.edited, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidClientID(t *testing.T) {
	for id, want := range map[string]bool{
		"0f8fad5b-d9cb-469f-a165-70867728950e": true, "0F8FAD5B-D9CB-469F-A165-70867728950E": true,
		"": false, "0f8fad5bd9cb469fa16570867728950e": false, "0f8fad5b-d9cb-469f-a165-70867728950e ": false, "x0f8fad5b-d9cb-469f-a165-70867728950e": false,
	} {
		if got := ValidClientID(id); got != want {
			t.Errorf("ValidClientID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestUrgentFirst: a follow-up meeting an urgent-transfer criterion of
// either national form counts as urgent (规范第三版: SBP ≥ 180 or DBP ≥ 110,
// glucose ≥ 16.7 or ≤ 3.9 mmol/L, the listed symptoms).
func TestUrgent(t *testing.T) {
	c := chronic.DefaultConfig()
	tests := []struct {
		v    chronic.Visit
		want bool
	}{
		{chronic.Visit{SBP: 180, DBP: 90}, true},
		{chronic.Visit{SBP: 150, DBP: 110}, true},
		{chronic.Visit{SBP: 179, DBP: 109}, false},
		{chronic.Visit{FPG: 167}, true},
		{chronic.Visit{FPG: 39}, true},
		{chronic.Visit{FPG: 70}, false},
		{chronic.Visit{Symptoms: []chronic.Symptom{chronic.SymChestTightness}}, true},
		{chronic.Visit{Symptoms: []chronic.Symptom{chronic.SymOedema}}, false},
	}
	for _, tt := range tests {
		if got := Urgent(&FollowUp{Visit: tt.v}, c); got != tt.want {
			t.Errorf("Urgent(%+v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestApplyOrder: urgent follow-ups first, the rest as sent, except that
// a change comes after the change of the batch it builds on (a follow-up
// on an enrolment on a registration, all made offline) — urgent or not;
// references to changes outside the batch, to itself, or in a cycle
// leave the order otherwise alone and every change is placed once.
func TestApplyOrder(t *testing.T) {
	id := func(n int) string { return "00000000-0000-4000-8000-00000000000" + string(rune('0'+n)) }
	urgent := func(f *FollowUp) bool { return f.Visit.SBP >= 180 }
	changes := []Change{
		{ClientID: id(0), FollowUp: &FollowUp{RegistrationID: 5, Visit: chronic.Visit{SBP: 130}}},
		{ClientID: id(1), FollowUp: &FollowUp{RegistrationRef: Ref(id(2)), Visit: chronic.Visit{SBP: 190}}},
		{ClientID: id(2), Enrol: &Enrol{ResidentRef: Ref(strings.ToUpper(id(3)))}},
		{ClientID: id(3), Register: &resident.Input{Name: "x"}},
		{ClientID: id(4), FollowUp: &FollowUp{RegistrationID: 6, Visit: chronic.Visit{SBP: 200}}},
		{ClientID: id(5), FamilyService: &FamilyService{ResidentRef: Ref(id(9))}},
		{ClientID: id(6), Enrol: &Enrol{ResidentRef: Ref(id(7))}},
		{ClientID: id(7), Enrol: &Enrol{ResidentRef: Ref(id(6))}},
		{ClientID: id(8), FamilyService: &FamilyService{ResidentRef: Ref(id(8))}},
	}
	got := applyOrder(changes, urgent)
	want := []int{3, 2, 1, 4, 0, 5, 7, 6, 8}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
