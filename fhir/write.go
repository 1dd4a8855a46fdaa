package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
)

// The write path (issue 12): create and conditional create of Patient
// (resident registration), Condition (chronic registration) and
// Observation (a follow-up's measurements), update of a Condition's
// clinical status. Every write goes through the domain service the pages
// use — its validation, scope, rules (a follow-up's classification, tier
// and urgent alerts) and audit rows; this file only maps FHIR to the
// service's input. What a resource carries that the platform does not
// hold is reported back as a warning, never dropped in silence.

// parsed is a resource of a create or update, read and checked but not
// yet written: what the services need, the references still to resolve,
// and the warnings about what will not be held.
type parsed struct {
	typ      string
	patient  *patientIn
	cond     *conditionIn
	obs      *observationIn
	warnings []care.FieldError // what will not be held (Field: the element)
}

// A fault is a field error of a resource being written: the FHIRPath of
// the element and the catalogue key of the message.
type fault = care.FieldError

func bad(path, key string, args ...any) fault { return fault{Field: path, Key: key, Args: args} }

// writable are the types the write path takes.
var writable = []string{"Patient", "Condition", "Observation"}

// heldElements are, per type, the top-level elements the platform holds
// (or reads to file the resource); any other is reported as not held.
var heldElements = map[string][]string{
	"Patient":     {"resourceType", "id", "meta", "identifier", "name", "gender", "birthDate", "telecom", "address", "managingOrganization", "active"},
	"Condition":   {"resourceType", "id", "meta", "subject", "code", "clinicalStatus", "verificationStatus", "category", "onsetDateTime", "recordedDate", "extension"},
	"Observation": {"resourceType", "id", "meta", "status", "category", "code", "subject", "effectiveDateTime", "issued", "valueQuantity", "component", "performer"},
}

// parseResource reads one resource of a write: a JSON object whose
// resourceType is want (any writable type if want is ""), mapped for its
// service. Faults name the element; the error is EINVALID (malformed
// JSON, a wrong or unknown resourceType) or EUNSUPPORTED.
func parseResource(body []byte, want string) (*parsed, []fault) {
	var raw object
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, []fault{bad("resource", "fhir.json", jsonDetail(err))}
	}
	return parseObject(raw, want)
}

// object is a resource's top-level members, each still JSON: a bundle's
// entries are read once into objects, and only the members a write takes
// are decoded further.
type object map[string]json.RawMessage

// decode decodes the members named in into into their targets; a member
// of the wrong JSON type is a fault naming it (typ.member).
func (o object) decode(typ string, into map[string]any) []fault {
	var fs []fault
	for k, v := range into {
		if raw, ok := o[k]; ok && !decodeFast(raw, v) {
			if err := json.Unmarshal(raw, v); err != nil {
				fs = append(fs, bad(typ+"."+k, "fhir.json", jsonDetail(err)))
			}
		}
	}
	return fs
}

