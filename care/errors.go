package care

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in web.statusOf; interface
// methods document which codes they return.
const (
	EINVALID      = "invalid"        // the input breaks a rule; Fields says which
	ENOTFOUND     = "not_found"      // no such thing, or the actor may not know it exists
	EFORBIDDEN    = "forbidden"      // the actor is known but not allowed
	EUNAUTHORIZED = "unauthorized"   // no valid session or bad credentials
	ECONFLICT     = "conflict"       // the change collides with existing data
	ELOCKED       = "locked"         // the account is locked after failed logins
	ETOOMANY      = "too_many"       // too many attempts: slow down
	ETOOLARGE     = "too_large"      // the request body is larger than allowed
	EUNSUPPORTED  = "unsupported"    // wrong content type or format
	ENOTACCEPT    = "not_acceptable" // no representation the client accepts (Accept header)
	EINTERNAL     = "internal"       // a fault of ours; the detail goes to the log only
	EUNAVAILABLE  = "unavailable"    // a dependency (the audit trail's database) cannot take the request now
	EPRECONDITION = "precondition"   // a protocol precondition fails (a resumable upload without Tus-Resumable: 1.0.0)
	ECHECKSUM     = "checksum"       // the body does not match the checksum the client sent with it (resumable uploads)
)

// Error is the one error type that crosses package boundaries. Code is for
// programs, Key and Args name a message in the catalogue (web/i18n) so the
// user reads it in their own language, Fields lists per-field faults, and
// Err keeps the cause for the log. Users never see Err.
type Error struct {
	Code   string
	Key    string // message catalogue key, e.g. "resident.id_number.check_digit"
	Args   []any  // arguments for the message
	Fields []FieldError
	Op     string // where it happened, e.g. "store.CreateResident"
	Err    error  // underlying cause, for the log only
}

// FieldError is one invalid field: the form/JSON field name and the message
// key with its arguments.
type FieldError struct {
	Field string `json:"field"`
	Key   string `json:"code"`
	Args  []any  `json:"-"`
}

func (e *Error) Error() string {
	s := e.Code
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Key != "" {
		s += " (" + e.Key + ")"
	}
	for _, f := range e.Fields {
		s += fmt.Sprintf(" [%s: %s %v]", f.Field, f.Key, f.Args)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and message key.
func Errorf(code, key string, args ...any) *Error {
	return &Error{Code: code, Key: key, Args: args}
}

// Internal wraps an unexpected error from op as EINTERNAL. A nil err gives nil.
func Internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: EINTERNAL, Key: "error.internal", Op: op, Err: err}
}

// Invalid returns an EINVALID error carrying the given field errors.
// It returns nil when fields is empty, so callers can write
// `if err := care.Invalid(fs); err != nil`.
func Invalid(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Key: "error.invalid", Fields: fields}
}

// ErrorCode returns the code of err: EINTERNAL for an error that is not an
// *Error, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// IsCode reports whether err carries code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
