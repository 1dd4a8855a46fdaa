package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/settle"
)

// apiSettleIn is the JSON body of a settlement (amounts are strings in yuan).
type apiSettleIn struct {
	ResidentID      int64       `json:"resident_id"`
	InstitutionID   int64       `json:"institution_id"`
	VisitID         string      `json:"visit_id"`
	Date            string      `json:"date"`
	VisitType       string      `json:"visit_type"`
	ChronicCategory string      `json:"chronic_category"`
	Referred        bool        `json:"referred"`
	Insured         *bool       `json:"insured"`
	DRG             string      `json:"drg"`
	Lines           []apiLineIn `json:"lines"`
	Replace         int64       `json:"replace"`
}

// apiLineIn is a bill item as posted: the amount is kept raw so that a
// fault (a JSON number, a negative amount, a fraction of a fen) is a field
// error naming the item (lines[i].amount), not an undecodable body.
type apiLineIn struct {
	Code     string          `json:"code"`
	Name     string          `json:"name"`
	Class    string          `json:"class"`
	Category string          `json:"category"`
	Amount   json.RawMessage `json:"amount"`
}

func (in apiSettleIn) input() (settle.Input, error) {
	insured := in.Insured == nil || *in.Insured
	out := settle.Input{ResidentID: in.ResidentID, InstitutionID: in.InstitutionID, VisitID: in.VisitID, Date: in.Date, VisitType: in.VisitType,
		ChronicCategory: in.ChronicCategory, Referred: in.Referred, Insured: insured, DRG: in.DRG}
	var fs []care.FieldError
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d].amount", i)
		var text string
		if err := json.Unmarshal(l.Amount, &text); err != nil {
			fs = append(fs, care.FieldError{Field: field, Key: "settle.line_amount", Args: []any{i + 1, string(l.Amount)}})
			continue
		}
		a, err := settle.ParseYuan(text)
		switch {
		case err != nil && strings.HasPrefix(strings.TrimSpace(text), "-"):
			fs = append(fs, care.FieldError{Field: field, Key: "settle.amount_negative", Args: []any{i + 1}})
		case err != nil:
			fs = append(fs, care.FieldError{Field: field, Key: "settle.line_amount", Args: []any{i + 1, text}})
		}
		out.Lines = append(out.Lines, settle.Line{Code: l.Code, Name: l.Name, Class: l.Class, Category: l.Category, Amount: a})
	}
	return out, care.Invalid(fs)
}

type apiSettlementOut struct {
	ID             int64           `json:"id"`
	ResidentID     int64           `json:"resident_id"`
	InstitutionID  int64           `json:"institution_id"`
	VisitID        string          `json:"visit_id"`
	Status         string          `json:"status"`
	PolicyID       int64           `json:"policy_id"`
	Year           int             `json:"year"`
	Claim          settle.Claim    `json:"bill"`
	Result         settle.Result   `json:"result"`
	ReversalReason string          `json:"reversal_reason,omitempty"`
	ReplacedBy     int64           `json:"replaced_by,omitempty"`
	Explanation    []apiLayerText  `json:"explanation"`
	Adjustments    []apiAdjustment `json:"adjustments,omitempty"`
}

// apiAdjustment is a re-settlement of a later visit after an earlier one
// changed (issue 18): what each layer and the patient paid before and after.
type apiAdjustment struct {
	Cause     string                `json:"cause"`
	CauseID   int64                 `json:"cause_settlement_id"`
	Before    map[string]settle.Fen `json:"before"`
	After     map[string]settle.Fen `json:"after"`
	CreatedAt string                `json:"created_at"`
	Text      string                `json:"text"`
}

type apiLayerText struct {
	Layer string   `json:"layer"`
	Name  string   `json:"name"`
	Paid  string   `json:"paid"`
	Steps []string `json:"steps"`
}

func (s *Server) apiSettlement(lang string, st *settle.Settlement) apiSettlementOut {
	out := apiSettlementOut{ID: st.ID, ResidentID: st.ResidentID, InstitutionID: st.InstitutionID, VisitID: st.VisitID, Status: st.Status,
		PolicyID: st.PolicyID, Year: st.Year, Claim: st.Claim, Result: st.Result, ReversalReason: st.ReversalReason, ReplacedBy: st.ReplacedBy}
	out.Explanation = s.explain(lang, &st.Result)
	for _, a := range st.Adjustments {
		at := a.CreatedAt.UTC().Format("2006-01-02")
		out.Adjustments = append(out.Adjustments, apiAdjustment{Cause: a.Cause, CauseID: a.CauseID, Before: a.Before, After: a.After, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339),
			Text: s.msgs.T(lang, "settle.adjust."+a.Cause, at, a.CauseID, a.InsurersBefore().String(), a.InsurersAfter().String(), a.PatientBefore().String(), a.PatientAfter().String())})
	}
	return out
}

