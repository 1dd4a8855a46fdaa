package kpi

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Boundaries are a county's township and village outlines from a GeoJSON
// file the county supplies (serve --boundaries; issue 14 §1: "a GeoJSON
// boundary file when a county supplies one"), keyed by the statistical
// area code (统计用区划代码) that org.Institution.AreaCode holds: 9 digits
// for a township, 12 for a village. The dashboard draws the units below
// with an outline as a choropleth (SVG, no script); the others keep the
// schematic tiles.
type Boundaries struct {
	shapes map[string][][][2]float64 // area code → rings of [lon, lat]
}

// MaxBoundaryBytes bounds the file: a county's villages at survey detail
// are a few MB.
const MaxBoundaryBytes = 32 << 20

// LoadBoundaries reads a GeoJSON FeatureCollection of Polygon and
// MultiPolygon features whose properties carry the area code as "adcode"
// (the key of China's public boundary data) or "code", a number or a
// string. Refused, naming the feature: another geometry type, a feature
// without a code or with one that is not 9 or 12 digits, a code twice, a
// coordinate outside the globe, a ring of fewer than 4 positions.
func LoadBoundaries(r io.Reader) (*Boundaries, error) { return loadBoundaries(r, MaxBoundaryBytes) }

// loadBoundaries is LoadBoundaries with a file of at most limit bytes.
func loadBoundaries(r io.Reader, limit int64) (*Boundaries, error) {
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Properties map[string]any `json:"properties"`
			Geometry   struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	// One byte past the limit is read, so that a file that reaches it is
	// told from one that fits (TestBoundaryFileLimit).
	lr := &io.LimitedReader{R: r, N: limit + 1}
	err := json.NewDecoder(lr).Decode(&fc)
	if lr.N == 0 {
		return nil, fmt.Errorf("boundaries: the file is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, fmt.Errorf("boundaries: not GeoJSON: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("boundaries: a FeatureCollection is expected, not %q", fc.Type)
	}
	b := &Boundaries{shapes: map[string][][][2]float64{}}
	for i, f := range fc.Features {
		code := codeOf(f.Properties)
		if len(code) != 9 && len(code) != 12 || strings.Trim(code, "0123456789") != "" {
			return nil, fmt.Errorf("boundaries: feature %d: properties.adcode (or code) must be a township's 9-digit or a village's 12-digit area code, not %q", i, code)
		}
		if _, dup := b.shapes[code]; dup {
			return nil, fmt.Errorf("boundaries: feature %d: area code %s appears twice", i, code)
		}
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("boundaries: feature %d (%s): polygon coordinates: %w", i, code, err)
			}
			polys = [][][][2]float64{p}
		case "MultiPolygon":
			if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				return nil, fmt.Errorf("boundaries: feature %d (%s): multipolygon coordinates: %w", i, code, err)
			}
		default:
			return nil, fmt.Errorf("boundaries: feature %d (%s): geometry %q; only Polygon and MultiPolygon outline an area", i, code, f.Geometry.Type)
		}
		var rings [][][2]float64
		for _, p := range polys {
			for _, ring := range p {
				if len(ring) < 4 {
					return nil, fmt.Errorf("boundaries: feature %d (%s): a ring of %d positions (at least 4)", i, code, len(ring))
				}
				for _, pt := range ring {
					if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
						return nil, fmt.Errorf("boundaries: feature %d (%s): position %v is not a longitude and latitude", i, code, pt)
					}
				}
				rings = append(rings, ring)
			}
		}
		b.shapes[code] = rings
	}
	return b, nil
}

func codeOf(p map[string]any) string {
	for _, k := range []string{"adcode", "code"} {
		switch v := p[k].(type) {
		case string:
			return strings.TrimSpace(v)
		case float64:
			// Every digit, never an exponent: a fraction or a sign is
			// then refused by the caller's digit check, naming the number.
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// Has reports whether an area code has an outline.
func (b *Boundaries) Has(code string) bool {
	if b == nil {
		return false
	}
	_, ok := b.shapes[code]
	return ok
}

// MapShape is one area drawn: its code and its SVG path in the map's
// coordinates.
type MapShape struct {
	Code string
	D    string
}

// Map projects the outlines of codes (those without one are left out)
// onto a map 1000 units wide: equirectangular around the areas' middle
// latitude (a county spans well under a degree, where that is exact to
// the eye), north up. ViewBox is the SVG viewBox; nil when none has an
// outline.
func (b *Boundaries) Map(codes []string) (viewBox string, shapes []MapShape) {
	if b == nil {
		return "", nil
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var used []string
	for _, c := range codes {
		rings, ok := b.shapes[c]
		if !ok {
			continue
		}
		used = append(used, c)
		for _, r := range rings {
			for _, p := range r {
				minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
				minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
			}
		}
	}
	if len(used) == 0 {
		return "", nil
	}
	k := math.Cos((minY + maxY) / 2 * math.Pi / 180)
	w, h := (maxX-minX)*k, maxY-minY
	scale := 1000 / math.Max(math.Max(w, h), 1e-9) // the longer side is 1000 units: wide or tall

	for _, c := range used {
		var d strings.Builder
		for _, r := range b.shapes[c] {
			for i, p := range r {
				x, y := (p[0]-minX)*k*scale, (maxY-p[1])*scale
				if i == 0 {
					fmt.Fprintf(&d, "M%.1f %.1f", x, y)
				} else {
					fmt.Fprintf(&d, "L%.1f %.1f", x, y)
				}
			}
			d.WriteString("Z")
		}
		shapes = append(shapes, MapShape{Code: c, D: d.String()})
	}
	return fmt.Sprintf("0 0 %.0f %.0f", math.Ceil(w*scale), math.Ceil(h*scale)), shapes
}
