// Package referral is two-way referral (双向转诊) between the levels of a
// county medical community: up-referral from a village clinic or township
// center to a county hospital department (or out of the county to a
// partner hospital), and down-referral at discharge back to the resident's
// village clinic or township center with follow-up tasks to acknowledge.
//
// The rules are pure and named after their source (policy-rules.md §3):
// the hypertension up-referral and emergency-transfer criteria as reason
// codes, the state machine (Next), the ICD-10 check of a discharge
// diagnosis, and the indicators (indicators.go). Service applies them
// with the resident scope, care links and the audit trail; the data model
// follows WS/T 790 part 16 (双向转诊) in spirit: a referral record with
// sender, receiver, reasons, summary and a status history.
package referral

import (
	"fmt"
	"time"

	"countycare/care"
)

// Direction is up (上转) or down (下转).
type Direction string

// Directions.
const (
	Up   Direction = "up"   // 上转: to a higher level
	Down Direction = "down" // 下转: back to primary care at discharge
)

// Urgency of an up-referral.
type Urgency string

// Urgencies.
const (
	Routine   Urgency = "routine"   // 普通转诊: with an appointment or bed request
	Emergency Urgency = "emergency" // 紧急转诊: transfer now, the receiver is alerted
)

// Status is where a referral stands; see Next for the transitions.
type Status string

// Statuses of a referral.
const (
	StatusSent         Status = "sent"         // 已发出, waiting for the receiving side
	StatusAccepted     Status = "accepted"     // 已接收: appointment or bed given (up)
	StatusArrived      Status = "arrived"      // 已到达: the patient arrived (up)
	StatusCompleted    Status = "completed"    // 已完成: treated and discharged (up)
	StatusRedirected   Status = "redirected"   // 已改转: sent on to another department or institution (up; a new referral continues)
	StatusCancelled    Status = "cancelled"    // 已撤销 by the sender
	StatusAcknowledged Status = "acknowledged" // 已确认接收 by the primary-care clinic (down)
)

// Statuses lists every status in display order.
var Statuses = []Status{StatusSent, StatusAccepted, StatusArrived, StatusCompleted, StatusRedirected, StatusCancelled, StatusAcknowledged}

// Closed reports whether s ends a referral: the receiving institution's
// care link then expires after the grace period.
func (s Status) Closed() bool {
	return s == StatusCompleted || s == StatusRedirected || s == StatusCancelled || s == StatusAcknowledged
}

// Action is something a person does to a referral.
type Action string

// Actions. Side says who may take each.
const (
	ActAccept      = Action("accept")      // receiving side: appointment or bed
	ActRedirect    = Action("redirect")    // receiving side: to another department or institution, with a reason
	ActArrive      = Action("arrive")      // receiving side: the patient is here
	ActComplete    = Action("complete")    // receiving side: discharged (also done by a linked down-referral)
	ActCancel      = Action("cancel")      // sending side, with a reason
	ActAcknowledge = Action("acknowledge") // receiving clinic of a down-referral
)

// Side is the party an action belongs to.
type Side string

// Sides.
const (
	Sender   Side = "sender"
	Receiver Side = "receiver"
)

// SideOf returns the side that may take act.
func SideOf(act Action) Side {
	if act == ActCancel {
		return Sender
	}
	return Receiver
}

// transitions is the state machine: direction → status → action → next status.
var transitions = map[Direction]map[Status]map[Action]Status{
	Up: {
		StatusSent:     {ActAccept: StatusAccepted, ActRedirect: StatusRedirected, ActCancel: StatusCancelled},
		StatusAccepted: {ActArrive: StatusArrived, ActRedirect: StatusRedirected, ActCancel: StatusCancelled},
		StatusArrived:  {ActComplete: StatusCompleted},
	},
	Down: {
		StatusSent: {ActAcknowledge: StatusAcknowledged, ActCancel: StatusCancelled},
	},
}

