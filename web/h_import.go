package web

import (
	"io"
	"net/http"
	"strconv"

	"countycare/care"
	"countycare/resident"
)

type importView struct {
	Villages []*orgInstitutionRef
	Done     int
}

type orgInstitutionRef struct {
	ID   int64
	Name string
}

func (s *Server) importData(r *http.Request, rc *reqCtx) (*importView, error) {
	vs, err := s.villagesFor(r, rc.Actor)
	if err != nil {
		return nil, err
	}
	v := &importView{}
	for _, in := range vs {
		v.Villages = append(v.Villages, &orgInstitutionRef{in.ID, in.Name})
	}
	return v, nil
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.importData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "import", pageData{Title: s.msgs.T(rc.Lang, "import.title"), Data: v})
	return nil
}

// runImport parses an import file and registers its residents at village.
func (s *Server) runImport(r *http.Request, rc *reqCtx, village int64, body io.Reader) (int, error) {
	rows, fs, err := resident.ParseImport(body)
	if err != nil {
		return 0, care.Invalid([]care.FieldError{{Field: "file", Key: "import.unreadable"}})
	}
	if err := care.Invalid(fs); err != nil {
		return 0, err
	}
	return s.Residents.Import(r.Context(), rc.Actor, village, rows)
}

func (s *Server) importSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.importData(r, rc)
	if err != nil {
		return err
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "import.title"), Data: v}
	var fs []care.FieldError
	village := formInt(r.PostFormValue("village_id"), "village_id", &fs)
	f, _, ferr := r.FormFile("file")
	if ferr != nil {
		fs = append(fs, care.FieldError{Field: "file", Key: "field.required"})
	}
	if err := care.Invalid(fs); err != nil {
		return s.formError(w, r, rc, "import", d, err)
	}
	defer f.Close()
	n, err := s.runImport(r, rc, village, f)
	if err != nil {
		return s.formError(w, r, rc, "import", d, err)
	}
	v.Done = n
	s.render(w, r, rc, http.StatusOK, "import", d)
	return nil
}

func (s *Server) apiImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if ct := r.Header.Get("Content-Type"); ct == "" || ct[:min(len(ct), 8)] != "text/csv" {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", "text/csv")
	}
	village, err := strconv.ParseInt(r.URL.Query().Get("village_id"), 10, 64)
	if err != nil {
		return care.Invalid([]care.FieldError{{Field: "village_id", Key: "field.number"}})
	}
	n, err := s.runImport(r, rc, village, r.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]int{"imported": n})
	return nil
}
