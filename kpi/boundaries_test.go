package kpi

import (
	"strings"
	"testing"
)

// TestBoundaries: a county's outlines load by area code (adcode as a number
// or code as a string, Polygon and MultiPolygon) and project north up onto
// a 1000-unit map; a bad file is refused naming the feature.
func TestBoundaries(t *testing.T) {
	good := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","properties":{"adcode":411723100,"name":"甲乡"},"geometry":{"type":"Polygon","coordinates":[[[114.0,33.0],[114.1,33.0],[114.1,33.1],[114.0,33.1],[114.0,33.0]]]}},
	 {"type":"Feature","properties":{"code":"411723101"},"geometry":{"type":"MultiPolygon","coordinates":[[[[114.1,33.0],[114.2,33.0],[114.2,33.1],[114.1,33.1],[114.1,33.0]]],[[[114.3,33.0],[114.35,33.0],[114.35,33.05],[114.3,33.0]]]]}}]}`
	b, err := LoadBoundaries(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Has("411723100") || !b.Has("411723101") || b.Has("411723102") || (*Boundaries)(nil).Has("411723100") {
		t.Error("codes")
	}
	vb, shapes := b.Map([]string{"411723100", "411723101", "411723999"})
	if len(shapes) != 2 || shapes[0].Code != "411723100" {
		t.Fatalf("shapes %+v", shapes)
	}
	// 0.35° of longitude at 33.05° N is 0.35·cos(33.05°) = 0.2934 units of
	// latitude: 1000 wide, 0.1/0.2934·1000 = 341 high.
	if vb != "0 0 1000 341" {
		t.Errorf("viewBox %q", vb)
	}
	// North up: the first square's south-west corner (114.0, 33.0) is at the bottom left.
	if shapes[0].D != "M0.0 340.9L285.7 340.9L285.7 0.0L0.0 0.0L0.0 340.9Z" || strings.Count(shapes[1].D, "Z") != 2 {
		t.Errorf("paths %q / %q", shapes[0].D, shapes[1].D)
	}
	// The globe's edges are positions too.
	edge := `{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[-180,-90],[180,-90],[180,90],[-180,-90]]]}}]}`
	if _, err := LoadBoundaries(strings.NewReader(edge)); err != nil {
		t.Errorf("the globe's edges: %v", err)
	}
	for _, bad := range []string{"[-180.001,0]", "[180.001,0]", "[0,-90.001]", "[0,90.001]"} {
		f := `{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[0,0],` + bad + `,[1,1],[0,0]]]}}]}`
		if _, err := LoadBoundaries(strings.NewReader(f)); err == nil || !strings.Contains(err.Error(), "longitude") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if vb, s := b.Map([]string{"1"}); vb != "" || s != nil {
		t.Error("no outline: no map")
	}
	for _, c := range []struct{ file, want string }{
		{`[]`, "not GeoJSON"},
		{`{"type":"Feature"}`, "FeatureCollection"},
		{`{"type":"FeatureCollection","features":[{"properties":{},"geometry":{"type":"Polygon","coordinates":[]}}]}`, "feature 0"},
		{`{"type":"FeatureCollection","features":[{"properties":{"adcode":4117},"geometry":{"type":"Polygon","coordinates":[]}}]}`, "9-digit"},
		{`{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Point","coordinates":[114,33]}}]}`, "only Polygon"},
		{`{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114,33],[114,33]]]}}]}`, "at least 4"},
		{`{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[214,33],[114,33],[114,34],[214,33]]]}}]}`, "longitude"},
		{`{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114.1,33],[114,34],[114,33]]]}},{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114.1,33],[114,34],[114,33]]]}}]}`, "twice"},
	} {
		if _, err := LoadBoundaries(strings.NewReader(c.file)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: %v, want %q", c.file, err, c.want)
		}
	}
}
