// Package archtest checks that dependencies point inward (docs/architecture.md):
// domain packages import only the standard library, the shared kernel and
// small pure libraries, never the SQL adapter, the web layer or a driver.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// domain packages and what each may import from this module.
var domain = map[string][]string{
	"care":        {},
	"idcard":      {},
	"icd10":       {},
	"org":         {"care", "audit"},
	"access":      {"care", "org"},
	"audit":       {"care"},
	"account":     {"care", "org", "audit", "notify"},
	"resident":    {"care", "idcard", "org", "access", "audit"},
	"proxy":       {"care", "idcard", "access", "audit", "resident"},
	"myrecord":    {"care", "audit", "resident", "chronic", "consult", "lab", "reading", "referral"},
	"settle":      {"care", "audit", "org", "resident", "icd10"},
	"notify":      {},
	"chronic":     {"care", "access", "audit", "org", "resident", "notify", "points"},
	"points":      {"care", "access", "audit", "resident"},
	"family":      {"care", "access", "audit", "org", "resident", "points"},
	"consult":     {"care", "access", "audit", "org", "resident", "notify", "icd10"},
	"ecg":         {},
	"dicom":       {},
	"reading":     {"care", "access", "audit", "org", "resident", "ecg", "dicom", "critical", "notify"},
	"referral":    {"care", "access", "audit", "org", "resident", "notify", "chronic", "icd10"},
	"rx":          {"care", "audit", "org", "resident", "icd10"},
	"critical":    {"care", "access", "audit", "org", "notify", "resident"},
	"lab":         {"care", "audit", "resident", "critical", "notify"},
	"online":      {"care", "audit", "org", "resident", "rx", "chronic", "idcard", "consult", "icd10"},
	"pharmacy":    {"care", "audit", "org", "resident", "rx", "settle", "notify"},
	"kpi":         {"care", "audit", "org", "chronic", "family", "referral", "consult", "critical", "idcard", "rx"},
	"upload":      {"care", "audit", "org", "resident", "reading"},
	"smart":       {"care", "audit"},
	"bulkdata":    {},
	"code128":     {},
	"specimen":    {"care", "audit", "org", "resident", "lab", "notify"},
	"villagesync": {"care", "audit", "resident", "chronic", "family", "screening"},

	// The performance appraisal and the resident surveys (issue 14 §2, §4).
	"appraisal": {"care", "audit", "org", "kpi"},
	"survey":    {"care", "audit", "org", "notify"},

	// Maternal and child health (issue 17).
	"maternal":    {"care", "audit", "idcard", "resident"},
	"childhealth": {"care", "audit", "idcard", "resident"},
	// Elderly health management and TCM constitution identification (issue 17).
	"elderly": {"care", "audit", "resident"},
	// Health huts' devices and sterile treatment packs (issue 17).
	"huts":    {"care", "access", "audit", "org", "resident", "chronic", "critical", "notify"},
	"sterile": {"care", "audit", "org", "resident"},
	// Watching for poverty through illness (issue 14 §3).
	"povertywatch": {"care", "audit", "icd10", "notify", "org", "resident", "settle"},
	// Household screening for the "2+3" diseases (issue 17).
	"screening": {"care", "audit", "chronic", "org", "resident"},
	// Expert sessions in townships and multi-site practice (issue 17).
	"outreach": {"care", "access", "audit", "notify", "org", "resident"},
	// Health education with the double prescription, and home visits (issue 17).
	"healthedu": {"care", "audit", "org", "resident", "rx", "icd10"},
	"homevisit": {"care", "audit", "org", "resident", "family"},
}

// outer are the packages outside the domain: the SQL adapter, the faces
// (pages, FHIR), the text-message gateways, the demo generator, wiring,
// tests and tools. Every other package must be listed in domain, so a new
// package cannot escape the check by being forgotten.
var outer = map[string]bool{"store": true, "web": true, "fhir": true, "sms": true, "demo": true,
	"cmd": true, "e2e": true, "internal": true, "tools": true, "scripts": true, "testdata": true}

// allowedExternal are the outside modules domain code may use.
var allowedExternal = []string{"github.com/go-jose/go-jose/v4", "github.com/go-jose/go-jose/v4/jwt", "golang.org/x/crypto/argon2", "github.com/mozillazg/go-pinyin", "golang.org/x/text/encoding/simplifiedchinese"}

func imports(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[p] = true
		}
	}
	return out
}

// TestEveryPackageListed fails when a top-level package is neither a domain
// package with its allowed imports nor a known outer package.
func TestEveryPackageListed(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || outer[name] {
			continue
		}
		if _, listed := domain[name]; listed {
			continue
		}
		if files, _ := filepath.Glob(filepath.Join("..", "..", name, "*.go")); len(files) > 0 {
			t.Errorf("package %s is not in archtest's domain map (nor an outer package): list what it may import", name)
		}
	}
}

func TestDependenciesPointInward(t *testing.T) {
	for pkg, may := range domain {
		dir := filepath.Join("..", "..", pkg)
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("package %s missing: %v", pkg, err)
		}
		for im := range imports(t, dir) {
			switch {
			case strings.HasPrefix(im, "countycare/"):
				ok := false
				for _, m := range may {
					ok = ok || im == "countycare/"+m
				}
				if !ok {
					t.Errorf("%s imports %s", pkg, im)
				}
			case strings.Contains(strings.SplitN(im, "/", 2)[0], "."):
				ok := false
				for _, a := range allowedExternal {
					ok = ok || im == a
				}
				if !ok {
					t.Errorf("%s imports outside module %s", pkg, im)
				}
			case im == "database/sql" || im == "net/http":
				t.Errorf("%s imports %s: domain code has no SQL or HTTP", pkg, im)
			}
		}
	}
	// The web layer receives the store through an interface.
	if imports(t, filepath.Join("..", "..", "web"))["countycare/store"] {
		t.Error("web imports store: it must depend on the interface web.Store")
	}
}
