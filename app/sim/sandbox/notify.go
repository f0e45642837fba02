package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"campuspay/store"
)

// retrySchedule is how long the gateway waits before each new attempt after a failed one.
var retrySchedule = []time.Duration{1 * time.Second, 3 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}

type notification struct {
	Merchant   string `json:"merchant"`
	OutTradeNo string `json:"out_trade_no"`
	TradeNo    string `json:"trade_no"`
	AmountFen  int64  `json:"amount_fen"`
	Status     string `json:"status"`
	PaidAt     string `json:"paid_at"`
}

// notice is one notification to deliver: its body is fixed, its signature fresh per attempt.
type notice struct {
	merchant string
	tradeNo  string
	url      string
	body     []byte
}

type heldNotice struct {
	n      notice
	copies int
}

// notifyPaid sends the notification of a paid trade, as the switches say.
func (s *Sim) notifyPaid(t *store.SandboxTrade) {
	sw := s.Switches()
	body, err := json.Marshal(notification{
		Merchant:   t.Merchant,
		OutTradeNo: t.OutTradeNo,
		TradeNo:    t.TradeNo,
		AmountFen:  t.AmountFen + sw.AmountDeltaFen,
		Status:     StatusSuccess,
		PaidAt:     formatTime(*t.PaidAt),
	})
	if err != nil {
		slog.Error("sandbox: encode notification", "trade_no", t.TradeNo, "err", err)
		return
	}
	n := notice{merchant: t.Merchant, tradeNo: t.TradeNo, url: t.NotifyURL, body: body}
	if sw.DropNotify {
		slog.Info("sandbox: notification dropped (switch)", "trade_no", t.TradeNo)
		return
	}
	copies := 1 + max(0, sw.DuplicateNotify)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if sw.OutOfOrder {
		s.held = append(s.held, heldNotice{n: n, copies: copies})
		return
	}
	ctx := s.backgroundLocked()
	s.wg.Add(copies)
	for range copies {
		go func() {
			defer s.wg.Done()
			s.deliver(ctx, n, sw.NotifyDelay, 0)
		}()
	}
}

// backgroundLocked returns the context of background deliveries; s.mu must be held.
func (s *Sim) backgroundLocked() context.Context {
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	return s.ctx
}

// deliver waits, sends, and retries on the schedule from retries attempts already used.
func (s *Sim) deliver(ctx context.Context, n notice, wait time.Duration, retries int) {
	for {
		if !sleep(ctx, wait) {
			return
		}
		if s.send(ctx, n) {
			return
		}
		if retries >= len(retrySchedule) {
			slog.Warn("sandbox: notification abandoned", "trade_no", n.tradeNo, "url", n.url, "attempts", retries+1)
			return
		}
		wait = retrySchedule[retries]
		retries++
	}
}

// release sends held notifications newest first: each one's first attempt is made in
// turn, so that the receiver sees them in reverse order; retries and duplicates go on
// concurrently.
func (s *Sim) release(ctx context.Context, held []heldNotice) {
	defer s.wg.Done()
	for i := len(held) - 1; i >= 0; i-- {
		h := held[i]
		s.wg.Add(h.copies - 1)
		for range h.copies - 1 {
			go func() {
				defer s.wg.Done()
				s.deliver(ctx, h.n, 0, 0)
			}()
		}
		if !s.send(ctx, h.n) && ctx.Err() == nil {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.deliver(ctx, h.n, retrySchedule[0], 1)
			}()
		}
	}
}

// send makes one attempt and reports whether the merchant acknowledged it.
func (s *Sim) send(ctx context.Context, n notice) bool {
	key, ok := s.key(n.merchant)
	if !ok {
		slog.Warn("sandbox: notification for a merchant without key", "merchant", n.merchant, "trade_no", n.tradeNo)
		return true // nothing will ever sign it: stop
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	ctx, cancel := context.WithTimeout(ctx, notifyHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err != nil {
		slog.Warn("sandbox: notification request", "trade_no", n.tradeNo, "err", err)
		return true // the URL will not get better
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, signNotification(key, ts, n.body))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: notifyHTTPTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			slog.Info("sandbox: notification not delivered", "trade_no", n.tradeNo, "err", err)
		}
		return false
	}
	defer resp.Body.Close()
	ack, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(ack)) != "success" {
		slog.Info("sandbox: notification not acknowledged", "trade_no", n.tradeNo, "status", resp.StatusCode)
		return false
	}
	return true
}

// sleep waits d, or less if ctx ends first; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
