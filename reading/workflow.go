package reading

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/ecg"
)

// Study kinds: which table a workflow entry's source is in.
const (
	KindECG     = "ecg"     // ecg_studies, keyed by id
	KindImaging = "imaging" // imaging_instances, keyed by StudyInstanceUID
	KindPhoto   = "photo"   // photo_studies (fundus, skin), keyed by id
	KindFetal   = "fetal"   // fetal_traces, keyed by id
)

// Workflow statuses of a study (阅片/判读流程).
const (
	FlowWaiting  = "waiting"  // in the worklist, nobody has it
	FlowClaimed  = "claimed"  // a reader has it (claimed or assigned)
	FlowReported = "reported" // a signed report went back to the clinic
)

// Pre-read outcomes stored with a study.
const (
	PreReadNone     = ""         // no automatic pre-read (imaging)
	PreReadNormal   = "normal"   // the pre-read found nothing
	PreReadAbnormal = "abnormal" // the pre-read found something
)

// Study is one study in the reading workflow: an ECG, or the instances of
// one imaging study (one StudyInstanceUID). Version guards every change, so
// two readers cannot both claim it.
type Study struct {
	ID          int64
	County      string
	Kind        string // KindECG, KindImaging, KindPhoto, KindFetal
	SourceKey   string // ECG study, photo or trace id, or the StudyInstanceUID
	Modality    string // ECG, DR, CT, MR, US, … (as uploaded); FUNDUS, SKIN, FHM
	ResidentID  int64
	ClinicID    int64 // the ordering institution
	OrderedBy   int64 // account of the ordering doctor
	CenterID    int64 // the diagnosis center that reads it
	Urgent      bool  // marked urgent by the ordering clinic
	Priority    int   // pre-read priority (ECG 0 normal … 3 most urgent; FHM 0 normal, 1 suspicious, 2 pathological)
	PreRead     string
	Findings    []ecg.Finding // the ECG pre-read's findings, for the reader
	HeartRate   float64       // the ECG pre-read's heart rate, or a fetal trace's FHR baseline (bpm)
	Status      string
	ClaimedBy   int64 // account of the reader who has it
	ClaimedName string
	ClaimedAt   time.Time
	UploadedAt  time.Time
	DueAt       time.Time // the turnaround target; moved on at each escalation
	Escalations int
	BreachedAt  time.Time // first missed target (zero if never)
	ReportedAt  time.Time
	ReportedBy  int64
	Version     int

	// Filled by lists for display.
	ResidentName string
	ClinicName   string
	Report       *Report // the signed report (returned lists)
	Summary      string  // the report's summary field (returned lists)
	Critical     bool    // the report or an addendum marks a critical finding
}

// Breached reports whether the study missed its turnaround target: it was
// escalated, or it is still open after its due time. A report signed at the
// due time itself is on time.
func (s *Study) Breached(now time.Time) bool {
	return !s.BreachedAt.IsZero() || (s.Status != FlowReported && now.After(s.DueAt))
}

// Deadline is the study's report deadline (报告时限): the due time stored
// at upload. DueAt is that deadline only until the first escalation, which
// moves it one target on (the next reminder); after that the deadline is
// the upload time plus the modality's target. (Showing DueAt as the
// deadline put a time still to come beside "past the report deadline".)
func (s *Study) Deadline(t Targets) time.Time {
	if s.Escalations == 0 {
		return s.DueAt
	}
	return s.UploadedAt.Add(t.Target(s.Modality))
}

// FetalClass is a fetal trace's automatic FIGO 2015 class (ClassNormal,
// ClassSuspicious, ClassPathological) from its priority; "" for other kinds.
func (s *Study) FetalClass() string {
	if s.Kind != KindFetal {
		return ""
	}
	switch {
	case s.Priority >= 2:
		return ClassPathological
	case s.Priority == 1:
		return ClassSuspicious
	}
	return ClassNormal
}

