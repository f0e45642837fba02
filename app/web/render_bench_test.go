package web_test

// BenchmarkBillsRender measures why web.Renderer renders the page and then its layout
// instead of passing the layout to the engine: gofiber/template/html's Render holds the
// engine's global mutex (exclusively) for the whole render whenever a layout is given, so
// that path renders one page at a time however many cores there are. Run it with several
// GOMAXPROCS values to see one path scale and the other not:
//
//	go test ./app/web -run '^$' -bench BillsRender -cpu 1,2,4

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"runtime/metrics"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"
	"github.com/valyala/fasthttp"

	"campuspay/app/money"
	"campuspay/app/web"
	"campuspay/store"
	"campuspay/views"
)

// benchLayout is layouts/cashier with the page embedded the engine's way ({{embed}}) instead
// of web.Renderer's ({{.Content}}): the same markup through the other path.
const benchLayout = "layouts/bench_embed"

// renderEngine returns an engine over views/ plus benchLayout, with web.Funcs.
func renderEngine(b *testing.B) *html.Engine {
	b.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(views.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(views.FS, path)
		files[path] = &fstest.MapFile{Data: raw}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	layout := string(files["layouts/cashier.html"].Data)
	if !strings.Contains(layout, "{{.Content}}") {
		b.Fatal("layouts/cashier.html no longer embeds {{.Content}}: update the benchmark")
	}
	files[benchLayout+".html"] = &fstest.MapFile{Data: []byte(strings.Replace(layout, "{{.Content}}", "{{embed}}", 1))}
	engine := web.NewEngineFS(files)
	if err := engine.Load(); err != nil {
		b.Fatal(err)
	}
	return engine
}

type benchChannel struct {
	Value, Way, Label, WayName, Hint, Icon string
	Checked                                bool
}

// benchGroup is the cashier's billGroup: the bills of one merchant (收款单位), and their
// rows as the cashier writes them in Go (cashier.billRowsHTML, measured by the cashier's
// BenchmarkBillRowsHTML); here a fixture of the same markup's size.
type benchGroup struct {
	MerchantID int64
	Name       string
	Bills      []*store.Bill
	RowsHTML   template.HTML
}

// billsData is what the cashier's bills handler gives cashier/bills: three bills.
func billsData() fiber.Map {
	now := time.Date(2026, 9, 1, 2, 0, 0, 0, time.UTC)
	due := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	payer := int64(7)
	var bills []*store.Bill
	for i, it := range []struct {
		name, dept string
		fen        int64
		partial    bool
	}{{"2026学年学费", "教务处", 5_500_00, false}, {"2026学年住宿费", "后勤管理处", 1_200_00, true}, {"2026秋季教材费", "图书馆", 386_50, false}} {
		bills = append(bills, &store.Bill{ID: int64(101 + i), PayerID: &payer, AmountDueFen: it.fen, Status: store.BillUnpaid, DueDate: &due,
			Item: &store.ChargeItem{Name: it.name, PartialAllowed: it.partial, Department: &store.Department{Name: it.dept}}})
	}
	var rows strings.Builder
	for _, b := range bills {
		fmt.Fprintf(&rows, `
      <li class="bill">
        <label>
          <input class="bill-check" type="checkbox" name="bill" value="%d">
          <span class="bill-main">
            <span class="bill-name">%s</span>
            <span class="bill-meta">
              <span>%s</span><span class="bill-deadline">截止 2026-09-30</span>
            </span>
          </span>
          <span class="bill-amounts">
            <span class="bill-due">%s</span>
            <span class="bill-paid">已缴 %s</span>
          </span>
        </label>
      </li>`, b.ID, b.Item.Name, b.Item.Department.Name, money.Format(b.OutstandingFen()), money.Format(b.AmountPaidFen))
	}
	return fiber.Map{
		"Bills": bills, "BillCount": len(bills), "Groups": []benchGroup{{MerchantID: 1, Bills: bills, RowsHTML: template.HTML(rows.String())}},
		"Outstanding": money.Format(5_500_00 + 1_200_00 + 386_50), "Now": now, "Tabs": true,
		"Form":  fiber.Map{"Selected": map[int64]bool{}, "Amounts": map[int64]string{}, "Channel": "", "Error": ""},
		"Total": fiber.Map{"Count": 0, "TotalFen": int64(0), "Mixed": false},
		"Channels": []benchChannel{
			{"sandbox", "SANDBOX", "在线支付（模拟）", "", "扫码或跳转到支付页面完成支付", "扫", true},
			{"campuscard", "CARD", "校园卡", "", "从校园卡余额扣款，需输入校园卡密码", "卡", false},
		},
	}
}

func BenchmarkBillsRender(b *testing.B) {
	engine := renderEngine(b)
	renderer := &web.Renderer{Engine: engine, School: func(*fiber.Ctx) string { return "示例大学" }}
	app := fiber.New()

	// viaRenderer is web.Renderer.Render: the page into a buffer, then its layout, no lock.
	viaRenderer := func(c *fiber.Ctx, data fiber.Map) error {
		return renderer.Render(c, "cashier/bills", "待缴费用", data)
	}
	// viaEngineLayout is the engine's own layout path: one call, under the engine's mutex.
	viaEngineLayout := func(c *fiber.Ctx, data fiber.Map) error {
		data["Title"], data["School"], data["User"], data["CSRF"], data["Data"] = "待缴费用", "示例大学", nil, "", data
		return engine.Render(c, "cashier/bills", data, benchLayout)
	}

	// Both paths must produce the page with its three bills, or the comparison means nothing.
	var outs [2][]byte
	for i, render := range []func(*fiber.Ctx, fiber.Map) error{viaRenderer, viaEngineLayout} {
		c := app.AcquireCtx(&fasthttp.RequestCtx{})
		if err := render(c, billsData()); err != nil {
			b.Fatal(err)
		}
		outs[i] = bytes.Clone(c.Response().Body())
		app.ReleaseCtx(c)
		if n := bytes.Count(outs[i], []byte(`class="bill-check"`)); n != 3 || !bytes.Contains(outs[i], []byte("</html>")) {
			b.Fatalf("path %d rendered %d bills in %d bytes, want a whole page with 3", i, n, len(outs[i]))
		}
	}
	b.Logf("page %d bytes through web.Renderer, %d bytes through the engine's layout", len(outs[0]), len(outs[1]))

	for _, bm := range []struct {
		name   string
		render func(*fiber.Ctx, fiber.Map) error
	}{{"renderer", viaRenderer}, {"engine-layout", viaEngineLayout}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			waited := mutexWait()
			b.RunParallel(func(pb *testing.PB) {
				c := app.AcquireCtx(&fasthttp.RequestCtx{})
				defer app.ReleaseCtx(c)
				data := billsData()
				for pb.Next() {
					c.Response().ResetBody()
					if err := bm.render(c, data); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
			b.ReportMetric(float64(mutexWait()-waited)/float64(b.N), "mutex-wait-ns/op")
		})
	}
}

// mutexWait is how long, in all, goroutines of this process have waited on a sync.Mutex or
// sync.RWMutex (or a runtime lock): what a global lock costs shows here even on a machine
// with too few cores for it to show in pages/s.
func mutexWait() time.Duration {
	s := []metrics.Sample{{Name: "/sync/mutex/wait/total:seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}
