package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"campuspay/app/money"
	"campuspay/app/reports"
)

// dashChart is one chart as the fragment shows it: the options as JSON, or why it is empty.
type dashChart struct {
	Name    string
	Label   string // what the chart shows, for screen readers
	Options string // ECharts options (JSON); the template escapes it into an attribute
	Empty   string // shown instead of the chart when there is nothing to draw
}

type chartBuilder func(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error)

var chartBuilders = map[string]chartBuilder{
	"trend":       trendChart,
	"departments": departmentsChart,
	"channels":    channelsChart,
	"outstanding": outstandingChart,
	"progress":    progressChart,
}

// chartYuan is an amount as the charts carry it: yuan with two decimals as text, worked
// out from fen with integer arithmetic (money.Plain). ECharts reads the text as a number
// only to place it on the axis; no sum is ever made of it.
func chartYuan(fen int64) string { return money.Plain(fen) }

// palette follows app.css: primary blue, paid green, owed red, then quieter tones.
var palette = opts.Colors{"#1f5fbf", "#1e8e4e", "#c8302c", "#a86200", "#6f42c1", "#0f8b8d", "#8a96a8", "#d4589b"}

func globals(extra ...charts.GlobalOpts) []charts.GlobalOpts {
	return append([]charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{AssetsHost: "/static/js/"}),
		charts.WithColorsOpts(palette),
		charts.WithAnimation(false),
		charts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "3%", Right: "4%", Top: "40", Bottom: "3%", ContainLabel: opts.Bool(true)}),
	}, extra...)
}

// finish turns a go-echarts chart into the fragment's JSON. fit, when set, adjusts the
// options as JSON where go-echarts has no field for what ECharts needs (see fitBarLabels).
func finish(name, label string, c interface {
	Validate()
	JSON() map[string]interface{}
}, fit ...func(map[string]any)) (*dashChart, error) {
	c.Validate()
	b, err := json.Marshal(c.JSON())
	if err == nil && len(fit) > 0 {
		var m map[string]any
		if err = json.Unmarshal(b, &m); err == nil {
			for _, f := range fit {
				f(m)
			}
			b, err = json.Marshal(m)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("console: chart %s: %w", name, err)
	}
	return &dashChart{Name: name, Label: label, Options: string(b)}, nil
}

// fitBarLabels keeps every label of a horizontal bar chart readable: each category (a
// department, an item) is named, wrapped over two lines rather than hidden when names
// crowd (ECharts drops overlapping labels unless the interval is the number 0, which
// go-echarts cannot write), and the value axis's last figure is drawn inside the chart
// instead of centred on the right edge, where it was cut off.
func fitBarLabels(m map[string]any) {
	axisLabel := func(key string) map[string]any {
		axes, _ := m[key].([]any)
		if len(axes) == 0 {
			return nil
		}
		axis, _ := axes[0].(map[string]any)
		if axis == nil {
			return nil
		}
		l, _ := axis["axisLabel"].(map[string]any)
		if l == nil {
			l = map[string]any{}
			axis["axisLabel"] = l
		}
		return l
	}
	if l := axisLabel("yAxis"); l != nil {
		l["interval"], l["width"], l["overflow"] = 0, 130, "break"
	}
	if l := axisLabel("xAxis"); l != nil {
		l["alignMaxLabel"] = "right"
	}
}

// fitPieLabels wraps a sector's label (a channel's name over its amount) onto more lines
// where ECharts would cut it short with an ellipsis, or past the chart's edge.
func fitPieLabels(m map[string]any) {
	series, _ := m["series"].([]any)
	for _, s := range series {
		if s, ok := s.(map[string]any); ok {
			l, _ := s["label"].(map[string]any)
			if l == nil {
				l = map[string]any{}
				s["label"] = l
			}
			// Wrapped within the room left between the label line and the chart's edge.
			l["alignTo"], l["edgeDistance"], l["overflow"] = "labelLine", 8, "break"
		}
	}
}

// moneyTip is a bar's tooltip: its name and amount, the amount written as everywhere else
// (money.Format), never as ECharts prints a bare number.
func moneyTip(name, what string, fen int64) *opts.Tooltip {
	return &opts.Tooltip{Formatter: types.FuncStr(tipText(name) + "<br/>" + what + " " + money.Format(fen))}
}

// tipText makes a name safe inside an ECharts template string and its HTML tooltip.
func tipText(s string) string {
	return strings.NewReplacer("{", "（", "}", "）", "<", "‹", ">", "›", "&", "＆").Replace(s)
}

func trendChart(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error) {
	days, err := b.DailyCollected(ctx, scope, 30)
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(days))
	values := make([]opts.LineData, len(days))
	counts := make([]opts.LineData, len(days))
	for i, d := range days {
		labels[i] = d.Day.Format("01-02")
		values[i] = opts.LineData{Value: chartYuan(d.CollectedFen), Name: d.Day.Format("2006-01-02")}
		counts[i] = opts.LineData{Value: d.Count}
	}
	line := charts.NewLine()
	line.SetGlobalOptions(globals(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithYAxisOpts(opts.YAxis{Name: "元"}),
	)...)
	line.SetXAxis(labels).
		AddSeries("收款（元）", values, charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.12)})).
		AddSeries("笔数", counts, charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1}))
	line.ExtendYAxis(opts.YAxis{Name: "笔", MinInterval: 1, SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	return finish("trend", "近 30 天每日收款金额与笔数", line)
}

func departmentsChart(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error) {
	today := b.Today()
	shares, err := b.CollectedByDepartment(ctx, scope, reports.TermOf(today).First, today)
	if err != nil {
		return nil, err
	}
	if len(shares) == 0 {
		return &dashChart{Name: "departments", Empty: "本学期尚无收款"}, nil
	}
	// Horizontal bars, largest at the top (the y axis inverted keeps the data in the
	// order the figures come in): a department's name reads in full however many there are.
	names := make([]string, len(shares))
	values := make([]opts.BarData, len(shares))
	for i, s := range shares {
		names[i] = s.Name
		values[i] = opts.BarData{Value: chartYuan(s.CollectedFen), Tooltip: moneyTip(s.Name, "收款", s.CollectedFen)}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(globals(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{SplitNumber: 3}), // in 元, as the series and the page's note say
		charts.WithYAxisOpts(opts.YAxis{Inverse: opts.Bool(true)}),
	)...)
	bar.SetXAxis(names).AddSeries("收款（元）", values, charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "40%"}))
	bar.XYReversal()
	return finish("departments", "本学期各部门收款金额", bar, fitBarLabels)
}

