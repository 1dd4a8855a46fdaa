package code128

import (
	"errors"
	"slices"
	"testing"
)

// The check-character examples: ISO/IEC 15417:2007 Annex (informative),
// "AIM1234" in code sets B and C, and the worked examples commonly quoted
// with it (PJJ123C in code set A; HI345678 in A then C; 345678 in C;
// abcdef in B).
func TestCheckSpecExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []int
		want int
	}{
		{"AIM1234 (Start B, Code C)", []int{StartB, 33, 41, 45, CodeC, 12, 34}, 87},
		{"PJJ123C (Start A)", []int{StartA, 48, 42, 42, 17, 18, 19, 35}, 54},
		{"HI345678 (Start A, Code C)", []int{StartA, 40, 41, CodeC, 34, 56, 78}, 67},
		{"345678 (Start C)", []int{StartC, 34, 56, 78}, 73},
		{"abcdef (Start B)", []int{StartB, 65, 66, 67, 68, 69, 70}, 97},
	} {
		if got := Check(tc.vals); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []int
	}{
		{"AIM1234", []int{StartB, 33, 41, 45, CodeC, 12, 34, 87}},
		{"345678", []int{StartC, 34, 56, 78, 73}},
		{"abcdef", []int{StartB, 65, 66, 67, 68, 69, 70, 97}},
		{"12", []int{StartC, 12, (StartC + 12) % 103}},
		{"BX12345", []int{StartB, 34, 56, CodeC, 12, 34, CodeB, 21, Check([]int{StartB, 34, 56, CodeC, 12, 34, CodeB, 21})}},
	} {
		got, err := Values(tc.text)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Values(%q): got %v, %v, want %v", tc.text, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "中文", "tab\t", string(make([]byte, MaxLen+1))} {
		if _, err := Values(bad); !errors.Is(err, ErrInput) {
			t.Errorf("Values(%q): got %v, want ErrInput", bad, err)
		}
	}
}

// TestPatterns checks the symbol table's structure (ISO/IEC 15417 §4.2):
// every symbol is 11 modules of 3 bars and 3 spaces, each 1 to 4 modules
// wide, its bars an even number of modules; the stop is 13; no two alike.
func TestPatterns(t *testing.T) {
	seen := map[string]int{}
	for v, p := range patterns {
		want, n := 11, 6
		if v == Stop {
			want, n = 13, 7
		}
		sum, bars := 0, 0
		for i, c := range p {
			w := int(c - '0')
			if w < 1 || w > 4 {
				t.Errorf("value %d: width %d", v, w)
			}
			sum += w
			if i%2 == 0 {
				bars += w
			}
		}
		if len(p) != n || sum != want {
			t.Errorf("value %d: %q has %d elements of %d modules, want %d of %d", v, p, len(p), sum, n, want)
		}
		if v != Stop && bars%2 != 0 {
			t.Errorf("value %d: bars %d modules, want even", v, bars)
		}
		if o, ok := seen[p]; ok {
			t.Errorf("value %d repeats value %d", v, o)
		}
		seen[p] = v
	}
}

func TestWidths(t *testing.T) {
	w, err := Widths("345678")
	if err != nil {
		t.Fatal(err)
	}
	// Start C, 3 data, check, stop: 5×11 + 13 modules.
	sum := 0
	for _, x := range w {
		sum += x
	}
	if sum != 5*11+13 || len(w) != 5*6+7 {
		t.Errorf("got %d modules in %d elements, want 68 in 37", sum, len(w))
	}
	// The start C pattern, as the spec draws it: 11010011100.
	if !slices.Equal(w[:6], []int{2, 1, 1, 2, 3, 2}) {
		t.Errorf("start: got %v", w[:6])
	}
}

func FuzzValues(f *testing.F) {
	for _, s := range []string{"AIM1234", "12", "BX0000001", "1a2b3c4d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := Values(s)
		if err != nil {
			return
		}
		if Check(vals[:len(vals)-1]) != vals[len(vals)-1] {
			t.Fatalf("%q: check mismatch", s)
		}
		for _, v := range vals {
			if v < 0 || v > 105 {
				t.Fatalf("%q: value %d", s, v)
			}
		}
	})
}
