package reading

import (
	"container/list"
	"context"
	"fmt"
	"image"
	"math"
	"strings"
	"sync"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/ecg"
	"countycare/resident"
)

// Audit actions of the viewers: every read of a study's data is a row.
const (
	ActECGView      = "reading.ecg_view"      // the ECG viewer page or its metadata
	ActECGSamples   = "reading.ecg_samples"   // a segment of an ECG's samples
	ActImagingView  = "reading.imaging_view"  // the image viewer page or its metadata
	ActImagingFrame = "reading.imaging_frame" // one rendered frame
	ActStudiesList  = "reading.studies_list"  // a resident's list of studies
)

// MaxSegmentSeconds bounds one request for ECG samples: a viewer scrolls
// through a long (Holter) record segment by segment.
const MaxSegmentSeconds = 120

// ViewerRepository is the storage the viewers read; store.Store implements it.
type ViewerRepository interface {
	// ECGStudy returns a study of a county with header and signal (ENOTFOUND).
	ECGStudy(ctx context.Context, county string, id int64) (*ECGStudy, error)
	// ECGStudies lists a resident's studies without signals, newest first.
	ECGStudies(ctx context.Context, county string, residentID int64) ([]ECGStudy, error)
	// ImagingInstance returns an instance without its file (ENOTFOUND).
	ImagingInstance(ctx context.Context, county string, id int64) (*ImagingInstance, error)
	// ImagingInstances lists a resident's instances without files, newest first.
	ImagingInstances(ctx context.Context, county string, residentID int64) ([]ImagingInstance, error)
	// ImagingStudyInstances lists the instances of one study of a resident.
	ImagingStudyInstances(ctx context.Context, county string, residentID int64, studyUID string) ([]ImagingInstance, error)
	// PreviousImagingStudies lists the resident's studies of in's modality
	// before in's (by study date, then upload time), newest first, up to
	// limit, each by its first instance.
	PreviousImagingStudies(ctx context.Context, in *ImagingInstance, limit int) ([]ImagingInstance, error)
	// ImagingFileHash returns an instance's bytes and a cache key that
	// names exactly those bytes.
	ImagingFileHash(ctx context.Context, county string, id int64) ([]byte, string, error)
}

// Viewer serves the browser viewers (阅片): an ECG's samples with the
// detected beats, and DICOM frames rendered with a window. Each call
// checks the resident is in the actor's scope (ENOTFOUND otherwise,
// exactly like a study that does not exist) and records an audit row.
// Parsed files are cached by content, up to CacheBytes.
type Viewer struct {
	Repo      ViewerRepository
	Residents *resident.Service
	Audit     audit.Recorder
	// CacheBytes bounds the parsed-file cache (0: 256 MiB).
	CacheBytes int64
	// PreRead makes the 12-lead measurements the ECG viewer shows (the
	// zero value: ecg.DefaultPreReadConfig).
	PreRead ecg.PreReadConfig

	once  sync.Once
	cache *lru
}

// ECGView is what the ECG viewer shows around the waveform.
type ECGView struct {
	Study    *ECGStudy // Header and Signal cleared
	Resident *resident.Resident
	Leads    []string
	Units    []string
	// Info is what the file says (patient fields, the machine's own
	// statements and measurements); nil for WFDB and CSV.
	Info *ecg.Info
	// Intervals are the pre-read's 12-lead measurements on the first
	// minute (nil when they could not be made).
	Intervals *ecg.Intervals
}

// ECGSegment is a stretch of an ECG's samples in ADC units with each
// lead's calibration (physical = (v − Baseline) / Gain), and the QRS
// complexes detected in it (sample indices of the rhythm lead's rate,
// counted from the start of the record).
type ECGSegment struct {
	Fs      float64 // frame rate of the record (Hz)
	Start   int     // first frame of the segment
	Frames  int     // frames in the whole record
	Leads   []ECGLeadSamples
	Beats   []int
	BeatsFs float64 // sampling rate the beat indices count in
}

// ECGLeadSamples is one lead of a segment.
type ECGLeadSamples struct {
	Name     string
	Units    string
	Gain     float64
	Baseline int
	Fs       float64 // this lead's rate (Fs × samples per frame)
	Samples  []int16
}

