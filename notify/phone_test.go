package notify

import "testing"

// TestNormalizePhone pins the mobile-number rule (phone.go): 11 digits
// from 13–19, with spaces, dashes and a +86/86 prefix removed.
func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"13900001111":       "13900001111",
		" 139-0000-1111 ":   "13900001111",
		"+8613900001111":    "13900001111",
		"8613900001111":     "13900001111",
		"+86 139 0000 1111": "13900001111",
		"13000000000":       "13000000000", // the lowest network digit taken
		"19999999999":       "19999999999",
		"12999999999":       "", // 12…: not a mobile number
		"10000000000":       "",
		"1390000111":        "", // 10 digits
		"139000011112":      "", // 12 digits
		"23900001111":       "", // not from 1
		"1390000111x":       "",
		"1390000/111":       "",
		"8813900001111":     "", // 13 digits without the 86 prefix
		"86139000011":       "", // 86 taken off only from 13 digits
		"":                  "",
	} {
		if got := NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}
