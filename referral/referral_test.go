package referral

import (
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
)

// TestStateMachine checks every (direction, status, action) pair: the
// allowed transitions go where the table says, every other is refused
// with ECONFLICT naming the action and the status.
func TestStateMachine(t *testing.T) {
	want := map[Direction]map[Status]map[Action]Status{
		Up: {
			StatusSent:     {ActAccept: StatusAccepted, ActRedirect: StatusRedirected, ActCancel: StatusCancelled},
			StatusAccepted: {ActArrive: StatusArrived, ActRedirect: StatusRedirected, ActCancel: StatusCancelled},
			StatusArrived:  {ActComplete: StatusCompleted},
		},
		Down: {StatusSent: {ActAcknowledge: StatusAcknowledged, ActCancel: StatusCancelled}},
	}
	acts := []Action{ActAccept, ActRedirect, ActArrive, ActComplete, ActCancel, ActAcknowledge}
	for _, d := range []Direction{Up, Down} {
		for _, s := range Statuses {
			for _, a := range acts {
				got, err := Next(d, Routine, s, a)
				w, ok := want[d][s][a]
				switch {
				case ok && (err != nil || got != w):
					t.Errorf("%s %s --%s--> %s, %v; want %s", d, s, a, got, err, w)
				case !ok && err == nil:
					t.Errorf("%s %s --%s--> %s accepted; want refusal", d, s, a, got)
				case !ok:
					ce := err.(*care.Error)
					if ce.Code != care.ECONFLICT || ce.Key != "referral.transition" || !strings.Contains(ce.Error(), "cannot "+string(a)) || !strings.Contains(ce.Error(), string(s)) {
						t.Errorf("%s %s %s: error %v", d, s, a, err)
					}
				}
			}
		}
	}
	// An emergency may arrive before anyone accepts; a routine one may not.
	if got, err := Next(Up, Emergency, StatusSent, ActArrive); err != nil || got != StatusArrived {
		t.Errorf("emergency sent → arrive: %s %v", got, err)
	}
	for _, s := range []Status{StatusCompleted, StatusRedirected, StatusCancelled, StatusAcknowledged} {
		if !s.Closed() || len(Allowed(Up, Emergency, s)) != 0 || len(Allowed(Down, Routine, s)) != 0 {
			t.Errorf("%s should be closed with no actions", s)
		}
	}
	if SideOf(ActCancel) != Sender || SideOf(ActAccept) != Receiver {
		t.Error("sides")
	}
}

func TestReasons(t *testing.T) {
	if UrgencyFor(Routine, []Reason{HTNNotAtTarget}) != Routine {
		t.Error("routine reason raised the urgency")
	}
	if UrgencyFor(Routine, []Reason{HTNNotAtTarget, EmSevereBP}) != Emergency {
		t.Error("an emergency criterion must make the referral an emergency")
	}
	for _, c := range []string{chronic.ReferTwoUncontrolled, chronic.ReferAdverseUncontrollable, chronic.ReferNewComplication, chronic.ReferWorseComplication} {
		if r := FromChronic(c); !r.Valid() {
			t.Errorf("chronic reason %s → %q", c, r)
		}
	}
	if FromChronic("9") != "" || Reason("bogus").Valid() {
		t.Error("unknown reasons accepted")
	}
}

