package fhir

// The FHIR R4 resources this package emits, as Go types with the JSON
// names of the specification (https://hl7.org/fhir/R4/). Only the elements
// the platform fills are declared; every one is optional (omitempty), so a
// resource carries what the platform holds and nothing invented.

// Meta is Resource.meta.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"` // instant, RFC 3339 with a zone
	Profile     []string `json:"profile,omitempty"`
}

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept given by codings and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier with the system that issues it.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// Reference points at another resource.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"` // a logical reference: what has no FHIR id (a department)
	Display    string      `json:"display,omitempty"`
}

// HumanName is a person's name. A Chinese name is one string in text;
// family is its first character(s) as the record holds them.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a phone number or similar.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address; the platform holds it as one line of text.
type Address struct {
	Text     string `json:"text,omitempty"`
	District string `json:"district,omitempty"`
	Country  string `json:"country,omitempty"`
}

// Extension is a FHIR extension with a coded value.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
}

// Patient is a resident (居民健康档案).
type Patient struct {
	ResourceType         string         `json:"resourceType"`
	ID                   string         `json:"id"`
	Meta                 *Meta          `json:"meta,omitempty"`
	Extension            []Extension    `json:"extension,omitempty"`
	Identifier           []Identifier   `json:"identifier,omitempty"`
	Active               *bool          `json:"active,omitempty"`
	Name                 []HumanName    `json:"name,omitempty"`
	Telecom              []ContactPoint `json:"telecom,omitempty"`
	Gender               string         `json:"gender,omitempty"`
	BirthDate            string         `json:"birthDate,omitempty"`
	DeceasedBoolean      *bool          `json:"deceasedBoolean,omitempty"`
	Address              []Address      `json:"address,omitempty"`
	ManagingOrganization *Reference     `json:"managingOrganization,omitempty"`
	Link                 []PatientLink  `json:"link,omitempty"`
}

// PatientLink links a merged record to the one that replaced it.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type"`
}

// Organization is an institution of the organisation tree.
type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         *Meta             `json:"meta,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name"`
	PartOf       *Reference        `json:"partOf,omitempty"`
}

// Bundle is a search result set.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a link of a Bundle (self, next).
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one resource of a Bundle.
type BundleEntry struct {
	FullURL  string       `json:"fullUrl,omitempty"`
	Resource any          `json:"resource"`
	Search   *EntrySearch `json:"search,omitempty"`
}

// EntrySearch says why an entry is in a search set.
type EntrySearch struct {
	Mode string `json:"mode"`
}

// OperationOutcome reports an error or warnings.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id,omitempty"`
	Issue        []Issue `json:"issue"`
}

// Issue is one issue of an OperationOutcome.
type Issue struct {
	Severity    string           `json:"severity"` // fatal, error, warning, information
	Code        string           `json:"code"`     // http://hl7.org/fhir/issue-type
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}
