package alipay

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/smartwalle/alipay/v3"

	"campuspay/app/channel"
	"campuspay/app/money"
)

var refundNoPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)

func checkRefund(call channel.RefundCall) error {
	switch {
	case !attemptNoPattern.MatchString(call.Trade.AttemptNo):
		return fmt.Errorf("alipay: refund: bad attempt number %q", call.Trade.AttemptNo)
	case !refundNoPattern.MatchString(call.RefundNo):
		return fmt.Errorf("alipay: refund of %s: bad refund number %q", call.Trade.AttemptNo, call.RefundNo)
	}
	return nil
}

// Refund asks Alipay to return AmountFen of a paid attempt. Alipay refunds at once and is
// idempotent on out_request_no: a repeated request answers fund_change=N, and then the
// refund query says what became of the first one. Its refund_fee is the cumulative amount
// refunded on the trade, never this refund's.
func (p *provider) Refund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := checkRefund(call); err != nil {
		return channel.RefundResult{}, err
	}
	if call.AmountFen <= 0 || (call.TotalFen > 0 && call.AmountFen > call.TotalFen) {
		return channel.RefundResult{}, fmt.Errorf("alipay: refund %s: amount %d fen of a %d fen trade", call.RefundNo, call.AmountFen, call.TotalFen)
	}
	op := "refund " + call.RefundNo
	rsp, err := p.client.TradeRefund(ctx, alipay.TradeRefund{
		AppAuthToken: p.set.appAuthToken,
		OutTradeNo:   call.Trade.AttemptNo,
		TradeNo:      call.Trade.TradeNo,
		RefundAmount: money.Plain(call.AmountFen),
		RefundReason: reason(call.Reason),
		OutRequestNo: call.RefundNo,
	})
	if err != nil {
		return channel.RefundResult{}, p.callError(op, err)
	}
	if !rsp.Code.IsSuccess() {
		if e := businessError(op, rsp.Error); isUnavailable(rsp.Error) {
			return channel.RefundResult{}, e
		}
		return channel.RefundResult{RefundNo: call.RefundNo, AmountFen: call.AmountFen, Status: channel.RefundFailed,
			Message: "支付宝拒绝退款：" + rsp.SubMsg + "（" + rsp.SubCode + "）"}, nil
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != call.Trade.AttemptNo {
		return channel.RefundResult{}, fmt.Errorf("alipay: %s: answer is about trade %q, not %q: %w", op, rsp.OutTradeNo, call.Trade.AttemptNo, channel.ErrUnavailable)
	}
	cumulative, err := parseYuan(rsp.RefundFee)
	if err != nil || cumulative < call.AmountFen {
		return channel.RefundResult{}, fmt.Errorf("alipay: %s: refund_fee %q cannot include this refund of %d fen: %w", op, rsp.RefundFee, call.AmountFen, channel.ErrUnavailable)
	}
	if rsp.FundChange != "Y" {
		// Alipay's advice: fund_change=N means ask the refund query what happened.
		return p.QueryRefund(ctx, call)
	}
	return channel.RefundResult{RefundNo: call.RefundNo, ChannelRefundNo: rsp.TradeNo, AmountFen: call.AmountFen, Status: channel.RefundSucceeded}, nil
}

// QueryRefund asks alipay.trade.fastpay.refund.query about one refund. REFUND_SUCCESS is
// success; an answer without refund_status means Alipay did not take the refund, which is
// a failure, not "still processing" (Alipay refunds synchronously).
func (p *provider) QueryRefund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := checkRefund(call); err != nil {
		return channel.RefundResult{}, err
	}
	op := "refund query " + call.RefundNo
	rsp, err := p.client.TradeFastPayRefundQuery(ctx, alipay.TradeFastPayRefundQuery{
		AppAuthToken: p.set.appAuthToken,
		OutTradeNo:   call.Trade.AttemptNo,
		TradeNo:      call.Trade.TradeNo,
		OutRequestNo: call.RefundNo,
	})
	if err != nil {
		return channel.RefundResult{}, p.callError(op, err)
	}
	if !rsp.Code.IsSuccess() {
		if e := businessError(op, rsp.Error); isUnavailable(rsp.Error) || rsp.SubCode != subTradeNotExist {
			return channel.RefundResult{}, e
		}
		return channel.RefundResult{RefundNo: call.RefundNo, AmountFen: call.AmountFen, Status: channel.RefundFailed,
			Message: "支付宝查无此交易（" + rsp.SubCode + "）"}, nil
	}
	if rsp.RefundStatus == "" {
		return channel.RefundResult{RefundNo: call.RefundNo, AmountFen: call.AmountFen, Status: channel.RefundFailed,
			Message: "支付宝未受理这笔退款（查询结果无退款状态）"}, nil
	}
	if rsp.RefundStatus != "REFUND_SUCCESS" {
		return channel.RefundResult{}, fmt.Errorf("alipay: %s: unknown refund_status %q: %w", op, rsp.RefundStatus, channel.ErrUnavailable)
	}
	if rsp.OutRequestNo != "" && rsp.OutRequestNo != call.RefundNo {
		return channel.RefundResult{}, fmt.Errorf("alipay: %s: answer is about refund %q: %w", op, rsp.OutRequestNo, channel.ErrUnavailable)
	}
	amount, err := parseYuan(rsp.RefundAmount)
	if err != nil {
		return channel.RefundResult{}, fmt.Errorf("alipay: %s: refund_amount: %w: %w", op, err, channel.ErrUnavailable)
	}
	return channel.RefundResult{RefundNo: call.RefundNo, ChannelRefundNo: rsp.TradeNo, AmountFen: amount, Status: channel.RefundSucceeded}, nil
}

// reason is a refund reason Alipay accepts: like a subject, but empty stays empty.
func reason(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return subject(s)
}

func isUnavailable(e alipay.Error) bool {
	return e.Code == alipay.CodeUnknowError || e.SubCode == "ACQ.SYSTEM_ERROR"
}
