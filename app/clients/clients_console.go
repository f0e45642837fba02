package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/store"
)

// What the console shows of business systems (接入系统): the list with each client's last
// request and failed callbacks, its request log, and its callback deliveries. Changes to
// clients are in clients.go, deliveries in outbox.go.

// ClientRow is one line of the console's list of clients.
type ClientRow struct {
	store.Client `bun:",extend"`

	LastRequestAt *time.Time `bun:"last_request_at"`
	FailedEvents  int        `bun:"failed_events"`
}

// ClientFilter narrows the list: a keyword in the name or app id, and "active" or "disabled".
type ClientFilter struct {
	Query string
	State string
}

// ItemCodes is the client's allowed item codes as a list.
func ItemCodes(c *store.Client) []string {
	var out []string
	for _, code := range strings.Split(c.AllowedItems, ",") {
		if code != "" {
			out = append(out, code)
		}
	}
	return out
}

func (f ClientFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if kw := strings.TrimSpace(f.Query); kw != "" {
		like := store.LikeContains(kw)
		q = q.Where("(client.name LIKE ? ESCAPE '!' OR client.app_id LIKE ? ESCAPE '!')", like, like)
	}
	switch f.State {
	case "active":
		q = q.Where("client.disabled = ?", false)
	case "disabled":
		q = q.Where("client.disabled = ?", true)
	}
	return q
}

// ClientList is one page of clients by name, each with the time of its last request and
// how many of its callbacks failed for good.
func (s *Service) ClientList(ctx context.Context, f ClientFilter, offset, limit int) ([]ClientRow, int, error) {
	total, err := f.where(s.DB.NewSelect().Model((*store.Client)(nil))).Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("clients: count clients: %w", err)
	}
	var rows []ClientRow
	err = f.where(s.DB.NewSelect().Model(&rows)).ColumnExpr("client.*").
		ColumnExpr("(SELECT MAX(r.at) FROM api_requests AS r WHERE r.app_id = client.app_id) AS last_request_at").
		ColumnExpr("(SELECT COUNT(*) FROM events AS e WHERE e.client = client.app_id AND e.status = ?) AS failed_events", EventFailed).
		OrderExpr("client.name, client.id").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("clients: list clients: %w", err)
	}
	return rows, int(total), nil
}

// ClientByID returns a client by its row id (the console's addresses use it).
func (s *Service) ClientByID(ctx context.Context, id int64) (*store.Client, error) {
	c := new(store.Client)
	if err := s.DB.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "接入系统不存在")
	}
	return c, nil
}

// ClientItemChoice is a charge item a client may be allowed to post bills to.
type ClientItemChoice struct {
	Code       string           `bun:"code"`
	Name       string           `bun:"name"`
	Department string           `bun:"department"`
	Status     store.ItemStatus `bun:"status"`
}

// ClientItemChoices lists the items finance may allow a client: every approved item, and
// any item in keep (what a client already has) whatever its status now, so that saving a
// client never drops an allowance silently.
func (s *Service) ClientItemChoices(ctx context.Context, keep []string) ([]ClientItemChoice, error) {
	var out []ClientItemChoice
	q := s.DB.NewSelect().TableExpr("charge_items AS ci").Join("JOIN departments AS d ON d.id = ci.department_id").
		ColumnExpr("ci.code, ci.name, d.name AS department, ci.status").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("ci.status = ?", store.ItemApproved)
			if len(keep) > 0 {
				q = q.WhereOr("ci.code IN (?)", bun.In(keep))
			}
			return q
		}).OrderExpr("d.name, ci.code")
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("clients: client item choices: %w", err)
	}
	return out, nil
}

// RequestFilter narrows a client's request log: Class 2, 4 or 5 for 2xx, 4xx or 5xx
// (0: all), and an error code.
type RequestFilter struct {
	Class     int
	ErrorCode string
}

