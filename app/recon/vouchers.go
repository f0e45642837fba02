package recon

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/settings"
	"campuspay/store"
)

// Accounting vouchers (财务凭证处理): per business day (Asia/Shanghai), what came in and
// went out, by department, item and channel, and the voucher lines an accounting system
// imports.
//
//   - Collected (收款): what payments paid that day (payments.paid_at) credited to bills —
//     payments.credited_fen split by order line, as the dashboards and the payment search
//     count it. Money no bill took is an overpayment (溢缴款), kept apart.
//   - Refunded (退款): bill refunds that succeeded that day (refunds.finished_at). Refunds of
//     overpayments are kept apart with the overpayments.
//   - Fees (手续费): the channel's statement of that day (statements.fee_fen of the latest
//     version not superseded); 0 while no statement is stored, and the report says so.
//     Fees are the channel's, not an item's: they are shown and booked per channel.
//   - Net (净额): collected − refunded (per department and item), − fees (per channel).
//
// Vouchers, per day and channel (numbered from 1 each day):
//
//   - 收款: debit the channel's clearing account with everything it took; credit each item's
//     income account (by its category, with department and item) with what it collected, and
//     the overpayment account with what no bill took;
//   - 退款: the other way round, for bill refunds and overpayment refunds;
//   - 手续费: debit the fee expense account, credit the clearing account.
//
// Debits equal credits in every voucher by construction, and every figure is a sum of rows.

// VoucherMaxDays is the longest range one report covers.
const VoucherMaxDays = 31

// VoucherRow is what one department's item took and gave back through one channel on one
// business day.
type VoucherRow struct {
	Day          time.Time
	DepartmentID int64
	Department   string
	ItemID       int64
	ItemCode     string
	ItemName     string
	Category     string
	Channel      string
	Count        int64 // bill lines credited
	CollectedFen int64
	RefundCount  int64
	RefundedFen  int64
}

// NetFen is collected less refunded.
func (r VoucherRow) NetFen() int64 { return r.CollectedFen - r.RefundedFen }

// VoucherChannel is one channel's day: its rows added up, the overpayments, the fees.
type VoucherChannel struct {
	Day                 time.Time
	Channel             string
	Count               int64
	CollectedFen        int64
	RefundedFen         int64
	FeeFen              int64
	OverpaidFen         int64 // money no bill took that day
	OverpaidRefundedFen int64 // overpayments refunded that day
	Statement           bool  // the channel's statement of the day is stored
	StatementVersion    int
}

// NetFen is collected less refunded less fees.
func (c VoucherChannel) NetFen() int64 { return c.CollectedFen - c.RefundedFen - c.FeeFen }

// SettlementFen is what the channel owes the school for the day: the net and the
// overpayments kept, the clearing account's movement.
func (c VoucherChannel) SettlementFen() int64 {
	return c.NetFen() + c.OverpaidFen - c.OverpaidRefundedFen
}

// NeedsStatement reports whether the channel publishes statements (all but offline).
func (c VoucherChannel) NeedsStatement() bool { return c.Channel != billing.ChannelOffline }

// VoucherTotals adds up rows (and, for fees and overpayments, channels).
type VoucherTotals struct {
	Key                 string // department name or channel; "" for the grand total
	Count               int64
	CollectedFen        int64
	RefundedFen         int64
	FeeFen              int64
	OverpaidFen         int64
	OverpaidRefundedFen int64
}

// NetFen is collected less refunded less fees.
func (t VoucherTotals) NetFen() int64 { return t.CollectedFen - t.RefundedFen - t.FeeFen }

// VoucherLine is one line of a voucher, as the accounting system imports it.
type VoucherLine struct {
	Day         time.Time
	Word        string // 凭证字
	No          int    // 凭证号, from 1 each day
	Summary     string // 摘要
	AccountCode string
	AccountName string
	DebitFen    int64
	CreditFen   int64
	Department  string
	Item        string
}

// VoucherReport is the vouchers of business days [From, To].
type VoucherReport struct {
	From, To    time.Time
	Rows        []VoucherRow     // by day, department, item, channel
	Channels    []VoucherChannel // by day, channel
	Departments []VoucherTotals  // over the range
	ByChannel   []VoucherTotals  // over the range
	Total       VoucherTotals
	Lines       []VoucherLine
	Vouchers    int
	// Missing lists the channel days with money but no statement yet (fees counted 0),
	// e.g. "2026-11-27 校园卡".
	Missing []string
}

