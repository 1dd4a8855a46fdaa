package web_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"countycare/care"
	"countycare/store"
)

// TestHomeCounts: each role's home opens on its work with counts. The
// auditor's counts the attempts refused today (one more after a village
// doctor tries the audit page); the village doctor's home has the patient
// search and the day's counts; the reader's the worklist.
func TestHomeCounts(t *testing.T) {
	e := newEnv(t, store.SQLite)
	au := e.as(care.RoleAuditor)
	count := func(body, id string) int {
		t.Helper()
		m := regexp.MustCompile(`id="count-` + id + `"><b>(\d+)\+?</b>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no count %s on the home page", id)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	e.writer.Flush(context.Background())
	before := count(au.get("/").body, "denied")
	if r := e.as(care.RoleVillageDoctor).get("/audit"); r.code != 403 {
		t.Fatalf("village doctor on /audit: %d", r.code)
	}
	e.writer.Flush(context.Background())
	if after := count(au.get("/").body, "denied"); after != before+1 {
		t.Errorf("refused today: %d, then %d after one refusal", before, after)
	}
	vd := e.as(care.RoleVillageDoctor).get("/")
	for _, id := range []string{"overdue", "critical", "handoffs", "tasks"} {
		count(vd.body, id)
	}
	if !regexp.MustCompile(`<form method="get" action="/residents"[^>]*id="home-search"`).MatchString(vd.body) {
		t.Error("no patient search on the village doctor's home")
	}
	count(e.as(care.RoleAdmin).get("/").body, "locked")
	count(e.as(care.RoleReader).get("/").body, "reading-all")
	count(e.as(care.RolePharmacist).get("/").body, "rx-queue")
	count(e.as(care.RoleCountySpecialist).get("/").body, "consult-queue")
}
