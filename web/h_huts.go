package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"countycare/care"
	"countycare/huts"
	"countycare/org"

	qr "github.com/piglig/go-qr"
)

// hutDeviceKey carries the authenticated device of a reading request.
type hutDeviceKey struct{}

// serveHutDevice authenticates a device of a health hut or clinic by its
// bearer token (Authorization: Bearer hut_…) and runs h as the device's
// institution. No session and no CSRF: the token is no ambient credential.
func (s *Server) serveHutDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx, limit int64, h handlerFunc) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, d, err := s.Huts.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err == nil && !ok {
		err = care.Errorf(care.EUNAUTHORIZED, "huts.auth_failed")
	}
	if err != nil {
		if care.IsCode(err, care.EUNAUTHORIZED) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="countycare devices"`)
		}
		s.renderError(w, r, rc, err)
		return
	}
	rc.Actor = a
	r = r.WithContext(context.WithValue(r.Context(), hutDeviceKey{}, d))
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := h(w, r, rc); err != nil {
		s.renderError(w, r, rc, err)
	}
}

// apiReadingIn is a device reading on the wire (API v1).
type apiReadingIn struct {
	ReadingID   string    `json:"reading_id"`
	MeasuredAt  time.Time `json:"measured_at"`
	IDNumber    string    `json:"id_number"`
	QR          string    `json:"qr"`
	SBP         int       `json:"sbp"`
	DBP         int       `json:"dbp"`
	Pulse       int       `json:"pulse"`
	GlucoseMmol float64   `json:"glucose_mmol"`
	GlucoseFor  string    `json:"glucose_for"`
	WeightKg    float64   `json:"weight_kg"`
	HeightCm    int       `json:"height_cm"`
}

// tenths turns a decimal within [0, 10000) into tenths; anything else
// (negative, NaN, absurd) is -1, which the range check refuses.
func tenths(f float64) int {
	if math.IsNaN(f) || f < 0 || f >= 10000 {
		return -1
	}
	return int(math.Round(f * 10))
}

type apiReading struct {
	ID          int64     `json:"id"`
	ReadingID   string    `json:"reading_id"`
	DeviceID    int64     `json:"device_id"`
	Device      string    `json:"device"`
	ResidentID  int64     `json:"resident_id"`
	Kind        string    `json:"kind"`
	MeasuredAt  time.Time `json:"measured_at"`
	ReceivedAt  time.Time `json:"received_at"`
	SBP         int       `json:"sbp,omitempty"`
	DBP         int       `json:"dbp,omitempty"`
	Pulse       int       `json:"pulse,omitempty"`
	GlucoseMmol float64   `json:"glucose_mmol,omitempty"`
	GlucoseFor  string    `json:"glucose_for,omitempty"`
	WeightKg    float64   `json:"weight_kg,omitempty"`
	HeightCm    int       `json:"height_cm,omitempty"`
	Urgent      []string  `json:"urgent"`
	AlertID     int64     `json:"alert_id,omitempty"`
}

func toAPIReading(r *huts.Reading) apiReading {
	out := apiReading{ID: r.ID, ReadingID: r.DeviceRef, DeviceID: r.DeviceID, Device: r.DeviceName, ResidentID: r.ResidentID, Kind: string(r.Kind),
		MeasuredAt: r.MeasuredAt, ReceivedAt: r.ReceivedAt, SBP: r.SBP, DBP: r.DBP, Pulse: r.Pulse, GlucoseMmol: float64(r.Glucose) / 10,
		WeightKg: float64(r.WeightDg) / 10, HeightCm: r.HeightCm, Urgent: append([]string{}, r.Urgent...), AlertID: r.AlertID}
	if r.Glucose > 0 {
		out.GlucoseFor = "random"
		if r.Fasting {
			out.GlucoseFor = "fasting"
		}
	}
	return out
}

// apiDeviceReading: POST /api/v1/devices/readings with the device's
// bearer token. 201 with the stored reading; 200 with the same answer
// when the device sent this reading_id before (written once).
func (s *Server) apiDeviceReading(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, _ := r.Context().Value(hutDeviceKey{}).(*huts.Device)
	if d == nil {
		return care.Errorf(care.EUNAUTHORIZED, "huts.auth_failed")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", "application/json")
	}
	var in apiReadingIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Huts.Submit(r.Context(), rc.Actor, d, huts.Input{DeviceRef: in.ReadingID, MeasuredAt: in.MeasuredAt, IDNumber: in.IDNumber, QR: in.QR,
		SBP: in.SBP, DBP: in.DBP, Pulse: in.Pulse, Glucose: tenths(in.GlucoseMmol), GlucoseFor: in.GlucoseFor, WeightDg: tenths(in.WeightKg), HeightCm: in.HeightCm})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"reading": toAPIReading(res.Reading), "created": res.Created})
	return nil
}

// hutDevicesView is the administrator's device page.
type hutDevicesView struct {
	Devices      []huts.Device
	Institutions []*org.Institution
	Kinds        []huts.Kind
	Created      *huts.Device
	Token        string
}

func (s *Server) hutDevicesData(r *http.Request, rc *reqCtx) (*hutDevicesView, error) {
	ds, err := s.Huts.Devices(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &hutDevicesView{Devices: ds, Kinds: huts.Kinds}
	for _, k := range []org.Kind{org.KindVillageClinic, org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter, org.KindCountyHospital} {
		for _, in := range t.OfKind(0, k) {
			if rc.Actor.CountyCode == "" || in.CountyCode == rc.Actor.CountyCode {
				v.Institutions = append(v.Institutions, in)
			}
		}
	}
	return v, nil
}

func (s *Server) hutDevicesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.hutDevicesData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "hut_devices", pageData{Title: s.msgs.T(rc.Lang, "huts.devices_title"), Data: v})
	return nil
}

// hutDeviceCreate: POST /admin/devices (name, kind, institution_id); the
// page shows the token once.
func (s *Server) hutDeviceCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	inst := formInt(r.PostFormValue("institution_id"), "institution_id", &fs)
	err := care.Invalid(fs)
	var d *huts.Device
	var token string
	if err == nil {
		d, token, err = s.Huts.CreateDevice(r.Context(), rc.Actor, r.PostFormValue("name"), huts.Kind(r.PostFormValue("kind")), inst)
	}
	v, verr := s.hutDevicesData(r, rc)
	if verr != nil {
		return verr
	}
	pd := pageData{Title: s.msgs.T(rc.Lang, "huts.devices_title"), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "hut_devices", pd, err)
	}
	v.Created, v.Token, pd.Flash = d, token, "huts.device_created"
	s.render(w, r, rc, http.StatusCreated, "hut_devices", pd)
	return nil
}

// hutDeviceRevoke: POST /admin/devices/{id}/revoke.
func (s *Server) hutDeviceRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Huts.RevokeDevice(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/devices?ok=device_revoked", http.StatusSeeOther)
	return nil
}

// apiHutDevices: GET /api/v1/devices.
func (s *Server) apiHutDevices(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ds, err := s.Huts.Devices(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ds))
	for i, d := range ds {
		out[i] = apiHutDevice(&d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
	return nil
}

func apiHutDevice(d *huts.Device) map[string]any {
	m := map[string]any{"id": d.ID, "name": d.Name, "kind": d.Kind, "institution_id": d.InstitutionID, "created_at": d.CreatedAt, "active": d.Active()}
	if !d.Active() {
		m["revoked_at"] = d.RevokedAt
	}
	return m
}

// apiHutDeviceCreate: POST /api/v1/devices {"name","kind","institution_id"};
// the answer carries the token, once.
func (s *Server) apiHutDeviceCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name          string `json:"name"`
		Kind          string `json:"kind"`
		InstitutionID int64  `json:"institution_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, token, err := s.Huts.CreateDevice(r.Context(), rc.Actor, in.Name, huts.Kind(in.Kind), in.InstitutionID)
	if err != nil {
		return err
	}
	m := apiHutDevice(d)
	m["token"] = token
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// apiHutDeviceRevoke: POST /api/v1/devices/{id}/revoke.
func (s *Server) apiHutDeviceRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Huts.RevokeDevice(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiHutDevice(d))
	return nil
}

