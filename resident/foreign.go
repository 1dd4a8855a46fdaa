package resident

import (
	"context"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"countycare/care"
)

// ForeignID is another system's identifier of a resident (a FHIR
// Identifier: system and value), kept for a resident registered from that
// system without a GB 11643 identity number — a foreign patient of an
// imported bundle — so that the system can find them again.
type ForeignID struct {
	System string // an absolute URI naming the issuing system
	Value  string
}

// Limits of a foreign identifier.
const (
	MaxForeignIDs      = 5
	MaxForeignIDSystem = 200
	MaxForeignIDValue  = 64
)

// checkForeignIDs validates ids (field "identifier"): at most
// MaxForeignIDs, each with an absolute URI as system and a value of
// printable characters, no two alike.
func checkForeignIDs(ids []ForeignID, fs []care.FieldError) ([]ForeignID, []care.FieldError) {
	if len(ids) > MaxForeignIDs {
		return nil, append(fs, care.FieldError{Field: "identifier", Key: "resident.foreign_id_count", Args: []any{MaxForeignIDs}})
	}
	var out []ForeignID
	seen := map[ForeignID]bool{}
	for _, id := range ids {
		id.System, id.Value = strings.TrimSpace(id.System), strings.TrimSpace(id.Value)
		u, err := url.Parse(id.System)
		switch {
		case id.System == "" || len(id.System) > MaxForeignIDSystem || err != nil || !u.IsAbs():
			fs = append(fs, care.FieldError{Field: "identifier", Key: "resident.foreign_id_system", Args: []any{MaxForeignIDSystem}})
		case id.Value == "" || utf8.RuneCountInString(id.Value) > MaxForeignIDValue || !utf8.ValidString(id.Value) ||
			strings.IndexFunc(id.Value, unicode.IsControl) >= 0:
			fs = append(fs, care.FieldError{Field: "identifier", Key: "resident.foreign_id_value", Args: []any{MaxForeignIDValue}})
		case !seen[id]:
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, fs
}

// ForeignIDRepository is the storage of foreign identifiers;
// store.Store implements it.
type ForeignIDRepository interface {
	// ForeignIDs returns the foreign identifiers of residents, by id.
	ForeignIDs(ctx context.Context, residentIDs []int64) (map[int64][]ForeignID, error)
	// ResidentByForeignID returns the resident holding an identifier in
	// the county; ENOTFOUND if none.
	ResidentByForeignID(ctx context.Context, county string, id ForeignID) (int64, error)
}

// ForeignIDs returns the foreign identifiers of residents the caller has
// already read through Get or Search in this request (which checked the
// scope and wrote the audit row). Errors: EINTERNAL.
func (s *Service) ForeignIDs(ctx context.Context, rs []*Resident) error {
	fr, ok := s.Repo.(ForeignIDRepository)
	if !ok || len(rs) == 0 {
		return nil
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	m, err := fr.ForeignIDs(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range rs {
		r.ForeignIDs = m[r.ID]
	}
	return nil
}

// ByForeignID returns the resident holding a foreign identifier in the
// actor's county, read through Get (scoped and audited). Errors:
// ENOTFOUND (none, or out of scope), EINTERNAL.
func (s *Service) ByForeignID(ctx context.Context, a care.Actor, id ForeignID) (*Resident, error) {
	fr, ok := s.Repo.(ForeignIDRepository)
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	rid, err := fr.ResidentByForeignID(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, a, rid)
}
