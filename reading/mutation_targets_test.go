package reading

// Boundary tests of the turnaround targets (docs/reading.md "Turnaround
// targets and escalation"), added for mutation testing (issue 18 §6).

import (
	"strings"
	"testing"
	"time"
)

// TestDefaultTargetsPerModality pins the defaults of docs/reading.md: ECG 15 min
// (issue #5), DR 30, US 30, CT 60, MR 60, FHM 15, FUNDUS and SKIN 24 hours,
// others 60; CR and DX are read as DR.
func TestDefaultTargetsPerModality(t *testing.T) {
	d := DefaultTargets()
	for m, want := range map[string]time.Duration{
		"ECG": 15 * time.Minute, "DR": 30 * time.Minute, "CR": 30 * time.Minute, "DX": 30 * time.Minute,
		"US": 30 * time.Minute, "CT": time.Hour, "MR": time.Hour, "FHM": 15 * time.Minute,
		"FUNDUS": 24 * time.Hour, "SKIN": 24 * time.Hour, "XA": time.Hour, "OT": time.Hour,
	} {
		if got := d.Target(m); got != want {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
}

// TestBreachedAtTheDueTime pins "a study is late only once its due time has
// passed (a report signed at the due time is on time)" and that an escalated
// study stays breached.
func TestBreachedAtTheDueTime(t *testing.T) {
	up := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	due := up.Add(15 * time.Minute)
	open := &Study{Status: FlowWaiting, UploadedAt: up, DueAt: due}
	if open.Breached(due) {
		t.Error("open at the due time: not yet late")
	}
	if !open.Breached(due.Add(time.Nanosecond)) {
		t.Error("open past the due time: late")
	}
	done := &Study{Status: FlowReported, UploadedAt: up, DueAt: due}
	if done.Breached(due.Add(time.Hour)) {
		t.Error("reported, never escalated: not late")
	}
	esc := &Study{Status: FlowReported, UploadedAt: up, DueAt: due, BreachedAt: due.Add(time.Second)}
	if !esc.Breached(up) {
		t.Error("escalated once: breached for good")
	}
}

// TestDeadlineAfterEscalation pins the report deadline (报告时限): the stored
// due time until the first escalation, then upload + the modality's target
// (the moved-on due time is the next reminder, not the deadline).
func TestDeadlineAfterEscalation(t *testing.T) {
	up := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	s := &Study{Modality: "CT", UploadedAt: up, DueAt: up.Add(45 * time.Minute)}
	if got := s.Deadline(DefaultTargets()); !got.Equal(up.Add(45 * time.Minute)) {
		t.Errorf("not escalated: %v", got)
	}
	s.Escalations, s.DueAt = 1, up.Add(2*time.Hour)
	if got := s.Deadline(DefaultTargets()); !got.Equal(up.Add(time.Hour)) {
		t.Errorf("escalated: %v, want upload + 60 min", got)
	}
}

// TestFetalClassFromPriority pins docs/reading.md: a trace's priority is its
// FIGO 2015 class, 2 pathological, 1 suspicious, 0 normal; other kinds have none.
func TestFetalClassFromPriority(t *testing.T) {
	for p, want := range map[int]string{0: ClassNormal, 1: ClassSuspicious, 2: ClassPathological, 3: ClassPathological} {
		if got := (&Study{Kind: KindFetal, Priority: p}).FetalClass(); got != want {
			t.Errorf("priority %d: %q, want %q", p, got, want)
		}
	}
	if got := (&Study{Kind: KindECG, Priority: 2}).FetalClass(); got != "" {
		t.Errorf("an ECG: %q", got)
	}
}

// TestWithinTargetAtTheTarget pins the indicator "how many were within the
// target" (docs/reading.md "Indicators"): a report signed exactly at upload +
// target is within it, one a second later is not; the pre-read-normal share
// counts reported ECGs only.
func TestWithinTargetAtTheTarget(t *testing.T) {
	up := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	rows := []StatRow{
		{Modality: "ECG", ClinicName: "a", ReaderName: "r", PreRead: PreReadNormal, Normal: true, UploadedAt: up, ReportedAt: up.Add(15 * time.Minute)},
		{Modality: "ECG", ClinicName: "a", ReaderName: "r", PreRead: PreReadNormal, UploadedAt: up, ReportedAt: up.Add(15*time.Minute + time.Second)},
		{Modality: "ECG", ClinicName: "a", PreRead: PreReadNormal, UploadedAt: up},
		{Modality: "ECG", ClinicName: "a", ReaderName: "r", PreRead: PreReadAbnormal, UploadedAt: up, ReportedAt: up.Add(time.Minute)},
	}
	in := ComputeIndicators(rows, DefaultTargets())
	if len(in.Turnaround) != 1 || in.Turnaround[0].WithinTarget != 2 || in.Turnaround[0].Reported != 3 || in.Turnaround[0].TargetMinutes != 15 {
		t.Fatalf("turnaround %+v", in.Turnaround)
	}
	if in.PreReadNormal != 2 || in.ConfirmedNormal != 1 {
		t.Errorf("pre-read normal %d, confirmed %d", in.PreReadNormal, in.ConfirmedNormal)
	}
}

// TestPercentileNearestRank pins the nearest-rank percentile of the turnaround
// indicator: the smallest value with at least p % of the values at or below it;
// a p outside 0–100 is clamped to the first or the last value.
func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	for p, want := range map[float64]float64{50: 2, 51: 3, 75: 3, 90: 4, 100: 4, 25: 1, 1: 1, 0: 1, 150: 4} {
		if got := Percentile(xs, p); got != want {
			t.Errorf("p%v of %v: %v, want %v", p, xs, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty: 0")
	}
}

// TestVolumeOrder pins the order of the volume tables of the indicators
// (docs/reading.md "Indicators": volumes per modality, ordering clinic and
// signing reader): most studies first, equal volumes by name. Eight clinics
// of one study each, so that a comparison that is not a strict order shows
// whatever the map's iteration order.
func TestVolumeOrder(t *testing.T) {
	up := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var rows []StatRow
	for _, c := range []string{"h", "c", "f", "a", "g", "d", "b", "e"} {
		rows = append(rows, StatRow{Modality: "DR", ClinicName: c, UploadedAt: up})
	}
	rows = append(rows, StatRow{Modality: "DR", ClinicName: "z", UploadedAt: up}, StatRow{Modality: "DR", ClinicName: "z", UploadedAt: up})
	in := ComputeIndicators(rows, DefaultTargets())
	var got []string
	for _, c := range in.ByClinic {
		got = append(got, c.Name)
	}
	if strings.Join(got, "") != "zabcdefgh" {
		t.Errorf("clinics in order %v, want z (2 studies) then a–h", got)
	}
}
