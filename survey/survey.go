package survey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"

	"countycare/care"
)

// Kinds of event a survey follows.
const (
	AfterConsultation = "consultation" // a remote consultation closed (the inviting clinic)
	AfterReferral     = "referral"     // a referral completed (the sending institution)
	AfterSettlement   = "settlement"   // a bill settled (the institution that billed)
	AfterFamilyVisit  = "family_visit" // a family-doctor service delivered (the doctor)
)

// Kinds are the events in page order.
var Kinds = []string{AfterConsultation, AfterReferral, AfterSettlement, AfterFamilyVisit}

// Channels an invitation reaches the resident by.
const (
	ChannelSMS = "sms" // a text message with the link
	ChannelMe  = "me"  // the resident's own page (no phone on record)
)

// Event is something a resident may be asked about: what, when, who
// served them, and the resident's phone for the link.
type Event struct {
	Kind           string
	EventID        int64
	County         string
	ResidentID     int64
	InstitutionID  int64
	PractitionerID int64 // 0: the institution, no one doctor
	At             time.Time
	Phone          string
}

// Invitation is one survey offered to one resident about one event.
type Invitation struct {
	ID             int64
	County         string
	ResidentID     int64
	Kind           string
	EventID        int64
	InstitutionID  int64
	PractitionerID int64
	Channel        string
	TokenHash      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	Answered       bool // single use; no time is kept, so an answer cannot be matched to it
}

// Open reports whether inv can still be answered at now.
func (inv *Invitation) Open(now time.Time) bool {
	return !inv.Answered && now.Before(inv.ExpiresAt)
}

// Answer is one survey's answers as stored: the institution and doctor
// and the event's kind and month — never the resident, the invitation or
// the day — so that nobody, staff or administrator, can tell who answered
// what.
type Answer struct {
	County         string
	InstitutionID  int64
	PractitionerID int64
	Kind           string
	Month          string // YYYY-MM, Asia/Shanghai
	Values         map[string]int
	Satisfied      bool // the satisfaction question at 4 or 5 (满意、非常满意)
	Aware          int  // the policy_aware question: 1 yes, 0 no, -1 not asked
}

// NewToken returns a link token and its hash for storage: 18 random bytes
// and the first 12 bytes of their HMAC-SHA256 under key, base64url —
// unguessable, and a forged or mistyped one is refused before any
// database read (CheckToken).
func NewToken(key []byte) (token, hash string) {
	b := make([]byte, 18, 30)
	if _, err := rand.Read(b); err != nil {
		panic("survey: no randomness: " + err.Error())
	}
	b = append(b, mac(key, b)...)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// KeyFrom derives the link-signing key from the server's secret (the
// audit key): a key of its own, so a link's MAC is never a valid audit
// hash or device cookie MAC.
func KeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("countycare survey link key v1"))
	return m.Sum(nil)
}

func mac(key, b []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(nil)[:12]
}

// CheckToken reports whether token carries a valid signature under key.
func CheckToken(key []byte, token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 30 {
		return false
	}
	return hmac.Equal(b[18:], mac(key, b[:18]))
}

// HashToken is the hex SHA-256 of a token: what the database keeps.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// Satisfied is the rule for "satisfied" (满意度): a 4 or 5 on the five-
// point satisfaction question (满意、非常满意) — the share reported as
// 群众满意度 in the articles (seed 002: 贫困户满意度达98%以上); [U] the
// cut is the platform's.
func Satisfied(score int) bool { return score >= 4 }

// ParseAnswers checks a form's answers against the configured questions:
// every question answered, a five-point question 1–5, a yes/no question
// 0 or 1. Errors: EINVALID naming each question (survey.answer_missing,
// survey.answer_range); nothing is stored half-answered.
func ParseAnswers(c Config, form map[string]string) (map[string]int, error) {
	out := map[string]int{}
	var fs []care.FieldError
	for _, q := range c.Questions {
		v, ok := form[q.ID]
		if !ok || v == "" {
			fs = append(fs, care.FieldError{Field: q.ID, Key: "survey.answer_missing"})
			continue
		}
		n, err := strconv.Atoi(v)
		hi, lo := 5, 1
		if q.Kind == YesNo {
			hi, lo = 1, 0
		}
		if err != nil || n < lo || n > hi {
			fs = append(fs, care.FieldError{Field: q.ID, Key: "survey.answer_range"})
			continue
		}
		out[q.ID] = n
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	return out, nil
}

// NewAnswer is the stored form of an invitation's answers at now: the
// institution, doctor, kind and month, never the resident.
func NewAnswer(inv *Invitation, values map[string]int, now time.Time) Answer {
	a := Answer{County: inv.County, InstitutionID: inv.InstitutionID, PractitionerID: inv.PractitionerID, Kind: inv.Kind,
		Month: now.In(care.Shanghai).Format("2006-01"), Values: values, Satisfied: Satisfied(values[QSatisfaction]), Aware: -1}
	if v, ok := values[QPolicyAware]; ok {
		a.Aware = v
	}
	return a
}

// Tally counts the answers of one institution or doctor.
type Tally struct {
	InstitutionID  int64
	PractitionerID int64 // 0 for an institution's tally
	Answers        int
	Satisfied      int
	AwareAsked     int // answers with the policy_aware question
	Aware          int
}

// Add sums two tallies.
func (t Tally) Add(u Tally) Tally {
	t.Answers += u.Answers
	t.Satisfied += u.Satisfied
	t.AwareAsked += u.AwareAsked
	t.Aware += u.Aware
	return t
}

// Shown reports whether staff may see t: at least min answers, so that no
// answer can be told apart (anonymous to the staff concerned).
func (t Tally) Shown(min int) bool { return t.Answers >= min }
