package billing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
)

// Gateway is a channel as billing uses it for one merchant: what it can do and the
// provider that speaks to it.
type Gateway struct {
	Name     string
	Caps     channel.Capabilities
	Provider channel.Provider
	Account  *store.MerchantAccount // nil for a one-merchant adapter (sandbox, campus card)
}

// GatewayFor opens the named channel for a merchant, whether or not it takes new payments:
// the cashier asks its provider for what a way needs before paying (WeChat's OAuth).
func (s *Service) GatewayFor(ctx context.Context, name string, merchantID int64) (*Gateway, error) {
	return s.gateway(ctx, name, merchantID)
}

// gateway opens the named channel for a merchant, whether or not it takes new payments.
func (s *Service) gateway(ctx context.Context, name string, merchantID int64) (*Gateway, error) {
	if ch, ok := s.Channels[name]; ok {
		p := channel.Legacy(ch, legacyCaps(name))
		return &Gateway{Name: name, Caps: p.(channel.Capable).Capabilities(), Provider: p}, nil
	}
	d := s.Merchants.Driver(name)
	if d == nil {
		return nil, fault.New(fault.ErrInvalid, "channel_invalid", "不支持的支付方式：%s", name)
	}
	p, acc, err := s.Merchants.Provider(ctx, merchantID, name)
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return nil, fault.New(fault.ErrInvalid, "channel_disabled", "支付方式「%s」暂未开放", d.Capabilities().Label)
		}
		s.log().Error("channel cannot be opened", "channel", name, "merchant", merchantID, "err", err)
		return nil, unavailable(d.Capabilities().Label)
	}
	return &Gateway{Name: name, Caps: d.Capabilities(), Provider: p, Account: acc}, nil
}

// legacyCaps is what a one-merchant adapter that does not say can do: take payments
// through its own hosted page, from anyone, refunded in parts.
func legacyCaps(name string) channel.Capabilities {
	return channel.Capabilities{Label: ChannelLabel(name), Ways: []channel.Way{channel.WaySandbox}, Guests: true, PartialRefund: true}
}

// unavailable is what a payer reads when a company cannot be reached or its keys fail.
func unavailable(label string) error {
	return fault.New(fault.ErrConflict, "channel_unavailable", "%s暂时无法使用，请稍后或换用其他方式", label)
}

// Capabilities says what the named channel can do ("" label: no such channel).
func (s *Service) Capabilities(name string) channel.Capabilities {
	if ch, ok := s.Channels[name]; ok {
		if c, ok := ch.(channel.Capable); ok {
			return c.Capabilities()
		}
		return legacyCaps(name)
	}
	if d := s.Merchants.Driver(name); d != nil {
		return d.Capabilities()
	}
	return channel.Capabilities{}
}

// Label is the channel's name as payers know it: its own label, marked 演示 where the
// school's account at the company is the demo's fake.
func (s *Service) Label(name string) string {
	caps := s.Capabilities(name)
	if caps.Label == "" {
		return ChannelLabel(name)
	}
	if s.Merchants.Driver(name) != nil && s.DB != nil && s.demoAccount(name) {
		return caps.Label + "（演示）"
	}
	return caps.Label
}

// demoAccount reports whether the school's account at a company is the demo's fake (every
// cashier page asks, once per channel: the merchants' account cache answers).
func (s *Service) demoAccount(name string) bool {
	a, err := s.Merchants.Account(context.Background(), store.DefaultMerchantID, name)
	return err == nil && a.Demo
}

// PayArgs is how a payer pays an open order: through which channel (empty: the order's)
// and way (empty: the channel's first), and what that way needs.
type PayArgs struct {
	Channel  string
	Way      channel.Way
	PayerNo  string // campus card
	Password string // campus card
	PayerIP  string // WeChat H5, UnionPay
	OpenID   string // WeChat JSAPI
	// Attempt is the attempt CreateOrderToPay recorded with the order, for this channel and
	// way: PayOrder uses it instead of making one.
	Attempt *store.PaymentAttempt
}

// Pay starts (or resumes) a payment attempt of an open order. The same channel and way
// again gives back the attempt under way, so that a payer who reloads the page scans the
// same code; another way or channel makes a new attempt under its own number (the first
// attempt is numbered as the order, later ones the order's number, "N" and their
// sequence), while the earlier ones stay payable until one is paid. A synchronous channel
// (the campus card) takes the money at once and the order comes back paid. A declined
// card changes nothing: the payer may try again.
func (s *Service) Pay(ctx context.Context, orderNo string, args PayArgs) (*store.Order, *store.PaymentAttempt, channel.PayResult, error) {
	order, err := s.Order(ctx, orderNo)
	if err != nil {
		return nil, nil, channel.PayResult{}, err
	}
	return s.PayOrder(ctx, order, args)
}