// Vouchers computes the report of business days from..to (both included, at most
// VoucherMaxDays).
func (s *Service) Vouchers(ctx context.Context, from, to time.Time) (*VoucherReport, error) {
	from, to = dayOnly(from), dayOnly(to)
	if to.Before(from) {
		return nil, &fault.Error{Kind: fault.ErrInvalid, Code: "range_invalid", Message: "结束日期不能早于开始日期"}
	}
	if to.Sub(from) >= VoucherMaxDays*24*time.Hour {
		return nil, &fault.Error{Kind: fault.ErrInvalid, Code: "range_too_long", Message: fmt.Sprintf("一次最多生成 %d 天的凭证", VoucherMaxDays)}
	}
	rep := &VoucherReport{From: from, To: to}
	db := s.Billing.DB
	start, end := bizday.DayStart(from), bizday.DayStart(to.AddDate(0, 0, 1))
	mysql := store.DialectOf(db) == store.MySQL

	rows := map[string]*VoucherRow{}
	var keys []string
	row := func(r voucherScan) *VoucherRow {
		k := r.Day + "\x00" + fmt.Sprint(r.ItemID) + "\x00" + r.Channel
		if rows[k] == nil {
			day, _ := time.Parse(time.DateOnly, r.Day)
			rows[k] = &VoucherRow{Day: day, DepartmentID: r.DepartmentID, Department: r.Department, ItemID: r.ItemID,
				ItemCode: r.ItemCode, ItemName: r.ItemName, Category: r.Category, Channel: r.Channel}
			keys = append(keys, k)
		}
		return rows[k]
	}

	// Collected: the payments of the days, by line (read from payments by time first).
	join := "JOIN"
	if mysql {
		join = "STRAIGHT_JOIN"
	}
	var collected []voucherScan
	err := db.NewSelect().TableExpr("payments AS p").
		Join(join+" order_lines AS ol ON ol.order_id = p.order_id").
		Join(join+" bills AS b ON b.id = ol.bill_id").
		Join(join+" charge_items AS ci ON ci.id = b.item_id").
		Join("JOIN departments AS d ON d.id = ci.department_id").
		Join("LEFT JOIN overpayments AS op ON op.payment_id = p.id AND op.bill_id = ol.bill_id").
		ColumnExpr(voucherDayOf(mysql, "p.paid_at")+" AS k").
		ColumnExpr("ci.department_id, d.name AS department, ci.id AS item_id, ci.code AS item_code, ci.name AS item_name, ci.category, p.channel").
		ColumnExpr("SUM(CASE WHEN "+lineCreditedSQL+" > 0 THEN 1 ELSE 0 END) AS n").
		ColumnExpr("COALESCE(SUM("+lineCreditedSQL+"), 0) AS fen").
		Where("p.paid_at >= ?", start).Where("p.paid_at < ?", end).
		GroupExpr("k, ci.department_id, d.name, ci.id, ci.code, ci.name, ci.category, p.channel").
		Scan(ctx, &collected)
	if err != nil {
		return nil, fmt.Errorf("recon: vouchers collected: %w", err)
	}
	for _, c := range collected {
		r := row(c)
		r.Count += c.N
		r.CollectedFen += c.Fen
	}

	// Refunded: bill refunds that succeeded on the days.
	var refunded []voucherScan
	err = db.NewSelect().TableExpr("refunds AS r").
		Join("JOIN bills AS b ON b.id = r.bill_id").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("JOIN departments AS d ON d.id = ci.department_id").
		ColumnExpr(voucherDayOf(mysql, "r.finished_at")+" AS k").
		ColumnExpr("ci.department_id, d.name AS department, ci.id AS item_id, ci.code AS item_code, ci.name AS item_name, ci.category, r.channel").
		ColumnExpr("COUNT(*) AS n, COALESCE(SUM(r.amount_fen), 0) AS fen").
		Where("r.status = ?", store.RefundSucceeded).Where("r.overpayment_id IS NULL").
		Where("r.finished_at >= ?", start).Where("r.finished_at < ?", end).
		GroupExpr("k, ci.department_id, d.name, ci.id, ci.code, ci.name, ci.category, r.channel").
		Scan(ctx, &refunded)
	if err != nil {
		return nil, fmt.Errorf("recon: vouchers refunded: %w", err)
	}
	for _, c := range refunded {
		r := row(c)
		r.RefundCount += c.N
		r.RefundedFen += c.Fen
	}
	for _, k := range keys {
		if r := rows[k]; r.CollectedFen != 0 || r.RefundedFen != 0 {
			rep.Rows = append(rep.Rows, *r)
		}
	}
	sort.SliceStable(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if !a.Day.Equal(b.Day) {
			return a.Day.Before(b.Day)
		}
		if a.Department != b.Department {
			return a.Department < b.Department
		}
		if a.ItemCode != b.ItemCode {
			return a.ItemCode < b.ItemCode
		}
		return channelRank(a.Channel) < channelRank(b.Channel)
	})

	if err := s.voucherChannels(ctx, rep, mysql, start, end); err != nil {
		return nil, err
	}
	rep.total()
	s.voucherLines(ctx, rep)
	return rep, nil
}

