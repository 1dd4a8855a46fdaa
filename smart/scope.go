package smart

import (
	"regexp"
	"slices"
	"strings"
)

// Scopes are granted SMART scopes, each "system/<Type>.read" (SMART 1) or
// "system/<Type>.rs" (SMART 2: r read, s search), <Type> a FHIR resource
// type or "*". Only reading is granted: the platform has no write path
// for system clients.
type Scopes []string

var scopeRe = regexp.MustCompile(`^system/(\*|[A-Z][A-Za-z]{1,63})\.(read|rs|r|s)$`)

// ParseScopes splits a space-separated scope string into distinct scopes,
// in order; ok is false when one of them is not a system read scope.
func ParseScopes(v string) (Scopes, bool) {
	var out Scopes
	for _, f := range strings.Fields(v) {
		if !scopeRe.MatchString(f) {
			return nil, false
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, true
}

// Allows reports whether the scopes let the client read resources of
// type typ (deny by default: a type no scope names is refused).
func (ss Scopes) Allows(typ string) bool {
	for _, s := range ss {
		m := scopeRe.FindStringSubmatch(s)
		if m != nil && (m[1] == "*" || m[1] == typ) {
			return true
		}
	}
	return false
}

// covers reports whether a client registered for ss may be granted sc: a
// registered scope of the same type or of "*".
func (ss Scopes) covers(sc string) bool {
	m := scopeRe.FindStringSubmatch(sc)
	if m == nil {
		return false
	}
	if m[1] == "*" {
		return slices.ContainsFunc(ss, func(s string) bool { return strings.HasPrefix(s, "system/*.") })
	}
	if m[1] == "AuditEvent" { // the audit trail is granted by name only, never through a wildcard
		return slices.ContainsFunc(ss, func(s string) bool { return strings.HasPrefix(s, "system/AuditEvent.") })
	}
	return ss.Allows(m[1])
}
