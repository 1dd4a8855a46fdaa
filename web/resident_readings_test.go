package web_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// TestResidentPageLinksOnlyOpenableStudies: the resident page lists the
// resident's diagnosis-center studies for every clinician in scope, but
// links a study only for those who may open its page (the ordering
// clinic, the center's readers): the township doctor sees the village's
// study without a link that would answer 404.
func TestResidentPageLinksOnlyOpenableStudies(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rd, vd, td := e.as(care.RoleReader), e.as(care.RoleVillageDoctor), e.as(care.RoleTownshipDoctor)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(vd.get("/residents").body)
	if ids == nil {
		t.Fatal("no residents in the village")
	}
	rid := ids[1]
	r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": me.Institution, "signal_name": "e.csv",
		"signal": []byte(ecgCSV([]float64{0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85})), "urgent": false})
	if r.code != 201 {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	var wl struct {
		Studies []struct {
			ID int64 `json:"id"`
		} `json:"studies"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/reading/worklist?modality=ECG").body), &wl)
	if len(wl.Studies) == 0 {
		t.Fatal("no study in the worklist")
	}
	link := `href="/reading/studies/` + strconv.FormatInt(wl.Studies[0].ID, 10) + `"`
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, link) {
		t.Errorf("the ordering clinic's doctor has no link to the study")
	}
	p := td.get("/residents/" + rid)
	if p.code != 200 || !strings.Contains(p.body, `id="readings"`) {
		t.Fatalf("township doctor's resident page: %d, studies listed: %v", p.code, strings.Contains(p.body, `id="readings"`))
	}
	if strings.Contains(p.body, link) {
		t.Errorf("the township doctor gets a link to a study page that answers %d", td.get("/reading/studies/"+strconv.FormatInt(wl.Studies[0].ID, 10)).code)
	}
}
