package console_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/money"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// consoleTab is a headless Chromium tab signed in to the console, for the checks of what
// finance sees and prints. Screenshots and PDFs go to $CAMPUSPAY_SCREENSHOTS (or the
// temporary folder)/<test name>.
type consoleTab struct {
	t   *testing.T
	ctx context.Context
	url string
	dir string
}

func newConsoleTab(t *testing.T, p *servertest.Platform, login, password string) *consoleTab {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			exe = path
			break
		}
	}
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium on PATH; CI must install it")
		}
		t.Skip("no chromium on PATH")
	}
	root := os.Getenv("CAMPUSPAY_SCREENSHOTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "campuspay-screenshots")
	}
	dir := filepath.Join(root, filepath.FromSlash(t.Name()))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	tab := &consoleTab{t: t, ctx: ctx, url: p.URL, dir: dir}
	// The first Do starts the browser and binds it to its context, which must have no
	// deadline: a timer bounds the start instead.
	stop := time.AfterFunc(30*time.Second, cancelTab)
	err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900))
	if !stop.Stop() || err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	tab.do("sign in", 30*time.Second,
		chromedp.Navigate(p.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.topbar-user`)),
	)
	return tab
}

func (b *consoleTab) do(step string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

func evalIn[T any](b *consoleTab, step, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// media switches the tab to print or screen CSS ("" is the screen again).
func (b *consoleTab) media(m string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m}); err != nil {
		b.t.Fatalf("emulate media %q: %v", m, err)
	}
}

func (b *consoleTab) save(name string, data []byte) {
	b.t.Helper()
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("kept %s", path)
}

func (b *consoleTab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		b.save(name+".png", buf)
	} else {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// receiptOf returns the receipt number of a paid order.
func receiptOf(t *testing.T, p *servertest.Platform, o *store.Order) string {
	t.Helper()
	rs, err := p.Billing.OrderReceipts(context.Background(), o.ID) // waits for the numbers
	if err != nil || len(rs) == 0 || rs[0].ReceiptNo == "" {
		t.Fatalf("receipts of %s: %v, %v", o.OrderNo, rs, err)
	}
	return rs[0].ReceiptNo
}

var pdfMediaBoxRE = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)

// pdfPages returns the size (in points) of each page of a PDF as Chromium writes it (the
// page dictionaries are not compressed).
func pdfPages(t *testing.T, pdf []byte) [][2]float64 {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	var out [][2]float64
	for _, m := range pdfMediaBoxRE.FindAllSubmatch(pdf, -1) {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		out = append(out, [2]float64{w, h})
	}
	return out
}

// TestReceiptPrintLayoutsKeepTableInsidePage prints every receipt layout finance uses (an
// A5 receipt, an A5 batch, an A4 batch, a reprint) to PDF in Chromium, checks the paper,
// and checks, with the print CSS at the page's printable width, that each receipt's table
// with its outer rules lies inside the printed receipt: the right rule of the A5 table was
// cut off when the table took exactly the whole width.
func TestReceiptPrintLayoutsKeepTableInsidePage(t *testing.T) {
	p := servertest.Start(t, servertest.Options{Demo: true})
	first := stPay(t, p, "2026000001", "CET-2026-12")
	stPay(t, p, "2026000001", "DORM-2026")
	reprinted := stPay(t, p, "2026000002", "DORM-2026")
	no, reprintNo := receiptOf(t, p, first), receiptOf(t, p, reprinted)
	for range 2 { // printed, then printed again: the sheet says 第 2 次打印（补打）
		if _, err := p.Billing.CountPrints(context.Background(), []string{reprintNo}, "finance"); err != nil {
			t.Fatal(err)
		}
	}
	b := newConsoleTab(t, p, "finance", "finance123456")

	const mm = 96 / 25.4 // CSS pixels in a millimetre
	a5, a4 := [2]float64{210, 148}, [2]float64{210, 297}
	for _, tc := range []struct {
		name, path string
		paper      [2]float64 // mm, as printed
		printable  float64    // mm: the paper's width less the @page margins
		receipts   int
	}{
		{"a5-single", "/console/receipts/" + no, a5, 210 - 2*10, 1},
		{"a5-batch", "/console/receipts/print?payer=2026000001", a5, 210 - 2*10, 2},
		{"a4-batch", "/console/receipts/print?payer=2026000001&size=A4", a4, 210 - 2*15, 2},
		{"reprint", "/console/receipts/" + reprintNo, a5, 210 - 2*10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.media("")
			b.do("open "+tc.path, 10*time.Second, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(b.url+tc.path),
				chromedp.WaitVisible(chromedp.CSS(`.receipt-table`)))
			if tc.name == "reprint" {
				if got := evalIn[string](b, "copy label", `document.querySelector(".receipt-copy").textContent`); !strings.Contains(got, "第 2 次打印") {
					t.Errorf("reprint copy label %q, want 第 2 次打印", got)
				}
			}

			ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
			pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize()))
			cancel()
			if err != nil {
				t.Fatalf("print to PDF: %v", err)
			}
			b.save(tc.name+".pdf", pdf)
			pages := pdfPages(t, pdf)
			if len(pages) != tc.receipts {
				t.Errorf("PDF has %d pages, want %d (one receipt a sheet)", len(pages), tc.receipts)
			}
			for i, pg := range pages {
				w, h := pg[0]/72*25.4, pg[1]/72*25.4 // points to mm
				if abs(w-tc.paper[0]) > 1 || abs(h-tc.paper[1]) > 1 {
					t.Errorf("page %d is %.0f×%.0f mm, want %.0f×%.0f", i+1, w, h, tc.paper[0], tc.paper[1])
				}
			}

			// The print layout at the printable width: each table, with the outer half of its
			// collapsed border, inside its receipt (which clips), each receipt inside the page.
			width := int64(tc.printable * mm)
			b.media("print")
			b.do("printable width", 10*time.Second, chromedp.EmulateViewport(width, 900))
			b.screenshot(tc.name + "-print")
			problems := evalIn[[]string](b, "measure the print layout", fmt.Sprintf(`(() => {
				const out = [], page = %d;
				document.querySelectorAll(".receipt").forEach((r, i) => {
					const rb = r.getBoundingClientRect();
					if (rb.left < -0.01 || rb.right > page + 0.01) out.push("receipt " + i + " spans " + rb.left + "–" + rb.right + " of " + page + " px");
					r.querySelectorAll("table").forEach(tb => {
						const b = tb.getBoundingClientRect(), cs = getComputedStyle(tb.querySelector("th, td"));
						const right = b.right + parseFloat(cs.borderRightWidth) / 2, left = b.left - parseFloat(cs.borderLeftWidth) / 2;
						if (right > rb.right + 0.01 || left < rb.left - 0.01) out.push("receipt " + i + ": table with its rules spans " + left + "–" + right + ", receipt " + rb.left + "–" + rb.right);
					});
				});
				if (!document.querySelector(".receipt")) out.push("no receipt printed");
				return out;
			})()`, width))
			for _, p := range problems {
				t.Error(p)
			}
			if n := evalIn[int](b, "receipts in print", `document.querySelectorAll(".receipt").length`); n != tc.receipts {
				t.Errorf("%d receipts in the print layout, want %d", n, tc.receipts)
			}
			b.media("")
		})
	}
}

// paidByCard records a campus card payment of a demo payer's whole bill (as the card
// system would report it, whatever the card's balance) and returns its amount.
func paidByCard(t *testing.T, p *servertest.Platform, payerNo, code string) int64 {
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
	if _, err := p.Billing.ApplyTrade(ctx, "campuscard", channel.Trade{OrderNo: o.OrderNo, TradeNo: "CARD" + o.OrderNo, AmountFen: o.TotalFen,
		Status: channel.TradeSuccess, PaidAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return o.TotalFen
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestDashboardChartLabelsReadable draws the finance dashboard at 1366 and 1920 px with
// collections in four departments and on two channels, and checks what finance reads:
// every department named on its chart, no label cut off at a chart's edge, amounts written
// as everywhere else (¥7,730.00, never ¥7730.00), and the sidebar as long as the page.
func TestDashboardChartLabelsReadable(t *testing.T) {
	p := servertest.Start(t, servertest.Options{Demo: true})
	ctx := context.Background()
	var cardFen int64
	for _, pay := range []struct{ payer, code string }{
		{"2026000001", "TUITION-2026"}, {"2026000001", "DORM-2026"}, {"2026000001", "CET-2026-12"},
		{"2026000002", "DORM-2026"}, {"2026000004", "CET-2026-12"},
	} {
		cardFen += paidByCard(t, p, pay.payer, pay.code)
	}
	// An alumnus's donation through the online channel: the fourth department, the second channel.
	gift, err := p.Billing.CreateGuestOrder(ctx, billing.GuestRequest{ItemCode: "DONATE-2026", Name: "王校友", Phone: "13800000000", AmountFen: 1234500, Channel: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Billing.ApplyTrade(ctx, "sandbox", channel.Trade{OrderNo: gift.OrderNo, TradeNo: "GIFT" + gift.OrderNo, AmountFen: gift.TotalFen,
		Status: channel.TradeSuccess, PaidAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := newConsoleTab(t, p, "finance", "finance123456")
	depts := []string{"财务处", "后勤管理处", "教务处", "教育发展基金会"}

	for _, width := range []int64{1366, 1920} {
		t.Run(strconv.FormatInt(width, 10), func(t *testing.T) {
			b.t = t
			ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
			defer cancel()
			err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(b.url+"/console"))
			if err == nil {
				_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll(".chart svg").length >= 5 &&
					[...document.querySelectorAll(".chart svg")].every(s => s.querySelector("text"))`, chromedp.WithPollingInterval(100*time.Millisecond)))
			}
			if err != nil {
				t.Fatalf("dashboard charts at %d px: %v", width, err)
			}
			b.screenshot(fmt.Sprintf("dashboard-%d", width))

			texts := func(chart string) string {
				return evalIn[string](b, chart+" labels", fmt.Sprintf(`[...document.querySelectorAll('#chart-%s svg text')].map(t => t.textContent).join("|")`, chart))
			}
			deptLabels := texts("departments")
			for _, d := range depts {
				if !strings.Contains(deptLabels, d) {
					t.Errorf("departments chart at %d px does not name %s; its labels: %s", width, d, deptLabels)
				}
			}
			clipped := evalIn[[]string](b, "labels inside their charts", `(() => {
				const out = [];
				document.querySelectorAll(".chart svg").forEach(s => {
					const c = s.getBoundingClientRect();
					s.querySelectorAll("text").forEach(t => {
						const r = t.getBoundingClientRect();
						if (r.width > 0 && (r.left < c.left - 0.5 || r.right > c.right + 0.5 || r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5))
							out.push(s.closest("[id]").id + ": " + JSON.stringify(t.textContent) + " at " + Math.round(r.left) + "–" + Math.round(r.right) + " of " + Math.round(c.left) + "–" + Math.round(c.right));
					});
				});
				return out;
			})()`)
			for _, c := range clipped {
				t.Errorf("label cut off at %d px: %s", width, c)
			}
			if cut := evalIn[[]string](b, "labels in full", `[...document.querySelectorAll(".chart svg text")].map(t => t.textContent).filter(s => s.includes("…") || s.includes("..."))`); len(cut) > 0 {
				t.Errorf("labels shortened with an ellipsis at %d px: %q", width, cut)
			}
			donut := texts("channels")
			for _, fen := range []int64{cardFen, gift.TotalFen} {
				if !strings.Contains(donut, money.Format(fen)) {
					t.Errorf("channels chart at %d px does not show %s; its labels: %s", width, money.Format(fen), donut)
				}
			}
			if bare := regexp.MustCompile(`¥\d{4,}`).FindString(donut); bare != "" {
				t.Errorf("channels chart writes %s without thousands separators", bare)
			}
			if gap := evalIn[float64](b, "sidebar length", `document.querySelector(".console-main").getBoundingClientRect().bottom - document.querySelector(".sidebar").getBoundingClientRect().bottom`); gap > 1 {
				t.Errorf("the sidebar's white stops %.0f px above the foot of the page", gap)
			}
		})
	}
}
