// Package audit is the audit trail (审计日志): one row for every read,
// search, export and write of a resident's data, every sign-in event and
// every denied attempt. Rows are append-only and chained: each row's hash
// is an HMAC-SHA256, under a key kept outside the database, of the
// previous row's hash and the row's fields, so Verify detects an edited,
// inserted or deleted row even by someone who can write to the database.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"countycare/care"
)

// Event is one audit row.
type Event struct {
	Seq           int64 // position in the chain, from 1
	Time          time.Time
	AccountID     int64
	Username      string
	Role          care.Role
	InstitutionID int64
	Action        string
	ResidentID    int64 // 0 when no resident is concerned
	CountyCode    string
	Purpose       string
	Outcome       string
	RequestID     string
	Detail        string // short, no secrets: a search string, the fields changed
	PrevHash      string // hex
	Hash          string // hex
}

// Outcomes of an audited action.
const (
	OutcomeOK       = "ok"
	OutcomeDenied   = "denied"    // refused by policy or scope
	OutcomeNotFound = "not_found" // no such record
	OutcomeInvalid  = "invalid"   // refused by validation
	OutcomeFailed   = "failed"    // wrong credentials, internal error
)

// Actions. Capability packages add their own as "<noun>.<verb>".
const (
	ActResidentRead     = "resident.read"
	ActResidentSearch   = "resident.search"
	ActResidentCreate   = "resident.create"
	ActResidentUpdate   = "resident.update"
	ActResidentMerge    = "resident.merge"
	ActResidentExport   = "resident.export"
	ActResidentRevealID = "resident.reveal_id"
	ActDuplicatesList   = "resident.duplicates"
	ActHouseholdRead    = "household.read"
	ActEmergencyAccess  = "access.emergency" // break-the-glass started
	ActAccessDenied     = "access.denied"    // a route refused by policy
	ActLogin            = "auth.login"
	ActLoginFailed      = "auth.login_failed"
	ActLocked           = "auth.locked"
	ActLogout           = "auth.logout"
	ActPasswordChange   = "auth.password_change"
	ActAccountCreate    = "account.create"
	ActAccountUpdate    = "account.update"
	ActOrgChange        = "org.change"
	ActAuditSearch      = "audit.search"
	ActAuditVerify      = "audit.verify"
)

// MaxDetailLen bounds Detail; longer text is cut with an ellipsis.
const MaxDetailLen = 500

// New returns an event for actor doing action on resident (0 for none),
// stamped with the request ID and purpose from ctx. The caller sets
// Outcome and Detail.
func New(ctx context.Context, a care.Actor, action string, residentID int64) Event {
	return Event{
		AccountID:     a.AccountID,
		Username:      a.Username,
		Role:          a.Role,
		InstitutionID: a.InstitutionID,
		CountyCode:    a.CountyCode,
		Action:        action,
		ResidentID:    residentID,
		Purpose:       care.PurposeOf(ctx, a),
		Outcome:       OutcomeOK,
		RequestID:     care.RequestID(ctx),
	}
}

// Recorder records audit events. The web and service layers depend on
// this interface; Writer implements it.
type Recorder interface {
	// Record writes e durably: it returns once e is committed, or — when
	// ctx carries a Barrier (the HTTP wrapper's) — once e is queued, the
	// request's response then waiting for the commit. It never drops an
	// event; a failed commit fails the request (see Writer).
	Record(ctx context.Context, e Event)
}

// canonical encodes the hashed fields unambiguously (each length-prefixed).
func canonical(e *Event) []byte {
	var b []byte
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	put(strconv.FormatInt(e.Seq, 10))
	put(e.Time.UTC().Format(time.RFC3339Nano))
	put(strconv.FormatInt(e.AccountID, 10))
	put(e.Username)
	put(string(e.Role))
	put(strconv.FormatInt(e.InstitutionID, 10))
	put(e.Action)
	put(strconv.FormatInt(e.ResidentID, 10))
	put(e.CountyCode)
	put(e.Purpose)
	put(e.Outcome)
	put(e.RequestID)
	put(e.Detail)
	put(e.PrevHash)
	return b
}