// PayOrder is Pay of an order the caller has just read (Order) or made (CreateOrder and
// the like) in the same request, so that it is not read again: what may have changed since
// — its status, its bills, its attempts — is checked again under the order's lock before
// anything is asked of the channel.
func (s *Service) PayOrder(ctx context.Context, order *store.Order, args PayArgs) (*store.Order, *store.PaymentAttempt, channel.PayResult, error) {
	var res channel.PayResult
	orderNo := order.OrderNo
	if order.Status != store.OrderOpen {
		return order, nil, res, fault.New(fault.ErrConflict, "order_not_open", "订单%s，不能再支付", OrderStatusLabel(order.Status))
	}
	if !s.now().Before(order.ExpiresAt) {
		return order, nil, res, fault.New(fault.ErrConflict, "order_expired", "订单已超时，请重新下单")
	}
	name := args.Channel
	if name == "" {
		name = order.Channel
	}
	gw, err := s.gatewayForNew(ctx, name, order.MerchantID)
	if err != nil {
		return order, nil, res, err
	}
	if order.PayerID == nil && !gw.Caps.Guests {
		return order, nil, res, fault.New(fault.ErrInvalid, "channel_invalid", "校外缴费不支持%s", gw.Caps.Label)
	}
	way := args.Way
	if way == "" && len(gw.Caps.Ways) > 0 {
		way = gw.Caps.Ways[0]
	}
	if !containsWay(gw.Caps.Ways, way) {
		return order, nil, res, fault.New(fault.ErrInvalid, "way_invalid", "%s不支持这种支付方式", gw.Caps.Label)
	}
	var (
		attempt *store.PaymentAttempt
		reused  bool
		stale   string
	)
	if a := args.Attempt; a != nil && a.OrderID == order.ID && a.Channel == name && a.Way == string(way) &&
		a.Status == store.AttemptOpen && a.PayURL == "" {
		// Made with the order a moment ago, in the transaction that checked its bills due
		// and held them, so attemptFor's checks are not run again. What they would catch in
		// these milliseconds — a late payment of an earlier order settling one of the bills —
		// can as well happen between attemptFor's commit and the company's answer: the
		// notification then records the money paid twice as an overpayment, to refund.
		attempt = a
	} else if attempt, reused, stale, err = s.attemptFor(ctx, order, name, way); err != nil {
		return order, nil, res, err
	}
	if stale != "" {
		return order, nil, res, s.closeStale(ctx, order, stale)
	}
	if reused {
		res.QRContent, res.RedirectURL = attempt.PayURL, attempt.PayURL
		return order, attempt, res, nil
	}
	res, err = gw.Provider.Pay(ctx, channel.PayRequest{
		AttemptNo: attempt.AttemptNo, Way: way, AmountFen: attempt.AmountFen, Subject: s.subject(ctx, order),
		CreatedAt: attempt.CreatedAt, ExpiresAt: order.ExpiresAt,
		NotifyURL: s.notifyURL(name, gw.Account), ReturnURL: s.ReturnURL(order.OrderNo),
		PayerIP: payerIP(args.PayerIP), OpenID: args.OpenID, PayerNo: args.PayerNo, Password: args.Password,
	})
	if err != nil {
		var d *channel.Declined
		if errors.As(err, &d) {
			s.closeAttemptRow(ctx, attempt.ID) // the company refused it: nothing to pay there
			return order, attempt, res, fault.New(fault.ErrInvalid, d.Code, "%s", d.Message)
		}
		s.log().Warn("channel pay failed", "order", order.OrderNo, "attempt", attempt.AttemptNo, "channel", name, "err", err)
		if gw.Account != nil {
			s.Merchants.RecordError(ctx, gw.Account.ID, "下单失败："+err.Error())
		}
		// The payer was given nothing to pay with: the attempt is told off at the company
		// (in case it made the trade before the answer was lost) and closed here, so that
		// the order's next attempt starts clean.
		if cerr := gw.Provider.Close(ctx, channel.TradeRef{AttemptNo: attempt.AttemptNo, CreatedAt: attempt.CreatedAt}); cerr != nil {
			s.log().Info("close of a failed attempt", "attempt", attempt.AttemptNo, "err", cerr)
		}
		s.closeAttemptRow(ctx, attempt.ID)
		return order, attempt, res, unavailable(gw.Caps.Label)
	}
	if res.Paid != nil {
		if _, err := s.ApplyTrade(WithPayWay(ctx, "direct"), name, *res.Paid); err != nil {
			return order, attempt, res, err
		}
		order, err = s.Order(ctx, orderNo)
		return order, attempt, res, err
	}
	payURL := cmpOr(res.QRContent, res.RedirectURL)
	if res.Form != nil {
		payURL = res.Form.Action
	}
	now := s.now()
	if _, err := s.DB.NewUpdate().Model((*store.PaymentAttempt)(nil)).Set("pay_url = ?", payURL).Set("updated_at = ?", now).
		Where("id = ?", attempt.ID).Exec(ctx); err != nil {
		return order, attempt, res, fmt.Errorf("billing: save pay url: %w", err)
	}
	if _, err := s.DB.NewUpdate().Model((*store.Order)(nil)).Set("pay_url = ?", payURL).
		Where("id = ?", order.ID).Exec(ctx); err != nil {
		return order, attempt, res, fmt.Errorf("billing: save pay url: %w", err)
	}
	attempt.PayURL, order.PayURL, order.Channel = payURL, payURL, name
	return order, attempt, res, nil
}