// Turnaround is the time from upload to the signed report (0 if open).
func (s *Study) Turnaround() time.Duration {
	if s.ReportedAt.IsZero() {
		return 0
	}
	return s.ReportedAt.Sub(s.UploadedAt)
}

// Targets are the turnaround targets per template modality in minutes
// (报告时限): a study is due this long after upload. Default is used for
// modalities not listed.
type Targets struct {
	Minutes map[string]int
	Default int
}

// DefaultTargets are ECG 15 min, DR 30, US 30, CT 60, MR 60, fetal heart
// traces (FHM) 15, fundus and skin photos 24 h, others 60: the figures of
// issue #5 (ECG 15 min, DR 30 min) and the usual emergency reporting
// limits of county diagnosis centers (CT/MR within the hour). A fetal
// trace is read while the woman is still at the clinic and a pathological
// one calls for action at once (FIGO 2015), so it shares the ECG's target;
// fundus and skin photos are screening (diabetic retinopathy, skin
// lesions) and are due the next day, so an unread one escalates once a
// day rather than every hour.
func DefaultTargets() Targets {
	return Targets{Minutes: map[string]int{"ECG": 15, "DR": 30, "US": 30, "CT": 60, "MR": 60, "FHM": 15, "FUNDUS": 24 * 60, "SKIN": 24 * 60}, Default: 60}
}

// Target is the turnaround target of a modality.
func (t Targets) Target(modality string) time.Duration {
	m, ok := t.Minutes[TemplateModality(modality)]
	if !ok || m <= 0 {
		m = t.Default
	}
	if m <= 0 {
		m = 60
	}
	return time.Duration(m) * time.Minute
}

// ParseTargets reads "ECG=15,DR=30,CT=60" over the defaults; a modality
// may be ECG, DR, CT, MR, US, FHM, FUNDUS, SKIN or OT (others) and minutes
// 1–1440.
func ParseTargets(v string) (Targets, error) {
	t := DefaultTargets()
	if strings.TrimSpace(v) == "" {
		return t, nil
	}
	for _, kv := range strings.Split(v, ",") {
		k, m, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(strings.TrimSpace(m))
		k = strings.ToUpper(strings.TrimSpace(k))
		if !ok || err != nil || n < 1 || n > 24*60 || TemplateModality(k) != k {
			return t, fmt.Errorf("reading: turnaround targets %q: want MODALITY=MINUTES,… with ECG, DR, CT, MR, US, FHM, FUNDUS, SKIN or OT and 1–1440 minutes", v)
		}
		if k == "OT" {
			t.Default = n
		} else {
			t.Minutes[k] = n
		}
	}
	return t, nil
}

// ECGEntry is the workflow entry of a stored ECG study.
func ECGEntry(st *ECGStudy, t Targets) *Study {
	pre := PreReadNormal
	if st.PreRead.Abnormal() {
		pre = PreReadAbnormal
	}
	return &Study{County: st.CountyCode, Kind: KindECG, SourceKey: strconv.FormatInt(st.ID, 10), Modality: "ECG", ResidentID: st.ResidentID,
		ClinicID: st.ClinicID, OrderedBy: st.OrderedBy, CenterID: st.CenterID, Urgent: st.Urgent, Priority: st.PreRead.Priority, PreRead: pre,
		Findings: st.PreRead.Findings, HeartRate: st.PreRead.HeartRate,
		Status: FlowWaiting, UploadedAt: st.UploadedAt, DueAt: st.UploadedAt.Add(t.Target("ECG")), Version: 1}
}

// ImagingEntry is the workflow entry of an imaging study, made from its
// first stored instance.
func ImagingEntry(in *ImagingInstance, t Targets) *Study {
	return &Study{County: in.CountyCode, Kind: KindImaging, SourceKey: in.StudyUID, Modality: TemplateModality(in.Modality), ResidentID: in.ResidentID,
		ClinicID: in.ClinicID, OrderedBy: in.OrderedBy, CenterID: in.CenterID, Urgent: in.Urgent, PreRead: PreReadNone,
		Status: FlowWaiting, UploadedAt: in.UploadedAt, DueAt: in.UploadedAt.Add(t.Target(in.Modality)), Version: 1}
}