// parseObject is parseResource for a resource already read into its members.
func parseObject(raw object, want string) (*parsed, []fault) {
	var typ string
	if err := json.Unmarshal(raw["resourceType"], &typ); err != nil || typ == "" {
		return nil, []fault{bad("resourceType", "fhir.resource_type_missing")}
	}
	if want != "" && typ != want {
		return nil, []fault{bad("resourceType", "fhir.resource_type_wrong", typ, want)}
	}
	if !slices.Contains(writable, typ) {
		return nil, []fault{bad("resourceType", "fhir.type_not_writable", typ, strings.Join(writable, ", "))}
	}
	p := &parsed{typ: typ}
	var fs []fault
	switch typ {
	case "Patient":
		p.patient, fs = parsePatient(raw)
	case "Condition":
		p.cond, fs = parseCondition(raw)
	case "Observation":
		p.obs, fs = parseObservation(raw)
	}
	var extra []string
	for k := range raw {
		if !slices.Contains(heldElements[typ], k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		p.warnings = append(p.warnings, bad(typ, "fhir.not_held_elements", typ+"."+strings.Join(extra, ", "+typ+".")))
	}
	return p, fs
}

// jsonDetail says where JSON is malformed, for the diagnostics.
func jsonDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var we walkError
	switch {
	case err == nil:
		return "not a JSON object"
	case asErr(err, &we):
		return string(we)
	case asErr(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case asErr(err, &te):
		return fmt.Sprintf("%s: not a %s", te.Field, te.Type)
	}
	return "not a JSON object"
}

// patientIn is a Patient to register.
type patientIn struct {
	in      resident.Input
	village string // managingOrganization reference, "" for the actor's clinic
}

type patientWire struct {
	Identifier []Identifier `json:"identifier"`
	Name       []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	Gender    string         `json:"gender"`
	BirthDate string         `json:"birthDate"`
	Telecom   []ContactPoint `json:"telecom"`
	Address   []struct {
		Text       string   `json:"text"`
		Line       []string `json:"line"`
		City       string   `json:"city"`
		District   string   `json:"district"`
		State      string   `json:"state"`
		PostalCode string   `json:"postalCode"`
		Country    string   `json:"country"`
	} `json:"address"`
	ManagingOrganization *Reference `json:"managingOrganization"`
}

// nameDigits are the digits some generators (Synthea) append to names;
// a resident's name holds letters only.
var nameDigits = regexp.MustCompile(`[0-9]+`)

func parsePatient(o object) (*patientIn, []fault) {
	var w patientWire
	if fs := o.decode("Patient", map[string]any{"identifier": &w.Identifier, "name": &w.Name, "gender": &w.Gender, "birthDate": &w.BirthDate,
		"telecom": &w.Telecom, "address": &w.Address, "managingOrganization": &w.ManagingOrganization}); fs != nil {
		return nil, fs
	}
	p := &patientIn{}
	var fs []fault
	for i, id := range w.Identifier {
		switch id.System {
		case SystemIDNumber:
			p.in.IDNumber = id.Value
		case SystemRecordNumber:
			// Numbered by the platform on registration.
		default:
			if id.System == "" || id.Value == "" {
				fs = append(fs, bad(fmt.Sprintf("Patient.identifier[%d]", i), "fhir.identifier_incomplete"))
				continue
			}
			p.in.ForeignIDs = append(p.in.ForeignIDs, resident.ForeignID{System: id.System, Value: id.Value})
		}
	}
	if p.in.IDNumber != "" {
		p.in.ForeignIDs = nil // a resident with an ID number is matched by it
	}
	if len(w.Name) > 0 {
		n := w.Name[0]
		for _, x := range w.Name {
			if x.Use == "official" {
				n = x
				break
			}
		}
		name := n.Text
		if name == "" {
			name = strings.TrimSpace(strings.Join(append(slices.Clone(n.Given), n.Family), " "))
		}
		p.in.Name = strings.Join(strings.Fields(nameDigits.ReplaceAllString(name, "")), " ")
	}
	switch w.Gender {
	case "male":
		p.in.Sex = "M"
	case "female":
		p.in.Sex = "F"
	case "":
	default:
		fs = append(fs, bad("Patient.gender", "fhir.gender", w.Gender))
	}
	p.in.BirthDate = w.BirthDate
	for _, t := range w.Telecom {
		if t.System == "phone" && p.in.Phone == "" {
			p.in.Phone = t.Value
		}
	}
	if len(w.Address) > 0 {
		a := w.Address[0]
		text := a.Text
		if text == "" {
			text = strings.Join(slices.DeleteFunc(append(slices.Clone(a.Line), a.City, a.District, a.State, a.PostalCode, a.Country),
				func(s string) bool { return s == "" }), ", ")
		}
		p.in.Address = text
	}
	if w.ManagingOrganization != nil {
		p.village = w.ManagingOrganization.Reference
	}
	p.in.Relation = string(resident.RelHead)
	return p, fs
}

// conditionIn is a Condition to register as a chronic registration.
type conditionIn struct {
	subject string
	disease chronic.Disease
	onset   care.Date
	active  bool // clinicalStatus active (or absent)
	note    string
}

type conditionWire struct {
	Subject        Reference        `json:"subject"`
	Code           CodeableConcept  `json:"code"`
	ClinicalStatus *CodeableConcept `json:"clinicalStatus"`
	OnsetDateTime  string           `json:"onsetDateTime"`
	RecordedDate   string           `json:"recordedDate"`
}

// registryOfCode maps a diagnosis code to the chronic registry that holds
// it: ICD-10 (I10–I15 hypertensive diseases, E11 type 2 diabetes, B18
// chronic viral hepatitis), SNOMED CT (38341003 hypertensive disorder,
// 59621000 essential hypertension, 44054006 type 2 diabetes) and the
// platform's own registry codes. Other diagnoses have no registry here.
func registryOfCode(c Coding) (chronic.Disease, bool) {
	switch c.System {
	case SystemRegistry:
		d := chronic.Disease(c.Code)
		return d, d.Valid()
	case SystemICD10:
		switch {
		case c.Code >= "I10" && c.Code < "I16":
			return chronic.Hypertension, true
		case strings.HasPrefix(c.Code, "E11"):
			return chronic.Diabetes, true
		case strings.HasPrefix(c.Code, "B18"):
			return chronic.Hepatitis, true
		}
	case systemSNOMED:
		switch c.Code {
		case "38341003", "59621000":
			return chronic.Hypertension, true
		case "44054006":
			return chronic.Diabetes, true
		}
	}
	return "", false
}

// systemSNOMED is SNOMED CT.
const systemSNOMED = "http://snomed.info/sct"

func parseCondition(o object) (*conditionIn, []fault) {
	var w conditionWire
	if fs := o.decode("Condition", map[string]any{"subject": &w.Subject, "code": &w.Code, "clinicalStatus": &w.ClinicalStatus,
		"onsetDateTime": &w.OnsetDateTime, "recordedDate": &w.RecordedDate}); fs != nil {
		return nil, fs
	}
	c := &conditionIn{subject: w.Subject.Reference, active: true}
	var fs []fault
	if c.subject == "" {
		fs = append(fs, bad("Condition.subject", "fhir.reference_required"))
	}
	for _, x := range w.Code.Coding {
		if d, ok := registryOfCode(x); ok {
			c.disease = d
			break
		}
	}
	if c.disease == "" {
		fs = append(fs, bad("Condition.code", "fhir.condition_no_registry"))
	}
	if w.ClinicalStatus != nil {
		for _, x := range w.ClinicalStatus.Coding {
			c.active = x.Code == "active" || x.Code == "recurrence" || x.Code == "relapse"
		}
	}
	day := w.OnsetDateTime
	if day == "" {
		day = w.RecordedDate
	}
	if day == "" {
		fs = append(fs, bad("Condition.onsetDateTime", "fhir.onset_required"))
	} else if d, ok := dayOf(day); ok {
		c.onset = d
	} else {
		fs = append(fs, bad("Condition.onsetDateTime", "fhir.date", day))
	}
	c.note = w.Code.Text
	if c.note == "" && len(w.Code.Coding) > 0 {
		c.note = w.Code.Coding[0].Display
	}
	if len([]rune(c.note)) > 200 {
		c.note = string([]rune(c.note)[:200])
	}
	return c, fs
}

// dayOf reads a FHIR date or dateTime as the China-time day it falls on.
func dayOf(v string) (care.Date, bool) {
	if len(v) == 10 {
		d, err := care.ParseDate(v)
		return d, err == nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return care.Date{}, false
	}
	return care.Today(t), true
}

// observationIn is one measurement to file in a follow-up visit.
type observationIn struct {
	subject string
	day     care.Date
	kind    string // bp, hr, fpg, wt, ht, temp
	a, b    int    // the value in the visit's unit (bp: systolic, diastolic)
}

type quantityWire struct {
	Value *json.Number `json:"value"`
	Unit  string       `json:"unit"`
	Code  string       `json:"code"`
}

type observationWire struct {
	Status            string          `json:"status"`
	Code              CodeableConcept `json:"code"`
	Subject           Reference       `json:"subject"`
	EffectiveDateTime string          `json:"effectiveDateTime"`
	ValueQuantity     *quantityWire   `json:"valueQuantity"`
	Component         []componentWire `json:"component"`
}

// componentWire is one component of an Observation (a blood pressure's
// systolic or diastolic value).
type componentWire struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *quantityWire   `json:"valueQuantity"`
}

