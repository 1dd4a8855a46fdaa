package web

import (
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/upload"
)

// The tus 1.0 resumable upload endpoint (https://tus.io/protocols/resumable-upload,
// docs/ecg.md "Resumable uploads"): core, creation, creation-with-upload,
// expiration, checksum (sha256, sha1) and termination, served by the same
// wrapper as every route (session, policy, CSRF header, audit) over
// package upload. tusd (github.com/tus/tusd/v2) was not used: it routes
// and answers errors itself, has no checksum extension, and its stores are
// one server's disk or S3, where ours are the database's rows.

const (
	tusVersion     = "1.0.0"
	tusExtensions  = "creation,creation-with-upload,expiration,checksum,termination"
	tusOctetStream = "application/offset+octet-stream"
	uploadsPath    = "/api/v1/uploads"
)

// withUploads answers 404 on a server built without resumable uploads
// (Deps.Uploads nil: tools and tests that need none).
func (s *Server) withUploads(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if s.Uploads == nil {
			return notFound()
		}
		return h(w, r, rc)
	}
}

// tusHeaders sets the headers every answer of the endpoint carries.
func tusHeaders(w http.ResponseWriter) {
	w.Header().Set("Tus-Resumable", tusVersion)
	w.Header().Set("Cache-Control", "no-store")
}

// tusCheck refuses a request without Tus-Resumable: 1.0.0 (412, with the
// versions the server speaks).
func tusCheck(w http.ResponseWriter, r *http.Request) error {
	tusHeaders(w)
	if v := r.Header.Get("Tus-Resumable"); v != tusVersion {
		w.Header().Set("Tus-Version", tusVersion)
		return care.Errorf(care.EPRECONDITION, "upload.tus_version", tusVersion, tusVersion)
	}
	return nil
}

// uploadsOptions: OPTIONS /api/v1/uploads, what the endpoint supports.
func (s *Server) uploadsOptions(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tusHeaders(w)
	w.Header().Set("Tus-Version", tusVersion)
	w.Header().Set("Tus-Extension", tusExtensions)
	w.Header().Set("Tus-Max-Size", strconv.FormatInt(upload.MaxLength(), 10))
	w.Header().Set("Tus-Checksum-Algorithm", strings.Join(upload.Algorithms, ","))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseTusMetadata reads Upload-Metadata: comma-separated "key base64value"
// pairs (a key alone has an empty value).
func parseTusMetadata(h string) (map[string]string, error) {
	out := map[string]string{}
	bad := &care.Error{Code: care.EINVALID, Key: "upload.metadata_invalid", Fields: []care.FieldError{{Field: "Upload-Metadata", Key: "upload.metadata_invalid"}}}
	if strings.TrimSpace(h) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), " ")
		if k == "" || strings.ContainsAny(k, " ,") {
			return nil, bad
		}
		if _, dup := out[k]; dup {
			return nil, bad
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return nil, bad
		}
		out[k] = string(b)
	}
	return out, nil
}

// uploadFromMetadata builds the upload a creation request describes.
func uploadFromMetadata(r *http.Request) (*upload.Upload, error) {
	var fs []care.FieldError
	length, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	if err != nil || length < 0 {
		key := "upload.length_invalid"
		if r.Header.Get("Upload-Defer-Length") != "" {
			key = "upload.defer_length"
		}
		fs = append(fs, care.FieldError{Field: "Upload-Length", Key: key})
	}
	md, err := parseTusMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		return nil, err
	}
	num := func(k string) int64 {
		v, ok := md[k]
		if !ok {
			return 0 // the service names the missing field
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fs = append(fs, care.FieldError{Field: k, Key: "field.number"})
		}
		return n
	}
	u := &upload.Upload{Kind: upload.Kind(md["kind"]), ResidentID: num("resident_id"), CenterID: num("center_id"), FileName: md["filename"],
		HeaderName: md["header_name"], Header: []byte(md["header"]), Length: length, Urgent: md["urgent"] == "1", ConfirmMismatch: md["confirm_mismatch"] == "1"}
	if len(u.Header) == 0 {
		u.Header = nil
	}
	return u, care.Invalid(fs)
}

// uploadsCreate: POST /api/v1/uploads (tus creation): Upload-Length and
// Upload-Metadata (kind ecg|dicom, resident_id, center_id, filename; for
// a WFDB ECG header_name and header; urgent and confirm_mismatch "1"),
// checked before any byte is sent. With a body (creation-with-upload,
// Content-Type application/offset+octet-stream) the first bytes are
// stored at once.
func (s *Server) uploadsCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := tusCheck(w, r); err != nil {
		return err
	}
	withBody := r.ContentLength != 0 && r.Header.Get("Content-Type") != ""
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); withBody && ct != tusOctetStream {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", tusOctetStream)
	}
	u, err := uploadFromMetadata(r)
	if err != nil {
		return err
	}
	if err := s.Uploads.Create(r.Context(), rc.Actor, u); err != nil {
		return err
	}
	w.Header().Set("Location", uploadsPath+"/"+u.ID)
	w.Header().Set("Upload-Expires", u.ExpiresAt.UTC().Format(http.TimeFormat))
	if withBody {
		if u, err = s.tusWrite(w, r, rc, u.ID, 0); err != nil {
			return err
		}
	}
	s.tusState(w, u)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// tusState sets the headers that say where an upload stands; a done