// ImagingView is what the image viewer shows: the instance, its study's
// other instances, the previous study of the same modality, and the
// pixel module the controls need.
type ImagingView struct {
	Instance *ImagingInstance
	Resident *resident.Resident
	Study    []ImagingInstance
	Previous *ImagingInstance
	Info     dicom.ImageInfo
	Presets  []WindowPreset
	// Greyscale is true when window/level applies (MONOCHROME1/2).
	Greyscale bool
	// PreviousGreyscale is Greyscale of the previous study's instance.
	PreviousGreyscale bool
	// PreviousWindow is the previous instance's own window (nil: none), so
	// that its pane is windowed on its own.
	PreviousWindow *dicom.Window
	// Calibration is the pixel size measurements and the scale bar use.
	Calibration dicom.Calibration
	// Orientation are the side letters (Oriented false: the file has no
	// Image Orientation (Patient)).
	Orientation dicom.Orientation
	Oriented    bool
	// CineMS is the time between frames for cine play (0: the file does
	// not say; the viewer plays at DefaultCineMS).
	CineMS float64
	// Range is the first frame's lowest and highest value after the
	// modality LUT (the "full range" window), when it could be computed.
	Range *dicom.Window
}

// WindowPreset is a named window (center/width in rescaled units, e.g. HU).
type WindowPreset struct {
	Name          string
	Center, Width float64
}

// windowPresets are the usual CT windows in Hounsfield units (W/L), as
// taught in radiology (e.g. Radiopaedia, "Windowing (CT)": brain 80/40,
// lung 1500/−600, mediastinum 350/50, bone 1800/400, abdomen soft tissue
// 400/50). Other modalities have no standard units; they get the file's
// own window and the frame's range.
var windowPresets = map[string][]WindowPreset{
	"CT": {{"brain", 40, 80}, {"lung", -600, 1500}, {"mediastinum", 50, 350}, {"abdomen", 50, 400}, {"bone", 400, 1800}},
}

// WindowPresets returns the presets of a modality (nil when it has none).
func WindowPresets(modality string) []WindowPreset { return windowPresets[strings.ToUpper(modality)] }

func (v *Viewer) record(ctx context.Context, a care.Actor, action string, r *resident.Resident, detail string, err error) {
	ev := audit.New(ctx, a, action, 0)
	if r != nil {
		ev.ResidentID, ev.CountyCode = r.ID, r.CountyCode
	}
	ev.Detail = detail
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
		switch care.ErrorCode(err) {
		case care.ENOTFOUND, care.EFORBIDDEN:
			ev.Outcome = audit.OutcomeDenied
		case care.EINVALID:
			ev.Outcome = audit.OutcomeInvalid
		}
	}
	v.Audit.Record(ctx, ev)
}

// ecgStudy loads a study of the actor's county whose resident is in scope.
func (v *Viewer) ecgStudy(ctx context.Context, a care.Actor, id int64, action string) (*ECGStudy, *resident.Resident, error) {
	st, err := v.Repo.ECGStudy(ctx, a.CountyCode, id)
	if err != nil {
		v.record(ctx, a, action, nil, fmt.Sprintf("study=%d", id), err)
		return nil, nil, err
	}
	res, err := v.Residents.Get(ctx, a, st.ResidentID)
	if err != nil {
		return nil, nil, err // Residents.Get audited the refusal
	}
	return st, res, nil
}

// ECG returns the study for the viewer. Errors: ENOTFOUND (no such study
// in the actor's county, or its resident out of scope), EINVALID (the
// stored signal can no longer be read).
func (v *Viewer) ECG(ctx context.Context, a care.Actor, id int64) (*ECGView, error) {
	st, res, err := v.ecgStudy(ctx, a, id, ActECGView)
	if err != nil {
		return nil, err
	}
	rec, err := v.ecgRecord(st)
	v.record(ctx, a, ActECGView, res, fmt.Sprintf("study=%d", id), err)
	if err != nil {
		return nil, err
	}
	out := &ECGView{Study: st, Resident: res, Info: rec.Info, Intervals: v.measure(rec)}
	for _, l := range rec.Leads {
		out.Leads, out.Units = append(out.Leads, l.Name), append(out.Units, l.Units)
	}
	st.Header, st.Signal = nil, nil
	return out, nil
}

