package childhealth

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Indicator is one of the WHO growth indicators (生长发育评价指标).
type Indicator string

// The indicators this package scores.
const (
	WeightForAge  Indicator = "wfa"  // 年龄别体重 (WAZ)
	HeightForAge  Indicator = "lhfa" // 年龄别身长/身高 (HAZ)
	WeightForLen  Indicator = "wfl"  // 身长别体重, 45–110 cm, under 2 years
	WeightForHt   Indicator = "wfh"  // 身高别体重, 65–120 cm, from 2 years
	BMIForAge     Indicator = "bfa"  // 年龄别 BMI (BAZ)
	lengthAgeDays           = 731    // from day 731 the standards use standing height
)

//go:embed who/*.tsv
var whoFiles embed.FS

type lms struct{ x, l, m, s float64 }

// tables: indicator → sex (1 boys, 2 girls) → rows by x.
var (
	tablesOnce sync.Once
	tables     map[Indicator][3][]lms
	tablesErr  error
)

func loadTables() {
	tables = map[Indicator][3][]lms{}
	for _, ind := range []Indicator{WeightForAge, HeightForAge, WeightForLen, WeightForHt, BMIForAge} {
		b, err := whoFiles.ReadFile("who/" + string(ind) + ".tsv")
		if err != nil {
			tablesErr = err
			return
		}
		var t [3][]lms
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Split(line, "\t")
			if len(f) != 5 {
				tablesErr = fmt.Errorf("childhealth: %s.tsv: bad line %q", ind, line)
				return
			}
			var v [5]float64
			for i := range f {
				if v[i], err = strconv.ParseFloat(f[i], 64); err != nil {
					tablesErr = fmt.Errorf("childhealth: %s.tsv: %w", ind, err)
					return
				}
			}
			sex := int(v[0])
			if sex != 1 && sex != 2 {
				tablesErr = fmt.Errorf("childhealth: %s.tsv: sex %v", ind, v[0])
				return
			}
			t[sex] = append(t[sex], lms{v[1], v[2], v[3], v[4]})
		}
		for s := 1; s <= 2; s++ {
			sort.Slice(t[s], func(i, j int) bool { return t[s][i].x < t[s][j].x })
		}
		tables[ind] = t
	}
}

// params returns the L, M, S of ind for sex at x (age in days or length
// in cm), interpolated linearly between the table's rows; ok is false
// outside the table.
func params(ind Indicator, sex Sex, x float64) (lms, bool) {
	tablesOnce.Do(loadTables)
	if tablesErr != nil || (sex != Boy && sex != Girl) {
		return lms{}, false
	}
	rows := tables[ind][sex]
	if len(rows) == 0 || x < rows[0].x || x > rows[len(rows)-1].x {
		return lms{}, false
	}
	i := sort.Search(len(rows), func(i int) bool { return rows[i].x >= x })
	if rows[i].x == x || i == 0 {
		return rows[i], true
	}
	a, b := rows[i-1], rows[i]
	f := (x - a.x) / (b.x - a.x)
	mix := func(p, q float64) float64 { return p + (q-p)*f }
	return lms{x, mix(a.l, b.l), mix(a.m, b.m), mix(a.s, b.s)}, true
}

// valueAt is the measurement at z-score z: M(1+LSz)^(1/L) (Cole's LMS).
func (p lms) valueAt(z float64) float64 {
	if p.l == 0 {
		return p.m * math.Exp(p.s*z)
	}
	return p.m * math.Pow(1+p.l*p.s*z, 1/p.l)
}

