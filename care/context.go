package care

import "context"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	purposeKey
	standbyKey
)

// WithStandbyReads returns ctx marking a request whose reads may come
// from a standby database a moment behind the primary (indicator pages,
// reports, exports; docs/operations.md, "Reads from the standby"). Writes
// and reads inside a transaction always go to the primary.
func WithStandbyReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, standbyKey, true)
}

// StandbyReads reports whether ctx allows reads from a standby.
func StandbyReads(ctx context.Context) bool {
	ok, _ := ctx.Value(standbyKey).(bool)
	return ok
}

// WithRequestID returns ctx carrying the request ID that log lines and
// audit rows of this request share.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID in ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// Purpose of use recorded with each access to a patient's data
// (ISO 14265 / HL7 PurposeOfUse, simplified).
const (
	PurposeTreatment = "treatment" // TREAT: care of this patient
	PurposeEmergency = "emergency" // ETREAT: break-the-glass
	PurposePayment   = "payment"   // HPAYMT: insurance settlement
	PurposeSelf      = "self"      // the patient reading their own record
	PurposeProxy     = "proxy"     // a guardian or family member reading a ward's record through a proxy grant
	PurposeAudit     = "audit"     // HOPERAT oversight
	PurposeAdmin     = "admin"     // record keeping: registration, merge
)

// WithPurpose returns ctx carrying the purpose of use stated for this request.
func WithPurpose(ctx context.Context, p string) context.Context {
	return context.WithValue(ctx, purposeKey, p)
}

// PurposeOf returns the purpose in ctx, or the default for the actor's role.
func PurposeOf(ctx context.Context, a Actor) string {
	if p, _ := ctx.Value(purposeKey).(string); p != "" {
		return p
	}
	switch a.Role {
	case RoleResident:
		if a.Proxy != 0 {
			return PurposeProxy
		}
		return PurposeSelf
	case RoleInsuranceOfficer:
		return PurposePayment
	case RoleAuditor:
		return PurposeAudit
	case RoleAdmin:
		return PurposeAdmin
	}
	return PurposeTreatment
}