// loincBPPanelOld is the older blood pressure panel code Synthea and many
// systems send (55284-4 Blood pressure systolic and diastolic).
const loincBPPanelOld = "55284-4"

// vitalKinds are the measurements a follow-up visit holds, by LOINC code:
// the kind, the UCUM unit accepted, and the factor to the visit's unit.
var vitalKinds = map[string]struct {
	kind  string
	unit  string
	scale float64
}{
	LoincHeartRate:   {"hr", "/min", 1},
	LoincFastingGluc: {"fpg", "mmol/L", 10},
	LoincWeight:      {"wt", "kg", 10},
	LoincHeight:      {"ht", "cm", 1},
	LoincTemperature: {"temp", "Cel", 10},
	"8331-1":         {"temp", "Cel", 10}, // Oral temperature
}

func parseObservation(raw object) (*observationIn, []fault) {
	var w observationWire
	if fs := raw.decode("Observation", map[string]any{"status": &w.Status, "code": &w.Code, "subject": &w.Subject,
		"effectiveDateTime": &w.EffectiveDateTime, "valueQuantity": &w.ValueQuantity, "component": &w.Component}); fs != nil {
		return nil, fs
	}
	o := &observationIn{subject: w.Subject.Reference}
	var fs []fault
	if o.subject == "" {
		fs = append(fs, bad("Observation.subject", "fhir.reference_required"))
	}
	if w.Status != "" && w.Status != "final" && w.Status != "amended" && w.Status != "corrected" {
		fs = append(fs, bad("Observation.status", "fhir.observation_status", w.Status))
	}
	if w.EffectiveDateTime == "" {
		fs = append(fs, bad("Observation.effectiveDateTime", "fhir.effective_required"))
	} else if d, ok := dayOf(w.EffectiveDateTime); ok {
		o.day = d
	} else {
		fs = append(fs, bad("Observation.effectiveDateTime", "fhir.date", w.EffectiveDateTime))
	}
	value := func(path string, q *quantityWire, unit string, scale float64) int {
		if q == nil || q.Value == nil {
			fs = append(fs, bad(path, "fhir.value_required"))
			return 0
		}
		if u := q.Code; u != unit && q.Unit != unit {
			fs = append(fs, bad(path, "fhir.unit", unit))
			return 0
		}
		f, err := q.Value.Float64()
		if err != nil || f <= 0 || f > 1e6 {
			fs = append(fs, bad(path, "fhir.value_range"))
			return 0
		}
		return int(f*scale + 0.5)
	}
	for _, c := range w.Code.Coding {
		if c.System != SystemLOINC {
			continue
		}
		if c.Code == LoincBPPanel || c.Code == loincBPPanelOld {
			o.kind = "bp"
			for i, comp := range w.Component {
				for _, cc := range comp.Code.Coding {
					path := fmt.Sprintf("Observation.component[%d].valueQuantity", i)
					switch cc.Code {
					case LoincSystolic:
						o.a = value(path, comp.ValueQuantity, "mm[Hg]", 1)
					case LoincDiastolic:
						o.b = value(path, comp.ValueQuantity, "mm[Hg]", 1)
					}
				}
			}
			if o.a == 0 || o.b == 0 {
				fs = append(fs, bad("Observation.component", "fhir.bp_components"))
			}
			break
		}
		if k, ok := vitalKinds[c.Code]; ok {
			o.kind = k.kind
			o.a = value("Observation.valueQuantity", w.ValueQuantity, k.unit, k.scale)
			break
		}
	}
	if o.kind == "" {
		fs = append(fs, bad("Observation.code", "fhir.observation_code"))
	}
	return o, fs
}

