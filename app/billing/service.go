// Package billing is the money of CampusPay and nothing else: orders and their payment
// attempts, crediting bills from payments (online or collected offline), receipts and
// their gap-free numbering, refunds and their state machine, overpayments, and the
// callbacks money movements queue. Every change that moves money is a method here, in one
// database transaction, guarded by unique keys and UPDATE … WHERE status checks, and
// nowhere else. Items, bills, the roster, business systems and read models live in
// packages of their own and call in; billing knows no HTTP.
package billing

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/settings"
	"campuspay/store"
)

// Service is the billing core.
type Service struct {
	DB       *bun.DB
	Settings *settings.Store
	Channels map[string]channel.Channel
	// NotifyURL and ReturnURL build the addresses a channel is given for an order.
	NotifyURL func(channelName string) string
	ReturnURL func(orderNo string) string
	Now       func() time.Time
	Log       *slog.Logger
	// BillLink makes the pay link of an unpaid bill (the API's pay_url): a signed token
	// that opens the cashier for that bill.
	BillLink func(b *store.Bill) string

	// afterBillsRead, when set (by tests), runs inside CreateOrder's transaction between
	// reading the bills and holding them.
	afterBillsRead func(ctx context.Context, tx bun.Tx)
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// ChannelForNewPayment returns the named channel for taking a new payment (a new order,
// or starting payment on an open one): it must be configured, enabled in the settings and
// ready (an adapter that needs an address has one).
func (s *Service) ChannelForNewPayment(ctx context.Context, name string) (channel.Channel, error) {
	ch, err := s.ChannelForExisting(ctx, name)
	if err != nil {
		return nil, err
	}
	if !s.live(ctx, name, ch) {
		return nil, fault.New(fault.ErrInvalid, "channel_disabled", "支付方式「%s」暂未开放", ChannelLabel(name))
	}
	return ch, nil
}

// ChannelForExisting returns the named channel for what is already under way: querying
// and closing its open orders, running and following its approved refunds. Disabling a
// channel stops new payments only, so this does not look at the settings.
func (s *Service) ChannelForExisting(_ context.Context, name string) (channel.Channel, error) {
	ch, ok := s.Channels[name]
	if !ok {
		return nil, fault.New(fault.ErrInvalid, "channel_invalid", "不支持的支付方式：%s", name)
	}
	return ch, nil
}

// Readier is implemented by an adapter that can be unready, e.g. the campus card adapter
// before its system's address is configured.
type Readier interface {
	Ready(ctx context.Context) bool
}

// LiveChannels are the channels that take new payments now, in the settings' order.
func (s *Service) LiveChannels(ctx context.Context) []string {
	var names []string
	if s.Settings == nil {
		for name := range s.Channels {
			names = append(names, name)
		}
		slices.Sort(names)
	} else {
		names = s.Settings.List(ctx, settings.ChannelsEnabled)
	}
	var out []string
	for _, name := range names {
		if ch, ok := s.Channels[name]; ok && s.live(ctx, name, ch) {
			out = append(out, name)
		}
	}
	return out
}

func (s *Service) live(ctx context.Context, name string, ch channel.Channel) bool {
	if r, ok := ch.(Readier); ok && !r.Ready(ctx) {
		return false
	}
	return s.Settings == nil || slices.Contains(s.Settings.List(ctx, settings.ChannelsEnabled), name)
}

// ChannelLabel is a channel's name as payers know it.
func ChannelLabel(name string) string {
	switch name {
	case "sandbox":
		return "在线支付（模拟）"
	case "campuscard":
		return "校园卡"
	case "alipay":
		return "支付宝"
	case "wechatpay":
		return "微信支付"
	case "offline":
		return "线下收款"
	}
	return name
}

// newNumber makes a number of ≤ 32 characters of [0-9A-Za-z] that every channel accepts:
// prefix, the bizday.Shanghai time to the second, and 8 random digits.
func newNumber(prefix string, now time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(fmt.Sprintf("billing: crypto/rand: %v", err))
	}
	return fmt.Sprintf("%s%s%08d", prefix, now.In(bizday.Shanghai).Format("20060102150405"), n.Int64())
}

func randomToken(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(fmt.Sprintf("billing: crypto/rand: %v", err))
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// imports runs the spreadsheet imports (bills, offline collections) in the background.
func (s *Service) imports() *imports.Runner {
	return &imports.Runner{DB: s.DB, Now: s.Now, Log: s.Log}
}
