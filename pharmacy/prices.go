package pharmacy

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"countycare/rx"
)

// Price is a drug's retail price per dispensing unit in fen and its
// insurance category (甲类 "A", 乙类 "B", 丙类 "C", the keys of a
// settlement policy's categories).
type Price struct {
	UnitFen  int64
	Category string
}

// PriceList is a county's drug prices by formulary code.
type PriceList map[string]Price

//go:embed prices-example.psv
var examplePrices []byte

// ExamplePrices is the price list shipped as an example: ILLUSTRATIVE
// figures of the order of magnitude of centrally procured (集采) generics,
// not any province's published prices. A county loads its own. Drugs a
// replaced knowledge base (serve --rx-kb) lacks are left out.
func ExamplePrices(kb *rx.KB) (PriceList, error) { return parsePrices(examplePrices, kb, true) }

// ParsePrices reads "code|unit price in yuan|category" lines ('#'
// comments). Errors name the line: an unknown drug, a price that is not a
// positive amount with at most two decimals, a category other than A, B, C.
func ParsePrices(b []byte, kb *rx.KB) (PriceList, error) { return parsePrices(b, kb, false) }

func parsePrices(b []byte, kb *rx.KB, skipUnknown bool) (PriceList, error) {
	out := PriceList{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return nil, fmt.Errorf("pharmacy: prices line %d: want 3 fields", n)
		}
		if kb.Drug(f[0]) == nil {
			if skipUnknown {
				continue
			}
			return nil, fmt.Errorf("pharmacy: prices line %d: unknown drug %q", n, f[0])
		}
		fen, err := ParseYuan(f[1])
		if err != nil || fen <= 0 {
			return nil, fmt.Errorf("pharmacy: prices line %d: bad price %q", n, f[1])
		}
		if f[2] != "A" && f[2] != "B" && f[2] != "C" {
			return nil, fmt.Errorf("pharmacy: prices line %d: category %q is not A, B or C", n, f[2])
		}
		out[f[0]] = Price{UnitFen: fen, Category: f[2]}
	}
	return out, sc.Err()
}

// ParseYuan parses "12", "12.5" or "12.50" yuan into fen, exactly.
func ParseYuan(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("pharmacy: bad amount %q", s)
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || y > 1e9 {
		return 0, fmt.Errorf("pharmacy: bad amount %q", s)
	}
	f := int64(0)
	if frac != "" {
		for len(frac) < 2 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("pharmacy: bad amount %q", s)
		}
	}
	return y*100 + f, nil
}
