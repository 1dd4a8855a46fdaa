package access

import (
	"testing"

	"countycare/care"
	"countycare/org"
)

func tree() *org.Tree {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723"},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: "411723"},
		{ID: 4, ParentID: 3, Kind: org.KindDiagnosis, CountyCode: "411723"},
		{ID: 10, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 12, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 20, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 21, ParentID: 20, Kind: org.KindVillageClinic, CountyCode: "411723"},
	})
}

func TestEmptyPolicyDeniesEveryone(t *testing.T) {
	var p Policy
	for _, r := range care.Roles {
		if p.Admits(care.Actor{AccountID: 1, Role: r}) {
			t.Errorf("zero policy admits %s", r)
		}
	}
	if p.Admits(care.Actor{}) || p.Defined() {
		t.Error("zero policy admits anonymous or claims to be defined")
	}
}

func TestPolicyAdmits(t *testing.T) {
	anon := care.Actor{}
	doc := care.Actor{AccountID: 1, Role: care.RoleVillageDoctor}
	aud := care.Actor{AccountID: 2, Role: care.RoleAuditor}
	if !Public().Admits(anon) || AnyUser().Admits(anon) || Allow(care.RoleVillageDoctor).Admits(anon) {
		t.Error("anonymous handling wrong")
	}
	if !Allow(care.RoleVillageDoctor).Admits(doc) || Allow(care.RoleVillageDoctor).Admits(aud) {
		t.Error("role handling wrong")
	}
	if Ops().Admits(doc) {
		t.Error("Ops admits a user session")
	}
}

// TestScopes checks the institution scoping rules of issue #2: a village
// doctor sees their village, a township doctor the township's villages,
// county staff only linked patients, analysts/admins/auditors nobody.
func TestScopes(t *testing.T) {
	tr := tree()
	villager := Subject{ResidentID: 100, CountyCode: "411723", ManagedBy: 11}
	other := Subject{ResidentID: 101, CountyCode: "411723", ManagedBy: 21}
	linked := Subject{ResidentID: 102, CountyCode: "411723", ManagedBy: 21, LinkedTo: []int64{3}}
	foreign := Subject{ResidentID: 103, CountyCode: "999999", ManagedBy: 11}
	tests := []struct {
		actor care.Actor
		sub   Subject
		want  bool
	}{
		{care.Actor{Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: "411723"}, villager, true},
		{care.Actor{Role: care.RoleVillageDoctor, InstitutionID: 12, CountyCode: "411723"}, villager, false},
		{care.Actor{Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: "411723"}, foreign, false},
		{care.Actor{Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: "411723"}, villager, true},
		{care.Actor{Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: "411723"}, other, false},
		{care.Actor{Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}, villager, false},
		{care.Actor{Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}, linked, true},
		{care.Actor{Role: care.RoleReader, InstitutionID: 4, CountyCode: "411723"}, linked, false},
		{care.Actor{Role: care.RoleInsuranceOfficer, InstitutionID: 1, CountyCode: "411723"}, other, true},
		{care.Actor{Role: care.RoleInsuranceOfficer, InstitutionID: 1, CountyCode: "411723"}, foreign, false},
		{care.Actor{Role: care.RoleAnalyst, InstitutionID: 1, CountyCode: "411723"}, villager, false},
		{care.Actor{Role: care.RoleAdmin, InstitutionID: 1, CountyCode: "411723"}, villager, false},
		{care.Actor{Role: care.RoleAuditor, InstitutionID: 1, CountyCode: "411723"}, villager, false},
		{care.Actor{Role: care.RoleResident, ResidentID: 100}, villager, true},
		{care.Actor{Role: care.RoleResident, ResidentID: 100}, other, false},
		{care.Actor{Role: care.RoleResident}, villager, false},
	}
	for _, tt := range tests {
		if got := ScopeFor(tt.actor, tr).Allows(tt.sub); got != tt.want {
			t.Errorf("%s@%d sees resident %d: got %v, want %v", tt.actor.Role, tt.actor.InstitutionID, tt.sub.ResidentID, got, tt.want)
		}
	}
}

// TestActingScope: a multi-site practitioner acting for another
// institution today (docs/outreach.md) sees what its own staff see — a
// county specialist acting at township 10 sees its villages' residents,
// and not the hospital's linked patients nor another township's; acting
// at an institution missing from the tree sees nobody; not acting
// (HomeInstitutionID equal to InstitutionID) keeps the role's own scope.
func TestActingScope(t *testing.T) {
	tr := tree()
	villager := Subject{ResidentID: 100, CountyCode: "411723", ManagedBy: 11}
	other := Subject{ResidentID: 101, CountyCode: "411723", ManagedBy: 21}
	linked := Subject{ResidentID: 102, CountyCode: "411723", ManagedBy: 21, LinkedTo: []int64{3}}
	spec := care.Actor{AccountID: 1, Role: care.RoleCountySpecialist, InstitutionID: 10, HomeInstitutionID: 3, CountyCode: "411723"}
	sc := ScopeFor(spec, tr)
	if !sc.Allows(villager) || sc.Allows(other) || sc.Allows(linked) {
		t.Errorf("acting at the township: got %+v", sc)
	}
	home := spec
	home.InstitutionID = 3
	if sc := ScopeFor(home, tr); sc.Allows(villager) || !sc.Allows(linked) {
		t.Errorf("at home: got %+v", sc)
	}
	lost := spec
	lost.InstitutionID = 99
	if sc := ScopeFor(lost, tr); sc.Kind != ScopeNone {
		t.Errorf("acting at an unknown institution: got %+v", sc)
	}
	// Every clinical role that may practise at more than one site takes the
	// township's scope there, whatever its own scope at home.
	for _, r := range []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader, care.RolePharmacist} {
		a := care.Actor{AccountID: 2, Role: r, InstitutionID: 10, HomeInstitutionID: 21, CountyCode: "411723"}
		if sc := ScopeFor(a, tr); !sc.Allows(villager) || sc.Allows(other) || sc.Kind != ScopeManaged {
			t.Errorf("%s acting at the township: got %+v", r, sc)
		}
	}
	// A role without multi-site practice keeps its own scope even with a
	// home institution recorded: the insurance officer sees the county.
	ins := care.Actor{AccountID: 3, Role: care.RoleInsuranceOfficer, InstitutionID: 10, HomeInstitutionID: 3, CountyCode: "411723"}
	if sc := ScopeFor(ins, tr); sc.Kind != ScopeCounty || !sc.Allows(other) {
		t.Errorf("insurance officer with a home institution: got %+v", sc)
	}
}
