package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"countycare/care"
	"countycare/dicom"
	"countycare/reading"
)

// DICOMweb (PS3.18) for machine clients: STOW-RS, QIDO-RS and WADO-RS
// under /dicomweb, authenticated by a device credential (HTTP Basic) bound
// to an institution. See docs/dicom.md.

const dicomJSON = "application/dicom+json"

// MaxSTOWBytes bounds one STOW-RS request (a CT series of a few hundred
// instances); each instance is bounded by reading.MaxDICOMBytes.
const MaxSTOWBytes = 2 << 30

// serveDevice authenticates a machine client and runs h as its actor.
// A missing or wrong credential is 401 with a Basic challenge (audited by
// the service); nothing else of the request is read.
func (s *Server) serveDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx, limit int64, h handlerFunc) {
	rc.API = true
	if strings.HasPrefix(rc.Pattern, "POST /api/v1/devices/") {
		s.serveHutDevice(w, r, rc, limit, h) // health huts' devices: a bearer token
		return
	}
	if s.DICOMweb == nil {
		s.renderError(w, r, rc, notFound())
		return
	}
	user, pass, _ := r.BasicAuth() // none: refused (and audited) like a wrong one
	a, _, err := s.DICOMweb.Authenticate(r.Context(), user, pass)
	if err != nil {
		if care.IsCode(err, care.EUNAUTHORIZED) {
			w.Header().Set("WWW-Authenticate", `Basic realm="countycare DICOMweb", charset="UTF-8"`)
		}
		s.renderError(w, r, rc, err)
		return
	}
	rc.Actor = a
	if isWrite(r.Method) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	if err := h(w, r, rc); err != nil {
		s.renderError(w, r, rc, err)
	}
}

func (s *Server) deviceClient(r *http.Request) (*reading.DICOMwebClient, error) {
	user, pass, _ := r.BasicAuth()
	_, c, err := s.DICOMweb.Authenticate(r.Context(), user, pass)
	return c, err
}

// baseURL is the scheme and host the client used, for RetrieveURLs.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/dicomweb"
}

func writeDICOMJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", dicomJSON)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func attr(vr string, vals ...any) map[string]any {
	m := map[string]any{"vr": vr}
	var keep []any
	for _, v := range vals {
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		keep = append(keep, v)
	}
	if len(keep) > 0 {
		m["Value"] = keep
	}
	return m
}

func pnAttr(pn string) map[string]any {
	if pn == "" {
		return map[string]any{"vr": "PN"}
	}
	g := strings.SplitN(pn, "=", 3)
	v := map[string]any{}
	for i, k := range []string{"Alphabetic", "Ideographic", "Phonetic"} {
		if i < len(g) && g[i] != "" {
			v[k] = g[i]
		}
	}
	return map[string]any{"vr": "PN", "Value": []any{v}}
}

