package huts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/critical"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Repository is the storage of devices and readings; store.Store implements it.
type Repository interface {
	// CreateHutDevice stores a credential (sets ID) with its audit row.
	CreateHutDevice(ctx context.Context, d *Device, ev audit.Event) error
	// HutDevices lists a county's devices, newest first.
	HutDevices(ctx context.Context, county string) ([]Device, error)
	// HutDevice reads one device. Errors: ENOTFOUND.
	HutDevice(ctx context.Context, id int64) (*Device, error)
	// HutDeviceByToken reads the device of a token hash. Errors: ENOTFOUND.
	HutDeviceByToken(ctx context.Context, hash string) (*Device, error)
	// RevokeHutDevice ends a credential with its audit row.
	RevokeHutDevice(ctx context.Context, d *Device, ev audit.Event) error
	// DeviceReading reads the reading a device sent under ref. Errors: ENOTFOUND.
	DeviceReading(ctx context.Context, deviceID int64, ref string) (*Reading, error)
	// SaveDeviceReading stores r (sets ID), the critical alert al (if not
	// nil; its SourceID set to r's id) with its messages, and the audit
	// row, in one transaction; created is false (and r the stored reading)
	// when the device already sent ref.
	SaveDeviceReading(ctx context.Context, r *Reading, al *critical.Alert, msgs []notify.Message, ev audit.Event) (created bool, err error)
	// ResidentDeviceReadings lists a resident's readings, newest first.
	ResidentDeviceReadings(ctx context.Context, county string, residentID int64, limit int) ([]Reading, error)
	// Registrations lists a resident's chronic registrations.
	Registrations(ctx context.Context, county string, residentID int64) ([]chronic.Registration, error)
}

// Residents finds residents within an actor's scope, audited (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	Search(ctx context.Context, a care.Actor, text string, f resident.Filter) ([]resident.Resident, bool, error)
}

// Alerts prepares and announces critical alerts (critical.Service).
type Alerts interface {
	Prepare(ctx context.Context, al *critical.Alert) ([]notify.Message, []int64, error)
	Announce(al *critical.Alert, practitioners []int64)
}

// Service registers devices and takes their readings.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Alerts  Alerts
	Audit   audit.Recorder
	Chronic chronic.Config // the urgent-transfer thresholds
	Config  Config
	Key     []byte // signs residents' QR tokens
	Now     func() time.Time
}

// Limits of what a device sends.
const (
	MaxDeviceRef  = 64
	MaxDeviceName = 60
	// MinBMI and MaxBMI bound a plausible body-mass index (kg/m²) when a
	// scale sends weight and height together: outside, one of the two is
	// impossible for the other (a 15 kg adult 1.70 m tall is BMI 5.2).
	MinBMI, MaxBMI = 8, 80
)

// hutKinds are the institutions a device may be bound to: where residents
// are cared for (a hut belongs to a clinic or a health center).
var hutKinds = map[org.Kind]bool{org.KindVillageClinic: true, org.KindTownshipHC: true, org.KindCentralHC: true,
	org.KindSubCenter: true, org.KindCountyHospital: true}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// CreateDevice registers a device of kind at institution instID and
// returns its credential token, shown only now (stored hashed).
// Administrators only (EFORBIDDEN). Errors: EINVALID (name, kind, an
// institution that is not a care-giving one of the admin's county).
func (s *Service) CreateDevice(ctx context.Context, a care.Actor, name string, kind Kind, instID int64) (*Device, string, error) {
	if a.Role != care.RoleAdmin {
		return nil, "", care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, "", err
	}
	var fs []care.FieldError
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxDeviceName || !utf8.ValidString(name) {
		fs = append(fs, care.FieldError{Field: "name", Key: "huts.device_name_invalid", Args: []any{MaxDeviceName}})
	}
	if !kind.Valid() {
		fs = append(fs, care.FieldError{Field: "kind", Key: "huts.kind_invalid"})
	}
	inst := t.Get(instID)
	if inst == nil || !hutKinds[inst.Kind] || (a.CountyCode != "" && inst.CountyCode != a.CountyCode) {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "huts.institution_invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", care.Internal("huts.CreateDevice", err)
	}
	token := "hut_" + base64.RawURLEncoding.EncodeToString(b)
	d := &Device{CountyCode: inst.CountyCode, InstitutionID: inst.ID, InstitutionName: inst.Name, Kind: kind, Name: name,
		TokenHash: hashToken(token), CreatedBy: a.AccountID, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActDeviceCreate, 0)
	ev.CountyCode = inst.CountyCode
	ev.Detail = fmt.Sprintf("device %q kind=%s institution=%d", name, kind, inst.ID)
	if err := s.Repo.CreateHutDevice(ctx, d, ev); err != nil {
		return nil, "", err
	}
	return d, token, nil
}

