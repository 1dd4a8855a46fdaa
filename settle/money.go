package settle

import (
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount of money in fen (分, 0.01 yuan). All money in
// countycare is integer fen; there are no floating-point amounts.
type Fen int64

// Yuan is one yuan in fen.
const Yuan Fen = 100

// ParseYuan reads an amount written in yuan with at most two decimals:
// "6269", "6,269.00", "12.5". It refuses negative amounts, fractions of a
// fen ("1.234"), exponents and anything else, naming the fault.
func ParseYuan(s string) (Fen, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	if t == "" {
		return 0, fmt.Errorf("empty amount")
	}
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("negative amount %q", s)
	}
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" || !allDigits(intPart) || hasDot && (frac == "" || !allDigits(frac)) {
		return 0, fmt.Errorf("%q is not an amount in yuan", s)
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("%q has a fraction of a fen", s)
	}
	if len(intPart) > 12 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	y, _ := strconv.ParseInt(intPart, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	return Fen(y*100 + f), nil
}

// String formats f as yuan with two decimals: "6269.00".
func (f Fen) String() string {
	var buf [24]byte
	b := buf[:0]
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	b = strconv.AppendInt(b, int64(f)/100, 10)
	c := int64(f) % 100
	b = append(b, '.', byte('0'+c/10), byte('0'+c%10))
	return string(b)
}

// MarshalJSON writes f as a JSON string in yuan ("6269.00").
func (f Fen) MarshalJSON() ([]byte, error) { return []byte(`"` + f.String() + `"`), nil }

// UnmarshalJSON reads a JSON string in yuan. A JSON number is refused:
// 1250 could mean fen or yuan, and money must not be guessed.
func (f *Fen) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("amounts are strings in yuan, e.g. \"12.50\", not %s", clipBytes(b))
	}
	return f.UnmarshalText(b[1 : len(b)-1])
}

func clipBytes(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "…"
	}
	return string(b)
}

// MarshalText writes f as yuan ("6269.00"), which is also how files hold amounts.
func (f Fen) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads yuan with ParseYuan.
func (f *Fen) UnmarshalText(b []byte) error {
	v, err := ParseYuan(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Ratio is a percentage in basis points: 10000 is 100 %, 5550 is 55.5 %.
type Ratio int64

// Full is 100 %.
const Full Ratio = 10000

// ParsePercent reads a percentage with at most two decimals: "55", "62.5".
// It refuses negative values and values over 100.
func ParsePercent(s string) (Ratio, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" || !allDigits(intPart) || hasDot && (frac == "" || !allDigits(frac)) || len(frac) > 2 || len(intPart) > 3 {
		return 0, fmt.Errorf("%q is not a percentage", s)
	}
	p, _ := strconv.ParseInt(intPart, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	r := Ratio(p*100 + f)
	if r > Full {
		return 0, fmt.Errorf("%q is over 100 %%", s)
	}
	return r, nil
}

// String formats r as a percentage: "55%", "62.5%".
func (r Ratio) String() string {
	var buf [16]byte
	b := strconv.AppendInt(buf[:0], int64(r)/100, 10)
	if c := int64(r) % 100; c != 0 {
		b = append(b, '.', byte('0'+c/10))
		if c%10 != 0 {
			b = append(b, byte('0'+c%10))
		}
	}
	return string(append(b, '%'))
}

// MarshalJSON writes r as a JSON string percentage ("55").
func (r Ratio) MarshalJSON() ([]byte, error) {
	b, _ := r.MarshalText()
	return []byte(`"` + string(b) + `"`), nil
}

// UnmarshalJSON reads a percentage given as a JSON string ("55", "62.5").
func (r *Ratio) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("percentages are strings, e.g. \"55\", not %s", clipBytes(b))
	}
	return r.UnmarshalText(b[1 : len(b)-1])
}

// MarshalText writes r as a percentage without the sign ("55", "62.5").
func (r Ratio) MarshalText() ([]byte, error) { return []byte(strings.TrimSuffix(r.String(), "%")), nil }

// UnmarshalText reads a percentage with ParsePercent.
func (r *Ratio) UnmarshalText(b []byte) error {
	v, err := ParsePercent(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Of returns r × f rounded half up to the fen (四舍五入).
func (r Ratio) Of(f Fen) Fen { return Fen(roundDiv(int64(f)*int64(r), int64(Full))) }

// roundDiv returns n/d rounded half up, for n ≥ 0, d > 0.
func roundDiv(n, d int64) int64 { return (n + d/2) / d }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