// PhotoModality is the template modality of a photo kind: FUNDUS for a
// fundus photo, SKIN for a skin photo. The two are separate modalities
// (not one PHOTO modality with the kind as a field) because the report
// template, the turnaround target and the worklist tab all hang on the
// modality, and a fundus read (retinopathy grade per eye, by an
// ophthalmologist) and a skin read (lesion description, by a
// dermatologist) share none of them.
func PhotoModality(kind string) string {
	if kind == PhotoSkin {
		return "SKIN"
	}
	return "FUNDUS"
}

// PhotoEntry is the workflow entry of a stored fundus or skin photo.
func PhotoEntry(p *PhotoStudy, t Targets) *Study {
	mod := PhotoModality(p.Kind)
	return &Study{County: p.CountyCode, Kind: KindPhoto, SourceKey: strconv.FormatInt(p.ID, 10), Modality: mod, ResidentID: p.ResidentID,
		ClinicID: p.ClinicID, OrderedBy: p.OrderedBy, CenterID: p.CenterID, PreRead: PreReadNone,
		Status: FlowWaiting, UploadedAt: p.UploadedAt, DueAt: p.UploadedAt.Add(t.Target(mod)), Version: 1}
}

// FetalEntry is the workflow entry of a stored fetal heart trace (FHM):
// the automatic FIGO 2015 class is its priority (2 pathological, 1
// suspicious, 0 normal), which orders the worklist as the ECG pre-read's
// does. The pre-read outcome stays empty: the confirmed-normal indicator
// is the ECG pre-read's.
func FetalEntry(f *FetalStudy, t Targets) *Study {
	return &Study{County: f.CountyCode, Kind: KindFetal, SourceKey: strconv.FormatInt(f.ID, 10), Modality: "FHM", ResidentID: f.ResidentID,
		ClinicID: f.ClinicID, OrderedBy: f.OrderedBy, CenterID: f.CenterID, Priority: f.Priority, PreRead: PreReadNone,
		HeartRate: f.Baseline, Status: FlowWaiting, UploadedAt: f.UploadedAt, DueAt: f.UploadedAt.Add(t.Target("FHM")), Version: 1}
}

// Report kinds.
const (
	ReportSigned   = "report"   // the signed report
	ReportAddendum = "addendum" // a later addition; the report stays as signed
)

// Report is a signed report (诊断报告) or an addendum (补充报告). Neither is
// ever changed once stored; Seal is the SHA-256 over everything signed.
type Report struct {
	ID           int64
	County       string
	StudyID      int64
	ResidentID   int64
	Kind         string
	ParentID     int64 // the report an addendum adds to
	Template     string
	Fields       map[string]string
	Normal       bool // the reader's conclusion is normal
	Critical     bool // a critical finding (危急值)
	CriticalText string
	SignedBy     int64 // reader's account
	SignerName   string
	SignedAt     time.Time
	Seal         string
}

