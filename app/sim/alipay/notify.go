package alipay

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// notice is one notification to send: the address and the signed form.
type notice struct {
	url  string
	form url.Values
}

// baseNoticeLocked is the fields every trade_status_sync notification carries, with the
// switches applied (a wrong amount, another seller or app id).
func (s *Sim) baseNoticeLocked(t *trade) url.Values {
	sw := s.switches
	appID, sellerID := s.appID, s.sellerID
	if sw.OtherAppID {
		appID = "2021000000000001"
	}
	if sw.OtherSellerID {
		sellerID = "2088000000000001"
	}
	now := s.now().In(shanghai)
	v := url.Values{
		"notify_time":    {now.Format(wireTime)},
		"notify_type":    {"trade_status_sync"},
		"notify_id":      {"2024" + digits(28)},
		"app_id":         {appID},
		"charset":        {"utf-8"},
		"version":        {"1.0"},
		"sign_type":      {"RSA2"},
		"trade_no":       {t.tradeNo},
		"out_trade_no":   {t.outTradeNo},
		"buyer_id":       {"2088102000000000"},
		"buyer_logon_id": {"stu***@example.edu.cn"},
		"seller_id":      {sellerID},
		"trade_status":   {t.status},
		"total_amount":   {yuan(t.amountFen + sw.AmountDeltaFen)},
		"subject":        {t.subject},
		"gmt_create":     {t.created.In(shanghai).Format(wireTime)},
	}
	if !t.paid.IsZero() {
		v.Set("gmt_payment", t.paid.In(shanghai).Format(wireTime))
		v.Set("receipt_amount", yuan(t.amountFen))
		v.Set("buyer_pay_amount", yuan(t.amountFen))
	}
	if t.authToken != "" {
		v.Set("auth_app_id", s.appID)
	}
	return v
}

func (s *Sim) signNoticeLocked(t *trade, v url.Values) notice {
	v.Set("sign", sign(s.aliKey, []byte(signContent(v, "sign", "sign_type"))))
	return notice{url: t.notifyURL, form: v}
}

func (s *Sim) tradeNoticeLocked(t *trade) notice {
	return s.signNoticeLocked(t, s.baseNoticeLocked(t))
}

// refundNoticeLocked is Alipay's refund notification: a trade_status_sync with the trade's
// status after the refund, the cumulative refund_fee, gmt_refund and out_biz_no.
func (s *Sim) refundNoticeLocked(t *trade, r *refund) notice {
	v := s.baseNoticeLocked(t)
	v.Set("refund_fee", yuan(t.refunded()))
	v.Set("gmt_refund", r.at.In(shanghai).Format("2006-01-02 15:04:05.000"))
	v.Set("out_biz_no", r.outRequestNo)
	if t.status == statusClosed {
		v.Set("gmt_close", r.at.In(shanghai).Format(wireTime))
	}
	return s.signNoticeLocked(t, v)
}

// Finish moves a paid trade to TRADE_FINISHED (its refund period is over) and notifies, as
// Alipay does for products with a refund period.
func (s *Sim) Finish(outTradeNo string) error {
	s.mu.Lock()
	t := s.trades[outTradeNo]
	if t == nil || t.status != statusSuccess {
		s.mu.Unlock()
		return errors.New("alipay sim: no paid trade " + outTradeNo)
	}
	t.status = statusFinished
	n := s.tradeNoticeLocked(t)
	s.mu.Unlock()
	s.dispatch(n)
	return nil
}

// dispatch sends a notification as the switches say: dropped, held for reordering, delayed,
// duplicated.
func (s *Sim) dispatch(n notice) {
	if n.url == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sw := s.switches
	switch {
	case s.closed, sw.DropNotify:
		return
	case sw.ReorderNotify:
		s.held = append(s.held, n)
		return
	}
	for i := 0; i <= sw.DuplicateNotify; i++ {
		s.wg.Add(1)
		go s.deliver(n, sw.NotifyDelay)
	}
}

// releaseLocked sends the held notifications newest first: each first attempt in that
// order, the retries of those not acknowledged on their own schedule.
func (s *Sim) releaseLocked() {
	held := s.held
	s.held = nil
	if s.closed || len(held) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for i := len(held) - 1; i >= 0; i-- {
			if s.post(held[i]) {
				continue
			}
			s.wg.Add(1)
			go func(n notice) {
				defer s.wg.Done()
				s.retry(n)
			}(held[i])
		}
	}()
}

// deliver sends n after delay until it is acknowledged.
func (s *Sim) deliver(n notice, delay time.Duration) {
	defer s.wg.Done()
	if !s.wait(delay) || s.post(n) {
		return
	}
	s.retry(n)
}

// retry sends n again on Alipay's schedule, compressed by RetryCompression, until the
// answer is exactly "success".
func (s *Sim) retry(n notice) {
	div := s.RetryCompression
	if div <= 0 {
		div = 1
	}
	for _, d := range alipaySchedule {
		if !s.wait(d / time.Duration(div)) {
			return
		}
		if s.post(n) {
			return
		}
	}
}

// wait sleeps for d unless the fake is closed first.
func (s *Sim) wait(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// post sends one notification and reports whether it was acknowledged with "success".
func (s *Sim) post(n notice) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, strings.NewReader(n.form.Encode()))
	if err != nil {
		return true // an address that cannot be used will never succeed
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return strings.TrimSpace(string(body)) == "success"
}

// Renotify sends a notification of the trade's current status (WAIT_BUYER_PAY,
// TRADE_CLOSED, …), as Alipay does for products that notify those too.
func (s *Sim) Renotify(outTradeNo string) error {
	s.mu.Lock()
	t := s.trades[outTradeNo]
	if t == nil {
		s.mu.Unlock()
		return errors.New("alipay sim: no trade " + outTradeNo)
	}
	s.expireLocked(t)
	n := s.tradeNoticeLocked(t)
	s.mu.Unlock()
	s.dispatch(n)
	return nil
}
