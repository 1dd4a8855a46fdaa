package fhir_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"countycare/care"
	"countycare/fhir"
	"countycare/internal/testfiles"
)

// TestFHIRKitClientWalkthrough: a new client with fhir-kit-client 2.0.3
// from npm (tools/fhir-validate/walkthrough.mjs; `make test` installs it
// with the validators) walks through the API as issue 12 says a client
// would: a village doctor's session finds a resident by their
// health-record number, reads the record across institutions within
// scope (Patient/$everything) and pages a Patient search by its next
// links; a system client with a SMART token exports the resident's
// township (Group kick-off, status polling, the NDJSON files — fetched
// with Node's fetch, as fhir-kit-client parses JSON only). The export
// duty runs meanwhile, as the scheduler's lease holder would.
func TestFHIRKitClientWalkthrough(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20 (fhir-kit-client is an npm package)")
	}
	dir := filepath.Join(filepath.Dir(testfiles.Root(t)), "tools", "fhir-validate")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client")); err != nil {
		t.Fatalf("fhir-kit-client is not installed: run `make fhir-validators` (npm ci --prefix tools/fhir-validate): %v", err)
	}
	e := newEnv(t)
	vd := e.as(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=1", nil, &mine)
	p := mine.patients(t)[0]
	var village fhir.Location
	vd.get("/fhir/Location/"+strings.TrimPrefix(p.ManagingOrganization.Reference, "Organization/"), nil, &village)
	township := strings.TrimPrefix(village.PartOf.Reference, "Location/")
	u, _ := url.Parse(e.ts.URL)
	var cookies []string
	for _, c := range vd.hc.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	sys := e.register(t, "walkthrough", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // the export duty, as serve's lease holder runs it
		defer close(done)
		for ctx.Err() == nil {
			e.fhir.RunExports(ctx, time.Hour)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	cmd := exec.Command(node, filepath.Join(dir, "walkthrough.mjs"))
	cmd.Env = append(os.Environ(), "BASE="+e.ts.URL+"/fhir", "COOKIE="+strings.Join(cookies, "; "), "TOKEN="+sys.token,
		"IDENT="+fhir.SystemRecordNumber+"|"+ident(p, fhir.SystemRecordNumber), "TOWNSHIP="+township)
	outb, err := cmd.Output()
	stop()
	<-done
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("walkthrough: %v\n%s\n%s", err, outb, msg)
	}
	var out struct {
		FHIRVersion string   `json:"fhirVersion"`
		Found       []string `json:"found"`
		Everything  []string `json:"everything"`
		Pages       []int    `json:"pages"`
		Distinct    int      `json:"distinct"`
		Kickoff     int      `json:"kickoff"`
		Files       []struct {
			Type                        string
			Count, Lines, Typed, Status int
		} `json:"files"`
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("walkthrough output %s: %v", outb, err)
	}
	t.Logf("fhir-kit-client saw %s", outb)
	if out.FHIRVersion != "4.0.1" || !slices.Equal(out.Found, []string{p.ID}) {
		t.Errorf("metadata %q, found %v, want %s", out.FHIRVersion, out.Found, p.ID)
	}
	if len(out.Everything) == 0 || out.Everything[0] != "Patient" || len(out.Everything) < 2 {
		t.Errorf("$everything: %v", out.Everything)
	}
	if len(out.Pages) != 3 || out.Pages[0] != 5 || out.Distinct != 15 {
		t.Errorf("paging: pages %v, %d distinct patients, want 3 pages of 5 and 15", out.Pages, out.Distinct)
	}
	types := map[string]bool{}
	for _, f := range out.Files {
		types[f.Type] = true
		if f.Status != 200 || f.Lines != f.Count || f.Typed != f.Count || f.Count == 0 {
			t.Errorf("export file %+v", f)
		}
	}
	if out.Kickoff != 202 || !types["Patient"] || !types["Condition"] {
		t.Errorf("export: kick-off %d, files %+v", out.Kickoff, out.Files)
	}
}
