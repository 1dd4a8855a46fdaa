package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/appraisal"
	"countycare/survey"
)

// TestLoadAppraisalRules: serve --appraisal-config reads the county's file,
// refuses one whose weights do not sum to the stated total naming the
// field, and a missing file; none gives the shipped rules.
func TestLoadAppraisalRules(t *testing.T) {
	if r, err := loadAppraisalRules(""); err != nil || r.String() != appraisal.DefaultRules().String() {
		t.Fatalf("defaults: %v", err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"version":1,"years":{"2026":{"institution":{"total":10,"items":{"in_county":{"weight":10,"target":88}}},"doctor":{"total":10,"items":{"satisfaction":{"weight":10,"target":95}}}}}}`), 0o644)
	r, err := loadAppraisalRules(good)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := r.Scheme(2026, appraisal.Doctors); err != nil || sc.Items[0].TargetBP != 9500 {
		t.Errorf("scheme %+v %v", sc, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"version":1,"years":{"2026":{"institution":{"total":100,"items":{"in_county":{"weight":10,"target":88}}},"doctor":{"total":10,"items":{"satisfaction":{"weight":10,"target":95}}}}}}`), 0o644)
	if _, err := loadAppraisalRules(bad); err == nil || !strings.Contains(err.Error(), "years.2026.institution.total") || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("weights that do not sum: %v", err)
	}
	if _, err := loadAppraisalRules(filepath.Join(dir, "none.json")); err == nil {
		t.Error("a missing file was accepted")
	}
}

// TestLoadSurveyConfig: serve --survey-config reads the county's questions,
// refuses a minimum count below 5 naming the field, and a missing file;
// none gives the shipped survey.
func TestLoadSurveyConfig(t *testing.T) {
	if c, err := loadSurveyConfig(""); err != nil || c.MinCount != survey.MinMinCount {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	dir := t.TempDir()
	q := `"questions":[{"id":"satisfaction","kind":"scale5","text":{"zh":"满意吗","en":"Satisfied?"}}]`
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"version":1,"min_count":8,"link_days":7,"gap_days":60,`+q+`}`), 0o644)
	if c, err := loadSurveyConfig(good); err != nil || c.MinCount != 8 || c.LinkDays != 7 || len(c.Questions) != 1 {
		t.Errorf("good: %+v %v", c, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"version":1,"min_count":3,"link_days":7,"gap_days":60,`+q+`}`), 0o644)
	if _, err := loadSurveyConfig(bad); err == nil || !strings.Contains(err.Error(), "min_count") || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("min_count 3: %v", err)
	}
	if _, err := loadSurveyConfig(filepath.Join(dir, "none.json")); err == nil {
		t.Error("a missing file was accepted")
	}
}
