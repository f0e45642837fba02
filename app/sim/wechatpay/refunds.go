package wechatpay

import (
	"encoding/json"
	"net/http"
	"time"
)

// Refund states as WeChat names them.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL"
)

type refund struct {
	t           *trade
	outRefundNo string
	refundID    string
	amount      int64
	reason      string
	notifyURL   string
	status      string
	created     time.Time
	settledAt   time.Time
}

// refundJSON is a refund as WeChat answers a refund request or query.
func (s *Sim) refundJSON(rf *refund) map[string]any {
	m := map[string]any{
		"refund_id": rf.refundID, "out_refund_no": rf.outRefundNo,
		"transaction_id": rf.t.transactionID, "out_trade_no": rf.t.outTradeNo,
		"channel": "ORIGINAL", "user_received_account": "支付用户零钱", "funds_account": "AVAILABLE",
		"create_time": rf.created.In(shanghai).Format(time.RFC3339), "status": rf.status,
		"amount": map[string]any{"total": rf.t.total, "refund": rf.amount, "payer_total": rf.t.total,
			"payer_refund": rf.amount, "settlement_total": rf.t.total, "settlement_refund": rf.amount,
			"discount_refund": 0, "currency": "CNY"},
	}
	if rf.status == RefundSuccess {
		m["success_time"] = rf.settledAt.In(shanghai).Format(time.RFC3339)
	}
	return m
}

// refundNotice is the decrypted resource of a REFUND.* notification.
func (s *Sim) refundNotice(rf *refund, sw Switches) map[string]any {
	total := rf.t.total + sw.AmountDeltaFen
	m := map[string]any{
		"out_trade_no": rf.t.outTradeNo, "transaction_id": rf.t.transactionID,
		"out_refund_no": rf.outRefundNo, "refund_id": rf.refundID, "refund_status": rf.status,
		"user_received_account": "支付用户零钱",
		"amount":                map[string]any{"total": total, "refund": rf.amount, "payer_total": total, "payer_refund": rf.amount},
	}
	mch := rf.t.collecting()
	if sw.OtherMchID != "" {
		mch = sw.OtherMchID
	}
	if rf.t.partner {
		m["sp_mchid"], m["sub_mchid"] = rf.t.spMchID, mch
	} else {
		m["mchid"] = mch
	}
	if rf.status == RefundSuccess {
		m["success_time"] = rf.settledAt.In(shanghai).Format(time.RFC3339)
	}
	return m
}

func (s *Sim) createRefund(w http.ResponseWriter, r *http.Request) {
	auth, body, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	var req struct {
		SubMchID      string `json:"sub_mchid"`
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		NotifyURL     string `json:"notify_url"`
		Amount        struct {
			Refund   int64  `json:"refund"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if !decodeJSON(w, body, &req) {
		return
	}
	collecting := auth
	if req.SubMchID != "" {
		if req.SubMchID != s.subMchID {
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "特约商户号sub_mchid不存在或未与服务商建立关系")
			return
		}
		collecting = req.SubMchID
	}
	if !outRefundNoPattern.MatchString(req.OutRefundNo) {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "out_refund_no 格式不正确")
		return
	}
	if req.Amount.Refund <= 0 || req.Amount.Total <= 0 {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "退款金额和原订单金额应为正整数（分）")
		return
	}
	s.mu.Lock()
	var t *trade
	for _, c := range s.trades {
		if c.collecting() == collecting && ((req.OutTradeNo != "" && c.outTradeNo == req.OutTradeNo) ||
			(req.TransactionID != "" && c.transactionID == req.TransactionID)) {
			t = c
			break
		}
	}
	if t == nil || (t.state != StateSuccess && t.state != StateRefund) {
		s.mu.Unlock()
		refuse(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
		return
	}
	if req.Amount.Total != t.total {
		s.mu.Unlock()
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "订单金额与原订单金额不一致")
		return
	}
	key := collecting + "/" + req.OutRefundNo
	if rf := s.refunds[key]; rf != nil {
		if rf.t != t || rf.amount != req.Amount.Refund {
			s.mu.Unlock()
			refuse(w, http.StatusBadRequest, "INVALID_REQUEST", "退款单号已用于另一笔退款，请更换退款单号")
			return
		}
		m := s.refundJSON(rf)
		s.mu.Unlock()
		s.answer(w, http.StatusOK, m)
		return
	}
	if t.refundedFen+req.Amount.Refund > t.total {
		s.mu.Unlock()
		refuse(w, http.StatusForbidden, "NOT_ENOUGH", "订单可退金额不足")
		return
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = t.notifyURL
	}
	rf := &refund{t: t, outRefundNo: req.OutRefundNo, refundID: s.nextID("5030", 29), amount: req.Amount.Refund,
		reason: req.Reason, notifyURL: notifyURL, status: RefundProcessing, created: s.now()}
	t.refundedFen += rf.amount
	s.refunds[key] = rf
	m := s.refundJSON(rf)
	hold := s.switches.HoldRefunds
	s.mu.Unlock()
	s.answer(w, http.StatusOK, m)
	if !hold {
		s.settle(rf)
	}
}

// SettleRefunds settles every refund still PROCESSING (held by HoldRefunds) with the
// outcome in force, and notifies each. It returns how many it settled.
func (s *Sim) SettleRefunds() int {
	s.mu.Lock()
	var todo []*refund
	for _, rf := range s.refunds {
		if rf.status == RefundProcessing {
			todo = append(todo, rf)
		}
	}
	s.mu.Unlock()
	for _, rf := range todo {
		s.settle(rf)
	}
	return len(todo)
}

// settle finishes a PROCESSING refund with the outcome switch and sends its notification.
func (s *Sim) settle(rf *refund) {
	s.mu.Lock()
	if rf.status != RefundProcessing {
		s.mu.Unlock()
		return
	}
	outcome := s.switches.RefundOutcome
	if outcome == "" {
		outcome = RefundSuccess
	}
	rf.status = outcome
	rf.settledAt = s.now().Truncate(time.Second)
	switch outcome {
	case RefundSuccess:
		rf.t.state = StateRefund
	case RefundClosed:
		rf.t.refundedFen -= rf.amount
	}
	plain, _ := json.Marshal(s.refundNotice(rf, s.switches))
	url := rf.notifyURL
	s.mu.Unlock()
	summary := map[string]string{RefundSuccess: "退款成功", RefundClosed: "退款关闭", RefundAbnormal: "退款异常"}[outcome]
	s.notify(url, "REFUND."+outcome, summary, "refund", plain)
}

func (s *Sim) queryRefund(w http.ResponseWriter, r *http.Request) {
	auth, _, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	collecting := auth
	if sub := r.URL.Query().Get("sub_mchid"); sub != "" {
		collecting = sub
	}
	s.mu.Lock()
	rf := s.refunds[collecting+"/"+r.PathValue("no")]
	var m map[string]any
	if rf != nil {
		m = s.refundJSON(rf)
	}
	s.mu.Unlock()
	if rf == nil {
		refuse(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	}
	s.answer(w, http.StatusOK, m)
}
