package recon

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/store"
)

// repairMark starts the raw record of a payment that reconciliation repaired, so that a
// rerun still counts it as repaired.
const repairMark = "recon:"

// runLeaseTTL bounds how long one run may hold its day (a million lines take well under a
// minute).
const runLeaseTTL = 10 * time.Minute

// lock keeps two runs of the same day and source from interleaving (a nightly job and a
// click, or two instances); it returns the release.
func (s *Service) lock(ctx context.Context, name string) (func(), error) {
	b := make([]byte, 8)
	rand.Read(b)
	owner := hex.EncodeToString(b)
	ok, err := store.AcquireLease(ctx, s.db(), name, owner, s.now(), runLeaseTTL)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(fault.ErrConflict, "recon_busy", "该日的对账正在进行中，请稍后再试")
	}
	return func() { store.ReleaseLease(context.WithoutCancel(ctx), s.db(), name, owner) }, nil
}

// payKey is what a payment is matched by: the order number and the channel's trade number.
type payKey struct{ orderNo, tradeNo string }

func (a payKey) compare(b payKey) int {
	if c := strings.Compare(a.orderNo, b.orderNo); c != 0 {
		return c
	}
	return strings.Compare(a.tradeNo, b.tradeNo)
}

func (k payKey) item() string { return k.orderNo + "/" + k.tradeNo }

// platformPay is one platform payment in the merge.
type platformPay struct {
	payKey
	amountFen int64
	repaired  bool
}

// channelPay is one pay line of the statement in the merge.
type channelPay struct {
	payKey
	lineID    int64
	amountFen int64
}

// channelRun carries one channel run's state.
type channelRun struct {
	run       *store.ReconRun
	name      string
	day       time.Time
	st        *store.Statement
	findings  []finding
	cross     map[time.Time][]string // neighbour day → item keys matched across midnight
	crossed   int                    // platform items found on a neighbour's statement
	tentative int                    // flagged only because a neighbour's statement is not in yet
}

// RunChannel reconciles the platform against one channel's stored statement of a day:
// payments by order number and channel trade number, refunds by refund number. A payment
// only the channel has is repaired through billing.ApplyTrade (the path a notification
// takes) and checked again; a payment or refund on the other side of midnight is matched
// with the neighbouring day's statement or platform records; the rest become
// discrepancies. Running a day again gives the same result.
func (s *Service) RunChannel(ctx context.Context, name string, day time.Time, actor string) (*store.ReconRun, error) {
	day = dayOnly(day)
	if _, err := s.statementSource(name); err != nil {
		return nil, errf(fault.ErrInvalid, "source_unsupported", "不支持的对账渠道：%s", name)
	}
	unlock, err := s.lock(ctx, "recon:"+RunChannel+":"+name+":"+dayText(day))
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := s.LatestStatement(ctx, name, day)
	if err != nil {
		return nil, err
	}
	run, err := s.startRun(ctx, RunChannel, name, day, &st.ID, actor)
	if err != nil {
		return nil, err
	}
	cr := &channelRun{run: run, name: name, day: day, st: st, cross: map[time.Time][]string{}}
	if err := s.reconcileChannel(ctx, cr); err != nil {
		s.failRun(ctx, run, err)
		return run, err
	}
	run.Message = fmt.Sprintf("对账单第 %d 版，%d 行", st.Version, st.LineCount)
	if cr.crossed > 0 {
		run.Message += fmt.Sprintf("；%d 笔在相邻日对账单上（跨日匹配）", cr.crossed)
	}
	if cr.tentative > 0 {
		run.Message += fmt.Sprintf("；%d 笔差异待相邻日对账单到达后复核", cr.tentative)
	}
	var clears []crossClear
	for d, keys := range cr.cross {
		clears = append(clears, crossClear{day: d, keys: keys})
	}
	if err := s.finishRun(ctx, run, cr.findings, clears); err != nil {
		s.failRun(ctx, run, err)
		return run, err
	}
	return run, nil
}

