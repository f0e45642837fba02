package bank

import (
	"bytes"
	"campuspay/app/sign"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// entry is one line of the account's statement.
type entry struct {
	serial       string
	at           time.Time
	credit       bool
	amountFen    int64
	counterparty string
	reference    string
}

// statement answers GET /api/statements/{YYYY-MM-DD}; the format is in doc.go.
func (s *Sim) statement(c *fiber.Ctx) error {
	day, err := time.ParseInLocation(time.DateOnly, c.Params("day"), shanghai)
	if err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"code": "INVALID_DATE", "message": "日期须为 YYYY-MM-DD"})
	}
	if s.now().Before(day.AddDate(0, 0, 1)) {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"code": "STATEMENT_NOT_READY", "message": "该日流水尚未生成，请在次日获取"})
	}
	entries, err := s.entries(c.UserContext(), day)
	if err != nil {
		slog.Error("bank sim: statement", "day", c.Params("day"), "err", err)
		return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"code": "SYSTEM_ERROR", "message": "系统繁忙"})
	}
	body, err := writeStatement(entries)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	c.Set(HeaderTimestamp, ts)
	c.Set(HeaderSignature, sign.HMAC(s.Key, ts+"\n"+bodyHash(body)))
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	return c.Send(body)
}

// entries are the account's movements on a business day: the settlements that reach it
// (yesterday's, and the day before's when delayed) and the day's unrelated items.
func (s *Sim) entries(ctx context.Context, day time.Time) ([]entry, error) {
	out := unrelated(day)
	channels := []struct {
		name, counterparty, marker string
		minute                     int
		net                        func(context.Context, time.Time) (int64, error)
	}{
		{"sandbox", "沙箱支付科技有限公司", "SANDBOX", 0, s.sandboxNet},
		{"campuscard", "校园一卡通管理中心", "CAMPUSCARD", 5, s.cardNet},
	}
	seq := 0
	for _, back := range []int{2, 1} {
		settled := day.AddDate(0, 0, -back)
		for _, ch := range channels {
			action := s.switchOf(ch.name, settled)
			if action == Drop || (back == 1 && action == Delay) || (back == 2 && action != Delay) {
				continue
			}
			net, err := ch.net(ctx, settled)
			if err != nil {
				return nil, err
			}
			if net == 0 {
				continue
			}
			seq++
			e := entry{serial: fmt.Sprintf("B%sS%02d", day.Format("20060102"), seq),
				at: day.Add(10*time.Hour + time.Duration(ch.minute)*time.Minute), credit: net > 0, amountFen: net,
				counterparty: ch.counterparty, reference: ch.marker + " SETTLE " + settled.Format(time.DateOnly)}
			if net < 0 {
				e.amountFen, e.reference = -net, e.reference+" 退款轧差扣款"
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.serial, b.serial)) })
	return out, nil
}

// sandboxNet is the sandbox merchant's settlement of a day: payments less their 0.6% fees
// less refunds, as the sandbox's statement of that day adds them up.
func (s *Sim) sandboxNet(ctx context.Context, day time.Time) (int64, error) {
	start, end := day.UTC(), day.AddDate(0, 0, 1).UTC()
	rows, err := s.DB.QueryContext(ctx, `SELECT amount_fen FROM sim_sandbox_trades
		WHERE merchant = ? AND status = 'SUCCESS' AND paid_at >= ? AND paid_at < ?`, s.SandboxMerchant, start, end)
	if err != nil {
		return 0, fmt.Errorf("bank sim: sandbox trades: %w", err)
	}
	defer rows.Close()
	var net int64
	for rows.Next() {
		var amount int64
		if err := rows.Scan(&amount); err != nil {
			return 0, err
		}
		net += amount - (amount*6+500)/1000
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var refunds int64
	err = s.DB.NewRaw(`SELECT COALESCE(SUM(r.amount_fen), 0) FROM sim_sandbox_refunds AS r
		JOIN sim_sandbox_trades AS t ON t.trade_no = r.trade_no
		WHERE t.merchant = ? AND r.status = 'SUCCESS' AND r.created_at >= ? AND r.created_at < ?`,
		s.SandboxMerchant, start, end).Scan(ctx, &refunds)
	if err != nil {
		return 0, fmt.Errorf("bank sim: sandbox refunds: %w", err)
	}
	return net - refunds, nil
}

// cardNet is the campus card system's settlement of a day: debits less refunds.
func (s *Sim) cardNet(ctx context.Context, day time.Time) (int64, error) {
	var net int64
	err := s.DB.NewRaw(`SELECT COALESCE(SUM(CASE WHEN kind = 'debit' THEN amount_fen ELSE -amount_fen END), 0)
		FROM sim_card_txns WHERE created_at >= ? AND created_at < ?`, day.UTC(), day.AddDate(0, 0, 1).UTC()).Scan(ctx, &net)
	if err != nil {
		return 0, fmt.Errorf("bank sim: card txns: %w", err)
	}
	return net, nil
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	fuelers  = []string{"国网某某供电公司", "某某市自来水公司", "某某燃气有限公司"}
)

// unrelated are the day's movements that have nothing to do with the payment channels,
// the same every time for the same day.
func unrelated(day time.Time) []entry {
	h := fnv.New64a()
	h.Write([]byte(day.Format(time.DateOnly)))
	n := h.Sum64()
	d := day.Format("20060102")
	out := []entry{{
		serial: "B" + d + "C01", at: day.Add(9*time.Hour + 15*time.Minute), credit: true,
		amountFen:    500_000 + int64(n%50)*10_000,
		counterparty: surnames[n/50%uint64(len(surnames))] + "**",
		reference:    fmt.Sprintf("学费 2026%06d 家长汇款", n/500%100+1),
	}}
	if n%3 == 0 {
		out = append(out, entry{serial: "B" + d + "D01", at: day.Add(14 * time.Hour), credit: false,
			amountFen: 1_000_000 + int64(n/7%500_000), counterparty: fuelers[n/11%uint64(len(fuelers))],
			reference: "公用事业费 " + day.Format("2006-01")})
	}
	if day.Day() == 21 && day.Month()%3 == 0 {
		out = append(out, entry{serial: "B" + d + "C02", at: day.Add(16 * time.Hour), credit: true,
			amountFen: 3_000_000 + int64(n%1_000_000), counterparty: "本行", reference: "结息"})
	}
	return out
}

func writeStatement(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"serial", "time", "direction", "amount_fen", "counterparty", "reference"})
	var credits, debits int
	var creditFen, debitFen int64
	for _, e := range entries {
		dir := "D"
		if e.credit {
			dir = "C"
			credits++
			creditFen += e.amountFen
		} else {
			debits++
			debitFen += e.amountFen
		}
		w.Write([]string{e.serial, e.at.In(shanghai).Format(time.RFC3339), dir, strconv.FormatInt(e.amountFen, 10), e.counterparty, e.reference})
	}
	w.Write([]string{"SUMMARY", strconv.Itoa(credits), strconv.FormatInt(creditFen, 10), strconv.Itoa(debits), strconv.FormatInt(debitFen, 10)})
	w.Flush()
	return buf.Bytes(), w.Error()
}
