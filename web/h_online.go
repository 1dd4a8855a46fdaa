package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/consult"
	"countycare/online"
	"countycare/rx"
)

// Online follow-up visits (互联网复诊): the resident's side works without
// script on a 360-px phone (forms and links; the chat reloads); the
// doctor's side adds the step-up form, the end/redirect form and the
// prescriber's page.

type onlineListData struct {
	Visits     []online.Visit
	Conditions []online.PriorDocument
	ResidentID int64 // whose conditions are shown (a doctor booking on behalf)
	Doctor     bool
}

type onlineRxView struct {
	ID       int64
	Status   string
	Lines    []string
	Findings []rxFindingView
}

type onlineVisitData struct {
	V             *online.Visit
	ResidentName  string
	Messages      []online.Message
	Prescriptions []onlineRxView
	Doctor        bool
	InSession     bool // the signed-in doctor holds the visit in this session
	Open          bool
	Video         bool   // the optional video call may be joined from this page
	ICE           string // RTCIceServer list (JSON)
}

func (s *Server) onlineListData(r *http.Request, rc *reqCtx) (*onlineListData, error) {
	d := &onlineListData{Doctor: rc.Actor.Role != care.RoleResident}
	var err error
	if d.Visits, err = s.Online.List(r.Context(), rc.Actor); err != nil {
		return nil, err
	}
	d.ResidentID = rc.Actor.ResidentID
	if d.Doctor {
		d.ResidentID, _ = strconv.ParseInt(r.FormValue("resident"), 10, 64)
		if d.ResidentID == 0 {
			d.ResidentID, _ = strconv.ParseInt(r.PostFormValue("resident_id"), 10, 64)
		}
	}
	if d.ResidentID != 0 {
		if d.Conditions, err = s.Online.Conditions(r.Context(), rc.Actor, d.ResidentID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// onlineList is /online: the resident's visits and booking form, or the
// doctor's open visits (and, with ?resident=ID, booking on their behalf).
func (s *Server) onlineList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.onlineListData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "online", pageData{Title: s.msgs.T(rc.Lang, "online.title"), Data: d})
	return nil
}

// onlineBook books a visit from the form.
func (s *Server) onlineBook(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rid := rc.Actor.ResidentID
	if rc.Actor.Role != care.RoleResident {
		rid, _ = strconv.ParseInt(r.PostFormValue("resident_id"), 10, 64)
	}
	v, err := s.Online.Book(r.Context(), rc.Actor, rid, online.BookInput{Diagnosis: r.PostFormValue("diagnosis"), Complaint: r.PostFormValue("complaint"),
		Guardian: online.Guardian{Name: r.PostFormValue("guardian_name"), IDNumber: r.PostFormValue("guardian_id_number")}})
	if err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && ce.Code == care.EINVALID {
			d, derr := s.onlineListData(r, rc)
			if derr != nil {
				return derr
			}
			return s.formError(w, r, rc, "online", pageData{Title: s.msgs.T(rc.Lang, "online.title"), Data: d}, err)
		}
		return err
	}
	http.Redirect(w, r, "/online/"+strconv.FormatInt(v.ID, 10)+"?ok=online_booked", http.StatusSeeOther)
	return nil
}

func (s *Server) onlineVisitData(r *http.Request, rc *reqCtx, id int64) (*onlineVisitData, error) {
	v, ids, err := s.Online.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	d := &onlineVisitData{V: v, Doctor: rc.Actor.Role != care.RoleResident, Open: v.Status.Open(),
		InSession: online.StepUpValid(v, rc.Actor.AccountID, rc.Actor.SessionID)}
	if s.Live != nil && d.Open && (!d.Doctor || d.InSession) {
		d.Video, d.ICE = true, s.cfg.ICEServers
		if d.ICE == "" {
			d.ICE = "[]"
		}
	}
	if res, err := s.Residents.Get(r.Context(), rc.Actor, v.ResidentID); err == nil {
		d.ResidentName = res.Name
	}
	if d.Messages, err = s.Online.Messages(r.Context(), rc.Actor, id); err != nil {
		return nil, err
	}
	for _, pid := range ids {
		sg, err := s.Prescriptions.Get(r.Context(), rc.Actor, pid)
		if err != nil {
			return nil, err
		}
		pv := onlineRxView{ID: sg.ID, Status: string(sg.Status), Findings: s.rxFindingViews(rc.Lang, sg)}
		for i := range sg.Prescription.Lines {
			pv.Lines = append(pv.Lines, s.rxLineText(rc.Lang, &sg.Prescription.Lines[i]))
		}
		d.Prescriptions = append(d.Prescriptions, pv)
	}
	return d, nil
}

// onlineShow is /online/{id}: the visit, its chat and prescriptions.
func (s *Server) onlineShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.onlineVisitData(r, rc, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "online_visit", pageData{Title: s.msgs.T(rc.Lang, "online.visit"), Data: d})
	return nil
}

// onlineAction runs a form action on visit id, showing the visit page
// again with the error if it is the user's to fix.
func (s *Server) onlineAction(w http.ResponseWriter, r *http.Request, rc *reqCtx, do func(id int64) error) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := do(id); err != nil {
		var ce *care.Error
		if errors.As(err, &ce) && (ce.Code == care.EINVALID || ce.Code == care.ECONFLICT || ce.Code == care.EUNAUTHORIZED || ce.Key == "online.step_up") {
			d, derr := s.onlineVisitData(r, rc, id)
			if derr != nil {
				return derr
			}
			if ce.Code == care.EFORBIDDEN || ce.Code == care.EUNAUTHORIZED {
				// Shown on the page; the status stays a client error.
				ce = &care.Error{Code: care.EINVALID, Key: ce.Key, Args: ce.Args, Fields: ce.Fields}
				err = ce
			}
			return s.formError(w, r, rc, "online_visit", pageData{Title: s.msgs.T(rc.Lang, "online.visit"), Data: d}, err)
		}
		return err
	}
	http.Redirect(w, r, "/online/"+strconv.FormatInt(id, 10)+"#chat", http.StatusSeeOther)
	return nil
}