// residentReadingsView is a resident's device readings page.
type residentReadingsView struct {
	ResidentID int64
	Name       string
	Readings   []huts.Reading
}

// residentReadingsPage: GET /residents/{id}/readings.
func (s *Server) residentReadingsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, rs, err := s.Huts.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "device_readings", pageData{Title: s.msgs.T(rc.Lang, "huts.readings_title"),
		Data: residentReadingsView{ResidentID: id, Name: res.Name, Readings: rs}})
	return nil
}

// apiResidentReadings: GET /api/v1/residents/{id}/device-readings.
func (s *Server) apiResidentReadings(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, rs, err := s.Huts.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := make([]apiReading, len(rs))
	for i := range rs {
		out[i] = toAPIReading(&rs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"readings": out})
	return nil
}

// meHutQR: GET /me/hut-qr.svg — the QR code a resident shows at a health
// hut's device: a signed token naming the record they view, valid
// huts.Config.QRLifetime (the page reloads it).
func (s *Server) meHutQR(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if rc.Actor.ResidentID == 0 {
		return notFound()
	}
	q, err := qr.EncodeText(s.Huts.QR(rc.Actor.ResidentID, s.Now()), qr.Medium)
	if err != nil {
		return care.Internal("web.meHutQR", err)
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(qrSVG(q))
	return nil
}

// qrSVG draws a QR code's modules as one SVG path with a 4-module quiet zone.
func qrSVG(q *qr.QrCode) []byte {
	n := q.Size()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`, n+8, n+8)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if q.Module(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