// dwStow: POST /dicomweb/studies[/{study}] with multipart/related;
// type="application/dicom". The answer lists stored instances in
// ReferencedSOPSequence and refused ones in FailedSOPSequence with the
// failure reason and, in (0000,0902) Error Comment, why: 200 if all were
// stored, 202 if some, 409 if none (PS3.18 §10.5.3).
func (s *Server) dwStow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", `multipart/related; type="application/dicom"`)
	}
	if t := params["type"]; t != "" && !strings.EqualFold(t, "application/dicom") {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", `multipart/related; type="application/dicom"`)
	}
	c, err := s.deviceClient(r)
	if err != nil {
		return err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	parts := stowPartsPool.Get().(*stowParts)
	defer parts.release()
	next := func() ([]byte, error) {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, stowReadError(err)
		}
		defer p.Close()
		if ct := p.Header.Get("Content-Type"); ct != "" {
			if pt, _, _ := mime.ParseMediaType(ct); pt != "application/dicom" {
				return nil, care.Errorf(care.EUNSUPPORTED, "error.content_type", "application/dicom")
			}
		}
		b, err := parts.read(p)
		if err != nil && !errors.Is(err, reading.ErrInstanceTooLarge) {
			return nil, stowReadError(err)
		}
		return b, err
	}
	results, err := s.DICOMweb.Stow(r.Context(), rc.Actor, c, r.PathValue("study"), next)
	if err != nil {
		if len(results) > 0 {
			s.Log.Warn("dicomweb: STOW request broken off after some instances", "request_id", rc.RequestID, "instances", len(results), "err", err)
		}
		return err
	}
	if len(results) == 0 {
		return care.Errorf(care.EINVALID, "dicomweb.no_instances")
	}
	base := baseURL(r)
	var ok, failed []any
	study := r.PathValue("study")
	for _, res := range results {
		item := map[string]any{"00081150": attr("UI", res.SOPClassUID), "00081155": attr("UI", res.SOPUID)}
		if res.Failure != 0 {
			item["00081197"] = attr("US", res.Failure)
			item["00000902"] = attr("LO", res.Reason)
			failed = append(failed, item)
			continue
		}
		if study == "" {
			study = res.StudyUID
		}
		item["00081190"] = attr("UR", base+"/studies/"+res.StudyUID+"/instances/"+res.SOPUID)
		if res.Warning != "" {
			item["00081196"] = attr("US", 0xB000) // coercion of data elements: stored, cannot preview
			item["00000902"] = attr("LO", "stored; the server cannot preview it: "+res.Warning)
		}
		ok = append(ok, item)
	}
	out := map[string]any{}
	if study != "" && len(ok) > 0 {
		out["00081190"] = attr("UR", base+"/studies/"+study)
	}
	if len(ok) > 0 {
		out["00081199"] = map[string]any{"vr": "SQ", "Value": ok}
	}
	if len(failed) > 0 {
		out["00081198"] = map[string]any{"vr": "SQ", "Value": failed}
	}
	status := http.StatusOK
	switch {
	case len(ok) == 0:
		status = http.StatusConflict
	case len(failed) > 0:
		status = http.StatusAccepted
	}
	writeDICOMJSON(w, status, out)
	return nil
}

// stowParts reads the parts of one STOW-RS request one at a time into one
// buffer that each part reuses (Stow is done with a part's bytes when it
// asks for the next). A part is read into memory up to stowInMemory; a
// larger one is copied to a temporary file until it ends, so its size is
// known before any memory is taken for it, and then read into the buffer,
// grown to exactly that size when it is too small: the heap holds the
// largest part once, never io.ReadAll's growing copies (which held up to
// 2.25 times a part, and their garbage accumulated over many parts), and a
// part over reading.MaxDICOMBytes is refused (reading.ErrInstanceTooLarge)
// without being held at all (issue 18 §2). The readers are pooled
// (stowPartsPool): zeroing a new 1 MiB buffer for every request was a
// tenth of a STOW request's CPU (issue 16).
type stowParts struct {
	buf   []byte
	small []byte // stowInMemory bytes
	tmp   *os.File
}

// stowInMemory is the largest part read without a temporary file: the
// whole batch a STOW request commits at once (reading.StowBatchBytes), so
// a modality's usual instance (a CT slice, a 1 MB enhanced CT, a DR
// image) never touches the disk before the database.
const stowInMemory = reading.StowBatchBytes

// stowPartsPool keeps the readers of finished requests; a reader holding
// more than stowInMemory (the buffer of a larger part) is not kept.
var stowPartsPool = sync.Pool{New: func() any { return &stowParts{small: make([]byte, stowInMemory)} }}

func (s *stowParts) read(r io.Reader) ([]byte, error) {
	n, err := io.ReadFull(r, s.small)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return s.small[:n], nil
	}
	if err != nil {
		return nil, err
	}
	if s.tmp == nil {
		if s.tmp, err = os.CreateTemp("", "countycare-stow-*"); err != nil {
			return nil, err
		}
		os.Remove(s.tmp.Name()) // unlinked: gone when closed, even after a crash
	} else if err := s.tmp.Truncate(0); err != nil {
		return nil, err
	}
	if _, err := s.tmp.WriteAt(s.small, 0); err != nil {
		return nil, err
	}
	if _, err := s.tmp.Seek(int64(len(s.small)), io.SeekStart); err != nil {
		return nil, err
	}
	rest, err := io.CopyBuffer(s.tmp, io.LimitReader(r, reading.MaxDICOMBytes+1-int64(len(s.small))), s.small[:64<<10])
	if err != nil {
		return nil, err
	}
	size := int64(len(s.small)) + rest
	if size > reading.MaxDICOMBytes {
		return nil, reading.ErrInstanceTooLarge // the rest of the part is drained by NextPart
	}
	if int64(cap(s.buf)) < size {
		s.buf = nil // let the smaller buffer go before taking the larger
		s.buf = make([]byte, size)
	}
	b := s.buf[:size]
	if _, err := s.tmp.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// release closes the temporary file and gives the reader back to the
