package resident

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"countycare/care"
	"countycare/idcard"
)

// Field limits for resident input. Longer values are refused with
// field.too_long, never truncated.
const (
	MaxNameLen    = 50
	MaxAddressLen = 200
	MaxPhoneLen   = 20
)

// Input is what a person types to register or edit a resident. Strings
// are raw user input; Validate turns them into a Resident or field errors.
type Input struct {
	Name            string
	IDNumber        string
	Sex             string // only used when there is no ID number
	BirthDate       string // only used when there is no ID number
	Phone           string
	Address         string
	VillageID       int64
	HouseholdID     int64 // join this household; 0 creates a new one with this resident as head
	Relation        string
	Poverty         string
	DisabilityGrade int
	PregnancyEDD    string
	// ForeignIDs: another system's identifiers; with at least one, a
	// resident of any age may be registered without an ID number.
	ForeignIDs []ForeignID
}

// NoIDMaxAgeDays is how young a resident must be to be registered without
// an ID number: a newborn whose household registration (落户) is pending.
const NoIDMaxAgeDays = 366

// Validate checks in as of now and returns the resident it describes.
// All faults are reported together as care.FieldError values, with the
// field name used by the forms and the API.
func Validate(in Input, now time.Time) (Resident, []care.FieldError) {
	return validate(in, now, nil)
}

// ValidateUpdate checks in as an edit of the stored record old. It applies
// every rule of Validate except those that only hold at registration,
// which it skips where the edit leaves the fields they judge as they are,
// so a record that was valid when registered can still be edited later:
//
//   - idcard.required_for_age: a record registered without an ID number
//     (a newborn) that is still saved without one may be older than
//     NoIDMaxAgeDays by now;
//   - pregnancy.edd_range: an unchanged expected delivery date may have
//     passed more than PostpartumDays ago;
//   - pregnancy.not_applicable: an unchanged date stays applicable while
//     sex and birth date are unchanged too (the woman may have aged past
//     the limit since).
func ValidateUpdate(in Input, old *Resident, now time.Time) (Resident, []care.FieldError) {
	return validate(in, now, old)
}

