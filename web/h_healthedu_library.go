package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/healthedu"
)

// adviceID parses the {id} of an advice item: a stored item's number, or
// b1, b2, … for the base library's items before the county's first
// change (healthedu.LibraryOf's -1, -2, …); 0 without one (an
// addition); anything else is not found.
func adviceID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	if v == "" {
		return 0, nil
	}
	sign := int64(1)
	if rest, ok := strings.CutPrefix(v, "b"); ok {
		v, sign = rest, -1
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound()
	}
	return sign * id, nil
}

// adviceKey is the {id} of an item for adviceID.
func adviceKey(id int64) string {
	if id < 0 {
		return fmt.Sprintf("b%d", -id)
	}
	return strconv.FormatInt(id, 10)
}

// eduLibraryView is the advice library page.
type eduLibraryView struct {
	*healthedu.LibraryView
	MaxText int
}

// Key is an item's {id} in the page's URLs.
func (v *eduLibraryView) Key(id int64) string { return adviceKey(id) }

func (s *Server) eduLibraryData(r *http.Request, rc *reqCtx) (*eduLibraryView, error) {
	lv, err := s.HealthEdu.LibraryOf(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	return &eduLibraryView{LibraryView: lv, MaxText: healthedu.MaxAdviceText}, nil
}

// eduLibraryPage is GET /healthedu/library: the county's advice per
// ICD-10 prefix with the forms to add, edit and retire (the
// health-education administrator: healthedu.Editor).
func (s *Server) eduLibraryPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.eduLibraryData(r, rc)
	if err != nil {
		return err
	}
	flash := ""
	if r.URL.Query().Get("ok") == "1" {
		flash = "flash.edu_library"
	}
	s.render(w, r, rc, http.StatusOK, "healthedu_library", pageData{Title: s.msgs.T(rc.Lang, "healthedu.library_title"), Flash: flash, Data: v})
	return nil
}

// adviceForm reads an item and the edition read from a form.
func adviceForm(r *http.Request) (int, *healthedu.AdviceInput) {
	seen, _ := strconv.Atoi(r.PostFormValue("edition"))
	return seen, &healthedu.AdviceInput{Prefix: r.PostFormValue("prefix"), Code: r.PostFormValue("code"), ZH: r.PostFormValue("zh"), EN: r.PostFormValue("en")}
}

// eduLibraryChange is POST /healthedu/library (add), POST
// /healthedu/library/{id} (edit) and POST /healthedu/library/{id}/retire.
func (s *Server) eduLibraryChange(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := adviceID(r)
	if err != nil {
		return err
	}
	seen, in := adviceForm(r)
	if strings.HasSuffix(r.URL.Path, "/retire") {
		in = nil
	}
	if _, err := s.HealthEdu.ChangeAdvice(r.Context(), rc.Actor, seen, id, in); err != nil {
		v, perr := s.eduLibraryData(r, rc)
		if perr != nil {
			return perr
		}
		return s.formError(w, r, rc, "healthedu_library", pageData{Title: s.msgs.T(rc.Lang, "healthedu.library_title"), Data: v}, err)
	}
	http.Redirect(w, r, "/healthedu/library?ok=1", http.StatusSeeOther)
	return nil
}

// adviceChange is the JSON body of the library's API.
type adviceChange struct {
	Edition int `json:"edition"` // the edition read
	healthedu.AdviceInput
}

// apiEduLibraryChange is POST /api/v1/healthedu/library (add), POST
// /api/v1/healthedu/library/{id} (edit) with {"edition", "prefix",
// "code", "zh", "en"}, and POST /api/v1/healthedu/library/{id}/retire
// with {"edition"}: the new edition's number.
func (s *Server) apiEduLibraryChange(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := adviceID(r)
	if err != nil {
		return err
	}
	var in adviceChange
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	item := &in.AdviceInput
	if strings.HasSuffix(r.URL.Path, "/retire") {
		item = nil
	}
	n, err := s.HealthEdu.ChangeAdvice(r.Context(), rc.Actor, in.Edition, id, item)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"edition": n, "version": healthedu.EditionVersion(n)})
	return nil
}
