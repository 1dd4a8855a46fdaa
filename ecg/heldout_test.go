package ecg

import (
	"countycare/internal/testfiles"
	"os"
	"path/filepath"
	"testing"
)

// TestDetectHeldOutMITDB pins the detector on MIT-BIH record 207, which
// played no part in the published design (the rhythm rule's parameters
// were chosen with it among the eight records; its held-out score is in
// docs/ecg.md, cross-validation):
// Se and +P ≥ 99.5 % over the whole record, its episodes of ventricular
// flutter left out as EC57 and bxb do. Without that exclusion the flutter
// waves count as 356 false detections (+P 83.8 %), which the test checks
// too, so the exclusion is what is being relied on and nothing else.
func TestDetectHeldOutMITDB(t *testing.T) {
	dir := testfiles.MITDBHeldOut(t)
	rec, ref := loadRecord(t, dir, "207")
	af, err := os.Open(filepath.Join(dir, "207.atr"))
	if err != nil {
		t.Fatal(err)
	}
	anns, err := ReadAnnotations(af)
	af.Close()
	if err != nil {
		t.Fatal(err)
	}
	vf := VFEpisodes(anns)
	if len(vf) == 0 {
		t.Fatal("record 207: no ventricular flutter episode found in its annotations")
	}
	if len(ref) != 1860 {
		t.Fatalf("record 207: %d reference beats, want 1860 (PhysioNet's count)", len(ref))
	}
	det := DetectQRS(rec.Leads[0].Physical(), rec.Fs)
	all := Compare(refSamples(ref, 1), det, rec.Fs, MatchWindow, 0, 0)
	s := Compare(refSamples(ref, 1), OutsideSpans(det, vf, 1), rec.Fs, MatchWindow, 0, 0)
	t.Logf("207: %d VF episodes; scored Se=%.2f%% +P=%.2f%% (FN %d, FP %d); with VF FP %d", len(vf), 100*s.Se(), 100*s.PPV(), s.FN, s.FP, all.FP)
	if s.Se() < 0.995 || s.PPV() < 0.995 {
		t.Errorf("record 207 (held out): Se %.2f%%, +P %.2f%% (FN %d, FP %d), want both ≥ 99.5%%", 100*s.Se(), 100*s.PPV(), s.FN, s.FP)
	}
	if all.FP <= s.FP || all.TP != s.TP {
		t.Errorf("VF exclusion: FP %d → %d, TP %d → %d; want fewer FP and the same TP", all.FP, s.FP, all.TP, s.TP)
	}
}

// TestVFEpisodes checks the episode spans and that OutsideSpans drops
// exactly the detections inside them (scaled to samples).
func TestVFEpisodes(t *testing.T) {
	anns := []Annotation{{Sample: 5, Code: Normal}, {Sample: 10, Code: VFOn}, {Sample: 12, Code: FlutterW},
		{Sample: 20, Code: VFOff}, {Sample: 30, Code: VFOn}}
	got := VFEpisodes(anns)
	if len(got) != 2 || got[0] != (Span{10, 20}) || got[1] != (Span{30, -1}) {
		t.Fatalf("VFEpisodes = %v", got)
	}
	det := OutsideSpans([]int{5, 19, 20, 39, 40, 41, 59, 60, 99}, got, 2)
	want := []int{5, 19, 40, 41, 59}
	if len(det) != len(want) {
		t.Fatalf("OutsideSpans = %v, want %v", det, want)
	}
	for i := range want {
		if det[i] != want[i] {
			t.Fatalf("OutsideSpans = %v, want %v", det, want)
		}
	}
}

