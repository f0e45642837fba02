package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// stBackdated pays a demo payer's bill as if the campus card had taken it at paidAt.
func stBackdated(t *testing.T, p *servertest.Platform, payerNo, code string, paidAt time.Time) {
	t.Helper()
	ctx := context.Background()
	var bill store.Bill
	err := p.DB.NewSelect().Model(&bill).
		Join("JOIN charge_items AS ci ON ci.id = bill.item_id").Join("JOIN users AS u ON u.id = bill.payer_id").
		Where("u.payer_no = ? AND ci.code = ?", payerNo, code).Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: *bill.PayerID, Lines: []billing.LineRequest{{BillID: bill.ID}}, Channel: "campuscard"})
	if err != nil {
		t.Fatal(err)
	}
	ch := "campuscard"
	if _, err := p.Billing.ApplyTrade(ctx, ch, channel.Trade{OrderNo: o.OrderNo, TradeNo: "BD" + o.OrderNo, AmountFen: o.TotalFen,
		Status: channel.TradeSuccess, PaidAt: paidAt}); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardDrawsInBrowser opens the finance dashboard in headless Chromium at
// 1280×800, waits for every chart to be drawn by ECharts (an SVG in each .chart), and keeps
// screenshots of it and of the payments search in $CAMPUSPAY_SCREENSHOTS (or the temporary
// folder)/dashboard.
func TestDashboardDrawsInBrowser(t *testing.T) {
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium on PATH; CI must install it")
		}
		t.Skip("no chromium on PATH")
	}
	p := servertest.Start(t, servertest.Options{Demo: true})
	now := time.Now()
	for i := 1; i <= 40; i++ {
		if i == 3 {
			continue
		}
		no := fmt.Sprintf("20260%05d", i)
		stBackdated(t, p, no, "CET-2026-12", now.Add(-time.Duration(i*17)*time.Hour))
		if i%3 == 0 {
			stBackdated(t, p, no, "DORM-2026", now.Add(-time.Duration(i*13)*time.Hour))
		}
	}
	stPay(t, p, "2026000050", "DORM-2026")

	dir := os.Getenv("CAMPUSPAY_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "campuspay-screenshots")
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 800))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(p.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "finance"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "finance123456"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.topbar-user`)),
		chromedp.Navigate(p.URL+"/console"),
	)
	if err != nil {
		t.Fatalf("sign in and open the dashboard: %v", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".chart svg").length >= 5`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("charts not drawn: %v", err)
	}
	// Every chart has its ECharts instance and has written its labels (animation is off, so
	// a chart with text is a chart drawn): the screenshot shows them finished.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`[...document.querySelectorAll("[data-echarts]")].every(el =>
		window.echarts && window.echarts.getInstanceByDom(el) && el.querySelectorAll("svg text").length > 0)`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("charts not finished: %v", err)
	}
	drawn, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chart svg").length`))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/console/search/payments"), chromedp.WaitVisible(chromedp.CSS(`#search-results tfoot`))); err != nil {
		t.Fatal(err)
	}
	search, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if drawn < 5 {
		t.Errorf("%d charts drawn, want 5", drawn)
	}
	for name, b := range map[string][]byte{"dashboard.png": shot, "search-payments.png": search} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
}
