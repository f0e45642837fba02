package channel

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Legacy puts an adapter of the one-merchant Channel interface (the sandbox, the campus
// card, a test's fake company) on the Provider model, so that billing speaks to every
// channel the same way. The attempt's number is what the adapter knows as the order
// number. A channel that implements Capable says what it can do; otherwise caps does.
func Legacy(ch Channel, caps Capabilities) Provider {
	if c, ok := ch.(Capable); ok {
		caps = c.Capabilities()
	}
	return &legacy{ch: ch, caps: caps}
}

type legacy struct {
	ch   Channel
	caps Capabilities
}

// Unwrap returns the adapter underneath.
func (l *legacy) Unwrap() Channel { return l.ch }

func (l *legacy) Capabilities() Capabilities { return l.caps }

func (l *legacy) Pay(ctx context.Context, req PayRequest) (PayResult, error) {
	res, err := l.ch.Create(ctx, CreateRequest{
		OrderNo: req.AttemptNo, AmountFen: req.AmountFen, Subject: req.Subject, ExpiresAt: req.ExpiresAt,
		NotifyURL: req.NotifyURL, ReturnURL: req.ReturnURL, PayerNo: req.PayerNo, Password: req.Password,
	})
	return PayResult{QRContent: res.QRContent, RedirectURL: res.RedirectURL, Paid: res.Paid}, err
}

func (l *legacy) Query(ctx context.Context, ref TradeRef) (Trade, error) {
	return l.ch.Query(ctx, ref.AttemptNo)
}

func (l *legacy) Close(ctx context.Context, ref TradeRef) error {
	return l.ch.Close(ctx, ref.AttemptNo)
}

func (l *legacy) Refund(ctx context.Context, call RefundCall) (RefundResult, error) {
	return l.ch.Refund(ctx, RefundRequest{OrderNo: call.Trade.AttemptNo, TradeNo: call.Trade.TradeNo,
		RefundNo: call.RefundNo, AmountFen: call.AmountFen, TotalFen: call.TotalFen, Reason: call.Reason})
}

func (l *legacy) QueryRefund(ctx context.Context, call RefundCall) (RefundResult, error) {
	return l.ch.QueryRefund(ctx, call.Trade.AttemptNo, call.RefundNo)
}

// Notification: a paid trade is NoticePaid; a signed word that a trade waits or closed
// needs nothing done.
func (l *legacy) Notification(_ context.Context, header http.Header, body []byte) (Notice, error) {
	t, err := l.ch.VerifyNotification(header, body)
	if err != nil {
		return Notice{}, err
	}
	if t.Raw == "" {
		t.Raw = string(body)
	}
	if t.Status == TradeSuccess {
		return Notice{Kind: NoticePaid, Trade: t, Raw: t.Raw}, nil
	}
	return Notice{Kind: NoticeIgnore, Trade: t, Reason: "trade " + string(t.Status) + ": nothing to do", Raw: t.Raw}, nil
}

func (l *legacy) Ack(ok bool, message string) Ack {
	if !ok {
		return Ack{Status: http.StatusBadRequest, ContentType: "text/plain; charset=utf-8", Body: []byte(message)}
	}
	ct, body := l.ch.NotificationAck()
	return Ack{Status: http.StatusOK, ContentType: ct, Body: body}
}

func (l *legacy) Statement(ctx context.Context, day time.Time) (Statement, error) {
	if s, ok := l.ch.(StatementSource); ok {
		return s.Statement(ctx, day)
	}
	return Statement{}, fmt.Errorf("channel %s: no statements: %w", l.ch.Name(), ErrUnavailable)
}
