package ecg

import (
	"fmt"
	"strconv"
)

// Limits of one ECG record (docs/ecg.md "Limits"). A county's reading
// centre receives resting 12-lead ECGs (10 s) and Holter recordings (24 h,
// sometimes 48 h, of 2–12 leads); the limits leave room for those and no
// more, because every sample is held in memory (2 bytes, 10 for the
// rhythm lead while it is pre-read) while a record is read.
const (
	// MaxLeads is the most signals a record may have: the 12 standard
	// leads plus up to 4 more (Frank X/Y/Z, a rhythm strip).
	MaxLeads = 16
	// MaxSeconds is the longest record: a 48-h Holter.
	MaxSeconds = 48 * 3600
	// MaxLeadSamples is the most samples of one signal: 24 h at 500 Hz
	// (43.2 M) or 48 h at 250 Hz.
	MaxLeadSamples = 45_000_000
	// MaxRecordSamples is the most samples of all signals together: a
	// 24-h 3-lead Holter at 360 Hz is 93.3 M; a 12-lead 10-s ECG at
	// 1 kHz 120 k.
	MaxRecordSamples = 100_000_000
)

// Limit names the quantity a LimitError is about.
type Limit string

const (
	LimitLeads       Limit = "leads"        // number of signals
	LimitSeconds     Limit = "seconds"      // duration
	LimitLeadSamples Limit = "lead_samples" // samples of one signal
	LimitSamples     Limit = "samples"      // samples of all signals
)

// LimitError is a record over one of the limits above. It wraps ErrFormat,
// so callers that only tell bad input from I/O failures need not know it.
type LimitError struct {
	Limit Limit
	Got   float64
	Max   float64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: the record has %s %s, at most %s are accepted", ErrFormat, strconv.FormatFloat(e.Got, 'f', -1, 64), e.Limit, strconv.FormatFloat(e.Max, 'f', -1, 64))
}

func (e *LimitError) Unwrap() error { return ErrFormat }

// checkLimits refuses a record of nsig signals, frames frames at fs
// frames per second, spf[k] samples per frame of signal k (nil: one each),
// over a limit. frames 0 (unknown) checks the number of signals only.
func checkLimits(nsig int, fs float64, frames int, spf []int) error {
	if nsig > MaxLeads {
		return &LimitError{Limit: LimitLeads, Got: float64(nsig), Max: MaxLeads}
	}
	if frames <= 0 {
		return nil
	}
	if fs > 0 {
		if s := float64(frames) / fs; s > MaxSeconds {
			return &LimitError{Limit: LimitSeconds, Got: float64(int64(s)), Max: MaxSeconds}
		}
	}
	total := 0
	for k := range nsig {
		n := 1
		if spf != nil {
			n = max(1, spf[k])
		}
		if frames*n > MaxLeadSamples {
			return &LimitError{Limit: LimitLeadSamples, Got: float64(frames * n), Max: MaxLeadSamples}
		}
		total += frames * n
	}
	if total > MaxRecordSamples {
		return &LimitError{Limit: LimitSamples, Got: float64(total), Max: MaxRecordSamples}
	}
	return nil
}

// CheckLimits refuses a header whose record is over a limit, before any
// sample is read.
func (h *Header) CheckLimits() error {
	spf := make([]int, len(h.Signals))
	for k, s := range h.Signals {
		spf[k] = s.SamplesPerFrame
	}
	return checkLimits(len(h.Signals), h.Fs, h.NSamples, spf)
}

// CheckLimits refuses a record over a limit.
func (r *Record) CheckLimits() error {
	if len(r.Leads) == 0 {
		return nil
	}
	spf := make([]int, len(r.Leads))
	for k, l := range r.Leads {
		spf[k] = l.SamplesPerFrame
	}
	l := r.Leads[0]
	return checkLimits(len(r.Leads), r.Fs, len(l.Samples)/max(1, l.SamplesPerFrame), spf)
}