// RevokeDevice ends device id's credential at once (a lost or retired
// device). Administrators of its county only (EFORBIDDEN). Errors:
// ENOTFOUND, ECONFLICT (already revoked).
func (s *Service) RevokeDevice(ctx context.Context, a care.Actor, id int64) (*Device, error) {
	if a.Role != care.RoleAdmin {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	d, err := s.Repo.HutDevice(ctx, id)
	if err != nil || (a.CountyCode != "" && d.CountyCode != a.CountyCode) {
		return nil, care.Errorf(care.ENOTFOUND, "huts.device_not_found")
	}
	if !d.Active() {
		return nil, care.Errorf(care.ECONFLICT, "huts.device_revoked")
	}
	d.RevokedBy, d.RevokedAt = a.AccountID, s.Now().UTC()
	ev := audit.New(ctx, a, ActDeviceRevoke, 0)
	ev.CountyCode = d.CountyCode
	ev.Detail = fmt.Sprintf("device %d %q revoked", d.ID, d.Name)
	return d, s.Repo.RevokeHutDevice(ctx, d, ev)
}

// Devices lists the devices of the administrator's county (EFORBIDDEN
// for any other role).
func (s *Service) Devices(ctx context.Context, a care.Actor) ([]Device, error) {
	if a.Role != care.RoleAdmin {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.HutDevices(ctx, a.CountyCode)
}

// Authenticate checks a device's bearer token and returns the actor it
// works as: its institution, with the scope of the institution's kind (a
// village clinic's residents, a township's villages, care links at the
// county). Unknown and revoked tokens are EUNAUTHORIZED alike, and audited.
func (s *Service) Authenticate(ctx context.Context, token string) (care.Actor, *Device, error) {
	d, err := s.Repo.HutDeviceByToken(ctx, hashToken(token))
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return care.Actor{}, nil, err
	}
	if d == nil || !d.Active() || subtle.ConstantTimeCompare([]byte(d.TokenHash), []byte(hashToken(token))) != 1 {
		ev := audit.New(ctx, care.Actor{Username: "device:unknown"}, ActDeviceDenied, 0)
		if d != nil {
			ev = audit.New(ctx, deviceActor(d, nil), ActDeviceDenied, 0)
			ev.Detail = "revoked"
		}
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return care.Actor{}, nil, care.Errorf(care.EUNAUTHORIZED, "huts.auth_failed")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return care.Actor{}, nil, err
	}
	return deviceActor(d, t), d, nil
}

// deviceActor is the actor a device works as: no account (AccountID 0),
// named "device:ID NAME" in the audit trail, with its institution's scope.
func deviceActor(d *Device, t *org.Tree) care.Actor {
	a := care.Actor{Username: fmt.Sprintf("device:%d %s", d.ID, d.Name), InstitutionID: d.InstitutionID, CountyCode: d.CountyCode,
		Role: care.RoleReader}
	if t != nil {
		if in := t.Get(d.InstitutionID); in != nil {
			a.Role = access.MachineRole(in.Kind)
		}
	}
	return a
}

// Input is a reading as a device sends it.
type Input struct {
	DeviceRef  string
	MeasuredAt time.Time
	IDNumber   string // the resident's ID card number, or
	QR         string // the token of the resident's QR code on /me
	SBP, DBP   int
	Pulse      int
	Glucose    int    // 0.1 mmol/L
	GlucoseFor string // "fasting" or "random"
	WeightDg   int
	HeightCm   int
}

// Result is the answer to a reading: the stored reading, and whether this
// request wrote it (false: the device sent it before).
type Result struct {
	Reading *Reading
	Created bool
}

// Submit takes one reading from device d (working as actor a, from
// Authenticate). A reading the device sent before under the same
// DeviceRef is answered as stored, and not written again. Errors:
// EINVALID with fields (impossible values, values the device's kind does
// not measure, a clock ahead beyond Config.MaxAhead or a reading older
// than Config.MaxAge, no or two resident identifiers, an expired QR),
// ENOTFOUND huts.resident_outside (no such resident in the care of the
// device's institution; audited as denied).
func (s *Service) Submit(ctx context.Context, a care.Actor, d *Device, in Input) (*Result, error) {
	in.DeviceRef = strings.TrimSpace(in.DeviceRef)
	if in.DeviceRef == "" || len(in.DeviceRef) > MaxDeviceRef {
		return nil, care.Invalid([]care.FieldError{{Field: "reading_id", Key: "huts.ref_invalid", Args: []any{MaxDeviceRef}}})
	}
	if old, err := s.Repo.DeviceReading(ctx, d.ID, in.DeviceRef); err == nil {
		return &Result{Reading: old}, nil
	} else if !care.IsCode(err, care.ENOTFOUND) {
		return nil, err
	}
	now := s.Now().UTC()
	r := &Reading{CountyCode: d.CountyCode, DeviceID: d.ID, DeviceRef: in.DeviceRef, InstitutionID: d.InstitutionID, Kind: d.Kind,
		MeasuredAt: in.MeasuredAt.UTC(), ReceivedAt: now, SBP: in.SBP, DBP: in.DBP, Pulse: in.Pulse, Glucose: in.Glucose,
		Fasting: in.GlucoseFor == "fasting", WeightDg: in.WeightDg, HeightCm: in.HeightCm, DeviceName: d.Name}
	fs := s.Check(r, in, now)
	if err := care.Invalid(fs); err != nil {
		ev := audit.New(ctx, a, ActReading, 0)
		ev.Outcome, ev.Detail = audit.OutcomeInvalid, "refused: "+fieldList(fs)
		s.Audit.Record(ctx, ev)
		return nil, err
	}
	res, err := s.resolve(ctx, a, in, now)
	if err != nil {
		return nil, err
	}
	r.ResidentID = res.ID
	regs, err := s.Repo.Registrations(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	r.Urgent = Urgent(r, regs, s.Chronic)
	var al *critical.Alert
	var msgs []notify.Message
	var live []int64
	if len(r.Urgent) > 0 && res.VillageID != 0 {
		al = &critical.Alert{CountyCode: res.CountyCode, SourceKind: SourceReading, SourceID: 1, ResidentID: res.ID, ClinicID: res.VillageID,
			Finding: "自助设备读数达紧急转诊标准", Value: r.ValueText(), RaisedAt: now}
		if msgs, live, err = s.Alerts.Prepare(ctx, al); err != nil {
			return nil, err
		}
	}
	ev := audit.New(ctx, a, ActReading, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("device %d reading %q %s", d.ID, truncate(in.DeviceRef, 64), d.Kind)
	if len(r.Urgent) > 0 {
		ev.Detail += " urgent: " + strings.Join(r.Urgent, ",")
	}
	created, err := s.Repo.SaveDeviceReading(ctx, r, al, msgs, ev)
	if err != nil {
		return nil, err
	}
	if created && al != nil {
		r.AlertID = al.ID
		s.Alerts.Announce(al, live)
	}
	return &Result{Reading: r, Created: created}, nil
}

func fieldList(fs []care.FieldError) string {
	var b []string
	for _, f := range fs {
		b = append(b, f.Field+":"+f.Key)
	}
	return truncate(strings.Join(b, ","), 180)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Check returns the faults of reading r (built from in) at now: what the
// device's kind measures is required and nothing else, values within the
// chronic follow-up's plausible ranges (chronic.CheckVisit), a plausible
// BMI, the device's clock within Config, one resident identifier.
func (s *Service) Check(r *Reading, in Input, now time.Time) []care.FieldError {
	var fs []care.FieldError
	bad := func(f, k string, a ...any) { fs = append(fs, care.FieldError{Field: f, Key: k, Args: a}) }
	switch {
	case r.MeasuredAt.IsZero() || r.MeasuredAt.Year() < 2000:
		bad("measured_at", "field.required")
	case r.MeasuredAt.After(now.Add(s.Config.MaxAhead)):
		bad("measured_at", "huts.clock_ahead", int(s.Config.MaxAhead/time.Minute))
	case r.MeasuredAt.Before(now.Add(-s.Config.MaxAge)):
		bad("measured_at", "huts.too_old", int(s.Config.MaxAge/(24*time.Hour)))
	}
	if (in.IDNumber == "") == (in.QR == "") {
		bad("resident", "huts.resident_one")
	}
	need := map[string]bool{}
	switch r.Kind {
	case KindBP:
		need["sbp"], need["dbp"] = true, true
	case KindGlucose:
		need["glucose"] = true
		if in.GlucoseFor != "fasting" && in.GlucoseFor != "random" {
			bad("glucose_for", "huts.glucose_for")
		}
	case KindScale:
		need["weight"] = true
	}
	given := map[string]int{"sbp": r.SBP, "dbp": r.DBP, "pulse": r.Pulse, "glucose": r.Glucose, "weight": r.WeightDg, "height": r.HeightCm}
	measures := map[Kind][]string{KindBP: {"sbp", "dbp", "pulse"}, KindGlucose: {"glucose"}, KindScale: {"weight", "height"}}
	for _, f := range []string{"sbp", "dbp", "pulse", "glucose", "weight", "height"} {
		switch {
		case need[f] && given[f] == 0:
			bad(f, "field.required")
		case given[f] != 0 && !slices.Contains(measures[r.Kind], f):
			bad(f, "huts.not_measured", string(r.Kind))
		}
	}
	if r.Kind != KindGlucose && in.GlucoseFor != "" {
		bad("glucose_for", "huts.not_measured", string(r.Kind))
	}
	// The follow-up's plausible ranges (the rule is chronic's, not copied).
	v := r.Visit(chronic.Hypertension)
	v.FPG, v.Date = r.Glucose, care.Today(now)
	errs, _ := chronic.CheckVisit(&v, care.Date{}, care.Today(now))
	rename := map[string]string{"heart_rate": "pulse", "fpg": "glucose"}
	for _, e := range errs {
		if n, ok := rename[e.Field]; ok {
			e.Field = n
		}
		if e.Field != "date" {
			fs = append(fs, e)
		}
	}
	if len(errs) == 0 && r.WeightDg > 0 && r.HeightCm > 0 {
		m := float64(r.HeightCm) / 100
		if bmi := float64(r.WeightDg) / 10 / (m * m); bmi < MinBMI || bmi > MaxBMI {
			bad("weight", "huts.bmi_impossible", MinBMI, MaxBMI)
		}
	}
	return fs
}

// Urgent lists the chronic urgent-transfer reasons a reading meets, by
// the follow-up's own rules: the blood-pressure criterion of
// chronic.UrgentHypertension (SBP ≥ 180 and/or DBP ≥ 110) and the glucose
// criterion of chronic.UrgentDiabetes (≥ 16.7 or ≤ 3.9 mmol/L) for every
// resident; the diabetes spec's heart rate > 100 only for a resident in
// the diabetes registry (for whom the spec makes it a criterion).
func Urgent(r *Reading, regs []chronic.Registration, c chronic.Config) []string {
	diabetic := false
	for _, g := range regs {
		diabetic = diabetic || (g.Disease == chronic.Diabetes && g.Status == chronic.StatusActive)
	}
	v := r.Visit(chronic.Diabetes)
	v.FPG = r.Glucose // the spec's criterion is any glucose (血糖), fasting or not
	if !diabetic {
		v.HeartRate = 0
	}
	var out []string
	for _, k := range append(chronic.UrgentHypertension(&v, c), chronic.UrgentDiabetes(&v, c)...) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// ValueText is the reading's values with their units, for an alert's text.
func (r *Reading) ValueText() string {
	var p []string
	if r.SBP > 0 {
		p = append(p, fmt.Sprintf("%d/%d mmHg", r.SBP, r.DBP))
	}
	if r.Pulse > 0 {
		p = append(p, fmt.Sprintf("%d 次/分", r.Pulse))
	}
	if r.Glucose > 0 {
		p = append(p, fmt.Sprintf("%d.%d mmol/L", r.Glucose/10, r.Glucose%10))
	}
	if r.WeightDg > 0 {
		p = append(p, fmt.Sprintf("%d.%d kg", r.WeightDg/10, r.WeightDg%10))
	}
	return strings.Join(p, " ")
}

// resolve finds the reading's resident in the device's care, or refuses
// (audited as denied) with huts.resident_outside.
func (s *Service) resolve(ctx context.Context, a care.Actor, in Input, now time.Time) (*resident.Resident, error) {
	outside := func(detail string) error {
		ev := audit.New(ctx, a, ActReading, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, detail
		s.Audit.Record(ctx, ev)
		return care.Errorf(care.ENOTFOUND, "huts.resident_outside")
	}
	if in.QR != "" {
		id, err := s.ParseQR(in.QR, now)
		if err != nil {
			return nil, err
		}
		r, err := s.Residents.Get(ctx, a, id)
		if care.IsCode(err, care.ENOTFOUND) {
			return nil, outside(fmt.Sprintf("resident %d (QR) not in the care of institution %d", id, a.InstitutionID))
		}
		return r, err
	}
	n := strings.ToUpper(strings.TrimSpace(in.IDNumber))
	if !resident.CheckIDNumber(n) {
		return nil, care.Invalid([]care.FieldError{{Field: "id_number", Key: "huts.id_number_invalid"}})
	}
	found, _, err := s.Residents.Search(ctx, a, n, resident.Filter{Limit: 5})
	if err != nil && !care.IsCode(err, care.EINVALID) {
		return nil, err
	}
	for i := range found {
		if strings.EqualFold(string(found[i].IDNumber), n) && found[i].Status == resident.StatusActive {
			return &found[i], nil
		}
	}
	return nil, outside(fmt.Sprintf("ID number not in the care of institution %d", a.InstitutionID))
}

// qrVersion starts every QR token, so a later format can be told apart.
const qrVersion = "R1"

// QR returns the token of resident id's QR code on /me: the resident's id
// and an expiry, signed with the service's key; valid Config.QRLifetime.
func (s *Service) QR(residentID int64, now time.Time) string {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(residentID))
	binary.BigEndian.PutUint64(b[8:], uint64(now.Add(s.Config.QRLifetime).Unix()))
	return qrVersion + base64.RawURLEncoding.EncodeToString(append(b, s.qrMAC(b)...))
}

func (s *Service) qrMAC(b []byte) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("countycare resident qr v1\x00"))
	m.Write(b)
	return m.Sum(nil)[:16]
}

// ParseQR returns the resident of a QR token. Errors: EINVALID with field
// qr: huts.qr_invalid (not a token of this server), huts.qr_expired.
func (s *Service) ParseQR(tok string, now time.Time) (int64, error) {
	bad := func(k string) error { return care.Invalid([]care.FieldError{{Field: "qr", Key: k}}) }
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, qrVersion))
	if !strings.HasPrefix(tok, qrVersion) || err != nil || len(raw) != 32 || len(s.Key) == 0 || !hmac.Equal(raw[16:], s.qrMAC(raw[:16])) {
		return 0, bad("huts.qr_invalid")
	}
	if now.Unix() > int64(binary.BigEndian.Uint64(raw[8:16])) {
		return 0, bad("huts.qr_expired")
	}
	return int64(binary.BigEndian.Uint64(raw[:8])), nil
}

// ForResident returns resident id and their readings (newest first, at most 100)
// for a clinician or the resident in scope; the read is audited.
// Errors: ENOTFOUND (missing or out of scope).
func (s *Service) ForResident(ctx context.Context, a care.Actor, id int64) (*resident.Resident, []Reading, error) {
	res, err := s.Residents.Get(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	rs, err := s.Repo.ResidentDeviceReadings(ctx, res.CountyCode, res.ID, 100)
	if err != nil {
		return nil, nil, err
	}
	ev := audit.New(ctx, a, ActReadings, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%d device readings", len(rs))
	s.Audit.Record(ctx, ev)
	return res, rs, nil
}

// Prefill returns the newest readings of the last days (a BP, a fasting
// glucose, a weight, each the newest) as the measurements of a chronic
// follow-up form, and which readings they came from.
func Prefill(rs []Reading, now time.Time, within time.Duration) (chronic.Visit, []Reading) {
	var v chronic.Visit
	var from []Reading
	for _, r := range rs { // newest first
		if now.Sub(r.MeasuredAt) > within {
			continue
		}
		used := false
		if r.SBP > 0 && v.SBP == 0 {
			v.SBP, v.DBP, v.HeartRate, used = r.SBP, r.DBP, r.Pulse, true
		}
		if r.Glucose > 0 && r.Fasting && v.FPG == 0 {
			v.FPG, used = r.Glucose, true
		}
		if r.WeightDg > 0 && v.WeightDg == 0 {
			v.WeightDg, v.HeightCm, used = r.WeightDg, r.HeightCm, true
		}
		if used {
			from = append(from, r)
		}
	}
	return v, from
}
