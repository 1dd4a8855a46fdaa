package settle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ClaimHash identifies a claim's content: a retried settlement with the
// same idempotency key must carry the same claim.
func ClaimHash(c *Claim) string {
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Ledger is the in-memory reference model of settlement bookkeeping:
// idempotent settlement by key, reversal that restores the accumulators
// exactly, and re-settlement of a corrected bill. The store package keeps
// the same books in the database; tests check both agree.
type Ledger struct {
	Policy  *Policy
	acc     map[string]Accumulators // patient → year-to-date
	entries map[string]*Entry       // idempotency key → settlement
}

// Entry is one settlement in a Ledger.
type Entry struct {
	Key      string
	Patient  string
	Hash     string
	Result   *Result
	Reversed bool
}

// Errors of the ledger.
var (
	ErrKeyReused  = fmt.Errorf("settle: idempotency key reused with a different claim")
	ErrNotSettled = fmt.Errorf("settle: no such settlement")
	ErrReversed   = fmt.Errorf("settle: settlement already reversed")
	ErrWouldGoNeg = fmt.Errorf("settle: reversal would make accumulators negative")
)

// NewLedger returns an empty ledger for policy p.
func NewLedger(p *Policy) *Ledger {
	return &Ledger{Policy: p, acc: map[string]Accumulators{}, entries: map[string]*Entry{}}
}

// Accumulators returns the patient's year-to-date totals.
func (l *Ledger) Accumulators(patient string) Accumulators { return l.acc[patient] }

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
	acc := l.acc[patient]
	r, err := Settle(l.Policy, c, &acc)
	if err != nil {
		return nil, false, err
	}
	l.acc[patient] = acc.Add(r.Delta, 1)
	l.entries[key] = &Entry{Key: key, Patient: patient, Hash: h, Result: r}
	return r, false, nil
}

// Reverse undoes settlement key: the patient's accumulators lose exactly
// what it added.
func (l *Ledger) Reverse(key string) error {
	e, ok := l.entries[key]
	if !ok {
		return ErrNotSettled
	}
	if e.Reversed {
		return ErrReversed
	}
	next := l.acc[e.Patient].Add(e.Result.Delta, -1)
	if next.Negative() {
		return ErrWouldGoNeg
	}
	l.acc[e.Patient] = next
	e.Reversed = true
	return nil
}