// voucherScan is one grouped row of the queries above.
type voucherScan struct {
	Day          string `bun:"k"`
	DepartmentID int64  `bun:"department_id"`
	Department   string `bun:"department"`
	ItemID       int64  `bun:"item_id"`
	ItemCode     string `bun:"item_code"`
	ItemName     string `bun:"item_name"`
	Category     string `bun:"category"`
	Channel      string `bun:"channel"`
	N            int64  `bun:"n"`
	Fen          int64  `bun:"fen"`
}

// lineCreditedSQL is what one order line of payment p credited to its bill: the line less
// what was flagged overpaid on that bill, nothing when the payment credited nothing (the
// same rule as billing's payment search and dashboards).
const lineCreditedSQL = "(CASE WHEN p.credited_fen = 0 THEN 0 ELSE ol.amount_fen - COALESCE(op.amount_fen, 0) END)"

// voucherChannels adds up the rows per day and channel, with the overpayments, their
// refunds and the statements' fees.
func (s *Service) voucherChannels(ctx context.Context, rep *VoucherReport, mysql bool, start, end time.Time) error {
	db := s.Billing.DB
	chans := map[string]*VoucherChannel{}
	ch := func(day time.Time, channel string) *VoucherChannel {
		k := day.Format(time.DateOnly) + "\x00" + channel
		if chans[k] == nil {
			chans[k] = &VoucherChannel{Day: day, Channel: channel}
		}
		return chans[k]
	}
	for _, r := range rep.Rows {
		c := ch(r.Day, r.Channel)
		c.Count += r.Count
		c.CollectedFen += r.CollectedFen
		c.RefundedFen += r.RefundedFen
	}
	var over []struct {
		Day     string `bun:"k"`
		Channel string `bun:"channel"`
		Fen     int64  `bun:"fen"`
	}
	err := db.NewSelect().TableExpr("payments AS p").ColumnExpr(voucherDayOf(mysql, "p.paid_at")+" AS k, p.channel").
		ColumnExpr("SUM(p.amount_fen - p.credited_fen) AS fen").
		Where("p.paid_at >= ?", start).Where("p.paid_at < ?", end).Where("p.amount_fen <> p.credited_fen").
		GroupExpr("k, p.channel").Scan(ctx, &over)
	if err != nil {
		return fmt.Errorf("recon: vouchers overpaid: %w", err)
	}
	for _, o := range over {
		day, _ := time.Parse(time.DateOnly, o.Day)
		ch(day, o.Channel).OverpaidFen += o.Fen
	}
	over = over[:0]
	err = db.NewSelect().TableExpr("refunds AS r").ColumnExpr(voucherDayOf(mysql, "r.finished_at")+" AS k, r.channel").
		ColumnExpr("SUM(r.amount_fen) AS fen").
		Where("r.status = ?", store.RefundSucceeded).Where("r.overpayment_id IS NOT NULL").
		Where("r.finished_at >= ?", start).Where("r.finished_at < ?", end).
		GroupExpr("k, r.channel").Scan(ctx, &over)
	if err != nil {
		return fmt.Errorf("recon: vouchers overpaid refunds: %w", err)
	}
	for _, o := range over {
		day, _ := time.Parse(time.DateOnly, o.Day)
		ch(day, o.Channel).OverpaidRefundedFen += o.Fen
	}
	var sts []store.Statement
	err = db.NewSelect().Model(&sts).Column("source", "day", "version", "fee_fen").
		Where("day >= ?", rep.From).Where("day <= ?", rep.To).Where("superseded = ?", false).
		Where("source NOT LIKE ?", "bank:%").OrderExpr("source, day, version").Scan(ctx)
	if err != nil {
		return fmt.Errorf("recon: vouchers statements: %w", err)
	}
	for _, st := range sts { // by version: the latest wins
		c := ch(dayOnly(st.Day), st.Source)
		c.Statement, c.StatementVersion, c.FeeFen = true, st.Version, st.FeeFen
	}
	for _, c := range chans {
		if c.CollectedFen == 0 && c.RefundedFen == 0 && c.FeeFen == 0 && c.OverpaidFen == 0 && c.OverpaidRefundedFen == 0 {
			continue
		}
		rep.Channels = append(rep.Channels, *c)
	}
	sort.Slice(rep.Channels, func(i, j int) bool {
		a, b := rep.Channels[i], rep.Channels[j]
		if !a.Day.Equal(b.Day) {
			return a.Day.Before(b.Day)
		}
		return channelRank(a.Channel) < channelRank(b.Channel)
	})
	for _, c := range rep.Channels {
		if c.NeedsStatement() && !c.Statement {
			rep.Missing = append(rep.Missing, c.Day.Format(time.DateOnly)+" "+billing.ChannelLabel(c.Channel))
		}
	}
	return nil
}

