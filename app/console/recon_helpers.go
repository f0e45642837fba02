package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
	"campuspay/store"
)

// reconDay reads ?day= (default: yesterday, the last closed business day).
func (h *Handler) reconDay(c *fiber.Ctx, key string) (time.Time, error) {
	if v := c.Query(key, c.FormValue(key)); v != "" {
		return recon.ParseDay(v)
	}
	return h.Recon.Today().AddDate(0, 0, -1), nil
}

// discrepancyRow is a discrepancy as the pages show it.
type discrepancyRow struct{ *store.Discrepancy }

func discrepancyRows(ds []*store.Discrepancy) []discrepancyRow {
	out := make([]discrepancyRow, len(ds))
	for i, d := range ds {
		out[i] = discrepancyRow{d}
	}
	return out
}

func (d discrepancyRow) TypeLabel() string   { return recon.TypeLabel(d.Type) }
func (d discrepancyRow) StatusLabel() string { return recon.StatusLabel(d.Status) }
func (d discrepancyRow) SourceLabel() string { return recon.SourceLabel(d.Source) }
func (d discrepancyRow) DayText() string     { return d.Day.Format("2006-01-02") }

// Badge is the badge class of the status (open discrepancies read as "待支付"-blue).
func (d discrepancyRow) Badge() string {
	if d.Status == recon.DiscCleared {
		return "closed"
	}
	return d.Status
}

// OtherSide names the amount column that is not the platform's.
func (d discrepancyRow) OtherSide() string {
	switch d.Type {
	case store.DiscBankUnexplained:
		return "银行"
	case store.DiscSettlementUnmatched:
		return "渠道结算"
	}
	return "渠道"
}

// statementRow is a statement version as the pages show it.
type statementRow struct{ *store.Statement }

func statementRows(ss []*store.Statement) []statementRow {
	out := make([]statementRow, len(ss))
	for i, s := range ss {
		out[i] = statementRow{s}
	}
	return out
}

func (s statementRow) SourceLabel() string { return recon.SourceLabel(s.Source) }
func (s statementRow) DayText() string     { return s.Day.Format("2006-01-02") }
func (s statementRow) IsBank() bool        { return len(s.Source) > 5 && s.Source[:5] == "bank:" }
func (s statementRow) OriginLabel() string {
	if s.Origin == recon.OriginUpload {
		return "上传"
	}
	return "接口获取"
}

// runRow is a reconciliation run as the pages show it.
type runRow struct{ *store.ReconRun }

func runRows(rs []*store.ReconRun) []runRow {
	out := make([]runRow, len(rs))
	for i, r := range rs {
		out[i] = runRow{r}
	}
	return out
}

func (r runRow) SourceLabel() string { return recon.SourceLabel(r.Source) }
func (r runRow) DayText() string     { return r.Day.Format("2006-01-02") }
func (r runRow) KindLabel() string {
	if r.Kind == recon.RunBank {
		return "银行对账"
	}
	return "渠道对账"
}

// Badge and StatusLabel show a run's state.
func (r runRow) Badge() string {
	switch r.Status {
	case recon.RunDone:
		if r.DiscrepancyCount > 0 {
			return "partial"
		}
		return "succeeded"
	case recon.RunFailed:
		return "failed"
	}
	return "processing"
}

func (r runRow) StatusLabel() string {
	switch r.Status {
	case recon.RunDone:
		if r.DiscrepancyCount > 0 {
			return "有差异"
		}
		return "已对平"
	case recon.RunFailed:
		return "失败"
	}
	return "进行中"
}

// sourceOptions are the filter choices of statement sources.
func sourceOptions(sources []string) []option {
	out := make([]option, len(sources))
	for i, s := range sources {
		out[i] = option{s, recon.SourceLabel(s)}
	}
	return out
}
