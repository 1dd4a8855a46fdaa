package web

import (
	"strings"
	"testing"
	"time"

	"countycare/consult"
	"countycare/rx"
)

// TestDurationsInWords: a page never shows Go's 19h3m0s.
func TestDurationsInWords(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d      time.Duration
		zh, en string
	}{
		{19*time.Hour + 3*time.Minute, "19小时3分", "19 h 3 min"},
		{5*time.Minute + 42*time.Second, "6分钟", "6 min"},
		{2 * time.Hour, "2小时", "2 h"},
		{23*time.Hour + 16*time.Minute, "23小时16分", "23 h 16 min"},
		{50 * time.Hour, "2天2小时", "2 d 2 h"},
		{72 * time.Hour, "3天", "3 d"},
		{20 * time.Second, "20秒", "20 s"},
	} {
		if got := c.duration("zh", tc.d); got != tc.zh {
			t.Errorf("zh %v = %q, want %q", tc.d, got, tc.zh)
		}
		if got := c.duration("en", tc.d); got != tc.en {
			t.Errorf("en %v = %q, want %q", tc.d, got, tc.en)
		}
	}
}

// TestConsultEventDetails: the scheduler's notes become sentences, with
// times in Asia/Shanghai; nothing of "one_to_one routine" or
// "head=false deadline …Z" reaches the page.
func TestConsultEventDetails(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ev   consult.Event
		want string
	}{
		{consult.Event{Kind: consult.EvCreated, Detail: "one_to_one routine"}, "一对一会诊 · 普通"},
		{consult.Event{Kind: consult.EvAssigned, Detail: "head=false deadline 2026-12-06T16:10:00Z"}, "应答截止 2026-12-07 00:10"},
		{consult.Event{Kind: consult.EvAssigned, Detail: "head=true deadline 2026-12-06T16:10:00Z"}, "由科主任应答 · 应答截止 2026-12-07 00:10"},
		{consult.Event{Kind: consult.EvEscalated, Detail: "no answer from 12 in time; step 2 head=true"}, "第 2 级：上一位医生未在时限内应答 · 由科主任应答"},
		{consult.Event{Kind: consult.EvAssigned, Detail: "after a decline"}, "上一位医生退回后改派"},
		{consult.Event{Kind: consult.EvNoRoster, Detail: "nobody on duty: the department head"}, ""},
		{consult.Event{Kind: consult.EvDecision, Detail: "referral"}, "转诊上级医院"},
		{consult.Event{Kind: consult.EvPassed, Detail: "本人门诊中"}, "本人门诊中"},
	} {
		if got := consultDetail(c, "zh", tc.ev); got != tc.want {
			t.Errorf("%s %q → %q, want %q", tc.ev.Kind, tc.ev.Detail, got, tc.want)
		}
	}
}

// TestPageLabels: specialties, stock references, audit outcomes and rx
// sources have labels; open codes fall back to themselves.
func TestPageLabels(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	p := pageData{Lang: "zh", msgs: c}
	for got, want := range map[string]string{
		p.Specialty("cardiology"):             "心血管内科",
		p.Specialty("general_practice"):       "全科医学科",
		p.Specialty("乡村全科"):                   "乡村全科",
		p.MoveRef("supply:3"):                 "供货单 #3",
		p.MoveRef("rx:12"):                    "处方 #12",
		p.Label("audit.outcome", "not_found"): "未找到",
		p.Label("rx.freq", "bid"):             "每日2次",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	s := &Server{msgs: c}
	for src := range rxSourceKeys {
		for _, l := range Languages {
			if got := s.rxSource(l, src); strings.Contains(got, "rx/kb") || got == src {
				t.Errorf("%s: source %q shown as %q", l, src, got)
			}
		}
	}
	for _, src := range []string{rx.SrcInsert, rx.SrcLabel, rx.SrcATC, rx.SrcAllergy} {
		if _, ok := rxSourceKeys[src]; !ok {
			t.Errorf("source %q (a repository path) has no label", src)
		}
	}
}