// Next returns the status a referral moves to when act is taken in status
// from. An emergency up-referral may be confirmed as arrived straight from
// sent (the patient comes by ambulance before anyone accepts). Every other
// pair is refused with ECONFLICT and key referral.transition; the cause,
// for the log, names the action and the current status.
func Next(d Direction, u Urgency, from Status, act Action) (Status, error) {
	if d == Up && u == Emergency && from == StatusSent && act == ActArrive {
		return StatusArrived, nil
	}
	if to, ok := transitions[d][from][act]; ok {
		return to, nil
	}
	return "", &care.Error{Code: care.ECONFLICT, Key: "referral.transition", Op: "referral.Next", Err: fmt.Errorf("%s %s referral: cannot %s", from, d, act)}
}

// Allowed lists the actions possible from status (for the pages' buttons).
func Allowed(d Direction, u Urgency, from Status) []Action {
	var out []Action
	for _, a := range []Action{ActAccept, ActRedirect, ActArrive, ActComplete, ActCancel, ActAcknowledge} {
		if _, err := Next(d, u, from, a); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Referral is one referral (转诊单), up or down.
type Referral struct {
	ID             int64
	County         string
	Direction      Direction
	Status         Status
	ResidentID     int64
	ResidentName   string // filled by listings
	Poverty        bool   // the resident was in a poverty category when referred
	GreenChannel   bool   // 绿色通道: set for residents in a poverty category
	Urgency        Urgency
	Reasons        []Reason
	Summary        string // clinical summary (病情摘要)
	FromInst       int64
	FromDept       int64
	ToInst         int64
	ToDept         int64
	OutOfCounty    bool      // 县外转诊: the receiver is outside the county
	BedRequested   bool      // up: a bed is asked for (住院)
	RequestedAt    time.Time // up: the appointment the sender asks for (zero: none)
	Appointment    time.Time // up: given on acceptance
	Bed            string    // up: ward/bed given on acceptance
	Diagnosis      string    // down: ICD-10 code of the discharge diagnosis
	DiagnosisText  string    // down: the diagnosis in words
	Plan           string    // down: treatment and rehabilitation plan
	UpReferralID   int64     // down: the up-referral it answers (0: none)
	RedirectedFrom int64     // up: the referral this one continues
	ConsultationID int64     // the consultation it came from (0: none)
	Note           string    // last transition's note or reason
	IdempotencyKey string
	BodyHash       string
	CareLinkID     int64
	SentBy         int64 // account
	SentByPract    int64 // practitioner, for notifications
	FirstSentAt    time.Time
	SentAt         time.Time
	AcceptedAt     time.Time
	ArrivedAt      time.Time
	ClosedAt       time.Time
	UpdatedAt      time.Time
	Version        int
}

// Event is one timestamped transition of a referral.
type Event struct {
	ID         int64
	County     string
	ReferralID int64
	Action     string // "create" or an Action
	From, To   Status
	Note       string
	By         int64 // account
	ByInst     int64
	At         time.Time
}

// TaskKind is a kind of follow-up task handed down at discharge.
type TaskKind string

// Task kinds.
const (
	TaskFollowUp   TaskKind = "follow_up"    // 随访
	TaskBP         TaskKind = "bp_check"     // 测血压
	TaskGlucose    TaskKind = "glucose"      // 测血糖
	TaskMedication TaskKind = "medication"   // 用药指导与核对
	TaskRehab      TaskKind = "rehab"        // 康复指导
	TaskWound      TaskKind = "wound_care"   // 伤口护理/换药
	TaskLab        TaskKind = "lab_test"     // 复查化验
	TaskVisit      TaskKind = "home_visit"   // 上门访视
	TaskReturn     TaskKind = "return_visit" // 返院复诊
)

// TaskKinds lists every task kind.
var TaskKinds = []TaskKind{TaskFollowUp, TaskBP, TaskGlucose, TaskMedication, TaskRehab, TaskWound, TaskLab, TaskVisit, TaskReturn}

// Task is one follow-up task of a down-referral, for the receiving clinic.
type Task struct {
	ID         int64
	County     string
	ReferralID int64
	ResidentID int64
	ClinicID   int64 // the receiving village clinic or township center
	Kind       TaskKind
	Due        care.Date
	Note       string
}
