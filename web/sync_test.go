package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/family"
	"countycare/internal/testdb"
	"countycare/store"
)

// pullOut is the part of a pull the tests read.
type pullOut struct {
	Cursor    string `json:"c"`
	Full      bool   `json:"f"`
	Clinic    int64  `json:"cl"`
	Today     string `json:"t"`
	Wipe      int64  `json:"w"`
	Skew      int64  `json:"sk"`
	Residents []struct {
		ID       int64  `json:"i"`
		Name     string `json:"n"`
		MaskedID string `json:"id"`
		Phone    string `json:"p"`
		Address  string `json:"a"`
		Status   string `json:"s"`
		Merged   int64  `json:"m"`
		Version  int    `json:"v"`
	} `json:"r"`
	IDs  []int64 `json:"ids"`
	Regs []struct {
		ID       int64  `json:"i"`
		Resident int64  `json:"r"`
		Disease  string `json:"d"`
	} `json:"g"`
	Visits []struct {
		ID  int64  `json:"i"`
		Reg int64  `json:"g"`
		Day string `json:"d"`
	} `json:"v"`
	Overdue []struct {
		Reg int64 `json:"g"`
	} `json:"o"`
	Urgent struct {
		SBP   int      `json:"sbp"`
		Signs []string `json:"hs"`
	} `json:"u"`
	Campaigns []struct {
		ID       int64   `json:"i"`
		ToScreen []int64 `json:"td"`
	} `json:"sc"`
}

type resultOut struct {
	ID       string `json:"id"`
	Status   string `json:"s"`
	Reason   string `json:"why"`
	Message  string `json:"m"`
	Fields   []struct{ F, M string }
	ServerID int64    `json:"sid"`
	Redirect int64    `json:"to"`
	Urgent   []string `json:"u"`
	Replayed bool     `json:"rp"`
	Resident *struct {
		ID    int64  `json:"i"`
		Phone string `json:"p"`
		Addr  string `json:"a"`
	} `json:"r"`
}

func (c *client) pull(t *testing.T, since string) pullOut {
	t.Helper()
	r := c.get("/api/v1/sync/pull?since=" + url.QueryEscape(since))
	if r.code != 200 {
		t.Fatalf("pull: %d %s", r.code, r.body)
	}
	var p pullOut
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

type change struct {
	ID   string `json:"id"`
	Kind string `json:"k"`
	Data any    `json:"d"`
}

func (c *client) push(t *testing.T, changes ...change) map[string]resultOut {
	t.Helper()
	r := c.postJSON("/api/v1/sync/push", map[string]any{"now": time.Now().UTC().Format(time.RFC3339), "changes": changes})
	if r.code != 200 {
		t.Fatalf("push: %d %s", r.code, r.body)
	}
	var out struct{ Results []resultOut }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != len(changes) {
		t.Fatalf("push: %d results for %d changes", len(out.Results), len(changes))
	}
	m := map[string]resultOut{}
	for i, res := range out.Results {
		if res.ID != changes[i].ID {
			t.Fatalf("result %d is for %q, want %q", i, res.ID, changes[i].ID)
		}
		m[res.ID] = res
	}
	return m
}

func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func followUp(reg int64, day string, sbp, dbp int) map[string]any {
	return map[string]any{"registration_id": reg, "visit": map[string]any{"date": day, "mode": "face", "sbp": sbp, "dbp": dbp, "confirm": true}}
}

func TestSyncAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testSyncAPI(t, d) })
	}
}

