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
	"database/sql"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/merchants"
	"campuspay/app/settings"
	"campuspay/store"
)

// Service is the billing core.
type Service struct {
	DB *bun.DB
	// PageDB, when set, is the payers' page's own connections (store.OpenPagePool): the
	// page's statement waits for them, not for DB's, whatever else is queued there.
	PageDB   *sql.DB
	Settings *settings.Store
	// Channels are the one-merchant adapters (the sandbox, the campus card, a test's fake
	// company); Merchants holds the payment companies' drivers and each merchant's account.
	Channels  map[string]channel.Channel
	Merchants *merchants.Service
	// NotifyURL and ReturnURL build the addresses a channel is given for an order.
	NotifyURL func(channelName string) string
	ReturnURL func(orderNo string) string
	Now       func() time.Time
	Log       *slog.Logger
	// BillLink makes the pay link of an unpaid bill (the API's pay_url): a signed token
	// that opens the cashier for that bill.
	BillLink func(b *store.Bill) string

	formOrigins atomic.Value // *originsCache

	// afterBillsRead, when set (by tests), runs inside CreateOrder's transaction between
	// reading the bills and holding them.
	afterBillsRead func(ctx context.Context, tx bun.Tx)

	// numbering numbers the receipts payments write unnumbered (numbering.go).
	numbering numberer
	// paid wakes the payers' polls waiting for their order's payment (paidwatch.go).
	paid paidWatch
	// catalog is what the payer's page shows of the items (itemcatalog.go).
	catalog itemCatalog
	// pageGate admits the payer's page statement a few at a time (payerpage.go).
	pageGate pageGate
	// afterCandidates, when set (by tests), runs in a numbering round between reading the
	// receipts to number and numbering them.
	afterCandidates func(ctx context.Context)
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// ChannelForNewPayment returns the named channel, for the school's merchant, for taking a
// new payment (a new order, or starting payment on an open one): it must be configured,
// enabled in the settings and ready (an adapter that needs an address has one; a
// company's merchant account exists, is switched on and its keys open).
func (s *Service) ChannelForNewPayment(ctx context.Context, name string) (*Gateway, error) {
	return s.gatewayForNew(ctx, name, store.DefaultMerchantID)
}

func (s *Service) gatewayForNew(ctx context.Context, name string, merchantID int64) (*Gateway, error) {
	if !s.known(name) {
		return nil, fault.New(fault.ErrInvalid, "channel_invalid", "不支持的支付方式：%s", name)
	}
	if !s.liveAt(ctx, name, merchantID) {
		return nil, fault.New(fault.ErrInvalid, "channel_disabled", "支付方式「%s」暂未开放", s.Label(name))
	}
	return s.gateway(ctx, name, merchantID)
}

// ChannelForExisting returns the named channel, for the school's merchant, for what is
// already under way: querying and closing its open attempts, running and following its
// approved refunds. Disabling a channel stops new payments only, so this does not look at
// the settings.
func (s *Service) ChannelForExisting(ctx context.Context, name string) (*Gateway, error) {
	return s.gateway(ctx, name, store.DefaultMerchantID)
}

// Readier is implemented by an adapter that can be unready, e.g. the campus card adapter
// before its system's address is configured.
type Readier interface {
	Ready(ctx context.Context) bool
}

// LiveChannels are the channels that take new payments now for the school's merchant, in
// the settings' order.
func (s *Service) LiveChannels(ctx context.Context) []string {
	return s.LiveChannelsFor(ctx, store.DefaultMerchantID)
}

// LiveChannelsFor are the channels that take new payments now for a merchant, in the
// settings' order. Every cashier page asks, so nothing here reads the database each time:
// the settings and the merchants' accounts are served from their caches, each forgotten
// at once when it is changed on this instance and re-read within seconds of a change on
// another (settings.Store, merchants' cache.go).
func (s *Service) LiveChannelsFor(ctx context.Context, merchantID int64) []string {
	var names, enabled []string
	if s.Settings == nil {
		for name := range s.Channels {
			names = append(names, name)
		}
		names = append(names, s.Merchants.DriverNames()...)
		slices.Sort(names)
	} else {
		names = s.Settings.List(ctx, settings.ChannelsEnabled)
		enabled = names
	}
	var out []string
	for _, name := range names {
		if s.known(name) && s.readyAt(ctx, name, merchantID, enabled) {
			out = append(out, name)
		}
	}
	return out
}

func (s *Service) known(name string) bool {
	_, ok := s.Channels[name]
	return ok || s.Merchants.Driver(name) != nil
}

// liveAt: enabled in the settings, and ready — a one-merchant adapter that says so, or a
// merchant's account at the company that is switched on and opens.
func (s *Service) liveAt(ctx context.Context, name string, merchantID int64) bool {
	if s.Settings == nil {
		return s.readyAt(ctx, name, merchantID, nil)
	}
	return s.readyAt(ctx, name, merchantID, s.Settings.List(ctx, settings.ChannelsEnabled))
}

// readyAt is liveAt with the settings' enabled channels already read (ignored without
// settings).
func (s *Service) readyAt(ctx context.Context, name string, merchantID int64, enabled []string) bool {
	if s.Settings != nil && !slices.Contains(enabled, name) {
		return false
	}
	if ch, ok := s.Channels[name]; ok {
		r, ok := ch.(Readier)
		return !ok || r.Ready(ctx)
	}
	return s.Merchants.Live(ctx, merchantID, name)
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
	case "unionpay":
		return "云闪付（银联）"
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