func (s *Service) reconcileChannel(ctx context.Context, cr *channelRun) error {
	onlyChannel, onlyPlatform, err := s.mergePayments(ctx, cr)
	if err != nil {
		return err
	}
	if err := s.channelOnlyPayments(ctx, cr, onlyChannel); err != nil {
		return err
	}
	if err := s.platformOnlyPayments(ctx, cr, onlyPlatform); err != nil {
		return err
	}
	return s.matchRefunds(ctx, cr)
}

// binary orders text byte by byte on both databases, as Go compares strings.
func (s *Service) binary(col string) string {
	if store.DialectOf(s.db()) == store.MySQL {
		return "CAST(" + col + " AS BINARY)"
	}
	return col
}

// mergePayments walks the day's platform payments and the statement's pay lines, both
// ordered by (order number, trade number), side by side: constant memory whatever the
// size of the day. It counts the matches, records amount differences, and returns what
// only one side has.
// attemptNo is the number a company knows a payment by: the attempt it paid, or the order
// for a payment from before attempts existed. Statement lines carry it as order_no.
const attemptNo = "(CASE WHEN p.attempt_no <> '' THEN p.attempt_no ELSE o.order_no END)"

func (s *Service) mergePayments(ctx context.Context, cr *channelRun) ([]channelPay, []platformPay, error) {
	start, end := bizday.DayStart(cr.day), bizday.DayStart(cr.day.AddDate(0, 0, 1))
	prows, err := s.db().QueryContext(ctx, `SELECT `+attemptNo+`, p.trade_no, p.amount_fen,
		CASE WHEN p.raw LIKE ? THEN 1 ELSE 0 END
		FROM payments AS p JOIN orders AS o ON o.id = p.order_id
		WHERE p.channel = ? AND p.paid_at >= ? AND p.paid_at < ?
		ORDER BY `+s.binary(attemptNo)+`, `+s.binary("p.trade_no"),
		repairMark+"%", cr.name, start, end)
	if err != nil {
		return nil, nil, fmt.Errorf("recon: platform payments: %w", err)
	}
	defer prows.Close()
	crows, err := s.db().QueryContext(ctx, `SELECT id, order_no, trade_no, amount_fen FROM statement_lines
		WHERE statement_id = ? AND kind = ? ORDER BY `+s.binary("order_no")+`, `+s.binary("trade_no"),
		cr.st.ID, KindPay)
	if err != nil {
		return nil, nil, fmt.Errorf("recon: statement lines: %w", err)
	}
	defer crows.Close()

	var p platformPay
	var c channelPay
	nextP := func() (bool, error) {
		if !prows.Next() {
			return false, prows.Err()
		}
		var repaired int
		err := prows.Scan(&p.orderNo, &p.tradeNo, &p.amountFen, &repaired)
		p.repaired = repaired == 1
		return err == nil, err
	}
	nextC := func() (bool, error) {
		if !crows.Next() {
			return false, crows.Err()
		}
		err := crows.Scan(&c.lineID, &c.orderNo, &c.tradeNo, &c.amountFen)
		return err == nil, err
	}
	var onlyChannel []channelPay
	var onlyPlatform []platformPay
	hasP, err := nextP()
	if err != nil {
		return nil, nil, err
	}
	hasC, err := nextC()
	if err != nil {
		return nil, nil, err
	}
	for hasP || hasC {
		cmp := 0
		switch {
		case !hasP:
			cmp = 1
		case !hasC:
			cmp = -1
		default:
			cmp = p.compare(c.payKey)
		}
		switch {
		case cmp < 0:
			onlyPlatform = append(onlyPlatform, p)
			hasP, err = nextP()
		case cmp > 0:
			onlyChannel = append(onlyChannel, c)
			hasC, err = nextC()
		default:
			cr.matchPay(p, c)
			if hasP, err = nextP(); err == nil {
				hasC, err = nextC()
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("recon: merge payments: %w", err)
		}
	}
	return onlyChannel, onlyPlatform, nil
}

// matchPay books a payment both sides have.
func (cr *channelRun) matchPay(p platformPay, c channelPay) {
	if p.amountFen != c.amountFen {
		id := c.lineID
		cr.findings = append(cr.findings, finding{Type: store.DiscAmountDiffers, ItemKey: c.item(), OrderNo: c.orderNo,
			TradeNo: c.tradeNo, PlatformFen: p.amountFen, ChannelFen: c.amountFen, StatementLineID: &id,
			Note: fmt.Sprintf("平台记录 %s，渠道对账单 %s", money.Format(p.amountFen), money.Format(c.amountFen))})
		return
	}
	cr.run.MatchedCount++
	cr.run.MatchedFen += c.amountFen
	if p.repaired {
		cr.run.RepairedCount++
	}
}

// platformPayment is a platform payment found by its trade number.
type platformPayment struct {
	OrderNo   string    `bun:"order_no"`
	TradeNo   string    `bun:"trade_no"`
	AmountFen int64     `bun:"amount_fen"`
	PaidAt    time.Time `bun:"paid_at"`
	Raw       string    `bun:"raw"`
}

// channelOnlyPayments deals with the statement's payments the platform does not have on
// that day: on the platform the day before or after (a midnight cut-off), or missing —
// repaired through ApplyTrade, which also books a payment for an order closed meanwhile as
// a late payment.
func (s *Service) channelOnlyPayments(ctx context.Context, cr *channelRun, lines []channelPay) error {
	for startAt := 0; startAt < len(lines); startAt += 500 {
		batch := lines[startAt:min(startAt+500, len(lines))]
		trades := make([]string, len(batch))
		for i, l := range batch {
			trades[i] = l.tradeNo
		}
		var found []platformPayment
		err := s.db().NewSelect().TableExpr("payments AS p").Join("JOIN orders AS o ON o.id = p.order_id").
			ColumnExpr(attemptNo+" AS order_no, p.trade_no, p.amount_fen, p.paid_at, CASE WHEN p.raw LIKE ? THEN 'r' ELSE '' END AS raw", repairMark+"%").
			Where("p.channel = ?", cr.name).Where("p.trade_no IN (?)", bun.In(trades)).Scan(ctx, &found)
		if err != nil {
			return fmt.Errorf("recon: payments by trade: %w", err)
		}
		byTrade := make(map[string]platformPayment, len(found))
		for _, f := range found {
			byTrade[f.TradeNo] = f
		}
		for _, l := range batch {
			f, ok := byTrade[l.tradeNo]
			if !ok {
				if err := s.repair(ctx, cr, l); err != nil {
					return err
				}
				continue
			}
			id := l.lineID
			paidDay := bizday.DayOf(f.PaidAt)
			gap := int(paidDay.Sub(cr.day).Hours() / 24)
			switch {
			case f.OrderNo != l.orderNo:
				cr.findings = append(cr.findings, finding{Type: store.DiscStatusDiffers, ItemKey: l.item(), OrderNo: l.orderNo,
					TradeNo: l.tradeNo, PlatformFen: f.AmountFen, ChannelFen: l.amountFen, StatementLineID: &id,
					Note: fmt.Sprintf("渠道交易号 %s 在平台上属于订单 %s，对账单写的是订单 %s", l.tradeNo, f.OrderNo, l.orderNo)})
			case gap == 0:
				cr.findings = append(cr.findings, finding{Type: store.DiscStatusDiffers, ItemKey: l.item(), OrderNo: l.orderNo,
					TradeNo: l.tradeNo, PlatformFen: f.AmountFen, ChannelFen: l.amountFen, StatementLineID: &id,
					Note: "对账单重复列出了同一笔交易"})
			case f.AmountFen != l.amountFen:
				cr.findings = append(cr.findings, finding{Type: store.DiscAmountDiffers, ItemKey: l.item(), OrderNo: l.orderNo,
					TradeNo: l.tradeNo, PlatformFen: f.AmountFen, ChannelFen: l.amountFen, StatementLineID: &id,
					Note: fmt.Sprintf("平台记录 %s（%s 入账），渠道对账单 %s", money.Format(f.AmountFen), dayText(paidDay), money.Format(l.amountFen))})
			case gap == 1 || gap == -1:
				// Paid just before (or after) midnight: the platform booked it on the
				// neighbouring day. Matched across the boundary; that day's provisional
				// "missing at the channel" is cleared.
				cr.run.MatchedCount++
				cr.run.MatchedFen += l.amountFen
				if f.Raw != "" {
					cr.run.RepairedCount++
				}
				cr.cross[paidDay] = append(cr.cross[paidDay], l.item())
			default:
				cr.findings = append(cr.findings, finding{Type: store.DiscStatusDiffers, ItemKey: l.item(), OrderNo: l.orderNo,
					TradeNo: l.tradeNo, PlatformFen: f.AmountFen, ChannelFen: l.amountFen, StatementLineID: &id,
					Note: fmt.Sprintf("平台记录的支付日期为 %s，与对账单日期相差 %d 天", dayText(paidDay), abs(gap))})
			}
		}
	}
	return nil
}

// repair applies a payment the channel took and the platform never heard of, exactly as
// its notification would have been applied, then counts it matched; what cannot be
// applied stays a discrepancy.
func (s *Service) repair(ctx context.Context, cr *channelRun, l channelPay) error {
	line := new(store.StatementLine)
	if err := s.db().NewSelect().Model(line).Where("id = ?", l.lineID).Scan(ctx); err != nil {
		return fmt.Errorf("recon: statement line %d: %w", l.lineID, err)
	}
	id := l.lineID
	f := finding{Type: store.DiscMissingPlatform, ItemKey: l.item(), OrderNo: l.orderNo, TradeNo: l.tradeNo,
		ChannelFen: l.amountFen, StatementLineID: &id}
	out, err := s.Billing.ApplyTrade(billing.WithPayWay(ctx, "recon"), cr.name, channel.Trade{OrderNo: l.orderNo, TradeNo: l.tradeNo, AmountFen: l.amountFen,
		Status: channel.TradeSuccess, PaidAt: line.OccurredAt,
		Raw: truncate(fmt.Sprintf("%sstatement=%d line=%d %s", repairMark, cr.st.ID, line.LineNo, line.Raw), 2000)})
	var be *fault.Error
	switch {
	case err == nil:
		cr.run.MatchedCount++
		cr.run.MatchedFen += l.amountFen
		cr.run.RepairedCount++
		f.Cleared, f.PlatformFen = true, l.amountFen
		f.Note = "平台漏收支付通知：已按渠道对账单补记支付（与支付通知同一入账路径）"
		if out.Late {
			f.Note += "；订单此前已关闭，按迟到支付入账"
		}
		if out.OverpaidFen > 0 {
			f.Note += fmt.Sprintf("；其中 %s 无应缴款项可抵，已列入待退溢缴款", money.Format(out.OverpaidFen))
		}
		if !out.Duplicate {
			now := store.UTC(s.now())
			if err := store.Audit(ctx, s.db(), &store.AuditLog{At: now, Actor: cr.run.RunBy, Action: "recon.repaired", TargetType: "order",
				TargetID: l.orderNo, Detail: fmt.Sprintf("channel=%s trade=%s amount=%d statement=%d line=%d run=%d",
					cr.name, l.tradeNo, l.amountFen, cr.st.ID, line.LineNo, cr.run.ID)}); err != nil {
				return err
			}
		}
	case errors.As(err, &be) && be.Code == "amount_mismatch":
		f.Type = store.DiscAmountDiffers
		f.PlatformFen = s.orderTotal(ctx, l.orderNo)
		f.Note = "渠道已收款但金额与平台订单不符，未补记：" + be.Message
	case errors.As(err, &be) && be.Code == "channel_mismatch":
		f.Type = store.DiscStatusDiffers
		f.PlatformFen = s.orderTotal(ctx, l.orderNo)
		f.Note = "渠道已收款，但平台订单不是通过该渠道支付的：" + be.Message
	case errors.As(err, &be):
		f.Note = "渠道有此笔支付，平台无记录，无法补记：" + be.Message
	default:
		return fmt.Errorf("recon: repair %s: %w", l.item(), err)
	}
	cr.findings = append(cr.findings, f)
	return nil
}

func (s *Service) orderTotal(ctx context.Context, orderNo string) int64 {
	var total int64
	s.db().NewSelect().Model((*store.Order)(nil)).Column("total_fen").Where("order_no = ?", orderNo).Scan(ctx, &total)
	return total
}

// neighbourLine is a line of a neighbouring day's statement found by number.
type neighbourLine struct {
	ID              int64     `bun:"id"`
	TradeNo         string    `bun:"trade_no"`
	RefundNo        string    `bun:"refund_no"`
	ChannelRefundNo string    `bun:"channel_refund_no"`
	AmountFen       int64     `bun:"amount_fen"`
	Day             time.Time `bun:"day"`
}

// neighbours are the latest statements of the days either side of the run's day, and the
// days whose statement is not in yet.
func (s *Service) neighbours(ctx context.Context, source string, day time.Time) (ids []int64, missing []time.Time, err error) {
	for _, d := range []time.Time{day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)} {
		st, err := s.LatestStatement(ctx, source, d)
		switch {
		case err == nil:
			ids = append(ids, st.ID)
		case isNotFound(err):
			missing = append(missing, d)
		default:
			return nil, nil, err
		}
	}
	return ids, missing, nil
}

