package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/reading"
	"countycare/store"
)

// Orthanc (Debian's orthanc + orthanc-dicomweb) as a real DICOMweb peer.
const (
	orthancBin    = "/usr/sbin/Orthanc"
	orthancPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)

// orthanc is a running Orthanc on loopback.
type orthanc struct {
	t    *testing.T
	base string
}

func (o orthanc) call(method, path string, body any) (int, []byte) {
	o.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, o.base+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatalf("orthanc %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startOrthanc runs Orthanc with a temporary configuration: its own
// storage, a free HTTP port on loopback, the DICOM port off, the DICOMweb
// plugin with countycare configured as the server "countycare". It fails
// when Orthanc is not installed, unless COUNTYCARE_SKIP_ORTHANC=1 says to
// skip (make test never sets it).
func startOrthanc(t *testing.T, countycareURL, user, pass string) orthanc {
	t.Helper()
	for _, f := range []string{orthancBin, orthancPlugin} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("COUNTYCARE_SKIP_ORTHANC") == "1" {
				t.Skipf("SKIPPED: Orthanc is not installed (%v) and COUNTYCARE_SKIP_ORTHANC=1", err)
			}
			t.Fatalf("Orthanc is not installed (%v): apt-get install orthanc orthanc-dicomweb, or set COUNTYCARE_SKIP_ORTHANC=1 to skip", err)
		}
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := map[string]any{
		"Name": "countycare-peer", "StorageDirectory": filepath.Join(dir, "db"), "IndexDirectory": filepath.Join(dir, "db"),
		"HttpPort": port, "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomServerEnabled": false,
		"DicomPort": freePort(t), "Plugins": []string{orthancPlugin}, "HttpTimeout": 60,
		"DicomWeb": map[string]any{"Enable": true, "Root": "/dicom-web/",
			"Servers": map[string]any{"countycare": map[string]any{"Url": countycareURL + "/dicomweb/", "Username": user, "Password": pass}}},
	}
	b, _ := json.MarshalIndent(cfg, "", " ")
	path := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(orthancBin, path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("Orthanc log:\n%s", logs.String())
		}
	})
	o := orthanc{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(o.base + "/system")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Orthanc did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOrthancPeer: files from testdata/dicom are loaded into Orthanc,
// which pushes them to countycare with its DICOMweb client (STOW-RS);
// countycare files them under the resident; Orthanc then queries
// countycare (QIDO-RS) and retrieves a study from it (WADO-RS).
func TestOrthancPeer(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	vd, rd, admin := e.as(care.RoleVillageDoctor), e.as(care.RoleReader), e.as(care.RoleAdmin)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	clinic := me.Institution
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	var cred struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "orthanc-peer", "institution_id": clinic, "center_id": me.Institution})
	if r.code != 201 || json.Unmarshal([]byte(r.body), &cred) != nil {
		t.Fatalf("credential: %d %s", r.code, r.body)
	}
	var people struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q=").body), &people)
	p := people.Residents[1]
	var idn struct {
		IDNumber string `json:"id_number"`
	}
	json.Unmarshal([]byte(vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/reveal-id", p.ID), nil).body), &idn)

	o := startOrthanc(t, e.ts.URL, cred.Name, cred.Secret)

	// Two studies of the resident from the shared files, loaded into Orthanc.
	study1, study2 := "1.2.826.0.1.3680043.8.498.501", "1.2.826.0.1.3680043.8.498.502"
	pn := "Li^Hua=" + p.Name
	files := map[string][]byte{
		"ct1": relabel(t, sharedDICOM(t, "pydicom-CT_small.dcm"), idn.IDNumber, pn, study1, study1+".1", study1+".1.1"),
		"ct2": relabel(t, sharedDICOM(t, "pydicom-CT_small.dcm"), idn.IDNumber, pn, study1, study1+".1", study1+".1.2"),
		"mr":  relabel(t, sharedDICOM(t, "pydicom-MR_small.dcm"), idn.IDNumber, pn, study1, study1+".2", study1+".2.1"),
		"rgb": relabel(t, sharedDICOM(t, "pydicom-SC_rgb_jpeg_dcmd.dcm"), idn.IDNumber, pn, study2, study2+".1", study2+".1.1"),
	}
	orthancStudies := map[string]bool{}
	for name, b := range files {
		code, out := o.call("POST", "/instances", b)
		var res struct {
			ParentStudy string `json:"ParentStudy"`
		}
		if code != 200 || json.Unmarshal(out, &res) != nil {
			t.Fatalf("load %s into Orthanc: %d %s", name, code, out)
		}
		orthancStudies[res.ParentStudy] = true
	}
	var ids []string
	for id := range orthancStudies {
		ids = append(ids, id)
	}

	// Orthanc pushes both studies to countycare (STOW-RS).
	code, out := o.call("POST", "/dicom-web/servers/countycare/stow", map[string]any{"Resources": ids, "Synchronous": true})
	if code != 200 {
		t.Fatalf("Orthanc STOW to countycare: %d %s", code, out)
	}
	sts, err := e.st.SearchImagingStudies(ctx, reading.StudyQuery{CountyCode: "411723", Institutions: []int64{clinic}, Limit: 10, PatientID: idn.IDNumber})
	if err != nil || len(sts) != 2 {
		t.Fatalf("countycare stored %d studies (%v)", len(sts), err)
	}
	for _, st := range sts {
		want := map[string]int{study1: 3, study2: 1}[st.StudyUID]
		if st.InstanceCount != want || st.ResidentID != p.ID || st.ClinicID != clinic {
			t.Errorf("study %s: %+v", st.StudyUID, st)
		}
	}

	ins, err := e.st.ImagingInstancesOf(ctx, reading.InstanceQuery{CountyCode: "411723", StudyUID: study1})
	if err != nil || len(ins) != 3 || ins[0].DeviceID == 0 || ins[0].ClinicID != clinic {
		t.Errorf("instances of study 1: %v %+v", err, ins)
	}

	// Orthanc queries countycare (QIDO-RS) by the Chinese name and by ID.
	for _, args := range []map[string]string{{"PatientName": string([]rune(p.Name)[:1]) + "*"}, {"PatientID": idn.IDNumber, "ModalitiesInStudy": "MR"}} {
		code, out = o.call("POST", "/dicom-web/servers/countycare/qido", map[string]any{"Uri": "/studies", "Arguments": args})
		var found []map[string]any
		if code != 200 || json.Unmarshal(out, &found) != nil || len(found) == 0 {
			t.Fatalf("Orthanc QIDO %v: %d %s", args, code, out)
		}
		if !strings.Contains(string(out), study1) {
			t.Errorf("Orthanc QIDO %v: %s", args, out)
		}
	}

	// Orthanc forgets the studies, then retrieves one back from countycare (WADO-RS).
	for _, id := range ids {
		o.call("DELETE", "/studies/"+id, nil)
	}
	code, out = o.call("POST", "/dicom-web/servers/countycare/retrieve", map[string]any{"Resources": []map[string]string{{"Study": study1}}})
	if code != 200 {
		t.Fatalf("Orthanc retrieve from countycare: %d %s", code, out)
	}
	code, out = o.call("GET", "/instances", nil)
	var got []string
	if code != 200 || json.Unmarshal(out, &got) != nil || len(got) != 3 {
		t.Fatalf("Orthanc holds %s after the retrieve, want the 3 instances of study 1", out)
	}
	code, out = o.call("GET", "/instances/"+got[0]+"/simplified-tags", nil)
	if code != 200 || !strings.Contains(string(out), idn.IDNumber) || !strings.Contains(string(out), study1) {
		t.Errorf("retrieved instance: %s", out)
	}
}
