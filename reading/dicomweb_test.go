package reading

import (
	"testing"

	"countycare/care"
	"countycare/org"
)

func TestNameKeyAndPattern(t *testing.T) {
	for _, c := range []struct{ pn, key, alpha, ideo string }{
		{"Zhang^San=张^三=", "=zhangsan=张三=", "zhangsan", "张三"},
		{"=王^芳", "=王芳=", "", "王芳"},
		{"Wang^XiaoDong=王^小東=wang^xiao dong", "=wangxiaodong=王小東=wangxiaodong=", "wangxiaodong", "王小東"},
		{"", "=", "", ""},
	} {
		if got := NameKey(c.pn); got != c.key {
			t.Errorf("NameKey(%q) = %q, want %q", c.pn, got, c.key)
		}
		if a, i := NameGroups(c.pn); a != c.alpha || i != c.ideo {
			t.Errorf("NameGroups(%q) = %q %q", c.pn, a, i)
		}
	}
	if got := NamePattern("ZHANG^S*=张 ?"); got != "zhangs*张?" {
		t.Errorf("NamePattern: %q", got)
	}
}

// TestDeviceActor: a device works with the scope of its institution's kind.
func TestDeviceActor(t *testing.T) {
	tree := org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 2, ParentID: 1, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 3, ParentID: 2, Kind: org.KindVillageClinic, CountyCode: "411723"},
		{ID: 4, ParentID: 1, Kind: org.KindDiagnosis, CountyCode: "411723"},
	})
	for id, want := range map[int64]care.Role{2: care.RoleTownshipDoctor, 3: care.RoleVillageDoctor, 4: care.RoleReader} {
		a := DeviceActor(&DICOMwebClient{Name: "gw", InstitutionID: id, CountyCode: "411723"}, tree)
		if a.Role != want || a.AccountID != 0 || a.Username != "dicomweb:gw" || a.InstitutionID != id {
			t.Errorf("institution %d: %+v", id, a)
		}
	}
}
