package recon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"campuspay/app/billing"
	"campuspay/app/money"
	"campuspay/store"
)

// SettleWindow is how many days after a business day its settlement may reach the bank
// (T+1 to T+3).
const SettleWindow = 3

var anyDateRe = regexp.MustCompile(`\d{4}[-/.]?\d{2}[-/.]?\d{2}`)

// bankLine is a line of a bank statement with its day.
type bankLine struct {
	store.StatementLine `bun:",extend"`
	Day                 time.Time `bun:"day"`
	Source              string    `bun:"source"`
}

// bankLines are the lines of kind on the latest bank statements of days from..to.
func (s *Service) bankLines(ctx context.Context, kind string, from, to time.Time) ([]*bankLine, error) {
	var rows []*bankLine
	err := s.db().NewSelect().TableExpr("statement_lines AS statement_line").
		Join("JOIN statements AS st ON st.id = statement_line.statement_id").
		ColumnExpr("statement_line.*, st.day, st.source").
		Where("st.source LIKE ?", bankPrefix+"%").Where("st.superseded = ?", false).
		Where("st.day >= ? AND st.day <= ?", dayOnly(from), dayOnly(to)).
		Where("statement_line.kind = ?", kind).
		OrderExpr("st.day, st.source, statement_line.line_no").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("recon: bank lines: %w", err)
	}
	return rows, nil
}