// RequestErrorCodes are the error codes the API answers with (API.md, "Errors"), for the
// request log's filter; "internal" is what an unexpected failure reports.
var RequestErrorCodes = []string{
	"bad_request", "unauthorized", "forbidden", "not_found", "bill_conflict", "bill_not_cancellable",
	"refund_conflict", "item_not_payable", "amount_invalid", "refund_exceeds_paid", "rate_limited", "internal",
}

// ClientRequests is one page of a client's request log, newest first.
func (s *Service) ClientRequests(ctx context.Context, appID string, f RequestFilter, offset, limit int) ([]*store.APIRequest, int, error) {
	var rows []*store.APIRequest
	q := s.DB.NewSelect().Model(&rows).Where("app_id = ?", appID)
	if f.Class >= 1 && f.Class <= 5 {
		q = q.Where("status >= ? AND status < ?", f.Class*100, f.Class*100+100)
	}
	if f.ErrorCode != "" {
		q = q.Where("error_code = ?", f.ErrorCode)
	}
	total, err := store.ScanAndCount(ctx, q.OrderExpr("at DESC, id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("clients: client requests: %w", err)
	}
	return rows, int(total), nil
}

// DeliveryRow is one callback of a client, with the bill number read from its payload.
type DeliveryRow struct {
	*store.Event
	BillNo string
}

// StatusLabel names the delivery's status in Chinese.
func (d DeliveryRow) StatusLabel() string { return EventStatusLabel(d.Status) }

// TypeLabel names the event's type in Chinese.
func (d DeliveryRow) TypeLabel() string { return EventTypeLabel(d.Type) }

// Resendable reports whether finance may send it again now.
func (d DeliveryRow) Resendable() bool { return d.Status != EventDelivered }

// EventStatusLabel names a callback's status.
func EventStatusLabel(status string) string {
	switch status {
	case EventPending:
		return "待发送"
	case EventDelivered:
		return "已送达"
	case EventFailed:
		return "失败"
	}
	return status
}

// EventTypeLabel names a callback's type (API.md, "Callbacks").
func EventTypeLabel(t string) string {
	switch t {
	case "bill.paid":
		return "已缴清"
	case "bill.partial":
		return "部分缴费"
	case "bill.cancelled":
		return "已取消"
	case "bill.refunded":
		return "已退款"
	case "refund.succeeded":
		return "退款成功"
	case "refund.failed":
		return "退款失败"
	case "refund.rejected":
		return "退款驳回"
	}
	return t
}

// ClientDeliveries is one page of a client's callbacks, newest first; status narrows it to
// pending, delivered or failed ones.
func (s *Service) ClientDeliveries(ctx context.Context, appID, status string, offset, limit int) ([]DeliveryRow, int, error) {
	var events []*store.Event
	q := s.DB.NewSelect().Model(&events).Where("client = ?", appID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	total, err := store.ScanAndCount(ctx, q.OrderExpr("id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("clients: client deliveries: %w", err)
	}
	rows := make([]DeliveryRow, len(events))
	for i, ev := range events {
		var p struct {
			Data struct {
				Bill struct {
					BillNo string `json:"bill_no"`
				} `json:"bill"`
			} `json:"data"`
		}
		_ = json.Unmarshal([]byte(ev.Payload), &p) // a payload we wrote; a bad one shows no number
		rows[i] = DeliveryRow{Event: ev, BillNo: p.Data.Bill.BillNo}
	}
	return rows, int(total), nil
}

// DeliveryCounts counts a client's callbacks by status.
func (s *Service) DeliveryCounts(ctx context.Context, appID string) (map[string]int, error) {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	err := s.DB.NewSelect().Model((*store.Event)(nil)).ColumnExpr("status, COUNT(*) AS n").
		Where("client = ?", appID).GroupExpr("status").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("clients: delivery counts: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// ItemList is the row's allowed item codes as a list.
func (r ClientRow) ItemList() []string { return ItemCodes(&r.Client) }
