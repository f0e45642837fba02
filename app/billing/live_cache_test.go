package billing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/merchants"
	"campuspay/app/settings"
	"campuspay/store"
	"campuspay/store/storetest"
)

// keyDriver stands in for a company (named alipay, so that the settings accept it): an
// account opens when it has a key.
type keyDriver struct{}

func (keyDriver) Name() string { return "alipay" }
func (keyDriver) Capabilities() channel.Capabilities {
	return channel.Capabilities{Label: "支付宝", Ways: []channel.Way{channel.WayAliQR}, Guests: true}
}
func (keyDriver) Fields() []channel.Field { return []channel.Field{{Key: "key", Label: "密钥"}} }
func (keyDriver) Open(cfg channel.MerchantConfig) (channel.Provider, error) {
	if cfg.Values["key"] == "" {
		return nil, errors.New("密钥为空")
	}
	return keyProvider{}, nil
}

type keyProvider struct{ channel.Provider }

// A channel switched off — the school's account at the company in the console, or the
// channel in the settings — takes no new payment from the very next request on this
// instance, though the account cache would keep the old row for an hour; switched on
// again, it is offered at once. The (演示) label follows the account the same way.
func TestChannelSwitchedOffStopsNewPaymentsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		f.Svc.Settings = settings.New(db)
		f.Svc.Merchants = &merchants.Service{DB: db, Sealer: identitySealer{}, Now: f.Clock.Now,
			Drivers: map[string]channel.Driver{"alipay": keyDriver{}}, AccountTTL: time.Hour}
		if _, err := f.Svc.Settings.Set(ctx, settings.ChannelsEnabled, "sandbox,alipay", "admin"); err != nil {
			t.Fatal(err)
		}
		saveAccount := func(enabled, demo bool) {
			t.Helper()
			if _, err := f.Svc.Merchants.Save(ctx, store.DefaultMerchantID, "alipay", map[string]string{"key": "k"}, enabled, demo, "finance"); err != nil {
				t.Fatal(err)
			}
		}
		order := func(bill int) error {
			_, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "alipay",
				Lines: []billing.LineRequest{{BillID: f.Bills[bill].ID}}})
			return err
		}
		live := func(want ...string) {
			t.Helper()
			if got := f.Svc.LiveChannels(ctx); !slices.Equal(got, want) {
				t.Fatalf("live channels %v, want %v", got, want)
			}
		}

		live("sandbox") // no account yet (and that answer is now cached)
		saveAccount(true, false)
		live("sandbox", "alipay")
		if err := order(0); err != nil {
			t.Fatalf("order through the account just switched on: %v", err)
		}

		saveAccount(false, false)
		live("sandbox")
		if err := order(1); err == nil || !strings.Contains(err.Error(), "暂未开放") {
			t.Fatalf("order through the account just switched off: %v; want refused", err)
		}
		if _, err := f.Svc.ChannelForNewPayment(ctx, "alipay"); err == nil {
			t.Fatal("ChannelForNewPayment gave the switched-off account")
		}

		saveAccount(true, true)
		live("sandbox", "alipay")
		if got := f.Svc.Label("alipay"); got != "支付宝（演示）" {
			t.Errorf("label right after saving a demo account: %q", got)
		}
		if _, err := f.Svc.Settings.Set(ctx, settings.ChannelsEnabled, "sandbox", "admin"); err != nil {
			t.Fatal(err)
		}
		live("sandbox")
		if err := order(1); err == nil || !strings.Contains(err.Error(), "暂未开放") {
			t.Fatalf("order through the channel just switched off in the settings: %v; want refused", err)
		}
		if _, err := f.Svc.Settings.Set(ctx, settings.ChannelsEnabled, "sandbox,alipay", "admin"); err != nil {
			t.Fatal(err)
		}
		if err := order(1); err != nil {
			t.Fatalf("order through the channel switched on again: %v", err)
		}
	})
}

type identitySealer struct{}

func (identitySealer) Seal(p string) (string, error) { return p, nil }
func (identitySealer) Open(s string) (string, error) { return s, nil }