func TestPercentile(t *testing.T) {
	h := time.Hour
	ds := []time.Duration{10 * h, 2 * h, 4 * h, 7 * h}
	if got := Percentile(ds, 50); got != 4*h {
		t.Errorf("median of 4 = %v, want 4h (2nd smallest)", got)
	}
	if got := Percentile(ds, 90); got != 10*h {
		t.Errorf("p90 of 4 = %v, want 10h", got)
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestIndicatorsFixture checks the indicators against figures computed by
// hand (docs/referral.md shows the same table).
func TestIndicatorsFixture(t *testing.T) {
	const C, T1, T2, V1, V2, H = 1, 10, 20, 11, 21, 2
	units := map[int64][]int64{V1: {T1, C}, T1: {T1, C}, V2: {T2, C}, T2: {T2, C}, H: {C}}
	h := time.Hour
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	facts := []Fact{
		{ID: 1, Direction: Up, Status: StatusCompleted, FromInst: V1, FirstSentAt: t0, ArrivedAt: t0.Add(2 * h)},
		{ID: 2, Direction: Up, Status: StatusArrived, FromInst: V1, OutOfCounty: true, Poverty: true, FirstSentAt: t0, ArrivedAt: t0.Add(10 * h)},
		{ID: 3, Direction: Up, Status: StatusRedirected, FromInst: V1, Poverty: true, FirstSentAt: t0},
		{ID: 4, Direction: Up, Status: StatusArrived, FromInst: T1, Poverty: true, FirstSentAt: t0, ArrivedAt: t0.Add(4 * h)},
		{ID: 5, Direction: Up, Status: StatusSent, FromInst: V2, OutOfCounty: true, FirstSentAt: t0},
		{ID: 6, Direction: Up, Status: StatusCancelled, FromInst: V2, FirstSentAt: t0},
		{ID: 7, Direction: Down, Status: StatusAcknowledged, FromInst: H, ToInst: V1, FirstSentAt: t0},
		{ID: 8, Direction: Down, Status: StatusSent, FromInst: H, ToInst: V2, FirstSentAt: t0},
		{ID: 9, Direction: Up, Status: StatusAccepted, FromInst: H, OutOfCounty: true, FirstSentAt: t0},
	}
	visits := []VisitCount{
		{V1, "village", "outpatient", 50}, {V1, "township", "outpatient", 20}, {V1, "county", "inpatient", 8}, {V1, "out_of_county", "inpatient", 2},
		{V2, "county", "outpatient", 10}, {V2, "out_of_county", "outpatient", 10},
	}
	got := Compute(facts, visits, func(id int64) []int64 { return units[id] })
	type row struct {
		completion, up, down, ooc, oocPoor, inCounty, primary, oocIn Rate
		arrived                                                      int
		median, p90                                                  time.Duration
	}
	want := map[int64]row{
		T1: {Rate{4, 4}, Rate{3, 3}, Rate{1, 1}, Rate{1, 3}, Rate{1, 2}, Rate{78, 80}, Rate{70, 80}, Rate{2, 10}, 3, 4 * h, 10 * h},
		T2: {Rate{0, 3}, Rate{0, 2}, Rate{0, 1}, Rate{1, 2}, Rate{0, 0}, Rate{10, 20}, Rate{0, 20}, Rate{0, 0}, 0, 0, 0},
		C:  {Rate{4, 8}, Rate{3, 6}, Rate{1, 2}, Rate{3, 6}, Rate{1, 2}, Rate{88, 100}, Rate{70, 100}, Rate{2, 10}, 3, 4 * h, 10 * h},
	}
	for u, w := range want {
		g := got[u]
		if g == nil {
			t.Fatalf("unit %d missing", u)
		}
		gr := row{g.Completion, g.UpCompletion, g.DownCompletion, g.OutOfCounty, g.OutOfCountyPoor, g.InCounty, g.Primary, g.OutOfCountyInpatient, g.Arrived, g.MedianArrival, g.P90Arrival}
		if gr != w {
			t.Errorf("unit %d:\n got %+v\nwant %+v", u, gr, w)
		}
	}
	c := got[C]
	if c.Counts[Up][StatusArrived] != 2 || c.Counts[Up][StatusRedirected] != 0 || c.Sent[Up] != 6 || c.Sent[Down] != 2 || c.Visits != 100 {
		t.Errorf("county counts %+v sent %+v visits %d", c.Counts, c.Sent, c.Visits)
	}
	if (Rate{88, 100}).BP() != 8800 || (Rate{1, 3}).BP() != 3333 || (Rate{}).BP() != 0 {
		t.Error("BP")
	}
}
