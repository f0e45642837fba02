package sandbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

type createTradeRequest struct {
	OutTradeNo string `json:"out_trade_no"`
	AmountFen  int64  `json:"amount_fen"`
	Subject    string `json:"subject"`
	NotifyURL  string `json:"notify_url"`
	ReturnURL  string `json:"return_url"`
	ExpiresAt  string `json:"expires_at"`
}

type tradeCreated struct {
	TradeNo string `json:"trade_no"`
	PayURL  string `json:"pay_url"`
	Status  string `json:"status"`
}

type tradeView struct {
	TradeNo    string  `json:"trade_no"`
	OutTradeNo string  `json:"out_trade_no"`
	AmountFen  int64   `json:"amount_fen"`
	Status     string  `json:"status"`
	PaidAt     *string `json:"paid_at"`
}

func viewOf(t *store.SandboxTrade) tradeView {
	v := tradeView{TradeNo: t.TradeNo, OutTradeNo: t.OutTradeNo, AmountFen: t.AmountFen, Status: t.Status}
	if t.PaidAt != nil {
		p := formatTime(*t.PaidAt)
		v.PaidAt = &p
	}
	return v
}

// formatTime writes a time as the gateway does everywhere: RFC3339 in +08:00.
func formatTime(t time.Time) string { return t.In(shanghai).Format(time.RFC3339) }

// createTrade handles POST /api/trades.
func (s *Sim) createTrade(c *fiber.Ctx) error {
	var req createTradeRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "请求体不是合法的 JSON")
	}
	expiresAt, msg := s.validateCreate(&req)
	expires := store.UTC(expiresAt)
	if msg != "" {
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", msg)
	}
	ctx := c.UserContext()
	merchant := merchantOf(c)
	for range 5 {
		t, err := s.findByOut(ctx, merchant, req.OutTradeNo)
		if err == nil {
			return s.replyExisting(c, t, req.AmountFen)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return s.internal(c, err)
		}
		t = &store.SandboxTrade{
			TradeNo:    s.newNumber("SB"),
			OutTradeNo: req.OutTradeNo,
			Merchant:   merchant,
			Subject:    req.Subject,
			AmountFen:  req.AmountFen,
			NotifyURL:  req.NotifyURL,
			ReturnURL:  req.ReturnURL,
			Status:     StatusWaitPay,
			CreatedAt:  store.UTC(s.now()),
			ExpiresAt:  &expires,
		}
		_, err = s.DB.NewInsert().Model(t).Exec(ctx)
		if store.IsDuplicate(err) {
			// Either the same out_trade_no arrived twice at once, or the trade number
			// collided: look again.
			continue
		}
		if err != nil {
			return s.internal(c, err)
		}
		return s.reply(c, fiber.StatusOK, tradeCreated{TradeNo: t.TradeNo, PayURL: s.payURL(t.TradeNo), Status: t.Status})
	}
	return s.internal(c, errors.New("sandbox: create trade: no free trade number"))
}

func (s *Sim) replyExisting(c *fiber.Ctx, t *store.SandboxTrade, amountFen int64) error {
	if t.AmountFen != amountFen {
		return s.replyError(c, fiber.StatusConflict, "TRADE_CONFLICT",
			fmt.Sprintf("商户订单号已存在且金额不同（原金额 %d 分）", t.AmountFen))
	}
	return s.reply(c, fiber.StatusOK, tradeCreated{TradeNo: t.TradeNo, PayURL: s.payURL(t.TradeNo), Status: t.Status})
}