// apply puts o's measurement into a visit.
func (o *observationIn) apply(v *chronic.Visit) {
	switch o.kind {
	case "bp":
		v.SBP, v.DBP = o.a, o.b
	case "hr":
		v.HeartRate = o.a
	case "fpg":
		v.FPG = o.a
	case "wt":
		v.WeightDg = o.a
	case "ht":
		v.HeightCm = o.a
	case "temp":
		v.Temperature = o.a
	}
}

// registryFor picks the registration a measurement is filed under: an
// active one, preferring the registry the measurement belongs to (glucose:
// diabetes; the rest: hypertension, then diabetes), enrolled on or before
// the day. ok is false when the patient has none.
func registryFor(regs []chronic.Registration, kind string, day care.Date) (*chronic.Registration, bool) {
	order := []chronic.Disease{chronic.Hypertension, chronic.Diabetes}
	if kind == "fpg" {
		order = []chronic.Disease{chronic.Diabetes, chronic.Hypertension}
	}
	for _, d := range order {
		for i := range regs {
			r := &regs[i]
			if r.Disease == d && r.Status == chronic.StatusActive && !day.Before(r.EnrolledOn) {
				return r, true
			}
		}
	}
	return nil, false
}

// refID reads a reference Type/{id} (after any urn:uuid was resolved):
// the numeric id, or ok false.
func refID(ref, typ string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(ref, typ+"/"), 10, 64)
	return n, err == nil && n > 0 && strings.HasPrefix(ref, typ+"/")
}

// ifNoneExist reads a conditional create's criteria: Patient by
// identifier=[system|]value only.
func ifNoneExist(typ, v string) (resident.ForeignID, string, []fault) {
	q, err := url.ParseQuery(strings.TrimPrefix(v, typ+"?"))
	id := q.Get("identifier")
	if err != nil || typ != "Patient" || len(q) != 1 || id == "" {
		return resident.ForeignID{}, "", []fault{bad("If-None-Exist", "fhir.if_none_exist")}
	}
	sys, val, ok := strings.Cut(id, "|")
	if !ok || sys == "" || val == "" {
		return resident.ForeignID{}, "", []fault{bad("If-None-Exist", "fhir.if_none_exist")}
	}
	if sys == SystemIDNumber {
		return resident.ForeignID{}, val, nil
	}
	return resident.ForeignID{System: sys, Value: val}, "", nil
}

func asErr(err error, target any) bool { return errors.As(err, target) }
