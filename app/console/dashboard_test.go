package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"campuspay/app/money"
	"campuspay/app/server/servertest"
	"campuspay/static"
)

var stChartRE = regexp.MustCompile(`data-echarts="([^"]*)"`)

// stChart fetches a chart fragment as HTMX does and returns its ECharts options.
func stChart(t *testing.T, b *servertest.Browser, name string) map[string]any {
	t.Helper()
	code, body, _ := b.Do("GET", "/console/charts/"+name, nil, true)
	if code != http.StatusOK {
		t.Fatalf("chart %s: status %d\n%s", name, code, body)
	}
	m := stChartRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("chart %s has no data-echarts attribute:\n%s", name, body)
	}
	var opts map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &opts); err != nil {
		t.Fatalf("chart %s options are not JSON: %v", name, err)
	}
	return opts
}

// stSeries returns the values of a chart's series i.
func stSeries(t *testing.T, opts map[string]any, i int) []string {
	t.Helper()
	series := opts["series"].([]any)
	var out []string
	for _, d := range series[i].(map[string]any)["data"].([]any) {
		switch v := d.(map[string]any)["value"].(type) {
		case string:
			out = append(out, v)
		case nil:
			out = append(out, "")
		default:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	return out
}

func TestDashboardEqualsSearchAndIsScoped(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		stPay(t, p, "2026000001", "CET-2026-12") // ¥30.00, 教务处
		stPay(t, p, "2026000002", "CET-2026-12") // ¥30.00, 教务处
		stPay(t, p, "2026000004", "DORM-2026")   // ¥1,200.00, 后勤管理处
		ctx := context.Background()
		today := p.Reports.Today().Format("2006-01-02")

		fin := stBrowser(t, p, "finance", "finance123456")
		code, body := fin.Get("/console")
		if code != http.StatusOK || !strings.Contains(body, "<h1>财务看板</h1>") {
			t.Fatalf("finance dashboard: status %d\n%s", code, body)
		}
		for _, want := range []string{`<script src="` + static.URL("js/echarts.min.js") + `" defer></script>`, `src="` + static.URL("js/charts.js") + `"`,
			`hx-get="/console/charts/trend" hx-trigger="load"`, `hx-get="/console/charts/channels"`, `class="stats"`} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("dashboard has an inline script")
		}
		// Today's figure is what the payment search of today adds up to.
		o, err := p.Reports.Overview(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o.Today.CollectedFen != 126000 || o.Today.Count != 3 {
			t.Errorf("today %+v, want ¥1,260.00 in 3", o.Today)
		}
		_, search := fin.Get("/console/search/payments?from=" + today + "&to=" + today)
		if f := stTfoot(t, search); !strings.Contains(f, money.Format(o.Today.CollectedFen)) || !strings.Contains(f, "合计 3 笔") {
			t.Errorf("today's search totals %q, dashboard %s", f, money.Format(o.Today.CollectedFen))
		}
		if !strings.Contains(body, money.Format(o.Today.CollectedFen)) || !strings.Contains(body, ">3 笔</a>") {
			t.Errorf("dashboard does not show today's ¥1,260.00 in 3")
		}

		// The 30-day trend: today is the last point, and the points add up to the search
		// over the same 30 days.
		trend := stChart(t, fin, "trend")
		values := stSeries(t, trend, 0)
		if len(values) != 30 || values[29] != "1260.00" {
			t.Fatalf("trend values %v, want 30 days ending 1260.00", values)
		}
		var sum int64
		for _, v := range values {
			fen, err := money.ParseYuan(v)
			if err != nil {
				t.Fatal(err)
			}
			sum += fen
		}
		from := p.Reports.Today().AddDate(0, 0, -29).Format("2006-01-02")
		_, search = fin.Get("/console/search/payments?from=" + from + "&to=" + today)
		if f := stTfoot(t, search); !strings.Contains(f, money.Format(sum)) {
			t.Errorf("30-day search totals %q, trend adds up to %s", f, money.Format(sum))
		}
		channels := stChart(t, fin, "channels")
		if got := stSeries(t, channels, 0); len(got) != 1 || got[0] != "1260.00" {
			t.Errorf("channels chart %v, want campus card 1260.00", got)
		}
		depts := stChart(t, fin, "departments")
		if got := stSeries(t, depts, 0); len(got) != 2 || got[0] != "1200.00" || got[1] != "60.00" {
			t.Errorf("departments chart %v, want 1200.00 and 60.00", got)
		}
		if out := stSeries(t, stChart(t, fin, "outstanding"), 0); len(out) == 0 {
			t.Errorf("outstanding chart empty")
		}
		if prog := stChart(t, fin, "progress"); len(prog["series"].([]any)) != 2 {
			t.Errorf("progress chart has %d series, want due and paid", len(prog["series"].([]any)))
		}

		// 教务处 sees its own ¥60.00 only.
		jwc := stBrowser(t, p, "dept_jwc", "dept123456")
		_, body = jwc.Get("/console")
		if !strings.Contains(body, "<h1>部门看板</h1>") || !strings.Contains(body, "教务处") || !strings.Contains(body, "¥60.00") || strings.Contains(body, "¥1,260.00") {
			t.Errorf("dept_jwc dashboard should show 教务处's ¥60.00 only")
		}
		if got := stSeries(t, stChart(t, jwc, "trend"), 0); got[29] != "60.00" {
			t.Errorf("dept_jwc trend today %s, want 60.00", got[29])
		}
		if got := stSeries(t, stChart(t, jwc, "departments"), 0); len(got) != 1 || got[0] != "60.00" {
			t.Errorf("dept_jwc departments chart %v, want only its own 60.00", got)
		}
		scope, _ := p.Reports.Overview(ctx, &[]int64{mustID(t, stDeptID(t, p, "JWC"))}[0])
		if scope.Today.CollectedFen != 6000 {
			t.Errorf("JWC today %d, want 6000", scope.Today.CollectedFen)
		}

		lead := stBrowser(t, p, "leader", "leader123456")
		if _, body := lead.Get("/console"); !strings.Contains(body, "<h1>领导看板</h1>") || !strings.Contains(body, "¥1,260.00") {
			t.Errorf("leader dashboard should be 领导看板 with the whole school's ¥1,260.00")
		}

		// With the daily snapshot written, the figures stay the same.
		if _, err := p.Reports.RefreshStats(ctx, 40); err != nil {
			t.Fatal(err)
		}
		if got := stSeries(t, stChart(t, fin, "trend"), 0); strings.Join(got, ",") != strings.Join(values, ",") {
			t.Errorf("trend after snapshot %v, before %v", got, values)
		}
	})
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The dashboards are live: the page asks for its figures every 5 seconds, and the figures
// a poll brings include a payment made since the page was opened — for finance and for
// leadership alike, with no one reloading.
func TestDashboardFiguresArePolled(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		for _, who := range [][2]string{{"finance", "finance123456"}, {"leader", "leader123456"}} {
			b := stBrowser(t, p, who[0], who[1])
			_, page := b.Get("/console")
			if !strings.Contains(page, `hx-get="/console/dashboard/stats" hx-trigger="every 5s"`) {
				t.Fatalf("%s's dashboard does not poll its figures", who[0])
			}
			code, before, _ := b.Do("GET", "/console/dashboard/stats", nil, true)
			if code != http.StatusOK || strings.Contains(before, "<html") || !strings.Contains(before, `id="dashboard-live"`) {
				t.Fatalf("%s's poll: status %d, want the fragment alone\n%.500s", who[0], code, before)
			}
		}
		// A payment shows at once, before the fold job (not running here) folds its deltas:
		// in both dashboards' next poll (collected today, still owed), in the item-progress
		// chart and on the item's progress page (paid, and today's row of its days).
		ctx := context.Background()
		fin := stBrowser(t, p, "finance", "finance123456")
		lead := stBrowser(t, p, "leader", "leader123456")
		_, before, _ := fin.Do("GET", "/console/dashboard/stats", nil, true)
		o, _ := p.Reports.Overview(ctx, nil)
		var dorm int64
		if err := p.DB.NewSelect().Table("charge_items").Column("id").Where("code = ?", "DORM-2026").Scan(ctx, &dorm); err != nil {
			t.Fatal(err)
		}
		prog, _ := p.Reports.ItemProgress(ctx, dorm)
		chartPaid := func() float64 {
			opt := stChart(t, fin, "progress")
			for _, axis := range []string{"yAxis", "xAxis"} {
				for _, a := range opt[axis].([]any) {
					names, _ := a.(map[string]any)["data"].([]any)
					for i, n := range names {
						if n == "2026-2027学年住宿费" {
							v, err := strconv.ParseFloat(strings.Trim(stSeries(t, opt, 1)[i], `"`), 64)
							if err != nil {
								t.Fatal(err)
							}
							return v
						}
					}
				}
			}
			t.Fatalf("the progress chart has no 2026-2027学年住宿费: %v", opt)
			return 0
		}
		chartBefore := chartPaid()
		stPay(t, p, "2026000004", "DORM-2026") // ¥1,200.00
		if n, _ := p.DB.NewSelect().Table("item_deltas").Count(ctx); n == 0 {
			t.Fatal("the payment left no item delta: the figures below would not test the unfolded tail")
		}
		want := money.Format(o.Today.CollectedFen + 120000)
		owed := money.Format(o.OutstandingFen - 120000)
		for _, b := range []*servertest.Browser{fin, lead} {
			_, after, _ := b.Do("GET", "/console/dashboard/stats", nil, true)
			if !strings.Contains(after, want) || !strings.Contains(after, owed) {
				t.Errorf("the poll after a ¥1,200.00 payment: want %s collected today and %s owed\n%s", want, owed, after)
			}
		}
		if strings.Contains(before, want) {
			t.Errorf("today's figure %s was there before the payment", want)
		}
		if got := chartPaid(); got != chartBefore+1200 {
			t.Errorf("the progress chart's 2026-2027学年住宿费 paid %v after a ¥1,200.00 payment, want %v", got, chartBefore+1200)
		}
		_, page := fin.Get("/console/items/" + strconv.FormatInt(dorm, 10) + "/progress")
		today := p.Reports.Today().Format("2006-01-02")
		if !strings.Contains(page, money.Format(prog.PaidFen+120000)) || !strings.Contains(page, "<tr><td>"+today+"</td>") {
			t.Errorf("the item's progress page after a ¥1,200.00 payment: want %s paid and a row for %s", money.Format(prog.PaidFen+120000), today)
		}
	})
}
