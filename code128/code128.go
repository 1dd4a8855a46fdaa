// Package code128 encodes text as a Code 128 bar code (ISO/IEC 15417),
// the symbology of specimen tube labels: the symbol values with their
// modulo-103 check character, and the widths of the bars and spaces that a
// page draws. It uses code sets B (printable ASCII) and C (digit pairs),
// switching to C for runs of four or more digits, and imports nothing of
// the module.
package code128

import (
	"errors"
	"fmt"
)

// Symbol values with a special meaning (ISO/IEC 15417 §4.3, Table 1).
const (
	CodeC  = 99  // switch to code set C (from A or B)
	CodeB  = 100 // switch to code set B (from A or C)
	StartA = 103
	StartB = 104
	StartC = 105
	Stop   = 106
)

// MaxLen is the longest text Encode accepts: a tube label holds about 20
// characters at a scannable module width.
const MaxLen = 40

// ErrInput is returned for text Encode cannot represent: empty, longer
// than MaxLen, or with a character outside printable ASCII.
var ErrInput = errors.New("code128: cannot encode")

// patterns are the widths of the bars and spaces of each symbol value,
// bar first, in modules (ISO/IEC 15417 Table 1); Stop has a seventh
// element, the termination bar.
var patterns = [107]string{
	"212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
	"221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
	"221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
	"212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
	"231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
	"231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
	"314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
	"112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
	"111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
	"214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
	"114131", "311141", "411131", "211412", "211214", "211232", "2331112",
}

// Values returns the symbol values of text: the start character, the data
// (with code-set switches) and the check character, without Stop. Errors:
// ErrInput.
func Values(text string) ([]int, error) {
	if text == "" || len(text) > MaxLen {
		return nil, fmt.Errorf("%w: length %d (1 to %d)", ErrInput, len(text), MaxLen)
	}
	for i := 0; i < len(text); i++ {
		if text[i] < 32 || text[i] > 126 {
			return nil, fmt.Errorf("%w: character %q at %d is not printable ASCII", ErrInput, text[i], i+1)
		}
	}
	var vals []int
	lead := digits(text, 0)
	setC := lead >= 4 || (lead == len(text) && lead%2 == 0)
	if setC {
		vals = append(vals, StartC)
	} else {
		vals = append(vals, StartB)
	}
	for i := 0; i < len(text); {
		if n := digits(text, i); n >= 4 || (setC && n >= 2) {
			n -= n % 2 // an odd digit left over goes in code set B
			if !setC {
				vals, setC = append(vals, CodeC), true
			}
			for j := i; j < i+n; j += 2 {
				vals = append(vals, int(text[j]-'0')*10+int(text[j+1]-'0'))
			}
			i += n
			continue
		}
		if setC {
			vals, setC = append(vals, CodeB), false
		}
		vals = append(vals, int(text[i])-32)
		i++
	}
	return append(vals, Check(vals)), nil
}

// Check is the check character of symbol values that begin with a start
// character (ISO/IEC 15417 §4.6): the start value plus each following
// value times its position (1, 2, …), modulo 103.
func Check(vals []int) int {
	if len(vals) == 0 {
		return 0
	}
	sum := vals[0]
	for i, v := range vals[1:] {
		sum += v * (i + 1)
	}
	return sum % 103
}

// digits counts the digits from text[i] on.
func digits(text string, i int) int {
	n := 0
	for i+n < len(text) && text[i+n] >= '0' && text[i+n] <= '9' {
		n++
	}
	return n
}

// Widths returns the bar and space widths of text's whole symbol, in
// modules, bar first: start, data, check, Stop and its termination bar
// (the quiet zones of 10 modules either side are the drawer's). Errors:
// ErrInput.
func Widths(text string) ([]int, error) {
	vals, err := Values(text)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, (len(vals)+1)*6+1)
	for _, v := range append(vals, Stop) {
		for _, c := range patterns[v] {
			out = append(out, int(c-'0'))
		}
	}
	return out, nil
}
