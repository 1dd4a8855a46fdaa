package reading

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// ctgCSV makes a 4 Hz trace of minutes length: fhr(t) in bpm at second t.
func ctgCSV(minutes float64, fhr func(t float64) float64) string {
	var b strings.Builder
	b.WriteString("time,fhr,uc\n")
	for i := 0; float64(i) < minutes*60*4; i++ {
		t := float64(i) / 4
		fmt.Fprintf(&b, "%.2f,%.1f,%d\n", t, fhr(t), 10+i%40)
	}
	return b.String()
}

// wobble is normal variability: a 10 bpm bandwidth around base.
func wobble(base float64) func(float64) float64 {
	return func(t float64) float64 { return base + 5*math.Sin(2*math.Pi*t/7) }
}

// TestAnalyseFetal checks the FIGO 2015 criteria on synthetic traces.
func TestAnalyseFetal(t *testing.T) {
	decel := func(from, secs, depth float64) func(float64) float64 {
		w := wobble(140)
		return func(t float64) float64 {
			if t >= from && t < from+secs {
				return w(t) - depth
			}
			return w(t)
		}
	}
	cases := []struct {
		name   string
		csv    string
		class  string
		flags  []FetalFlag
		base   float64
		decels int
	}{
		{"normal 40 min", ctgCSV(40, wobble(140)), ClassNormal, nil, 140, 0},
		{"tachycardia (FIGO: > 160 for > 10 min)", ctgCSV(20, wobble(170)), ClassSuspicious, []FetalFlag{FlagTachycardia}, 170, 0},
		{"bradycardia 105", ctgCSV(20, wobble(105)), ClassSuspicious, []FetalFlag{FlagBradycardia}, 105, 0},
		{"baseline < 100 pathological", ctgCSV(20, wobble(92)), ClassPathological, []FetalFlag{FlagBaselineBelow100, FlagBradycardia}, 92, 0},
		{"reduced variability > 50 min", ctgCSV(60, func(t float64) float64 { return 140 + math.Sin(t) }), ClassPathological, []FetalFlag{FlagReducedVariability}, 140, 0},
		{"prolonged deceleration 4 min", ctgCSV(30, decel(600, 240, 40)), ClassSuspicious, []FetalFlag{FlagProlongedDeceleration}, 140, 1},
		{"deceleration over 5 min", ctgCSV(30, decel(600, 360, 40)), ClassPathological, []FetalFlag{FlagProlongedDeceleration, FlagDecelerationOver5Min}, 140, 1},
		{"short deceleration 10 s is none", ctgCSV(20, decel(300, 10, 40)), ClassNormal, nil, 140, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := ParseFetalCSV(strings.NewReader(c.csv))
			if err != nil {
				t.Fatal(err)
			}
			a, _ := AnalyseFetal(tr)
			if a.Class != c.class || !slices.Equal(a.Flags, c.flags) || math.Abs(a.Baseline-c.base) > 1 || a.Decelerations != c.decels {
				t.Errorf("got class %s flags %v baseline %v decels %d; want %s %v %v %d", a.Class, a.Flags, a.Baseline, a.Decelerations, c.class, c.flags, c.base, c.decels)
			}
		})
	}
}

func TestParseFetalCSVFaults(t *testing.T) {
	cases := map[string]string{
		"unknown column": "time,heart\n0,140\n",
		"no fhr column":  "time,uc\n0,10\n",
		"time goes back": "time,fhr\n0,140\n1,140\n0.5,140\n",
		"FHR impossible": "time,fhr\n0,140\n1,300\n",
		"not a number":   "time,fhr\n0,abc\n",
		"too short":      ctgCSV(0.5, wobble(140)),
		"all signal lost": func() string {
			return ctgCSV(5, func(float64) float64 { return 0 })
		}(),
	}
	for name, in := range cases {
		if _, err := ParseFetalCSV(strings.NewReader(in)); !errors.Is(err, ErrFetalFormat) {
			t.Errorf("%s: %v, want ErrFetalFormat", name, err)
		}
	}
	tr, err := ParseFetalCSV(strings.NewReader(ctgCSV(10, func(t float64) float64 {
		if int(t)%60 < 20 {
			return 0
		}
		return 140
	})))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := AnalyseFetal(tr); !slices.Contains(a.Flags, FlagSignalLoss) {
		t.Errorf("a third of the signal lost: flags %v", a.Flags)
	}
}

func FuzzParseFetalCSV(f *testing.F) {
	f.Add(ctgCSV(2, wobble(140)))
	f.Add("time,fhr\n0,140\n")
	f.Add("\xef\xbb\xbftime,fhr,uc\n0,0,0\n1e9,140,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ParseFetalCSV(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFetalFormat) {
				t.Fatalf("error without ErrFetalFormat: %v", err)
			}
			return
		}
		if tr.Seconds() < minFetalSeconds || tr.Seconds() > MaxFetalSeconds {
			t.Fatalf("accepted a trace of %v s", tr.Seconds())
		}
		a, _ := AnalyseFetal(tr)
		if math.IsNaN(a.Baseline) || a.Baseline < 50 || a.Baseline > 240 {
			t.Fatalf("baseline %v", a.Baseline)
		}
	})
}
