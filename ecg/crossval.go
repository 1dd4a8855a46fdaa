package ecg

// Cross-validation of the detector's free parameters (issue 16): a
// parameter is chosen on training records only and the detector is scored
// on a record it was not chosen on.

// CVRecord is one record of a cross-validation: its rhythm lead, reference
// beats (samples of that lead) and the spans not scored (VFEpisodes, in
// the same samples).
type CVRecord struct {
	Name string
	X    []float64
	Fs   float64
	Ref  []int64
	Skip []Span
}

// score runs c on r and compares the detections with the reference beats.
func (r CVRecord) score(c QRSConfig) Score {
	return Compare(r.Ref, OutsideSpans(c.Detect(r.X, r.Fs), r.Skip, 1), r.Fs, MatchWindow, 0, 0)
}

// QRSGrid is the set of configurations cross-validation chooses from: the
// published defaults first, then the threshold coefficient over the range
// Hamilton & Tompkins 1986 studied (their Fig. 7: 0.2–0.5) and the T-wave
// slope fraction around Pan & Tompkins' 0.5. Nothing else is varied.
func QRSGrid() []QRSConfig {
	d := DefaultQRSConfig()
	out := []QRSConfig{d}
	for _, tc := range []float64{0.25, 0.3125, 0.375, 0.45} {
		for _, ts := range []float64{0.4, 0.5, 0.6} {
			c := d
			c.ThresholdCoeff, c.TWaveSlope = tc, ts
			if c != d {
				out = append(out, c)
			}
		}
	}
	return out
}

// CVRow is the held-out score of one record: Score is what Config (index
// Choice of the grid), chosen without this record, does on it.
type CVRow struct {
	Name   string
	Choice int
	Config QRSConfig
	Score  Score
}

// LeaveOneOut cross-validates the grid over the records, leaving one
// record out at a time: for each record the configuration is chosen on the
// other records alone — the one whose worst training record has the
// highest min(Se, +P); ties go to the fewest training errors (FN + FP),
// then to the earlier configuration (the published defaults first) — and
// that configuration's score on the left-out record is its row.
func LeaveOneOut(recs []CVRecord, grid []QRSConfig) []CVRow {
	// scores[g][r]: configuration g on record r, each computed once.
	scores := make([][]Score, len(grid))
	for g, c := range grid {
		scores[g] = make([]Score, len(recs))
		for r, rec := range recs {
			scores[g][r] = rec.score(c)
		}
	}
	rows := make([]CVRow, len(recs))
	for out := range recs {
		best, bestWorst, bestErr := -1, 0.0, 0
		for g := range grid {
			worst, errs := 2.0, 0
			for r := range recs {
				if r == out {
					continue
				}
				s := scores[g][r]
				worst = min(worst, s.Se(), s.PPV())
				errs += s.FN + s.FP
			}
			if best < 0 || worst > bestWorst || (worst == bestWorst && errs < bestErr) {
				best, bestWorst, bestErr = g, worst, errs
			}
		}
		rows[out] = CVRow{Name: recs[out].Name, Choice: best, Config: grid[best], Score: scores[best][out]}
	}
	return rows
}
