package appraisal

import (
	"errors"
	"strings"
	"testing"

	"countycare/care"
	"countycare/kpi"
)

func TestDefaultRulesLoad(t *testing.T) {
	r := DefaultRules()
	for y := 2025; y <= 2027; y++ {
		for _, set := range Sets {
			sc, err := r.Scheme(y, set)
			if err != nil || sc.Total != 100 || len(sc.Items) == 0 {
				t.Errorf("%d %s: %+v %v", y, set, sc, err)
			}
		}
	}
	// The national list the platform's data supports is scored: visit
	// shares, referrals up and down, chronic control, family doctors, satisfaction.
	sc, _ := r.Scheme(2026, Institutions)
	for _, id := range []string{"in_county", "primary_share", "referral_completion", "out_of_county", "htn_controlled", "dm_controlled", "family_coverage", "satisfaction"} {
		if !hasItem(sc, id) {
			t.Errorf("institution appraisal without %s", id)
		}
	}
	if sc.Items[0].ID != "htn_standardised" || sc.Items[len(sc.Items)-1].ID != "satisfaction" {
		t.Errorf("items not in catalogue order: %+v", sc.Items)
	}
	if got := r.String(); got != "appraisal rules v1: 2025–2027" {
		t.Errorf("String = %q", got)
	}
}

func hasItem(sc Scheme, id string) bool {
	for _, it := range sc.Items {
		if it.ID == id {
			return true
		}
	}
	return false
}

func TestSchemeYearMissing(t *testing.T) {
	_, err := DefaultRules().Scheme(2031, Institutions)
	var ce *care.Error
	if !errors.As(err, &ce) || ce.Code != care.ENOTFOUND || ce.Key != "appraisal.no_rules" {
		t.Errorf("a year without rules: %v", err)
	}
}

// one builds a rules file of one or more years, each with the same doctor set.
func one(years map[string]string) string {
	var b strings.Builder
	b.WriteString(`{"version":1,"years":{`)
	first := true
	for y, inst := range years {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + y + `":{"institution":` + inst + `,"doctor":{"total":10,"items":{"family_fulfilment":{"weight":10,"target":80}}}}`)
	}
	b.WriteString(`}}`)
	return b.String()
}

const okInst = `{"total":30,"items":{"in_county":{"weight":20,"target":90},"out_of_county":{"weight":10,"target":10.5}}}`

func TestLoadRules(t *testing.T) {
	r, err := LoadRules(strings.NewReader(one(map[string]string{"2026": okInst, "2027": okInst})))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := r.Scheme(2027, Institutions)
	if err != nil || sc.Total != 30 || len(sc.Items) != 2 {
		t.Fatalf("scheme: %+v %v", sc, err)
	}
	// Catalogue order: in_county before out_of_county; targets in basis points.
	if sc.Items[0] != (Item{ID: "in_county", Weight: 20, TargetBP: 9000}) || sc.Items[1] != (Item{ID: "out_of_county", Weight: 10, TargetBP: 1050}) {
		t.Errorf("items: %+v", sc.Items)
	}
	if d, _ := r.Scheme(2026, Doctors); d.Total != 10 || d.Items[0].ID != "family_fulfilment" {
		t.Errorf("doctor scheme: %+v", d)
	}
}

