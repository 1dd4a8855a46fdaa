package fhir_test

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/bulkdata"
	"countycare/family"
	"countycare/fhir"
	"countycare/reading"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
	"countycare/store"
)

// onePassTypes are the types an export makes from a source shared with
// another type (one pass over it when both are asked): the prescriptions,
// the signed reports, the households, the contracts, the settlements.
var onePassTypes = []string{"MedicationRequest", "MedicationDispense", "Provenance", "DiagnosticReport", "Group", "RelatedPerson", "CarePlan", "Consent",
	"ExplanationOfBenefit", "Claim"}

// TestExportOnePass: an export of every type (no _type) scans each shared
// source once for all the types made from it (the scans counted on the real
// store) and writes for each of those types (and Patient, Encounter) the
// very bytes, file by file, that an export of that type alone writes —
// county-wide, for a township's Group, with _since, and with _type naming
// the types in another order; small files, so that the writers of one
// pass split theirs while interleaved. On SQLite and PostgreSQL.
func TestExportOnePass(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testExportOnePass(t, d) })
	}
}

func testExportOnePass(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	e.fhir.ExportCfg.FileBytes, e.fhir.ExportCfg.PieceSize = 64<<10, 16<<10
	scans := &countedScans{ExportStore: e.fhir.Exports, n: map[string]int{}}
	e.fhir.Exports = scans
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	town := e.townships(t)[0]
	since := url.QueryEscape(time.Now().Add(-60 * 24 * time.Hour).Format(time.RFC3339))
	alone := map[string][][]byte{} // county-wide, each type alone
	for _, sc := range []struct {
		name, base, query string
		types             []string // compared
	}{
		{"county", "/fhir/$export", "", append([]string{"Patient", "Encounter"}, onePassTypes...)},
		{"township", "/fhir/Group/township-" + strconv.FormatInt(town.ID, 10) + "/$export", "", []string{"MedicationRequest", "MedicationDispense", "Provenance", "CarePlan", "Consent"}},
		{"since", "/fhir/$export", "_since=" + since, []string{"MedicationRequest", "MedicationDispense", "Provenance", "RelatedPerson"}},
	} {
		clear(scans.n)
		m, _ := c.export(t, sc.base+"?"+sc.query)
		all := c.files(t, m)
		for src, n := range scans.n { // each shared source read once for all its types
			if n != 1 {
				t.Errorf("%s: the export of every type scanned the %s %d times", sc.name, src, n)
			}
		}
		if len(scans.n) != 5 {
			t.Errorf("%s: the shared sources scanned: %v", sc.name, scans.n)
		}
		for _, typ := range e.fhir.ExportTypes() {
			if !slices.Contains(sc.types, typ) {
				continue
			}
			q := "_type=" + typ
			if sc.query != "" {
				q += "&" + sc.query
			}
			one, _ := c.export(t, sc.base+"?"+q)
			a := c.files(t, one)[typ]
			if !slices.EqualFunc(all[typ], a, bytes.Equal) {
				t.Errorf("%s: %s in %d files (%d bytes) in the export of every type, %d files (%d bytes) alone, or different bytes",
					sc.name, typ, len(all[typ]), len(bytes.Join(all[typ], nil)), len(a), len(bytes.Join(a, nil)))
			}
			if sc.name == "county" {
				alone[typ] = a
			}
			if sc.name == "county" && slices.Contains(onePassTypes, typ) && len(all[typ]) == 0 {
				t.Errorf("%s: no %s exported: the comparison shows nothing", sc.name, typ)
			}
		}
		if sc.name == "county" && len(all["MedicationRequest"]) < 2 {
			t.Errorf("MedicationRequest in %d files: the writers of one pass are not seen splitting", len(all["MedicationRequest"]))
		}
	}
	// _type naming the types of one source out of the order they are
	// listed in: each still as alone.
	rev := slices.Clone(onePassTypes)
	slices.Reverse(rev)
	m, _ := c.export(t, "/fhir/$export?_type="+strings.Join(rev, ","))
	got := c.files(t, m)
	for _, typ := range rev {
		if !slices.EqualFunc(got[typ], alone[typ], bytes.Equal) {
			t.Errorf("_type=%s: %s differs from %s alone", strings.Join(rev, ","), typ, typ)
		}
	}
}

// countedScans counts the scans of the sources that several types are
// made from, on the real store.
type countedScans struct {
	fhir.ExportStore
	n map[string]int
}

func (c *countedScans) EachExportPrescription(ctx context.Context, sel bulkdata.Selection, fn func(*rx.Signed) error) error {
	c.n["prescriptions"]++
	return c.ExportStore.EachExportPrescription(ctx, sel, fn)
}

func (c *countedScans) EachExportHousehold(ctx context.Context, sel bulkdata.Selection, fn func(*resident.Household, []resident.Resident) error) error {
	c.n["households"]++
	return c.ExportStore.EachExportHousehold(ctx, sel, fn)
}

func (c *countedScans) EachExportContract(ctx context.Context, sel bulkdata.Selection, fn func(*family.Contract) error) error {
	c.n["contracts"]++
	return c.ExportStore.EachExportContract(ctx, sel, fn)
}

func (c *countedScans) EachExportReport(ctx context.Context, sel bulkdata.Selection, fn func(*reading.Study, []reading.Report) error) error {
	c.n["reports"]++
	return c.ExportStore.EachExportReport(ctx, sel, fn)
}

func (c *countedScans) EachExportSettlement(ctx context.Context, sel bulkdata.Selection, fn func(*settle.Settlement) error) error {
	c.n["settlements"]++
	return c.ExportStore.EachExportSettlement(ctx, sel, fn)
}

// files downloads every file of m: each file's bytes, by type, in the
// manifest's order.
func (c *sysClient) files(t *testing.T, m fhir.Manifest) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, o := range m.Output {
		resp, body := c.do(t, "GET", o.URL, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", o.URL, resp.StatusCode)
		}
		out[o.Type] = append(out[o.Type], body)
	}
	return out
}
