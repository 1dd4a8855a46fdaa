package main

// The requests of each kind of event of the county-year replay
// (countycare bench replay, benchreplay.go): who sends what, and how each
// answer is checked.

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"countycare/care"
	"countycare/demo"
	"countycare/dicom"
	"countycare/internal/replay"
)

// replayRx are the prescriptions the replay signs: a single
// antihypertensive, which the review passes, and three of them together,
// which it flags for the pharmacist (as TestPrescriptionQueue shows).
func replayRx(flagged bool) map[string]any {
	line := func(code string, dose float64) map[string]any {
		return map[string]any{"drug_code": code, "dose": dose, "dose_unit": "mg", "frequency": "qd", "route": "po", "days": 7, "quantity": 7, "diagnosis": "I10"}
	}
	lines := []any{line("amlodipine-5t", 5)}
	if flagged {
		lines = append(lines, line("enalapril-10t", 10), line("losartan-50t", 50))
	}
	return map[string]any{"kind": "normal", "diagnoses": []string{"I10"}, "patient": map[string]any{"weight_kg": 60}, "lines": lines}
}

func (r *replayer) prescription(cl *replayClinician, srv int, e replay.Event) {
	var out struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		Version int    `json:"version"`
	}
	flagged := e.Seq%6 == 0 // one in six goes to a pharmacist
	if r.do("prescription.sign", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(cl.resident(), 10)+"/prescriptions", replayRx(flagged), http.StatusCreated, &out, wantID(&out.ID)) != nil {
		return
	}
	r.record(e.Kind, out.ID)
	if out.Status != "pending" {
		return
	}
	var dec struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	r.do("prescription.decide", r.pharmacist[srv], "POST", "/api/v1/prescriptions/"+strconv.FormatInt(out.ID, 10)+"/decision",
		map[string]any{"decision": "approved", "version": out.Version}, http.StatusOK, &dec, func() error {
			if dec.ID != out.ID || dec.Status == "pending" {
				return fmt.Errorf("decision on %d answered prescription %d, status %q", out.ID, dec.ID, dec.Status)
			}
			return nil
		})
}

// replaySettlement is a 10-line visit of resident rid at hospital hosp.
func replaySettlement(rid, hosp int64, day care.Date, i int) map[string]any {
	lines := make([]map[string]string, 10)
	for j := range lines {
		lines[j] = map[string]string{"code": fmt.Sprintf("X%02d", j), "name": "item", "class": []string{"drug", "exam", "material", "treatment"}[j%4],
			"category": []string{"A", "A", "B", "C"}[j%4], "amount": fmt.Sprintf("%d.%02d", 50+(i*31+j*97)%900, j)}
	}
	return map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": fmt.Sprintf("R%d-%d", time.Now().UnixNano(), i),
		"date": day.String(), "visit_type": []string{"inpatient", "outpatient"}[i%2], "lines": lines}
}

func (r *replayer) followUp(cl *replayClinician, e replay.Event) {
	day := r.date(e)
	var reg *replayRegistration
	for i := range cl.chronic {
		if cl.chronic[i].last.Before(day) {
			reg = &cl.chronic[i]
			break
		}
	}
	if reg == nil {
		var out struct {
			ID int64 `json:"id"`
		}
		enrolled := r.first.AddDays(-30)
		rid, err := cl.freshResident("chronic", r.setup.registered)
		if err != nil {
			r.fail("chronic.enrol", err)
			return
		}
		if r.do("chronic.enrol", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(rid, 10)+"/chronic",
			map[string]any{"disease": "hypertension", "source": "diagnosis", "enrolled_on": enrolled.String()}, http.StatusCreated, &out, wantID(&out.ID)) != nil {
			return
		}
		cl.chronic = append(cl.chronic, replayRegistration{id: out.ID})
		reg = &cl.chronic[len(cl.chronic)-1]
	}
	var out struct {
		ID int64 `json:"id"`
	}
	sbp := 120 + (e.Seq*7)%50
	if r.do("chronic.visit", cl.c, "POST", "/api/v1/chronic/"+strconv.FormatInt(reg.id, 10)+"/visits",
		map[string]any{"date": day.String(), "sbp": sbp, "dbp": 70 + (e.Seq*3)%30}, http.StatusCreated, &out, wantID(&out.ID)) == nil {
		reg.last = day
		r.record(e.Kind, out.ID)
	}
}

