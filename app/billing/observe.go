package billing

import (
	"context"
	"errors"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/metrics"
	"campuspay/app/reqlog"
	"campuspay/store"
)

type payWayKey struct{}

// WithPayWay marks ctx with how the platform learned of the trades applied under it, for
// the payments metric: "direct" (the channel took the money during the request), "recon"
// (a statement showed it). A notification is "notify"; anything unmarked is a "query".
func WithPayWay(ctx context.Context, way string) context.Context {
	return context.WithValue(ctx, payWayKey{}, way)
}

// observeTrade counts a trade applyTrade tried (err is its transaction's error) and names
// its order and trade on the request's log lines.
func observeTrade(ctx context.Context, channelName string, t channel.Trade, rec *store.Notification, out Outcome, err error) {
	reqlog.Add(ctx, "order_no", t.OrderNo, "trade_no", t.TradeNo)
	way, _ := ctx.Value(payWayKey{}).(string)
	switch {
	case rec != nil:
		way = "notify"
	case way == "":
		way = "query"
	}
	outcome := "applied"
	switch {
	case errors.Is(err, errDuplicate):
		outcome = "duplicate"
	case err != nil:
		outcome = "rejected"
	case out.Late:
		outcome = "late"
	}
	metrics.Payment(channelName, way, outcome)
}

// observeNotification counts a notification by its outcome and, when it was rejected, why.
func observeNotification(channelName, outcome string, err error) {
	reason := ""
	if err != nil {
		var be *fault.Error
		switch {
		case errors.Is(err, channel.ErrBadSignature):
			reason = "bad_signature"
		case errors.Is(err, channel.ErrMalformed):
			reason = "malformed"
		case errors.As(err, &be):
			reason = be.Code
		default:
			reason = "error"
		}
	}
	metrics.Notification(channelName, outcome, reason)
}
