package wechatpay

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Trade states as WeChat names them.
const (
	StateNotPay  = "NOTPAY"
	StateSuccess = "SUCCESS"
	StateClosed  = "CLOSED"
	StateRefund  = "REFUND"
)

var (
	outTradeNoPattern  = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)
	outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
)

type trade struct {
	partner                   bool
	appID, mchID              string // direct
	spAppID, spMchID          string // partner
	subAppID, subMchID        string
	outTradeNo, transactionID string
	tradeType, state          string
	total                     int64
	description, notifyURL    string
	expire, created, paidAt   time.Time
	openID, prepayID, code    string
	payerIP                   string
	refundedFen               int64 // asked for, not closed
}

// collecting is the merchant that receives the money.
func (t *trade) collecting() string {
	if t.partner {
		return t.subMchID
	}
	return t.mchID
}

type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	SpAppID     string `json:"sp_appid"`
	SpMchID     string `json:"sp_mchid"`
	SubAppID    string `json:"sub_appid"`
	SubMchID    string `json:"sub_mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	NotifyURL   string `json:"notify_url"`
	Amount      struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID    string `json:"openid"`
		SpOpenID  string `json:"sp_openid"`
		SubOpenID string `json:"sub_openid"`
	} `json:"payer"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

func (s *Sim) routes() {
	m := http.NewServeMux()
	for _, partner := range []bool{false, true} {
		prefix := "/v3/pay/transactions"
		if partner {
			prefix = "/v3/pay/partner/transactions"
		}
		m.HandleFunc("POST "+prefix+"/{kind}", s.prepay(partner))
		m.HandleFunc("GET "+prefix+"/out-trade-no/{no}", s.queryTrade(partner))
		m.HandleFunc("POST "+prefix+"/out-trade-no/{no}/close", s.closeTrade(partner))
	}
	m.HandleFunc("POST /v3/refund/domestic/refunds", s.createRefund)
	m.HandleFunc("GET /v3/refund/domestic/refunds/{no}", s.queryRefund)
	m.HandleFunc("GET /v3/certificates", s.certificates)
	m.HandleFunc("GET /v3/bill/tradebill", s.tradeBill)
	m.HandleFunc("GET /v3/billdownload/file", s.billDownload)

	m.HandleFunc("GET /pay/{code}", s.payPage)
	m.HandleFunc("POST /pay/{code}/confirm", s.payConfirm)
	m.HandleFunc("GET /checkmweb", s.h5Page)
	m.HandleFunc("GET /jsapi", s.sheetPage)
	m.HandleFunc("POST /jsapi/confirm", s.sheetConfirm)
	m.HandleFunc("GET /connect/oauth2/authorize", s.oauthAuthorize)
	m.HandleFunc("GET /sns/oauth2/access_token", s.oauthToken)

	m.HandleFunc("GET /switches", s.getSwitches)
	m.HandleFunc("POST /switches", s.postSwitches)
	m.HandleFunc("POST /rotate", s.postRotate)
	m.HandleFunc("POST /mode", s.postMode)
	s.mux = m
}

// merchantOf checks the merchant fields of a request against the authenticated merchant
// and returns the collecting merchant, or writes WeChat's refusal.
func (s *Sim) merchantOf(w http.ResponseWriter, partner bool, auth, mchID, spMchID, subMchID string) (string, bool) {
	if partner {
		if spMchID != auth {
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "sp_mchid与请求头中的商户号不一致")
			return "", false
		}
		if subMchID != s.subMchID {
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "特约商户号sub_mchid不存在或未与服务商建立关系")
			return "", false
		}
		return subMchID, true
	}
	if mchID != auth {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "mchid与请求头中的商户号不一致")
		return "", false
	}
	return mchID, true
}

