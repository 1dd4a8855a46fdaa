package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/online"
	"countycare/rx"
)

// Wire shapes of online visits (version 1).
type apiOnlineVisitOut struct {
	ID            int64      `json:"id"`
	ResidentID    int64      `json:"resident_id"`
	Status        string     `json:"status"`
	Diagnosis     string     `json:"diagnosis"`
	Complaint     string     `json:"complaint,omitempty"`
	Prior         apiPrior   `json:"prior_document"`
	GuardianName  string     `json:"guardian_name,omitempty"`
	DoctorName    string     `json:"doctor_name,omitempty"`
	InSession     bool       `json:"in_session"` // the caller holds the visit in this session
	EndReason     string     `json:"end_reason,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	Prescriptions []int64    `json:"prescription_ids,omitempty"`
	Version       int        `json:"version"`
}

type apiPrior struct {
	Kind  string    `json:"kind"`
	ID    int64     `json:"id"`
	Code  string    `json:"code,omitempty"`
	Codes []string  `json:"codes,omitempty"`
	On    care.Date `json:"on"`
}

type apiMessageOut struct {
	ID        int64     `json:"id"`
	From      string    `json:"from"`
	Author    string    `json:"author"`
	Text      string    `json:"text,omitempty"`
	ImageURL  string    `json:"image_url,omitempty"`
	ImageType string    `json:"image_type,omitempty"`
	At        time.Time `json:"at"`
}

func apiOnlineVisit(rc *reqCtx, v *online.Visit, ids []int64) apiOnlineVisitOut {
	out := apiOnlineVisitOut{ID: v.ID, ResidentID: v.ResidentID, Status: string(v.Status), Diagnosis: v.Diagnosis, Complaint: v.Complaint,
		Prior:        apiPrior{Kind: v.PriorKind, ID: v.PriorID, Code: v.PriorCode, On: v.PriorOn},
		GuardianName: v.Guardian.Name, DoctorName: v.DoctorName, InSession: online.StepUpValid(v, rc.Actor.AccountID, rc.Actor.SessionID),
		EndReason: v.EndReason, CreatedAt: v.CreatedAt, Prescriptions: ids, Version: v.Version}
	if !v.EndedAt.IsZero() {
		t := v.EndedAt
		out.EndedAt = &t
	}
	return out
}

func (s *Server) apiOnlineList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Online.List(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]apiOnlineVisitOut, 0, len(list))
	for i := range list {
		out = append(out, apiOnlineVisit(rc, &list[i], nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"visits": out})
	return nil
}

// apiOnlineConditions lists the conditions diagnosed offline that an
// online follow-up may be booked for.
func (s *Server) apiOnlineConditions(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	docs, err := s.Online.Conditions(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]apiPrior, 0, len(docs))
	for _, d := range docs {
		out = append(out, apiPrior{Kind: d.Kind, ID: d.ID, Codes: d.Codes, On: d.On})
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": out})
	return nil
}

// apiOnlineBook books a visit: {"resident_id", "diagnosis", "complaint",
// "guardian_name", "guardian_id_number"}; a resident books for themself.
func (s *Server) apiOnlineBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ResidentID       int64  `json:"resident_id"`
		Diagnosis        string `json:"diagnosis"`
		Complaint        string `json:"complaint"`
		GuardianName     string `json:"guardian_name"`
		GuardianIDNumber string `json:"guardian_id_number"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if rc.Actor.Role == care.RoleResident {
		in.ResidentID = rc.Actor.ResidentID
	}
	v, err := s.Online.Book(r.Context(), rc.Actor, in.ResidentID, online.BookInput{Diagnosis: in.Diagnosis, Complaint: in.Complaint,
		Guardian: online.Guardian{Name: in.GuardianName, IDNumber: in.GuardianIDNumber}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiOnlineVisit(rc, v, nil))
	return nil
}

func (s *Server) apiOnlineGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, ids, err := s.Online.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiOnlineVisit(rc, v, ids))
	return nil
}

// apiOnlineStart is the doctor's step-up: {"password"}.
func (s *Server) apiOnlineStart(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Online.Start(r.Context(), rc.Actor, id, in.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiOnlineVisit(rc, v, nil))
	return nil
}

func (s *Server) apiOnlineMessages(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	msgs, err := s.Online.Messages(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]apiMessageOut, 0, len(msgs))
	for _, m := range msgs {
		o := apiMessageOut{ID: m.ID, From: m.From, Author: m.Author, Text: m.Text, ImageType: m.ImageType, At: m.At}
		if m.ImageSHA != "" {
			o.ImageURL = "/online/" + strconv.FormatInt(id, 10) + "/images/" + m.ImageSHA
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
	return nil
}

// apiOnlineSend sends a message: {"text", "image": {"type", "data"
// (base64)}}. The image's type is taken from its bytes, not the claim.
func (s *Server) apiOnlineSend(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Text  string `json:"text"`
		Image *struct {
			Data string `json:"data"`
		} `json:"image"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var img *online.Image
	if in.Image != nil && in.Image.Data != "" {
		data, err := base64.StdEncoding.DecodeString(in.Image.Data)
		if err != nil {
			return care.Invalid([]care.FieldError{{Field: "image.data", Key: "online.image_type"}})
		}
		img = &online.Image{Type: http.DetectContentType(data), Data: data}
	}
	m, err := s.Online.Send(r.Context(), rc.Actor, id, in.Text, img)
	if err != nil {
		return err
	}
	o := apiMessageOut{ID: m.ID, From: m.From, Author: m.Author, Text: m.Text, ImageType: m.ImageType, At: m.At}
	if m.ImageSHA != "" {
		o.ImageURL = "/online/" + strconv.FormatInt(id, 10) + "/images/" + m.ImageSHA
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

// apiOnlineEnd ends the visit: {"redirect": true, "reason": "…"} sends the
// resident offline with the reason.
func (s *Server) apiOnlineEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Redirect bool   `json:"redirect"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Online.End(r.Context(), rc.Actor, id, in.Redirect, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiOnlineVisit(rc, v, nil))
	return nil
}

// apiOnlinePrescribe signs a prescription at the visit on the online
// channel; the body is the prescription API's (online and guardian come
// from the visit, not the body). "review": true only reviews.
func (s *Server) apiOnlinePrescribe(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		apiPrescription
		Review bool `json:"review"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Issued = care.Today(s.Now()).String()
	p, fs := in.prescription()
	if err := care.Invalid(fs); err != nil {
		return err
	}
	if in.Review {
		findings, err := s.Online.Preview(r.Context(), rc.Actor, id, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"outcome": wireOutcome(rx.Outcome(findings)),
			"findings": s.rxFindingViews(rc.Lang, &rx.Signed{Prescription: *p, Findings: findings})})
		return nil
	}
	sg, findings, err := s.Online.Prescribe(r.Context(), rc.Actor, id, p)
	if err != nil {
		if care.IsCode(err, care.EINVALID) && len(findings) > 0 {
			blocked := &rx.Signed{Prescription: *p, Findings: findings}
			var body apiError
			body.Error.Code, body.Error.Key, body.Error.Message = care.EINVALID, "rx.blocked", s.msgs.T(rc.Lang, "rx.blocked")
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": body.Error, "findings": s.rxFindingViews(rc.Lang, blocked), "request_id": rc.RequestID})
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusCreated, s.apiSigned(rc.Lang, sg))
	return nil
}