// contract signs a family doctor contract for the clinician's next resident.
func (r *replayer) contract(cl *replayClinician, e replay.Event) int64 {
	rid, err := cl.freshResident("contract", nil)
	if err != nil {
		r.fail("family.contract", err)
		return 0
	}
	var out struct {
		ID int64 `json:"id"`
	}
	start := r.date(e)
	body := map[string]any{"team_id": cl.team, "package_id": r.pkg, "start": start.String(), "end": start.AddDays(364).String(),
		"consent_by": "self", "consent_method": "phone_signature", "consent_at": time.Now().Add(-time.Minute)}
	if r.do("family.contract", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(rid, 10)+"/family/contracts", body, http.StatusCreated, &out, wantID(&out.ID)) != nil {
		return 0
	}
	r.record(replay.Contract, out.ID)
	cl.signed = append(cl.signed, rid)
	return rid
}

// service records a home visit or a check-up for a resident under contract.
func (r *replayer) service(cl *replayClinician, e replay.Event) {
	day := r.date(e)
	rid := int64(0)
	for _, x := range cl.signed {
		if e.Kind == replay.Checkup && cl.checked[x] || cl.served[x] == day {
			continue
		}
		rid = x
		break
	}
	if rid == 0 {
		if rid = r.contract(cl, e); rid == 0 {
			return
		}
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if r.do("family.service", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(rid, 10)+"/family/services",
		map[string]any{"kind": string(e.Kind), "date": day.String()}, http.StatusCreated, &out, wantID(&out.ID)) == nil {
		cl.served[rid] = day
		if e.Kind == replay.Checkup {
			cl.checked[rid] = true
		}
		r.record(e.Kind, out.ID)
	}
}

func (r *replayer) consultation(cl *replayClinician, srv int, e replay.Event) {
	var c struct {
		ID         int64  `json:"id"`
		AssignedTo int64  `json:"assigned_to"`
		Status     string `json:"status"`
	}
	body := map[string]any{"resident_id": cl.resident(), "kind": "one_to_one", "urgency": "routine", "to_institution": r.setup.hospital,
		"specialty": "cardiology", "reason": "血压控制不佳", "purpose": "调整用药", "summary": "规律服药三个月血压仍 160/100",
		"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}}
	if r.do("consultation.create", cl.c, "POST", "/api/v1/consultations", body, http.StatusCreated, &c, wantID(&c.ID)) != nil {
		return
	}
	r.record(e.Kind, c.ID)
	sp := r.cardio[c.AssignedTo]
	if sp == nil {
		r.do("consultation.accept", cl.c, "GET", "/api/v1/consultations/"+strconv.FormatInt(c.ID, 10), nil, http.StatusOK, nil, func() error {
			return fmt.Errorf("consultation %d is assigned to practitioner %d, not a cardiologist of the county hospital", c.ID, c.AssignedTo)
		})
		return
	}
	path := "/api/v1/consultations/" + strconv.FormatInt(c.ID, 10)
	var st struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	check := func(want string) func() error {
		return func() error {
			if st.ID != c.ID || st.Status != want {
				return fmt.Errorf("consultation %d: answered %d in status %q, want %q", c.ID, st.ID, st.Status, want)
			}
			return nil
		}
	}
	if r.do("consultation.accept", sp[srv], "POST", path+"/accept", nil, http.StatusOK, &st, check("accepted")) != nil {
		return
	}
	r.do("consultation.opinion", sp[srv], "POST", path+"/opinion", map[string]any{"assessment": "原发性高血压 2 级，控制不佳", "diagnosis_code": "I10",
		"plan": "加用氢氯噻嗪 12.5 mg qd，两周后复测"}, http.StatusOK, &st, check("answered"))
}

func (r *replayer) referral(cl *replayClinician, srv int, e replay.Event) {
	var out struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	body := map[string]any{"resident_id": cl.resident(), "reasons": []string{"htn_not_at_target"}, "summary": "规律服药三个月血压仍 170/105",
		"urgency": "routine", "to_institution": r.setup.hospital, "to_department": r.setup.cardiology,
		"idempotency_key": fmt.Sprintf("replay-%d-%d", time.Now().UnixNano(), e.Seq)}
	if r.do("referral.create", cl.c, "POST", "/api/v1/referrals", body, http.StatusCreated, &out, wantID(&out.ID)) != nil {
		return
	}
	r.record(e.Kind, out.ID)
	id := out.ID
	r.do("referral.accept", r.specialist[srv], "POST", "/api/v1/referrals/"+strconv.FormatInt(id, 10)+"/accept",
		map[string]any{"appointment": time.Now().Add(24 * time.Hour)}, http.StatusOK, &out, func() error {
			if out.ID != id || out.Status != "accepted" {
				return fmt.Errorf("referral %d: answered %d in status %q", id, out.ID, out.Status)
			}
			return nil
		})
}

// syntheticECG is a 10-s one-lead recording at 250 Hz as CSV, a narrow
// Gaussian spike per beat at the RR intervals rr (seconds): what the
// pre-read's QRS detector finds as beats (the web tests' ECGs).
func syntheticECG(rr []float64) []byte {
	var beats []float64
	t := 0.5
	for _, x := range append([]float64{0}, rr...) {
		t += x
		beats = append(beats, t)
	}
	var b bytes.Buffer
	b.WriteString("time,II\n")
	for i := 0; i < int((t+1)*250); i++ {
		x := float64(i) / 250
		v := 0.0
		for _, c := range beats {
			v += math.Exp(-(x - c) * (x - c) / (2 * 0.012 * 0.012))
		}
		fmt.Fprintf(&b, "%.3f,%.4f\n", x, v)
	}
	return b.Bytes()
}

// ecgRead: the village doctor sends an ECG to the center; a reader finds
// it on the worklist, claims it and signs a report.
func (r *replayer) ecgRead(cl *replayClinician, w int, e replay.Event) {
	var up struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	body := map[string]any{"center_id": r.setup.ecgCenter, "signal_name": "replay.csv", "signal": r.ecgs[e.Seq%len(r.ecgs)]}
	if r.do("ecg.upload", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(cl.resident(), 10)+"/ecg", body, http.StatusCreated, &up, wantID(&up.ID)) != nil {
		return
	}
	r.record(e.Kind, up.ID)
	rd := r.readers[w%len(r.readers)]
	var wl struct {
		Studies []struct {
			ID        int64  `json:"id"`
			SourceKey string `json:"source_key"`
		} `json:"studies"`
	}
	sid := int64(0)
	if r.do("reading.worklist", rd, "GET", "/api/v1/reading/worklist?modality=ECG", nil, http.StatusOK, &wl, func() error {
		for _, s := range wl.Studies {
			if s.SourceKey == strconv.FormatInt(up.ID, 10) {
				sid = s.ID
				return nil
			}
		}
		return fmt.Errorf("ECG %d is not on the center's worklist of %d studies", up.ID, len(wl.Studies))
	}) != nil {
		return
	}
	r.claimAndReport(rd, sid, map[string]string{"rhythm": "窦性心律", "rate": "70", "qrs": "88", "conclusion": "正常心电图"})
}

// claimAndReport: reader rd claims study sid and signs a normal report
// with fields.
func (r *replayer) claimAndReport(rd *replayClient, sid int64, fields map[string]string) {
	path := "/api/v1/reading/studies/" + strconv.FormatInt(sid, 10)
	var st struct {
		Study struct {
			ID int64 `json:"id"`
		} `json:"study"`
		Report struct {
			ID int64 `json:"id"`
		} `json:"report"`
	}
	if r.do("reading.claim", rd, "POST", path+"/claim", nil, http.StatusOK, &st, func() error {
		if st.Study.ID != sid {
			return fmt.Errorf("claim of study %d answered study %d", sid, st.Study.ID)
		}
		return nil
	}) != nil {
		return
	}
	r.do("reading.report", rd, "POST", path+"/report", map[string]any{"fields": fields, "normal": true}, http.StatusCreated, &st, wantID(&st.Report.ID))
}

// replayTemplate is a report template as GET /api/v1/reading/templates gives it.
type replayTemplate struct {
	Fields []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Min  int    `json:"min"`
		Max  int    `json:"max"`
	} `json:"fields"`
}

// report fills every field of the template: the least value of a number,
// a short normal finding as text.
func (t replayTemplate) report() map[string]string {
	out := map[string]string{}
	for _, f := range t.Fields {
		if f.Type == "int" {
			out[f.Name] = strconv.Itoa(f.Min)
			continue
		}
		v := "未见明显异常"
		if f.Max > 0 && utf8.RuneCountInString(v) > f.Max {
			v = string([]rune(v)[:f.Max])
		}
		out[f.Name] = v
	}
	return out
}

// replayDICOM is a real DICOM file (one of the demo's embedded samples)
// sent again and again, each time as a new study (dicom.Rewrite gives it
// new study, series and instance UIDs).
type replayDICOM struct {
	file  []byte
	stamp int64 // this run's UIDs' part (2.25.<stamp>.<n>)
	mu    sync.Mutex
	n     int
}

func newReplayDICOM(name string) (*replayDICOM, error) {
	b, err := demo.SampleDICOM(name)
	if err != nil {
		return nil, err
	}
	return &replayDICOM{file: b, stamp: time.Now().UnixNano()}, nil
}

// next is the file as a new study, with its study UID.
func (d *replayDICOM) next() ([]byte, string, error) {
	d.mu.Lock()
	d.n++
	n := d.n
	d.mu.Unlock()
	study := fmt.Sprintf("2.25.%d.%d", d.stamp, n)
	b, err := dicom.Rewrite(d.file, map[dicom.Tag]string{dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: study + ".1",
		dicom.TagSOPInstanceUID: study + ".1.1"})
	return b, study, err
}

// imagingRead: the clinic uploads a DR study to the imaging center; a
// radiologist finds it on the worklist, claims it and signs the report of
// its modality's template.
func (r *replayer) imagingRead(cl *replayClinician, w int, e replay.Event) {
	file, studyUID, err := r.dicom.next()
	if err != nil {
		r.fail("imaging.upload", err)
		return
	}
	var up struct {
		Results []struct {
			Stored   bool `json:"stored"`
			Instance struct {
				ID       int64  `json:"id"`
				StudyUID string `json:"study_uid"`
			} `json:"instance"`
		} `json:"results"`
	}
	body := map[string]any{"center_id": r.setup.imgCenter, "confirm_mismatch": true, "files": []map[string]any{{"name": "dr.dcm", "data": file}}}
	if r.do("imaging.upload", cl.c, "POST", "/api/v1/residents/"+strconv.FormatInt(cl.resident(), 10)+"/imaging", body, http.StatusCreated, &up, func() error {
		if len(up.Results) != 1 || !up.Results[0].Stored || up.Results[0].Instance.ID <= 0 || up.Results[0].Instance.StudyUID != studyUID {
			return fmt.Errorf("the upload of study %s answered %+v", studyUID, up.Results)
		}
		return nil
	}) != nil {
		return
	}
	r.record(e.Kind, up.Results[0].Instance.ID)
	rd := r.radiology[w%len(r.radiology)]
	var wl struct {
		Studies []struct {
			ID        int64  `json:"id"`
			SourceKey string `json:"source_key"`
			Modality  string `json:"modality"`
		} `json:"studies"`
	}
	sid, mod := int64(0), ""
	if r.do("reading.worklist", rd, "GET", "/api/v1/reading/worklist", nil, http.StatusOK, &wl, func() error {
		for _, s := range wl.Studies {
			if s.SourceKey == studyUID {
				sid, mod = s.ID, s.Modality
				return nil
			}
		}
		return fmt.Errorf("study %s is not on the imaging center's worklist of %d studies", studyUID, len(wl.Studies))
	}) != nil {
		return
	}
	tpl, ok := r.templates[mod]
	if !ok {
		r.fail("reading.report", fmt.Errorf("no report template for modality %q", mod))
		return
	}
	r.claimAndReport(rd, sid, tpl.report())
}
