package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/internal/testdicom"
	"countycare/myrecord"
	"countycare/store"
)

// TestMeReportPreview is issue 13 §4's "signed imaging reports (with the
// images' previews)": a resident's CT is uploaded by the village doctor
// and read at the county center. Before the report is signed /me lists
// nothing and the preview is 404; after, /me shows the report with a
// thumbnail of the first frame (a JPEG whose longer side is 320 px, the
// aspect kept), audited as the resident's own access. Another resident's
// signed study is 404 to them, and staff cannot use the resident's route.
func TestMeReportPreview(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		_, self := demoResident(t, e)
		me, vd, rd := e.as(care.RoleResident), e.as(care.RoleVillageDoctor), e.as(care.RoleReader)
		var center struct {
			Institution int64 `json:"institution_id"`
		}
		json.Unmarshal([]byte(rd.get("/api/v1/me").body), &center)
		other := otherVillager(t, e, vd, self.ID)

		// Two CTs of 768 rows × 1024 columns, each its own study.
		ct := testdicom.CT("P-13", "TEST^PREVIEW", "1.2.826.0.1.3680043.8.498.13.4.1", 768, 1024, 1)
		ct2 := bytes.ReplaceAll(bytes.ReplaceAll(ct, []byte("1.2.826.0.1.3680043.8.498.77"), []byte("1.2.826.0.1.3680043.8.498.78")),
			[]byte("1.2.826.0.1.3680043.8.498.13.4.1"), []byte("1.2.826.0.1.3680043.8.498.13.4.2"))
		for _, up := range []struct {
			rid  int64
			file []byte
		}{{self.ID, ct}, {other, ct2}} {
			r := vd.postJSON("/api/v1/residents/"+itoa(up.rid)+"/imaging", map[string]any{"center_id": center.Institution, "confirm_mismatch": true,
				"files": []map[string]any{{"name": "ct.dcm", "data": up.file}}})
			if r.code != http.StatusCreated {
				t.Fatalf("upload for resident %d: %d %s", up.rid, r.code, r.body)
			}
		}
		var wl struct {
			Studies []struct {
				ID        int64  `json:"id"`
				SourceKey string `json:"source_key"`
			} `json:"studies"`
		}
		if r := rd.get("/api/v1/reading/worklist?modality=CT"); json.Unmarshal([]byte(r.body), &wl) != nil || r.code != 200 {
			t.Fatalf("worklist: %d %s", r.code, r.body)
		}
		study := map[string]int64{}
		for _, s := range wl.Studies {
			study[s.SourceKey] = s.ID
		}
		mine, theirs := study["1.2.826.0.1.3680043.8.498.77"], study["1.2.826.0.1.3680043.8.498.78"]
		if mine == 0 || theirs == 0 {
			t.Fatalf("the two CTs are not on the worklist: %+v", wl.Studies)
		}
		preview := "/me/reports/" + itoa(mine) + "/preview"

		// Not yet reported: nothing on /me, no preview.
		if r := me.get("/me"); strings.Contains(r.body, preview) {
			t.Error("/me previews a study not yet reported")
		}
		if r := me.get(preview); r.code != http.StatusNotFound {
			t.Errorf("preview of an unreported study: %d, want 404", r.code)
		}
		for _, sid := range []int64{mine, theirs} {
			if r := rd.postJSON("/api/v1/reading/studies/"+itoa(sid)+"/claim", nil); r.code != 200 {
				t.Fatalf("claim %d: %d %s", sid, r.code, r.body)
			}
			if r := rd.postJSON("/api/v1/reading/studies/"+itoa(sid)+"/report", map[string]any{"fields": map[string]string{"findings": "双肺纹理清晰", "impression": "胸部 CT 未见异常"}}); r.code != 201 {
				t.Fatalf("sign %d: %d %s", sid, r.code, r.body)
			}
		}

		page := me.get("/me")
		if page.code != 200 || !strings.Contains(page.body, `src="`+preview+`"`) || !strings.Contains(page.body, "胸部 CT 未见异常") {
			t.Fatalf("/me after the report: %d, preview shown %v", page.code, strings.Contains(page.body, preview))
		}
		if strings.Contains(page.body, "/me/reports/"+itoa(theirs)+"/") {
			t.Error("/me previews another resident's study")
		}
		r := me.get(preview)
		if r.code != 200 || r.header.Get("Content-Type") != "image/jpeg" || !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
			t.Fatalf("preview: %d %s %q", r.code, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
		}
		img, err := jpeg.Decode(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("the preview is not a JPEG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
			t.Errorf("preview of a 1024×768 frame is %d×%d, want 320×240", b.Dx(), b.Dy())
		}
		if r := me.get("/me/reports/" + itoa(theirs) + "/preview"); r.code != http.StatusNotFound {
			t.Errorf("another resident's study: %d, want 404", r.code)
		}
		if r := vd.get(preview); r.code != http.StatusForbidden {
			t.Errorf("a village doctor on the resident's route: %d, want 403", r.code)
		}
		e.writer.Flush(ctx)
		rows, _ := e.st.SearchAudit(ctx, audit.Filter{Action: myrecord.ActPreview})
		if len(rows) != 1 || rows[0].ResidentID != self.ID || rows[0].Purpose != care.PurposeSelf || !strings.Contains(rows[0].Detail, "study="+itoa(mine)) {
			t.Errorf("preview audit rows: %+v", rows)
		}
	})
}

// otherVillager is a resident of the village doctor's village other than not.
func otherVillager(t *testing.T, e *env, vd *client, not int64) int64 {
	t.Helper()
	var out struct {
		Residents []struct {
			ID int64 `json:"id"`
		} `json:"residents"`
	}
	r := vd.get("/api/v1/residents?limit=20")
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.code != 200 {
		t.Fatalf("residents: %d %s", r.code, r.body)
	}
	for _, x := range out.Residents {
		if x.ID != not {
			return x.ID
		}
	}
	t.Fatal("the village has no other resident")
	return 0
}
