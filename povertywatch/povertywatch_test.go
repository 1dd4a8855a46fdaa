package povertywatch

import (
	"strings"
	"testing"

	"countycare/care"
	"countycare/settle"
)

// The lines of the tests: ¥10,000 a year, or 50 % of a recorded income,
// approaching from 80 % (国办发〔2021〕42号 §(五); the amounts are [U]).
var lines = Thresholds{Year: 2026, AbsoluteOOP: 10000 * settle.Yuan, IncomeShare: 5000, Approach: 8000, Basis: BasisTotal}

// TestAssess pins the rule at every edge: the line is the absolute amount
// or the income share when lower; crossed at the line, approaching at
// Approach of it, below under that.
func TestAssess(t *testing.T) {
	for _, tt := range []struct {
		name      string
		c         Cost
		t         Thresholds
		level     Level
		threshold settle.Fen
		byIncome  bool
		share     settle.Ratio
	}{
		{"nothing spent", Cost{}, lines, LevelBelow, 1_000_000, false, 0},
		{"one fen under approaching", Cost{TotalOOP: 799_999}, lines, LevelBelow, 1_000_000, false, 7999},
		{"exactly approaching (80 %)", Cost{TotalOOP: 800_000}, lines, LevelApproaching, 1_000_000, false, 8000},
		{"one fen under the line", Cost{TotalOOP: 999_999}, lines, LevelApproaching, 1_000_000, false, 9999},
		{"exactly the line", Cost{TotalOOP: 1_000_000}, lines, LevelCrossed, 1_000_000, false, 10000},
		{"over the line", Cost{TotalOOP: 2_500_000}, lines, LevelCrossed, 1_000_000, false, 25000},
		// Income ¥8,000: half is ¥4,000, lower than ¥10,000.
		{"income lowers the line", Cost{TotalOOP: 400_000, Income: 800_000}, lines, LevelCrossed, 400_000, true, 10000},
		{"income line, approaching", Cost{TotalOOP: 320_000, Income: 800_000}, lines, LevelApproaching, 400_000, true, 8000},
		{"income line, below", Cost{TotalOOP: 319_999, Income: 800_000}, lines, LevelBelow, 400_000, true, 7999},
		// Income ¥30,000: half is ¥15,000, higher: the absolute line stays.
		{"income above the line leaves it", Cost{TotalOOP: 1_000_000, Income: 3_000_000}, lines, LevelCrossed, 1_000_000, false, 10000},
		// Half of ¥20,000 is exactly ¥10,000: not lower, so not by income.
		{"income share equal to the line", Cost{TotalOOP: 1, Income: 2_000_000}, lines, LevelBelow, 1_000_000, false, 0},
		{"no income share configured", Cost{TotalOOP: 400_000, Income: 800_000}, Thresholds{AbsoluteOOP: 1_000_000, Approach: 8000}, LevelBelow, 1_000_000, false, 4000},
		// The in-policy basis compares the in-policy part only.
		{"in-policy basis", Cost{TotalOOP: 2_000_000, InPolicyOOP: 900_000}, Thresholds{AbsoluteOOP: 1_000_000, Approach: 8000, Basis: BasisInPolicy}, LevelApproaching, 1_000_000, false, 9000},
		{"total basis ignores the in-policy part", Cost{TotalOOP: 900_000, InPolicyOOP: 2_000_000}, lines, LevelApproaching, 1_000_000, false, 9000},
		// An income of 1 fen at 50 % rounds to a line of 1 fen (half up).
		{"tiny income, one fen spent", Cost{TotalOOP: 1, Income: 1}, lines, LevelCrossed, 1, true, 10000},
		// A zero line (0.01 % of a fen rounds to nothing): crossed with the first fen, and not before.
		{"zero line, nothing spent", Cost{Income: 1}, Thresholds{AbsoluteOOP: 1_000_000, IncomeShare: 1, Approach: 8000}, LevelBelow, 0, true, settle.Full},
		{"zero line, one fen", Cost{TotalOOP: 1, Income: 1}, Thresholds{AbsoluteOOP: 1_000_000, IncomeShare: 1, Approach: 8000}, LevelCrossed, 0, true, settle.Full},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := Assess(tt.c, tt.t)
			if a.Level != tt.level || a.Threshold != tt.threshold || a.ByIncome != tt.byIncome || a.Share != tt.share {
				t.Errorf("got %s line %d by income %t share %d, want %s line %d by income %t share %d",
					a.Level, a.Threshold, a.ByIncome, a.Share, tt.level, tt.threshold, tt.byIncome, tt.share)
			}
			if a.Spent != tt.c.OOP(tt.t.Basis) {
				t.Errorf("spent %d, want %d", a.Spent, tt.c.OOP(tt.t.Basis))
			}
		})
	}
}

