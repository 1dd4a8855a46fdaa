package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"countycare/care"
	"countycare/healthedu"
	"countycare/internal/testdb"
	"countycare/rx"
	"countycare/store"
)

// TestEduAdviceLibrary: the county's administrator of health education
// (the analyst) maintains the advice library of the double prescription
// (双处方; 国家基本公共卫生服务规范 第三版, 健康教育服务规范: 健康教育处方):
// the configured library until the first change, which copies it as
// edition 1; each add, edit and retirement a new edition, audited; an
// unknown ICD-10 prefix, an empty Chinese text, a repeated code or a stale
// edition refused with nothing stored; prescriptions draw from the
// county's latest edition and keep the edition they were issued with;
// another county keeps the configured library; other roles refused. Both
// databases.
func TestEduAdviceLibrary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		base := healthedu.DefaultLibrary()
		ed := &healthedu.Editions{Base: base, Repo: f.st}
		svc := &healthedu.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, t}, Config: healthedu.DefaultConfig(),
			Library: base, Editions: ed, Now: f.clk.Now}
		an := f.actors[care.RoleAnalyst]
		county := an.CountyCode
		v, err := svc.LibraryOf(ctx, an)
		if err != nil || v.Edition != 0 || len(v.Items) != len(base.Items) || v.Items[0].ID != -1 || v.Version != base.Version {
			t.Fatalf("before any change: %v %+v", err, v)
		}
		for _, tc := range []struct {
			in    healthedu.AdviceInput
			field string
		}{
			{healthedu.AdviceInput{Prefix: "E99", Code: "a", ZH: "文字"}, "prefix"},  // in no chapter (E00–E90)
			{healthedu.AdviceInput{Prefix: "I10.", Code: "a", ZH: "文字"}, "prefix"}, // not a code
			{healthedu.AdviceInput{Prefix: "U9", Code: "a", ZH: "文字"}, "prefix"},   // U00–U85 only
			{healthedu.AdviceInput{Prefix: "I10", Code: "A b", ZH: "文字"}, "code"},
			{healthedu.AdviceInput{Prefix: "I10", Code: "walk", ZH: "  "}, "zh"},
			{healthedu.AdviceInput{Prefix: "I10", Code: "walk", ZH: string(make([]rune, 201))}, "zh"},
		} {
			in := tc.in
			_, err := svc.ChangeAdvice(ctx, an, 0, 0, &in)
			if ce, ok := err.(*care.Error); !ok || ce.Code != care.EINVALID || !slices.ContainsFunc(ce.Fields, func(fe care.FieldError) bool { return fe.Field == tc.field }) {
				t.Errorf("%+v: %v", tc.in, err)
			}
		}
		dup := healthedu.AdviceInput{Prefix: base.Items[0].Prefix, Code: base.Items[0].Code, ZH: "重复"}
		if _, err := svc.ChangeAdvice(ctx, an, 0, 0, &dup); fieldKey(err) != "healthedu.advice_exists" {
			t.Errorf("a repeated code: %v", err)
		}
		var n int
		if err := f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM edu_editions`, &n); err != nil || n != 0 {
			t.Fatalf("refused changes stored: %d %v", n, err)
		}
		if _, err := svc.ChangeAdvice(ctx, f.actors[care.RoleTownshipDoctor], 0, 0, &healthedu.AdviceInput{Prefix: "I10", Code: "walk", ZH: "每天步行"}); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("a township doctor changes the library: %v", err)
		}
		// The first change: the configured library becomes edition 1, the
		// addition edition 2; prescriptions for I10 now carry it.
		e2, err := svc.ChangeAdvice(ctx, an, 0, 0, &healthedu.AdviceInput{Prefix: "i10", Code: "walk", ZH: "每天步行30分钟", EN: "Walk 30 minutes a day"})
		if err != nil || e2 != 2 {
			t.Fatalf("add: %d %v", e2, err)
		}
		rx2 := ed.Educate(ctx, county, []string{"I10"})
		if rx2 == nil || rx2.LibraryVersion != "county-e2" || !slices.ContainsFunc(rx2.Items, func(it rx.EducationItem) bool { return it.Code == "walk" && it.Prefix == "I10" }) {
			t.Fatalf("advice of edition 2: %+v", rx2)
		}
		if other := ed.Educate(ctx, "999999", []string{"I10"}); other == nil || other.LibraryVersion != base.Version {
			t.Fatalf("another county: %+v", other)
		}
		// A stale edition is refused; an edit retires the item and adds its
		// new text; a retirement removes it. The issued advice is kept.
		v, _ = svc.LibraryOf(ctx, an)
		walk := v.Items[slices.IndexFunc(v.Items, func(r healthedu.AdviceRow) bool { return r.Code == "walk" })]
		if _, err := svc.ChangeAdvice(ctx, an, 1, walk.ID, &healthedu.AdviceInput{Prefix: "I10", Code: "walk", ZH: "每天步行"}); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("stale edition: %v", err)
		}
		if e3, err := svc.ChangeAdvice(ctx, an, 2, walk.ID, &healthedu.AdviceInput{Prefix: "I10", Code: "walk", ZH: "每天快走40分钟"}); err != nil || e3 != 3 {
			t.Fatalf("edit: %d %v", e3, err)
		}
		if e4, err := svc.ChangeAdvice(ctx, an, 3, v.Items[0].ID, nil); err != nil || e4 != 4 {
			t.Fatalf("retire: %d %v", e4, err)
		}
		if _, err := svc.ChangeAdvice(ctx, an, 4, v.Items[0].ID, nil); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("retire twice: %v", err)
		}
		v, err = svc.LibraryOf(ctx, an)
		if err != nil || v.Edition != 4 || len(v.Items) != len(base.Items) || len(v.History) != 4 || v.History[0].Change != "retire" || v.History[3].Change != "seed" {
			t.Fatalf("after the changes: %v %+v", err, v)
		}
		rx4 := ed.Educate(ctx, county, []string{"I10"})
		if rx4.LibraryVersion != "county-e4" || !slices.ContainsFunc(rx4.Items, func(it rx.EducationItem) bool { return it.Code == "walk" && it.ZH == "每天快走40分钟" }) {
			t.Fatalf("advice of edition 4: %+v", rx4)
		}
		if rx2.LibraryVersion != "county-e2" || !slices.ContainsFunc(rx2.Items, func(it rx.EducationItem) bool { return it.ZH == "每天步行30分钟" }) {
			t.Fatalf("the advice issued from edition 2 changed: %+v", rx2)
		}
		var rows int
		if err := f.st.QueryForTest(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM audit_events WHERE action = '%s'`, healthedu.ActLibrary), &rows); err != nil || rows != 3 {
			t.Fatalf("audit rows %d %v", rows, err)
		}
	})
}