// Normalize prepares e for storage: time truncated to microseconds (what
// both databases keep) in UTC, Detail bounded.
func Normalize(e *Event) {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Username = clean(e.Username, 64)
	e.RequestID = clean(e.RequestID, 64)
	e.Detail = clean(e.Detail, MaxDetailLen)
}

// clean makes outside text safe to store and show: valid UTF-8, no
// control characters (no forged log lines), at most max characters.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// Seal sets e.Seq, e.PrevHash and e.Hash to chain e after the row with
// sequence prevSeq and hash prevHash (0 and "" for the first row).
func Seal(key []byte, prevSeq int64, prevHash string, e *Event) {
	Normalize(e)
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Hash = hashOf(key, e)
}

func hashOf(key []byte, e *Event) string {
	m := hmac.New(sha256.New, key)
	m.Write(canonical(e))
	return hex.EncodeToString(m.Sum(nil))
}

// HeadMAC signs the chain's head (its last sequence number and hash), so
// the head cannot be moved back to an earlier row to hide rows cut off the
// end without the key.
func HeadMAC(key []byte, seq int64, hash string) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "countycare audit head\x00%d\x00%s", seq, hash)
	return hex.EncodeToString(m.Sum(nil))
}

// CheckHeadMAC reports whether mac signs (seq, hash) under key.
func CheckHeadMAC(key []byte, seq int64, hash, mac string) bool {
	return hmac.Equal([]byte(HeadMAC(key, seq, hash)), []byte(mac))
}

// Problem is one fault Verify found.
type Problem struct {
	Seq    int64
	Reason string // "hash mismatch", "broken link", "gap", "head mismatch"
}

func (p Problem) String() string { return fmt.Sprintf("seq %d: %s", p.Seq, p.Reason) }

// Verifier checks a chain row by row, in sequence order. It keeps only the
// previous row, so a chain of any length verifies in constant memory.
type Verifier struct {
	key      []byte
	prevSeq  int64
	prevHash string
	Rows     int64
	Problems []Problem
}

// NewVerifier starts verifying a chain signed with key.
func NewVerifier(key []byte) *Verifier { return &Verifier{key: key} }

// Add checks the next row: its hash must match its fields, its PrevHash
// the previous row's hash, and its Seq must follow without a gap.
func (v *Verifier) Add(e *Event) {
	v.Rows++
	switch {
	case e.Seq != v.prevSeq+1:
		v.Problems = append(v.Problems, Problem{e.Seq, fmt.Sprintf("gap: rows %d–%d missing", v.prevSeq+1, e.Seq-1)})
	case e.PrevHash != v.prevHash:
		v.Problems = append(v.Problems, Problem{e.Seq, "broken link: previous hash does not match"})
	}
	if !hmac.Equal([]byte(hashOf(v.key, e)), []byte(e.Hash)) {
		v.Problems = append(v.Problems, Problem{e.Seq, "hash mismatch: row was altered"})
	}
	v.prevSeq, v.prevHash = e.Seq, e.Hash
}

// Finish compares the end of the chain with the head the database
// recorded (headSeq, headHash), which catches rows deleted from the end.
func (v *Verifier) Finish(headSeq int64, headHash string) {
	if headSeq != v.prevSeq || headHash != v.prevHash {
		v.Problems = append(v.Problems, Problem{headSeq, fmt.Sprintf("head mismatch: chain ends at %d, head says %d", v.prevSeq, headSeq)})
	}
}

// OK reports whether no problem was found.
func (v *Verifier) OK() bool { return len(v.Problems) == 0 }

// Filter selects rows in the auditor's search.
type Filter struct {
	ResidentIDs []int64 // nil: any; empty: none
	AccountID   int64
	Username    string
	Action      string
	Actions     []string // any of these actions (with Action: both)
	// Verbs keeps the actions "<noun>.<verb>" whose verb is one of these;
	// NotVerbs drops those whose verb is one of these.
	Verbs, NotVerbs []string
	CountyCode      string // "": any county
	Outcome         string
	RequestID       string
	From, To        time.Time
	BeforeSeq       int64 // paging: rows older than this
	Limit           int   // default 100, at most 1000
}
