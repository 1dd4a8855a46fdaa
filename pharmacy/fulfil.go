package pharmacy

import "time"

// Mode is how a dispensed prescription reaches the resident.
type Mode string

// Fulfilment modes (seed 003: 药品配送 or 预约取药).
const (
	ModeDelivery Mode = "delivery" // 配送到家
	ModePickup   Mode = "pickup"   // 到村卫生室取药
)

// FulfilStatus is where a dispensed order stands.
type FulfilStatus string

// Courier states for a delivery, and the pick-up states.
const (
	FulPacked    FulfilStatus = "packed"           // 已打包
	FulShipped   FulfilStatus = "shipped"          // 已发出
	FulOut       FulfilStatus = "out_for_delivery" // 派送中
	FulDelivered FulfilStatus = "delivered"        // 已签收
	FulFailed    FulfilStatus = "failed"           // 派送失败
	FulReturned  FulfilStatus = "returned"         // 已退回（退药退款）
	FulReady     FulfilStatus = "ready"            // 待取药
	FulPickedUp  FulfilStatus = "picked_up"        // 已取药
)

var fulfilNext = map[Mode]map[FulfilStatus][]FulfilStatus{
	ModeDelivery: {
		FulPacked:  {FulShipped, FulReturned},
		FulShipped: {FulOut, FulFailed},
		FulOut:     {FulDelivered, FulFailed},
		FulFailed:  {FulOut, FulReturned},
	},
	ModePickup: {
		FulReady: {FulPickedUp, FulReturned},
	},
}

// CanMove reports whether a fulfilment in mode m may go from one state to
// another. Delivered, picked up and returned are final.
func CanMove(m Mode, from, to FulfilStatus) bool {
	for _, n := range fulfilNext[m][from] {
		if n == to {
			return true
		}
	}
	return false
}

// FulfilEvent is one step of a fulfilment's history.
type FulfilEvent struct {
	Status    FulfilStatus
	At        time.Time
	AccountID int64
	Note      string
}

// Fulfilment is a dispensed prescription on its way to the resident: the
// lots it took, its payment, and its delivery or pick-up.
type Fulfilment struct {
	PrescriptionID int64
	County         string
	ResidentID     int64
	InstitutionID  int64 // dispensed from this institution's stock
	Mode           Mode
	Status         FulfilStatus
	Address        string // delivery
	Phone          string // delivery contact
	Courier        string
	Tracking       string
	ReceiverName   string // proof of receipt
	ProofCode      string // the code the resident gave the courier, or a photo reference
	PickupClinicID int64  // pick-up
	PickupCode     string // six digits, shown to the resident
	PickedUpBy     string
	TotalFen       int64
	PatientFen     int64
	SettlementID   int64   // the first of SettlementIDs; 0: not settled through insurance
	SettlementIDs  []int64 // every settlement that paid the prescription (a chronic part and an outpatient part settle apart)
	Takes          []Take
	History        []FulfilEvent
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int
}

// Settlements returns the IDs of the settlements that paid f (a
// fulfilment stored before prescriptions were split has only SettlementID).
func (f *Fulfilment) Settlements() []int64 {
	if len(f.SettlementIDs) == 0 && f.SettlementID != 0 {
		return []int64{f.SettlementID}
	}
	return f.SettlementIDs
}

// Final reports whether the fulfilment has ended.
func (f *Fulfilment) Final() bool {
	return f.Status == FulDelivered || f.Status == FulPickedUp || f.Status == FulReturned
}
