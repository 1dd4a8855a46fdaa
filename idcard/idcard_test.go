package idcard

import (
	"errors"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// TestParse checks the rules of GB 11643-1999 (§5: structure, §5.4 check
// character computed with ISO 7064 MOD 11-2) and policy-rules.md §7.
func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Number
		wantKey string
	}{
		// The standard's own example (GB 11643-1999 Appendix A).
		{"11010519491231002X", "11010519491231002X", ""},
		{"11010519491231002x", "11010519491231002X", ""},
		{" 11010519491231002X ", "11010519491231002X", ""},
		{"440524188001010014", "440524188001010014", ""},
		// 15-digit form converted (birth year 19YY, check char appended).
		{"110105491231002", "11010519491231002X", ""},
		{"", "", "idcard.empty"},
		{"1101051949123100", "", "idcard.length"},
		{"11010519491231002XX", "", "idcard.length"},
		{"1101051949123100A2", "", "idcard.char"},
		{"X10105194912310020", "", "idcard.char"},
		{"11010519491231002１", "", "idcard.length"}, // full-width digit: 20 bytes
		{"99010519491231002X", "", "idcard.area"},
		{"110105194902300021", "", "idcard.birth_date"}, // 30 February
		{"110105203001010021", "", "idcard.birth_future"},
		{"110105170001010021", "", "idcard.birth_too_old"},
		{"110105194912310021", "", "idcard.check_digit"},
		{"' OR 1=1 --      ", "", "idcard.length"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, today)
		if tt.wantKey == "" {
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		var f *Fault
		if !errors.As(err, &f) || f.Key != tt.wantKey {
			t.Errorf("Parse(%q) error = %v; want key %s", tt.in, err, tt.wantKey)
		}
	}
}

func TestCheckDigitNamesExpected(t *testing.T) {
	_, err := Parse("110105194912310021", today)
	var f *Fault
	if !errors.As(err, &f) || f.Args[0] != "X" || f.Args[1] != "1" {
		t.Fatalf("got %v, want check digit fault expecting X, got 1", err)
	}
}

func TestMakeRoundTrip(t *testing.T) {
	birth := time.Date(1958, 2, 28, 0, 0, 0, 0, time.UTC)
	for seq := 0; seq < 1000; seq += 37 {
		n := Make("411723", birth, seq)
		got, err := Parse(string(n), today)
		if err != nil || got != n {
			t.Fatalf("Make(seq %d) = %s: Parse gives %v", seq, n, err)
		}
		if !n.BirthDate().Equal(birth) || n.Area() != "411723" {
			t.Fatalf("fields of %s wrong", n)
		}
		wantSex := Female
		if seq%2 == 1 {
			wantSex = Male
		}
		if n.Sex() != wantSex {
			t.Fatalf("Sex(%s) = %s, want %s (GB 11643 §5.3: odd = male)", n, n.Sex(), wantSex)
		}
	}
}

func TestMask(t *testing.T) {
	if got := Number("11010519491231002X").Masked(); got != "110105********002X" {
		t.Errorf("Masked = %s", got)
	}
	if got := Mask("12345"); got != "*****" {
		t.Errorf("Mask(short) = %s", got)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts re-parses to
// itself with a correct check character.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "110105491231002", "", "x", "11010519491231002x", "999999999999999999", "110105194902300021"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s, today)
		if err != nil {
			return
		}
		if len(n) != 18 || CheckChar(string(n[:17])) != n[17] {
			t.Fatalf("Parse(%q) accepted bad %q", s, n)
		}
		again, err := Parse(string(n), today)
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q does not re-parse: %v", s, n, err)
		}
	})
}
