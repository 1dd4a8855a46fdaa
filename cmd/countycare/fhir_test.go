package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/internal/testdb"
	"countycare/internal/testfiles"
	"countycare/store"
)

// aVillage returns a village clinic of the county at url.
func aVillage(t *testing.T, url string) string {
	t.Helper()
	st, err := store.Open(context.Background(), url, store.Options{AuditKey: testdb.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var id int64
	if err := st.QueryForTest(context.Background(), `SELECT id FROM institutions WHERE kind = 'village_clinic' ORDER BY id LIMIT 1`, &id); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}

// normalized reads an export's NDJSON files as sets of lines without
// what differs between two counties holding the same records: ids,
// versions and times of the record, record numbers, institutions, and
// references to patients (replaced by the patient's Synthea identifier).
func normalized(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	patients := map[string]string{} // Patient/{id} → its foreign identifier
	for _, typ := range []string{"Patient", "Condition", "Observation"} {
		b, err := os.ReadFile(filepath.Join(dir, typ+".ndjson"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if typ == "Patient" {
				var keep []any
				for _, id := range m["identifier"].([]any) {
					if id.(map[string]any)["use"] == "secondary" {
						keep = append(keep, id)
					}
				}
				patients["Patient/"+m["id"].(string)] = keep[0].(map[string]any)["value"].(string)
				m["identifier"] = keep
			} else {
				m["subject"] = patients[m["subject"].(map[string]any)["reference"].(string)]
			}
			for _, k := range []string{"id", "meta", "managingOrganization", "issued", "performer"} {
				delete(m, k)
			}
			n, _ := json.Marshal(m)
			out[typ] = append(out[typ], string(n))
		}
		slices.Sort(out[typ])
	}
	return out
}

// TestFHIRImportExportRoundTrip: the Synthea bundles imported into one
// county (SQLite), exported as NDJSON, imported into another county's
// database (PostgreSQL) and exported again give the same records:
// patients with their Synthea identifiers, their chronic registrations
// and follow-up measurements. A second import of the same bundles is
// refused whole; the audit chain stays intact.
func TestFHIRImportExportRoundTrip(t *testing.T) {
	key := filepath.Join(t.TempDir(), "audit.key")
	urlA, urlB := testdb.URL(t, store.SQLite), testdb.URL(t, store.Postgres)
	a := []string{"--db", urlA, "--audit-key-file", key, "--log-format", "text"}
	b := []string{"--db", urlB, "--audit-key-file", key, "--log-format", "text"}
	for _, common := range [][]string{a, b} {
		if out, err := runCmd(t, append([]string{"demo", "--residents", "100", "--followups", "0", "--visits", "0"}, common...)...); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
	}
	synthea := testfiles.Path(t, "fhir", "synthea")
	t0 := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	out, err := runCmd(t, append(append([]string{"fhir", "import", "--village", aVillage(t, urlA)}, a...), synthea)...)
	if err != nil || strings.Count(out, "Patient 1;") != 3 || !strings.Contains(out, "not held") || !strings.Contains(out, "Observation") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = runCmd(t, append(append([]string{"fhir", "import", "--village", aVillage(t, urlA)}, a...), synthea)...)
	if exitCode(err) != 1 || strings.Count(out, "refused, nothing written") != 3 || !strings.Contains(out, "Bundle.entry[0]") {
		t.Errorf("second import: %v\n%s", err, out)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	if out, err := runCmd(t, append(append([]string{"fhir", "export", "--since", t0}, a...), dirA)...); err != nil || !strings.Contains(out, "3 Patient") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	t1 := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	if out, err := runCmd(t, append(append([]string{"fhir", "import", "--village", aVillage(t, urlB)}, b...), dirA)...); err != nil || !strings.Contains(out, "created Condition") {
		t.Fatalf("import of the export: %v\n%s", err, out)
	}
	if out, err := runCmd(t, append(append([]string{"fhir", "export", "--since", t1}, b...), dirB)...); err != nil {
		t.Fatalf("export B: %v\n%s", err, out)
	}
	na, nb := normalized(t, dirA), normalized(t, dirB)
	for _, typ := range []string{"Patient", "Condition", "Observation"} {
		if len(na[typ]) == 0 || !slices.Equal(na[typ], nb[typ]) {
			t.Errorf("%s: %d exported from the first county, %d from the second; first differing:\n%v\n%v", typ, len(na[typ]), len(nb[typ]),
				first(na[typ], nb[typ]), first(nb[typ], na[typ]))
		}
	}
	if out, err := runCmd(t, append([]string{"verify-audit"}, a...)...); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("verify-audit: %v %s", err, out)
	}
	if out, err := runCmd(t, "fhir", "import", synthea); exitCode(err) != 2 || !strings.Contains(err.Error(), "--village") {
		t.Errorf("import without --village: %v %s", err, out)
	}
}

func first(a, b []string) string {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return x
		}
	}
	return ""
}