// validateCreate checks a create request, returning the expiry or a message for the merchant.
func (s *Sim) validateCreate(req *createTradeRequest) (time.Time, string) {
	switch {
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return time.Time{}, "out_trade_no 须为 1 至 32 位数字或字母"
	case req.AmountFen <= 0 || req.AmountFen > maxAmountFen:
		return time.Time{}, "amount_fen 须大于 0 且不超过 100000000（100 万元）"
	case utf8.RuneCountInString(req.Subject) > 200 || !utf8.ValidString(req.Subject):
		return time.Time{}, "subject 不能超过 200 个字符"
	case !isHTTPURL(req.NotifyURL):
		return time.Time{}, "notify_url 须为 http 或 https 绝对地址，且不超过 500 个字符"
	case req.ReturnURL != "" && !isHTTPURL(req.ReturnURL):
		return time.Time{}, "return_url 须为 http 或 https 绝对地址，且不超过 500 个字符"
	}
	now := s.now()
	if req.ExpiresAt == "" {
		return now.Add(defaultExpiry), ""
	}
	at, err := time.Parse(time.RFC3339, req.ExpiresAt)
	if err != nil {
		return time.Time{}, "expires_at 须为 RFC3339 时间"
	}
	if !at.After(now) {
		return time.Time{}, "expires_at 须晚于当前时间"
	}
	return at, ""
}

func isHTTPURL(raw string) bool {
	if len(raw) > 500 {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// queryTrade handles GET /api/trades/{out_trade_no}.
func (s *Sim) queryTrade(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := s.findByOut(ctx, merchantOf(c), c.Params("out_trade_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return s.replyError(c, fiber.StatusNotFound, "TRADE_NOT_EXIST", "交易不存在")
	}
	if err != nil {
		return s.internal(c, err)
	}
	if t, err = s.expireIfDue(ctx, t); err != nil {
		return s.internal(c, err)
	}
	return s.reply(c, fiber.StatusOK, viewOf(t))
}

// closeTrade handles POST /api/trades/{out_trade_no}/close.
func (s *Sim) closeTrade(c *fiber.Ctx) error {
	ctx := c.UserContext()
	outTradeNo := c.Params("out_trade_no")
	closed := fiber.Map{"out_trade_no": outTradeNo, "status": StatusClosed}
	t, err := s.findByOut(ctx, merchantOf(c), outTradeNo)
	if errors.Is(err, sql.ErrNoRows) {
		return s.reply(c, fiber.StatusOK, closed)
	}
	if err != nil {
		return s.internal(c, err)
	}
	if t, err = s.closeWaiting(ctx, t); err != nil {
		return s.internal(c, err)
	}
	if t.Status == StatusSuccess {
		return s.replyError(c, fiber.StatusConflict, "TRADE_PAID", "交易已支付，不能关闭")
	}
	return s.reply(c, fiber.StatusOK, closed)
}

func (s *Sim) findByOut(ctx context.Context, merchant, outTradeNo string) (*store.SandboxTrade, error) {
	t := new(store.SandboxTrade)
	err := s.DB.NewSelect().Model(t).
		Where("merchant = ?", merchant).Where("out_trade_no = ?", outTradeNo).
		Scan(ctx)
	return t, err
}

func (s *Sim) findByTradeNo(ctx context.Context, tradeNo string) (*store.SandboxTrade, error) {
	t := new(store.SandboxTrade)
	err := s.DB.NewSelect().Model(t).Where("trade_no = ?", tradeNo).Scan(ctx)
	return t, err
}

// expired reports whether a waiting trade is past its expiry.
func (s *Sim) expired(t *store.SandboxTrade) bool {
	return t.Status == StatusWaitPay && t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt)
}

// expireIfDue closes a waiting trade past its expiry and returns the trade as it is now.
func (s *Sim) expireIfDue(ctx context.Context, t *store.SandboxTrade) (*store.SandboxTrade, error) {
	if !s.expired(t) {
		return t, nil
	}
	return s.closeWaiting(ctx, t)
}

// closeWaiting closes t if it is still waiting and returns the trade as it is now (a
// concurrent payment wins the race if it got there first).
func (s *Sim) closeWaiting(ctx context.Context, t *store.SandboxTrade) (*store.SandboxTrade, error) {
	if t.Status != StatusWaitPay {
		return t, nil
	}
	res, err := s.DB.NewUpdate().Model((*store.SandboxTrade)(nil)).
		Set("status = ?", StatusClosed).
		Where("id = ?", t.ID).Where("status = ?", StatusWaitPay).
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: close trade: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("sandbox: close trade: %w", err)
	} else if n == 1 {
	}
	return s.findByTradeNo(ctx, t.TradeNo)
}
