package sandbox

import (
	"bytes"
	"campuspay/app/money"
	"database/sql"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

//go:embed pages.html
var pagesHTML string

var pages = template.Must(template.New("sandbox").Parse(pagesHTML))

type payPageData struct {
	Title      string
	Merchant   string
	Subject    string
	Amount     string
	OutTradeNo string
	TradeNo    string
	ExpiresAt  string
}

type resultPageData struct {
	Title     string
	Tone      string // ok | warn | err
	Message   string
	Detail    string
	Amount    string
	Subject   string
	ReturnURL string
}

// payPage handles GET /pay/{trade_no}: the wallet's checkout page.
func (s *Sim) payPage(c *fiber.Ctx) error {
	t, ok, err := s.loadForPayment(c)
	if !ok {
		return err
	}
	data := payPageData{
		Title:      "确认付款",
		Merchant:   merchantName,
		Subject:    t.Subject,
		Amount:     money.Format(t.AmountFen),
		OutTradeNo: t.OutTradeNo,
		TradeNo:    t.TradeNo,
	}
	if t.ExpiresAt != nil {
		data.ExpiresAt = t.ExpiresAt.In(shanghai).Format("2006-01-02 15:04:05")
	}
	return s.page(c, fiber.StatusOK, "pay", data)
}

// confirm handles POST /pay/{trade_no}/confirm: the payer pays.
func (s *Sim) confirm(c *fiber.Ctx) error {
	t, ok, err := s.loadForPayment(c)
	if !ok {
		return err
	}
	ctx := c.UserContext()
	paidAt := store.UTC(s.now())
	res, err := s.DB.NewUpdate().Model((*store.SandboxTrade)(nil)).
		Set("status = ?", StatusSuccess).Set("paid_at = ?", paidAt).
		Where("id = ?", t.ID).Where("status = ?", StatusWaitPay).
		Exec(ctx)
	if err != nil {
		return s.pageInternal(c, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.pageInternal(c, err)
	}
	if n != 1 {
		// Paid or closed a moment ago, in another tab: show what it is now.
		if t, err = s.findByTradeNo(ctx, t.TradeNo); err != nil {
			return s.pageInternal(c, err)
		}
		return s.statePage(c, t)
	}
	t.Status, t.PaidAt = StatusSuccess, &paidAt
	s.notifyPaid(t)
	if t.ReturnURL != "" {
		return c.Redirect(t.ReturnURL, fiber.StatusSeeOther)
	}
	return s.page(c, fiber.StatusOK, "result", resultPageData{Title: "支付成功", Tone: "ok", Message: "支付成功",
		Amount: money.Format(t.AmountFen), Subject: t.Subject, Detail: "交易号 " + t.TradeNo})
}

// cancelPay handles POST /pay/{trade_no}/cancel: the payer gives up; the trade is closed.
func (s *Sim) cancelPay(c *fiber.Ctx) error {
	t, ok, err := s.loadForPayment(c)
	if !ok {
		return err
	}
	if t, err = s.closeWaiting(c.UserContext(), t); err != nil {
		return s.pageInternal(c, err)
	}
	if t.Status != StatusClosed {
		return s.statePage(c, t)
	}
	if t.ReturnURL != "" {
		return c.Redirect(t.ReturnURL, fiber.StatusSeeOther)
	}
	return s.page(c, fiber.StatusOK, "result", resultPageData{Title: "已取消", Tone: "warn", Message: "已取消付款",
		Detail: "交易已关闭，未扣款"})
}

// loadForPayment finds the trade of the page and makes sure it can still be paid. When it
// cannot, it has already answered with a page (ok is false, err is the send's error).
func (s *Sim) loadForPayment(c *fiber.Ctx) (t *store.SandboxTrade, ok bool, err error) {
	ctx := c.UserContext()
	t, err = s.findByTradeNo(ctx, c.Params("trade_no"))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, s.page(c, fiber.StatusNotFound, "result", resultPageData{Title: "交易不存在", Tone: "err",
			Message: "交易不存在", Detail: "请回到商户页面重新发起支付"})
	}
	if err != nil {
		return nil, false, s.pageInternal(c, err)
	}
	if s.expired(t) {
		if t, err = s.closeWaiting(ctx, t); err != nil {
			return nil, false, s.pageInternal(c, err)
		}
		if t.Status == StatusClosed {
			return nil, false, s.page(c, fiber.StatusConflict, "result", resultPageData{Title: "交易已过期", Tone: "warn",
				Message: "交易已过期，无法支付", Detail: "该交易已超过支付截止时间并已关闭，未扣款。请回到商户页面重新发起支付",
				Amount: money.Format(t.AmountFen), Subject: t.Subject, ReturnURL: t.ReturnURL})
		}
	}
	if t.Status != StatusWaitPay {
		return nil, false, s.statePage(c, t)
	}
	return t, true, nil
}

// statePage shows a trade that can no longer be paid.
func (s *Sim) statePage(c *fiber.Ctx, t *store.SandboxTrade) error {
	d := resultPageData{Amount: money.Format(t.AmountFen), Subject: t.Subject, ReturnURL: t.ReturnURL}
	switch t.Status {
	case StatusSuccess:
		d.Title, d.Tone, d.Message, d.Detail = "已支付", "ok", "该交易已支付", "请勿重复付款，交易号 "+t.TradeNo
	default:
		d.Title, d.Tone, d.Message, d.Detail = "交易已关闭", "warn", "该交易已关闭，无法支付", "请回到商户页面重新发起支付"
	}
	return s.page(c, fiber.StatusConflict, "result", d)
}

func (s *Sim) page(c *fiber.Ctx, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return s.pageInternal(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

func (s *Sim) pageInternal(c *fiber.Ctx, err error) error {
	slog.Error("sandbox: pay page", "path", c.Path(), "err", err)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(fiber.StatusInternalServerError).SendString(
		`<!DOCTYPE html><meta charset="utf-8"><title>系统繁忙</title><p>系统繁忙，请稍后再试。</p>`)
}