// payerIP is the payer's address as the companies take it: the first of a proxy header's
// list, and only if it is an address ("" otherwise).
func payerIP(raw string) string {
	first, _, _ := strings.Cut(raw, ",")
	a, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

func containsWay(ways []channel.Way, w channel.Way) bool {
	for _, x := range ways {
		if x == w {
			return true
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// notifyURL is the door a company posts this merchant's notifications to: per channel and
// merchant for a company's account, per channel for a one-merchant adapter.
func (s *Service) notifyURL(name string, acc *store.MerchantAccount) string {
	u := s.NotifyURL(name)
	if acc != nil {
		u = strings.TrimRight(u, "/") + fmt.Sprintf("/%d", acc.MerchantID)
	}
	return u
}

// attemptFor returns the open attempt of the order on that channel and way that already
// has something for the payer to open (reused), or makes the next one. Only forms and
// pages are reused; a synchronous channel always makes a new attempt. First, under the
// order's lock, it makes sure the order's bills still owe what it pays on them
// (stillDue): when one does not, it makes nothing and says why (stale).
func (s *Service) attemptFor(ctx context.Context, order *store.Order, name string, way channel.Way) (*store.PaymentAttempt, bool, string, error) {
	var attempt *store.PaymentAttempt
	reused, stale := false, ""
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		attempt, reused, stale = nil, false, ""
		o := new(store.Order)
		if err := store.ForUpdate(tx.NewSelect().Model(o).Where("id = ?", order.ID)).Scan(ctx); err != nil {
			return fault.NotFound(err, "订单不存在")
		}
		if o.Status != store.OrderOpen {
			return fault.New(fault.ErrConflict, "order_not_open", "订单%s，不能再支付", OrderStatusLabel(o.Status))
		}
		var err error
		if stale, err = stillDue(ctx, tx, o, order.Lines); err != nil || stale != "" {
			return err
		}
		var all []*store.PaymentAttempt
		if err := tx.NewSelect().Model(&all).Where("order_id = ?", o.ID).OrderExpr("seq").Scan(ctx); err != nil {
			return fmt.Errorf("billing: attempts: %w", err)
		}
		for _, a := range all {
			if a.Status == store.AttemptOpen && a.Channel == name && a.Way == string(way) && a.PayURL != "" && a.AmountFen == o.TotalFen {
				attempt, reused = a, true
				return nil
			}
		}
		now := s.now()
		seq := len(all) + 1
		no := o.OrderNo
		if seq > 1 {
			no = fmt.Sprintf("%sN%d", o.OrderNo, seq)
		}
		if len(no) > 32 {
			return fault.New(fault.ErrConflict, "too_many_attempts", "该订单尝试支付次数过多，请取消后重新下单")
		}
		attempt = &store.PaymentAttempt{AttemptNo: no, OrderID: o.ID, Seq: seq, Channel: name, MerchantID: o.MerchantID,
			Way: string(way), AmountFen: o.TotalFen, Status: store.AttemptOpen, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(attempt).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return store.ErrRetry
			}
			return fmt.Errorf("billing: insert attempt: %w", err)
		}
		if o.Channel != name { // the order's channel is its latest attempt's
			if _, err := tx.NewUpdate().Model((*store.Order)(nil)).Set("channel = ?", name).Set("updated_at = ?", now).
				Where("id = ?", o.ID).Exec(ctx); err != nil {
				return fmt.Errorf("billing: order channel: %w", err)
			}
		}
		return nil
	})
	return attempt, reused, stale, err
}

func (s *Service) closeAttemptRow(ctx context.Context, id int64) {
	now := s.now()
	if _, err := s.DB.NewUpdate().Model((*store.PaymentAttempt)(nil)).
		Set("status = ?", store.AttemptClosed).Set("closed_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", id).Where("status = ?", store.AttemptOpen).Exec(ctx); err != nil {
		s.log().Error("close attempt", "attempt", id, "err", err)
	}
}

// Attempts lists an order's attempts, first first.
func (s *Service) Attempts(ctx context.Context, orderID int64) ([]*store.PaymentAttempt, error) {
	var out []*store.PaymentAttempt
	if err := s.DB.NewSelect().Model(&out).Where("order_id = ?", orderID).OrderExpr("seq").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: attempts: %w", err)
	}
	return out, nil
}