// neighbourLines finds lines of kind on the given statements by trade number, our refund
// number or the channel's refund number (column), keyed by that number.
func (s *Service) neighbourLines(ctx context.Context, statements []int64, kind, column string, numbers []string) (map[string]neighbourLine, error) {
	out := map[string]neighbourLine{}
	if len(statements) == 0 || len(numbers) == 0 {
		return out, nil
	}
	var rows []neighbourLine
	err := s.db().NewSelect().TableExpr("statement_lines AS l").Join("JOIN statements AS st ON st.id = l.statement_id").
		ColumnExpr("l.id, l.trade_no, l.refund_no, l.channel_refund_no, l.amount_fen, st.day").
		Where("l.statement_id IN (?)", bun.In(statements)).Where("l.kind = ?", kind).
		Where("l."+column+" IN (?)", bun.In(numbers)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("recon: neighbour lines: %w", err)
	}
	for _, r := range rows {
		switch column {
		case "trade_no":
			out[r.TradeNo] = r
		case "refund_no":
			out[r.RefundNo] = r
		default:
			out[r.ChannelRefundNo] = r
		}
	}
	return out, nil
}

// platformOnlyPayments deals with the day's platform payments missing from the statement:
// found on a neighbouring day's statement (a midnight cut-off) they are matched there;
// otherwise they are missing at the channel — provisionally, while a neighbouring
// statement is not in yet.
func (s *Service) platformOnlyPayments(ctx context.Context, cr *channelRun, pays []platformPay) error {
	if len(pays) == 0 {
		return nil
	}
	ids, missing, err := s.neighbours(ctx, cr.name, cr.day)
	if err != nil {
		return err
	}
	for startAt := 0; startAt < len(pays); startAt += 500 {
		batch := pays[startAt:min(startAt+500, len(pays))]
		trades := make([]string, len(batch))
		for i, p := range batch {
			trades[i] = p.tradeNo
		}
		found, err := s.neighbourLines(ctx, ids, KindPay, "trade_no", trades)
		if err != nil {
			return err
		}
		for _, p := range batch {
			if n, ok := found[p.tradeNo]; ok && n.AmountFen == p.amountFen {
				cr.crossed++ // counted as matched by that day's run
				continue
			}
			f := finding{Type: store.DiscMissingChannel, ItemKey: p.item(), OrderNo: p.orderNo, TradeNo: p.tradeNo,
				PlatformFen: p.amountFen, Note: "平台已入账，渠道对账单无此笔支付"}
			if len(missing) > 0 {
				cr.tentative++
				f.Note += "（相邻日 " + joinDays(missing) + " 的对账单尚未获取，可能跨日入账：暂列差异，待其到达后复核）"
			}
			cr.findings = append(cr.findings, f)
		}
	}
	return nil
}

