package web

import (
	"testing"

	"countycare/kpi"
)

// TestCatalogueHasEveryIndicator: the dashboard builds its keys from the
// indicator ids (kpi.<id>.name …), which TestCatalogueIsComplete cannot
// see in the source; each must be in both languages.
func TestCatalogueHasEveryIndicator(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range kpi.Catalogue {
		for _, k := range []string{in.NameKey(), in.DefKey(), in.SourceKey(), in.Numerator, in.Denominator, "kpi.group." + in.Group} {
			for _, lang := range Languages {
				if !c.Has(lang, k) {
					t.Errorf("%s: no %s", lang, k)
				}
			}
		}
	}
	for _, l := range []kpi.Light{kpi.LightGreen, kpi.LightAmber, kpi.LightRed} {
		for _, lang := range Languages {
			if !c.Has(lang, "kpi.light."+string(l)) {
				t.Errorf("%s: no light %s", lang, l)
			}
		}
	}
}
