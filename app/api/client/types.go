package client

import (
	"context"
	"encoding/json"
	"net/url"
)

// The API's objects (API.md, "Objects") and one typed call per endpoint, on top of Do.

// Payer is a bill's payer: Type "internal" with ID (student or staff number; Name is
// needed only when the platform does not know the number yet), or "external" with Name and
// Phone.
type Payer struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// NewBill is a bill to create. Amount is in fen; leave it 0 for a fixed-price item.
type NewBill struct {
	BillNo      string          `json:"bill_no"`
	ItemCode    string          `json:"item_code"`
	Payer       Payer           `json:"payer"`
	Amount      int64           `json:"amount,omitempty"`
	Description string          `json:"description,omitempty"`
	DueDate     string          `json:"due_date,omitempty"` // YYYY-MM-DD
	Metadata    json.RawMessage `json:"metadata,omitempty"` // a JSON object, ≤ 4 KB
}

// Bill is a bill as the platform shows it.
type Bill struct {
	BillNo         string    `json:"bill_no"`
	ItemCode       string    `json:"item_code"`
	Payer          Payer     `json:"payer"`
	Amount         int64     `json:"amount"`
	AmountPaid     int64     `json:"amount_paid"`
	AmountRefunded int64     `json:"amount_refunded"`
	Status         string    `json:"status"` // unpaid, partial, paid, refunded, cancelled
	Description    string    `json:"description"`
	DueDate        *string   `json:"due_date"`
	CreatedAt      string    `json:"created_at"`
	PaidAt         *string   `json:"paid_at"`
	PayURL         string    `json:"pay_url"` // send the payer here; empty once nothing is due
	Payments       []Payment `json:"payments"`
	Refunds        []Refund  `json:"refunds"`
}

// Payment is one payment of a bill.
type Payment struct {
	OrderNo string `json:"order_no"`
	Channel string `json:"channel"`
	Amount  int64  `json:"amount"`
	PaidAt  string `json:"paid_at"`
}

// Refund is a refund, as a bill lists it (RefundNo, Amount, Status) or as
// GET /api/v1/refunds/{refund_no} shows it (all fields).
type Refund struct {
	RefundNo   string  `json:"refund_no"`
	BillNo     string  `json:"bill_no,omitempty"`
	Amount     int64   `json:"amount"`
	Reason     string  `json:"reason,omitempty"`
	Status     string  `json:"status"` // pending, approved, processing, succeeded, failed, rejected
	CreatedAt  string  `json:"created_at,omitempty"`
	UpdatedAt  string  `json:"updated_at,omitempty"`
	FinishedAt *string `json:"finished_at,omitempty"`
}

// BatchResult is one bill's outcome in a batch: Status 201 or 200 with Bill, or 4xx with
// Error.
type BatchResult struct {
	BillNo string `json:"bill_no"`
	Status int    `json:"status"`
	Bill   *Bill  `json:"bill"`
	Error  *Error `json:"error"`
}

// RosterPayer is one payer of a roster sync. A nil field keeps what the platform has.
type RosterPayer struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Unit   *string `json:"unit,omitempty"`
	Class  *string `json:"class,omitempty"`
	Phone  *string `json:"phone,omitempty"`
	Status *string `json:"status,omitempty"` // active, graduated, left, suspended
}

// RosterResult is one payer's outcome in a roster sync: 201 created, 200 updated or
// unchanged, 4xx with Error.
type RosterResult struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Error  *Error `json:"error"`
}

// CreateBill posts a bill. Posting the same bill again (a retry) returns it as it stands;
// the same bill_no with different content is a 409 bill_conflict *Error.
func (c *Client) CreateBill(ctx context.Context, b NewBill) (*Bill, error) {
	var out Bill
	return &out, c.Do(ctx, "POST", "/api/v1/bills", b, &out)
}

// CreateBills posts up to 1,000 bills; each has its own result, in the order sent.
func (c *Client) CreateBills(ctx context.Context, bills []NewBill) ([]BatchResult, error) {
	var out struct {
		Results []BatchResult `json:"results"`
	}
	err := c.Do(ctx, "POST", "/api/v1/bills/batch", map[string]any{"bills": bills}, &out)
	return out.Results, err
}

// Bill reads a bill by its number.
func (c *Client) Bill(ctx context.Context, billNo string) (*Bill, error) {
	var out Bill
	return &out, c.Do(ctx, "GET", "/api/v1/bills/"+url.PathEscape(billNo), nil, &out)
}

// CancelBill cancels an unpaid bill that is not being paid.
func (c *Client) CancelBill(ctx context.Context, billNo string) (*Bill, error) {
	var out Bill
	return &out, c.Do(ctx, "POST", "/api/v1/bills/"+url.PathEscape(billNo)+"/cancel", nil, &out)
}

// RequestRefund asks for amount fen of a paid bill back; finance approves it.
func (c *Client) RequestRefund(ctx context.Context, billNo, refundNo string, amount int64, reason string) (*Refund, error) {
	var out Refund
	in := map[string]any{"refund_no": refundNo, "amount": amount, "reason": reason}
	return &out, c.Do(ctx, "POST", "/api/v1/bills/"+url.PathEscape(billNo)+"/refunds", in, &out)
}

// Refund reads a refund by its number.
func (c *Client) Refund(ctx context.Context, refundNo string) (*Refund, error) {
	var out Refund
	return &out, c.Do(ctx, "GET", "/api/v1/refunds/"+url.PathEscape(refundNo), nil, &out)
}

// SyncPayers creates or updates up to 1,000 payers (needs the roster permission).
func (c *Client) SyncPayers(ctx context.Context, payers []RosterPayer) ([]RosterResult, error) {
	var out struct {
		Results []RosterResult `json:"results"`
	}
	err := c.Do(ctx, "PUT", "/api/v1/payers", map[string]any{"payers": payers}, &out)
	return out.Results, err
}
