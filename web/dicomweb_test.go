package web_test

import (
	"bytes"
	"context"
	"countycare/internal/testfiles"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/store"
)

// sharedDICOM reads a file of the module's testdata/dicom.
func sharedDICOM(t testing.TB, name string) []byte {
	t.Helper()
	return testfiles.DICOM(t, name)
}

// relabel gives a shared file a patient and UIDs.
func relabel(t testing.TB, b []byte, pid, name, study, series, sop string) []byte {
	t.Helper()
	out, err := dicom.Rewrite(b, map[dicom.Tag]string{dicom.TagPatientID: pid, dicom.TagPatientName: name,
		dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: series, dicom.TagSOPInstanceUID: sop})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stowBody is a multipart/related request body of DICOM instances.
func stowBody(files ...[]byte) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		w.Write(f)
	}
	mw.Close()
	return b.Bytes(), `multipart/related; type="application/dicom"; boundary=` + mw.Boundary()
}

type device struct {
	e          *env
	user, pass string
}

func (d device) do(method, path, ctype string, body []byte, accept string) response {
	d.e.t.Helper()
	req, _ := http.NewRequest(method, d.e.ts.URL+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if d.user != "" {
		req.SetBasicAuth(d.user, d.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

// dicomAttrs is a DICOM JSON dataset.
type dicomAttrs map[string]struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value"`
	Bulk  string            `json:"BulkDataURI"`
}

func (a dicomAttrs) str(tag string) string {
	v := a[tag].Value
	if len(v) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v[0], &s) == nil {
		return s
	}
	return string(v[0])
}

func TestDICOMweb(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testDICOMweb(t, d) })
	}
}

