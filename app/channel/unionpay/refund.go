package unionpay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"campuspay/app/channel"
)

// Transaction types of a refund. The community library swaps these two constants; here
// 04 is 退货 (refund, any amount, any day) and 31 is 消费撤销 (revoke, whole amount, same
// clearing day only), as UnionPay's 5.1.0 specification defines them.
const (
	txnRefund = "04"
	txnRevoke = "31"
)

// refundTxnType is the one place that chooses between revoke and refund. A revoke undoes
// a consume of the same UnionPay clearing day (the day ends at 23:00 Beijing time) and only
// for its whole amount; everything else is a refund. It decides on the refund's first
// request time, so a repeated request for the same refund number sends the same type.
func refundTxnType(consumeSettleDate string, requested time.Time, whole bool) string {
	if whole && consumeSettleDate != "" && consumeSettleDate == BusinessDay(requested).Format("0102") {
		return txnRevoke
	}
	return txnRefund
}

func checkRefundCall(call channel.RefundCall) error {
	switch {
	case !orderIDPattern.MatchString(call.RefundNo):
		return fmt.Errorf("unionpay: refund number %q: 8 to 40 letters or digits", call.RefundNo)
	case call.AmountFen <= 0 || call.AmountFen > call.TotalFen:
		return fmt.Errorf("unionpay: refund %s: amount %d fen not within 1..%d", call.RefundNo, call.AmountFen, call.TotalFen)
	case call.CreatedAt.IsZero() || call.Trade.CreatedAt.IsZero():
		return fmt.Errorf("unionpay: refund %s needs its own and the attempt's creation time", call.RefundNo)
	}
	return nil
}

// Refund asks UnionPay to return money: revoke (31) or refund (04) as refundTxnType
// decides, on the consume's queryId. Both finish asynchronously: an accepted request is
// RefundProcessing, and the result comes by notification or QueryRefund. A repeated
// request for the same refund number (UnionPay answers 12 重复交易) answers the refund's
// current state.
func (p *provider) Refund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := checkRefundCall(call); err != nil {
		return channel.RefundResult{}, err
	}
	orig, err := p.query(ctx, call.Trade.AttemptNo, call.Trade.CreatedAt)
	if err != nil {
		return channel.RefundResult{}, err
	}
	if orig["respCode"] != "00" || orig["origRespCode"] != "00" {
		return channel.RefundResult{}, fmt.Errorf("unionpay: refund %s: attempt %s is not paid at UnionPay (respCode %s, origRespCode %s)",
			call.RefundNo, call.Trade.AttemptNo, orig["respCode"], orig["origRespCode"])
	}
	origQryID := orig["queryId"]
	if call.Trade.TradeNo != "" && call.Trade.TradeNo != origQryID {
		return channel.RefundResult{}, fmt.Errorf("unionpay: refund %s: attempt %s has queryId %s at UnionPay, not %s",
			call.RefundNo, call.Trade.AttemptNo, origQryID, call.Trade.TradeNo)
	}
	txnType := refundTxnType(orig["settleDate"], call.CreatedAt, call.AmountFen == call.TotalFen)
	f := map[string]string{
		"txnType":      txnType,
		"txnSubType":   "00",
		"bizType":      "000201",
		"channelType":  "07",
		"accessType":   "0",
		"currencyCode": "156",
		"merId":        p.merID,
		"orderId":      call.RefundNo,
		"txnTime":      wireTime(call.CreatedAt),
		"txnAmt":       fmt.Sprint(call.AmountFen),
		"origQryId":    origQryID,
	}
	if call.NotifyURL != "" {
		if err := absoluteURL(call.NotifyURL); err != nil {
			return channel.RefundResult{}, fmt.Errorf("unionpay: refund notify URL: %w", err)
		}
		f["backUrl"] = call.NotifyURL
	}
	ans, err := p.call(ctx, p.backURL, f, maxAnswer)
	var re *RespError
	if errors.As(err, &re) && re.Code == "12" || err == nil && ans["respCode"] == "12" {
		return p.QueryRefund(ctx, call) // already asked: say where it stands
	}
	if err != nil {
		return channel.RefundResult{}, err
	}
	r := channel.RefundResult{RefundNo: call.RefundNo, ChannelRefundNo: ans["queryId"], AmountFen: call.AmountFen}
	switch c := ans["respCode"]; {
	case c == "00" || processing(c):
		r.Status = channel.RefundProcessing
	default:
		r.Status, r.Message = channel.RefundFailed, "银联拒绝退款（"+c+"）："+ans["respMsg"]
	}
	return r, nil
}

// QueryRefund asks for a refund's (or revoke's) state by its orderId and first txnTime.
func (p *provider) QueryRefund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := checkRefundCall(call); err != nil {
		return channel.RefundResult{}, err
	}
	ans, err := p.query(ctx, call.RefundNo, call.CreatedAt)
	if err != nil {
		return channel.RefundResult{}, err
	}
	switch c := ans["respCode"]; {
	case c == "34":
		return channel.RefundResult{RefundNo: call.RefundNo, AmountFen: call.AmountFen, Status: channel.RefundFailed,
			Message: "银联查无此退款（34），款项未退出"}, nil
	case processing(c):
		return channel.RefundResult{RefundNo: call.RefundNo, AmountFen: call.AmountFen, Status: channel.RefundProcessing}, nil
	case c != "00":
		return channel.RefundResult{}, &RespError{Code: c, Message: ans["respMsg"]}
	}
	if t := ans["txnType"]; t != txnRefund && t != txnRevoke {
		return channel.RefundResult{}, unavailable("银联对退款 %s 的查询应答是交易类型 %q，不是退款", call.RefundNo, t)
	}
	return refundResult(ans["orderId"], ans["queryId"], ans["txnAmt"], ans["origRespCode"], ans["origRespMsg"])
}

// refundResult is the one reading of a refund's outcome, shared by query and notification
// so that both settle the same way.
func refundResult(orderID, queryID, txnAmt, code, msg string) (channel.RefundResult, error) {
	amt, err := parseFen(txnAmt)
	if err != nil {
		return channel.RefundResult{}, fmt.Errorf("unionpay: refund %s: %w", orderID, err)
	}
	r := channel.RefundResult{RefundNo: orderID, ChannelRefundNo: queryID, AmountFen: amt}
	switch {
	case code == "00":
		r.Status = channel.RefundSucceeded
	case processing(code):
		r.Status = channel.RefundProcessing
	default:
		r.Status, r.Message = channel.RefundFailed, "银联退款失败（"+code+"）："+msg
	}
	return r, nil
}
