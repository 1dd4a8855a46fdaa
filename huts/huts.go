// Package huts is the self-service health huts (自助健康小屋) and the
// measuring devices of clinics: blood-pressure monitors, glucose meters and
// scales that send their readings through the API under a device
// credential bound to one institution (issue 17).
//
// A reading names its resident by ID card number or by the signed,
// expiring token of the resident's QR code on /me; it carries the
// device's own clock and the device's own reading ID, so a retry of the
// same reading is answered as the first time and written once. Readings
// are checked against the chronic follow-up's plausible ranges
// (chronic.CheckVisit), refused when the device's clock is too far ahead
// or the reading too old (Config), and refused and audited for a resident
// outside the device's institution. A reading that meets a chronic
// urgent-transfer criterion (chronic.UrgentHypertension,
// chronic.UrgentDiabetes) carries the same urgent reasons as a follow-up
// and raises a critical alert (package critical) to the resident's clinic
// in the transaction that stores it.
package huts

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"countycare/care"
	"countycare/chronic"
)

// Kind is what a device measures.
type Kind string

// Device kinds.
const (
	KindBP      Kind = "bp"      // blood-pressure monitor: systolic, diastolic, pulse
	KindGlucose Kind = "glucose" // glucose meter: fasting or random capillary glucose
	KindScale   Kind = "scale"   // weighing scale with a height rod: weight and height
)

// Kinds lists the device kinds in display order.
var Kinds = []Kind{KindBP, KindGlucose, KindScale}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindBP || k == KindGlucose || k == KindScale }

// Audit actions.
const (
	ActDeviceCreate = "huts.device_create"
	ActDeviceRevoke = "huts.device_revoke"
	ActDeviceDenied = "huts.device_denied" // a wrong or revoked credential
	ActReading      = "huts.reading"       // a reading written (or refused for its resident)
	ActReadings     = "huts.readings_read" // a resident's readings read
)

// SourceReading is the critical alert source kind of an urgent reading
// (critical.Alert.SourceKind), keyed by the reading's id.
const SourceReading = "device_reading"

// Device is a measuring device's credential.
type Device struct {
	ID              int64
	CountyCode      string
	InstitutionID   int64
	InstitutionName string // filled by listings
	Kind            Kind
	Name            string
	TokenHash       string
	CreatedBy       int64
	CreatedAt       time.Time
	RevokedBy       int64
	RevokedAt       time.Time // zero while in use
}

// Active reports whether the credential is in use.
func (d *Device) Active() bool { return d.RevokedAt.IsZero() }

// Reading is one measurement a device sent. Values follow the chronic
// follow-up's units: mmHg, glucose in 0.1 mmol/L, weight in 0.1 kg,
// height in cm; 0 is "not measured".
type Reading struct {
	ID            int64
	CountyCode    string
	DeviceID      int64
	DeviceRef     string // the device's own reading ID
	ResidentID    int64
	InstitutionID int64 // the device's institution
	Kind          Kind
	MeasuredAt    time.Time // the device's clock
	ReceivedAt    time.Time
	SBP, DBP      int
	Pulse         int
	Glucose       int
	Fasting       bool // a fasting glucose (else random)
	WeightDg      int
	HeightCm      int
	Urgent        []string // chronic urgent-transfer reasons (chronic.urgent.*)
	AlertID       int64    // the critical alert it raised (0: none)

	DeviceName string // filled by listings
}

// Visit is the reading as a chronic follow-up's measurements, for the
// chronic rules and the follow-up form's prefill.
func (r *Reading) Visit(d chronic.Disease) chronic.Visit {
	v := chronic.Visit{Disease: d, Date: care.Today(r.MeasuredAt), SBP: r.SBP, DBP: r.DBP, HeartRate: r.Pulse, WeightDg: r.WeightDg, HeightCm: r.HeightCm}
	if r.Fasting {
		v.FPG = r.Glucose
	}
	return v
}

// Config is the huts' rules that are configuration, not constants.
type Config struct {
	// MaxAhead is how far a reading's time may be ahead of the server's
	// clock (a device clock running fast) before it is refused.
	MaxAhead time.Duration
	// MaxAge is how old a reading may be when it arrives (a device that
	// kept readings while offline) before it is refused.
	MaxAge time.Duration
	// QRLifetime is how long the resident's QR token on /me is valid.
	QRLifetime time.Duration
}

// DefaultConfig is 5 minutes ahead, 7 days old, a QR token valid 10
// minutes (the county's choice; docs/huts.md).
func DefaultConfig() Config {
	return Config{MaxAhead: 5 * time.Minute, MaxAge: 7 * 24 * time.Hour, QRLifetime: 10 * time.Minute}
}

// KeyFrom derives the key that signs residents' QR tokens from the
// server's secret (the audit key): a separate key, so a QR token's MAC is
// never a valid audit hash or the other way round.
func KeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("countycare resident qr key v1"))
	return m.Sum(nil)
}
