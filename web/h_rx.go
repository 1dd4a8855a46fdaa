package web

import (
	"net/http"
	"strconv"
	"time"

	"countycare/rx"
)

// rxQueueRow is one prescription in the pharmacists' queue page.
type rxQueueRow struct {
	ID       int64
	Version  int
	Name     string
	SignedAt time.Time
	Waiting  time.Duration
	Lines    []string
	Findings []rxFindingView
	Online   bool // signed at an online follow-up visit
}

type rxFindingView struct {
	Indicator string
	Text      string
	Source    string
}

func (s *Server) rxFindingViews(lang string, sg *rx.Signed) []rxFindingView {
	out := make([]rxFindingView, 0, len(sg.Findings))
	for i := range sg.Findings {
		c := s.card(lang, "", i, &sg.Prescription, &sg.Findings[i])
		text := c.Summary
		if c.Detail != "" {
			text = c.Detail
		}
		out = append(out, rxFindingView{Indicator: c.Indicator, Text: text, Source: s.rxSource(lang, c.Source.Label)})
	}
	return out
}

func (s *Server) rxLineText(lang string, l *rx.Line) string {
	d := s.Rx.KB.Drug(l.DrugCode)
	name := l.DrugCode
	if d != nil {
		name = d.NameZH
		if lang == "en" {
			name = d.NameEN
		}
	}
	freq := l.Frequency
	if s.msgs.Has(lang, "rx.freq."+freq) {
		freq = s.msgs.T(lang, "rx.freq."+freq)
	}
	return s.msgs.T(lang, "rx.line_text", name, trimFloat(l.Dose), l.DoseUnit, freq, l.Days, trimFloat(l.Quantity))
}

// rxQueue is the county pharmacists' review queue (区域审方): flagged
// prescriptions, oldest first, each with its findings and the decision
// form (approve, reject or return with a reason).
func (s *Server) rxQueue(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Prescriptions.Queue(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	now := s.Now()
	rows := make([]rxQueueRow, 0, len(list))
	for i := range list {
		sg := &list[i]
		row := rxQueueRow{ID: sg.ID, Version: sg.Version, SignedAt: sg.SignedAt, Waiting: now.Sub(sg.SignedAt),
			Findings: s.rxFindingViews(rc.Lang, sg), Online: sg.Prescription.Online}
		if res, err := s.Residents.Get(r.Context(), rc.Actor, sg.ResidentID); err == nil {
			row.Name = res.Name
		}
		for j := range sg.Prescription.Lines {
			row.Lines = append(row.Lines, s.rxLineText(rc.Lang, &sg.Prescription.Lines[j]))
		}
		rows = append(rows, row)
	}
	s.render(w, r, rc, http.StatusOK, "rx_queue", pageData{Title: s.msgs.T(rc.Lang, "rx.queue"), Data: rows})
	return nil
}

func (s *Server) rxDecision(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	if _, err := s.Prescriptions.Decide(r.Context(), rc.Actor, id, rx.Status(r.PostFormValue("decision")), r.PostFormValue("reason"), version); err != nil {
		return err
	}
	http.Redirect(w, r, "/rx/queue?ok=saved", http.StatusSeeOther)
	return nil
}

// rxSourceKeys name the catalogue entry of each source a finding cites
// whose text points into the repository (rx/kb/…): the page shows the
// source's name, not a file path; the CDS API keeps the full citation.
var rxSourceKeys = map[string]string{
	rx.SrcInsert:  "rx.src.insert",
	rx.SrcLabel:   "rx.src.label",
	rx.SrcATC:     "rx.src.atc",
	rx.SrcAllergy: "rx.src.allergy",
	rx.SrcONC:     "rx.src.onc",
}

// rxSource is a finding's source as a page shows it.
func (s *Server) rxSource(lang, src string) string {
	if k, ok := rxSourceKeys[src]; ok {
		return s.msgs.T(lang, k)
	}
	return src
}