// ECGSamples returns the samples of [start, start+seconds) of a study
// (seconds ≤ MaxSegmentSeconds; 0 means 10 s) with the QRS complexes
// detected in it. Errors: ENOTFOUND, EINVALID (a start outside the
// record, a length out of range).
func (v *Viewer) ECGSamples(ctx context.Context, a care.Actor, id int64, start, seconds float64) (*ECGSegment, error) {
	st, res, err := v.ecgStudy(ctx, a, id, ActECGSamples)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("study=%d start=%.1f seconds=%.1f", id, start, seconds)
	if seconds == 0 {
		seconds = 10
	}
	if math.IsNaN(start) || math.IsNaN(seconds) || start < 0 || seconds <= 0 || seconds > MaxSegmentSeconds {
		err := &care.Error{Code: care.EINVALID, Key: "viewer.segment_invalid", Args: []any{MaxSegmentSeconds},
			Fields: []care.FieldError{{Field: "seconds", Key: "viewer.field_range"}}}
		v.record(ctx, a, ActECGSamples, res, detail, err)
		return nil, err
	}
	rec, err := v.ecgRecord(st)
	if err == nil {
		var seg *ECGSegment
		if seg, err = Segment(rec, start, seconds); err == nil {
			v.record(ctx, a, ActECGSamples, res, detail, nil)
			return seg, nil
		}
	}
	v.record(ctx, a, ActECGSamples, res, detail, err)
	return nil, err
}

// Segment cuts [start, start+seconds) out of a record and detects the QRS
// complexes on its rhythm lead, with a 2-s margin either side so that
// beats at the edges are found as in the whole record. Errors: EINVALID
// when start is at or past the end.
func Segment(rec *ecg.Record, start, seconds float64) (*ECGSegment, error) {
	frames := 0
	if len(rec.Leads) > 0 {
		spf := max(rec.Leads[0].SamplesPerFrame, 1)
		frames = len(rec.Leads[0].Samples) / spf
	}
	f0 := int(math.Round(start * rec.Fs))
	if f0 >= frames || rec.Fs <= 0 {
		return nil, &care.Error{Code: care.EINVALID, Key: "viewer.segment_past_end", Args: []any{fmt.Sprintf("%.1f", float64(frames)/max(rec.Fs, 1))},
			Fields: []care.FieldError{{Field: "start", Key: "viewer.field_range"}}}
	}
	f1 := min(frames, f0+int(math.Round(seconds*rec.Fs)))
	seg := &ECGSegment{Fs: rec.Fs, Start: f0, Frames: frames}
	for _, l := range rec.Leads {
		spf := max(l.SamplesPerFrame, 1)
		s := l.Samples[min(f0*spf, len(l.Samples)):min(f1*spf, len(l.Samples))]
		seg.Leads = append(seg.Leads, ECGLeadSamples{Name: l.Name, Units: l.Units, Gain: l.Gain, Baseline: l.Baseline, Fs: rec.Fs * float64(spf), Samples: s})
	}
	lead, fs, ok := rec.RhythmLead()
	if !ok {
		return seg, nil
	}
	spf := max(lead.SamplesPerFrame, 1)
	margin := int(2 * fs)
	a, b := max(f0*spf-margin, 0), min(f1*spf+margin, len(lead.Samples))
	part := lead
	part.Samples = lead.Samples[a:b]
	seg.BeatsFs = fs
	seg.Beats = []int{}
	for _, i := range ecg.DetectLead(part, fs) {
		if j := a + i; j >= f0*spf && j < f1*spf {
			seg.Beats = append(seg.Beats, j)
		}
	}
	return seg, nil
}

// measure runs the pre-read on the record's first Measure.Seconds (a
// Holter is not detected whole for a page view) and returns its 12-lead
// measurements.
func (v *Viewer) measure(rec *ecg.Record) *ecg.Intervals {
	c := v.PreRead
	if c.AFWindow == 0 {
		c = ecg.DefaultPreReadConfig()
	}
	head := *rec
	head.Leads = make([]ecg.Lead, len(rec.Leads))
	for i, l := range rec.Leads {
		n := int(c.Measure.Seconds * rec.Fs * float64(max(1, l.SamplesPerFrame)))
		l.Samples = l.Samples[:min(len(l.Samples), n)]
		head.Leads[i] = l
	}
	return c.PreReadRecord(&head).Intervals
}

// ecgRecord parses a study's stored files (cached by study).
func (v *Viewer) ecgRecord(st *ECGStudy) (*ecg.Record, error) {
	key := fmt.Sprintf("ecg:%s:%d", st.CountyCode, st.ID)
	if r, ok := v.lru().get(key); ok {
		return r.(*ecg.Record), nil
	}
	var rec *ecg.Record
	var err error
	if st.Format == FormatWFDB {
		rec, err = readWFDB(ECGUpload{Header: st.Header, Signal: st.Signal})
	} else {
		rec, err = readOneFileECG(st.Format, st.Signal)
	}
	if err != nil {
		return nil, ecgLimitError(err, "id")
	}
	var n int64
	for _, l := range rec.Leads {
		n += int64(len(l.Samples)) * 2
	}
	v.lru().put(key, rec, n)
	return rec, nil
}

