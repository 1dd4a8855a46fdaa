package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/store"
)

// screenPull is the screening part of a pull.
type screenPull struct {
	Today     string `json:"t"`
	Campaigns []struct {
		ID       int64    `json:"i"`
		Diseases []string `json:"d"`
		MinAge   int      `json:"a"`
		ToScreen []int64  `json:"td"`
	} `json:"sc"`
	Rules *struct {
		Limits map[string][2]int `json:"lim"`
	} `json:"sr"`
}

func (c *client) screenPull(t *testing.T) screenPull {
	t.Helper()
	r := c.get("/api/v1/sync/pull")
	var p screenPull
	if r.code != 200 || json.Unmarshal([]byte(r.body), &p) != nil {
		t.Fatalf("pull: %d %s", r.code, r.body)
	}
	return p
}

// toScreen is the campaign's list of residents still to be screened.
func (p screenPull) toScreen(t *testing.T, campaign int64) []int64 {
	t.Helper()
	for _, c := range p.Campaigns {
		if c.ID == campaign {
			return c.ToScreen
		}
	}
	t.Fatalf("campaign %d not in the pull", campaign)
	return nil
}

// TestSyncScreening is issue 17's "village doctors record measurements
// (offline too, where the village app exists)": the pull carries the
// village's open campaign with the residents still to screen and the
// limits of a measurement; a screening made offline goes through
// screening.Service.Record (a random glucose of 12.5 mmol/L: suspected
// diabetes, 规范第三版 2 型糖尿病患者健康管理服务规范 (一) 筛查, routed to
// the township due 14 days later, audited) and leaves the list; a replay
// writes nothing again; an impossible pressure is refused with the field
// named and nothing stored; a second screening the same day (recorded
// online meanwhile) is conflicted; a resident of another village is out of
// scope; a screening dated after the campaign closed is refused
// (campaign_closed), one dated while it was open is applied though the
// campaign has closed since; a resident registered offline is screened
// through resident_ref, in the same batch or — the registration not yet
// arrived — retried. Both databases.
func TestSyncScreening(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		vd, td := e.as(care.RoleVillageDoctor), e.as(care.RoleTownshipDoctor)
		today := care.Today(time.Now())
		village := e.count(`SELECT village_id FROM residents WHERE id = %s`, firstResident(t, vd))
		var adults []int64
		for len(adults) < 4 {
			prev := int64(0)
			if len(adults) > 0 {
				prev = adults[len(adults)-1]
			}
			id := e.count(`SELECT COALESCE(MIN(r.id), 0) FROM residents r WHERE r.village_id = %d AND r.status = 'active' AND r.birth_date <= '%s' AND r.id > %d
				AND NOT EXISTS (SELECT 1 FROM chronic_registrations g WHERE g.resident_id = r.id AND g.status = 'active')`,
				village, today.Time().AddDate(-50, 0, 0).Format("2006-01-02"), prev)
			if id == 0 {
				t.Fatalf("%d unregistered residents over 50 in the demo village, want 4", len(adults))
			}
			adults = append(adults, int64(id))
		}
		if p := vd.screenPull(t); len(p.Campaigns) != 0 || p.Rules != nil {
			t.Fatalf("a pull before any campaign carries %+v", p)
		}
		r := td.postJSON("/api/v1/screening/campaigns", map[string]any{"name": "冬季入户筛查", "diseases": []string{"hypertension", "diabetes"},
			"villages": []int{village}, "starts_on": today.AddDays(-5).String(), "ends_on": today.AddDays(30).String()})
		var camp struct{ ID int64 }
		if r.code != 201 || json.Unmarshal([]byte(r.body), &camp) != nil {
			t.Fatalf("plan: %d %s", r.code, r.body)
		}
		p := vd.screenPull(t)
		left := p.toScreen(t, camp.ID)
		for _, id := range adults {
			if !slices.Contains(left, id) {
				t.Fatalf("resident %d (over 50, unregistered) is not in the list to screen %v", id, left)
			}
		}
		if p.Rules == nil || p.Rules.Limits["sbp"] != [2]int{60, 280} || p.Rules.Limits["glucose"] != [2]int{10, 400} {
			t.Fatalf("the pull's screening limits: %+v", p.Rules)
		}
		target := e.count(`SELECT COUNT(*) FROM residents r WHERE r.village_id = %d AND r.status = 'active' AND r.birth_date <= '%s'
			AND NOT EXISTS (SELECT 1 FROM chronic_registrations g WHERE g.resident_id = r.id AND g.status = 'active' AND g.disease IN ('hypertension', 'diabetes')
			GROUP BY g.resident_id HAVING COUNT(*) >= 2)`, village, today.AddDays(-5).Time().AddDate(-35, 0, 0).Format("2006-01-02"))
		if len(left) != target {
			t.Fatalf("%d residents to screen, want the campaign's target %d", len(left), target)
		}

		screen := func(resident int64, extra map[string]any) map[string]any {
			d := map[string]any{"campaign_id": camp.ID, "resident_id": resident, "date": today.String(), "sbp1": 128, "dbp1": 82, "sbp2": 126, "dbp2": 80}
			for k, v := range extra {
				d[k] = v
			}
			return d
		}
		ok, bad := uuid(17001), uuid(17002)
		batch := []change{{ok, "screening", screen(adults[0], map[string]any{"glucose": 125, "meal_hours": 2})},
			{bad, "screening", screen(adults[1], map[string]any{"sbp1": 400})}}
		res := vd.push(t, batch...)
		if r := res[ok]; r.Status != "accepted" || r.ServerID == 0 {
			t.Fatalf("screening with a random glucose of 12.5: %+v", r)
		}
		var sus struct {
			Results []struct {
				Sus []struct{ D, N, Due string } `json:"sus"`
			}
		}
		raw := vd.postJSON("/api/v1/sync/push", map[string]any{"changes": batch})
		if json.Unmarshal([]byte(raw.body), &sus) != nil || len(sus.Results) != 2 || len(sus.Results[0].Sus) != 1 ||
			sus.Results[0].Sus[0].D != "diabetes" || sus.Results[0].Sus[0].Due != today.AddDays(14).String() || sus.Results[0].Sus[0].N != "糖尿病" {
			t.Fatalf("the replayed answer names no suspected diabetes due in 14 days: %s", raw.body)
		}
		if r := res[bad]; r.Status != "refused" || r.Reason != "invalid" || len(r.Fields) != 1 || r.Fields[0].F != "sbp1" || r.Fields[0].M != "收缩压应在 60–280 mmHg 之间" {
			t.Fatalf("SBP 400: %+v", r)
		}
		if n := e.count(`SELECT COUNT(*) FROM screening_measurements WHERE campaign_id = %d`, camp.ID); n != 1 {
			t.Fatalf("measurements after a batch and its replay: %d, want 1", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM screening_cases WHERE resident_id = %d AND disease = 'diabetes' AND status = 'pending' AND source = 'campaign'
			AND due_on = '%s'`, adults[0], today.AddDays(14)); n != 1 {
			t.Fatalf("suspected diabetes routed: %d", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'screening.measure' AND resident_id = %d AND outcome = 'ok'`, adults[0]); n != 1 {
			t.Fatalf("audit rows of the screening: %d, want 1", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'screening.measure' AND resident_id = %d AND outcome = 'invalid'`, adults[1]); n != 1 {
			t.Fatalf("audit rows of the refused screening: %d, want 1", n)
		}
		left = vd.screenPull(t).toScreen(t, camp.ID)
		if slices.Contains(left, adults[0]) || !slices.Contains(left, adults[1]) {
			t.Fatalf("after the sync the list to screen still holds %d, or lost %d", adults[0], adults[1])
		}
		var fu struct {
			Cases []struct {
				ResidentID int64 `json:"resident_id"`
			}
		}
		if r := td.get("/api/v1/screening/follow-ups"); json.Unmarshal([]byte(r.body), &fu) != nil || len(fu.Cases) != 1 || fu.Cases[0].ResidentID != adults[0] {
			t.Fatalf("township's follow-ups: %s", r.body)
		}

		// Screened online the same day meanwhile: the server's stands.
		online := screen(adults[2], nil)
		delete(online, "campaign_id")
		if r := vd.postJSON(fmt.Sprintf("/api/v1/screening/campaigns/%d/measurements", camp.ID), online); r.code != 201 {
			t.Fatalf("online screening: %d %s", r.code, r.body)
		}
		dup, away := uuid(17003), uuid(17004)
		other := e.count(`SELECT MIN(id) FROM residents WHERE village_id <> %d AND status = 'active'`, village)
		res = vd.push(t, change{dup, "screening", screen(adults[2], map[string]any{"sbp1": 150})}, change{away, "screening", screen(int64(other), nil)})
		if r := res[dup]; r.Status != "conflicted" || r.Reason != "duplicate" || r.Message != "该居民当天已在本次活动中筛查过" {
			t.Fatalf("a second screening the same day: %+v", r)
		}
		if r := res[away]; r.Status != "refused" || r.Reason != "out_of_scope" {
			t.Fatalf("a resident of another village: %+v", r)
		}
		noCamp := screen(adults[3], map[string]any{"campaign_id": camp.ID + 1000})
		if r := vd.push(t, change{uuid(17011), "screening", noCamp})[uuid(17011)]; r.Status != "refused" || r.Reason != "out_of_scope" || r.Message != "未找到该筛查活动" {
			t.Fatalf("a campaign not of the village: %+v", r)
		}

		// The campaign closed (yesterday) while the phone was offline.
		if err := e.st.ExecForTest(context.Background(), fmt.Sprintf(`UPDATE screening_campaigns SET ends_on = '%s' WHERE id = %d`, today.AddDays(-1), camp.ID)); err != nil {
			t.Fatal(err)
		}
		if p := vd.screenPull(t); len(p.Campaigns) != 0 {
			t.Fatalf("a closed campaign is still pulled: %+v", p.Campaigns)
		}
		late, inTime := uuid(17005), uuid(17006)
		res = vd.push(t, change{late, "screening", screen(adults[3], nil)}, change{inTime, "screening", screen(adults[1], map[string]any{"date": today.AddDays(-1).String()})})
		if r := res[late]; r.Status != "refused" || r.Reason != "campaign_closed" || len(r.Fields) != 1 || r.Fields[0].F != "date" {
			t.Fatalf("a screening after the campaign closed: %+v", r)
		}
		if r := res[inTime]; r.Status != "accepted" {
			t.Fatalf("a screening made while the campaign was open: %+v", r)
		}
		if err := e.st.ExecForTest(context.Background(), fmt.Sprintf(`UPDATE screening_campaigns SET ends_on = '%s' WHERE id = %d`, today.AddDays(30), camp.ID)); err != nil {
			t.Fatal(err)
		}

		// A resident registered offline: waits for the registration, then
		// is screened in the same batch as it.
		reg, early, later := uuid(17007), uuid(17008), uuid(17009)
		scr := screen(0, map[string]any{"resident_ref": reg, "sbp1": 152, "dbp1": 96, "sbp2": 150, "dbp2": 94})
		delete(scr, "resident_id")
		if r := vd.push(t, change{early, "screening", scr})[early]; r.Status != "retry" || r.Reason != "ref_pending" {
			t.Fatalf("a screening before its registration arrived: %+v", r)
		}
		res = vd.push(t, change{later, "screening", scr},
			change{reg, "register", map[string]any{"name": "柳筛查", "id_number": "11010519491231002X", "phone": "13800002223", "address": "柳村 10 号"}})
		if res[reg].Status != "accepted" || res[later].Status != "accepted" || res[later].ServerID == 0 {
			t.Fatalf("registered and screened offline: %+v %+v", res[reg], res[later])
		}
		if n := e.count(`SELECT COUNT(*) FROM screening_measurements WHERE campaign_id = %d AND resident_id = %d AND bp_raised = 1`, camp.ID, res[reg].Resident.ID); n != 1 {
			t.Fatalf("the new resident's screening: %d", n)
		}
		if r := vd.push(t, change{uuid(17010), "screening", map[string]any{"campaign_id": camp.ID, "resident_id": adults[3], "date": "7 Dec"}})[uuid(17010)]; r.Status != "refused" || r.Reason != "malformed" {
			t.Fatalf("an unreadable date: %+v", r)
		}
	})
}
