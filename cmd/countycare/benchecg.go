package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"countycare/ecg"
)

func cmdBenchECG(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ecg", "Score the QRS detector on every WFDB record of a directory, beat by beat (ANSI/AAMI EC57:\n"+
		"a detection within 150 ms of a reference beat is a true positive). Each record NAME needs NAME.hea,\n"+
		"its signal file(s) and reference beats in NAME.atr (MIT annotations; beat codes as WFDB's isqrs) or\n"+
		"NAME.beats.csv (columns sample,pvc). The rhythm lead (II/MLII, else the first) is scored over the\n"+
		"whole record. xRT is the record's duration over the detector's run time on one goroutine (reading\n"+
		"files excluded). Prints one row per record and a last line 'total Se=…% +P=…% xRT=…' (gross sums).", stderr)
	dir := fs.String("dir", "", "directory of WFDB records (required)")
	cv := fs.Bool("cv", false, "also cross-validate the detector's free parameters (threshold coefficient, T-wave slope,\n"+
		"the rhythm rule's noise level and weight;\n"+
		"ecg.QRSGrid) leaving one record out at a time: each record is scored with the parameters chosen on\n"+
		"the other records alone (rows 'held-out')")
	failBelow := fs.Float64("fail-below", 0, "exit with status 1 if any record's or the total Se or +P (percent) is below this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return &exitError{2, "bench ecg: --dir is required"}
	}
	res, err := scoreECGDir(*dir)
	if err != nil {
		return err
	}
	res.print(stdout)
	if *cv {
		printLeaveOneOut(stdout, res.cv)
	}
	if *failBelow > 0 {
		for _, r := range append(res.rows, ecgRow{name: "total", score: res.total}) {
			if 100*r.score.Se() < *failBelow || 100*r.score.PPV() < *failBelow {
				return &exitError{1, fmt.Sprintf("bench ecg: %s: Se %.2f%% or +P %.2f%% below %.2f%%", r.name, 100*r.score.Se(), 100*r.score.PPV(), *failBelow)}
			}
		}
	}
	return nil
}

// ecgRow is one record's score.
type ecgRow struct {
	name     string
	score    ecg.Score
	seconds  float64       // record duration
	detected time.Duration // detector run time
	cv       ecg.CVRecord
}

// ecgBench is the scores of a directory.
type ecgBench struct {
	rows     []ecgRow
	total    ecg.Score
	seconds  float64
	detected time.Duration
	cv       []ecg.CVRecord
}

func xRT(seconds float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return seconds / d.Seconds()
}

func (b ecgBench) print(w io.Writer) {
	fmt.Fprintf(w, "%-8s %7s %7s %5s %5s %8s %8s %8s\n", "record", "beats", "TP", "FN", "FP", "Se", "+P", "xRT")
	for _, r := range b.rows {
		fmt.Fprintf(w, "%-8s %7d %7d %5d %5d %7.2f%% %7.2f%% %8.0f\n", r.name, r.score.Beats, r.score.TP, r.score.FN, r.score.FP,
			100*r.score.Se(), 100*r.score.PPV(), xRT(r.seconds, r.detected))
	}
	fmt.Fprintf(w, "total Se=%.2f%% +P=%.2f%% xRT=%.0f\n", 100*b.total.Se(), 100*b.total.PPV(), xRT(b.seconds, b.detected))
}

// scoreECGDir scores every record (NAME.hea) of dir.
func scoreECGDir(dir string) (ecgBench, error) {
	var b ecgBench
	heas, err := filepath.Glob(filepath.Join(dir, "*.hea"))
	if err != nil {
		return b, err
	}
	if len(heas) == 0 {
		return b, fmt.Errorf("bench ecg: no WFDB headers (*.hea) in %s", dir)
	}
	sort.Strings(heas)
	for _, hea := range heas {
		name := strings.TrimSuffix(filepath.Base(hea), ".hea")
		row, err := scoreECGRecord(dir, name)
		if err != nil {
			return b, fmt.Errorf("bench ecg: record %s: %w", name, err)
		}
		b.rows = append(b.rows, row)
		b.cv = append(b.cv, row.cv)
		b.total = b.total.Add(row.score)
		b.seconds += row.seconds
		b.detected += row.detected
	}
	return b, nil
}