// platformRefund is a platform refund as matching reads it.
type platformRefund struct {
	RefundNo        string     `bun:"refund_no"`
	ChannelRefundNo string     `bun:"channel_refund_no"`
	AmountFen       int64      `bun:"amount_fen"`
	Status          string     `bun:"status"`
	FinishedAt      *time.Time `bun:"finished_at"`
	OrderNo         string     `bun:"order_no"`
	TradeNo         string     `bun:"trade_no"`
}

func (s *Service) refundQuery(channelName string) *bun.SelectQuery {
	return s.db().NewSelect().TableExpr("refunds AS r").
		Join("JOIN orders AS o ON o.id = r.order_id").Join("JOIN payments AS p ON p.id = r.payment_id").
		ColumnExpr("r.refund_no, r.channel_refund_no, r.amount_fen, r.status, r.finished_at, "+attemptNo+" AS order_no, p.trade_no").
		Where("r.channel = ?", channelName)
}

// refundIndex finds the day's platform refunds by the number a statement line names them
// by: our refund number where the line carries it, else the channel's. A refund found is
// taken out, so that what is left at the end is what the statement lacks.
type refundIndex struct {
	ours, theirs map[string]*platformRefund
}

func newRefundIndex(refunds []*platformRefund) *refundIndex {
	x := &refundIndex{ours: map[string]*platformRefund{}, theirs: map[string]*platformRefund{}}
	for _, r := range refunds {
		x.ours[r.RefundNo] = r
		if r.ChannelRefundNo != "" {
			x.theirs[r.ChannelRefundNo] = r
		}
	}
	return x
}

