package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"countycare/care"
	"countycare/fhir"
)

// benchFHIR measures the FHIR searches issue 12 gives figures for (p99 ≤
// 5 ms): Patient?identifier and Patient?name as the county's insurance
// officer; Condition?patient and Observation?patient&code&date as a
// township doctor, on patients of the township with a chronic
// registration; DiagnosticReport?patient as a village doctor on the
// clinic's patients with signed reports; and Patient/$everything (≤ 50
// ms) as that village doctor on the clinic's chronic patients. Every
// request goes through the whole server: session, policy, scope, audit
// (durable read rows), FHIR mapping, JSON.
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
	return benchFHIRVillage(stdout, base, user[care.RoleVillageDoctor], n, conc)
}

// benchFHIRVillage measures DiagnosticReport?patient and
// Patient/$everything as a village doctor, whose clinic orders the
// studies (only the ordering clinic and the reading center see a report).
func benchFHIRVillage(stdout io.Writer, base, username string, n, conc int) error {
	vd, err := login(base, username)
	if err != nil {
		return err
	}
	var reported, chronic []string
	next := "/fhir/Patient?_count=100"
	for next != "" && len(reported) < 200 {
		var b struct {
			Link []struct {
				Relation, URL string
			}
			Entry []struct {
				Resource struct{ ID string } `json:"resource"`
			} `json:"entry"`
		}
		if err := vd.getJSON(next, &b); err != nil {
			return err
		}
		for _, e := range b.Entry {
			var c struct{ Total int }
			if err := vd.getJSON("/fhir/DiagnosticReport?_summary=count&patient="+e.Resource.ID, &c); err != nil {
				return err
			}
			if c.Total > 0 {
				reported = append(reported, e.Resource.ID)
			}
			if err := vd.getJSON("/fhir/Condition?patient="+e.Resource.ID, &c); err != nil {
				return err
			}
			if c.Total > 0 {
				chronic = append(chronic, e.Resource.ID)
			}
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = strings.TrimPrefix(l.URL, base)
			}
		}
	}
	if len(reported) == 0 || len(chronic) == 0 {
		return fmt.Errorf("bench fhir: the village doctor's clinic has %d patients with signed reports and %d chronic patients (a demo with reads and follow-ups is needed)", len(reported), len(chronic))
	}
	res := runLoad(n, conc, func(i int) error {
		return vd.get("/fhir/DiagnosticReport?patient=" + reported[i%len(reported)])
	})
	report(stdout, fmt.Sprintf("FHIR DiagnosticReport?patient=… (village clinic, %d patients with signed reports)", len(reported)), res)
	res = runLoad(n, conc, func(i int) error {
		return vd.get("/fhir/Patient/" + chronic[i%len(chronic)] + "/$everything")
	})
	report(stdout, fmt.Sprintf("FHIR Patient/$everything (village clinic, %d chronic patients)", len(chronic)), res)
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
