// Package org is the organisation of a county medical community
// (县域医共体): the tree of institutions from the county through medical
// communities, hospitals, sub-centers and township health centers down to
// village clinics, with partner hospitals upward; their departments; and
// the practitioners who work in them.
//
// The tree has any depth. An institution keeps its own identity (code,
// name, level) when it belongs to a community (seed 001: "four unchanged").
package org

import (
	"time"

	"countycare/care"
)

// Kind is the type of a node in the organisation tree.
type Kind string

// Kinds of institution. County and community are grouping nodes;
// everything else is a place where people work.
const (
	KindCounty         Kind = "county"           // 县（区）: the administrative area
	KindCommission     Kind = "commission"       // 卫生健康委员会（局）
	KindInsurance      Kind = "insurance_office" // 医疗保障局
	KindCommunity      Kind = "community"        // 医共体: led by a lead hospital
	KindCountyHospital Kind = "county_hospital"  // 县级医院（牵头医院、中医院…）
	KindDiagnosis      Kind = "diagnosis_center" // 县域诊断中心: imaging, ECG, lab, ultrasound
	KindSubCenter      Kind = "sub_center"       // 县域医疗次中心
	KindCentralHC      Kind = "central_hc"       // 中心卫生院
	KindTownshipHC     Kind = "township_hc"      // 乡镇卫生院
	KindVillageClinic  Kind = "village_clinic"   // 村卫生室
	KindPartner        Kind = "partner_hospital" // 上级合作医院（市、省、北京三甲）
)

// Kinds lists every kind in tree order.
var Kinds = []Kind{KindCounty, KindCommission, KindInsurance, KindCommunity, KindCountyHospital,
	KindDiagnosis, KindSubCenter, KindCentralHC, KindTownshipHC, KindVillageClinic, KindPartner}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Level is the service level of an institution, which decides insurance
// deductibles and ratios and where a tiered-care patient is managed.
type Level string

// Service levels, lowest first.
const (
	LevelNone     Level = ""         // grouping nodes, offices
	LevelVillage  Level = "village"  // 村级
	LevelTownship Level = "township" // 乡镇级（一级）
	LevelCounty   Level = "county"   // 县级（二级）
	LevelCity     Level = "city"     // 市级
	LevelProvince Level = "province" // 省级
	LevelNational Level = "national" // 国家级（北京）
)

// Levels lists every level, lowest first.
var Levels = []Level{LevelNone, LevelVillage, LevelTownship, LevelCounty, LevelCity, LevelProvince, LevelNational}

// DefaultLevel is the level an institution of kind k usually has.
func DefaultLevel(k Kind) Level {
	switch k {
	case KindVillageClinic:
		return LevelVillage
	case KindTownshipHC, KindCentralHC, KindSubCenter:
		return LevelTownship
	case KindCountyHospital, KindDiagnosis:
		return LevelCounty
	case KindPartner:
		return LevelProvince
	}
	return LevelNone
}

// Institution is one node of the organisation tree (医疗卫生机构).
type Institution struct {
	ID         int64
	ParentID   int64 // 0 for a root (a county or a partner hospital)
	CountyCode string
	Kind       Kind
	Level      Level
	Code       string // 机构代码 (e.g. unified social credit code); unique
	Name       string
	AreaCode   string // 统计用区划代码: 6 digits county, 9 township, 12 village
	LeadID     int64  // communities: the lead hospital (牵头医院)
	Active     bool
	CreatedAt  time.Time
}

// Department is a clinical or technical department of an institution (科室).
type Department struct {
	ID            int64
	InstitutionID int64
	Name          string
	Specialty     string // e.g. cardiology; matches Practitioner.Specialty
	HeadID        int64  // practitioner who heads it (科主任), 0 if none
}

// Title is a professional title (职称). Rank orders them so a consultation
// can ask for a minimum title.
type Title string

// Titles, with their rank in TitleRank.
const (
	TitleVillageDoctor  Title = "village_doctor"    // 乡村医生
	TitleAssistant      Title = "assistant"         // 执业助理医师
	TitlePhysician      Title = "physician"         // 住院医师/医师
	TitleAttending      Title = "attending"         // 主治医师
	TitleAssociateChief Title = "associate_chief"   // 副主任医师
	TitleChief          Title = "chief"             // 主任医师
	TitlePharmacist     Title = "pharmacist"        // 药师
	TitleSeniorPharm    Title = "senior_pharmacist" // 主管药师及以上
	TitleTechnician     Title = "technician"        // 技师
	TitleNurse          Title = "nurse"             // 护士/护师
	TitleStaff          Title = "staff"             // 管理人员
)

// Titles lists every title.
var Titles = []Title{TitleVillageDoctor, TitleAssistant, TitlePhysician, TitleAttending,
	TitleAssociateChief, TitleChief, TitlePharmacist, TitleSeniorPharm, TitleTechnician, TitleNurse, TitleStaff}

// TitleRank orders physician titles: 0 for non-physician titles, then
// village doctor 1 … chief 6.
func TitleRank(t Title) int {
	switch t {
	case TitleVillageDoctor:
		return 1
	case TitleAssistant:
		return 2
	case TitlePhysician:
		return 3
	case TitleAttending:
		return 4
	case TitleAssociateChief:
		return 5
	case TitleChief:
		return 6
	}
	return 0
}

// Valid reports whether t is one of Titles.
func (t Title) Valid() bool {
	for _, x := range Titles {
		if x == t {
			return true
		}
	}
	return false
}

// Practitioner is a person who works in an institution (卫生技术人员 or
// administrative staff). Every account belongs to exactly one practitioner
// or resident, so no login is shared.
type Practitioner struct {
	ID            int64
	InstitutionID int64
	DepartmentID  int64
	Name          string
	Sex           string
	Title         Title
	Specialty     string
	LicenseNumber string    // 执业证书编码
	PracticeSince care.Date // start of independent practice (独立执业)
	Phone         string
	Active        bool
	CreatedAt     time.Time
}

// YearsOfPractice returns whole years of independent practice on day;
// consultations need ≥ 3 (policy-rules.md §4).
func (p *Practitioner) YearsOfPractice(day care.Date) int {
	if p.PracticeSince.IsZero() || p.PracticeSince.After(day) {
		return 0
	}
	return p.PracticeSince.AgeOn(day)
}

// PractitionerFilter selects practitioners in a listing.
type PractitionerFilter struct {
	Institutions []int64 // empty: all
	NamePrefix   string
	Specialty    string
	Limit        int // at most 500
}
