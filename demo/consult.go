package demo

import (
	"sort"
	"time"

	"countycare/care"
	"countycare/consult"
)

// rosters writes the county hospital's duty rosters from 400 days ago to 14
// days ahead: three 8-hour shifts a day (08:00, 16:00, 00:00 Beijing time),
// two doctors each, rotating through the department. The demo specialist
// (cardiology) is first on every cardiology shift from yesterday on, so a
// demo request reaches the demo sign-in.
func (g *gen) rosters() error {
	depts := make([]int64, 0, len(g.deptDoctors))
	for d := range g.deptDoctors {
		depts = append(depts, d)
	}
	sort.Slice(depts, func(i, j int) bool { return depts[i] < depts[j] })
	spec := g.pract[care.RoleCountySpecialist]
	day0 := time.Date(g.today.Year, g.today.Month, g.today.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, -400)
	for _, d := range depts {
		docs := g.deptDoctors[d]
		// Residents (the last two) are not on the consultation roster.
		if len(docs) > 4 {
			docs = docs[:len(docs)-2]
		}
		n := 0
		for day := 0; day < 415; day++ {
			for shift := 0; shift < 3; shift++ {
				start := day0.AddDate(0, 0, day).Add(time.Duration(8*shift) * time.Hour)
				first, second := docs[n%len(docs)], docs[(n+1)%len(docs)]
				n++
				if spec != nil && spec.DepartmentID == d && !start.Before(day0.AddDate(0, 0, 399)) {
					first = spec.ID
					if second == spec.ID {
						second = docs[0]
					}
				}
				for pos, p := range []int64{first, second} {
					sl := &consult.Slot{ID: g.id("slot"), InstitutionID: g.hosp.ID, DepartmentID: d, PractitionerID: p, Start: start, End: start.Add(8 * time.Hour), Position: pos + 1}
					if err := g.b.DutySlot(sl, g.now); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
