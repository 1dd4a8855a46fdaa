package pharmacy

import (
	"time"

	"countycare/care"
)

// OrderStatus is where a supply order (药品请领单) stands.
type OrderStatus string

// Supply order states: a village or township clinic requests drugs from
// the county pharmacy; the county approves (all or part of each line) or
// rejects; it ships what it approved, with batch and expiry; the clinic
// confirms receipt, and only then does its stock grow. The clinic may
// cancel a request the county has not yet approved.
const (
	OrderRequested OrderStatus = "requested" // 已提交
	OrderApproved  OrderStatus = "approved"  // 已审批（全部或部分）
	OrderRejected  OrderStatus = "rejected"  // 已驳回
	OrderShipped   OrderStatus = "shipped"   // 已发货
	OrderReceived  OrderStatus = "received"  // 已签收入库
	OrderCancelled OrderStatus = "cancelled" // 已撤销
)

// orderNext is the supply order state machine.
var orderNext = map[OrderStatus][]OrderStatus{
	OrderRequested: {OrderApproved, OrderRejected, OrderCancelled},
	OrderApproved:  {OrderShipped},
	OrderShipped:   {OrderReceived},
}

// CanMove reports whether an order may go from one state to another.
func (s OrderStatus) CanMove(to OrderStatus) bool {
	for _, n := range orderNext[s] {
		if n == to {
			return true
		}
	}
	return false
}

// MaxOrderLines bounds a supply order; MaxOrderUnits one line.
const (
	MaxOrderLines = 50
	MaxOrderUnits = 100000
)

// OrderLine is one drug of a supply order. Approved ≤ Requested; the
// shipment may split a line over several batches (Shipments), which sum
// to Shipped ≤ Approved.
type OrderLine struct {
	DrugCode  string
	Requested int64
	Approved  int64
	Shipped   int64
	Shipments []Shipment
}

// Shipment is one batch shipped on an order line.
type Shipment struct {
	Batch    string
	Expiry   care.Date
	Quantity int64
}

// OrderEvent is one step of an order's history.
type OrderEvent struct {
	Status    OrderStatus
	At        time.Time
	AccountID int64
	Username  string
	Note      string
}

// SupplyOrder is a clinic's request for drugs from the county pharmacy.
type SupplyOrder struct {
	ID         int64
	County     string
	ClinicID   int64 // the requesting village or township institution
	SupplierID int64 // the county institution whose pharmacy supplies it
	Status     OrderStatus
	Lines      []OrderLine
	Note       string
	History    []OrderEvent
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int
}

// Partial reports whether the county approved less than was requested on
// any line.
func (o *SupplyOrder) Partial() bool {
	for _, l := range o.Lines {
		if l.Approved < l.Requested {
			return true
		}
	}
	return false
}
