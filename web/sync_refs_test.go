package web_test

import (
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestSyncOfflineChain is issue 13 §1's "all of it works with no network
// for days" for a new patient: a resident registered offline, enrolled in
// the hypertension registry offline and followed up offline (an urgent
// BP, which is applied first in its batch — after what it builds on), a
// family-doctor service for them (refused: no contract covers the day,
// and contracts are signed online), all in one batch whose order is the
// reverse of their dependencies. Each is applied once, through the online
// services (audited), the follow-up lands on the new registration; a
// replay writes nothing again. A chain whose registration the server
// refuses is refused link by link with the reason; a follow-up whose
// enrolment has not reached the server waits (retry), and goes through
// once it has; a reference to a change of another kind is refused.
func TestSyncOfflineChain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		vd := e.as(care.RoleVillageDoctor)
		today := vd.pull(t, "").Today
		reg, enrol, fu, svc := uuid(9001), uuid(9002), uuid(9003), uuid(9004)
		batch := []change{
			{svc, "service", map[string]any{"resident_ref": reg, "kind": "education", "date": today, "note": "低盐饮食"}},
			{fu, "followup", map[string]any{"registration_ref": enrol, "visit": map[string]any{"date": today, "mode": "face", "sbp": 186, "dbp": 112, "confirm": true}}},
			{enrol, "enrol", map[string]any{"resident_ref": reg, "disease": "hypertension", "source": "screening", "enrolled_on": today}},
			{reg, "register", map[string]any{"name": "柳新农", "id_number": "11010519491231002X", "phone": "13800002222", "address": "柳村 9 号"}},
		}
		res := vd.push(t, batch...)
		// The service reaches the new resident — who has no contract yet
		// (contracts are signed online): refused for that, not for its reference.
		if r := res[svc]; r.Status != "refused" || r.Reason != "invalid" || len(r.Fields) != 1 || r.Fields[0].F != "date" {
			t.Errorf("a service for the resident registered offline: %+v", r)
		}
		for _, c := range batch[1:] {
			if res[c.ID].Status != "accepted" {
				t.Fatalf("%s %s: %+v", c.Kind, c.ID, res[c.ID])
			}
		}
		rid, gid := res[reg].Resident.ID, res[enrol].ServerID
		if rid == 0 || gid == 0 || len(res[fu].Urgent) == 0 {
			t.Fatalf("registration %+v, enrolment %+v, follow-up %+v", res[reg], res[enrol], res[fu])
		}
		g, err := e.st.Registration(t.Context(), gid)
		if err != nil || g.ResidentID != rid || g.Disease != chronic.Hypertension || g.Source != chronic.SourceScreening {
			t.Fatalf("the registration made offline: %+v %v", g, err)
		}
		visits, err := e.st.Visits(t.Context(), gid, 10)
		if err != nil || len(visits) != 1 || visits[0].ID != res[fu].ServerID || visits[0].SBP != 186 {
			t.Fatalf("the follow-up on it: %+v %v", visits, err)
		}
		// The same batch again: every answer replayed, nothing written twice.
		again := vd.push(t, batch...)
		for _, c := range batch[1:] {
			if !again[c.ID].Replayed || again[c.ID].Status != "accepted" {
				t.Errorf("replay of %s: %+v", c.Kind, again[c.ID])
			}
		}
		if visits, _ := e.st.Visits(t.Context(), gid, 10); len(visits) != 1 {
			t.Errorf("%d follow-ups after the replay, want 1", len(visits))
		}
		e.writer.Flush(t.Context())
		if rows, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: chronic.ActEnroll, ResidentIDs: []int64{rid}}); len(rows) != 1 {
			t.Errorf("enrolment audit rows: %d, want 1", len(rows))
		}

		// A registration the server refuses (the ID number's check digit):
		// what builds on it is refused with the reason.
		bad, badEnrol, badFU := uuid(9101), uuid(9102), uuid(9103)
		res = vd.push(t,
			change{bad, "register", map[string]any{"name": "错号人", "id_number": "110105194912310021"}},
			change{badEnrol, "enrol", map[string]any{"resident_ref": bad, "disease": "diabetes", "source": "diagnosis", "enrolled_on": today}},
			change{badFU, "followup", map[string]any{"registration_ref": badEnrol, "visit": map[string]any{"date": today, "mode": "face", "sbp": 130, "dbp": 80}}})
		if res[bad].Status != "refused" || res[badEnrol].Reason != "ref_refused" || res[badFU].Reason != "ref_refused" || res[badFU].Message == "" {
			t.Errorf("a chain on a refused registration: %+v / %+v / %+v", res[bad], res[badEnrol], res[badFU])
		}

		// A follow-up sent before its enrolment (another batch): retry, then accepted.
		p := vd.pull(t, "")
		var other int64
		for _, r := range p.Residents {
			has := false
			for _, g := range p.Regs {
				has = has || g.Resident == r.ID && g.Disease == "diabetes"
			}
			if r.Status == "" && !has {
				other = r.ID
				break
			}
		}
		late, lateFU := uuid(9201), uuid(9202)
		fuChange := change{lateFU, "followup", map[string]any{"registration_ref": late, "visit": map[string]any{"date": today, "mode": "phone", "fpg": 6.1}}}
		if r := vd.push(t, fuChange)[lateFU]; r.Status != "retry" || r.Reason != "ref_pending" {
			t.Errorf("a follow-up before its enrolment: %+v", r)
		}
		if r := vd.push(t, change{late, "enrol", map[string]any{"resident_id": other, "disease": "diabetes", "source": "diagnosis", "enrolled_on": today}})[late]; r.Status != "accepted" {
			t.Fatalf("the enrolment: %+v", r)
		}
		if r := vd.push(t, fuChange)[lateFU]; r.Status != "accepted" || r.Replayed {
			t.Errorf("the follow-up after its enrolment: %+v", r)
		}
		// Enrolling again in the same registry: conflicted with the server's
		// registration, to which a follow-up on the device's enrolment goes.
		dup, dupFU := uuid(9301), uuid(9302)
		res = vd.push(t, change{dup, "enrol", map[string]any{"resident_ref": reg, "disease": "hypertension", "source": "diagnosis", "enrolled_on": today}},
			change{dupFU, "followup", map[string]any{"registration_ref": dup, "visit": map[string]any{"date": today, "mode": "phone", "sbp": 140, "dbp": 90}}})
		if res[dup].Status != "conflicted" || res[dup].ServerID != gid || res[dupFU].Reason != "duplicate" {
			t.Errorf("a second enrolment: %+v, its follow-up (the same day as the first): %+v", res[dup], res[dupFU])
		}

		// A reference to a change of another kind.
		wrong := uuid(9401)
		if r := vd.push(t, change{wrong, "followup", map[string]any{"registration_ref": reg, "visit": map[string]any{"date": today, "mode": "face", "sbp": 130, "dbp": 80}}})[wrong]; r.Reason != "bad_ref" {
			t.Errorf("a follow-up whose reference is a registration: %+v", r)
		}
	})
}