// ReportSeal is the SHA-256 a report or addendum is sealed with: the study,
// the kind and parent, the signer, the time, the template and every field
// in name order, the normal and critical marks, so any later change shows.
func ReportSeal(r *Report) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%s|%d|%d|%s|%s|%t|%t|%s", r.StudyID, r.Kind, r.ParentID, r.SignedBy, r.SignedAt.UTC().Format(time.RFC3339Nano),
		r.Template, r.Normal, r.Critical, r.CriticalText)
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "|%s=%q", k, r.Fields[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SealOK reports whether r is as it was signed.
func (r *Report) SealOK() bool { return r.Seal != "" && r.Seal == ReportSeal(r) }

// Indicator rows and results.

// StatRow is one study of a period as indicators need it.
type StatRow struct {
	Modality   string
	ClinicName string
	ReaderName string // who signed the report ("" if open)
	PreRead    string
	Normal     bool // the report's conclusion (reported only)
	UploadedAt time.Time
	ReportedAt time.Time // zero if open
}

// Count is one volume row.
type Count struct {
	Name     string
	Studies  int
	Reported int
}

// Turnaround is the turnaround of one modality's reported studies.
type Turnaround struct {
	Modality      string
	Reported      int
	MedianMinutes float64
	P90Minutes    float64
	TargetMinutes int
	WithinTarget  int // reported within the target
}

// Indicators are the reading center's figures for a period (阅片质控指标).
type Indicators struct {
	ByModality []Count
	ByClinic   []Count
	ByReader   []Count
	Turnaround []Turnaround
	// PreReadNormal counts reported ECGs the pre-read called normal;
	// ConfirmedNormal those of them the reader also reported normal.
	PreReadNormal, ConfirmedNormal int
}

// ConfirmedShare is ConfirmedNormal / PreReadNormal in basis points (0 if none).
func (in *Indicators) ConfirmedShare() int {
	if in.PreReadNormal == 0 {
		return 0
	}
	return (in.ConfirmedNormal*10000 + in.PreReadNormal/2) / in.PreReadNormal
}

// ComputeIndicators tallies rows: volumes per modality, clinic and reader
// (reader: reported studies), turnaround median and 90th percentile per
// modality (nearest-rank), and the share of pre-read-normal studies the
// reader confirmed normal.
func ComputeIndicators(rows []StatRow, t Targets) *Indicators {
	out := &Indicators{}
	mod, cli, rdr := map[string]*Count{}, map[string]*Count{}, map[string]*Count{}
	tat := map[string][]float64{}
	within := map[string]int{}
	add := func(m map[string]*Count, k string, reported bool) {
		c := m[k]
		if c == nil {
			c = &Count{Name: k}
			m[k] = c
		}
		c.Studies++
		if reported {
			c.Reported++
		}
	}
	for _, r := range rows {
		m := TemplateModality(r.Modality)
		rep := !r.ReportedAt.IsZero()
		add(mod, m, rep)
		add(cli, r.ClinicName, rep)
		if !rep {
			continue
		}
		add(rdr, r.ReaderName, rep)
		d := r.ReportedAt.Sub(r.UploadedAt)
		tat[m] = append(tat[m], d.Minutes())
		if d <= t.Target(m) {
			within[m]++
		}
		if r.PreRead == PreReadNormal {
			out.PreReadNormal++
			if r.Normal {
				out.ConfirmedNormal++
			}
		}
	}
	list := func(m map[string]*Count) []Count {
		out := make([]Count, 0, len(m))
		for _, c := range m {
			out = append(out, *c)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Studies != out[j].Studies {
				return out[i].Studies > out[j].Studies
			}
			return out[i].Name < out[j].Name
		})
		return out
	}
	out.ByModality, out.ByClinic, out.ByReader = list(mod), list(cli), list(rdr)
	for m, xs := range tat {
		sort.Float64s(xs)
		out.Turnaround = append(out.Turnaround, Turnaround{Modality: m, Reported: len(xs), MedianMinutes: Percentile(xs, 50),
			P90Minutes: Percentile(xs, 90), TargetMinutes: int(t.Target(m) / time.Minute), WithinTarget: within[m]})
	}
	sort.Slice(out.Turnaround, func(i, j int) bool { return out.Turnaround[i].Modality < out.Turnaround[j].Modality })
	return out
}

// Percentile is the nearest-rank p-th percentile of sorted xs (0 if empty):
// the smallest value with at least p % of the values at or below it.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(p/100*float64(len(sorted))+0.999999999) - 1
	k = max(0, min(k, len(sorted)-1))
	return sorted[k]
}
