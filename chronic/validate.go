package chronic

import "countycare/care"

// Plausible ranges of follow-up readings. A value outside is impossible
// (refused); a value inside but extreme is a warning the clinician must
// confirm before the visit is saved.
const (
	MinSBP, MaxSBP       = 50, 300
	MinDBP, MaxDBP       = 20, 200
	MinFPG, MaxFPG       = 10, 400 // 1.0–40.0 mmol/L
	MinHR, MaxHR         = 20, 250
	MinTemp, MaxTemp     = 330, 430 // 33.0–43.0 °C
	MinWeight, MaxWeight = 20, 3000 // 2–300 kg
	MinHeight, MaxHeight = 40, 250
)

// CheckVisit returns the faults that make a visit impossible (errors) and
// the extreme values to confirm (warnings), given the patient's birth date
// and today. Faults: impossible readings (BP 400/20, FPG 0 when measured
// as 0 is not possible: 0 means "not measured"), SBP not above DBP, a date
// in the future or before birth, a risk level outside 0–5.
func CheckVisit(v *Visit, birth, today care.Date) (errs, warns []care.FieldError) {
	bad := func(f, k string, a ...any) { errs = append(errs, care.FieldError{Field: f, Key: k, Args: a}) }
	warn := func(f, k string, a ...any) { warns = append(warns, care.FieldError{Field: f, Key: k, Args: a}) }
	if !v.Disease.Valid() {
		bad("disease", "chronic.disease.invalid")
	}
	switch {
	case v.Date.IsZero():
		bad("date", "field.required")
	case v.Date.After(today):
		bad("date", "chronic.date.future")
	case !birth.IsZero() && v.Date.Before(birth):
		bad("date", "chronic.date.before_birth")
	}
	rng := func(field string, val, lo, hi int) bool {
		if val != 0 && (val < lo || val > hi) {
			bad(field, "chronic.value.range", lo, hi)
			return false
		}
		return true
	}
	okS, okD := rng("sbp", v.SBP, MinSBP, MaxSBP), rng("dbp", v.DBP, MinDBP, MaxDBP)
	if (v.SBP == 0) != (v.DBP == 0) {
		bad("dbp", "chronic.bp.both")
	} else if okS && okD && v.SBP != 0 && v.SBP <= v.DBP {
		bad("sbp", "chronic.bp.order")
	}
	rng("fpg", v.FPG, MinFPG, MaxFPG)
	rng("heart_rate", v.HeartRate, MinHR, MaxHR)
	rng("temperature", v.Temperature, MinTemp, MaxTemp)
	rng("weight", v.WeightDg, MinWeight, MaxWeight)
	rng("height", v.HeightCm, MinHeight, MaxHeight)
	if v.RiskLevel < 0 || v.RiskLevel > 5 {
		bad("risk_level", "chronic.risk.range")
	}
	if v.DosesMissed < 0 || v.DosesDue < 0 || v.DosesMissed > v.DosesDue {
		bad("doses_missed", "chronic.doses.range")
	}
	if v.Adherence != "" && v.Adherence != AdherenceRegular && v.Adherence != AdherenceIntermittent && v.Adherence != AdherenceNone {
		bad("adherence", "chronic.adherence.invalid")
	}
	if len(errs) > 0 {
		return errs, nil // warnings only for a visit that is otherwise possible
	}
	if v.SBP >= 250 || v.DBP >= 150 {
		warn("sbp", "chronic.warn.bp_extreme")
	}
	if v.FPG >= 333 || v.FPG != 0 && v.FPG <= 22 {
		warn("fpg", "chronic.warn.glucose_extreme")
	}
	if v.HeartRate != 0 && (v.HeartRate >= 180 || v.HeartRate <= 35) {
		warn("heart_rate", "chronic.warn.heart_rate_extreme")
	}
	if (v.Disease == Hypertension || v.Disease == Diabetes) && v.FaceToFace && v.SBP == 0 {
		warn("sbp", "chronic.warn.no_bp_face_to_face")
	}
	return errs, warns
}
