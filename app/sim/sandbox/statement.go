package sandbox

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

// feeFen is the gateway's fee on a payment: 0.6%, rounded half up to the fen.
func feeFen(amountFen int64) int64 { return (amountFen*6 + 500) / 1000 }

type statementLine struct {
	kind       string // PAY | REFUND
	tradeNo    string
	outTradeNo string
	refundNo   string
	amountFen  int64
	feeFen     int64
	at         time.Time
}

type refundRow struct {
	RefundNo   string    `bun:"refund_no"`
	AmountFen  int64     `bun:"amount_fen"`
	CreatedAt  time.Time `bun:"created_at"`
	TradeNo    string    `bun:"trade_no"`
	OutTradeNo string    `bun:"out_trade_no"`
}

// statement handles GET /api/statements/{YYYY-MM-DD}; the format is in the package comment.
func (s *Sim) statement(c *fiber.Ctx) error {
	start, err := time.ParseInLocation(time.DateOnly, c.Params("day"), shanghai)
	if err != nil {
		return s.replyError(c, fiber.StatusBadRequest, "INVALID_PARAM", "日期须为 YYYY-MM-DD")
	}
	end := start.AddDate(0, 0, 1)
	if s.now().Before(end) {
		return s.replyError(c, fiber.StatusNotFound, "STATEMENT_NOT_READY", "该日对账单尚未生成，请在次日获取")
	}
	ctx := c.UserContext()
	merchant := merchantOf(c)
	var trades []store.SandboxTrade
	err = s.DB.NewSelect().Model(&trades).
		Where("merchant = ?", merchant).Where("status = ?", StatusSuccess).
		Where("paid_at >= ?", store.UTC(start)).Where("paid_at < ?", store.UTC(end)).
		Scan(ctx)
	if err != nil {
		return s.internal(c, err)
	}
	var refunds []refundRow
	err = s.DB.NewRaw(`SELECT r.refund_no, r.amount_fen, r.created_at, t.trade_no, t.out_trade_no
		FROM sim_sandbox_refunds AS r JOIN sim_sandbox_trades AS t ON t.trade_no = r.trade_no
		WHERE t.merchant = ? AND r.status = ? AND r.created_at >= ? AND r.created_at < ?`,
		merchant, refundSuccess, store.UTC(start), store.UTC(end)).
		Scan(ctx, &refunds)
	if err != nil {
		return s.internal(c, err)
	}
	lines := make([]statementLine, 0, len(trades)+len(refunds))
	for _, t := range trades {
		lines = append(lines, statementLine{kind: "PAY", tradeNo: t.TradeNo, outTradeNo: t.OutTradeNo,
			amountFen: t.AmountFen, feeFen: feeFen(t.AmountFen), at: *t.PaidAt})
	}
	for _, r := range refunds {
		lines = append(lines, statementLine{kind: "REFUND", tradeNo: r.TradeNo, outTradeNo: r.OutTradeNo,
			refundNo: r.RefundNo, amountFen: r.AmountFen, at: r.CreatedAt})
	}
	body, err := writeStatement(lines)
	if err != nil {
		return s.internal(c, err)
	}
	return s.replyBody(c, fiber.StatusOK, "text/csv; charset=utf-8", body)
}

// writeStatement sorts the lines by time and writes the CSV with its summary line.
func writeStatement(lines []statementLine) ([]byte, error) {
	slices.SortFunc(lines, func(a, b statementLine) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.kind, b.kind),
			cmp.Compare(a.tradeNo, b.tradeNo), cmp.Compare(a.refundNo, b.refundNo))
	})
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"type", "trade_no", "out_trade_no", "refund_no", "amount_fen", "fee_fen", "time"})
	var gross, fees, refunds int64
	for _, l := range lines {
		if l.kind == "PAY" {
			gross += l.amountFen
			fees += l.feeFen
		} else {
			refunds += l.amountFen
		}
		w.Write([]string{l.kind, l.tradeNo, l.outTradeNo, l.refundNo,
			strconv.FormatInt(l.amountFen, 10), strconv.FormatInt(l.feeFen, 10), formatTime(l.at)})
	}
	w.Write([]string{"SUMMARY", strconv.Itoa(len(lines)), strconv.FormatInt(gross, 10),
		strconv.FormatInt(fees, 10), strconv.FormatInt(refunds, 10), strconv.FormatInt(gross-fees-refunds, 10)})
	w.Flush()
	return buf.Bytes(), w.Error()
}