// pool, unless it grew a buffer for a part larger than stowInMemory.
func (s *stowParts) release() {
	if s.tmp != nil {
		s.tmp.Close()
		s.tmp = nil
	}
	if s.buf == nil {
		stowPartsPool.Put(s)
	}
}

func stowReadError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return care.Errorf(care.ETOOLARGE, "error.too_large", mb.Limit>>10)
	}
	return care.Errorf(care.EINVALID, "dicomweb.bad_multipart")
}

// qidoKeys maps the QIDO-RS keywords and tags this server matches on.
var qidoKeys = map[string]string{
	"PatientName": "PatientName", "00100010": "PatientName",
	"PatientID": "PatientID", "00100020": "PatientID",
	"StudyDate": "StudyDate", "00080020": "StudyDate",
	"ModalitiesInStudy": "ModalitiesInStudy", "00080061": "ModalitiesInStudy",
	"Modality": "Modality", "00080060": "Modality",
	"AccessionNumber": "AccessionNumber", "00080050": "AccessionNumber",
	"StudyInstanceUID": "StudyInstanceUID", "0020000D": "StudyInstanceUID",
	"SeriesInstanceUID": "SeriesInstanceUID", "0020000E": "SeriesInstanceUID",
	"SOPInstanceUID": "SOPInstanceUID", "00080018": "SOPInstanceUID",
}

var (
	dateRange = regexp.MustCompile(`^(\d{8})?(-)?(\d{8})?$`)
	uidRE     = regexp.MustCompile(`^[0-9.]{1,64}$`)
)

// qidoParams reads the matching keys, limit, offset and includefield.
// Keys this server does not match on are reported in a Warning header
// (PS3.18 §8.3.4.1 allows ignoring them).
func qidoParams(w http.ResponseWriter, r *http.Request) (map[string]string, int, int, includeFields, error) {
	m := map[string]string{}
	limit, offset := 0, 0
	inc, ignored := parseIncludeFields(r)
	for k, vs := range r.URL.Query() {
		v := strings.TrimSpace(vs[0])
		switch k {
		case "limit", "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, 0, 0, inc, &care.Error{Code: care.EINVALID, Key: "dicomweb.bad_query", Args: []any{k}}
			}
			if k == "limit" {
				limit = n
			} else {
				offset = n
			}
		case "includefield", "fuzzymatching":
			// includefield: parseIncludeFields; fuzzymatching: matching is as documented.
		default:
			if key, ok := qidoKeys[strings.ToUpper(k)]; ok {
				m[key] = v
			} else if key, ok := qidoKeys[k]; ok {
				m[key] = v
			} else {
				ignored = append(ignored, k)
			}
		}
	}
	if len(ignored) > 0 {
		w.Header().Set("Warning", fmt.Sprintf(`299 countycare "The following parameters are not supported: %s"`, strings.Join(ignored, ", ")))
	}
	if d := m["StudyDate"]; d != "" && !dateRange.MatchString(d) {
		return nil, 0, 0, inc, &care.Error{Code: care.EINVALID, Key: "dicomweb.bad_query", Args: []any{"StudyDate"}}
	}
	return m, limit, offset, inc, nil
}

