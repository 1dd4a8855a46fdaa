package notify

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
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
