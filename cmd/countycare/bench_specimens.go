package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"countycare/care"
	"countycare/resident"
	"countycare/specimen"
)

// benchSpecimens measures the specimen journey's figures (issue 17): a
// scan at the county lab's bench (POST /api/v1/specimens/scan, receive:
// ≤ 20 ms p99) and at the village (collect), and the lab's board of the
// county's specimens on their way and overdue (GET /api/v1/specimens and
// the page GET /specimens: ≤ 100 ms p99), over HTTP on loopback, on a demo
// county carrying a year of specimens (countycare demo writes the seeds'
// 10,856 a year scaled to its residents; --specimens sets it). n tubes are
// ordered by the demo village doctor, collected, packed 50 to a box and
// handed over first (writes).
func benchSpecimens(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, labUser, county string, n, conc int) error {
	if labUser == "" {
		return fmt.Errorf("bench specimens: no county lab sign-in (lab.…) in this database; make it with countycare demo")
	}
	accs, err := a.st.Accounts(ctx, 1000)
	if err != nil {
		return err
	}
	var vd care.Actor
	for _, x := range accs {
		if x.Username == user[care.RoleVillageDoctor] {
			vd = care.Actor{AccountID: x.ID, Username: x.Username, Role: x.Role, InstitutionID: x.InstitutionID, CountyCode: county, PractitionerID: x.PractitionerID}
		}
	}
	people, _, err := a.res.Search(ctx, vd, "", resident.Filter{Limit: 50})
	if err != nil || len(people) == 0 {
		return fmt.Errorf("bench specimens: the village doctor's residents: %v", err)
	}
	labs, err := a.specimens.LabsFor(ctx, vd)
	if err != nil {
		return err
	}
	var labID int64
	for _, l := range labs {
		if l.Name == "县域医学检验中心" || labID == 0 {
			labID = l.ID
		}
	}
	var total int
	a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM specimens`, &total)
	fmt.Fprintf(stdout, "specimens in the database: %d\n", total)
	vc, err := login(base, user[care.RoleVillageDoctor])
	if err != nil {
		return err
	}
	vcsrf, err := vc.csrf()
	if err != nil {
		return err
	}
	hv := map[string]string{"X-CSRF-Token": vcsrf}
	order, _ := json.Marshal(map[string]any{"lab_id": labID, "tests": []string{"GLU", "K", "NA"}, "tube": "serum"})
	report(stdout, "order a specimen (POST /api/v1/residents/{id}/specimens)", runLoad(n, 1, func(i int) error {
		return vc.post(fmt.Sprintf("/api/v1/residents/%d/specimens", people[i%len(people)].ID), order, hv, 201)
	}))
	sps, err := a.st.Specimens(ctx, specimen.Filter{County: county, ClinicID: vd.InstitutionID, Statuses: []specimen.Status{specimen.StatusOrdered}, Limit: 5000})
	if err != nil {
		return err
	}
	if len(sps) < n {
		return fmt.Errorf("bench specimens: %d ordered, want %d", len(sps), n)
	}
	sps = sps[len(sps)-n:]
	scan := func(c *client, h map[string]string, step string) func(i int) error {
		return func(i int) error {
			b, _ := json.Marshal(map[string]string{"barcode": sps[i].Barcode, "step": step})
			return c.post("/api/v1/specimens/scan", b, h, 200)
		}
	}
	report(stdout, "village scan: collect (POST /api/v1/specimens/scan)", runLoad(n, conc, scan(vc, hv, "collect")))
	for i := 0; i < n; i += 50 {
		var codes []string
		for _, sp := range sps[i:min(i+50, n)] {
			codes = append(codes, sp.Barcode)
		}
		b, _ := json.Marshal(map[string]any{"barcodes": codes, "temp_c": 4.5})
		if err := vc.post("/api/v1/specimens/boxes", b, hv, 201); err != nil {
			return err
		}
	}
	boxes, err := a.st.WaitingBoxes(ctx, county, vd.InstitutionID)
	if err != nil {
		return err
	}
	for _, bx := range boxes {
		if err := vc.post(fmt.Sprintf("/api/v1/specimens/boxes/%d/hand-over", bx.ID), []byte(`{"courier":"bench","route":"bench"}`), hv, 200); err != nil {
			return err
		}
	}
	lc, err := login(base, labUser)
	if err != nil {
		return err
	}
	lcsrf, err := lc.csrf()
	if err != nil {
		return err
	}
	report(stdout, "county lab's in-transit and overdue list (GET /api/v1/specimens)", runLoad(n, conc, func(int) error { return lc.get("/api/v1/specimens") }))
	report(stdout, "county lab's specimen page (GET /specimens)", runLoad(n, conc, func(int) error { return lc.get("/specimens") }))
	report(stdout, "lab scan: receive (POST /api/v1/specimens/scan)", runLoad(n, conc, scan(lc, map[string]string{"X-CSRF-Token": lcsrf}, "receive")))
	return nil
}

// labSignIn is the county lab reader's username (the demo's lab.…), or "".
func labSignIn(ctx context.Context, a *app) string {
	accs, err := a.st.Accounts(ctx, 1000)
	if err != nil {
		return ""
	}
	for _, x := range accs {
		if x.Role == care.RoleReader && strings.HasPrefix(x.Username, "lab.") {
			return x.Username
		}
	}
	return ""
}