// dwSearchStudies: GET /dicomweb/studies (QIDO-RS).
func (s *Server) dwSearchStudies(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	m, limit, offset, inc, err := qidoParams(w, r)
	if err != nil {
		return err
	}
	q := reading.StudyQuery{PatientName: m["PatientName"], PatientID: m["PatientID"], Accession: m["AccessionNumber"],
		Modality: m["ModalitiesInStudy"], Limit: limit, Offset: offset}
	if q.Modality == "" {
		q.Modality = m["Modality"]
	}
	if u := m["StudyInstanceUID"]; u != "" {
		for _, x := range strings.FieldsFunc(u, func(r rune) bool { return r == ',' || r == '\\' }) {
			q.StudyUIDs = append(q.StudyUIDs, strings.TrimSpace(x))
		}
	}
	if d := m["StudyDate"]; d != "" {
		p := dateRange.FindStringSubmatch(d)
		q.DateFrom, q.DateTo = p[1], p[3]
		if p[2] == "" { // a single date
			q.DateTo = p[1]
		}
	}
	sts, err := s.DICOMweb.SearchStudies(r.Context(), rc.Actor, q)
	if err != nil {
		return err
	}
	base := baseURL(r)
	out := make([]any, 0, len(sts))
	for i := range sts {
		st := &sts[i]
		mods := make([]any, len(st.Modalities))
		for i, m := range st.Modalities {
			mods[i] = m
		}
		out = append(out, map[string]any{
			"00080005": attr("CS", "ISO_IR 192"),
			"00080020": attr("DA", st.StudyDate),
			"00080030": attr("TM", st.StudyTime),
			"00080050": attr("SH", st.Accession),
			"00080061": attr("CS", mods...),
			"00080090": pnAttr(st.Referring),
			"00081030": attr("LO", st.Description),
			"00081190": attr("UR", base+"/studies/"+st.StudyUID),
			"00100010": pnAttr(st.PatientName),
			"00100020": attr("LO", st.PatientID),
			"00100030": attr("DA", st.BirthDate),
			"00100040": attr("CS", st.Sex),
			"0020000D": attr("UI", st.StudyUID),
			"00200010": attr("SH", st.StudyID),
			"00201206": attr("IS", st.SeriesCount),
			"00201208": attr("IS", st.InstanceCount),
		})
		if !inc.none() {
			b, err := s.DICOMweb.SampleFile(r.Context(), st, "")
			if err != nil && !care.IsCode(err, care.ENOTFOUND) {
				return err
			}
			inc.include(out[len(out)-1].(map[string]any), b, levelStudy)
		}
	}
	writeDICOMJSON(w, http.StatusOK, out)
	return nil
}

func studyParam(r *http.Request) (string, error) {
	u := r.PathValue("study")
	if !uidRE.MatchString(u) {
		return "", care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
	}
	return u, nil
}