// testDICOMweb: an administrator creates device credentials; a village
// clinic's gateway pushes a study (STOW-RS) with instances of its resident,
// of an unknown patient and a non-DICOM part; QIDO-RS finds it by Chinese
// name, ID, date range and modality; WADO-RS retrieves instances,
// metadata, frames and a rendered PNG; another clinic's device sees none
// of it; every access is audited.
func testDICOMweb(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	ctx := context.Background()
	vd, rd, admin := e.as(care.RoleVillageDoctor), e.as(care.RoleReader), e.as(care.RoleAdmin)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	clinic := me.Institution
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	center := me.Institution
	var insts struct {
		Institutions []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"institutions"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/institutions").body), &insts)
	var otherClinic, county int64
	for _, in := range insts.Institutions {
		if in.Kind == "village_clinic" && in.ID != clinic {
			otherClinic = in.ID
		}
		if in.Kind == "county" {
			county = in.ID
		}
	}

	// Credentials: administrators only; the secret is returned once.
	if r := vd.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "gw-1", "institution_id": clinic, "center_id": center}); r.code != 403 {
		t.Fatalf("village doctor creates a credential: %d", r.code)
	}
	if r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "x", "institution_id": clinic, "center_id": clinic}); r.code != 422 ||
		!strings.Contains(r.body, `"name"`) || !strings.Contains(r.body, `"center_id"`) {
		t.Fatalf("bad credential: %d %s", r.code, r.body)
	}
	// A device of the county itself would see every study under it.
	if r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "county-gw", "institution_id": county, "center_id": center}); county == 0 || r.code != 422 ||
		!strings.Contains(r.body, `"institution_id"`) {
		t.Fatalf("credential for the county (%d): %d %s", county, r.code, r.body)
	}
	var cred struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "village-gw", "institution_id": clinic, "center_id": center})
	if r.code != 201 || json.Unmarshal([]byte(r.body), &cred) != nil || len(cred.Secret) != 64 {
		t.Fatalf("create credential: %d %s", r.code, r.body)
	}
	if r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "village-gw", "institution_id": clinic, "center_id": center}); r.code != 409 {
		t.Errorf("duplicate name: %d", r.code)
	}
	r = admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "other-gw", "institution_id": otherClinic, "center_id": center})
	var other struct {
		Secret string `json:"secret"`
	}
	json.Unmarshal([]byte(r.body), &other)
	gw := device{e, cred.Name, cred.Secret}
	stranger := device{e, "other-gw", other.Secret}

	// A resident of the clinic, with the ID number the modality sends.
	var people struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q=").body), &people)
	if len(people.Residents) == 0 {
		t.Fatal("no residents")
	}
	p := people.Residents[0]
	var idn struct {
		IDNumber string `json:"id_number"`
	}
	json.Unmarshal([]byte(vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/reveal-id", p.ID), nil).body), &idn)
	if len(idn.IDNumber) != 18 {
		t.Fatalf("reveal: %+v", idn)
	}
	ct := sharedDICOM(t, "pydicom-CT_small.dcm")
	mr := sharedDICOM(t, "pydicom-MR_small.dcm")
	pn := "Zhang^San=" + p.Name
	study := "1.2.826.0.1.3680043.8.498.100"
	f1 := relabel(t, ct, idn.IDNumber, pn, study, study+".1", study+".1.1")
	f2 := relabel(t, ct, idn.IDNumber, pn, study, study+".1", study+".1.2")
	f3 := relabel(t, mr, idn.IDNumber, pn, study, study+".2", study+".2.1")
	stranger1 := relabel(t, ct, "110105194912310029", "Li^Si", study, study+".1", study+".1.9")

	// No or a wrong credential: 401 with a Basic challenge; nothing stored.
	body, ctype := stowBody(f1)
	if r := (device{e, "", ""}).do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous STOW: %d %v", r.code, r.header)
	}
	if r := (device{e, cred.Name, strings.Repeat("0", 64)}).do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 401 {
		t.Fatalf("wrong secret: %d", r.code)
	}
	// A browser session is no device credential.
	if r := vd.get("/dicomweb/studies"); r.code != 401 {
		t.Errorf("session on DICOMweb: %d", r.code)
	}

	// STOW-RS: three stored, two refused with reasons: 202.
	body, ctype = stowBody(f1, f2, f3, stranger1, []byte("not dicom at all"))
	r = gw.do("POST", "/dicomweb/studies", ctype, body, "application/dicom+json")
	if r.code != 202 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/dicom+json") {
		t.Fatalf("STOW: %d %s", r.code, r.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	stow := map[string]struct {
		Value []dicomAttrs `json:"Value"`
	}{}
	for _, k := range []string{"00081198", "00081199"} {
		v := stow[k]
		json.Unmarshal(raw[k], &v)
		stow[k] = v
	}
	if len(stow["00081199"].Value) != 3 || len(stow["00081198"].Value) != 2 {
		t.Fatalf("STOW answer: %s", r.body)
	}
	failed := stow["00081198"].Value
	if failed[0].str("00081155") != study+".1.9" || !strings.Contains(failed[0].str("00000902"), "110105194912310029") ||
		failed[0].str("00081197") != strconv.Itoa(reading.FailureProcessing) {
		t.Errorf("refused patient: %+v", failed[0])
	}
	if failed[1].str("00081197") != strconv.Itoa(reading.FailureCannotRead) {
		t.Errorf("not DICOM: %+v", failed[1])
	}
	// The same instance again: refused as a duplicate (409, all failed).
	body, ctype = stowBody(f1)
	if r := gw.do("POST", "/dicomweb/studies/"+study, ctype, body, ""); r.code != 409 || !strings.Contains(r.body, strconv.Itoa(reading.FailureDuplicate)) {
		t.Errorf("duplicate: %d %s", r.code, r.body)
	}
	// An instance of another study than the URL's.
	body, ctype = stowBody(relabel(t, ct, idn.IDNumber, pn, "1.2.3.4", "1.2.3.4.1", "1.2.3.4.1.1"))
	if r := gw.do("POST", "/dicomweb/studies/"+study, ctype, body, ""); r.code != 409 || !strings.Contains(r.body, strconv.Itoa(reading.FailureStudyMismatch)) {
		t.Errorf("other study: %d %s", r.code, r.body)
	}
	// A body cut off in the middle of its only part: 422, nothing stored.
	body, ctype = stowBody(relabel(t, ct, idn.IDNumber, pn, study, study+".1", study+".1.7"))
	if r := gw.do("POST", "/dicomweb/studies", ctype, body[:len(body)/2], ""); r.code != 422 || !strings.Contains(r.body, "dicomweb.bad_multipart") {
		t.Errorf("truncated body: %d %s", r.code, r.body)
	}
	if r := gw.do("POST", "/dicomweb/studies", "application/dicom", f1, ""); r.code != 415 {
		t.Errorf("not multipart: %d", r.code)
	}

	// QIDO-RS.
	qido := func(dv device, q string) []dicomAttrs {
		t.Helper()
		r := dv.do("GET", "/dicomweb/studies"+q, "", nil, "application/dicom+json")
		if r.code != 200 {
			t.Fatalf("QIDO %s: %d %s", q, r.code, r.body)
		}
		var out []dicomAttrs
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatalf("QIDO %s: %v %s", q, err, r.body)
		}
		return out
	}
	surname := string([]rune(p.Name)[:1])
	found := qido(gw, "?PatientName="+surname+"*")
	if len(found) != 1 || found[0].str("0020000D") != study || found[0].str("00201208") != "3" || found[0].str("00201206") != "2" {
		t.Fatalf("by Chinese name: %+v", found)
	}
	if !strings.Contains(string(found[0]["00100010"].Value[0]), `"Ideographic":"`+p.Name+`"`) {
		t.Errorf("PN groups: %s", found[0]["00100010"].Value[0])
	}
	date := found[0].str("00080020")
	for q, want := range map[string]int{
		"?PatientName=zhang*":                    1,
		"?PatientName=" + p.Name:                 1,
		"?00100010=Wang*":                        0,
		"?PatientID=" + idn.IDNumber:             1,
		"?PatientID=110105194912310029":          0,
		"?StudyDate=" + date:                     1,
		"?StudyDate=" + date + "-":               1,
		"?StudyDate=-19991231":                   0,
		"?ModalitiesInStudy=MR":                  1,
		"?ModalitiesInStudy=mr":                  1, // lower case matches on both databases
		"?ModalitiesInStudy=US":                  0,
		"?StudyInstanceUID=" + study:             1,
		"?StudyInstanceUID=1.2.3":                0,
		"?AccessionNumber=NOPE":                  0,
		"?limit=1&offset=1":                      0,
		"?includefield=all&fuzzymatching=false":  1,
		"?PatientName=*&includefield=00081030":   1,
		"?PatientName=Zhang%5ESan&limit=10":      1,
		"?PatientName=" + surname + "?&limit=10": map[bool]int{true: 1, false: 0}[len([]rune(p.Name)) == 2],
	} {
		if got := len(qido(gw, q)); got != want {
			t.Errorf("QIDO %s: %d studies, want %d", q, got, want)
		}
	}
	if r := gw.do("GET", "/dicomweb/studies?StudyDate=2024-01-01", "", nil, ""); r.code != 422 {
		t.Errorf("bad date: %d", r.code)
	}
	if r := gw.do("GET", "/dicomweb/studies?Foo=1", "", nil, ""); r.code != 200 || r.header.Get("Warning") == "" {
		t.Errorf("unsupported key: %d %v", r.code, r.header)
	}
	var series []dicomAttrs
	json.Unmarshal([]byte(gw.do("GET", "/dicomweb/studies/"+study+"/series", "", nil, "").body), &series)
	if len(series) != 2 || series[0].str("00201209") != "2" {
		t.Errorf("series: %+v", series)
	}
	var insts2 []dicomAttrs
	json.Unmarshal([]byte(gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances", "", nil, "").body), &insts2)
	if len(insts2) != 2 || insts2[0].str("00080018") != study+".1.1" || insts2[0].str("00280010") != "128" {
		t.Errorf("instances: %+v", insts2)
	}

	// WADO-RS: the study as multipart/related application/dicom, byte for byte.
	r = gw.do("GET", "/dicomweb/studies/"+study, "", nil, `multipart/related; type="application/dicom"`)
	mt, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if r.code != 200 || mt != "multipart/related" || params["type"] != "application/dicom" {
		t.Fatalf("WADO study: %d %v", r.code, r.header)
	}
	mrd := multipart.NewReader(strings.NewReader(r.body), params["boundary"])
	var parts [][]byte
	for {
		part, err := mrd.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(part)
		parts = append(parts, b)
	}
	if len(parts) != 3 || !bytes.Equal(parts[0], f1) && !bytes.Equal(parts[0], f2) {
		t.Fatalf("WADO parts: %d", len(parts))
	}
	r = gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".2/instances/"+study+".2.1", "", nil, "")
	if r.code != 200 || !strings.Contains(r.body, "DICM") {
		t.Errorf("WADO instance: %d", r.code)
	}
	if r := gw.do("GET", "/dicomweb/studies/"+study, "", nil, "application/json"); r.code != 415 {
		t.Errorf("unacceptable Accept: %d", r.code)
	}
	var meta []dicomAttrs
	r = gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances/"+study+".1.1/metadata", "", nil, "")
	if err := json.Unmarshal([]byte(r.body), &meta); err != nil || len(meta) != 1 {
		t.Fatalf("metadata: %d %s", r.code, r.body[:min(len(r.body), 300)])
	}
	if meta[0].str("00100020") != idn.IDNumber || meta[0].str("00280010") != "128" || !strings.HasSuffix(meta[0]["7FE00010"].Bulk, "/frames/1") {
		t.Errorf("metadata: %v %v %v", meta[0]["00100020"], meta[0]["00280010"], meta[0]["7FE00010"])
	}
	r = gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances/"+study+".1.1/frames/1", "", nil, "")
	if r.code != 200 || !strings.Contains(r.header.Get("Content-Type"), "multipart/related") || len(r.body) < 128*128*2 {
		t.Errorf("frames: %d %d", r.code, len(r.body))
	}
	if r := gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances/"+study+".1.1/frames/2", "", nil, ""); r.code != 404 {
		t.Errorf("frame 2 of 1: %d", r.code)
	}
	r = gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances/"+study+".1.1/rendered", "", nil, "image/png")
	if r.code != 200 || !strings.HasPrefix(r.body, "\x89PNG") {
		t.Errorf("rendered: %d %s", r.code, r.header.Get("Content-Type"))
	}
	r = gw.do("GET", "/dicomweb/studies/"+study+"/series/"+study+".1/instances/"+study+".1.1/frames/1/rendered", "", nil, "image/jpeg")
	if r.code != 200 || r.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("rendered JPEG: %d %s", r.code, r.header.Get("Content-Type"))
	}

	// Another clinic's device sees nothing of it: empty search, 404.
	if n := len(qido(stranger, "")); n != 0 {
		t.Errorf("other clinic sees %d studies", n)
	}
	if r := stranger.do("GET", "/dicomweb/studies/"+study, "", nil, ""); r.code != 404 {
		t.Errorf("other clinic retrieves: %d", r.code)
	}
	if r := stranger.do("GET", "/dicomweb/studies/"+study+"/series", "", nil, ""); r.code != 404 {
		t.Errorf("other clinic series: %d", r.code)
	}
	// And it cannot push for a resident outside its scope.
	body, ctype = stowBody(relabel(t, ct, idn.IDNumber, pn, "1.2.5", "1.2.5.1", "1.2.5.1.1"))
	if r := stranger.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 409 {
		t.Errorf("other clinic pushes our resident: %d %s", r.code, r.body)
	}

	// An administrator disables the other clinic's credential: refused at once; re-enabled: accepted.
	var clients struct {
		Clients []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"clients"`
	}
	json.Unmarshal([]byte(admin.get("/api/v1/dicomweb/clients").body), &clients)
	var otherID int64
	for _, c := range clients.Clients {
		if c.Name == "other-gw" {
			otherID = c.ID
		}
	}
	if r := admin.postJSON(fmt.Sprintf("/api/v1/dicomweb/clients/%d/disable", otherID), nil); r.code != 200 {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	if r := stranger.do("GET", "/dicomweb/studies", "", nil, ""); r.code != 401 {
		t.Errorf("disabled credential: %d", r.code)
	}
	if r := vd.postJSON(fmt.Sprintf("/api/v1/dicomweb/clients/%d/enable", otherID), nil); r.code != 403 {
		t.Errorf("village doctor enables: %d", r.code)
	}
	admin.postJSON(fmt.Sprintf("/api/v1/dicomweb/clients/%d/enable", otherID), nil)
	if r := stranger.do("GET", "/dicomweb/studies", "", nil, ""); r.code != 200 {
		t.Errorf("re-enabled credential: %d", r.code)
	}

	// The resident's imaging page lists the study with previews; the
	// reader of the center sees it too (care link of the study).
	page := vd.get(fmt.Sprintf("/residents/%d/imaging", p.ID))
	if page.code != 200 || strings.Count(page.body, "/preview\"") != 3 {
		t.Errorf("imaging page: %d %d previews", page.code, strings.Count(page.body, "/preview\""))
	}
	if r := rd.get(fmt.Sprintf("/residents/%d/imaging", p.ID)); r.code != 200 {
		t.Errorf("reader's imaging page: %d", r.code)
	}

	e.writer.Flush(ctx)
	for act, want := range map[string]int{reading.ActSTOW: 3, reading.ActClientDenied: 4} {
		evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: act})
		ok := 0
		for _, ev := range evs {
			if ev.Outcome == audit.OutcomeOK || act == reading.ActClientDenied {
				ok++
			}
		}
		if ok != want {
			t.Errorf("audit %s: %d rows, want %d", act, ok, want)
		}
	}
	evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: reading.ActQIDO})
	if len(evs) < 10 {
		t.Errorf("QIDO audit rows: %d", len(evs))
	}
	evs, _ = e.st.SearchAudit(ctx, audit.Filter{Action: reading.ActWADO})
	qevs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: reading.ActQIDO})
	denied := 0
	for _, ev := range append(evs, qevs...) {
		if ev.Outcome == audit.OutcomeDenied && ev.ResidentID == p.ID {
			denied++
		}
	}
	if denied < 2 {
		t.Errorf("denied WADO rows: %d", denied)
	}
}

// TestImagingUploadPage: a village doctor uploads several files at once
// from the page (one of another patient: refused with the reason, the
// rest stored) and through the API; the preview renders.
func TestImagingUploadPage(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd, rd := e.as(care.RoleVillageDoctor), e.as(care.RoleReader)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	var people struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q=").body), &people)
	p := people.Residents[0]
	ct := sharedDICOM(t, "pydicom-CT_small.dcm")
	mine := relabel(t, ct, "", p.Name, "1.2.9", "1.2.9.1", "1.2.9.1.1")
	theirs := sharedDICOM(t, "pydicom-MR_small.dcm")
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", vd.csrf)
	mw.WriteField("center_id", strconv.FormatInt(me.Institution, 10))
	for name, f := range map[string][]byte{"mine.dcm": mine, "theirs.dcm": theirs} {
		w, _ := mw.CreateFormFile("files", name)
		w.Write(f)
	}
	mw.Close()
	r := vd.do("POST", fmt.Sprintf("/residents/%d/imaging", p.ID), mw.FormDataContentType(), b.Bytes(), nil)
	if r.code != 422 || !strings.Contains(r.body, "CompressedSamples^MR1") || strings.Count(r.body, "/preview\"") != 1 {
		t.Fatalf("page upload: %d %s", r.code, r.body)
	}
	// Confirmed through the API: stored and flagged.
	r = vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/imaging", p.ID), map[string]any{"center_id": me.Institution, "confirm_mismatch": true,
		"files": []map[string]any{{"name": "theirs.dcm", "data": theirs}}})
	if r.code != 201 || !strings.Contains(r.body, `"mismatch":"the file`) {
		t.Fatalf("API upload: %d %s", r.code, r.body)
	}
	r = vd.get(fmt.Sprintf("/api/v1/residents/%d/imaging", p.ID))
	var list struct {
		Studies []struct {
			Files []struct {
				ID int64 `json:"id"`
			} `json:"files"`
		} `json:"studies"`
	}
	if json.Unmarshal([]byte(r.body), &list) != nil || len(list.Studies) != 2 {
		t.Fatalf("list: %s", r.body)
	}
	r = vd.get(fmt.Sprintf("/residents/%d/imaging/%d/preview", p.ID, list.Studies[0].Files[0].ID))
	if r.code != 200 || !strings.HasPrefix(r.body, "\x89PNG") {
		t.Errorf("preview: %d", r.code)
	}
	// Another village's doctor or an analyst: 404 / 403.
	if r := e.as(care.RoleAnalyst).get(fmt.Sprintf("/residents/%d/imaging", p.ID)); r.code != 403 {
		t.Errorf("analyst: %d", r.code)
	}
}