// testSyncAPI: a village doctor's device pulls its clinic only, pushes a
// batch with every kind of bad record and gets an answer per record,
// retries it without anything written twice, meets the conflict rules,
// and is refused once its session is revoked.
func testSyncAPI(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	first := vd.pull(t, "")
	if !first.Full || len(first.Residents) == 0 || first.Cursor == "" || first.Wipe != int64(14*24*3600) {
		t.Fatalf("first pull: full=%v residents=%d cursor=%q wipe=%d", first.Full, len(first.Residents), first.Cursor, first.Wipe)
	}
	if first.Urgent.SBP != 180 || !contains(first.Urgent.Signs, "chest_tightness") || contains(first.Urgent.Signs, "oedema") {
		t.Errorf("urgent rules sent to the device: %+v", first.Urgent)
	}
	// Only the clinic's residents, with masked ID numbers.
	var me struct {
		InstitutionID int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	if first.Clinic != me.InstitutionID {
		t.Fatalf("clinic %d, want %d", first.Clinic, me.InstitutionID)
	}
	mine := map[int64]bool{}
	for _, r := range first.Residents {
		mine[r.ID] = true
		if r.MaskedID != "" && !strings.Contains(r.MaskedID, "*") {
			t.Fatalf("full ID number on the device: %s", r.MaskedID)
		}
	}
	td := e.as(care.RoleTownshipDoctor)
	var other int64
	if err := e.st.QueryRowForTest(t.Context(), `SELECT id FROM residents WHERE village_id <> `+itoa(me.InstitutionID)+` AND status = 'active' ORDER BY id LIMIT 1`, &other); err != nil {
		t.Fatal(err)
	}
	if mine[other] {
		t.Fatalf("resident %d of another village pulled by clinic %d", other, me.InstitutionID)
	}
	// The same request with gzip: compact on the wire.
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/sync/pull", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := vd.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("pull not gzipped: %q", resp.Header.Get("Content-Encoding"))
	} else if zr, err := gzip.NewReader(bytes.NewReader(zipped)); err != nil {
		t.Error(err)
	} else if plain, _ := io.ReadAll(zr); len(zipped)*3 > len(plain) {
		t.Errorf("gzip %d of %d bytes", len(zipped), len(plain))
	}

	// Registrations of the clinic: enrol two residents if the demo has too few.
	today := first.Today
	var regs []int64
	for _, g := range first.Regs {
		regs = append(regs, g.ID)
	}
	for _, r := range first.Residents {
		if len(regs) >= 3 {
			break
		}
		if r.Status != "" {
			continue
		}
		res := vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/chronic", r.ID), map[string]any{"disease": "diabetes", "source": "diagnosis", "enrolled_on": today})
		var g struct{ ID int64 }
		json.Unmarshal([]byte(res.body), &g)
		if g.ID != 0 {
			regs = append(regs, g.ID)
		}
	}
	if len(regs) < 3 {
		t.Fatalf("only %d registrations", len(regs))
	}
	// A registration of another village, for the out-of-scope record.
	var otherClinic int64
	if err := e.st.QueryRowForTest(t.Context(), `SELECT village_id FROM residents WHERE id = `+itoa(other), &otherClinic); err != nil {
		t.Fatal(err)
	}
	day, _ := care.ParseDate(today)
	og := &chronic.Registration{County: "", ResidentID: other, Disease: chronic.Hepatitis, Status: chronic.StatusActive, Source: chronic.SourceDiagnosis,
		EnrolledOn: day, ClinicID: otherClinic, Tier: chronic.Green, TierSince: day, NextVisit: day}
	if err := e.st.QueryRowForTest(t.Context(), `SELECT county_code FROM residents WHERE id = `+itoa(other), &og.County); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Enroll(t.Context(), og, audit.Event{Action: chronic.ActEnroll, ResidentID: other, CountyCode: og.County, Outcome: audit.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	nextYear := care.Today(time.Now()).AddDays(365).String()
	batch := []change{
		{uuid(1), "followup", followUp(regs[0], today, 132, 84)},
		{uuid(2), "followup", followUp(regs[1], nextYear, 130, 80)},
		{uuid(3), "followup", followUp(og.ID, today, 130, 80)},
		{uuid(4), "followup", map[string]any{"registration_id": regs[1], "visit": map[string]any{"date": today, "sbp": "abc"}}},
		{"not-a-uuid", "followup", followUp(regs[1], today, 130, 80)},
		{uuid(6), "vaccination", map[string]any{}},
		{uuid(7), "register", map[string]any{"name": "柳青禾", "id_number": "11010519491231002X", "phone": "13800001111", "address": "柳村 3 号"}},
		{uuid(8), "register", map[string]any{"name": "", "sex": "X"}},
		{uuid(9), "followup", followUp(regs[2], today, 196, 112)}, // urgent: applied first
	}
	got := vd.push(t, batch...)
	want := map[string][2]string{
		uuid(1): {"accepted", ""}, uuid(2): {"refused", "clock_skew"}, uuid(3): {"refused", "out_of_scope"}, uuid(4): {"refused", "malformed"},
		"not-a-uuid": {"refused", "bad_client_id"}, uuid(6): {"refused", "unknown_kind"}, uuid(7): {"accepted", ""}, uuid(8): {"refused", "invalid"},
		uuid(9): {"accepted", ""},
	}
	for id, w := range want {
		if g := got[id]; g.Status != w[0] || g.Reason != w[1] {
			t.Errorf("%s: %s/%s %q, want %s/%s", id, g.Status, g.Reason, g.Message, w[0], w[1])
		}
		if g := got[id]; g.Status == "refused" && (g.Message == "" || strings.Contains(g.Message, "sync.")) {
			t.Errorf("%s: refusal without a readable message: %q", id, g.Message)
		}
	}
	if m := got[uuid(2)].Message; !strings.Contains(m, nextYear) {
		t.Errorf("clock skew message does not name the date: %q", m)
	}
	if f := got[uuid(4)].Fields; len(f) == 0 || !strings.Contains(f[0].F, "sbp") {
		t.Errorf("malformed record's field not named: %+v", f)
	}
	if len(got[uuid(8)].Fields) == 0 {
		t.Errorf("invalid registration without field errors")
	}
	if len(got[uuid(9)].Urgent) == 0 {
		t.Errorf("urgent follow-up without its reasons")
	}
	if got[uuid(9)].ServerID > got[uuid(1)].ServerID {
		t.Errorf("urgent follow-up %d stored after the routine one %d: urgent values go first", got[uuid(9)].ServerID, got[uuid(1)].ServerID)
	}
	newID := got[uuid(7)].ServerID
	if newID == 0 || got[uuid(7)].Resident == nil || got[uuid(7)].Resident.ID != newID {
		t.Fatalf("registration without the server's record: %+v", got[uuid(7)])
	}

	// The whole batch again (the answer was lost on the way): nothing twice.
	visitsOf := func(reg int64) int {
		var d struct{ Visits []any }
		json.Unmarshal([]byte(vd.get(fmt.Sprintf("/api/v1/chronic/%d", reg)).body), &d)
		return len(d.Visits)
	}
	before := visitsOf(regs[0])
	again := vd.push(t, batch...)
	for id, w := range want {
		if g := again[id]; g.Status != w[0] || g.Reason != w[1] {
			t.Errorf("replay %s: %s/%s, want %s/%s", id, g.Status, g.Reason, w[0], w[1])
		}
	}
	if !again[uuid(1)].Replayed || !again[uuid(7)].Replayed || again[uuid(7)].ServerID != newID || again[uuid(1)].ServerID != got[uuid(1)].ServerID {
		t.Errorf("replayed answers differ: %+v %+v", again[uuid(1)], again[uuid(7)])
	}
	if n := visitsOf(regs[0]); n != before {
		t.Errorf("replay stored the follow-up again: %d visits, was %d", n, before)
	}
	var search struct{ Residents []any }
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q=11010519491231002X").body), &search)
	if len(search.Residents) != 1 {
		t.Errorf("registered %d times", len(search.Residents))
	}
	// A client ID reused for another record; the same person registered
	// again under a new client ID (identity is the server's).
	r := vd.push(t, change{uuid(1), "followup", followUp(regs[0], today, 150, 95)},
		change{uuid(20), "register", map[string]any{"name": "柳青禾", "id_number": "11010519491231002X"}},
		change{uuid(21), "followup", followUp(regs[0], today, 128, 80)})
	if g := r[uuid(1)]; g.Status != "refused" || g.Reason != "client_id_reused" {
		t.Errorf("client ID reused: %+v", g)
	}
	if g := r[uuid(20)]; g.Status != "conflicted" || g.Reason != "duplicate" || g.Resident == nil || g.Resident.ID != newID {
		t.Errorf("duplicate registration: %+v", g)
	}
	if g := r[uuid(21)]; g.Status != "conflicted" || g.Reason != "duplicate" {
		t.Errorf("second follow-up the same day: %+v", g)
	}

	// Two devices edit the same resident's contact: the field rule.
	const p0 = "13800001111"
	devA := vd.push(t, change{uuid(30), "contact", map[string]any{"resident_id": newID, "phone": "13800002222", "address": "柳村 3 号", "base_phone": p0, "base_address": "柳村 3 号"}})
	if g := devA[uuid(30)]; g.Status != "accepted" || g.Resident == nil || g.Resident.Phone != "13800002222" {
		t.Errorf("device A's edit: %+v", g)
	}
	devB := vd.push(t,
		change{uuid(31), "contact", map[string]any{"resident_id": newID, "phone": "13800003333", "address": "柳村 3 号", "base_phone": p0, "base_address": "柳村 3 号"}},
		change{uuid(32), "contact", map[string]any{"resident_id": newID, "phone": p0, "address": "柳村 5 号", "base_phone": p0, "base_address": "柳村 3 号"}})
	if g := devB[uuid(31)]; g.Status != "conflicted" || g.Reason != "stale" || g.Resident == nil || g.Resident.Phone != "13800002222" {
		t.Errorf("device B's phone over A's: %+v", g)
	}
	if g := devB[uuid(32)]; g.Status != "accepted" || g.Resident.Phone != "13800002222" || g.Resident.Addr != "柳村 5 号" {
		t.Errorf("device B's address (A changed only the phone): %+v", g)
	}

	// Family-doctor services: covered by a contract (signed online), once a
	// kind a day; none without a contract; none dated after today.
	page := vd.get(fmt.Sprintf("/residents/%d", newID))
	team := regexp.MustCompile(`name="team_id"><option value="(\d+)"`).FindStringSubmatch(page.body)
	pkg := regexp.MustCompile(`name="package_id"><option value="(\d+)"`).FindStringSubmatch(page.body)
	if team == nil || pkg == nil {
		t.Fatal("no team or package offered")
	}
	day, _ = care.ParseDate(today)
	sign := url.Values{"team_id": {team[1]}, "package_id": {pkg[1]}, "start": {today}, "end": {family.MinEnd(day).String()}, "consent_by": {"self"},
		"consent_method": {"paper_signature"}, "consent_at": {time.Now().In(care.Shanghai).Add(-time.Minute).Format("2006-01-02T15:04")}}
	if r := vd.postForm(fmt.Sprintf("/residents/%d/family/contracts", newID), sign, true); r.code != 303 {
		t.Fatalf("sign: %d", r.code)
	}
	svc := func(res int64, kind, on string) map[string]any {
		return map[string]any{"resident_id": res, "kind": kind, "date": on, "note": "血压计使用指导"}
	}
	fs := vd.push(t, change{uuid(60), "service", svc(newID, "home_visit", today)}, change{uuid(61), "service", svc(newID, "home_visit", today)},
		change{uuid(62), "service", svc(newID, "education", nextYear)}, change{uuid(63), "service", svc(first.Residents[0].ID, "education", today)},
		change{uuid(64), "service", svc(other, "education", today)}, change{uuid(65), "service", map[string]any{"resident_id": newID, "kind": "checkup", "date": "2026-02-30"}})
	for id, w := range map[string][2]string{uuid(60): {"accepted", ""}, uuid(61): {"conflicted", "duplicate"}, uuid(62): {"refused", "clock_skew"},
		uuid(63): {"refused", "invalid"}, uuid(64): {"refused", "out_of_scope"}, uuid(65): {"refused", "malformed"}} {
		if g := fs[id]; g.Status != w[0] || g.Reason != w[1] {
			t.Errorf("family service %s: %s/%s %q, want %s/%s", id, g.Status, g.Reason, g.Message, w[0], w[1])
		}
	}
	if m := fs[uuid(63)]; len(m.Fields) == 0 || !strings.Contains(m.Fields[0].M, "签约") {
		t.Errorf("service without a contract: %+v", m)
	}

	// The incremental pull: what changed, and the IDs the device keeps.
	inc := vd.pull(t, first.Cursor)
	if inc.Full || len(inc.IDs) < len(first.Residents) || len(inc.Residents) == 0 || len(inc.Residents) > 5 {
		t.Errorf("incremental pull: full=%v residents=%d ids=%d", inc.Full, len(inc.Residents), len(inc.IDs))
	}
	found := false
	for _, r := range inc.Residents {
		found = found || r.ID == newID && r.Address == "柳村 5 号"
	}
	if !found {
		t.Errorf("the edited resident is not in the incremental pull")
	}
	if len(inc.Visits) < 2 {
		t.Errorf("incremental pull has %d new follow-ups", len(inc.Visits))
	}
	// A resident merged on the server: the device's edit goes to the survivor.
	var dups struct {
		Groups [][]struct {
			ID        int64 `json:"id"`
			VillageID int64 `json:"village_id"`
			Version   int   `json:"version"`
		}
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents/duplicates").body), &dups)
	if len(dups.Groups) == 0 || len(dups.Groups[0]) < 2 {
		t.Fatal("no duplicates in the village to merge")
	}
	sv, mg := dups.Groups[0][0], dups.Groups[0][1]
	if m := vd.postJSON("/api/v1/residents/merge", map[string]any{"survivor_id": sv.ID, "survivor_version": sv.Version, "merged_id": mg.ID, "merged_version": mg.Version}); m.code != 200 {
		t.Fatalf("merge: %d %s", m.code, m.body)
	}
	red := vd.push(t, change{uuid(40), "contact", map[string]any{"resident_id": mg.ID, "phone": "13800004444", "base_phone": "", "base_address": ""}})
	if g := red[uuid(40)]; g.Redirect != sv.ID || g.Resident == nil || g.Resident.ID != sv.ID {
		t.Errorf("edit of a merged resident: %+v, want redirect to %d", g, sv.ID)
	}
	inc2 := vd.pull(t, inc.Cursor)
	redirected := false
	for _, r := range inc2.Residents {
		redirected = redirected || r.ID == mg.ID && r.Status == "merged" && r.Merged == sv.ID
	}
	if !redirected || contains64(inc2.IDs, mg.ID) {
		t.Errorf("merged resident not redirected on the device's next pull")
	}

	// A batch over the limit is refused whole, and nothing of it applied.
	big := make([]change, 501)
	for i := range big {
		big[i] = change{uuid(5000 + i), "call", map[string]any{"registration_id": regs[0], "outcome": "agreed"}}
	}
	if r := vd.postJSON("/api/v1/sync/push", map[string]any{"changes": big}); r.code != 422 || !strings.Contains(r.body, "500") {
		t.Errorf("501 changes: %d %.200s", r.code, r.body)
	}
	if r := vd.push(t, big[0]); r[big[0].ID].Replayed {
		t.Errorf("a change of the refused batch was applied")
	}
	// A cursor that is not one; a device whose clock is a day ahead.
	if r := vd.get("/api/v1/sync/pull?since=garbage"); r.code != 422 {
		t.Errorf("bad cursor: %d", r.code)
	}
	var skew pullOut
	json.Unmarshal([]byte(vd.get("/api/v1/sync/pull?since="+inc2.Cursor+"&now="+time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)).body), &skew)
	if skew.Skew < 23*3600 {
		t.Errorf("clock skew not reported: %d", skew.Skew)
	}
	// Other roles have no sync; a revoked session is 401 (the device keeps its queue).
	if r := td.get("/api/v1/sync/pull"); r.code != 403 {
		t.Errorf("township doctor pulls: %d", r.code)
	}
	if r := vd.do("DELETE", "/api/v1/session", "", nil, map[string]string{"X-CSRF-Token": vd.csrf}); r.code >= 300 {
		t.Fatalf("logout: %d", r.code)
	}
	if r := vd.get("/api/v1/sync/pull"); r.code != 401 {
		t.Errorf("pull after sign-out: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/sync/push", map[string]any{"changes": []change{{uuid(50), "followup", followUp(regs[0], today, 120, 80)}}}); r.code != 401 {
		t.Errorf("push after sign-out: %d", r.code)
	}
	// Every pull is audited with the residents it sent.
	e.writer.Flush(t.Context())
	var n int
	if err := e.st.QueryRowForTest(t.Context(), `SELECT COUNT(*) FROM audit_events WHERE action = 'sync.pull'`, &n); err != nil || n < 4 {
		t.Errorf("sync.pull audit rows: %d %v", n, err)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func contains64(xs []int64, x int64) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
