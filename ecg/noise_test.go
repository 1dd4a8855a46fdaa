package ecg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var zzSD = 0.3

// noiseBurst is synthECG's regular rhythm (RR 0.8 s, 60 s at fs) with a
// 10-s burst of artefact from 20 s: white noise low-passed at 20 Hz (the
// band of muscle and motion artefact that passes the QRS filter) of sd mV
// against QRS complexes of 1 mV.
func noiseBurst(fs, sd float64, seed uint64) ([]float64, []int64) {
	times := rrTimes(0.5, constRR(74, 0.8))
	x, ref := synthECG(fs, times, constRR(len(times), 1), 61, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	nz := make([]float64, int(10*fs))
	for j := range nz {
		nz[j] = rng.NormFloat64()
	}
	filtfilt(butter2(20, fs, false), nz)
	var ss float64
	for _, v := range nz {
		ss += v * v
	}
	for j, v := range nz {
		x[int(20*fs)+j] += sd * v / math.Sqrt(ss/float64(len(nz)))
	}
	return x, ref
}

// TestDetectNoiseBurst pins the rhythm rule in noise (Detect, step 8): in
// a 10-s burst of in-band artefact (sd 0.15 and 0.2 mV against 1-mV QRS
// complexes; 250, 360 and 500 Hz; three seeds each) the published detector
// takes 105 artefact peaks for beats. With the rule no case has more than
// one such detection (4 in all), none loses a beat the published detector
// finds, and none of the burst's beats is lost.
func TestDetectNoiseBurst(t *testing.T) {
	var pubFP, ruleFP int
	for _, sd := range []float64{0.15, 0.2} {
		for _, fs := range []float64{250, 360, 500} {
			for seed := uint64(1); seed <= 3; seed++ {
				x, ref := noiseBurst(fs, sd, seed)
				pub := Compare(ref, PublishedQRSConfig().Detect(x, fs), fs, MatchWindow, 0, 0)
				got := Compare(ref, DetectQRS(x, fs), fs, MatchWindow, 0, 0)
				pubFP += pub.FP
				ruleFP += got.FP
				if got.FP > 1 || got.FN > pub.FN {
					t.Errorf("sd %v mV, %v Hz, seed %d: FN %d FP %d with the rule, published FN %d FP %d; want FP ≤ 1 and FN ≤ the published", sd, fs, seed, got.FN, got.FP, pub.FN, pub.FP)
				}
			}
		}
	}
	t.Logf("artefact detections in the bursts: published %d, with the rule %d", pubFP, ruleFP)
	if pubFP != 105 || ruleFP != 4 {
		t.Errorf("artefact detections: published %d, with the rule %d; docs/ecg.md records 105 and 4", pubFP, ruleFP)
	}
	if pubFP < 50 || ruleFP > pubFP/20 {
		t.Errorf("artefact detections: published %d, with the rule %d; want the published ≥ 50 (the bursts test something) and the rule ≤ 1/20 of it", pubFP, ruleFP)
	}
}

// TestRhythmRuleOff checks NoiseLevel 0 turns the rule off: the published
// configuration's detections are those of the detector without step 8.
func TestRhythmRuleOff(t *testing.T) {
	x, _ := noiseBurst(360, 0.2, 1)
	c := DefaultQRSConfig()
	c.NoiseLevel = 0
	if a, b := c.Detect(x, 360), PublishedQRSConfig().Detect(x, 360); !slices.Equal(a, b) {
		t.Errorf("NoiseLevel 0: %d detections, published %d", len(a), len(b))
	}
	if a, b := c.Detect(x, 360), DetectQRS(x, 360); slices.Equal(a, b) {
		t.Error("the rule changed nothing on a noise burst")
	}
}
