package notify

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMessageValidAndMasking(t *testing.T) {
	ok := Message{Channel: ChannelSMS, Recipient: "13812345678", Body: "您好"}
	if err := ok.Valid(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{
		{Channel: "fax", Recipient: "13812345678", Body: "x"},
		{Channel: ChannelSMS, Body: "x"},
		{Channel: ChannelSMS, Recipient: "13812345678"},
		{Channel: ChannelSMS, Recipient: "13812345678", Body: strings.Repeat("长", MaxBody+1)},
	} {
		if m.Valid() == nil {
			t.Errorf("%+v accepted", m)
		}
	}
	if got := MaskRecipient("13812345678"); got != "138******78" {
		t.Errorf("mask %q", got)
	}
	// The log sender never writes the full number or the text.
	var buf bytes.Buffer
	LogSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}.Send(context.Background(), &Message{Channel: ChannelSMS, Recipient: "13812345678", Body: "【平舆县医共体】张三您好"})
	if strings.Contains(buf.String(), "13812345678") || strings.Contains(buf.String(), "张三") || !strings.Contains(buf.String(), "138******78") {
		t.Errorf("log line %q", buf.String())
	}
}

// TestBackoffAndLiveKind: the retry waits double from First up to Max;
// an undelivered message's banner names what it was about.
func TestBackoffAndLiveKind(t *testing.T) {
	r := Retry{Attempts: 6, First: 30 * time.Second, Max: 5 * time.Minute}
	var got []time.Duration
	for k := 1; k <= 6; k++ {
		got = append(got, r.Backoff(k))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
	if d := DefaultRetry(); d.Attempts != MaxAttempts || d.Backoff(1) != 30*time.Second {
		t.Errorf("default %+v", d)
	}
	for _, tc := range []struct {
		ref  string
		kind string
		id   int64
	}{{"critical:12", "critical.undelivered", 12}, {"consult:7", "consult.undelivered", 7}, {"", "notify.undelivered", 99}, {"critical:x", "notify.undelivered", 99}, {":5", "notify.undelivered", 99}} {
		if k, id := LiveKind(&Message{ID: 99, Ref: tc.ref}); k != tc.kind || id != tc.id {
			t.Errorf("%q: %s %d, want %s %d", tc.ref, k, id, tc.kind, tc.id)
		}
	}
	// Duty messages go to the institution's phones, not back to the number that failed.
	e := &Escalation{Duty: map[int64][]string{7: {"13900000007", "13812345678"}}, Labels: map[string]string{"critical.alert": "危急值通知"}}
	ds := e.dutyMessages(&Message{County: "411723", Recipient: "13812345678", Purpose: "critical.alert", Ref: "critical:12", Institution: 7})
	if len(ds) != 1 || ds[0].Recipient != "13900000007" || ds[0].Purpose != PurposeDuty || ds[0].Ref != "critical:12" ||
		ds[0].Params["phone"] != "138******78" || ds[0].Params["topic"] != "危急值通知" || ds[0].Valid() != nil {
		t.Errorf("duty messages %+v", ds)
	}
	if ds := e.dutyMessages(&Message{Recipient: "1", Institution: 8}); len(ds) != 0 {
		t.Errorf("an institution without duty phones: %+v", ds)
	}
}