// explain renders every layer's steps in lang.
func (s *Server) explain(lang string, r *settle.Result) []apiLayerText {
	var out []apiLayerText
	for _, l := range r.Layers {
		x := apiLayerText{Layer: l.Layer, Name: s.msgs.T(lang, "settle.layer."+l.Layer), Paid: l.Paid.String()}
		for _, st := range l.Steps {
			x.Steps = append(x.Steps, s.stepText(lang, st))
		}
		out = append(out, x)
	}
	return out
}

// stepText translates one explanation step; "kind:code" arguments are
// named in the reader's language.
func (s *Server) stepText(lang string, st settle.Step) string {
	args := make([]any, len(st.Args))
	for i, a := range st.Args {
		if kind, code, ok := strings.Cut(a, ":"); ok && kind != "" && !strings.ContainsAny(kind, "0123456789.") {
			a = s.msgs.T(lang, "settle.code."+kind+"."+code)
		}
		args[i] = a
	}
	return s.msgs.T(lang, st.Key, args...)
}

func (s *Server) apiSettlePreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiSettleIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	bill, err := in.input()
	if err != nil {
		return err
	}
	res, c, err := s.Settle.Preview(r.Context(), rc.Actor, bill)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"bill": c, "result": res, "explanation": s.explain(rc.Lang, res)})
	return nil
}

// apiSettle settles a visit. The Idempotency-Key header is required: a
// retry with the same key and bill returns the first settlement (status
// 200, header Idempotent-Replayed: true); another bill under the key is 409.
func (s *Server) apiSettle(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	key := r.Header.Get("Idempotency-Key")
	var in apiSettleIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	bill, err := in.input()
	if err != nil {
		return err
	}
	st, replay, err := s.Settle.Settle(r.Context(), rc.Actor, bill, key, in.Replace)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/settlements/"+strconv.FormatInt(st.ID, 10))
	writeJSON(w, status, s.apiSettlement(rc.Lang, st))
	return nil
}

func (s *Server) apiSettlementGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, err := s.Settle.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.apiSettlement(rc.Lang, st))
	return nil
}

func (s *Server) apiSettlementReverse(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.Settle.Reverse(r.Context(), rc.Actor, id, in.Reason); err != nil {
		return err
	}
	st, err := s.Settle.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.apiSettlement(rc.Lang, st))
	return nil
}

func (s *Server) apiResidentSettlements(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sts, err := s.Settle.ForResident(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := []apiSettlementOut{}
	for i := range sts {
		out = append(out, s.apiSettlement(rc.Lang, &sts[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"settlements": out})
	return nil
}

func (s *Server) apiPolicies(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	ps, err := s.Settle.Policies(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	type row struct {
		ID      int64  `json:"id"`
		Year    int    `json:"year"`
		Version int    `json:"version"`
		Name    string `json:"name"`
		From    string `json:"effective_from"`
		To      string `json:"effective_to"`
	}
	out := []row{}
	for _, p := range ps {
		out = append(out, row{p.ID, p.Year, p.Version, p.Name, p.From.String(), p.To.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": out})
	return nil
}

func (s *Server) apiPolicyUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body := make([]byte, 0, 16<<10)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	// The document's shape first, so a wrong-typed or unknown field is named
	// with its rule; settle then checks the policy's content.
	if err := decodeJSONBytes(r, body, new(settle.Policy)); err != nil {
		return err
	}
	sp, err := s.Settle.UploadPolicy(r.Context(), rc.Actor, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": sp.ID, "year": sp.Year, "version": sp.Version})
	return nil
}

func (s *Server) apiSettleReports(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.reportData(r, rc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v.Report)
	return nil
}

func (s *Server) apiAdmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ResidentID    int64  `json:"resident_id"`
		InstitutionID int64  `json:"institution_id"`
		VisitID       string `json:"visit_id"`
		AdmittedOn    string `json:"admitted_on"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	on, err := care.ParseDate(in.AdmittedOn)
	if err != nil {
		return care.Invalid([]care.FieldError{{Field: "admitted_on", Key: "field.date"}})
	}
	adm, err := s.Window.Admit(r.Context(), rc.Actor, in.ResidentID, in.InstitutionID, in.VisitID, on)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": adm.ID, "no_deposit": adm.NoDeposit, "eligibility": s.msgs.T(rc.Lang, adm.Eligibility)})
	return nil
}

func (s *Server) apiPay(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Amount settle.Fen `json:"amount"`
		Method string     `json:"method"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rec, replay, err := s.Window.Pay(r.Context(), rc.Actor, id, in.Amount, in.Method, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": rec.ID, "amount": rec.Amount, "paid": rec.Paid, "owed": rec.Owed(), "status": rec.Status})
	return nil
}
