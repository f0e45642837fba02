package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"campuspay/app/channel"
)

// envelope is a notification as posted: the event and its encrypted resource.
type envelope struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Summary      string `json:"summary"`
	Resource     *struct {
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		Nonce          string `json:"nonce"`
		AssociatedData string `json:"associated_data"`
		OriginalType   string `json:"original_type"`
	} `json:"resource"`
}

// Notification verifies a notification's signature with the key in force, refuses one whose
// timestamp is more than five minutes off, decrypts its resource with the APIv3 key and says
// what it means. It reports the merchant, app id and amount the message claims; the core
// compares them with its own rows.
func (p *provider) Notification(ctx context.Context, header http.Header, body []byte) (channel.Notice, error) {
	if len(body) > maxNoticeBytes {
		return channel.Notice{}, fmt.Errorf("%w: notification of %d bytes", channel.ErrMalformed, len(body))
	}
	if err := p.verify(ctx, header, body); err != nil {
		return channel.Notice{}, err
	}
	return p.decodeNotification(body)
}

// decodeNotification reads a notification whose signature has been verified.
func (p *provider) decodeNotification(body []byte) (channel.Notice, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil || dec.More() {
		return channel.Notice{}, fmt.Errorf("%w: notification is not one JSON object", channel.ErrMalformed)
	}
	if env.EventType == "" || env.Resource == nil {
		return channel.Notice{}, fmt.Errorf("%w: notification without event_type or resource", channel.ErrMalformed)
	}
	if env.ResourceType != "encrypt-resource" || env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return channel.Notice{}, fmt.Errorf("%w: resource %q/%q", channel.ErrMalformed, env.ResourceType, env.Resource.Algorithm)
	}
	plain, err := utils.DecryptAES256GCM(p.c.apiv3Key, env.Resource.AssociatedData, env.Resource.Nonce, env.Resource.Ciphertext)
	if err != nil {
		return channel.Notice{}, fmt.Errorf("%w: resource does not decrypt with the APIv3 key (check apiv3_key)", channel.ErrMalformed)
	}
	return p.decodeResource(env.EventType, []byte(plain))
}

// decodeResource says what a decrypted resource means for its event type.
func (p *provider) decodeResource(event string, plain []byte) (channel.Notice, error) {
	n := channel.Notice{Raw: string(plain)}
	switch event {
	case "TRANSACTION.SUCCESS":
		var t transaction
		if err := json.Unmarshal(plain, &t); err != nil {
			return channel.Notice{}, fmt.Errorf("%w: transaction resource: %v", channel.ErrMalformed, err)
		}
		tr, err := p.trade(t, n.Raw)
		if err != nil {
			return channel.Notice{}, err
		}
		n.Trade = tr
		if tr.Status != channel.TradeSuccess {
			n.Kind, n.Reason = channel.NoticeIgnore, "TRANSACTION.SUCCESS with trade_state "+t.TradeState
			return n, nil
		}
		n.Kind = channel.NoticePaid
		return n, nil
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
		var r refund
		if err := json.Unmarshal(plain, &r); err != nil {
			return channel.Notice{}, fmt.Errorf("%w: refund resource: %v", channel.ErrMalformed, err)
		}
		if r.RefundStatus == "" {
			return channel.Notice{}, fmt.Errorf("%w: refund resource without refund_status", channel.ErrMalformed)
		}
		if want := event[len("REFUND."):]; r.RefundStatus != want {
			return channel.Notice{}, fmt.Errorf("%w: event %s carries refund_status %s", channel.ErrMalformed, event, r.RefundStatus)
		}
		res, err := r.result()
		if err != nil {
			return channel.Notice{}, err
		}
		if r.OutTradeNo == "" {
			return channel.Notice{}, fmt.Errorf("%w: refund resource without out_trade_no", channel.ErrMalformed)
		}
		n.Kind, n.Refund = channel.NoticeRefund, res
		n.Trade = channel.Trade{OrderNo: r.OutTradeNo, TradeNo: r.TransactionID, Status: channel.TradeSuccess, Raw: n.Raw}
		if p.c.partner || r.SubMchID != "" {
			n.Trade.MerchantNo = r.SubMchID
		} else {
			n.Trade.MerchantNo = r.MchID
		}
		if r.Amount.Total != nil {
			n.Trade.AmountFen = *r.Amount.Total
		}
		return n, nil
	default:
		n.Kind, n.Reason = channel.NoticeIgnore, "event "+event
		return n, nil
	}
}

// Ack answers a notification: 204 with no body when it was handled, otherwise 500 with
// {"code":"FAIL","message":…} so that WeChat sends it again.
func (p *provider) Ack(ok bool, message string) channel.Ack {
	if ok {
		return channel.Ack{Status: http.StatusNoContent}
	}
	if message == "" {
		message = "失败"
	}
	body, _ := json.Marshal(map[string]string{"code": "FAIL", "message": message})
	return channel.Ack{Status: http.StatusInternalServerError, ContentType: "application/json", Body: body}
}