// openRefs are the order's attempts the channels may still be holding open, with the
// gateway of each; an order from before attempts existed is its own only attempt.
func (s *Service) openRefs(ctx context.Context, order *store.Order) ([]attemptRef, error) {
	attempts, err := s.Attempts(ctx, order.ID)
	if err != nil {
		return nil, err
	}
	if len(attempts) == 0 {
		return []attemptRef{{channel: order.Channel, merchantID: order.MerchantID, ref: channel.TradeRef{AttemptNo: order.OrderNo, CreatedAt: order.CreatedAt}}}, nil
	}
	var out []attemptRef
	for _, a := range attempts {
		if a.Status == store.AttemptOpen {
			out = append(out, attemptRef{id: a.ID, channel: a.Channel, merchantID: a.MerchantID,
				ref: channel.TradeRef{AttemptNo: a.AttemptNo, TradeNo: a.TradeNo, CreatedAt: a.CreatedAt}})
		}
	}
	return out, nil
}

type attemptRef struct {
	id         int64 // 0: the order itself, from before attempts
	channel    string
	merchantID int64
	ref        channel.TradeRef
}

// closeOtherAttempts tells the channels to take no more payment on the order's attempts
// other than the one that paid it. A failure is logged: a payment that still arrives on
// one of them is recorded and goes to the overpayment refund path.
func (s *Service) closeOtherAttempts(ctx context.Context, orderID int64, paidNo string) {
	var open []*store.PaymentAttempt
	if err := s.DB.NewSelect().Model(&open).Where("order_id = ?", orderID).Where("status = ?", store.AttemptOpen).
		Where("attempt_no <> ?", paidNo).Scan(ctx); err != nil {
		s.log().Error("open attempts", "err", err)
		return
	}
	for _, a := range open {
		gw, err := s.gateway(ctx, a.Channel, a.MerchantID)
		if err == nil {
			err = gw.Provider.Close(ctx, channel.TradeRef{AttemptNo: a.AttemptNo, TradeNo: a.TradeNo, CreatedAt: a.CreatedAt})
		}
		if err != nil {
			s.log().Warn("close other attempt", "attempt", a.AttemptNo, "err", err)
			continue
		}
		s.closeAttemptRow(ctx, a.ID)
	}
}

// FormOrigins are the origins of the pages the live channels send payers to (for the
// school's merchant and every other merchant's switched-on accounts): the cashier's
// Content-Security-Policy lets forms lead there. Every page asks, so the answer is kept
// for formOriginsTTL: an account switched on shows in the policy within that.
func (s *Service) FormOrigins(ctx context.Context) []string {
	now := time.Now()
	if c, ok := s.formOrigins.Load().(*originsCache); ok && now.Before(c.until) {
		return c.origins
	}
	var out []string
	add := func(v any) {
		if fo, ok := v.(channel.FormOriginer); ok {
			out = append(out, fo.FormOrigins()...)
		}
	}
	for _, name := range s.LiveChannels(ctx) {
		if ch, ok := s.Channels[name]; ok {
			add(ch)
		}
	}
	if s.Merchants != nil {
		var accounts []*store.MerchantAccount
		if err := s.DB.NewSelect().Model(&accounts).Where("enabled = ?", true).Scan(ctx); err != nil {
			s.log().Error("form origins", "err", err)
			return out
		}
		for _, a := range accounts {
			if p, _, err := s.Merchants.Provider(ctx, a.MerchantID, a.Channel); err == nil {
				add(p)
			}
		}
	}
	s.formOrigins.Store(&originsCache{origins: out, until: now.Add(formOriginsTTL)})
	return out
}

const formOriginsTTL = 10 * time.Second

type originsCache struct {
	origins []string
	until   time.Time
}