// total fills in the department, channel and grand totals.
func (rep *VoucherReport) total() {
	depts := map[string]*VoucherTotals{}
	var deptOrder []string
	for _, r := range rep.Rows {
		if depts[r.Department] == nil {
			depts[r.Department] = &VoucherTotals{Key: r.Department}
			deptOrder = append(deptOrder, r.Department)
		}
		d := depts[r.Department]
		d.Count += r.Count
		d.CollectedFen += r.CollectedFen
		d.RefundedFen += r.RefundedFen
	}
	sort.Strings(deptOrder)
	for _, k := range deptOrder {
		rep.Departments = append(rep.Departments, *depts[k])
	}
	chans := map[string]*VoucherTotals{}
	var chanOrder []string
	rep.Total = VoucherTotals{}
	for _, c := range rep.Channels {
		if chans[c.Channel] == nil {
			chans[c.Channel] = &VoucherTotals{Key: c.Channel}
			chanOrder = append(chanOrder, c.Channel)
		}
		for _, t := range []*VoucherTotals{chans[c.Channel], &rep.Total} {
			t.Count += c.Count
			t.CollectedFen += c.CollectedFen
			t.RefundedFen += c.RefundedFen
			t.FeeFen += c.FeeFen
			t.OverpaidFen += c.OverpaidFen
			t.OverpaidRefundedFen += c.OverpaidRefundedFen
		}
	}
	sort.SliceStable(chanOrder, func(i, j int) bool { return channelRank(chanOrder[i]) < channelRank(chanOrder[j]) })
	for _, k := range chanOrder {
		rep.ByChannel = append(rep.ByChannel, *chans[k])
	}
}

