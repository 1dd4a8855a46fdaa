package fhir

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/reading"
	"countycare/resident"
	"countycare/web"
)

// Code systems of imaging studies.
const (
	// SystemDICOMUID: DICOM UIDs as identifiers (urn:oid:…).
	SystemDICOMUID = "urn:dicom:uid"
	// SystemDCM: DICOM's controlled terminology (modalities).
	SystemDCM = "http://dicom.nema.org/resources/ontology/DCM"
)

// ImagingStudy is a DICOM study uploaded for reading (影像检查), with its
// series and instances and where to fetch them (the DICOMweb endpoint).
type ImagingStudy struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id"`
	Contained         []Endpoint      `json:"contained,omitempty"`
	Identifier        []Identifier    `json:"identifier,omitempty"`
	Status            string          `json:"status"`
	Modality          []Coding        `json:"modality,omitempty"`
	Subject           Reference       `json:"subject"`
	Started           string          `json:"started,omitempty"`
	Endpoint          []Reference     `json:"endpoint,omitempty"`
	NumberOfSeries    int             `json:"numberOfSeries,omitempty"`
	NumberOfInstances int             `json:"numberOfInstances,omitempty"`
	Description       string          `json:"description,omitempty"`
	Series            []ImagingSeries `json:"series,omitempty"`
}

// ImagingSeries is one series of a study.
type ImagingSeries struct {
	UID               string            `json:"uid"`
	Number            int               `json:"number,omitempty"`
	Modality          Coding            `json:"modality"`
	Description       string            `json:"description,omitempty"`
	NumberOfInstances int               `json:"numberOfInstances,omitempty"`
	Endpoint          []Reference       `json:"endpoint,omitempty"`
	Instance          []ImagingInstance `json:"instance,omitempty"`
}

// ImagingInstance is one SOP instance of a series.
type ImagingInstance struct {
	UID      string `json:"uid"`
	SOPClass Coding `json:"sopClass"`
	Number   int    `json:"number,omitempty"`
}

// Endpoint is where a study's images are fetched: the platform's DICOMweb
// service (WADO-RS, QIDO-RS).
type Endpoint struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Status         string            `json:"status"`
	ConnectionType Coding            `json:"connectionType"`
	PayloadType    []CodeableConcept `json:"payloadType"`
	PayloadMime    []string          `json:"payloadMimeType,omitempty"`
	Address        string            `json:"address"`
}

// ImagingStudyOf maps an imaging study of the reading workflow (its
// SourceKey the StudyInstanceUID) with its series and instances as
// DICOMweb holds them (none when it holds none): status available, the
// modality (DCM), the upload as started, the DICOMweb service at
// dicomweb (an absolute URL) as a contained Endpoint of connection type
// dicom-wado-rs.
func ImagingStudyOf(st *reading.Study, series []reading.ImagingSeries, instances []reading.ImagingInstance, dicomweb string) ImagingStudy {
	is := ImagingStudy{ResourceType: "ImagingStudy", ID: strconv.FormatInt(st.ID, 10), Status: "available", Subject: patientRef(st.ResidentID),
		Started: instant(st.UploadedAt), Identifier: []Identifier{{System: SystemDICOMUID, Value: "urn:oid:" + st.SourceKey}},
		Modality: []Coding{{System: SystemDCM, Code: st.Modality}}, Endpoint: []Reference{{Reference: "#dicomweb"}},
		Contained: []Endpoint{{ResourceType: "Endpoint", ID: "dicomweb", Status: "active",
			ConnectionType: Coding{System: "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", Code: "dicom-wado-rs"},
			PayloadType:    []CodeableConcept{{Text: "DICOM"}}, PayloadMime: []string{"application/dicom"}, Address: dicomweb}}}
	for _, se := range series {
		x := ImagingSeries{UID: se.SeriesUID, Modality: Coding{System: SystemDCM, Code: se.Modality}, Description: se.Description,
			NumberOfInstances: se.Instances}
		x.Number, _ = strconv.Atoi(strings.TrimSpace(se.SeriesNumber))
		for _, in := range instances {
			if in.SeriesUID != se.SeriesUID {
				continue
			}
			i := ImagingInstance{UID: in.SOPUID, SOPClass: Coding{System: "urn:ietf:rfc:3986", Code: "urn:oid:" + in.SOPClassUID}}
			i.Number, _ = strconv.Atoi(strings.TrimSpace(in.InstanceNumber))
			x.Instance = append(x.Instance, i)
		}
		is.NumberOfInstances += se.Instances
		is.Series = append(is.Series, x)
	}
	is.NumberOfSeries = len(is.Series)
	return is
}

