package icd10

import (
	"strings"
	"testing"
)

// TestValid pins the shape (package documentation; policy-rules.md §7):
// WHO categories and subdivisions, the national clinical edition 2.0's
// extension codes with their lower-case x, and the limits on each side.
func TestValid(t *testing.T) {
	for code, want := range map[string]bool{
		"I10": true, "E11.9": true, "E11.900": true, "I10.x00x002": true, "i10.X00X002": true, " J06.9 ": true, "U07.1": true,
		"A00.1234567":  true,  // 7 after the dot: the longest
		"A00.12345678": false, // 8
		"I1":           false, "I10.": false, "I10x": false, "110": false, "II0": false, "I1O": false, "I10.9-": false, "I10..9": false,
		"": false, "高血压": false, "I10.九": false,
		// the character classes at their ASCII edges (consult's former checks)
		"@00": false, "[00": false, "A/0": false, "A:0": false, "A0/": false, "A0:": false,
		"I10./": false, "I10.:": false, "I10.@": false, "I10.[": false, "I10.`": false, "I10.{": false,
		"Z99": true, "I10.Z": true, "I10.A": true, "I10.z": true, "I10.a": true, "E11-9": false,
	} {
		if got := Valid(code); got != want {
			t.Errorf("Valid(%q) = %v, want %v", code, got, want)
		}
	}
	if MaxLen != len("A00.1234567") {
		t.Errorf("MaxLen %d", MaxLen)
	}
	if Normalize(" i10.x00 x002") != "I10.X00X002" {
		t.Errorf("Normalize: %q", Normalize(" i10.x00 x002"))
	}
	if Category("e11.900") != "E11" || Category("E1") != "" {
		t.Errorf("Category: %q %q", Category("e11.900"), Category("E1"))
	}
}

// TestChapter puts a code on each side of the chapter limits of ICD-10
// (WHO 2019): the first and last category of a chapter are in it, the
// categories between chapters (D49, E91, H96, K94, P97, V00, Y99, U86) in none.
func TestChapter(t *testing.T) {
	for code, want := range map[string]string{
		"A00": "I ", "B99.9": "I ", "C00": "II ", "D48": "II ", "D49": "", "D50": "III ", "E90": "IV ", "E91": "",
		"H59": "VII ", "H60": "VIII ", "H95": "VIII ", "H96": "", "K93": "XI ", "K94": "", "P96": "XVI ", "P97": "",
		"T98": "XIX ", "V00": "", "V01": "XX ", "Y98": "XX ", "Y99": "", "Z99": "XXI ", "U07.1": "XXII ", "U85": "XXII ", "U86": "",
		"I10.x00x002": "IX ", "bad": "",
	} {
		got := Chapter(code)
		if want == "" && got != "" || want != "" && !strings.HasPrefix(got, want) {
			t.Errorf("Chapter(%q) = %q, want chapter %q", code, got, want)
		}
	}
}

// FuzzValid: a valid code normalises to a letter, two digits and at most
// eight more characters; Chapter never accepts an invalid code.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"I10", "I10.x00x002", "e11.9", "U07.1", "A00.12345678", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) {
			c := Normalize(s)
			if len(c) < 3 || len(c) > MaxLen || c[0] < 'A' || c[0] > 'Z' {
				t.Fatalf("Valid(%q) but normalised %q", s, c)
			}
		} else if Chapter(s) != "" || Category(s) != "" {
			t.Fatalf("%q is invalid but has a chapter or category", s)
		}
	})
}