// upload names what it became in Upload-Result (the viewer's page).
func (s *Server) tusState(w http.ResponseWriter, u *upload.Upload) {
	w.Header().Set("Upload-Offset", strconv.FormatInt(u.Offset, 10))
	w.Header().Set("Upload-Length", strconv.FormatInt(u.Length, 10))
	w.Header().Set("Upload-Expires", u.ExpiresAt.UTC().Format(http.TimeFormat))
	if u.State == upload.StateDone {
		p := "/ecg/studies/"
		if u.Kind == upload.KindDICOM {
			p = "/imaging/instances/"
		}
		w.Header().Set("Upload-Result", p+strconv.FormatInt(u.ResultID, 10))
	}
}

// uploadsHead: HEAD /api/v1/uploads/{uid}, the offset to resume from.
func (s *Server) uploadsHead(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := tusCheck(w, r); err != nil {
		return err
	}
	u, err := s.Uploads.Get(r.Context(), rc.Actor, r.PathValue("uid"))
	if err != nil {
		return err
	}
	s.tusState(w, u)
	w.WriteHeader(http.StatusOK)
	return nil
}

// uploadsPatch: PATCH /api/v1/uploads/{uid}, bytes at Upload-Offset
// (application/offset+octet-stream, optionally Upload-Checksum). 409 when
// the offset is not the upload's, 413 past Upload-Length, 460 on a
// checksum mismatch; the last byte imports the file (its refusal is the
// one-shot upload's error).
func (s *Server) uploadsPatch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := tusCheck(w, r); err != nil {
		return err
	}
	off, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 {
		return &care.Error{Code: care.EINVALID, Key: "upload.offset_invalid", Fields: []care.FieldError{{Field: "Upload-Offset", Key: "upload.offset_invalid"}}}
	}
	u, err := s.tusWrite(w, r, rc, r.PathValue("uid"), off)
	if err != nil {
		return err
	}
	s.tusState(w, u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tusWrite stores a request's body at off; on an error the headers still
// say where the upload stands.
func (s *Server) tusWrite(w http.ResponseWriter, r *http.Request, rc *reqCtx, id string, off int64) (*upload.Upload, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != tusOctetStream {
		return nil, care.Errorf(care.EUNSUPPORTED, "error.content_type", tusOctetStream)
	}
	var sum *upload.Checksum
	if h := r.Header.Get("Upload-Checksum"); h != "" {
		alg, v, _ := strings.Cut(h, " ")
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, &care.Error{Code: care.EINVALID, Key: "upload.checksum_invalid", Fields: []care.FieldError{{Field: "Upload-Checksum", Key: "upload.checksum_invalid"}}}
		}
		sum = &upload.Checksum{Algorithm: alg, Sum: b}
	}
	body := idleDeadline{r: r.Body, rc: http.NewResponseController(w)}
	u, err := s.Uploads.Write(r.Context(), rc.Actor, id, off, r.ContentLength, body, sum)
	if u != nil {
		s.tusState(w, u)
	}
	return u, err
}

// uploadsDelete: DELETE /api/v1/uploads/{uid} (tus termination).
func (s *Server) uploadsDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := tusCheck(w, r); err != nil {
		return err
	}
	if err := s.Uploads.Terminate(r.Context(), rc.Actor, r.PathValue("uid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// takesOctets reports whether a route's body is a tus upload's bytes
// (application/offset+octet-stream) rather than JSON.
func takesOctets(pattern string) bool {
	return pattern == "POST "+uploadsPath || pattern == "PATCH "+uploadsPath+"/{uid}"
}

// resumeHours is how many whole hours an upload can be resumed (at least
// 1), for the upload pages; 0 when the server has no resumable uploads.
func (s *Server) resumeHours() int {
	if s.Uploads == nil {
		return 0
	}
	return max(1, int(s.Uploads.Config.Expiry/time.Hour))
}

// uploadIdle is how long an upload's body may stall before the server
// gives up on it.
const uploadIdle = 30 * time.Second

// idleDeadline lets an upload's body outlast the server's ReadTimeout and
// WriteTimeout (serve: 30 s, 60 s) while it keeps arriving: each read
// moves both deadlines ahead; a body that stalls for uploadIdle is cut,
// keeping what came before.
type idleDeadline struct {
	r  io.Reader
	rc *http.ResponseController
}

func (d idleDeadline) Read(p []byte) (int, error) {
	now := time.Now()
	d.rc.SetReadDeadline(now.Add(uploadIdle))
	d.rc.SetWriteDeadline(now.Add(2 * uploadIdle))
	return d.r.Read(p)
}