func (x *refundIndex) take(l *store.StatementLine) (*platformRefund, bool) {
	r, ok := x.ours[l.RefundNo]
	if l.RefundNo == "" {
		r, ok = x.theirs[l.ChannelRefundNo]
	}
	if !ok || l.ChannelRefundNo != "" && r.ChannelRefundNo != "" && l.ChannelRefundNo != r.ChannelRefundNo {
		return nil, false
	}
	delete(x.ours, r.RefundNo)
	delete(x.theirs, r.ChannelRefundNo)
	return r, true
}

// lineRefundNo is the refund number a line names (ours if it carries it).
func lineRefundNo(l *store.StatementLine) string {
	if l.RefundNo != "" {
		return l.RefundNo
	}
	return l.ChannelRefundNo
}

// matchRefunds matches the day's succeeded refunds with the statement's refund lines. A
// day's refunds are few: they are matched in memory.
func (s *Service) matchRefunds(ctx context.Context, cr *channelRun) error {
	start, end := bizday.DayStart(cr.day), bizday.DayStart(cr.day.AddDate(0, 0, 1))
	var platform []*platformRefund
	if err := s.refundQuery(cr.name).Where("r.status = ?", store.RefundSucceeded).
		Where("r.finished_at >= ? AND r.finished_at < ?", start, end).Scan(ctx, &platform); err != nil {
		return fmt.Errorf("recon: platform refunds: %w", err)
	}
	index := newRefundIndex(platform)
	var lines []*store.StatementLine
	if err := s.db().NewSelect().Model(&lines).Where("statement_id = ? AND kind = ?", cr.st.ID, KindRefund).
		OrderExpr("line_no").Scan(ctx); err != nil {
		return fmt.Errorf("recon: statement refunds: %w", err)
	}
	for _, l := range lines {
		id := l.ID
		no := lineRefundNo(l)
		f := finding{ItemKey: "refund/" + no, OrderNo: l.OrderNo, RefundNo: no, TradeNo: l.TradeNo,
			ChannelFen: l.AmountFen, StatementLineID: &id}
		if r, ok := index.take(l); ok {
			f.ItemKey, f.RefundNo, f.OrderNo, f.PlatformFen = "refund/"+r.RefundNo, r.RefundNo, r.OrderNo, r.AmountFen
			if r.AmountFen != l.AmountFen {
				f.Type = store.DiscAmountDiffers
				f.Note = fmt.Sprintf("退款金额：平台 %s，渠道 %s", money.Format(r.AmountFen), money.Format(l.AmountFen))
				cr.findings = append(cr.findings, f)
				continue
			}
			cr.run.MatchedCount++
			cr.run.MatchedFen += l.AmountFen
			continue
		}
		r, err := s.refundByChannelLine(ctx, cr.name, l)
		if err != nil {
			return err
		}
		if r == nil {
			f.Type = store.DiscMissingPlatform
			f.Note = "渠道已退款，平台无此退款记录"
			cr.findings = append(cr.findings, f)
			continue
		}
		f.ItemKey, f.RefundNo, f.OrderNo, f.PlatformFen = "refund/"+r.RefundNo, r.RefundNo, r.OrderNo, r.AmountFen
		switch {
		case r.Status != string(store.RefundSucceeded):
			f.Type = store.DiscStatusDiffers
			f.Note = "渠道已退款成功，平台退款状态为「" + billing.RefundStatusLabel(store.RefundStatus(r.Status)) + "」：可在退款详情中同步渠道结果"
		case r.AmountFen != l.AmountFen:
			f.Type = store.DiscAmountDiffers
			f.Note = fmt.Sprintf("退款金额：平台 %s，渠道 %s", money.Format(r.AmountFen), money.Format(l.AmountFen))
		default:
			gap := int(bizday.DayOf(*r.FinishedAt).Sub(cr.day).Hours() / 24)
			if gap == 1 || gap == -1 {
				cr.run.MatchedCount++
				cr.run.MatchedFen += l.AmountFen
				d := bizday.DayOf(*r.FinishedAt)
				cr.cross[d] = append(cr.cross[d], "refund/"+r.RefundNo)
				continue
			}
			f.Type = store.DiscStatusDiffers
			f.Note = fmt.Sprintf("平台记录的退款完成日期为 %s，与对账单日期不符", dayText(bizday.DayOf(*r.FinishedAt)))
		}
		cr.findings = append(cr.findings, f)
	}
	if len(index.ours) == 0 {
		return nil
	}
	// The platform's succeeded refunds the statement lacks: on a neighbour's statement, or
	// a status difference (the platform thinks the money went back; the channel says not).
	ids, missing, err := s.neighbours(ctx, cr.name, cr.day)
	if err != nil {
		return err
	}
	var ours, theirs []string
	for _, r := range index.ours {
		ours = append(ours, r.RefundNo)
		if r.ChannelRefundNo != "" {
			theirs = append(theirs, r.ChannelRefundNo)
		}
	}
	byOurs, err := s.neighbourLines(ctx, ids, KindRefund, "refund_no", ours)
	if err != nil {
		return err
	}
	byTheirs, err := s.neighbourLines(ctx, ids, KindRefund, "channel_refund_no", theirs)
	if err != nil {
		return err
	}
	for _, r := range platform {
		if _, left := index.ours[r.RefundNo]; !left {
			continue
		}
		n, ok := byOurs[r.RefundNo]
		if !ok && r.ChannelRefundNo != "" {
			n, ok = byTheirs[r.ChannelRefundNo]
		}
		if ok && n.AmountFen == r.AmountFen {
			cr.crossed++
			continue
		}
		f := finding{Type: store.DiscStatusDiffers, ItemKey: "refund/" + r.RefundNo, OrderNo: r.OrderNo, RefundNo: r.RefundNo,
			TradeNo: r.TradeNo, PlatformFen: r.AmountFen, Note: "平台显示退款成功，渠道对账单无此退款"}
		if len(missing) > 0 {
			cr.tentative++
			f.Note += "（相邻日 " + joinDays(missing) + " 的对账单尚未获取：暂列差异，待其到达后复核）"
		}
		cr.findings = append(cr.findings, f)
	}
	return nil
}

// refundByChannelLine finds the platform refund a statement's refund line names, in any
// status. A line that carries only the channel's refund number (which the platform learns
// on success) may name a refund still in progress: that one is found by its order and
// amount. nil when there is none.
func (s *Service) refundByChannelLine(ctx context.Context, channelName string, l *store.StatementLine) (*platformRefund, error) {
	r := new(platformRefund)
	q := s.refundQuery(channelName)
	switch {
	case l.RefundNo != "":
		q = q.Where("r.refund_no = ?", l.RefundNo)
	case l.OrderNo != "":
		q = q.Where("(r.channel_refund_no = ? OR (r.channel_refund_no = '' AND "+attemptNo+" = ? AND r.amount_fen = ? AND r.status IN (?)))",
			l.ChannelRefundNo, l.OrderNo, l.AmountFen, bun.In([]store.RefundStatus{store.RefundApproved, store.RefundProcessing}))
	default:
		q = q.Where("r.channel_refund_no = ?", l.ChannelRefundNo)
	}
	err := q.OrderExpr("r.id").Limit(1).Scan(ctx, r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recon: refund by number: %w", err)
	}
	return r, nil
}

func joinDays(days []time.Time) string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = dayText(d)
	}
	return strings.Join(out, "、")
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
