// Package replay is the event model of `countycare bench replay` (issue 15
// §3): a county's year of clinical work as a timed list of events, in the
// seeds' yearly volumes and a working day's rhythm, for a load generator to
// send through the HTTP API. It knows nothing of HTTP or the database.
package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Kind is one kind of clinical event of the year.
type Kind string

// The kinds of events a county-year holds.
const (
	Prescription Kind = "prescription" // a doctor signs a prescription; the regional review (区域审方) runs on it
	Settlement   Kind = "settlement"   // one-stop settlement of a visit at the county hospital
	FollowUp     Kind = "followup"     // a chronic follow-up (随访) by the village doctor
	HomeVisit    Kind = "home_visit"   // a family doctor's home visit (送医送护)
	Checkup      Kind = "checkup"      // a free health check-up recorded under a contract
	Contract     Kind = "contract"     // a family doctor contract signed (签约)
	Consultation Kind = "consultation" // a remote consultation (远程会诊) asked and answered
	Referral     Kind = "referral"     // an up-referral (转诊) sent and accepted
	ECGRead      Kind = "ecg"          // an ECG sent by a clinic and read at the diagnosis center (基层检查、上级诊断)
	ImagingRead  Kind = "imaging"      // an imaging study (DR) sent by a clinic and read at the imaging center
)

// Volume is how many events of a kind a county has in a year.
type Volume struct {
	Kind    Kind
	PerYear int
	Source  string // where the figure comes from
}

// Rhythm is when events happen: weights of the hours of a day (0–23,
// Asia/Shanghai) and of the days of a week (Monday first). A weight is
// relative; zero means never.
type Rhythm struct {
	Hours    [24]float64
	Weekdays [7]float64
}

// DefaultRhythm is an outpatient day of a Chinese county: clinics open at
// 8:00, a morning peak at 9–11, a lunch break, an afternoon peak at 14–17
// and a little evening and night work (emergencies, the county hospital's
// wards); weekends at about 60 %. The seeds give yearly volumes only, so
// this curve is an assumption, kept as configuration (Config.Rhythm).
func DefaultRhythm() Rhythm {
	return Rhythm{
		Hours: [24]float64{
			0.3, 0.2, 0.2, 0.2, 0.2, 0.3, // 0–5
			0.6, 1.5, 6, 10, 11, 9, // 6–11
			3, 2.5, 8, 9, 8, 5, // 12–17
			2.5, 1.5, 1, 0.8, 0.5, 0.4, // 18–23
		},
		Weekdays: [7]float64{1, 1, 1, 1, 1, 0.6, 0.6},
	}
}

// Event is one event of the replayed period.
type Event struct {
	At   time.Duration // since the period's first midnight
	Kind Kind
	Seq  int // 0, 1, 2… within its kind, in time order
}

// Day is the event's day in the period (0 first).
func (e Event) Day() int { return int(e.At / (24 * time.Hour)) }

// Hour is the event's hour since the period's start (Day()*24 + hour of the day).
func (e Event) Hour() int { return int(e.At / time.Hour) }

// Config selects the period and its events.
type Config struct {
	Volumes []Volume
	Rhythm  Rhythm
	// Scale is the fraction of a year replayed: its days are
	// max(1, round(365 × Scale)) and each kind has round(PerYear × Scale)
	// events (at least one when PerYear > 0), so a day keeps its real
	// intensity. Below one day's fraction the one day is thinned.
	Scale    float64
	Seed     uint64
	FirstDay time.Weekday // weekday of the period's first day
}

// Plan is the period's events in time order. Errors: a scale outside
// (0, 1], a negative volume, or a rhythm with no weight.
func Plan(c Config) ([]Event, error) {
	if !(c.Scale > 0 && c.Scale <= 1) {
		return nil, fmt.Errorf("replay: scale %v is not in (0, 1]", c.Scale)
	}
	days := max(1, int(math.Round(365*c.Scale)))
	var hourW, dayW []float64
	for _, w := range c.Rhythm.Hours {
		hourW = append(hourW, w)
	}
	for d := 0; d < days; d++ {
		dayW = append(dayW, c.Rhythm.Weekdays[(int(c.FirstDay)+6+d)%7]) // Monday is index 0
	}
	hours, err := newPicker(hourW)
	if err != nil {
		return nil, fmt.Errorf("replay: hours: %w", err)
	}
	dayPick, err := newPicker(dayW)
	if err != nil {
		return nil, fmt.Errorf("replay: weekdays: %w", err)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 15))
	var out []Event
	for _, v := range c.Volumes {
		if v.PerYear < 0 {
			return nil, fmt.Errorf("replay: %s: negative volume %d", v.Kind, v.PerYear)
		}
		n := int(math.Round(float64(v.PerYear) * c.Scale))
		if n == 0 && v.PerYear > 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			d := dayPick.pick(rng)
			h := hours.pick(rng)
			at := time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(rng.Int64N(int64(time.Hour)))
			out = append(out, Event{At: at, Kind: v.Kind})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	seq := map[Kind]int{}
	for i := range out {
		out[i].Seq = seq[out[i].Kind]
		seq[out[i].Kind]++
	}
	return out, nil
}

// ByHour splits time-ordered events into the hours of the period that
// have any, in order.
func ByHour(evs []Event) [][]Event {
	var out [][]Event
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && evs[j].Hour() == evs[i].Hour() {
			j++
		}
		out = append(out, evs[i:j])
		i = j
	}
	return out
}

// picker draws an index with probability proportional to its weight.
type picker struct{ cum []float64 }

func newPicker(w []float64) (*picker, error) {
	p := &picker{}
	t := 0.0
	for _, x := range w {
		if x < 0 || math.IsNaN(x) {
			return nil, fmt.Errorf("weight %v", x)
		}
		t += x
		p.cum = append(p.cum, t)
	}
	if t == 0 {
		return nil, fmt.Errorf("every weight is zero")
	}
	return p, nil
}

func (p *picker) pick(rng *rand.Rand) int {
	x := rng.Float64() * p.cum[len(p.cum)-1]
	return sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > x })
}
