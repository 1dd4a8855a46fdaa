package ecg

import "testing"

func TestCompare(t *testing.T) {
	const fs = 100.0 // window 150 ms = 15 samples
	for _, tc := range []struct {
		name       string
		ref        []int64
		det        []int
		from, to   int64
		tp, fn, fp int
	}{
		{"exact", []int64{100, 200, 300}, []int{100, 200, 300}, 0, 0, 3, 0, 0},
		{"within window", []int64{100, 200}, []int{115, 185}, 0, 0, 2, 0, 0},
		{"outside window", []int64{100}, []int{116}, 0, 0, 0, 1, 1},
		{"missed and extra", []int64{100, 200, 300}, []int{100, 250, 300}, 0, 0, 2, 1, 1},
		{"double detection", []int64{100}, []int{98, 104}, 0, 0, 1, 0, 1},
		{"nearer to the next beat", []int64{100, 120}, []int{118}, 0, 0, 1, 1, 0},
		{"none detected", []int64{100, 200}, nil, 0, 0, 0, 2, 0},
		{"edges left out", []int64{5, 100, 195}, []int{5, 100, 150, 195}, 50, 190, 1, 0, 1},
	} {
		s := Compare(tc.ref, tc.det, fs, MatchWindow, tc.from, tc.to)
		if s.TP != tc.tp || s.FN != tc.fn || s.FP != tc.fp || s.Beats != tc.tp+tc.fn {
			t.Errorf("%s: got %+v, want TP %d FN %d FP %d", tc.name, s, tc.tp, tc.fn, tc.fp)
		}
	}
	if s := (Score{Beats: 4, TP: 3, FN: 1, FP: 1}); s.Se() != 0.75 || s.PPV() != 0.75 {
		t.Errorf("Se %v +P %v", s.Se(), s.PPV())
	}
}
