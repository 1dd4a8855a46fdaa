package fhir_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/care"
	"countycare/store"
)

// TestSinceLapsedContract: a family doctor contract signed long ago that
// ran past its end day by the passage of time alone (no row written) has
// a CarePlan now completed and a Consent now inactive; their
// meta.lastUpdated is the start of the day after the end (the county's
// time), and an incremental $export?_since=T or a CarePlan search with
// _lastUpdated=geT holds them when T is at or before that instant, not
// after it; a contract whose end day has not passed is not "changed". On
// SQLite and PostgreSQL.
func TestSinceLapsedContract(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSinceLapsedContract(t, d) })
	}
}

func testSinceLapsedContract(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	vd := e.as(care.RoleVillageDoctor)
	pid, cps := contractPatient(t, vd)
	id := ""
	for _, cp := range cps {
		if cp.Status == "active" {
			id = cp.ID
		}
	}
	if id == "" {
		t.Fatalf("patient %s has no active contract: %+v", pid, cps)
	}
	today := care.Today(time.Now())
	// Signed 400 days ago for a year that ended 10 days ago, never closed.
	signed := time.Now().Add(-400 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
	set := func(end care.Date) {
		t.Helper()
		if err := e.st.ExecForTest(t.Context(), `UPDATE family_contracts SET created_at = '`+signed+`', consent_at = '`+signed+`', start_date = '`+
			today.AddDays(-380).String()+`', end_date = '`+end.String()+`', status = 'active', closed_at = NULL WHERE id = `+id); err != nil {
			t.Fatal(err)
		}
	}
	set(today.AddDays(-10))
	n := today.AddDays(-9)
	lapse := time.Date(n.Year, n.Month, n.Day, 0, 0, 0, 0, care.Shanghai)
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	exported := func(since time.Time) map[string]string { // "Type/id" → status, of this contract's two
		m, _ := c.export(t, "/fhir/$export?_type=CarePlan,Consent&_since="+url.QueryEscape(since.Format(time.RFC3339Nano)))
		out := map[string]string{}
		for typ, ls := range c.lines(t, m) {
			for _, l := range ls {
				var x struct {
					ID, Status string
					Meta       struct{ LastUpdated string }
				}
				json.Unmarshal(l, &x)
				if x.ID == id || x.ID == "contract-"+id {
					out[typ+"/"+x.ID] = x.Status
					if want := lapse.UTC().Format(time.RFC3339); x.Meta.LastUpdated != want {
						t.Errorf("%s/%s meta.lastUpdated %q, want the lapse %s", typ, x.ID, x.Meta.LastUpdated, want)
					}
				}
			}
		}
		return out
	}
	for _, since := range []time.Time{lapse.Add(-time.Hour), lapse} {
		got := exported(since)
		if got["CarePlan/"+id] != "completed" || got["Consent/contract-"+id] != "inactive" {
			t.Errorf("_since %s, at or before the contract lapsed at %s: %v, want its CarePlan completed and its Consent inactive", since, lapse, got)
		}
	}
	if got := exported(lapse.Add(time.Second)); len(got) != 0 {
		t.Errorf("_since after the lapse: %v", got)
	}
	search := func(ge time.Time) bool {
		var b bundle
		if code, _, body := vd.get("/fhir/CarePlan?patient="+pid+"&_lastUpdated=ge"+url.QueryEscape(ge.Format(time.RFC3339)), nil, &b); code != 200 {
			t.Fatalf("CarePlan search: %d %s", code, body)
		}
		for _, en := range b.Entry {
			var x struct{ ID, Status string }
			json.Unmarshal(en.Resource, &x)
			if x.ID == id {
				return x.Status == "completed"
			}
		}
		return false
	}
	if !search(lapse.Add(-time.Hour)) || search(lapse.Add(time.Second)) {
		t.Errorf("CarePlan?_lastUpdated: the lapse at %s not found from an hour before, or found after it", lapse)
	}
	// Ending today: still active, nothing changed since it was signed.
	set(today)
	if got := exported(time.Now().Add(-24 * time.Hour)); len(got) != 0 {
		t.Errorf("a contract ending today, _since yesterday: %v", got)
	}
}