// ZScoreLMS is the LMS method's z-score of y: ((y/M)^L − 1)/(L·S), or
// ln(y/M)/S when L is 0 (Cole & Green 1992, as in the WHO Child Growth
// Standards' methods, 2006, ch. 7). With restricted true, beyond ±3 the
// WHO's adjustment applies (the distance in units of the 2–3 SD interval,
// "Computation of centiles and z-scores", WHO 2006 p. 302), which the WHO
// uses for weight-based indicators whose right tail the LMS overstretches.
func ZScoreLMS(l, m, s, y float64, restricted bool) float64 {
	p := lms{l: l, m: m, s: s}
	var z float64
	if l == 0 {
		z = math.Log(y/m) / s
	} else {
		z = (math.Pow(y/m, l) - 1) / (l * s)
	}
	if !restricted {
		return z
	}
	switch {
	case z > 3:
		sd3, sd2 := p.valueAt(3), p.valueAt(2)
		z = 3 + (y-sd3)/(sd3-sd2)
	case z < -3:
		sd3, sd2 := p.valueAt(-3), p.valueAt(-2)
		z = -3 + (y-sd3)/(sd2-sd3)
	}
	return z
}

// Z is the z-score of measurement y for ind at x (age in days for the
// age-based indicators, length or height in cm for wfl and wfh). ok is
// false when x lies outside the WHO table (a weight-for-length beyond
// 110 cm, an age past 6 years).
func Z(ind Indicator, sex Sex, x, y float64) (z float64, ok bool) {
	p, ok := params(ind, sex, x)
	if !ok || y <= 0 {
		return 0, false
	}
	return ZScoreLMS(p.l, p.m, p.s, y, ind != HeightForAge), true
}

// Curve is one line of a growth chart: the measurement at a z-score over
// x. It returns the points of ind for sex from x0 to x1 in steps.
func Curve(ind Indicator, sex Sex, z, x0, x1, step float64) [][2]float64 {
	var out [][2]float64
	for x := x0; x <= x1+1e-9; x += step {
		if p, ok := params(ind, sex, x); ok {
			out = append(out, [2]float64{x, p.valueAt(z)})
		}
	}
	return out
}

// Scores are a check's z-scores; a nil field was not computable (no
// measurement, or outside the WHO table's range).
type Scores struct {
	WAZ *float64 `json:"waz,omitempty"` // weight-for-age
	HAZ *float64 `json:"haz,omitempty"` // length/height-for-age
	WHZ *float64 `json:"whz,omitempty"` // weight-for-length/height
	BAZ *float64 `json:"baz,omitempty"` // BMI-for-age
}

// Score computes the z-scores of a measurement at ageDays: weight in grams,
// length or height in millimetres (0: not measured). Under 731 days the
// weight-for-length table applies, from 731 days weight-for-height (WHO
// 2006: recumbent length to 2 years, standing height after).
func Score(sex Sex, ageDays int, weightG, lengthMM int) Scores {
	var sc Scores
	kg, cm := float64(weightG)/1000, float64(lengthMM)/10
	age := float64(ageDays)
	put := func(dst **float64, ind Indicator, x, y float64) {
		if z, ok := Z(ind, sex, x, y); ok {
			z = math.Round(z*100) / 100
			*dst = &z
		}
	}
	if weightG > 0 {
		put(&sc.WAZ, WeightForAge, age, kg)
	}
	if lengthMM > 0 {
		put(&sc.HAZ, HeightForAge, age, cm)
	}
	if weightG > 0 && lengthMM > 0 {
		if ageDays < lengthAgeDays {
			put(&sc.WHZ, WeightForLen, cm, kg)
		} else {
			put(&sc.WHZ, WeightForHt, cm, kg)
		}
		put(&sc.BAZ, BMIForAge, age, kg/(cm/100*cm/100))
	}
	return sc
}

// ValueAt is the measurement of ind for sex at x that scores z (the
// inverse of Z): a growth chart's curve point or a demo child's weight.
// ok is false outside the table.
func ValueAt(ind Indicator, sex Sex, x, z float64) (float64, bool) {
	p, ok := params(ind, sex, x)
	if !ok {
		return 0, false
	}
	return p.valueAt(z), true
}
