package access

// Boundary tests added for mutation testing (issue 18 §6). Each pins a
// clause of the access policy in docs/architecture.md ("Access").

import (
	"testing"
	"time"

	"countycare/care"
)

// TestCareLinkDoesNotCrossCounties pins the ScopeCareLinks rule of
// docs/architecture.md ("county specialist, reader, pharmacist: with a live
// care link to their institution") together with the county bound every
// scope carries (Scope.CountyCode): a resident of another county whose care
// link happens to name the specialist's institution stays out of scope.
func TestCareLinkDoesNotCrossCounties(t *testing.T) {
	tr := tree()
	specialist := care.Actor{Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}
	sc := ScopeFor(specialist, tr)
	sameCounty := Subject{ResidentID: 200, CountyCode: "411723", ManagedBy: 21, LinkedTo: []int64{3}}
	otherCounty := Subject{ResidentID: 201, CountyCode: "411724", ManagedBy: 21, LinkedTo: []int64{3}}
	if !sc.Allows(sameCounty) {
		t.Fatal("specialist does not see a resident of their county linked to their hospital")
	}
	if sc.Allows(otherCounty) {
		t.Error("a care link from another county admits the specialist (scope must stay within the county)")
	}
	// A link to a second institution after an unrelated one still admits:
	// any live link to the actor's subtree is enough.
	multi := Subject{ResidentID: 202, CountyCode: "411723", ManagedBy: 21, LinkedTo: []int64{20, 4}}
	if !sc.Allows(multi) {
		t.Error("a link to the diagnosis center (in the hospital's subtree) listed second does not admit")
	}
}

// TestEmergencyAccessLastsFourHours pins docs/architecture.md: break-the-glass
// "opens one record for 4 hours", and CareLink.Live: a link admits strictly
// before ExpiresAt; a zero ExpiresAt means no end.
func TestEmergencyAccessLastsFourHours(t *testing.T) {
	opened := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if got := EmergencyExpiry(opened); !got.Equal(opened.Add(4 * time.Hour)) {
		t.Fatalf("EmergencyExpiry = %v, want 4 h after %v", got, opened)
	}
	l := CareLink{Kind: LinkEmergency, CreatedAt: opened, ExpiresAt: EmergencyExpiry(opened)}
	if !l.Live(opened.Add(4*time.Hour - time.Nanosecond)) {
		t.Error("emergency link not live just before 4 h")
	}
	if l.Live(opened.Add(4 * time.Hour)) {
		t.Error("emergency link still live at exactly 4 h")
	}
	if !(CareLink{Kind: LinkReferral}).Live(opened.AddDate(10, 0, 0)) {
		t.Error("a link without an end is not live")
	}
}

// TestDevicesAndOpsAdmitNoSession pins the Policy comments in access.go
// (Devices: "Admits refuses every session actor"; Ops is decided by the web
// layer, never here) and the Defined rule (a constructor was used).
func TestDevicesAndOpsAdmitNoSession(t *testing.T) {
	admin := care.Actor{AccountID: 9, Role: care.RoleAdmin}
	for name, p := range map[string]Policy{"Devices": Devices(), "Ops": Ops()} {
		if p.Admits(admin) || p.Admits(care.Actor{}) {
			t.Errorf("%s admits a session or the anonymous", name)
		}
		if !p.Defined() {
			t.Errorf("%s is not Defined", name)
		}
	}
	if !Devices().IsDevice() || Ops().IsDevice() || !Ops().IsOps() || !Public().IsPublic() {
		t.Error("policy kind accessors wrong")
	}
	if !AnyUser().Admits(admin) || !AnyUser().Defined() || !Allow(care.RoleAdmin).Defined() {
		t.Error("AnyUser/Allow wrong")
	}
}