func (s *Sim) prepay(partner bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth, body, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		var req prepayRequest
		if !decodeJSON(w, body, &req) {
			return
		}
		collecting, ok := s.merchantOf(w, partner, auth, req.MchID, req.SpMchID, req.SubMchID)
		if !ok {
			return
		}
		appOK := req.AppID == s.appID
		if partner {
			appOK = req.SpAppID == s.appID && (req.SubAppID == "" || req.SubAppID == s.appID)
		}
		if !appOK {
			refuse(w, http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
			return
		}
		kinds := map[string]string{"native": "NATIVE", "jsapi": "JSAPI", "h5": "MWEB"}
		tradeType, ok := kinds[r.PathValue("kind")]
		if !ok {
			refuse(w, http.StatusNotFound, "NOT_FOUND", "接口不存在")
			return
		}
		switch {
		case !outTradeNoPattern.MatchString(req.OutTradeNo):
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "out_trade_no 应为 6-32 位字母、数字或 _-|*")
			return
		case req.Amount.Total <= 0 || (req.Amount.Currency != "" && req.Amount.Currency != "CNY"):
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "amount.total 应为正整数（分），币种 CNY")
			return
		case req.Description == "" || len(req.Description) > 127:
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "description 不能为空且不超过127字节")
			return
		}
		if u, err := url.Parse(req.NotifyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "notify_url 格式不正确")
			return
		}
		t := &trade{partner: partner, appID: req.AppID, mchID: req.MchID, spAppID: req.SpAppID, spMchID: req.SpMchID,
			subAppID: req.SubAppID, subMchID: req.SubMchID, outTradeNo: req.OutTradeNo, tradeType: tradeType,
			state: StateNotPay, total: req.Amount.Total, description: req.Description, notifyURL: req.NotifyURL,
			created: s.now()}
		if req.TimeExpire != "" {
			at, err := time.Parse(time.RFC3339, req.TimeExpire)
			if err != nil {
				refuse(w, http.StatusBadRequest, "PARAM_ERROR", "time_expire 应为 rfc3339 格式")
				return
			}
			t.expire = at
		}
		switch tradeType {
		case "JSAPI":
			if req.Payer != nil {
				t.openID = req.Payer.OpenID + req.Payer.SpOpenID + req.Payer.SubOpenID
			}
			if t.openID == "" {
				refuse(w, http.StatusBadRequest, "PARAM_ERROR", "JSAPI 下单缺少 payer.openid")
				return
			}
		case "MWEB":
			if req.SceneInfo == nil || net.ParseIP(req.SceneInfo.PayerClientIP) == nil ||
				req.SceneInfo.H5Info == nil || req.SceneInfo.H5Info.Type == "" {
				refuse(w, http.StatusBadRequest, "PARAM_ERROR", "H5 下单缺少 scene_info.payer_client_ip 或 h5_info.type")
				return
			}
			t.payerIP = req.SceneInfo.PayerClientIP
		}

		key := collecting + "/" + req.OutTradeNo
		s.mu.Lock()
		if old := s.trades[key]; old != nil {
			switch {
			case old.state == StateSuccess || old.state == StateRefund:
				s.mu.Unlock()
				refuse(w, http.StatusBadRequest, "ORDERPAID", "该订单已支付")
				return
			case old.state == StateClosed:
				s.mu.Unlock()
				refuse(w, http.StatusBadRequest, "ORDERCLOSED", "该订单已关闭")
				return
			case old.tradeType != t.tradeType || old.total != t.total || old.openID != t.openID:
				s.mu.Unlock()
				refuse(w, http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复：同一订单号不能用于不同的交易类型或金额")
				return
			}
			t = old
		} else {
			t.prepayID = "wx" + s.now().In(shanghai).Format("02150405") + randomHex(14)
			t.code = randomHex(12)
			s.trades[key] = t
			s.byCode[t.code] = t
			s.byCode[t.prepayID] = t
		}
		code, prepayID := t.code, t.prepayID
		s.mu.Unlock()

		base := s.absolute(r)
		switch tradeType {
		case "NATIVE":
			s.answer(w, http.StatusOK, map[string]string{"code_url": base + "/pay/" + code})
		case "JSAPI":
			s.answer(w, http.StatusOK, map[string]string{"prepay_id": prepayID})
		default:
			q := url.Values{"prepay_id": {prepayID}, "package": {randomHex(5)}}
			s.answer(w, http.StatusOK, map[string]string{"h5_url": base + "/checkmweb?" + q.Encode()})
		}
	}
}

// transactionJSON is a trade as WeChat answers a query and notifies a payment, with the
// wrong-amount and other-merchant switches applied.
func (s *Sim) transactionJSON(t *trade, sw Switches) map[string]any {
	m := map[string]any{
		"out_trade_no": t.outTradeNo, "trade_type": t.tradeType, "trade_state": t.state,
		"trade_state_desc": map[string]string{StateNotPay: "订单未支付", StateSuccess: "支付成功",
			StateClosed: "订单已关闭", StateRefund: "订单发生过退款"}[t.state],
		"attach": "",
	}
	mch, app := t.mchID, t.appID
	if t.partner {
		mch, app = t.subMchID, t.subAppID
	}
	if sw.OtherMchID != "" {
		mch = sw.OtherMchID
	}
	if sw.OtherAppID != "" {
		app = sw.OtherAppID
	}
	if t.partner {
		m["sp_mchid"], m["sp_appid"], m["sub_mchid"] = t.spMchID, t.spAppID, mch
		if app != "" {
			m["sub_appid"] = app
		}
	} else {
		m["mchid"], m["appid"] = mch, app
	}
	amount := map[string]any{"total": t.total + sw.AmountDeltaFen, "currency": "CNY"}
	if t.state == StateSuccess || t.state == StateRefund {
		m["transaction_id"] = t.transactionID
		m["success_time"] = t.paidAt.In(shanghai).Format(time.RFC3339)
		m["bank_type"] = "OTHERS"
		amount["payer_total"] = t.total + sw.AmountDeltaFen
		amount["payer_currency"] = "CNY"
		openid := t.openID
		if openid == "" {
			openid = simulatedOpenID
		}
		if t.partner {
			m["payer"] = map[string]string{"sp_openid": openid}
		} else {
			m["payer"] = map[string]string{"openid": openid}
		}
	}
	m["amount"] = amount
	return m
}

