package recon

import (
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/catalog"
	"campuspay/app/money"
)

// VoucherSheetHeader is the header of the voucher lines sheet, the columns accounting
// systems' voucher import (用友、金蝶 and the like) maps: one row per entry line.
var VoucherSheetHeader = []string{"日期", "凭证字", "凭证号", "摘要", "科目编码", "科目名称", "借方金额", "贷方金额", "部门", "项目"}

// VoucherSummaryHeader is the header of the summary sheet.
var VoucherSummaryHeader = []string{"日期", "部门", "项目编码", "项目名称", "收费类别", "渠道", "笔数", "收款金额", "退款金额", "手续费", "溢缴款", "溢缴退还", "净额"}

// WriteVoucherXLSX writes the report as a workbook: sheet 凭证 (every voucher line, debits
// and credits in yuan with two decimals, as text so that no float ever carries money) and
// sheet 汇总 (the rows by day, department, item and channel; each channel's fees and
// overpayments on a line of their own; and the totals, which equal the page's).
func WriteVoucherXLSX(w io.Writer, rep *VoucherReport) error {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "凭证")
	if _, err := f.NewSheet("汇总"); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEF2F8"}}})
	if err != nil {
		return err
	}
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	yuan := func(fen int64) string {
		if fen == 0 {
			return ""
		}
		return money.Plain(fen)
	}

	lines := make([][]any, 0, len(rep.Lines))
	var debit, credit int64
	for _, l := range rep.Lines {
		lines = append(lines, []any{day(l.Day), l.Word, l.No, l.Summary, l.AccountCode, l.AccountName, yuan(l.DebitFen), yuan(l.CreditFen), l.Department, l.Item})
		debit += l.DebitFen
		credit += l.CreditFen
	}
	lines = append(lines, []any{"", "", "", "合计", "", "", money.Plain(debit), money.Plain(credit), "", ""})
	if err := writeVoucherSheet(f, "凭证", bold, VoucherSheetHeader, lines); err != nil {
		return err
	}

	summary := make([][]any, 0, len(rep.Rows)+len(rep.Channels)+1)
	for _, r := range rep.Rows {
		summary = append(summary, []any{day(r.Day), r.Department, r.ItemCode, r.ItemName, catalog.CategoryLabel(r.Category), billing.ChannelLabel(r.Channel),
			r.Count, money.Plain(r.CollectedFen), money.Plain(r.RefundedFen), money.Plain(0), money.Plain(0), money.Plain(0), money.Plain(r.NetFen())})
	}
	for _, c := range rep.Channels {
		if c.FeeFen == 0 && c.OverpaidFen == 0 && c.OverpaidRefundedFen == 0 {
			continue
		}
		name := "渠道手续费及溢缴款"
		if c.NeedsStatement() && !c.Statement {
			name += "（尚无对账单，手续费按 0 计）"
		}
		summary = append(summary, []any{day(c.Day), "", "", name, "", billing.ChannelLabel(c.Channel),
			0, money.Plain(0), money.Plain(0), money.Plain(c.FeeFen), money.Plain(c.OverpaidFen), money.Plain(c.OverpaidRefundedFen), money.Plain(-c.FeeFen)})
	}
	t := rep.Total
	summary = append(summary, []any{"合计", "", "", "", "", "", t.Count, money.Plain(t.CollectedFen), money.Plain(t.RefundedFen),
		money.Plain(t.FeeFen), money.Plain(t.OverpaidFen), money.Plain(t.OverpaidRefundedFen), money.Plain(t.NetFen())})
	if err := writeVoucherSheet(f, "汇总", bold, VoucherSummaryHeader, summary); err != nil {
		return err
	}
	return f.Write(w)
}

// writeVoucherSheet writes a header row (bold, frozen) and rows to one sheet through excelize's
// stream writer.
func writeVoucherSheet(f *excelize.File, name string, bold int, header []string, rows [][]any) error {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = excelize.Cell{StyleID: bold, Value: h}
		if err := sw.SetColWidth(i+1, i+1, float64(max(10, utf8.RuneCountInString(h)*2+4))); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}
