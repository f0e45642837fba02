package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
	"campuspay/app/channel/unionpay"
	"campuspay/app/channel/wechatpay"
	"campuspay/app/egress"
	"campuspay/app/fault"
	"campuspay/app/merchants"
	"campuspay/app/settings"
	alipaysim "campuspay/app/sim/alipay"
	unionpaysim "campuspay/app/sim/unionpay"
	wechatsim "campuspay/app/sim/wechatpay"
	"campuspay/store"
)

// companySims are the in-process fakes of the payment companies, served where the
// simulators run: the demo pays through the real adapters against them.
type companySims struct {
	Alipay   *alipaysim.Sim
	WeChat   *wechatsim.Sim
	UnionPay *unionpaysim.Sim
}

// newMerchants is the registry of the payment companies' drivers and the merchants'
// accounts. A company is reached through the egress guard; an account the demo made points
// at the platform's own address (its fakes), which demoClient trusts.
func (s *Server) newMerchants(demoClient *http.Client) *merchants.Service {
	return &merchants.Service{
		DB: s.DB, Sealer: s.Secrets, Log: s.Config.Log,
		Drivers: map[string]channel.Driver{
			alipay.Name:    alipay.Driver{},
			wechatpay.Name: wechatpay.New(),
			unionpay.Name:  unionpay.Driver{},
		},
		Client:     s.Egress.Client(egress.Options{Timeout: 20 * time.Second}),
		DemoClient: demoClient,
	}
}

// startCompanySims makes the fakes (their keys are new at every start) and points the
// school's demo accounts at them: an account the demo made is rewritten with the new keys;
// a real account finance entered is never touched. A channel whose demo account is made for
// the first time is switched on in the settings.
func (s *Server) startCompanySims(ctx context.Context, notifyClient *http.Client) error {
	base := s.Config.BaseURL
	ali, err := alipaysim.New("/sim/alipay", nil, notifyClient)
	if err != nil {
		return fmt.Errorf("server: alipay fake: %w", err)
	}
	wx := wechatsim.New("/sim/wechatpay", nil, notifyClient)
	wx.SetPublicURL(base + "/sim/wechatpay")
	up, err := unionpaysim.New("/sim/unionpay", nil, notifyClient)
	if err != nil {
		ali.Close()
		wx.Close()
		return fmt.Errorf("server: unionpay fake: %w", err)
	}
	s.sims = companySims{Alipay: ali, WeChat: wx, UnionPay: up}
	accounts := map[string]map[string]string{
		alipay.Name:    ali.MerchantValues(base + "/sim/alipay/gateway.do"),
		wechatpay.Name: wx.MerchantValues(),
		unionpay.Name:  up.MerchantValues(base),
	}
	for _, name := range []string{alipay.Name, wechatpay.Name, unionpay.Name} {
		a, err := s.Merchants.Account(ctx, store.DefaultMerchantID, name)
		switch {
		case err == nil && !a.Demo:
			continue // finance's own account
		case err != nil && !errors.Is(err, fault.ErrNotFound):
			return err
		}
		first := err != nil
		enabled := first || a.Enabled
		if _, err := s.Merchants.Save(ctx, store.DefaultMerchantID, name, accounts[name], enabled, true, "demo"); err != nil {
			return fmt.Errorf("server: demo %s account: %w", name, err)
		}
		if first {
			if err := s.enableChannel(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) enableChannel(ctx context.Context, name string) error {
	list := s.Settings.List(ctx, settings.ChannelsEnabled)
	if slices.Contains(list, name) {
		return nil
	}
	_, err := s.Settings.Set(ctx, settings.ChannelsEnabled, strings.Join(append(list, name), ","), "demo")
	return err
}

// companySimRoutes serves the fakes under /sim/alipay, /sim/wechatpay and /sim/unionpay.
func (s *Server) companySimRoutes(app *fiber.App) {
	if s.sims.Alipay != nil {
		app.All("/sim/alipay/*", adaptor.HTTPHandler(ownStrings(s.sims.Alipay)))
	}
	if s.sims.WeChat != nil {
		app.All("/sim/wechatpay/*", adaptor.HTTPHandler(ownStrings(s.sims.WeChat)))
	}
	if s.sims.UnionPay != nil {
		app.All("/sim/unionpay/*", adaptor.HTTPHandler(ownStrings(s.sims.UnionPay)))
	}
}

// ownStrings hands a fake a request whose strings it owns. fiber's adaptor builds the
// net/http request over fasthttp's buffers, which the next request reuses: a fake that
// keeps a value from the URL or a header (WeChat's OAuth keeps the appid of the code it
// issues) would find it overwritten.
func ownStrings(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.RequestURI = strings.Clone(r.RequestURI)
		r2.Host = strings.Clone(r.Host)
		r2.RemoteAddr = strings.Clone(r.RemoteAddr)
		if u, err := url.Parse(strings.Clone(r.URL.String())); err == nil {
			r2.URL = u
		}
		r2.Header = make(http.Header, len(r.Header))
		for k, vs := range r.Header {
			for _, v := range vs {
				r2.Header.Add(strings.Clone(k), strings.Clone(v))
			}
		}
		h.ServeHTTP(w, r2)
	})
}

func (c companySims) close() {
	if c.Alipay != nil {
		c.Alipay.Close()
	}
	if c.WeChat != nil {
		c.WeChat.Close()
	}
	if c.UnionPay != nil {
		c.UnionPay.Close()
	}
}
