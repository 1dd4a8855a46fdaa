package settle

import "testing"

// TestBillClassesInChinese: the window types classes in Chinese (药品,
// 耗材); they are read as the codes the indicators use, and written back
// in Chinese for the Chinese page.
func TestBillClassesInChinese(t *testing.T) {
	ls, fs := ParseBillLines("XA10BAE054A001010100001,二甲双胍片,药品,A,12.50\nC001,输液器,耗材,B,3.00\nE01,血常规,检查,A,20\nX1,其他,drug,A,1")
	if len(fs) > 0 {
		t.Fatalf("faults: %v", fs)
	}
	want := []string{ClassDrug, ClassMaterial, "exam", ClassDrug}
	for i, l := range ls {
		if l.Class != want[i] {
			t.Errorf("line %d class %q, want %q", i+1, l.Class, want[i])
		}
	}
	if got := FormatBillLinesZH(ls[:2]); got != "XA10BAE054A001010100001,二甲双胍片,药品,A,12.50\nC001,输液器,耗材,B,3.00\n" {
		t.Errorf("written back: %q", got)
	}
	if got := FormatBillLines(ls[:1]); got != "XA10BAE054A001010100001,二甲双胍片,drug,A,12.50\n" {
		t.Errorf("codes: %q", got)
	}
}
