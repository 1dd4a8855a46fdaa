package replay

import (
	"math"
	"testing"
	"time"
)

var volumes = []Volume{{Kind: Prescription, PerYear: 498600}, {Kind: ECGRead, PerYear: 71296}, {Kind: Consultation, PerYear: 32000}}

// Plan keeps each kind's yearly volume scaled to the period, in time
// order, numbered per kind, and over round(365 × scale) days.
func TestPlanVolumesAndOrder(t *testing.T) {
	for _, scale := range []float64{1, 0.05, 0.001} {
		evs, err := Plan(Config{Volumes: volumes, Rhythm: DefaultRhythm(), Scale: scale, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		count := map[Kind]int{}
		days := max(1, int(math.Round(365*scale)))
		for i, e := range evs {
			if i > 0 && e.At < evs[i-1].At {
				t.Fatalf("scale %v: event %d before event %d", scale, i, i-1)
			}
			if e.Seq != count[e.Kind] {
				t.Fatalf("scale %v: %s event numbered %d, want %d", scale, e.Kind, e.Seq, count[e.Kind])
			}
			if e.Day() >= days {
				t.Fatalf("scale %v: event on day %d of %d", scale, e.Day(), days)
			}
			count[e.Kind]++
		}
		for _, v := range volumes {
			if want := int(math.Round(float64(v.PerYear) * scale)); count[v.Kind] != want {
				t.Errorf("scale %v: %d %s events, want %d", scale, count[v.Kind], v.Kind, want)
			}
		}
	}
}

// The day's rhythm: the morning peak holds many times the night's events,
// and weekends fewer than weekdays; the same seed gives the same plan.
func TestPlanRhythm(t *testing.T) {
	c := Config{Volumes: volumes, Rhythm: DefaultRhythm(), Scale: 28.0 / 365, Seed: 3, FirstDay: time.Monday}
	evs, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	var hour [24]int
	var weekday [7]int
	for _, e := range evs {
		hour[e.Hour()%24]++
		weekday[e.Day()%7]++
	}
	if hour[10] < 20*hour[3] {
		t.Errorf("10:00 has %d events, 03:00 %d: no morning peak", hour[10], hour[3])
	}
	if weekday[6] > weekday[2]*3/4 {
		t.Errorf("Sunday has %d events, Wednesday %d", weekday[6], weekday[2])
	}
	again, _ := Plan(c)
	if len(again) != len(evs) || again[len(evs)/2] != evs[len(evs)/2] {
		t.Error("the same seed gave another plan")
	}
	hours := ByHour(evs)
	n := 0
	for _, h := range hours {
		for _, e := range h {
			if e.Hour() != h[0].Hour() {
				t.Fatalf("hour %d holds an event of hour %d", h[0].Hour(), e.Hour())
			}
		}
		n += len(h)
	}
	if n != len(evs) {
		t.Errorf("ByHour kept %d of %d events", n, len(evs))
	}
}

// Bad configurations are refused with the fault named.
func TestPlanRefuses(t *testing.T) {
	for _, c := range []Config{
		{Volumes: volumes, Rhythm: DefaultRhythm(), Scale: 0},
		{Volumes: volumes, Rhythm: DefaultRhythm(), Scale: 1.5},
		{Volumes: []Volume{{Kind: Referral, PerYear: -1}}, Rhythm: DefaultRhythm(), Scale: 0.1},
		{Volumes: volumes, Scale: 0.1},
	} {
		if _, err := Plan(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