func TestOOPBasis(t *testing.T) {
	c := Cost{TotalOOP: 5, InPolicyOOP: 3}
	if c.OOP(BasisTotal) != 5 || c.OOP("") != 5 || c.OOP(BasisInPolicy) != 3 {
		t.Errorf("OOP: %d %d %d", c.OOP(BasisTotal), c.OOP(""), c.OOP(BasisInPolicy))
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	for _, y := range []int{2025, 2026} {
		th, err := c.For(y)
		if err != nil || th.AbsoluteOOP != 10000*settle.Yuan || th.IncomeShare != 5000 || th.Approach != 8000 || th.Basis != BasisTotal {
			t.Errorf("built-in %d: %+v %v", y, th, err)
		}
	}
	if _, err := c.For(2031); !care.IsCode(err, care.EINVALID) {
		t.Errorf("a year without lines: %v, want EINVALID", err)
	} else if ce := err.(*care.Error); ce.Key != "povertywatch.no_thresholds" || ce.Args[0] != 2031 {
		t.Errorf("error %+v", ce)
	}
	// The basis defaults to total; years are sorted.
	c, err := ParseConfig([]byte(`{"years":[{"year":2027,"absolute_oop":"9000","approach":"80"},{"year":2026,"absolute_oop":"8000","approach":"50"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Years[0].Year != 2026 || c.Years[1].Basis != BasisTotal || c.Years[0].Approach != 5000 {
		t.Errorf("parsed %+v", c.Years)
	}
	for _, tt := range []struct{ name, json, want string }{
		{"unknown field", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80","threshold":"1"}]}`, "unknown field"},
		{"no years", `{"years":[]}`, "no years"},
		{"twice", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"},{"year":2026,"absolute_oop":"1","approach":"80"}]}`, "twice"},
		{"zero line", `{"years":[{"year":2026,"absolute_oop":"0","approach":"80"}]}`, "positive"},
		{"negative line", `{"years":[{"year":2026,"absolute_oop":"-5","approach":"80"}]}`, "negative"},
		{"approach under 50", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"49.99"}]}`, "approach"},
		{"approach 100", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"100"}]}`, "approach"},
		{"year too early", `{"years":[{"year":1999,"absolute_oop":"9000","approach":"80"}]}`, "out of range"},
		{"year too late", `{"years":[{"year":2101,"absolute_oop":"9000","approach":"80"}]}`, "out of range"},
		{"unknown basis", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80","basis":"net"}]}`, "unknown basis"},
		{"number for money", `{"years":[{"year":2026,"absolute_oop":9000,"approach":"80"}]}`, "strings"},
		{"office phone short", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["1390000111"]}`, "not a mainland mobile"},
		{"office phone long", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["139000011112"]}`, "not a mainland mobile"},
		{"office phone from 2", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["23900001111"]}`, "not a mainland mobile"},
		{"office phone letter", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["1390000111x"]}`, "not a mainland mobile"},
		{"office phone with a slash", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["1390000/111"]}`, "not a mainland mobile"},
		{"office phone twice", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["13900001111","13900001111"]}`, "twice"},
		{"office phone twice, written differently", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["13900001111","+86 139-0000-1111"]}`, "twice"},
		{"office phone from 12", `{"years":[{"year":2026,"absolute_oop":"9000","approach":"80"}],"office_phones":["12900001111"]}`, "not a mainland mobile"},
	} {
		if _, err := ParseConfig([]byte(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// The edges that pass: 50 %, 99.99 %, years 2000 and 2100; the lowest and
	// highest mobile numbers, one written with spaces and the country code
	// (kept as the 11 digits the SMS platforms take).
	if c, err := ParseConfig([]byte(`{"years":[{"year":2000,"absolute_oop":"0.01","approach":"50"},{"year":2100,"absolute_oop":"1","approach":"99.99","basis":"in_policy"}],
		"office_phones":["+86 130 0000 0000","19999999999"]}`)); err != nil || len(c.OfficePhones) != 2 || c.OfficePhones[0] != "13000000000" {
		t.Errorf("edges refused or not normalised: %v %v", err, c.OfficePhones)
	}
}

func TestActionKinds(t *testing.T) {
	for _, k := range ActionKinds {
		if !k.Valid() {
			t.Errorf("%s not valid", k)
		}
	}
	if ActionKind("").Valid() || ActionKind("deleted").Valid() {
		t.Error("an unknown kind is valid")
	}
}