// onlineStart is the doctor's step-up: the password again opens the
// visit for this sign-in session.
func (s *Server) onlineStart(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.onlineAction(w, r, rc, func(id int64) error {
		_, err := s.Online.Start(r.Context(), rc.Actor, id, r.PostFormValue("password"))
		return err
	})
}

// onlineMessage sends a chat message: text and/or one image.
func (s *Server) onlineMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.onlineAction(w, r, rc, func(id int64) error {
		var img *online.Image
		if r.MultipartForm != nil && len(r.MultipartForm.File["image"]) > 0 {
			fh := r.MultipartForm.File["image"][0]
			if fh.Size > online.MaxImageBytes {
				return care.Invalid([]care.FieldError{{Field: "image", Key: "online.image_size", Args: []any{online.MaxImageBytes >> 20}}})
			}
			f, err := fh.Open()
			if err != nil {
				return care.Internal("web.onlineMessage", err)
			}
			data, err := readUpload(f, fh.Size, online.MaxImageBytes)
			f.Close()
			if err != nil {
				return care.Internal("web.onlineMessage", err)
			}
			if len(data) > 0 {
				img = &online.Image{Type: http.DetectContentType(data), Data: data}
			}
		}
		_, err := s.Online.Send(r.Context(), rc.Actor, id, r.PostFormValue("text"), img)
		return err
	})
}

// onlineImage serves an image of the visit's chat.
func (s *Server) onlineImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	img, err := s.Online.Image(r.Context(), rc.Actor, id, r.PathValue("sha"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", img.Type)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(img.Data)
	return nil
}

// onlineEnd ends the visit (action=end) or redirects the resident offline
// with a reason (action=redirect).
func (s *Server) onlineEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.onlineAction(w, r, rc, func(id int64) error {
		_, err := s.Online.End(r.Context(), rc.Actor, id, r.PostFormValue("action") == "redirect", r.PostFormValue("reason"))
		return err
	})
}

// onlineRxNew is the prescriber's page of an online visit.
func (s *Server) onlineRxNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.onlineRxPage(r, rc, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "rx_new", pageData{Title: s.msgs.T(rc.Lang, "rx.new"), Data: d})
	return nil
}

func (s *Server) onlineRxPage(r *http.Request, rc *reqCtx, id int64) (*rxPageData, error) {
	v, _, err := s.Online.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	if !online.StepUpValid(v, rc.Actor.AccountID, rc.Actor.SessionID) {
		return nil, care.Errorf(care.EFORBIDDEN, "online.step_up")
	}
	base := "/online/" + strconv.FormatInt(id, 10)
	d := s.newRxPage(rc, base+"/rx", base)
	d.ResidentID, d.Online, d.VisitID, d.Diagnosis = v.ResidentID, true, v.ID, v.Diagnosis
	if res, err := s.Residents.Get(r.Context(), rc.Actor, v.ResidentID); err == nil {
		d.Name = res.Name
	}
	return d, nil
}

// onlineRxSubmit reviews or signs the visit's prescription (online channel).
func (s *Server) onlineRxSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.onlineRxPage(r, rc, id)
	if err != nil {
		return err
	}
	review := func(p *rx.Prescription) ([]rx.Finding, error) { return s.Online.Preview(r.Context(), rc.Actor, id, p) }
	sign := func(p *rx.Prescription) (*rx.Signed, []rx.Finding, error) {
		return s.Online.Prescribe(r.Context(), rc.Actor, id, p)
	}
	return s.rxHandleForm(w, r, rc, d, review, sign, func(sg *rx.Signed) string {
		return "/online/" + strconv.FormatInt(id, 10) + "?ok=online_prescribed#rx"
	})
}

// onlineSignal is POST /online/{id}/signal (form fields to, type,
// payload, as the consultation's video.js sends them): one signalling
// message of the visit's video call, relayed to the other participant's
// event stream as an "online.signal" event.
func (s *Server) onlineSignal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rc.API = true // the page's script reads the answer
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.Live == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	sig := consult.Signal{Type: r.PostFormValue("type")}
	if v := r.PostFormValue("to"); v != "" {
		if sig.To, err = strconv.ParseInt(v, 10, 64); err != nil {
			return care.Invalid([]care.FieldError{{Field: "to", Key: "field.number"}})
		}
	}
	if v := r.PostFormValue("payload"); v != "" {
		sig.Payload = json.RawMessage(v)
	}
	to, peers, err := s.Online.Signal(r.Context(), rc.Actor, id, sig)
	if err != nil {
		return err
	}
	me := online.LiveKey(rc.Actor)
	if len(to) > 0 {
		msg := map[string]any{"id": id, "from": me, "name": rc.Actor.Name, "type": sig.Type, "to": sig.To}
		if len(sig.Payload) > 0 {
			msg["payload"] = sig.Payload
		}
		if err := s.Live.PublishJSON(to, "online.signal", msg); err != nil {
			return err
		}
	}
	if peers == nil {
		peers = []consult.Participant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"self": me, "peers": peers})
	return nil
}

// onlineEvents is GET /online/{id}/events: the resident's live stream for
// the visit's video call (staff use /events). The visit read is audited
// at each (re)connection.
func (s *Server) onlineEvents(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if s.Live == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if _, _, err := s.Online.Get(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	return s.stream(w, r, online.LiveKey(rc.Actor))
}