// validate is Validate for a new record (old nil) or an edit of old.
func validate(in Input, now time.Time, old *Resident) (Resident, []care.FieldError) {
	var fs []care.FieldError
	add := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	today := care.Today(now)
	r := Resident{VillageID: in.VillageID, Status: StatusActive}

	r.Name = strings.TrimSpace(in.Name)
	switch {
	case r.Name == "":
		add("name", "field.required")
	case utf8.RuneCountInString(r.Name) > MaxNameLen:
		add("name", "field.too_long", MaxNameLen)
	case !utf8.ValidString(r.Name) || !validName(r.Name):
		add("name", "name.chars")
	}

	idText := strings.TrimSpace(in.IDNumber)
	if idText != "" {
		n, err := idcard.Parse(idText, today.Time())
		var f *idcard.Fault
		if errors.As(err, &f) {
			fs = append(fs, care.FieldError{Field: "id_number", Key: f.Key, Args: f.Args})
		} else {
			r.IDNumber = n
			r.BirthDate = care.DateOf(n.BirthDate())
			r.Sex = n.Sex()
			if s := strings.TrimSpace(in.Sex); s != "" && idcard.Sex(s) != r.Sex {
				add("sex", "sex.mismatch_id")
			}
			if b := strings.TrimSpace(in.BirthDate); b != "" && b != r.BirthDate.String() {
				add("birth_date", "birth_date.mismatch_id")
			}
		}
	} else {
		switch s := idcard.Sex(strings.TrimSpace(in.Sex)); s {
		case idcard.Male, idcard.Female:
			r.Sex = s
		default:
			add("sex", "sex.invalid")
		}
		b, err := care.ParseDate(strings.TrimSpace(in.BirthDate))
		switch {
		case strings.TrimSpace(in.BirthDate) == "":
			add("birth_date", "field.required")
		case err != nil:
			add("birth_date", "birth_date.invalid")
		case b.After(today):
			add("birth_date", "birth_date.future")
		case b.Before(today.AddDays(-NoIDMaxAgeDays)) && (old == nil || old.IDNumber != "") && (old != nil || len(in.ForeignIDs) == 0):
			// Only a newborn may be registered without an ID number; a
			// record that never had one keeps being editable as it ages.
			add("id_number", "idcard.required_for_age")
		default:
			r.BirthDate = b
		}
	}

	r.Phone = strings.TrimSpace(in.Phone)
	if r.Phone != "" {
		if len(r.Phone) > MaxPhoneLen {
			add("phone", "field.too_long", MaxPhoneLen)
		} else if !validPhone(r.Phone) {
			add("phone", "phone.format")
		}
	}
	r.Address = strings.TrimSpace(in.Address)
	switch {
	case utf8.RuneCountInString(r.Address) > MaxAddressLen:
		add("address", "field.too_long", MaxAddressLen)
	case !utf8.ValidString(r.Address) || strings.IndexFunc(r.Address, unicode.IsControl) >= 0:
		add("address", "field.chars")
	}

	if r.VillageID <= 0 {
		add("village_id", "field.required")
	}
	r.Relation = Relation(strings.TrimSpace(in.Relation))
	if r.Relation == "" {
		r.Relation = RelHead
	}
	if !validRelation(r.Relation) {
		add("relation", "relation.invalid")
	}
	if in.HouseholdID == 0 && r.Relation != RelHead {
		add("relation", "relation.new_household_head")
	}
	r.HouseholdID = in.HouseholdID
	r.Poverty = Poverty(strings.TrimSpace(in.Poverty))
	if !r.Poverty.Valid() {
		add("poverty", "poverty.invalid")
	}
	if in.DisabilityGrade < 0 || in.DisabilityGrade > maxDisabilityRank {
		add("disability_grade", "disability.range")
	}
	r.DisabilityGrade = in.DisabilityGrade

	if e := strings.TrimSpace(in.PregnancyEDD); e != "" {
		edd, err := care.ParseDate(e)
		// An edit that keeps the stored date is not judged against today again.
		sameEDD := err == nil && old != nil && !old.PregnancyEDD.IsZero() && edd == old.PregnancyEDD
		samePerson := sameEDD && r.Sex == old.Sex && r.BirthDate == old.BirthDate
		switch {
		case err != nil:
			add("pregnancy_edd", "pregnancy.edd_invalid")
		case !samePerson && (r.Sex != idcard.Female || r.BirthDate.IsZero()):
			add("pregnancy_edd", "pregnancy.not_applicable")
		case !samePerson && (r.Age(today) < pregnancyMinAge || r.Age(today) > pregnancyMaxAge):
			add("pregnancy_edd", "pregnancy.not_applicable")
		case !sameEDD && (edd.Before(today.AddDays(-PostpartumDays)) || edd.After(today.AddDays(PregnancyDays+14))):
			add("pregnancy_edd", "pregnancy.edd_range")
		default:
			r.PregnancyEDD = edd
		}
	}
	if old == nil {
		r.ForeignIDs, fs = checkForeignIDs(in.ForeignIDs, fs)
	}
	return r, fs
}

// validName admits letters of any script, combining marks, the middle dot
// used in minority and foreign names (·, •), spaces and hyphens.
func validName(s string) bool {
	for _, c := range s {
		switch {
		case unicode.IsLetter(c), unicode.Is(unicode.Mn, c):
		case c == '·' || c == '•' || c == '.' || c == ' ' || c == '-':
		default:
			return false
		}
	}
	return true
}

// validPhone admits an 11-digit mainland mobile number (1[3-9]…) or a
// landline: 7–12 digits with optional inner hyphens ("0396-5021234").
func validPhone(s string) bool {
	if len(s) == 11 && digits(s) {
		return s[0] == '1' && s[1] >= '3' && s[1] <= '9'
	}
	nd := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			nd++
		case s[i] == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return nd >= 7 && nd <= 12
}

func validRelation(r Relation) bool {
	for _, x := range Relations {
		if x == r {
			return true
		}
	}
	return false
}
