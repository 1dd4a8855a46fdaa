package sterile

import (
	"testing"
	"time"

	"countycare/care"
)

// TestShelfLifeWS3102: WS 310.2-2016 4.4.8.2 — textiles 14 days (store
// below 24 °C and 70 %), medical paper bags 30 days, crepe paper and
// non-woven 180 days, paper-plastic pouches 180 days, rigid containers 180
// days; the expiry is counted from the day of sterilisation in Shanghai.
func TestShelfLifeWS3102(t *testing.T) {
	c := DefaultConfig()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC) // 2 March 01:00 in Shanghai
	for p, want := range map[Packaging]string{Textile: "2026-03-16", PaperBag: "2026-04-01", Nonwoven: "2026-08-29", PaperPlastic: "2026-08-29", RigidContainer: "2026-08-29"} {
		if got := c.ExpiresOn(p, at).String(); got != want {
			t.Errorf("%s: expires %s, want %s", p, got, want)
		}
	}
	pk := Pack{ExpiresOn: c.ExpiresOn(Textile, at)}
	last, _ := care.ParseDate("2026-03-16")
	if pk.Expired(last) || !pk.Expired(last.AddDays(1)) {
		t.Error("a pack is usable through its expiry date and not a day after")
	}
	c.ShelfLifeDays[Textile] = 0
	if c.Check() == nil {
		t.Error("a zero shelf life passed the check")
	}
}

// TestCycleReleaseAndRecallWS3103: WS 310.3-2016 4.4 — a load leaves the
// center once its physical and chemical monitoring pass; any failed
// indicator (a biological test read after incubation too) recalls it, and
// a recalled cycle stays recalled.
func TestCycleReleaseAndRecallWS3103(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps [][2]string
		want  CycleStatus
	}{
		{"nothing yet", nil, CycleRunning},
		{"physical only", [][2]string{{"physical", "pass"}}, CycleRunning},
		{"physical and chemical", [][2]string{{"physical", "pass"}, {"chemical", "pass"}}, CycleReleased},
		{"biological pass too", [][2]string{{"physical", "pass"}, {"chemical", "pass"}, {"biological", "pass"}}, CycleReleased},
		{"biological fails after release", [][2]string{{"physical", "pass"}, {"chemical", "pass"}, {"biological", "fail"}}, CycleRecalled},
		{"chemical fails", [][2]string{{"chemical", "fail"}}, CycleRecalled},
		{"recalled stays", [][2]string{{"physical", "fail"}, {"physical", "pass"}, {"chemical", "pass"}}, CycleRecalled},
	} {
		cy := &Cycle{Physical: Pending, Chemical: Pending, Biological: Pending, Status: CycleRunning}
		got := cy.Status
		for _, s := range c.steps {
			got = cy.Set(Indicator(s[0]), Result(s[1]))
		}
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}
