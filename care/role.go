package care

// Role is what an account may do. Every account has exactly one role, and
// every account belongs to one person (see account.Account).
type Role string

// The roles of the platform. The access package maps each route to the
// roles it admits; a role not listed is denied.
const (
	RoleVillageDoctor    Role = "village_doctor"    // 村医: residents of their own village
	RoleTownshipDoctor   Role = "township_doctor"   // 乡镇卫生院医生: residents of the township's villages
	RoleCountySpecialist Role = "county_specialist" // 县级专科医生: patients whose care reaches the county
	RoleReader           Role = "reader"            // 诊断中心阅片/心电医师: studies sent to their center
	RolePharmacist       Role = "pharmacist"        // 审方药师: prescriptions sent for review
	RoleInsuranceOfficer Role = "insurance_officer" // 医保经办: settlement at the one-stop window
	RoleAnalyst          Role = "analyst"           // 卫健局分析员: aggregates, never names
	RoleAdmin            Role = "admin"             // 系统管理员: accounts and the organisation, no clinical content
	RoleAuditor          Role = "auditor"           // 审计员: the audit trail
	RoleResident         Role = "resident"          // 居民: their own record
)

// Roles lists every role in display order.
var Roles = []Role{
	RoleVillageDoctor, RoleTownshipDoctor, RoleCountySpecialist, RoleReader,
	RolePharmacist, RoleInsuranceOfficer, RoleAnalyst, RoleAdmin, RoleAuditor, RoleResident,
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Clinical reports whether the role treats patients and so may read
// identified clinical records within its scope.
func (r Role) Clinical() bool {
	switch r {
	case RoleVillageDoctor, RoleTownshipDoctor, RoleCountySpecialist, RoleReader, RolePharmacist:
		return true
	}
	return false
}

// Staff reports whether the role belongs to a practitioner (staff member)
// rather than a resident.
func (r Role) Staff() bool { return r.Valid() && r != RoleResident }