func channelsChart(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error) {
	today := b.Today()
	shares, err := b.CollectedByChannel(ctx, scope, reports.TermOf(today).First, today)
	if err != nil {
		return nil, err
	}
	if len(shares) == 0 {
		return &dashChart{Name: "channels", Empty: "本学期尚无收款"}, nil
	}
	data := make([]opts.PieData, len(shares))
	for i, s := range shares {
		// Each sector's label and tooltip carry the amount as money.Format writes it: an
		// ECharts template ({c}) would print the bare number, without thousands separators.
		data[i] = opts.PieData{Name: s.Name, Value: chartYuan(s.CollectedFen),
			Label:   &opts.Label{Show: opts.Bool(true), Formatter: tipText(s.Name) + "\n" + money.Format(s.CollectedFen)},
			Tooltip: &opts.Tooltip{Formatter: types.FuncStr(tipText(s.Name) + "<br/>" + money.Format(s.CollectedFen) + "（{d}%）")}}
	}
	pie := charts.NewPie()
	pie.SetGlobalOptions(globals(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
	)...)
	pie.AddSeries("收款（元）", data,
		charts.WithPieChartOpts(opts.PieChart{Radius: []string{"40%", "68%"}, Center: []string{"50%", "56%"}}),
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true)}))
	return finish("channels", "本学期各支付方式收款金额", pie, fitPieLabels)
}

func outstandingChart(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error) {
	items, err := b.TopOutstandingItems(ctx, scope, 10)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return &dashChart{Name: "outstanding", Empty: "没有待缴款项"}, nil
	}
	// A horizontal bar lists the largest at the top: ECharts draws categories bottom up.
	names := make([]string, len(items))
	values := make([]opts.BarData, len(items))
	for i, it := range items {
		j := len(items) - 1 - i
		names[j] = it.Name
		values[j] = opts.BarData{Value: chartYuan(it.OutstandingFen), Tooltip: moneyTip(it.Name, "待缴", it.OutstandingFen)}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(globals(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{SplitNumber: 3}),
	)...)
	bar.SetXAxis(names).AddSeries("待缴（元）", values, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#c8302c"}),
		charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "35%"}))
	bar.XYReversal()
	return finish("outstanding", "待缴金额最多的 10 个收费项目", bar, fitBarLabels)
}

func progressChart(ctx context.Context, b *reports.Service, scope *int64) (*dashChart, error) {
	items, err := b.CollectionByItem(ctx, scope, 8)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return &dashChart{Name: "progress", Empty: "没有进行中的收费项目"}, nil
	}
	names := make([]string, len(items))
	due := make([]opts.BarData, len(items))
	paid := make([]opts.BarData, len(items))
	for i, it := range items {
		j := len(items) - 1 - i
		names[j] = it.Name
		due[j] = opts.BarData{Value: chartYuan(it.DueFen), Tooltip: moneyTip(it.Name, "应收", it.DueFen)}
		paid[j] = opts.BarData{Value: chartYuan(it.PaidFen), Tooltip: moneyTip(it.Name, "已收", it.PaidFen)}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(globals(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithXAxisOpts(opts.XAxis{SplitNumber: 3}),
	)...)
	bar.SetXAxis(names).
		AddSeries("应收（元）", due, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#8fb3ea"})).
		AddSeries("已收（元）", paid, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#1e8e4e"}))
	bar.XYReversal()
	return finish("progress", "各收费项目应收与已收金额", bar, fitBarLabels)
}