// voucherLines writes the vouchers of each day and channel.
func (s *Service) voucherLines(ctx context.Context, rep *VoucherReport) {
	acct := s.voucherLedgerOf(ctx)
	word := acct.word
	no := 0
	var day time.Time
	for _, c := range rep.Channels {
		if !c.Day.Equal(day) {
			day, no = c.Day, 0
		}
		label := billing.ChannelLabel(c.Channel)
		date := c.Day.Format(time.DateOnly)
		clearing := acct.clearing(c.Channel)
		var rows []VoucherRow
		for _, r := range rep.Rows {
			if r.Day.Equal(c.Day) && r.Channel == c.Channel {
				rows = append(rows, r)
			}
		}
		add := func(lines []VoucherLine) {
			no++
			for _, l := range lines {
				l.Day, l.Word, l.No = c.Day, word, no
				rep.Lines = append(rep.Lines, l)
			}
			rep.Vouchers++
		}
		if in := c.CollectedFen + c.OverpaidFen; in != 0 {
			lines := []VoucherLine{{Summary: date + " " + label + "收款", AccountCode: clearing.code, AccountName: clearing.name, DebitFen: in}}
			for _, r := range rows {
				if r.CollectedFen != 0 {
					inc := acct.income(r.Category)
					lines = append(lines, VoucherLine{Summary: label + "收款-" + r.ItemName, AccountCode: inc.code, AccountName: inc.name,
						CreditFen: r.CollectedFen, Department: r.Department, Item: r.ItemCode + " " + r.ItemName})
				}
			}
			if c.OverpaidFen != 0 {
				lines = append(lines, VoucherLine{Summary: label + "溢缴款", AccountCode: acct.overpaid.code, AccountName: acct.overpaid.name, CreditFen: c.OverpaidFen})
			}
			add(lines)
		}
		if out := c.RefundedFen + c.OverpaidRefundedFen; out != 0 {
			var lines []VoucherLine
			for _, r := range rows {
				if r.RefundedFen != 0 {
					inc := acct.income(r.Category)
					lines = append(lines, VoucherLine{Summary: label + "退款-" + r.ItemName, AccountCode: inc.code, AccountName: inc.name,
						DebitFen: r.RefundedFen, Department: r.Department, Item: r.ItemCode + " " + r.ItemName})
				}
			}
			if c.OverpaidRefundedFen != 0 {
				lines = append(lines, VoucherLine{Summary: label + "溢缴款退还", AccountCode: acct.overpaid.code, AccountName: acct.overpaid.name, DebitFen: c.OverpaidRefundedFen})
			}
			lines = append(lines, VoucherLine{Summary: date + " " + label + "退款", AccountCode: clearing.code, AccountName: clearing.name, CreditFen: out})
			add(lines)
		}
		if c.FeeFen != 0 {
			fee, clear := VoucherLine{Summary: date + " " + label + "手续费", AccountCode: acct.fee.code, AccountName: acct.fee.name},
				VoucherLine{Summary: date + " " + label + "手续费", AccountCode: clearing.code, AccountName: clearing.name}
			if c.FeeFen > 0 {
				fee.DebitFen, clear.CreditFen = c.FeeFen, c.FeeFen
			} else { // fees given back exceed fees charged
				fee.CreditFen, clear.DebitFen = -c.FeeFen, -c.FeeFen
			}
			add([]VoucherLine{fee, clear})
		}
	}
}

type ledgerAccount struct{ code, name string }

type voucherLedger struct {
	word          string
	incomes       map[string]ledgerAccount
	clearings     map[string]ledgerAccount
	fee, overpaid ledgerAccount
}

func (a voucherLedger) income(category string) ledgerAccount {
	if acc, ok := a.incomes[category]; ok {
		return acc
	}
	return a.incomes["other"]
}

func (a voucherLedger) clearing(channel string) ledgerAccount {
	if acc, ok := a.clearings[channel]; ok {
		return acc
	}
	return a.clearings[billing.ChannelOffline]
}

// voucherLedger reads the accounts from the settings (their defaults without settings).
func (s *Service) voucherLedgerOf(ctx context.Context) voucherLedger {
	get := func(key string) ledgerAccount {
		if st := s.Billing.Settings; st != nil {
			code, name := st.Account(ctx, key)
			return ledgerAccount{code, name}
		}
		d, _ := settings.Lookup(key)
		code, name, _ := strings.Cut(d.Default, " ")
		return ledgerAccount{code, name}
	}
	a := voucherLedger{word: "记", incomes: map[string]ledgerAccount{}, clearings: map[string]ledgerAccount{},
		fee: get(settings.VoucherFeeAccount), overpaid: get(settings.VoucherOverpaidAccount)}
	if st := s.Billing.Settings; st != nil {
		a.word = st.Get(ctx, settings.VoucherWord)
	}
	for _, c := range catalog.Categories {
		a.incomes[c.Code] = get(settings.VoucherIncomePrefix + c.Code)
	}
	for _, ch := range voucherChannelOrder {
		a.clearings[ch] = get(settings.VoucherClearingPrefix + ch)
	}
	return a
}

// voucherChannelOrder is the order channels are listed and booked in: that of their
// clearing accounts in the settings.
var voucherChannelOrder = func() []string {
	var out []string
	for _, d := range settings.Defs {
		if ch, ok := strings.CutPrefix(d.Key, settings.VoucherClearingPrefix); ok {
			out = append(out, ch)
		}
	}
	return out
}()

func channelRank(ch string) int {
	for i, c := range voucherChannelOrder {
		if c == ch {
			return i
		}
	}
	return len(voucherChannelOrder)
}

// voucherDayOf is the SQL of the business day (2006-01-02) of a UTC timestamp column.
func voucherDayOf(mysql bool, col string) string {
	if mysql {
		return "DATE_FORMAT(" + col + " + INTERVAL 8 HOUR, '%Y-%m-%d')"
	}
	return "date(" + col + ", '+8 hours')"
}