func scoreECGRecord(dir, name string) (ecgRow, error) {
	row := ecgRow{name: name}
	f, err := os.Open(filepath.Join(dir, name+".hea"))
	if err != nil {
		return row, err
	}
	h, err := ecg.ParseHeader(f)
	f.Close()
	if err != nil {
		return row, err
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	rec, err := ecg.ReadRecord(h, func(file string) (io.Reader, error) {
		if filepath.Base(file) != file {
			return nil, fmt.Errorf("signal file %q is not in the record's directory", file)
		}
		f, err := os.Open(filepath.Join(dir, file))
		if err == nil {
			files = append(files, f)
		}
		return f, err
	})
	if err != nil {
		return row, err
	}
	ref, vf, err := referenceBeats(dir, name)
	if err != nil {
		return row, err
	}
	lead, fs, ok := rec.RhythmLead()
	if !ok {
		return row, errors.New("the record has no signals")
	}
	x := lead.Physical()
	t0 := time.Now()
	det := ecg.DetectQRS(x, fs)
	row.detected = time.Since(t0)
	row.seconds = float64(len(x)) / fs
	// Annotations count frames; a multi-frequency lead has more samples.
	scale := float64(max(1, lead.SamplesPerFrame))
	samples := make([]int64, len(ref))
	for i, r := range ref {
		samples[i] = r.Sample * int64(scale)
	}
	// Detections in ventricular flutter/fibrillation are not scored (EC57, bxb).
	row.score = ecg.Compare(samples, ecg.OutsideSpans(det, vf, int64(scale)), fs, ecg.MatchWindow, 0, 0)
	skip := make([]ecg.Span, len(vf))
	for i, v := range vf {
		skip[i] = ecg.Span{From: v.From * int64(scale), To: v.To}
		if v.To >= 0 {
			skip[i].To = v.To * int64(scale)
		}
	}
	row.cv = ecg.CVRecord{Name: name, X: x, Fs: fs, Ref: samples, Skip: skip}
	return row, nil
}

// referenceBeats reads NAME.atr, or NAME.beats.csv when there is no .atr,
// and the episodes of ventricular flutter or fibrillation the .atr marks.
func referenceBeats(dir, name string) ([]ecg.ReferenceBeat, []ecg.Span, error) {
	f, err := os.Open(filepath.Join(dir, name+".atr"))
	if err == nil {
		defer f.Close()
		anns, err := ecg.ReadAnnotations(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.atr: %w", name, err)
		}
		return ecg.Beats(anns), ecg.VFEpisodes(anns), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	f, err = os.Open(filepath.Join(dir, name+".beats.csv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("no reference beats: neither %s.atr nor %s.beats.csv", name, name)
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	beats, err := ecg.ReadBeatsCSV(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.beats.csv: %w", name, err)
	}
	return beats, nil, nil
}

// printLeaveOneOut prints each record's held-out score (ecg.LeaveOneOut)
// and the parameters chosen without it.
func printLeaveOneOut(w io.Writer, recs []ecg.CVRecord) {
	rows := ecg.LeaveOneOut(recs, ecg.QRSGrid())
	fmt.Fprintf(w, "held-out (leave one record out; parameters chosen on the other records)\n")
	d := ecg.DefaultQRSConfig()
	fmt.Fprintf(w, "%-8s %7s %5s %5s %8s %8s %6s %6s %6s %6s\n", "record", "beats", "FN", "FP", "Se", "+P", "coeff", "slope", "noise", "rhythm")
	var total ecg.Score
	for _, r := range rows {
		total = total.Add(r.Score)
		fmt.Fprintf(w, "%-8s %7d %5d %5d %7.2f%% %7.2f%% %6.4g %6.2g %6.2g %6.2g\n", r.Name, r.Score.Beats, r.Score.FN, r.Score.FP,
			100*r.Score.Se(), 100*r.Score.PPV(), r.Config.ThresholdCoeff, r.Config.TWaveSlope, r.Config.NoiseLevel, r.Config.RhythmWeight)
	}
	fmt.Fprintf(w, "held-out total Se=%.2f%% +P=%.2f%%\n", 100*total.Se(), 100*total.PPV())
	_, all := ecg.ChooseQRSConfig(recs, ecg.QRSGrid())
	fmt.Fprintf(w, "chosen on all records: coeff %.4g slope %.2g noise level %.2g rhythm weight %.2g (the detector's defaults: %.4g %.2g %.2g %.2g)\n",
		all.ThresholdCoeff, all.TWaveSlope, all.NoiseLevel, all.RhythmWeight, d.ThresholdCoeff, d.TWaveSlope, d.NoiseLevel, d.RhythmWeight)
}
