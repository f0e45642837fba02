package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// QueueBillEvent writes an outbox row telling the bill's business system what happened,
// inside the transaction of the change itself: the callback exists exactly when the change
// does. A delivery job sends it (at least once; event_id lets the receiver deduplicate).
func QueueBillEvent(ctx context.Context, tx bun.Tx, b *store.Bill, eventType string, now time.Time) error {
	ev := &store.Event{EventID: "evt_" + randomToken(24), Client: b.SourceClient, Type: eventType, Status: "pending", NextAt: now, CreatedAt: now}
	bill, err := buildAPIBill(ctx, tx, b, nil)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"event_id":   ev.EventID,
		"type":       eventType,
		"created_at": APITime(now),
		"data":       map[string]any{"bill": bill},
	})
	if err != nil {
		return fmt.Errorf("billing: event payload: %w", err)
	}
	ev.Payload = string(body)
	if _, err := tx.NewInsert().Model(ev).Exec(ctx); err != nil {
		return fmt.Errorf("billing: queue event: %w", err)
	}
	return nil
}

// queueRefundEvent writes an outbox row telling the bill's business system what became of a
// refund, inside the transaction of the change. The payload is shaped as queueBillEvent's,
// with the refund beside the bill under data.
func queueRefundEvent(ctx context.Context, tx bun.Tx, b *store.Bill, r *store.Refund, eventType string, now time.Time) error {
	ev := &store.Event{EventID: "evt_" + randomToken(24), Client: b.SourceClient, Type: eventType, Status: "pending", NextAt: now, CreatedAt: now}
	refund := map[string]any{
		"refund_no":        r.RefundNo,
		"client_refund_no": r.ClientRefundNo,
		"amount":           r.AmountFen,
		"status":           r.Status,
		"reason":           r.Reason,
	}
	switch r.Status {
	case store.RefundRejected:
		refund["message"] = r.DecisionNote
	case store.RefundFailed:
		refund["message"] = r.ChannelMessage
	}
	if r.FinishedAt != nil {
		refund["finished_at"] = APITime(*r.FinishedAt)
	}
	payload := map[string]any{
		"event_id":   ev.EventID,
		"type":       eventType,
		"created_at": APITime(now),
		"data": map[string]any{
			"bill": map[string]any{
				"bill_no":         b.BillNo,
				"amount":          b.AmountDueFen,
				"amount_paid":     b.AmountPaidFen,
				"amount_refunded": b.AmountRefundedFen,
				"status":          b.Status,
			},
			"refund": refund,
		},
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("billing: event payload: %w", err)
	}
	ev.Payload = string(body)
	if _, err := tx.NewInsert().Model(ev).Exec(ctx); err != nil {
		return fmt.Errorf("billing: queue event: %w", err)
	}
	return nil
}
