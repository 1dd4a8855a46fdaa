package reading

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
)

// Audit actions of key images.
const (
	ActKeyImageSave  = "reading.key_image_save"
	ActKeyImagesRead = "reading.key_images_read"
)

// MaxKeyImageNote bounds a key image's note (characters).
const MaxKeyImageNote = 500

// MaxKeyImages bounds the key images of one study.
const MaxKeyImages = 30

// KeyImage is a key image (关键图像) of an imaging study: the frame a reader
// marked with the window it was seen in, the measurements the server made
// on it and a note. It goes into the study's report.
type KeyImage struct {
	ID           int64
	County       string
	StudyID      int64 // the reading study
	InstanceID   int64
	ResidentID   int64
	CenterID     int64 // the reader's diagnosis center
	Frame        int
	Window       *dicom.Window // nil: the file's own
	Measurements []Measurement
	Note         string
	CreatedBy    int64
	CreatorName  string
	CreatedAt    time.Time
}

// KeyImageDraft is what the reader sends: the instance and frame, the
// window (nil: the file's), the measurements drawn (recomputed by the
// server, never taken from the browser) and a note.
type KeyImageDraft struct {
	InstanceID   int64
	Frame        int
	Window       *dicom.Window
	Measurements []MeasureRequest
	Note         string
}

// KeyImageRepository stores key images; store.Store implements it.
type KeyImageRepository interface {
	// SaveKeyImage inserts k (setting its ID) with the audit row.
	SaveKeyImage(ctx context.Context, k *KeyImage, ev audit.Event) error
	// KeyImages lists a study's key images, oldest first.
	KeyImages(ctx context.Context, county string, studyID int64) ([]KeyImage, error)
}

// KeyImages keeps the key images of imaging studies: the reader holding a
// study saves them (scoped to the study's diagnosis center, which is the
// reader's institution); whoever may open the study reads them with it.
type KeyImages struct {
	Flow   *Workflow
	Viewer *Viewer
	Repo   KeyImageRepository
	Now    func() time.Time
}

// Save stores a key image of study id for the reader who holds it. The
// instance must be one of the study's; each measurement is computed again
// on the file. Errors: ENOTFOUND (no such study or instance for this
// reader), EFORBIDDEN (not a reader), ECONFLICT reading.not_yours (the
// study is not held by the actor, or is reported), EINVALID (frame,
// window, note, measurements), EUNSUPPORTED (a region on a frame the
// server cannot decode). Every attempt is audited.
func (k *KeyImages) Save(ctx context.Context, a care.Actor, id int64, d KeyImageDraft) (*KeyImage, error) {
	st, err := k.Flow.readerOf(ctx, a, id, ActKeyImageSave)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*KeyImage, error) {
		ev := k.Flow.event(ctx, a, ActKeyImageSave, st, fmt.Sprintf("study %d instance %d", st.ID, d.InstanceID))
		ev.Outcome = audit.OutcomeInvalid
		if c := care.ErrorCode(err); c == care.ENOTFOUND || c == care.ECONFLICT {
			ev.Outcome = audit.OutcomeDenied
		}
		k.Flow.Audit.Record(ctx, ev)
		return nil, err
	}
	if st.Kind != KindImaging {
		return fail(care.Errorf(care.ENOTFOUND, "error.not_found"))
	}
	if st.Status != FlowClaimed || st.ClaimedBy != a.AccountID {
		return fail(care.Errorf(care.ECONFLICT, "reading.not_yours"))
	}
	var fs []care.FieldError
	d.Note = strings.TrimSpace(d.Note)
	if utf8.RuneCountInString(d.Note) > MaxKeyImageNote {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{MaxKeyImageNote}})
	}
	if w := d.Window; w != nil && (math.IsNaN(w.Center) || math.IsInf(w.Center, 0) || !(w.Width >= 1) || math.IsInf(w.Width, 0)) {
		fs = append(fs, care.FieldError{Field: "window", Key: "viewer.window_invalid"})
	}
	if len(d.Measurements) > MaxMeasurements {
		fs = append(fs, care.FieldError{Field: "measurements", Key: "viewer.too_many_measurements", Args: []any{MaxMeasurements}})
	}
	if err := care.Invalid(fs); err != nil {
		return fail(err)
	}
	in, err := k.Viewer.Repo.ImagingInstance(ctx, st.County, d.InstanceID)
	if err != nil || in.StudyUID != st.SourceKey || in.ResidentID != st.ResidentID {
		return fail(care.Errorf(care.ENOTFOUND, "error.not_found"))
	}
	if d.Frame < 0 || d.Frame >= max(in.Frames, 1) {
		return fail(measureInvalid("viewer.frame_invalid", "frame", max(in.Frames, 1)))
	}
	have, err := k.Repo.KeyImages(ctx, st.County, st.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= MaxKeyImages {
		return fail(&care.Error{Code: care.EINVALID, Key: "viewer.too_many_key_images", Args: []any{MaxKeyImages}})
	}
	ki := &KeyImage{County: st.County, StudyID: st.ID, InstanceID: in.ID, ResidentID: st.ResidentID, CenterID: a.InstitutionID,
		Frame: d.Frame, Window: d.Window, Note: d.Note, CreatedBy: a.AccountID, CreatorName: a.Name, CreatedAt: k.Now().UTC().Truncate(time.Microsecond)}
	if len(d.Measurements) > 0 {
		f, err := k.Viewer.file(ctx, in)
		if err != nil {
			return fail(err)
		}
		for _, r := range d.Measurements {
			r.Frame = d.Frame
			m, err := MeasureFile(f, in.Modality, r)
			if err != nil {
				return fail(err)
			}
			ki.Measurements = append(ki.Measurements, *m)
		}
	}
	ev := k.Flow.event(ctx, a, ActKeyImageSave, st, fmt.Sprintf("study %d instance %d frame %d measurements=%d", st.ID, in.ID, d.Frame, len(ki.Measurements)))
	if err := k.Repo.SaveKeyImage(ctx, ki, ev); err != nil {
		return nil, err
	}
	return ki, nil
}

// List returns the key images of study id for whoever may open it (its
// center's readers, the ordering clinic's doctors), with an audit row.
// Errors: ENOTFOUND.
func (k *KeyImages) List(ctx context.Context, a care.Actor, id int64) ([]KeyImage, error) {
	st, err := k.Flow.load(ctx, a, id, ActKeyImagesRead)
	if err != nil {
		return nil, err
	}
	out, err := k.Repo.KeyImages(ctx, st.County, st.ID)
	ev := k.Flow.event(ctx, a, ActKeyImagesRead, st, fmt.Sprintf("study %d key images=%d", st.ID, len(out)))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	k.Flow.Audit.Record(ctx, ev)
	return out, err
}