// imaging loads an instance of the actor's county whose resident is in scope.
func (v *Viewer) imaging(ctx context.Context, a care.Actor, id int64, action string) (*ImagingInstance, *resident.Resident, error) {
	in, err := v.Repo.ImagingInstance(ctx, a.CountyCode, id)
	if err != nil {
		v.record(ctx, a, action, nil, fmt.Sprintf("instance=%d", id), err)
		return nil, nil, err
	}
	res, err := v.Residents.Get(ctx, a, in.ResidentID)
	if err != nil {
		return nil, nil, err
	}
	return in, res, nil
}

// Imaging returns an instance for the viewer with its study, the previous
// study of the same modality and its pixel module. Errors: ENOTFOUND.
// An instance the server cannot preview is returned with its notice.
func (v *Viewer) Imaging(ctx context.Context, a care.Actor, id int64) (*ImagingView, error) {
	in, res, err := v.imaging(ctx, a, id, ActImagingView)
	if err != nil {
		return nil, err
	}
	out := &ImagingView{Instance: in, Resident: res, Presets: WindowPresets(in.Modality)}
	if out.Study, err = v.Repo.ImagingStudyInstances(ctx, in.CountyCode, in.ResidentID, in.StudyUID); err == nil {
		out.Previous, err = v.previous(ctx, in)
	}
	if err == nil && in.NoPreview == "" {
		var f *dicom.File
		if f, err = v.file(ctx, in); err == nil {
			out.Calibration, out.CineMS = f.Calibration(), f.CineFrameMS()
			out.Orientation, out.Oriented = f.Orientation()
			if out.Info, err = f.Info(); err == nil {
				out.Greyscale = out.Info.Photometric == "MONOCHROME1" || out.Info.Photometric == "MONOCHROME2"
				if out.Greyscale {
					out.Range = frameRange(f, out.Info)
				}
			}
		}
	}
	if err == nil && out.Previous != nil && out.Previous.NoPreview == "" {
		// Parsed now, the previous file is cached for its frames too.
		if pf, perr := v.file(ctx, out.Previous); perr == nil {
			if pi, perr := pf.Info(); perr == nil {
				out.PreviousGreyscale = pi.Photometric == "MONOCHROME1" || pi.Photometric == "MONOCHROME2"
				out.PreviousWindow = pi.Window
				if out.PreviousWindow == nil && out.PreviousGreyscale {
					out.PreviousWindow = frameRange(pf, pi)
				}
			}
		}
	}
	v.record(ctx, a, ActImagingView, res, fmt.Sprintf("instance=%d", id), err)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// frameRange is the window spanning the first frame of native greyscale
// pixel data (stored value masked to Bits Stored at High Bit,
// sign-extended, then slope and intercept: PS3.3 C.7.6.3, C.11.1), or nil
// for encapsulated or unusual data.
func frameRange(f *dicom.File, in dicom.ImageInfo) *dicom.Window {
	pd := f.Get(dicom.TagPixelData)
	bpp := in.BitsAllocated / 8
	n := in.Rows * in.Columns
	if pd == nil || pd.Fragments != nil || pd.Undefined || (bpp != 1 && bpp != 2) || in.SamplesPerPixel != 1 || n == 0 ||
		len(pd.Value) < n*bpp || in.BitsStored < 1 || in.BitsStored > in.BitsAllocated || in.HighBit+1 < in.BitsStored {
		return nil
	}
	shift := uint(in.HighBit + 1 - in.BitsStored)
	mask := uint32(1)<<uint(in.BitsStored) - 1
	sign := uint32(1) << uint(in.BitsStored-1)
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for i := 0; i < n; i++ {
		var raw uint32
		switch {
		case bpp == 1:
			raw = uint32(pd.Value[i])
		case f.BigEndian:
			raw = uint32(pd.Value[2*i])<<8 | uint32(pd.Value[2*i+1])
		default:
			raw = uint32(pd.Value[2*i]) | uint32(pd.Value[2*i+1])<<8
		}
		v := int32((raw >> shift) & mask)
		if in.Signed && uint32(v)&sign != 0 {
			v -= int32(mask) + 1
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	a, b := float64(lo)*in.Slope+in.Intercept, float64(hi)*in.Slope+in.Intercept
	if a > b {
		a, b = b, a
	}
	return &dicom.Window{Center: (a + b) / 2, Width: b - a + 1}
}

// ImagingFrame renders one frame of an instance with window win (nil: the
// file's window, else the frame's range). Errors: ENOTFOUND; EINVALID (a
// frame out of range, a window narrower than 1); EUNSUPPORTED (the server
// cannot preview the file: reading.cannot_preview with the reason).
func (v *Viewer) ImagingFrame(ctx context.Context, a care.Actor, id int64, frame int, win *dicom.Window) (image.Image, error) {
	in, res, err := v.imaging(ctx, a, id, ActImagingFrame)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("instance=%d frame=%d", id, frame)
	img, err := v.render(ctx, in, frame, win)
	v.record(ctx, a, ActImagingFrame, res, detail, err)
	return img, err
}

func (v *Viewer) render(ctx context.Context, in *ImagingInstance, frame int, win *dicom.Window) (image.Image, error) {
	if frame < 0 || frame >= max(in.Frames, 1) {
		return nil, &care.Error{Code: care.EINVALID, Key: "viewer.frame_invalid", Args: []any{max(in.Frames, 1)}, Fields: []care.FieldError{{Field: "frame", Key: "viewer.field_range"}}}
	}
	if win != nil && (math.IsNaN(win.Center) || math.IsInf(win.Center, 0) || !(win.Width >= 1) || math.IsInf(win.Width, 0)) {
		return nil, &care.Error{Code: care.EINVALID, Key: "viewer.window_invalid", Fields: []care.FieldError{{Field: "width", Key: "viewer.window_invalid"}}}
	}
	if in.NoPreview != "" && !dicom.Decodable(in.TransferSyntax) {
		// Instances stored before the server decoded their syntax (JPEG
		// 2000, 12-bit JPEG) keep their notice but are tried again.
		return nil, &care.Error{Code: care.EUNSUPPORTED, Key: "reading.cannot_preview", Args: []any{in.NoPreview}}
	}
	f, err := v.file(ctx, in)
	if err != nil {
		return nil, err
	}
	img, err := dicom.Render(f, frame, win)
	if err != nil {
		return nil, &care.Error{Code: care.EUNSUPPORTED, Key: "reading.cannot_preview", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
	}
	return img, nil
}

// file returns the parsed file of an instance, cached by content.
func (v *Viewer) file(ctx context.Context, in *ImagingInstance) (*dicom.File, error) {
	inline := fmt.Sprintf("dcm:%s:%d", in.CountyCode, in.ID)
	if f, ok := v.lru().get(inline); ok {
		return f.(*dicom.File), nil
	}
	b, hash, err := v.Repo.ImagingFileHash(ctx, in.CountyCode, in.ID)
	if err != nil {
		return nil, err
	}
	key := inline
	if hash != "" {
		key = "blob:" + in.CountyCode + ":" + hash
		if f, ok := v.lru().get(key); ok {
			return f.(*dicom.File), nil
		}
	}
	f, err := dicom.Parse(b)
	if err != nil {
		return nil, &care.Error{Code: care.EUNSUPPORTED, Key: "reading.cannot_preview", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
	}
	v.lru().put(key, f, int64(len(b)))
	return f, nil
}

// Studies lists a resident's ECG studies and imaging instances (newest
// first), for the resident's page of studies. Errors: ENOTFOUND.
func (v *Viewer) Studies(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []ECGStudy, []ImagingInstance, error) {
	res, err := v.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, nil, err
	}
	ecgs, err := v.Repo.ECGStudies(ctx, res.CountyCode, res.ID)
	var imgs []ImagingInstance
	if err == nil {
		imgs, err = v.Repo.ImagingInstances(ctx, res.CountyCode, res.ID)
	}
	v.record(ctx, a, ActStudiesList, res, fmt.Sprintf("ecg=%d imaging=%d", len(ecgs), len(imgs)), err)
	if err != nil {
		return nil, nil, nil, err
	}
	return res, ecgs, imgs, nil
}

func (v *Viewer) lru() *lru {
	v.once.Do(func() {
		n := v.CacheBytes
		if n <= 0 {
			n = 256 << 20
		}
		v.cache = &lru{max: n, items: map[string]*list.Element{}, order: list.New()}
	})
	return v.cache
}

// lru is a least-recently-used cache bounded by the sizes put into it.
// Entries are immutable (parsed content), so sharing them is safe.
type lru struct {
	mu    sync.Mutex
	max   int64
	size  int64
	items map[string]*list.Element
	order *list.List
}

type lruEntry struct {
	key  string
	val  any
	size int64
}

func (c *lru) get(k string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry).val, true
	}
	return nil, false
}

func (c *lru) put(k string, v any, size int64) {
	if size > c.max/2 {
		return // one huge file would flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{k, v, size})
	c.size += size
	for c.size > c.max {
		e := c.order.Back()
		en := e.Value.(*lruEntry)
		c.order.Remove(e)
		delete(c.items, en.key)
		c.size -= en.size
	}
}

// previousCandidates bounds the earlier studies of the modality read to
// find the previous study of the same body part.
const previousCandidates = 20

// previous picks the study to compare in with: the latest earlier study of
// the same modality known to show the same body part — DICOM Body Part
// Examined (0018,0015), else the body part named in the Study Description
// (0008,1030) — so a head CT is never put beside a spine or chest CT. A
// study that does not say its body part is compared with none, and none
// is compared with it: the reader opens earlier studies from the
// resident's list instead (issue 16: the previous rule put a study that
// did not say beside one that did). Files are read through the viewer's
// cache.
func (v *Viewer) previous(ctx context.Context, in *ImagingInstance) (*ImagingInstance, error) {
	f, err := v.file(ctx, in)
	if err != nil {
		return nil, nil // a file that cannot be read says no body part: nothing to compare
	}
	part := BodyPart(f.String(dicom.TagBodyPartExamined), f.String(dicom.TagStudyDescription))
	if part == "" {
		return nil, nil
	}
	cands, err := v.Repo.PreviousImagingStudies(ctx, in, previousCandidates)
	if err != nil {
		return nil, err
	}
	for i := range cands {
		c := &cands[i]
		if cf, err := v.file(ctx, c); err == nil && BodyPart(cf.String(dicom.TagBodyPartExamined), cf.String(dicom.TagStudyDescription)) == part {
			return c, nil
		}
	}
	return nil, nil
}

// bodyParts map words of Body Part Examined and study descriptions (DICOM
// PS3.16 Annex L terms, common English and Chinese) to one name per part;
// the more specific terms (the spine's segments) are tried first.
var bodyParts = []struct {
	part  string
	words []string
}{
	{"CSPINE", []string{"CSPINE", "C-SPINE", "CERVICAL SPINE", "CERVICAL", "颈椎"}},
	{"TSPINE", []string{"TSPINE", "T-SPINE", "THORACIC SPINE", "胸椎"}},
	{"LSPINE", []string{"LSPINE", "L-SPINE", "LUMBAR SPINE", "LUMBAR", "腰椎"}},
	{"SSPINE", []string{"SSPINE", "SACRUM", "骶椎", "骶骨"}},
	{"SPINE", []string{"SPINE", "脊柱", "脊椎"}},
	{"HEAD", []string{"HEAD", "BRAIN", "SKULL", "CRANIUM", "头颅", "头部", "颅脑", "颅", "脑"}},
	{"NECK", []string{"NECK", "颈部"}},
	{"CHEST", []string{"CHEST", "THORAX", "LUNG", "胸部", "胸", "肺"}},
	{"ABDOMEN", []string{"ABDOMEN", "ABDOMINAL", "LIVER", "腹部", "腹", "肝"}},
	{"PELVIS", []string{"PELVIS", "盆腔", "骨盆"}},
	{"KNEE", []string{"KNEE", "膝"}},
	{"BREAST", []string{"BREAST", "MAMMO", "乳腺"}},
	{"PROSTATE", []string{"PROSTATE", "前列腺"}},
	{"HEART", []string{"HEART", "CARDIAC", "心脏"}},
}

// BodyPart names the body part of a study from its Body Part Examined, else
// from the words of its description; "" when neither says.
func BodyPart(examined, description string) string {
	if e := strings.ToUpper(strings.TrimSpace(examined)); e != "" {
		if p := bodyPartIn(e); p != "" {
			return p
		}
		return strings.Join(strings.Fields(e), " ") // a defined term the table does not list (HAND, FOOT, …)
	}
	return bodyPartIn(strings.ToUpper(description))
}

func bodyPartIn(s string) string {
	for _, bp := range bodyParts {
		for _, w := range bp.words {
			if strings.Contains(s, w) {
				return bp.part
			}
		}
	}
	return ""
}