// TestLoadRulesRefuses: issue 14 "Bad input" — unknown indicators, weights
// that do not sum as stated, a year missing — each named with its field.
func TestLoadRulesRefuses(t *testing.T) {
	for _, c := range []struct {
		name, file string
		fields     []string
		key        string
	}{
		{"syntax", `{"version":1,`, []string{"file"}, "appraisal.rules.syntax"},
		{"unknown field", `{"version":1,"years":{},"x":1}`, []string{"file"}, "appraisal.rules.syntax"},
		{"version", strings.Replace(one(map[string]string{"2026": okInst}), `"version":1`, `"version":2`, 1), []string{"version"}, "appraisal.rules.version"},
		{"no years", `{"version":1,"years":{}}`, []string{"years"}, "appraisal.rules.no_years"},
		{"not a year", one(map[string]string{"20x6": okInst}), []string{"years.20x6"}, "appraisal.rules.year"},
		{"year too early", one(map[string]string{"1999": okInst}), []string{"years.1999"}, "appraisal.rules.year"},
		{"year too late", one(map[string]string{"2101": okInst}), []string{"years.2101"}, "appraisal.rules.year"},
		{"a year missing", one(map[string]string{"2025": okInst, "2027": okInst}), []string{"years.2026"}, "appraisal.rules.year_missing"},
		{"two years missing", one(map[string]string{"2025": okInst, "2028": okInst}), []string{"years.2026", "years.2027"}, "appraisal.rules.year_missing"},
		{"unknown indicator", one(map[string]string{"2026": `{"total":30,"items":{"in_county":{"weight":20,"target":90},"in_countyy":{"weight":10,"target":10}}}`}), []string{"years.2026.institution.items.in_countyy", "years.2026.institution.total"}, "appraisal.rules.unknown_indicator"},
		{"weights sum", one(map[string]string{"2026": `{"total":100,"items":{"in_county":{"weight":20,"target":90},"out_of_county":{"weight":10,"target":10}}}`}), []string{"years.2026.institution.total"}, "appraisal.rules.weights_sum"},
		{"zero weight", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":20,"target":90},"out_of_county":{"weight":0,"target":10}}}`}), []string{"years.2026.institution.items.out_of_county.weight"}, "appraisal.rules.weight"},
		{"negative weight", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":21,"target":90},"out_of_county":{"weight":-1,"target":10}}}`}), []string{"years.2026.institution.items.out_of_county.weight"}, "appraisal.rules.weight"},
		{"fractional weight", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":2.5,"target":90}}}`}), []string{"file"}, "appraisal.rules.syntax"},
		{"zero total", one(map[string]string{"2026": `{"total":0,"items":{"in_county":{"weight":20,"target":90}}}`}), []string{"years.2026.institution.total"}, "appraisal.rules.total"},
		{"no items", one(map[string]string{"2026": `{"total":10,"items":{}}`}), []string{"years.2026.institution.items", "years.2026.institution.total"}, "appraisal.rules.no_items"},
		{"target missing", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":20}}}`}), []string{"years.2026.institution.items.in_county.target"}, "appraisal.rules.target_missing"},
		{"target over 100", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":20,"target":100.01}}}`}), []string{"years.2026.institution.items.in_county.target"}, "appraisal.rules.target_range"},
		{"target negative", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":20,"target":-1}}}`}), []string{"years.2026.institution.items.in_county.target"}, "appraisal.rules.target_range"},
		{"target three decimals", one(map[string]string{"2026": `{"total":20,"items":{"in_county":{"weight":20,"target":90.125}}}`}), []string{"years.2026.institution.items.in_county.target"}, "appraisal.rules.target_range"},
		{"set missing", `{"version":1,"years":{"2026":{"institution":` + okInst + `}}}`, []string{"years.2026.doctor"}, "appraisal.rules.set_missing"},
		{"unknown set", `{"version":1,"years":{"2026":{"institution":` + okInst + `,"doctor":` + okInst[:0] + `{"total":10,"items":{"family_fulfilment":{"weight":10,"target":80}}},"nurse":` + okInst + `}}}`, []string{"years.2026.nurse"}, "appraisal.rules.unknown_set"},
		{"referral in the doctor set", `{"version":1,"years":{"2026":{"institution":` + okInst + `,"doctor":{"total":10,"items":{"in_county":{"weight":10,"target":80}}}}}}`, []string{"years.2026.doctor.items.in_county", "years.2026.doctor.total"}, "appraisal.rules.not_in_set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := LoadRules(strings.NewReader(c.file))
			var ce *care.Error
			if r != nil || !errors.As(err, &ce) || ce.Code != care.EINVALID {
				t.Fatalf("got %v, %v; want EINVALID", r, err)
			}
			var got []string
			found := false
			for _, f := range ce.Fields {
				got = append(got, f.Field)
				found = found || f.Key == c.key
			}
			if strings.Join(got, " ") != strings.Join(c.fields, " ") || !found {
				t.Errorf("fields %v %+v, want %v with %s", got, ce.Fields, c.fields, c.key)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	in, _ := kpi.Lookup("in_county")
	fam, _ := kpi.Lookup("family_fulfilment")
	if !Allowed(Institutions, in) || Allowed(Doctors, in) || !Allowed(Doctors, fam) || !Allowed(Doctors, Satisfaction) {
		t.Error("Allowed")
	}
	if _, ok := Lookup("satisfaction"); !ok {
		t.Error("satisfaction unknown")
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("nope known")
	}
}