// mentions reports whether a bank line names a channel by one of its markers.
func mentions(l *bankLine, markers []string) bool {
	text := strings.ToUpper(l.Reference + " " + l.Counterparty)
	for _, m := range markers {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}

// dated reports whether a bank line's memo names the day (2006-01-02, 20060102 or
// 2006/01/02), and whether it names any day at all.
func dated(l *bankLine, day time.Time) (names, any bool) {
	for _, layout := range []string{"2006-01-02", "20060102", "2006/01/02", "2006.01.02"} {
		if strings.Contains(l.Reference, day.Format(layout)) {
			return true, true
		}
	}
	return false, anyDateRe.MatchString(l.Reference)
}

// settlementLine picks the bank line that carries a channel's settlement of a day: the
// right amount and direction, naming the channel (one of its markers), within the window, and naming that day
// (or no day at all, for banks whose memos carry none); the earliest wins. near is a line
// that names the channel and the day with another amount.
func settlementLine(markers []string, day time.Time, netFen int64, lines []*bankLine) (match, near *bankLine) {
	want := netFen
	if want < 0 {
		want = -want
	}
	var undated *bankLine
	for _, l := range lines {
		gap := int(l.Day.Sub(day).Hours() / 24)
		if gap < 1 || gap > SettleWindow || !mentions(l, markers) {
			continue
		}
		names, anyDay := dated(l, day)
		switch {
		case l.AmountFen == want && names:
			return l, nil
		case l.AmountFen == want && !anyDay && undated == nil:
			undated = l
		case names && near == nil:
			near = l
		}
	}
	if undated != nil {
		return undated, nil
	}
	return nil, near
}

// RunBank reconciles the bank side of a business day: each enabled channel's settlement
// of that day (its statement's net) against the bank's credits of the next SettleWindow
// days, and the bank's credits of the next day against the settlements that may have
// reached it. Fetch the statements first (ReconcileBank does); a channel whose statement
// of the day is not in is left out.
func (s *Service) RunBank(ctx context.Context, day time.Time, actor string) ([]*store.ReconRun, error) {
	day = dayOnly(day)
	var runs []*store.ReconRun
	var errs []error
	for _, name := range s.Channels(ctx) {
		run, err := s.runSettlement(ctx, name, day, actor)
		if run != nil {
			runs = append(runs, run)
		}
		if err != nil && !isNotFound(err) { // no statement of the day: nothing settled to look for
			errs = append(errs, err)
		}
	}
	bankRuns, err := s.runBankCredits(ctx, day.AddDate(0, 0, 1), actor)
	runs = append(runs, bankRuns...)
	if err != nil {
		errs = append(errs, err)
	}
	return runs, errors.Join(errs...)
}

// runSettlement matches one channel's settlement of a day with the bank.
func (s *Service) runSettlement(ctx context.Context, name string, day time.Time, actor string) (*store.ReconRun, error) {
	unlock, err := s.lock(ctx, "recon:"+RunBank+":"+name+":"+dayText(day))
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := s.LatestStatement(ctx, name, day)
	if err != nil {
		return nil, err
	}
	run, err := s.startRun(ctx, RunBank, name, day, &st.ID, actor)
	if err != nil {
		return nil, err
	}
	var findings []finding
	kind := KindCredit
	if st.NetFen < 0 {
		kind = KindDebit
	}
	switch lines, err := s.bankLines(ctx, kind, day.AddDate(0, 0, 1), day.AddDate(0, 0, SettleWindow)); {
	case err != nil:
		s.failRun(ctx, run, err)
		return run, err
	case st.NetFen == 0:
		run.Message = "当日结算净额为 0，无需入账"
	default:
		match, near := settlementLine(s.settlementMarkers(name), day, st.NetFen, lines)
		if match != nil {
			run.MatchedCount, run.MatchedFen = 1, st.NetFen
			run.Message = fmt.Sprintf("结算净额 %s 已于 %s 到账（T+%d），银行流水号 %s", money.Format(st.NetFen),
				dayText(match.Day), int(match.Day.Sub(day).Hours()/24), match.TradeNo)
			break
		}
		f := finding{Type: store.DiscSettlementUnmatched, ItemKey: "settle/" + dayText(day), ChannelFen: st.NetFen,
			Note: fmt.Sprintf("%s %s 的结算净额 %s 在 T+1 至 T+%d 的银行流水中未找到", billing.ChannelLabel(name), dayText(day), money.Format(st.NetFen), SettleWindow)}
		if near != nil {
			id := near.ID
			f.BankLineID, f.PlatformFen, f.TradeNo = &id, near.AmountFen, near.TradeNo
			f.Note += fmt.Sprintf("；%s 有一笔相关入账 %s，金额不符", dayText(near.Day), money.Format(near.AmountFen))
		}
		if missing := s.missingBankDays(ctx, day); len(missing) > 0 {
			f.Note += "（" + joinDays(missing) + " 的银行流水尚未获取，待其到达后复核）"
		}
		findings = append(findings, f)
	}
	if err := s.finishRun(ctx, run, findings, nil); err != nil {
		s.failRun(ctx, run, err)
		return run, err
	}
	return run, nil
}

// missingBankDays are the days of a settlement's window with no bank statement yet.
func (s *Service) missingBankDays(ctx context.Context, day time.Time) []time.Time {
	var have []time.Time
	s.db().NewSelect().Model((*store.Statement)(nil)).Column("day").Distinct().
		Where("source LIKE ?", bankPrefix+"%").
		Where("day >= ? AND day <= ?", day.AddDate(0, 0, 1), day.AddDate(0, 0, SettleWindow)).Scan(ctx, &have)
	var missing []time.Time
	for i := 1; i <= SettleWindow; i++ {
		d := day.AddDate(0, 0, i)
		found := false
		for _, h := range have {
			found = found || dayOnly(h).Equal(d)
		}
		if !found {
			missing = append(missing, d)
		}
	}
	return missing
}

// runBankCredits checks every credit of each bank statement of a day: a credit that no
// channel's settlement (of the SettleWindow days before) explains is flagged, for finance
// to resolve with a note when it is a known unrelated item (a parent's transfer, interest).
func (s *Service) runBankCredits(ctx context.Context, bankDay time.Time, actor string) ([]*store.ReconRun, error) {
	var statements []*store.Statement
	if err := s.db().NewSelect().Model(&statements).Where("source LIKE ?", bankPrefix+"%").
		Where("day = ?", bankDay).Where("superseded = ?", false).OrderExpr("source").Scan(ctx); err != nil {
		return nil, fmt.Errorf("recon: bank statements: %w", err)
	}
	explained, err := s.explainedCredits(ctx, bankDay)
	if err != nil {
		return nil, err
	}
	var runs []*store.ReconRun
	for _, st := range statements {
		run, err := s.runBankStatement(ctx, st, explained, actor)
		if run != nil {
			runs = append(runs, run)
		}
		if err != nil {
			return runs, err
		}
	}
	return runs, nil
}

// explainedCredits are the ids of the bank lines that carry a settlement, among those a
// day's statements may hold.
func (s *Service) explainedCredits(ctx context.Context, bankDay time.Time) (map[int64]string, error) {
	first := bankDay.AddDate(0, 0, -SettleWindow)
	lines, err := s.bankLines(ctx, KindCredit, first.AddDate(0, 0, 1), bankDay.AddDate(0, 0, SettleWindow-1))
	if err != nil {
		return nil, err
	}
	var settlements []*store.Statement
	if err := s.db().NewSelect().Model(&settlements).Where("source NOT LIKE ?", bankPrefix+"%").
		Where("superseded = ?", false).Where("day >= ? AND day < ?", first, bankDay).Scan(ctx); err != nil {
		return nil, fmt.Errorf("recon: settlements: %w", err)
	}
	out := map[int64]string{}
	for _, st := range settlements {
		if st.NetFen <= 0 {
			continue
		}
		if m, _ := settlementLine(s.settlementMarkers(st.Source), dayOnly(st.Day), st.NetFen, lines); m != nil {
			out[m.ID] = fmt.Sprintf("%s %s 结算款", billing.ChannelLabel(st.Source), dayText(dayOnly(st.Day)))
		}
	}
	return out, nil
}

func (s *Service) runBankStatement(ctx context.Context, st *store.Statement, explained map[int64]string, actor string) (*store.ReconRun, error) {
	unlock, err := s.lock(ctx, "recon:"+RunBank+":"+st.Source+":"+dayText(dayOnly(st.Day)))
	if err != nil {
		return nil, err
	}
	defer unlock()
	run, err := s.startRun(ctx, RunBank, st.Source, st.Day, &st.ID, actor)
	if err != nil {
		return nil, err
	}
	var credits []*store.StatementLine
	if err := s.db().NewSelect().Model(&credits).Where("statement_id = ? AND kind = ?", st.ID, KindCredit).
		OrderExpr("line_no").Scan(ctx); err != nil {
		s.failRun(ctx, run, err)
		return run, err
	}
	var findings []finding
	seen := map[string]int{}
	for _, l := range credits {
		if _, ok := explained[l.ID]; ok {
			run.MatchedCount++
			run.MatchedFen += l.AmountFen
			continue
		}
		id := l.ID
		findings = append(findings, finding{Type: store.DiscBankUnexplained, ItemKey: bankItemKey(l, seen), TradeNo: l.TradeNo,
			ChannelFen: l.AmountFen, BankLineID: &id,
			Note: truncate(fmt.Sprintf("银行收入 %s 无对应的渠道结算：%s %s", money.Format(l.AmountFen), l.Counterparty, l.Reference), 500)})
	}
	run.Message = fmt.Sprintf("银行流水第 %d 版，收入 %d 笔，其中渠道结算 %d 笔", st.Version, len(credits), run.MatchedCount)
	if err := s.finishRun(ctx, run, findings, nil); err != nil {
		s.failRun(ctx, run, err)
		return run, err
	}
	return run, nil
}

// bankItemKey names a bank line across statement versions: by its serial, or (a bank that
// gives none) by its content and how many identical lines came before it.
func bankItemKey(l *store.StatementLine, seen map[string]int) string {
	if l.TradeNo != "" {
		return "line/" + l.TradeNo
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%s|%s", l.Kind, l.OccurredAt.UTC().Format(time.RFC3339), l.AmountFen, l.Reference, l.Counterparty)))
	key := hex.EncodeToString(h[:12])
	seen[key]++
	return fmt.Sprintf("line/%s#%d", key, seen[key])
}