// dwSearchSeries: GET /dicomweb/studies/{study}/series (QIDO-RS).
func (s *Server) dwSearchSeries(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	study, err := studyParam(r)
	if err != nil {
		return err
	}
	m, limit, offset, inc, err := qidoParams(w, r)
	if err != nil {
		return err
	}
	ss, err := s.DICOMweb.Series(r.Context(), rc.Actor, reading.InstanceQuery{StudyUID: study, SeriesUID: m["SeriesInstanceUID"],
		Modality: m["Modality"], Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	var st *reading.ImagingStudy
	if !inc.none() {
		if st, err = s.DICOMweb.Study(r.Context(), rc.Actor, study, reading.ActQIDO); err != nil {
			return err
		}
	}
	base := baseURL(r)
	out := make([]any, 0, len(ss))
	for _, se := range ss {
		out = append(out, map[string]any{
			"00080060": attr("CS", se.Modality),
			"0008103E": attr("LO", se.Description),
			"00081190": attr("UR", base+"/studies/"+study+"/series/"+se.SeriesUID),
			"0020000D": attr("UI", study),
			"0020000E": attr("UI", se.SeriesUID),
			"00200011": attr("IS", numOrNothing(se.SeriesNumber)...),
			"00201209": attr("IS", se.Instances),
		})
		if st != nil {
			b, err := s.DICOMweb.SampleFile(r.Context(), st, se.SeriesUID)
			if err != nil && !care.IsCode(err, care.ENOTFOUND) {
				return err
			}
			inc.include(out[len(out)-1].(map[string]any), b, levelSeries)
		}
	}
	writeDICOMJSON(w, http.StatusOK, out)
	return nil
}

func numOrNothing(s string) []any {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return []any{n}
	}
	return nil
}

// dwSearchInstances: GET /dicomweb/studies/{study}[/series/{series}]/instances (QIDO-RS).
func (s *Server) dwSearchInstances(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	study, err := studyParam(r)
	if err != nil {
		return err
	}
	m, limit, offset, inc, err := qidoParams(w, r)
	if err != nil {
		return err
	}
	series := r.PathValue("series")
	if series == "" {
		series = m["SeriesInstanceUID"]
	}
	_, ins, err := s.DICOMweb.Instances(r.Context(), rc.Actor, reading.InstanceQuery{StudyUID: study, SeriesUID: series, SOPUID: m["SOPInstanceUID"],
		Modality: m["Modality"], Limit: limit, Offset: offset}, reading.ActQIDO)
	if err != nil {
		return err
	}
	base := baseURL(r)
	out := make([]any, 0, len(ins))
	for i := range ins {
		in := &ins[i]
		out = append(out, map[string]any{
			"00080016": attr("UI", in.SOPClassUID),
			"00080018": attr("UI", in.SOPUID),
			"00080060": attr("CS", in.Modality),
			"00081190": attr("UR", base+"/studies/"+study+"/series/"+in.SeriesUID+"/instances/"+in.SOPUID),
			"0020000D": attr("UI", study),
			"0020000E": attr("UI", in.SeriesUID),
			"00200013": attr("IS", numOrNothing(in.InstanceNumber)...),
			"00280008": attr("IS", in.Frames),
			"00280010": attr("US", in.Rows),
			"00280011": attr("US", in.Columns),
			"00083002": attr("UI", in.TransferSyntax),
		})
		if !inc.none() {
			b, err := s.DICOMweb.File(r.Context(), in)
			if err != nil {
				return err
			}
			inc.include(out[len(out)-1].(map[string]any), b, levelInstance)
		}
	}
	writeDICOMJSON(w, http.StatusOK, out)
	return nil
}

// wadoQuery reads the path of a WADO-RS request.
func wadoQuery(r *http.Request) (reading.InstanceQuery, error) {
	study, err := studyParam(r)
	if err != nil {
		return reading.InstanceQuery{}, err
	}
	q := reading.InstanceQuery{StudyUID: study, SeriesUID: r.PathValue("series"), SOPUID: r.PathValue("sop")}
	for _, u := range []string{q.SeriesUID, q.SOPUID} {
		if u != "" && !uidRE.MatchString(u) {
			return q, care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
		}
	}
	return q, nil
}

// dwRetrieve: GET /dicomweb/studies/{study}[/series/{series}[/instances/{sop}]]
// (WADO-RS): multipart/related; type="application/dicom", each part
// labelled with its transfer syntax. The Accept header's transfer-syntax
// parameter is honoured (PS3.18 §8.7.3): absent or "*", each instance as
// stored; a UID, each instance as stored when it is in that syntax, else
// converted when dicom.CanTranscode can (uncompressed, or compressed in a
// syntax the server decodes → explicit or implicit VR little endian). A request no media range of which every
// instance can meet is 406, naming the instance and both syntaxes, before
// anything is sent.
func (s *Server) dwRetrieve(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q, err := wadoQuery(r)
	if err != nil {
		return err
	}
	ranges := dicomRanges(r.Header.Get("Accept"))
	if len(ranges) == 0 {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", `multipart/related; type="application/dicom"`)
	}
	_, ins, err := s.DICOMweb.Instances(r.Context(), rc.Actor, q, reading.ActWADO)
	if err != nil {
		return err
	}
	// The first media range (by quality, then order) every instance meets.
	ts, err := "", error(nil)
	for _, want := range ranges {
		ts, err = want, nil
		for i := range ins {
			if !tsServes(ins[i].TransferSyntax, want) {
				err = &care.Error{Code: care.ENOTACCEPT, Key: "dicomweb.transfer_syntax_unavailable",
					Args: []any{ins[i].SOPUID, tsLabel(ins[i].TransferSyntax), tsLabel(want)}}
				break
			}
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	// Each instance as stored, or converted; the first is ready before
	// the status is sent, so that a lone instance whose pixel data does
	// not decode is refused whole (406) rather than cut short.
	// An instance sent as stored is read into one pooled buffer, reused
	// for each instance once the previous one is written: a retrieve
	// allocates no file-sized slice (a 1 MB CT was two, and their garbage
	// made the collector's pauses the tail of the latency; issue 16).
	bp := retrieveBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledRetrieve {
			retrieveBufs.Put(bp)
		}
	}()
	load := func(i int) ([]byte, string, error) {
		out := ins[i].TransferSyntax
		if ts == "*" || ts == out {
			b, err := s.DICOMweb.FileAppend(r.Context(), &ins[i], *bp)
			if err == nil {
				*bp = b
			}
			return b, out, err
		}
		b, err := s.DICOMweb.File(r.Context(), &ins[i])
		if err != nil {
			return b, out, err
		}
		f, err := dicom.Parse(b)
		if err != nil {
			return nil, out, err
		}
		if b, err = dicom.Transcode(f, ts); err != nil {
			return nil, out, &care.Error{Code: care.ENOTACCEPT, Key: "dicomweb.transfer_syntax_unavailable",
				Args: []any{ins[i].SOPUID, tsLabel(out), tsLabel(ts)}, Err: err}
		}
		return b, ts, nil
	}
	first, firstTS, err := load(0)
	if err != nil {
		return err
	}
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	for i := range ins {
		b, out, err := first, firstTS, error(nil)
		if i > 0 {
			b, out, err = load(i)
		}
		if err != nil {
			// Headers are sent: end the stream short; the client sees a truncated multipart body.
			s.Log.Error("dicomweb: retrieve", "request_id", rc.RequestID, "err", err)
			return nil
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom; transfer-syntax=" + out}})
		if err != nil {
			return nil
		}
		if _, err := pw.Write(b); err != nil {
			return nil
		}
	}
	mw.Close()
	return nil
}

// retrieveBufs holds the buffers WADO-RS reads stored instances into;
// one larger than maxPooledRetrieve is left to the collector.
var retrieveBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledRetrieve = 32 << 20

// tsServes reports whether an instance stored in syntax stored can be sent
// for a requested transfer-syntax ("*": any, as stored).
func tsServes(stored, want string) bool {
	return want == "*" || want == stored || dicom.CanTranscode(stored, want)
}

func tsLabel(ts string) string {
	if ts == "*" {
		return "*"
	}
	return dicom.TransferSyntaxName(ts) + " (" + ts + ")"
}

// acceptRange is one media range of an Accept header.
type acceptRange struct {
	mt     string
	params map[string]string
	q      float64
}

// acceptRanges parses an Accept header, best quality first (stable: the
// client's order among equals); ranges with q=0 are dropped. An empty
// header is */*.
func acceptRanges(acc string) []acceptRange {
	if strings.TrimSpace(acc) == "" {
		acc = "*/*"
	}
	var out []acceptRange
	for _, part := range strings.Split(acc, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil && x >= 0 && x <= 1 {
				q = x
			}
		}
		if q > 0 {
			out = append(out, acceptRange{mt: mt, params: params, q: q})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// dicomRanges returns the transfer syntaxes an Accept header asks for in
// its application/dicom ranges, in preference order: "*" when a range
// names none (the instances as stored), else the transfer-syntax UID.
func dicomRanges(acc string) []string {
	var out []string
	for _, a := range acceptRanges(acc) {
		switch {
		case a.mt == "*/*", a.mt == "multipart/*", a.mt == "application/dicom",
			a.mt == "multipart/related" && (a.params["type"] == "" || strings.EqualFold(a.params["type"], "application/dicom")):
			ts := strings.TrimSpace(a.params["transfer-syntax"])
			if ts == "" {
				ts = "*"
			}
			out = append(out, ts)
		}
	}
	return out
}

// dwMetadata: GET …/metadata (WADO-RS): each instance in the DICOM JSON
// model, pixel data as a BulkDataURI to its frames.
func (s *Server) dwMetadata(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q, err := wadoQuery(r)
	if err != nil {
		return err
	}
	_, ins, err := s.DICOMweb.Instances(r.Context(), rc.Actor, q, reading.ActWADO)
	if err != nil {
		return err
	}
	base := baseURL(r)
	out := make([]any, 0, len(ins))
	for i := range ins {
		in := &ins[i]
		b, err := s.DICOMweb.File(r.Context(), in)
		if err != nil {
			return err
		}
		f, err := dicom.Parse(b)
		if err != nil {
			return care.Internal("web.dwMetadata", err)
		}
		uri := fmt.Sprintf("%s/studies/%s/series/%s/instances/%s", base, in.StudyUID, in.SeriesUID, in.SOPUID)
		j := dicom.JSON(f.Dataset, func(t dicom.Tag) string {
			if t == dicom.TagPixelData {
				frames := make([]string, max(in.Frames, 1))
				for k := range frames {
					frames[k] = strconv.Itoa(k + 1)
				}
				return uri + "/frames/" + strings.Join(frames, ",")
			}
			return ""
		})
		j["00083002"] = attr("UI", f.TransferSyntax)
		out = append(out, j)
	}
	writeDICOMJSON(w, http.StatusOK, out)
	return nil
}

// oneInstance loads the instance of a WADO-RS instance-level path.
func (s *Server) oneInstance(r *http.Request, rc *reqCtx) (*dicom.File, error) {
	q, err := wadoQuery(r)
	if err != nil {
		return nil, err
	}
	_, ins, err := s.DICOMweb.Instances(r.Context(), rc.Actor, q, reading.ActWADO)
	if err != nil {
		return nil, err
	}
	b, err := s.DICOMweb.File(r.Context(), &ins[0])
	if err != nil {
		return nil, err
	}
	f, err := dicom.Parse(b)
	if err != nil {
		return nil, care.Internal("web.oneInstance", err)
	}
	return f, nil
}

// framesOf parses "1,3,5" (1-based frame numbers).
func framesOf(v string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, &care.Error{Code: care.EINVALID, Key: "dicomweb.bad_frame", Args: []any{p}}
		}
		out = append(out, n)
	}
	return out, nil
}

// checkFrames refuses a frame list naming a frame the instance does not
// have (404 naming the first missing frame and the count): a list is
// answered whole or not at all.
func checkFrames(f *dicom.File, nums []int) error {
	in, err := f.Info()
	if err != nil || f.Get(dicom.TagPixelData) == nil || in.Rows == 0 {
		return &care.Error{Code: care.ENOTFOUND, Key: "dicomweb.frame_missing", Args: []any{nums[0], 0}}
	}
	for _, n := range nums {
		if n > in.Frames {
			return &care.Error{Code: care.ENOTFOUND, Key: "dicomweb.frame_missing", Args: []any{n, in.Frames}}
		}
	}
	return nil
}

// frameSyntax chooses the transfer syntax of the frames of an instance
// stored in stored from the Accept header (PS3.18 §8.7.4): native pixel
// data goes as explicit VR little endian (application/octet-stream),
// compressed frames as stored — or decoded to explicit VR little endian
// when a range asks for it and the server decodes the syntax (RLE, JPEG
// Lossless, JPEG-LS, JPEG, JPEG 2000, deflated frames: dicom.Decodable). A range whose transfer-syntax is
// absent, "*" or that syntax is met; if none is, 406.
func frameSyntax(acc, stored string) (string, error) {
	out := stored
	if dicom.Uncompressed(stored) {
		out = dicom.ExplicitVRLittleEndian
	}
	var asked []string
	for _, a := range acceptRanges(acc) {
		switch {
		case a.mt == "*/*", a.mt == "multipart/*", a.mt == "application/octet-stream", strings.HasPrefix(a.mt, "image/"), strings.HasPrefix(a.mt, "video/"),
			a.mt == "multipart/related":
			ts := strings.TrimSpace(a.params["transfer-syntax"])
			if ts == "" || ts == "*" || ts == out {
				return out, nil
			}
			if ts == dicom.ExplicitVRLittleEndian && dicom.Decodable(stored) {
				return ts, nil // compressed frames decoded for the client
			}
			asked = append(asked, ts)
		}
	}
	if len(asked) == 0 {
		return "", care.Errorf(care.EUNSUPPORTED, "error.content_type", `multipart/related; type="application/octet-stream"`)
	}
	return "", &care.Error{Code: care.ENOTACCEPT, Key: "dicomweb.frames_transfer_syntax", Args: []any{tsLabel(out), strings.Join(asked, ", ")}}
}

// dwFrames: GET …/instances/{sop}/frames/{frames} (WADO-RS): the pixel
// data of every frame asked, in that order, as multipart/related; native
// frames in explicit VR little endian (big-endian words swapped) as
// application/octet-stream, compressed ones as stored or, when asked for
// explicit VR little endian and the server decodes them, decoded (only the
// frames asked); each part labelled with its transfer-syntax. A frame the
// instance lacks is 404 naming it; one that does not decode is 406 naming
// it — never a shorter answer.
func (s *Server) dwFrames(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	nums, err := framesOf(r.PathValue("frames"))
	if err != nil {
		return err
	}
	f, err := s.oneInstance(r, rc)
	if err != nil {
		return err
	}
	if err := checkFrames(f, nums); err != nil {
		return err
	}
	ts, err := frameSyntax(r.Header.Get("Accept"), f.TransferSyntax)
	if err != nil {
		return err
	}
	// Big-endian words swapped; compressed frames decoded, only those asked
	// (frameSyntax chose explicit VR little endian only for a syntax the
	// server decodes). A frame that does not decode refuses the whole list.
	decode := f.TransferSyntax == dicom.ExplicitVRBigEndian || ts != f.TransferSyntax && !dicom.Uncompressed(f.TransferSyntax)
	parts := make([][]byte, len(nums))
	for i, n := range nums {
		if decode {
			parts[i], err = dicom.DecodedFrame(f, n-1)
			if err != nil && (errors.Is(err, dicom.ErrFormat) || errors.Is(err, dicom.ErrCannotPreview)) {
				return &care.Error{Code: care.ENOTACCEPT, Key: "dicomweb.frame_undecodable", Args: []any{n, tsLabel(f.TransferSyntax)}, Err: err}
			}
		} else {
			parts[i], _, err = dicom.Frame(f, n-1)
		}
		if err != nil {
			return &care.Error{Code: care.ENOTFOUND, Key: "dicomweb.frame_not_found", Args: []any{n}, Err: err}
		}
	}
	ct := "application/octet-stream; transfer-syntax=" + ts
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", `multipart/related; type="application/octet-stream"; boundary=`+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	for _, p := range parts {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}})
		if err != nil {
			return nil
		}
		pw.Write(p)
	}
	mw.Close()
	return nil
}

// dwRendered: GET …/instances/{sop}/rendered and …/frames/{frames}/rendered
// (WADO-RS): the first frame, or each frame of the list, as PNG, or JPEG
// when the client asks for image/jpeg only; several frames come as
// multipart/related, one image per frame in the order asked. A frame the
// instance lacks is 404 naming it; a pixel encoding the server cannot
// decode is 406 with the reason (the instance itself can still be
// retrieved).
func (s *Server) dwRendered(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	nums := []int{1}
	if v := r.PathValue("frames"); v != "" {
		var err error
		if nums, err = framesOf(v); err != nil {
			return err
		}
	}
	f, err := s.oneInstance(r, rc)
	if err != nil {
		return err
	}
	if err := checkFrames(f, nums); err != nil {
		return err
	}
	acc := r.Header.Get("Accept")
	asJPEG := strings.Contains(acc, "image/jpeg") && !strings.Contains(acc, "image/png")
	ct := "image/png"
	if asJPEG {
		ct = "image/jpeg"
	}
	imgs := make([][]byte, len(nums))
	for i, frame := range nums {
		img, err := dicom.Render(f, frame-1, nil)
		if err != nil {
			if errors.Is(err, dicom.ErrCannotPreview) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusNotAcceptable)
				io.WriteString(w, "cannot preview: "+strings.TrimPrefix(err.Error(), "dicom: ")+"\n")
				return nil
			}
			if errors.Is(err, dicom.ErrFormat) {
				return &care.Error{Code: care.ENOTACCEPT, Key: "dicomweb.frame_undecodable", Args: []any{frame, tsLabel(f.TransferSyntax)}, Err: err}
			}
			return &care.Error{Code: care.ENOTFOUND, Key: "dicomweb.frame_not_found", Args: []any{frame}, Err: err}
		}
		var buf bytes.Buffer
		if asJPEG {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		} else {
			err = dicom.EncodePNG(&buf, img)
		}
		if err != nil {
			return care.Internal("web.dwRendered", err)
		}
		imgs[i] = buf.Bytes()
	}
	if len(imgs) == 1 {
		w.Header().Set("Content-Type", ct)
		w.Write(imgs[0])
		return nil
	}
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", `multipart/related; type="`+ct+`"; boundary=`+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	for _, b := range imgs {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}})
		if err != nil {
			return nil
		}
		pw.Write(b)
	}
	mw.Close()
	return nil
}