// dicomwebBase is the absolute address of the DICOMweb service.
func (s *Server) dicomwebBase(r *http.Request) string {
	return strings.TrimSuffix(s.base(r), "/fhir") + "/dicomweb"
}

// imagingStudy maps one study the reader may open: its series and
// instances through reading.DICOMweb (the institution's view, audited as
// a QIDO-RS read) when the server has it.
func (s *Server) imagingStudy(r *http.Request, rq web.Request, st *reading.Study) (match, error) {
	var series []reading.ImagingSeries
	var instances []reading.ImagingInstance
	if s.DICOMweb != nil {
		var err error
		q := reading.InstanceQuery{StudyUID: st.SourceKey}
		series, err = s.DICOMweb.Series(r.Context(), rq.Actor, q)
		if err == nil {
			q.Limit = MaxInstances
			_, instances, err = s.DICOMweb.Instances(r.Context(), rq.Actor, q, reading.ActQIDO)
		}
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return match{}, err
		}
	}
	is := ImagingStudyOf(st, series, instances, s.dicomwebBase(r))
	return match{id: is.ID, key: key(st.UploadedAt, st.ID), day: care.Today(st.UploadedAt), status: is.Status, res: is}, nil
}

// MaxInstances bounds the instances listed in one ImagingStudy; the
// series still give their counts, and DICOMweb lists the rest.
const MaxInstances = 1000

// imagingMatches maps the imaging studies of a patient the reader may open
// on the study page (reading.Workflow.ForResident, audited; MayRead).
func (s *Server) imagingMatches(r *http.Request, rq web.Request, county string, residentID int64) ([]match, error) {
	if s.Readings == nil || !slices.Contains(studyViewers, rq.Actor.Role) {
		return nil, nil
	}
	sts, _, err := s.Readings.ForResident(r.Context(), rq.Actor, county, residentID)
	if err != nil {
		return nil, err
	}
	var out []match
	for i := range sts {
		if st := &sts[i]; st.Kind == reading.KindImaging && reading.MayRead(rq.Actor, st) {
			x, err := s.imagingStudy(r, rq, st)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// imagingRead: GET /fhir/ImagingStudy/{id}, through reading.Workflow.Study
// (the study page's rules, audited).
func (s *Server) imagingRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		x, _, err := s.imagingByID(r, rq, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, x.res)
		return nil
	}
}

// imagingByID reads one imaging study and its resident (ENOTFOUND for
// another kind of study, or one the reader may not open).
func (s *Server) imagingByID(r *http.Request, rq web.Request, id string) (match, int64, error) {
	n := numericID(id)
	if n == 0 || !slices.Contains(studyViewers, rq.Actor.Role) {
		return match{}, 0, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	st, _, err := s.Readings.Study(r.Context(), rq.Actor, n)
	if err != nil {
		return match{}, 0, err
	}
	if st.Kind != reading.KindImaging {
		return match{}, 0, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	x, err := s.imagingStudy(r, rq, st)
	return x, st.ResidentID, err
}

// imagingSearch: GET /fhir/ImagingStudy?patient=… (or _id) with the
// shared parameters (date: the upload's day); newest first.
func (s *Server) imagingSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, statuses, err := s.pagedSearch(r, "ImagingStudy", []string{"available"})
		if err != nil {
			return err
		}
		found, subject, err := s.patientOrID(r, m, rq, &p, byID,
			func(res *resident.Resident) ([]match, error) { return s.imagingMatches(r, rq, res.CountyCode, res.ID) },
			func(id string) (match, int64, error) { return s.imagingByID(r, rq, id) })
		if err != nil {
			return err
		}
		ids, keys, out := p.page(found, statuses, byID)
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "ImagingStudy", ids, keys, out, subject))
		return nil
	}
}
