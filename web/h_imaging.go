package web

import (
	"bytes"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/dicom"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
)

// MaxImagingUploadBytes bounds one upload request of the imaging page and
// API (several files; each is bounded by reading.MaxDICOMBytes).
const MaxImagingUploadBytes = 512 << 20

// imagingResult is the outcome of one uploaded file.
type imagingResult struct {
	Name      string
	Instance  *reading.ImagingInstance
	Error     *care.Error
	ErrorText string
}

// imagingView is a resident's imaging page: studies, instances, upload form.
type imagingView struct {
	R         *resident.Resident
	Centers   []*org.Institution
	Studies   []reading.ImagingStudy
	Instances map[string][]reading.ImagingInstance // by study UID
	Results   []imagingResult
	CanUpload bool
	// ResumeHours: as ecgUploadView's.
	ResumeHours int
}

func (s *Server) imagingData(r *http.Request, rc *reqCtx) (*imagingView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, sts, ins, err := s.DICOMweb.ResidentImaging(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	v := &imagingView{R: res, Studies: sts, Instances: map[string][]reading.ImagingInstance{},
		CanUpload: rc.Actor.Role == care.RoleVillageDoctor || rc.Actor.Role == care.RoleTownshipDoctor, ResumeHours: s.resumeHours()}
	for _, in := range ins {
		v.Instances[in.StudyUID] = append(v.Instances[in.StudyUID], in)
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	for _, in := range t.OfKind(0, org.KindDiagnosis) {
		if in.CountyCode == res.CountyCode {
			v.Centers = append(v.Centers, in)
		}
	}
	sort.SliceStable(v.Centers, func(i, j int) bool { return v.Centers[i].Name < v.Centers[j].Name })
	return v, nil
}

func (s *Server) imagingPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.imagingData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "imaging", pageData{Title: s.msgs.T(rc.Lang, "imaging.title"), Data: v})
	return nil
}

// uploadEach sends each file through ImagingService.UploadDICOM and keeps
// every outcome: a refused file is listed with its reason, never dropped.
func (s *Server) uploadEach(r *http.Request, rc *reqCtx, residentID, centerID int64, confirm bool, names []string, files [][]byte) ([]imagingResult, error) {
	out := make([]imagingResult, len(files))
	for i, b := range files {
		out[i].Name = names[i]
		in, err := s.Imaging.UploadDICOM(r.Context(), rc.Actor, residentID, reading.DICOMUpload{CenterID: centerID, Name: names[i], File: b, ConfirmMismatch: confirm})
		var ce *care.Error
		switch {
		case err == nil:
			out[i].Instance = in
		case errors.As(err, &ce) && ce.Code != care.EINTERNAL && ce.Code != care.ENOTFOUND:
			out[i].Error = ce
			out[i].ErrorText = s.msgs.T(rc.Lang, ce.Key, ce.Args...)
		default:
			return nil, err
		}
	}
	return out, nil
}

// imagingUpload: POST /residents/{id}/imaging, multipart: center_id,
// confirm_mismatch, and one or more "files".
func (s *Server) imagingUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.imagingData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "imaging.title"), Data: v}
	var fs []care.FieldError
	center := formInt(r.FormValue("center_id"), "center_id", &fs)
	var names []string
	var files [][]byte
	if r.MultipartForm != nil {
		for _, h := range r.MultipartForm.File["files"] {
			f, err := h.Open()
			if err != nil {
				fs = append(fs, care.FieldError{Field: "files", Key: "imaging.file_unreadable"})
				continue
			}
			b, err := readUpload(f, h.Size, reading.MaxDICOMBytes)
			f.Close()
			if err != nil {
				fs = append(fs, care.FieldError{Field: "files", Key: "imaging.file_unreadable"})
				continue
			}
			names, files = append(names, h.Filename), append(files, b)
		}
	}
	if len(files) == 0 && len(fs) == 0 {
		fs = append(fs, care.FieldError{Field: "files", Key: "field.required"})
	}
	if err := care.Invalid(fs); err != nil {
		return s.formError(w, r, rc, "imaging", d, err)
	}
	v.Results, err = s.uploadEach(r, rc, v.R.ID, center, r.FormValue("confirm_mismatch") == "1", names, files)
	if err != nil {
		return err
	}
	// Reload the lists with what was stored (the same request's audit covers it).
	if nv, err := s.imagingData(r, rc); err == nil {
		nv.Results = v.Results
		d.Data = nv
	}
	d.Form = r.PostForm
	status := http.StatusOK
	for _, res := range v.Results {
		if res.Error != nil {
			status = http.StatusUnprocessableEntity
		}
	}
	s.render(w, r, rc, status, "imaging", d)
	return nil
}

