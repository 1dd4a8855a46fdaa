package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"countycare/care"
	"countycare/fhir"
)

// benchFHIR measures the FHIR searches issue 12 gives figures for (p99 ≤
// 5 ms): Patient?identifier and Patient?name as the county's insurance
// officer; Condition?patient and Observation?patient&code&date as a
// township doctor, on patients of the township with a chronic
// registration. Every request goes through the whole server: session,
// policy, scope, audit (durable read rows), FHIR mapping, JSON.
func benchFHIR(stdout io.Writer, base string, user map[care.Role]string, ids, names []string, n, conc int) error {
	io1, err := login(base, user[care.RoleInsuranceOfficer])
	if err != nil {
		return err
	}
	res := runLoad(n, conc, func(i int) error {
		return io1.get("/fhir/Patient?identifier=" + url.QueryEscape(fhir.SystemIDNumber+"|"+ids[i%len(ids)]))
	})
	report(stdout, "FHIR Patient?identifier=gb11643|… (county scope, 1 result)", res)
	res = runLoad(n, conc, func(i int) error {
		return io1.get("/fhir/Patient?name=" + url.QueryEscape(names[i%len(names)]))
	})
	report(stdout, "FHIR Patient?name=… (county scope, ≤ 20 results)", res)

	td, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	// Patients of the township with a registration: older residents, by birth year.
	var patients []string
	for year := 1935; year < 1975 && len(patients) < 200; year++ {
		var b struct {
			Entry []struct {
				Resource struct{ ID string } `json:"resource"`
			} `json:"entry"`
		}
		if err := td.getJSON(fmt.Sprintf("/fhir/Patient?birthdate=ge%d-01-01&birthdate=le%d-12-31&_count=100", year, year), &b); err != nil {
			return err
		}
		for _, e := range b.Entry {
			var c struct{ Total int }
			if err := td.getJSON("/fhir/Condition?patient="+e.Resource.ID, &c); err != nil {
				return err
			}
			if c.Total > 0 {
				patients = append(patients, e.Resource.ID)
			}
		}
	}
	if len(patients) == 0 {
		return fmt.Errorf("bench fhir: no chronic patient in the township doctor's scope (a demo with follow-ups is needed)")
	}
	res = runLoad(n, conc, func(i int) error {
		return td.get("/fhir/Condition?patient=" + patients[i%len(patients)])
	})
	report(stdout, fmt.Sprintf("FHIR Condition?patient=… (township scope, %d chronic patients)", len(patients)), res)
	since := care.Today(time.Now()).AddDays(-365).String()
	res = runLoad(n, conc, func(i int) error {
		return td.get("/fhir/Observation?patient=" + patients[i%len(patients)] + "&code=" + url.QueryEscape(fhir.SystemLOINC+"|"+fhir.LoincBPPanel) + "&date=ge" + since)
	})
	report(stdout, "FHIR Observation?patient&code=BP panel&date=ge(a year ago)", res)
	return nil
}

// getJSON fetches path and decodes its JSON body into v.
func (c *client) getJSON(path string, v any) error {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s %.200s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
