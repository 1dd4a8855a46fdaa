package outreach

import (
	"fmt"

	"countycare/notify"
)

// Outbox purposes of the text messages about bookings (docs/sms.md): each
// is an approved template of the county's SMS configuration, filled with
// the parameters name, date, time, township, room and specialty
// (PurposeCancelled: reason instead of room).
const (
	PurposeBooked    = "outreach.booked"    // a booking made: the confirmation
	PurposeReminder  = "outreach.reminder"  // the day before the session
	PurposeMoved     = "outreach.moved"     // the session's day, time or room changed
	PurposeCancelled = "outreach.cancelled" // the session cancelled
)

// Params lists the parameters each purpose's messages carry, for the SMS
// configuration's check (cmd/countycare smsPurposes).
var Params = map[string][]string{
	PurposeBooked:    {"name", "date", "time", "township", "room", "specialty"},
	PurposeReminder:  {"name", "date", "time", "township", "room", "specialty"},
	PurposeMoved:     {"name", "date", "time", "township", "room", "specialty"},
	PurposeCancelled: {"name", "date", "time", "township", "specialty", "reason"},
}

// Notices counts the text messages of one change: queued, and the
// residents skipped for having no mobile number (not an error: their
// village doctor tells them).
type Notices struct {
	Queued  int
	NoPhone int
}

// notice is the message of purpose to the booked resident of b about
// session ss (its date, slot and room as they are now), or nil when the
// resident has no mobile number (counted in n).
func notice(purpose string, ss *Session, b *Booking, reason string, n *Notices) *notify.Message {
	phone := notify.NormalizePhone(b.Phone)
	if phone == "" {
		n.NoPhone++
		return nil
	}
	n.Queued++
	room := ss.Room
	if room == "" {
		room = "门诊"
	}
	p := map[string]string{"name": b.ResidentName, "date": ss.Date.String(), "time": b.Slot, "township": ss.TownshipName, "specialty": ss.Specialty}
	var body string
	switch purpose {
	case PurposeBooked:
		body = fmt.Sprintf("%s您好，您已预约%s %s在%s%s的%s专家坐诊，请按时就诊；如不能前来请提前取消。", b.ResidentName, p["date"], p["time"], p["township"], room, p["specialty"])
	case PurposeReminder:
		body = fmt.Sprintf("%s您好，提醒您明天（%s）%s到%s%s看%s专家门诊，请带好身份证和病历。", b.ResidentName, p["date"], p["time"], p["township"], room, p["specialty"])
	case PurposeMoved:
		body = fmt.Sprintf("%s您好，您预约的%s专家坐诊已调整为%s %s，地点%s%s。如有不便请联系村医。", b.ResidentName, p["specialty"], p["date"], p["time"], p["township"], room)
	case PurposeCancelled:
		body = fmt.Sprintf("%s您好，很抱歉，%s %s在%s的%s专家坐诊已取消（%s），您的预约随之取消，请联系村医另约。", b.ResidentName, p["date"], p["time"], p["township"], p["specialty"], reason)
	}
	if purpose == PurposeCancelled {
		p["reason"] = reason
	} else {
		p["room"] = room
	}
	return &notify.Message{County: b.CountyCode, ResidentID: b.ResidentID, Channel: notify.ChannelSMS, Recipient: phone, Purpose: purpose,
		Body: body, Params: p, Ref: fmt.Sprintf("outreach:%d", ss.ID), Institution: ss.TownshipID}
}

// notices builds the message of purpose to every booked resident of bs.
func notices(purpose string, ss *Session, bs []Booking, reason string, n *Notices) []notify.Message {
	var out []notify.Message
	for i := range bs {
		if bs[i].Status != Booked {
			continue
		}
		if m := notice(purpose, ss, &bs[i], reason, n); m != nil {
			out = append(out, *m)
		}
	}
	return out
}
