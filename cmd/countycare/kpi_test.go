package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadTargets: serve --kpi-targets reads the county's file, refuses
// one with an unknown indicator naming it, and a missing file; none gives
// the shipped defaults.
func TestLoadTargets(t *testing.T) {
	if tg, err := loadTargets(""); err != nil || tg.AmberBP != 500 {
		t.Fatalf("defaults: %v", err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"version": 1, "amber_points": 3, "targets": {"htn_controlled": {"2026": 61}}}`), 0o644)
	tg, err := loadTargets(good)
	if err != nil {
		t.Fatal(err)
	}
	if bp, err := tg.Target("htn_controlled", 2026); err != nil || bp != 6100 || tg.AmberBP != 300 {
		t.Errorf("target %d %v", bp, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"version": 1, "amber_points": 3, "targets": {"htn_control": {"2026": 61}}}`), 0o644)
	if _, err := loadTargets(bad); err == nil || !strings.Contains(err.Error(), "targets.htn_control") || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("unknown indicator: %v", err)
	}
	if _, err := loadTargets(filepath.Join(dir, "none.json")); err == nil {
		t.Error("a missing file was accepted")
	}
}

// TestLoadBoundaries: serve --boundaries reads the county's GeoJSON; none
// is no map; a bad or missing file stops the start naming the file and
// the fault.
func TestLoadBoundaries(t *testing.T) {
	if b, err := loadBoundaries(""); err != nil || b != nil {
		t.Fatalf("none: %v %v", b, err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "county.geojson")
	os.WriteFile(good, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"411723101"},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114.1,33],[114.1,33.1],[114,33]]]}}]}`), 0o644)
	if b, err := loadBoundaries(good); err != nil || !b.Has("411723101") {
		t.Errorf("good file: %v", err)
	}
	bad := filepath.Join(dir, "bad.geojson")
	os.WriteFile(bad, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"4117"},"geometry":{"type":"Polygon","coordinates":[]}}]}`), 0o644)
	if _, err := loadBoundaries(bad); err == nil || !strings.Contains(err.Error(), "bad.geojson") || !strings.Contains(err.Error(), "feature 0") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := loadBoundaries(filepath.Join(dir, "none.geojson")); err == nil {
		t.Error("a missing file was accepted")
	}
}