func (s *Sim) findTrade(w http.ResponseWriter, r *http.Request, partner bool, auth, mchID, spMchID, subMchID string) (*trade, bool) {
	collecting, ok := s.merchantOf(w, partner, auth, mchID, spMchID, subMchID)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	t := s.trades[collecting+"/"+r.PathValue("no")]
	if t != nil && t.partner != partner {
		t = nil
	}
	if t != nil {
		s.expireLocked(t)
	}
	s.mu.Unlock()
	if t == nil {
		refuse(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return nil, false
	}
	return t, true
}

// expireLocked closes a trade whose time_expire has passed.
func (s *Sim) expireLocked(t *trade) {
	if t.state == StateNotPay && !t.expire.IsZero() && s.now().After(t.expire) {
		t.state = StateClosed
	}
}

func (s *Sim) queryTrade(partner bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth, _, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		t, ok := s.findTrade(w, r, partner, auth, q.Get("mchid"), q.Get("sp_mchid"), q.Get("sub_mchid"))
		if !ok {
			return
		}
		s.mu.Lock()
		m := s.transactionJSON(t, s.switches)
		s.mu.Unlock()
		s.answer(w, http.StatusOK, m)
	}
}

func (s *Sim) closeTrade(partner bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth, body, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		var req struct {
			MchID    string `json:"mchid"`
			SpMchID  string `json:"sp_mchid"`
			SubMchID string `json:"sub_mchid"`
		}
		if !decodeJSON(w, body, &req) {
			return
		}
		t, ok := s.findTrade(w, r, partner, auth, req.MchID, req.SpMchID, req.SubMchID)
		if !ok {
			return
		}
		s.mu.Lock()
		if t.state == StateSuccess || t.state == StateRefund {
			s.mu.Unlock()
			refuse(w, http.StatusBadRequest, "ORDERPAID", "订单已支付，不能关闭")
			return
		}
		t.state = StateClosed
		s.mu.Unlock()
		s.answer(w, http.StatusNoContent, nil)
	}
}

// Pay pays the trade out_trade_no as a payer would by confirming on the hosted page: the
// trade becomes SUCCESS and its notification is sent.
func (s *Sim) Pay(outTradeNo string) error {
	s.mu.Lock()
	var t *trade
	for _, c := range s.trades {
		if c.outTradeNo == outTradeNo {
			t = c
			break
		}
	}
	s.mu.Unlock()
	if t == nil {
		return errNoTrade
	}
	return s.pay(t, "")
}

// pay moves t to SUCCESS and notifies; openid is the payer's where the page knows it.
func (s *Sim) pay(t *trade, openid string) error {
	s.mu.Lock()
	s.expireLocked(t)
	switch t.state {
	case StateSuccess, StateRefund:
		s.mu.Unlock()
		return errPaid
	case StateClosed:
		s.mu.Unlock()
		return errClosed
	}
	t.state = StateSuccess
	t.paidAt = s.now().Truncate(time.Second)
	t.transactionID = s.nextID("4200", 28)
	if t.openID == "" {
		t.openID = openid
	}
	sw := s.switches
	res := s.transactionJSON(t, sw)
	s.mu.Unlock()
	plain, _ := json.Marshal(res)
	s.notify(t.notifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", plain)
	return nil
}

type simError string

func (e simError) Error() string { return string(e) }

const (
	errNoTrade = simError("订单不存在")
	errPaid    = simError("该订单已支付")
	errClosed  = simError("该订单已关闭或已过期")
)

// TradeInfo is what the fake recorded of a trade, for tests to check what was asked for.
type TradeInfo struct {
	Partner                          bool
	AppID, MchID, SubAppID, SubMchID string
	OutTradeNo, TransactionID        string
	TradeType, State                 string
	TotalFen                         int64
	Description, NotifyURL           string
	Expire                           time.Time
	OpenID, PayerIP, PrepayID        string
}

// Trade returns what the fake knows of out_trade_no (of any merchant).
func (s *Sim) Trade(outTradeNo string) (TradeInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.trades {
		if t.outTradeNo != outTradeNo {
			continue
		}
		s.expireLocked(t)
		app, mch := t.appID, t.mchID
		if t.partner {
			app, mch = t.spAppID, t.spMchID
		}
		return TradeInfo{Partner: t.partner, AppID: app, MchID: mch, SubAppID: t.subAppID, SubMchID: t.subMchID,
			OutTradeNo: t.outTradeNo, TransactionID: t.transactionID, TradeType: t.tradeType, State: t.state,
			TotalFen: t.total, Description: t.description, NotifyURL: t.notifyURL, Expire: t.expire,
			OpenID: t.openID, PayerIP: t.payerIP, PrepayID: t.prepayID}, true
	}
	return TradeInfo{}, false
}