// TestLeaveOneOut checks that a record's configuration is chosen on the
// other records only: record "c" is made so that it alone prefers the
// second configuration (its reference beats are that configuration's
// detections); records 100 and 114 prefer the first, so c's held-out row
// uses the first, and scores worse than c's own favourite would.
func TestLeaveOneOut(t *testing.T) {
	dir := mitdbDir(t)
	good := DefaultQRSConfig()
	bad := good
	bad.ThresholdCoeff = 0.95 // misses beats on real records
	var recs []CVRecord
	for _, name := range []string{"100", "114"} {
		rec, ref := loadRecord(t, dir, name)
		x := rec.Leads[0].Physical()
		n := int64(len(x) / 6)
		var cut []int64
		for _, r := range refSamples(ref, 1) {
			if r < n {
				cut = append(cut, r)
			}
		}
		recs = append(recs, CVRecord{Name: name, X: x[:n], Fs: rec.Fs, Ref: cut})
	}
	c := CVRecord{Name: "c", X: recs[1].X, Fs: recs[1].Fs}
	for _, d := range bad.Detect(c.X, c.Fs) {
		c.Ref = append(c.Ref, int64(d))
	}
	recs = append(recs, c)
	if s := c.score(bad); s.FN+s.FP != 0 || c.score(good).FP == 0 {
		t.Fatalf("record c: bad %+v, good %+v; want c to prefer bad", s, c.score(good))
	}
	rows := LeaveOneOut(recs, []QRSConfig{bad, good})
	if r := rows[2]; r.Choice != 1 || r.Score != c.score(good) {
		t.Errorf("held-out c: choice %d score %+v, want 1 and %+v (chosen on 100 and 114)", r.Choice, r.Score, c.score(good))
	}
	if len(QRSGrid()) < 2 || QRSGrid()[0] != PublishedQRSConfig() {
		t.Error("QRSGrid must start with the published defaults")
	}
}

// TestDetectRecord105 pins the detector on MIT-BIH record 105 (MLII; "the
// predominant feature of this tape is high-grade noise and artifact"),
// scored over the whole record as EC57 and bxb do: no noise is left out
// (bxb counts a detection in a reference-marked unreadable stretch as a
// false positive too). The published detector takes 32 artefacts for
// beats (+P 98.77 %); the rhythm rule in noise (the defaults) keeps Se and
// +P ≥ 99.5 %. These defaults were chosen on all eight records, 105
// included: its held-out score (docs/ecg.md) is lower, +P 99.30 %.
func TestDetectRecord105(t *testing.T) {
	dir := testfiles.MITDBHeldOut(t)
	rec, ref := loadRecord(t, dir, "105")
	if len(ref) != 2572 || rec.Fs != 250 {
		t.Fatalf("record 105: %d reference beats at %v Hz, want 2572 at 250 Hz", len(ref), rec.Fs)
	}
	x := rec.Leads[0].Physical()
	pub := Compare(refSamples(ref, 1), PublishedQRSConfig().Detect(x, rec.Fs), rec.Fs, MatchWindow, 0, 0)
	s := Compare(refSamples(ref, 1), DetectQRS(x, rec.Fs), rec.Fs, MatchWindow, 0, 0)
	t.Logf("105: published FN %d FP %d (Se %.2f%% +P %.2f%%); defaults FN %d FP %d (Se %.2f%% +P %.2f%%)",
		pub.FN, pub.FP, 100*pub.Se(), 100*pub.PPV(), s.FN, s.FP, 100*s.Se(), 100*s.PPV())
	if pub.PPV() >= 0.995 {
		t.Errorf("record 105, published detector: +P %.2f%%; the record no longer tests the rule", 100*pub.PPV())
	}
	if s.Se() < 0.995 || s.PPV() < 0.995 {
		t.Errorf("record 105: Se %.2f%%, +P %.2f%% (FN %d, FP %d), want both ≥ 99.5%%", 100*s.Se(), 100*s.PPV(), s.FN, s.FP)
	}
	// The scores of record (docs/ecg.md, benchmarks.md): a change to the
	// detector that moves them must say so there.
	if pub.FN != 11 || pub.FP != 32 || s.FN != 6 || s.FP != 12 {
		t.Errorf("record 105: published FN %d FP %d, defaults FN %d FP %d; docs/ecg.md records 11/32 and 6/12", pub.FN, pub.FP, s.FN, s.FP)
	}
}