// imagingPreview: GET /residents/{id}/imaging/{iid}/preview, the first
// frame as PNG; 404 when the server cannot preview it.
func (s *Server) imagingPreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	iid, err := strconv.ParseInt(r.PathValue("iid"), 10, 64)
	if err != nil || iid <= 0 {
		return notFound()
	}
	b, err := s.DICOMweb.ResidentInstanceFile(r.Context(), rc.Actor, id, iid)
	if err != nil {
		return err
	}
	f, err := dicom.Parse(b)
	if err != nil {
		return notFound()
	}
	img, err := dicom.Render(f, 0, nil)
	if err != nil {
		return notFound()
	}
	var buf bytes.Buffer
	if err := dicom.EncodePNG(&buf, img); err != nil {
		return care.Internal("web.imagingPreview", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(buf.Bytes())
	return nil
}

func apiInstance(in *reading.ImagingInstance) map[string]any {
	return map[string]any{"id": in.ID, "study_uid": in.StudyUID, "series_uid": in.SeriesUID, "sop_uid": in.SOPUID, "modality": in.Modality,
		"study_date": in.StudyDate, "rows": in.Rows, "columns": in.Columns, "frames": in.Frames, "transfer_syntax": in.TransferSyntax,
		"mismatch": in.Mismatch, "no_preview": in.NoPreview, "center_id": in.CenterID, "status": in.Status, "uploaded_at": in.UploadedAt,
		"file_patient_name": in.FilePatientName}
}

// apiImagingList: GET /api/v1/residents/{id}/imaging, the resident's studies and instances.
func (s *Server) apiImagingList(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, sts, ins, err := s.DICOMweb.ResidentImaging(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	studies := make([]map[string]any, 0, len(sts))
	for _, st := range sts {
		var list []map[string]any
		for i := range ins {
			if ins[i].StudyUID == st.StudyUID {
				list = append(list, apiInstance(&ins[i]))
			}
		}
		studies = append(studies, map[string]any{"study_uid": st.StudyUID, "study_date": st.StudyDate, "modalities": st.Modalities,
			"accession": st.Accession, "description": st.Description, "series": st.SeriesCount, "instances": st.InstanceCount,
			"clinic_id": st.ClinicID, "center_id": st.CenterID, "files": list})
	}
	writeJSON(w, http.StatusOK, map[string]any{"studies": studies})
	return nil
}

// apiImagingUpload: POST /api/v1/residents/{id}/imaging with
// {"center_id", "confirm_mismatch", "files": [{"name", "data"}]}, data
// base64. Every file gets a result: the stored instance or the error
// (201 when all were stored, 422 otherwise).
func (s *Server) apiImagingUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		CenterID        int64 `json:"center_id"`
		ConfirmMismatch bool  `json:"confirm_mismatch"`
		Files           []struct {
			Name string `json:"name"`
			Data []byte `json:"data"`
		} `json:"files"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Files) == 0 {
		return care.Invalid([]care.FieldError{{Field: "files", Key: "field.required"}})
	}
	if _, err := s.Residents.Get(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	names := make([]string, len(in.Files))
	files := make([][]byte, len(in.Files))
	for i, f := range in.Files {
		names[i], files[i] = f.Name, f.Data
	}
	res, err := s.uploadEach(r, rc, id, in.CenterID, in.ConfirmMismatch, names, files)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(res))
	status := http.StatusCreated
	for i, x := range res {
		if x.Instance != nil {
			out[i] = map[string]any{"name": x.Name, "stored": true, "instance": apiInstance(x.Instance)}
			continue
		}
		status = http.StatusUnprocessableEntity
		out[i] = map[string]any{"name": x.Name, "stored": false, "error": map[string]any{"code": x.Error.Code, "key": x.Error.Key, "message": x.ErrorText}}
	}
	writeJSON(w, status, map[string]any{"results": out})
	return nil
}

// dicomwebView is the administrator's page of device credentials.
type dicomwebView struct {
	Clients      []reading.DICOMwebClient
	Institutions []*org.Institution
	Centers      []*org.Institution
	Created      *reading.DICOMwebClient
	Secret       string // shown once, right after creation
}

func (s *Server) dicomwebData(r *http.Request, rc *reqCtx) (*dicomwebView, error) {
	cs, err := s.DICOMweb.Clients(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &dicomwebView{Clients: cs}
	for _, k := range []org.Kind{org.KindVillageClinic, org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter, org.KindCountyHospital, org.KindDiagnosis} {
		v.Institutions = append(v.Institutions, t.OfKind(0, k)...)
	}
	v.Centers = t.OfKind(0, org.KindDiagnosis)
	return v, nil
}

func (s *Server) dicomwebClientsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.dicomwebData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "dicomweb_clients", pageData{Title: s.msgs.T(rc.Lang, "dicomweb.clients_title"), Data: v})
	return nil
}

func (s *Server) dicomwebClientCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	inst := formInt(r.PostFormValue("institution_id"), "institution_id", &fs)
	center := formInt(r.PostFormValue("center_id"), "center_id", &fs)
	err := care.Invalid(fs)
	var c *reading.DICOMwebClient
	var secret string
	if err == nil {
		c, secret, err = s.DICOMweb.CreateClient(r.Context(), rc.Actor, r.PostFormValue("name"), inst, center)
	}
	v, verr := s.dicomwebData(r, rc)
	if verr != nil {
		return verr
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "dicomweb.clients_title"), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "dicomweb_clients", d, err)
	}
	v.Created, v.Secret = c, secret
	d.Flash = "dicomweb.client_created"
	s.render(w, r, rc, http.StatusCreated, "dicomweb_clients", d)
	return nil
}

func apiClient(c *reading.DICOMwebClient) map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "county_code": c.CountyCode, "institution_id": c.InstitutionID, "center_id": c.CenterID,
		"created_at": c.CreatedAt, "disabled": c.Disabled}
}

// apiDICOMwebClients: GET /api/v1/dicomweb/clients.
func (s *Server) apiDICOMwebClients(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	cs, err := s.DICOMweb.Clients(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(cs))
	for i := range cs {
		out[i] = apiClient(&cs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

// apiDICOMwebClientCreate: POST /api/v1/dicomweb/clients with {"name",
// "institution_id", "center_id"}; the answer carries the secret, once.
func (s *Server) apiDICOMwebClientCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Name          string `json:"name"`
		InstitutionID int64  `json:"institution_id"`
		CenterID      int64  `json:"center_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, secret, err := s.DICOMweb.CreateClient(r.Context(), rc.Actor, strings.TrimSpace(in.Name), in.InstitutionID, in.CenterID)
	if err != nil {
		return err
	}
	out := apiClient(c)
	out["secret"] = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// dicomwebClientState: POST /admin/dicomweb/{id}/{disable|enable}.
func (s *Server) dicomwebClientState(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	act := r.PathValue("action")
	if act != "disable" && act != "enable" {
		return notFound()
	}
	if err := s.DICOMweb.SetClientDisabled(r.Context(), rc.Actor, id, act == "disable"); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/dicomweb", http.StatusSeeOther)
	return nil
}

// apiDICOMwebClientState: POST /api/v1/dicomweb/clients/{id}/{disable|enable}.
func (s *Server) apiDICOMwebClientState(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	act := r.PathValue("action")
	if act != "disable" && act != "enable" {
		return notFound()
	}
	if err := s.DICOMweb.SetClientDisabled(r.Context(), rc.Actor, id, act == "disable"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "disabled": act == "disable"})
	return nil
}
