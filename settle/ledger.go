package settle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// ClaimHash identifies a claim's content: a retried settlement with the
// same idempotency key must carry the same claim.
func ClaimHash(c *Claim) string {
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Ledger is the in-memory reference model of settlement bookkeeping:
// idempotent settlement by key, reversal, and re-settlement of a corrected
// bill. A patient's year is always what settling their live bills in date
// order gives (visit date, then the order they were settled in): a bill
// dated before bills already settled, a reversal and a correction settle
// the bills after them again (issue 18). The store package keeps the same
// books in the database; tests check both agree.
type Ledger struct {
	Policy  *Policy
	acc     map[string]Accumulators // patient → year-to-date
	entries map[string]*Entry       // idempotency key → settlement
	seq     int
}

// Entry is one settlement in a Ledger.
type Entry struct {
	Key      string
	Patient  string
	Hash     string
	Claim    *Claim
	Result   *Result // as last settled (a later re-settlement replaces it)
	Reversed bool
	seq      int
}

// Errors of the ledger.
var (
	ErrKeyReused  = fmt.Errorf("settle: idempotency key reused with a different claim")
	ErrNotSettled = fmt.Errorf("settle: no such settlement")
	ErrReversed   = fmt.Errorf("settle: settlement already reversed")
)

// NewLedger returns an empty ledger for policy p.
func NewLedger(p *Policy) *Ledger {
	return &Ledger{Policy: p, acc: map[string]Accumulators{}, entries: map[string]*Entry{}}
}

// Accumulators returns the patient's year-to-date totals.
func (l *Ledger) Accumulators(patient string) Accumulators { return l.acc[patient] }

// Entry returns settlement key (nil if none).
func (l *Ledger) Entry(key string) *Entry { return l.entries[key] }

// Settle settles c for patient under key. The same key with the same
// claim returns the first result and pays nothing more; with another
// claim it is ErrKeyReused.
func (l *Ledger) Settle(key, patient string, c *Claim) (*Result, bool, error) {
	h := ClaimHash(c)
	if e, ok := l.entries[key]; ok {
		if e.Hash != h || e.Patient != patient {
			return nil, false, ErrKeyReused
		}
		return e.Result, true, nil
	}
	if err := l.Policy.Check(c); err != nil {
		return nil, false, err
	}
	l.seq++
	e := &Entry{Key: key, Patient: patient, Hash: h, Claim: c, seq: l.seq}
	l.entries[key] = e
	if err := l.refold(patient); err != nil {
		delete(l.entries, key)
		return nil, false, err
	}
	return e.Result, false, nil
}

// Correct reverses settlement old and settles c under key in its place.
func (l *Ledger) Correct(old, key string, c *Claim) (*Result, error) {
	e, ok := l.entries[old]
	if !ok {
		return nil, ErrNotSettled
	}
	if e.Reversed {
		return nil, ErrReversed
	}
	if _, ok := l.entries[key]; ok {
		return nil, ErrKeyReused
	}
	e.Reversed = true
	r, _, err := l.Settle(key, e.Patient, c)
	if err != nil {
		e.Reversed = false
		return nil, err
	}
	return r, nil
}

// Reverse undoes settlement key: the patient's later bills are settled
// again without it.
func (l *Ledger) Reverse(key string) error {
	e, ok := l.entries[key]
	if !ok {
		return ErrNotSettled
	}
	if e.Reversed {
		return ErrReversed
	}
	e.Reversed = true
	return l.refold(e.Patient)
}

// Live returns the patient's live settlements in date order.
func (l *Ledger) Live(patient string) []*Entry {
	var out []*Entry
	for _, e := range l.entries {
		if e.Patient == patient && !e.Reversed {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Claim.Date != out[j].Claim.Date {
			return out[i].Claim.Date < out[j].Claim.Date
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// refold settles the patient's live bills again in date order from zero.
func (l *Ledger) refold(patient string) error {
	var acc Accumulators
	for _, e := range l.Live(patient) {
		r, err := Settle(l.Policy, e.Claim, &acc)
		if err != nil {
			return err
		}
		e.Result = r
		acc = acc.Add(r.Delta, 1)
	}
	l.acc[patient] = acc
	return nil
}
