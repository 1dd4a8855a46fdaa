package fhir

import "testing"

func TestByteRange(t *testing.T) {
	for _, c := range []struct {
		h              string
		from, to       int64
		partial, valid bool
	}{
		{"", 0, 1000, false, true},
		{"bytes=0-", 0, 1000, true, true},
		{"bytes=100-", 100, 1000, true, true},
		{"bytes=10-19", 10, 20, true, true},
		{"bytes=990-5000", 990, 1000, true, true},
		{"bytes=-100", 900, 1000, true, true},
		{"bytes=-5000", 0, 1000, true, true},
		{"bytes=1000-", 0, 0, false, false},
		{"bytes=20-10", 0, 0, false, false},
		{"bytes=-0", 0, 0, false, false},
		{"bytes=x-", 0, 0, false, false},
		{"bytes=0-1,5-9", 0, 1000, false, true}, // several ranges: the whole file
		{"items=0-1", 0, 1000, false, true},
	} {
		from, to, partial, ok := byteRange(c.h, 1000)
		if from != c.from || to != c.to || partial != c.partial || ok != c.valid {
			t.Errorf("%q: got %d-%d %v %v, want %d-%d %v %v", c.h, from, to, partial, ok, c.from, c.to, c.partial, c.valid)
		}
	}
}

// FuzzByteRange: a Range header from a client never gives a range outside
// the file.
func FuzzByteRange(f *testing.F) {
	f.Add("bytes=0-", int64(10))
	f.Add("bytes=-5", int64(3))
	f.Add("bytes=5-2", int64(10))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 1 {
			return
		}
		from, to, _, ok := byteRange(h, size)
		if ok && (from < 0 || to > size || from >= to) {
			t.Fatalf("%q of %d: [%d, %d)", h, size, from, to)
		}
	})
}
