// Package idcard parses and checks Chinese resident identity numbers
// (公民身份号码) as defined by GB 11643-1999: 6-digit administrative area
// code, 8-digit birth date YYYYMMDD, 3-digit sequence (odd for men, even
// for women) and an ISO 7064 MOD 11-2 check character (0-9 or X).
//
// Parse accepts the current 18-character form (x or X) and the old
// 15-digit form (YYMMDD birth date, no check character, issued before
// 1999), which it converts to 18 characters. Every error names its fault
// so the user can correct the number.
package idcard

import (
	"fmt"
	"strings"
	"time"
)

// Number is a checked 18-character identity number with an upper-case X.
type Number string

// Sex of the holder as encoded in the sequence digits.
type Sex string

// Sexes per GB 11643-1999 §5.3: odd sequence = male, even = female.
const (
	Male   Sex = "M"
	Female Sex = "F"
)

// Fault names what is wrong with a number. Its Key is a message catalogue
// key (web/i18n), Args its arguments.
type Fault struct {
	Key  string
	Args []any
}

func (f *Fault) Error() string { return fmt.Sprintf("idcard: %s %v", f.Key, f.Args) }

// weights are the GB 11643-1999 check weights w_i = 2^(17-i) mod 11.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkChars maps S mod 11 to the check character (GB 11643-1999 §5.4).
const checkChars = "10X98765432"

// provinces are the first two digits of valid area codes (GB/T 2260).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true, "91": true,
}

// CheckChar returns the check character for the first 17 digits.
// It panics if first17 is not 17 ASCII digits; callers check first.
func CheckChar(first17 string) byte {
	s := 0
	for i := 0; i < 17; i++ {
		s += int(first17[i]-'0') * weights[i]
	}
	return checkChars[s%11]
}

// Parse checks s and returns the normalised 18-character number. today is
// the current date in China (birth dates after it are rejected). Spaces
// around s are ignored; spaces inside are not.
//
// Faults (Key): idcard.empty, idcard.length, idcard.char, idcard.area,
// idcard.birth_date, idcard.birth_future, idcard.birth_too_old,
// idcard.check_digit.
func Parse(s string, today time.Time) (Number, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &Fault{Key: "idcard.empty"}
	}
	n := len(s)
	if n != 18 && n != 15 {
		return "", &Fault{Key: "idcard.length", Args: []any{len([]rune(s))}}
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if n == 18 && i == 17 && (c == 'X' || c == 'x') {
			continue
		}
		return "", &Fault{Key: "idcard.char", Args: []any{i + 1}}
	}
	if !provinces[s[:2]] {
		return "", &Fault{Key: "idcard.area", Args: []any{s[:6]}}
	}
	var birth string
	if n == 15 {
		birth = "19" + s[6:12]
	} else {
		birth = s[6:14]
	}
	bd, err := time.Parse("20060102", birth)
	if err != nil {
		return "", &Fault{Key: "idcard.birth_date", Args: []any{birth}}
	}
	if bd.After(today) {
		return "", &Fault{Key: "idcard.birth_future", Args: []any{birth}}
	}
	if bd.Year() < 1880 {
		return "", &Fault{Key: "idcard.birth_too_old", Args: []any{birth}}
	}
	if n == 15 {
		first17 := s[:6] + "19" + s[6:15]
		return Number(first17 + string(CheckChar(first17))), nil
	}
	want := CheckChar(s[:17])
	got := s[17]
	if got == 'x' {
		got = 'X'
	}
	if got != want {
		return "", &Fault{Key: "idcard.check_digit", Args: []any{string(want), string(got)}}
	}
	return Number(s[:17] + string(got)), nil
}

// Make builds a valid number from an area code (6 digits), a birth date
// and a sequence 0–999. It is used by the demo generator and tests.
func Make(area string, birth time.Time, seq int) Number {
	first17 := fmt.Sprintf("%s%s%03d", area, birth.Format("20060102"), seq%1000)
	return Number(first17 + string(CheckChar(first17)))
}

// Area returns the six-digit administrative area code.
func (n Number) Area() string { return string(n[:6]) }

// BirthDate returns the encoded birth date (midnight UTC).
func (n Number) BirthDate() time.Time {
	t, _ := time.Parse("20060102", string(n[6:14]))
	return t
}

// Sex returns the sex encoded in the sequence (GB 11643-1999 §5.3).
func (n Number) Sex() Sex {
	if (n[16]-'0')%2 == 1 {
		return Male
	}
	return Female
}

// Masked returns n with the birth date and sequence hidden:
// the first six and last four characters stay ("411723********123X").
func (n Number) Masked() string { return Mask(string(n)) }

// Mask hides all but the first six and last four characters of an
// identity number (or any identifier longer than ten characters); shorter
// strings are hidden completely.
func Mask(s string) string {
	if len(s) <= 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:6] + strings.Repeat("*", len(s)-10) + s[len(s)-4:]
}
