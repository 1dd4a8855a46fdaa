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
// published detector first (the rhythm rule in noise off), then the
// threshold coefficient over the range Hamilton & Tompkins 1986 studied
// (their Fig. 7: 0.2–0.5) and the T-wave slope fraction around Pan &
// Tompkins' 0.5, then the rhythm rule in noise (NoiseLevel 0.2–0.35,
// RhythmWeight 0.75–1.25) with the published threshold and slope.
func QRSGrid() []QRSConfig {
	d := PublishedQRSConfig()
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
	for _, nl := range []float64{0.2, 0.25, 0.3, 0.35} {
		for _, rw := range []float64{0.75, 1, 1.25} {
			c := d
			c.NoiseLevel, c.RhythmWeight = nl, rw
			out = append(out, c)
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
// other records alone (see choose) and that configuration's score on the
// left-out record is its row.
func LeaveOneOut(recs []CVRecord, grid []QRSConfig) []CVRow {
	scores := gridScores(recs, grid)
	rows := make([]CVRow, len(recs))
	for out := range recs {
		best := choose(scores, out)
		rows[out] = CVRow{Name: recs[out].Name, Choice: best, Config: grid[best], Score: scores[best][out]}
	}
	return rows
}

// ChooseQRSConfig is the configuration of the grid chosen on all the
// records by the rule LeaveOneOut applies to each training set: the one a
// detector would ship with, whose held-out estimate is LeaveOneOut's.
func ChooseQRSConfig(recs []CVRecord, grid []QRSConfig) (int, QRSConfig) {
	best := choose(gridScores(recs, grid), -1)
	return best, grid[best]
}

// gridScores[g][r] is configuration g on record r, each computed once.
func gridScores(recs []CVRecord, grid []QRSConfig) [][]Score {
	scores := make([][]Score, len(grid))
	for g, c := range grid {
		scores[g] = make([]Score, len(recs))
		for r, rec := range recs {
			scores[g][r] = rec.score(c)
		}
	}
	return scores
}

// choose picks, leaving record out aside (−1: none), the configuration
// whose worst record has the highest min(Se, +P); ties go to the fewest
// errors (FN + FP) over those records, then to the earlier configuration
// (the published defaults first).
func choose(scores [][]Score, out int) int {
	best, bestWorst, bestErr := -1, 0.0, 0
	for g := range scores {
		worst, errs := 2.0, 0
		for r, s := range scores[g] {
			if r == out {
				continue
			}
			worst = min(worst, s.Se(), s.PPV())
			errs += s.FN + s.FP
		}
		if best < 0 || worst > bestWorst || (worst == bestWorst && errs < bestErr) {
			best, bestWorst, bestErr = g, worst, errs
		}
	}
	return best
}
