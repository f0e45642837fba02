package reports

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/store"
)

// Statistics for the dashboards.
//
// "Collected" (已收) is money received net of overpayments: what each payment credited to
// the bills of its order (payments.credited_fen, split by order line; see lineCreditedSQL).
// Money no bill took is an overpayment, counted apart and refunded by finance; refunds are
// shown on their own and not subtracted. "Count" is the number of bills a payment credited
// (one payment of three bills counts three), so that counts add up across departments and
// items. Every figure is the sum of the rows the payment search shows for the same days and
// scope: the snapshot in stats_daily is that same query, run once for a closed day.
//
// Days are business days in Asia/bizday.Shanghai (UTC+8 all year: China keeps no summer time).
// A week runs Monday to Sunday. A term (学期) is Sep 1 – Jan 31 (the first term of a school
// year) or Feb 1 – Aug 31 (the second, summer included).

// Term is one half of a school year.
type Term struct {
	Name        string    // e.g. 2026-2027学年第一学期
	First, Last time.Time // business days, both included
}

// TermOf returns the term a business day falls in.
func TermOf(day time.Time) Term {
	y, m, _ := day.Date()
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	switch {
	case m >= time.September:
		return Term{Name: fmt.Sprintf("%d-%d学年第一学期", y, y+1), First: d(y, time.September, 1), Last: d(y+1, time.January, 31)}
	case m == time.January:
		return Term{Name: fmt.Sprintf("%d-%d学年第一学期", y-1, y), First: d(y-1, time.September, 1), Last: d(y, time.January, 31)}
	default:
		return Term{Name: fmt.Sprintf("%d-%d学年第二学期", y-1, y), First: d(y, time.February, 1), Last: d(y, time.August, 31)}
	}
}

// WeekOf returns the Monday of the week a business day falls in.
func WeekOf(day time.Time) time.Time {
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

// Figure is money collected and the number of bills it credited.
type Figure struct {
	Count        int64 `bun:"line_count"`
	CollectedFen int64 `bun:"collected_fen"`
	OverpaidFen  int64 `bun:"overpaid_fen"`
}

func (f *Figure) add(g Figure) {
	f.Count += g.Count
	f.CollectedFen += g.CollectedFen
	f.OverpaidFen += g.OverpaidFen
}

// Overview is the dashboard's strip of headline figures.
type Overview struct {
	Today, Week, TermToDate Figure
	Day, WeekStart          time.Time // business days
	Term                    Term
	Refunds                 RefundSearchTotals // refunds asked for this term that succeeded
	OutstandingFen          int64              // still owed on every bill
	Outstanding             int64              // bills still owing
	AsOf                    time.Time
}

// Overview computes the headline figures for a scope (nil: the whole school).
func (s *Service) Overview(ctx context.Context, scope *int64) (*Overview, error) {
	now := s.now()
	today := bizday.DayOf(now)
	o := &Overview{Day: today, WeekStart: WeekOf(today), Term: TermOf(today), AsOf: now}
	first := o.Term.First
	if o.WeekStart.Before(first) {
		first = o.WeekStart
	}
	days, err := s.collected(ctx, statScope{dept: scope}, first, today, byDay)
	if err != nil {
		return nil, err
	}
	for _, g := range days {
		day, _ := time.Parse("2006-01-02", g.Key)
		if day.Equal(today) {
			o.Today.add(g.Figure)
		}
		if !day.Before(o.WeekStart) {
			o.Week.add(g.Figure)
		}
		if !day.Before(o.Term.First) {
			o.TermToDate.add(g.Figure)
		}
	}
	o.Refunds, err = s.SumRefunds(ctx, RefundSearch{SearchFilter{Scope: scope, Status: string(store.RefundSucceeded), From: o.Term.First, To: today}})
	if err != nil {
		return nil, err
	}
	// Still owed: from the maintained item totals (totals.go) rather than a sum over every
	// unpaid bill, which this strip, polled every 5 s by every open dashboard, would repeat.
	var owed struct {
		Count int64 `bun:"count"`
		Fen   int64 `bun:"fen"`
	}
	q := s.DB.NewSelect().TableExpr(itemTotalsSQL + " AS it").
		ColumnExpr("COALESCE(SUM(it.unpaid_bills), 0) AS count, COALESCE(SUM(it.outstanding_fen), 0) AS fen")
	if scope != nil {
		q = q.Where("it.item_id IN (?)", s.itemIDs(scope, false))
	}
	if err := q.Scan(ctx, &owed); err != nil {
		return nil, fmt.Errorf("reports: outstanding: %w", err)
	}
	o.Outstanding, o.OutstandingFen = owed.Count, owed.Fen
	return o, nil
}

// DayFigure is what was collected on one business day.
type DayFigure struct {
	Day time.Time
	Figure
}

// DailyCollected returns what was collected on each of the last days business days,
// oldest first, today last (days without money included, as zero).
func (s *Service) DailyCollected(ctx context.Context, scope *int64, days int) ([]DayFigure, error) {
	today := bizday.DayOf(s.now())
	first := today.AddDate(0, 0, -(days - 1))
	groups, err := s.collected(ctx, statScope{dept: scope}, first, today, byDay)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Figure{}
	for _, g := range groups {
		byKey[g.Key] = g.Figure
	}
	out := make([]DayFigure, 0, days)
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		out = append(out, DayFigure{Day: d, Figure: byKey[d.Format("2006-01-02")]})
	}
	return out, nil
}

// Share is what was collected under one department, item or channel.
type Share struct {
	ID   int64  // department or item id
	Key  string // channel name
	Name string // department or item name
	Figure
}

// CollectedByDepartment returns what each department collected over business days
// [first, last], most first.
func (s *Service) CollectedByDepartment(ctx context.Context, scope *int64, first, last time.Time) ([]Share, error) {
	shares, err := s.shares(ctx, scope, first, last, byDepartment)
	if err != nil {
		return nil, err
	}
	var depts []*store.Department
	if err := s.DB.NewSelect().Model(&depts).Column("id", "name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("reports: departments: %w", err)
	}
	names := map[int64]string{}
	for _, d := range depts {
		names[d.ID] = d.Name
	}
	for i := range shares {
		shares[i].Name = names[shares[i].ID]
	}
	return shares, nil
}

// CollectedByChannel returns what each channel collected over business days [first, last],
// most first.
func (s *Service) CollectedByChannel(ctx context.Context, scope *int64, first, last time.Time) ([]Share, error) {
	shares, err := s.shares(ctx, scope, first, last, byChannel)
	if err != nil {
		return nil, err
	}
	for i := range shares {
		shares[i].Name = billing.ChannelLabel(shares[i].Key)
	}
	return shares, nil
}

func (s *Service) shares(ctx context.Context, scope *int64, first, last time.Time, by statKey) ([]Share, error) {
	groups, err := s.collected(ctx, statScope{dept: scope}, first, last, by)
	if err != nil {
		return nil, err
	}
	out := make([]Share, 0, len(groups))
	for _, g := range groups {
		if g.CollectedFen != 0 || g.Count != 0 {
			out = append(out, Share{ID: g.ID, Key: g.Key, Figure: g.Figure})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].CollectedFen != out[j].CollectedFen {
			return out[i].CollectedFen > out[j].CollectedFen
		}
		return out[i].Key+fmt.Sprint(out[i].ID) < out[j].Key+fmt.Sprint(out[j].ID)
	})
	return out, nil
}

// ItemCollection is an item's bills added up: due, paid, still owed.
type ItemCollection struct {
	ID             int64  `bun:"id"`
	Code           string `bun:"code"`
	Name           string `bun:"name"`
	Bills          int64  `bun:"bills"`
	DueFen         int64  `bun:"due_fen"`
	PaidFen        int64  `bun:"paid_fen"`
	OutstandingFen int64  `bun:"outstanding_fen"`
}

// TopOutstandingItems returns the n items with the most money still owed on their bills,
// each with its bills (cancelled ones left out) added up as in CollectionByItem; from the
// maintained item totals (totals.go), not a sum over every unpaid bill.
func (s *Service) TopOutstandingItems(ctx context.Context, scope *int64, n int) ([]ItemCollection, error) {
	q := s.DB.NewSelect().TableExpr(itemTotalsSQL + " AS b").
		ColumnExpr("b.item_id AS id, b.bills, b.due_fen, b.paid_fen, b.outstanding_fen").
		Where("b.unpaid_bills > 0").
		OrderExpr("b.outstanding_fen DESC, b.item_id").Limit(int64(n))
	if scope != nil {
		q = q.Where("b.item_id IN (?)", s.itemIDs(scope, false))
	}
	return s.itemCollections(ctx, q)
}

// CollectionByItem returns, for the n approved items with the most money due, what their
// bills (cancelled ones left out) are due and have been paid.
func (s *Service) CollectionByItem(ctx context.Context, scope *int64, n int) ([]ItemCollection, error) {
	// From the maintained item totals (totals.go), not a sum over every bill.
	q := s.DB.NewSelect().TableExpr(itemTotalsSQL+" AS b").
		ColumnExpr("b.item_id AS id, b.bills, b.due_fen, b.paid_fen, b.outstanding_fen").
		Where("b.bills <> 0").
		Where("b.item_id IN (?)", s.itemIDs(scope, true)).
		OrderExpr("b.due_fen DESC, b.item_id").Limit(int64(n))
	return s.itemCollections(ctx, q)
}

// itemIDs selects the ids of the items in scope (nil: all), the approved ones only if asked.
func (s *Service) itemIDs(scope *int64, approved bool) *bun.SelectQuery {
	items := s.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("id")
	if scope != nil {
		items = items.Where("department_id = ?", *scope)
	}
	if approved {
		items = items.Where("status = ?", store.ItemApproved)
	}
	return items
}

func (s *Service) itemCollections(ctx context.Context, q *bun.SelectQuery) ([]ItemCollection, error) {
	var out []ItemCollection
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("reports: item totals: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	for i, it := range out {
		ids[i] = it.ID
	}
	var items []*store.ChargeItem
	if err := s.DB.NewSelect().Model(&items).Column("id", "code", "name").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("reports: item names: %w", err)
	}
	byID := map[int64]*store.ChargeItem{}
	for _, it := range items {
		byID[it.ID] = it
	}
	for i := range out {
		if it := byID[out[i].ID]; it != nil {
			out[i].Code, out[i].Name = it.Code, it.Name
		}
	}
	return out, nil
}

// ---------- the collected figures, from the snapshot and live ----------

type statKey string

const (
	byNone       statKey = ""
	byDay        statKey = "day"
	byDepartment statKey = "department"
	byItem       statKey = "item"
	byChannel    statKey = "channel"
)

// statScope narrows the collected figures: to a department (dept), to an item (item).
// ahead keeps days after today (a payment a company stamped ahead of our clock) and today
// in the range, computed live; otherwise the range ends today.
type statScope struct {
	dept  *int64
	item  int64
	ahead bool
}

// statGroup is a Figure under one key: a day (2006-01-02) or channel in Key, a department
// or item in ID.
type statGroup struct {
	Key string `bun:"k"`
	ID  int64  `bun:"gid"`
	Figure
}

// collected adds up what was collected over business days [first, last] (days after today
// hold nothing), grouped by one key. Closed days that have a snapshot are read from
// stats_daily; today and every day without a snapshot are computed from the payments.
func (s *Service) collected(ctx context.Context, scope statScope, first, last time.Time, by statKey) ([]statGroup, error) {
	today := bizday.DayOf(s.now())
	if last.After(today) && !scope.ahead {
		last = today
	}
	if first.After(last) {
		return nil, nil
	}
	var snapped []string
	err := s.DB.NewSelect().Model((*store.StatsDay)(nil)).ColumnExpr(s.dayText("day")+" AS k").
		Where("day >= ?", first).Where("day <= ?", last).Where("day < ?", today).Scan(ctx, &snapped)
	if err != nil {
		return nil, fmt.Errorf("reports: stats days: %w", err)
	}
	have := make(map[string]bool, len(snapped))
	for _, d := range snapped {
		have[d] = true
	}
	sums := map[string]*statGroup{}
	var order []string
	add := func(gs []statGroup) {
		for _, g := range gs {
			k := g.Key + "\x00" + fmt.Sprint(g.ID)
			if sums[k] == nil {
				sums[k] = &statGroup{Key: g.Key, ID: g.ID}
				order = append(order, k)
			}
			sums[k].add(g.Figure)
		}
	}
	if len(snapped) > 0 {
		var gs []statGroup
		key, id := s.statGroupCols(by, "sd.day", "sd.department_id", "sd.item_id", "sd.channel")
		q := s.DB.NewSelect().TableExpr("stats_daily AS sd").ColumnExpr(key+" AS k, "+id+" AS gid").
			ColumnExpr("SUM(sd.line_count) AS line_count, SUM(sd.collected_fen) AS collected_fen, SUM(sd.overpaid_fen) AS overpaid_fen").
			Where("sd.day >= ?", first).Where("sd.day <= ?", last).Where("sd.day < ?", today)
		if scope.dept != nil {
			q = q.Where("sd.department_id = ?", *scope.dept)
		}
		if scope.item != 0 {
			q = q.Where("sd.item_id = ?", scope.item)
		}
		if by != byNone {
			q = q.GroupExpr(groupOf(key, id))
		}
		if err := q.Scan(ctx, &gs); err != nil {
			return nil, fmt.Errorf("reports: stats daily: %w", err)
		}
		add(gs)
	}
	// Live: each run of consecutive days without a snapshot, in one query.
	for d := first; !d.After(last); {
		if have[d.Format("2006-01-02")] {
			d = d.AddDate(0, 0, 1)
			continue
		}
		runEnd := d
		for next := d.AddDate(0, 0, 1); !next.After(last) && !have[next.Format("2006-01-02")]; next = next.AddDate(0, 0, 1) {
			runEnd = next
		}
		gs, err := s.collectedLive(ctx, scope, d, runEnd, by)
		if err != nil {
			return nil, err
		}
		add(gs)
		d = runEnd.AddDate(0, 0, 1)
	}
	out := make([]statGroup, 0, len(order))
	for _, k := range order {
		out = append(out, *sums[k])
	}
	return out, nil
}

// collectedLive is the payment search over days [first, last], added up by key.
func (s *Service) collectedLive(ctx context.Context, scope statScope, first, last time.Time, by statKey) ([]statGroup, error) {
	var gs []statGroup
	key, id := s.statGroupCols(by, "", "ci.department_id", "ci.id", "p.channel")
	q := s.paymentSearchQuery(PaymentSearch{SearchFilter{Scope: scope.dept, ItemID: scope.item, From: first, To: last}}).
		ColumnExpr(key + " AS k, " + id + " AS gid").
		ColumnExpr("COUNT(*) AS line_count, COALESCE(SUM(" + lineCreditedSQL + "), 0) AS collected_fen").
		ColumnExpr("COALESCE(SUM(ol.amount_fen - " + lineCreditedSQL + "), 0) AS overpaid_fen")
	if by != byNone {
		q = q.GroupExpr(groupOf(key, id))
	}
	if err := q.Scan(ctx, &gs); err != nil {
		return nil, fmt.Errorf("reports: collected: %w", err)
	}
	return gs, nil
}

// statGroupCols returns the SQL of the text key and the id key of a grouping. dayCol ""
// means the day of p.paid_at in Asia/bizday.Shanghai.
func (s *Service) statGroupCols(by statKey, dayCol, deptCol, itemCol, channelCol string) (key, id string) {
	switch by {
	case byDay:
		if dayCol == "" {
			return s.shanghaiDay("p.paid_at"), "0"
		}
		return s.dayText(dayCol), "0"
	case byDepartment:
		return "''", deptCol
	case byItem:
		return "''", itemCol
	case byChannel:
		return channelCol, "0"
	}
	return "''", "0"
}

// groupOf is the GROUP BY of a grouping: whichever of its keys is not a constant (SQLite
// reads a number in GROUP BY as a column position).
func groupOf(key, id string) string {
	if id == "0" {
		return key
	}
	return id
}

// shanghaiDay is the SQL of the business day (2006-01-02) of a UTC timestamp column.
func (s *Service) shanghaiDay(col string) string {
	if store.DialectOf(s.DB) == store.MySQL {
		return "DATE_FORMAT(" + col + " + INTERVAL 8 HOUR, '%Y-%m-%d')"
	}
	return "date(" + col + ", '+8 hours')"
}

// dayText is the SQL of a DATE column as text 2006-01-02.
func (s *Service) dayText(col string) string {
	if store.DialectOf(s.DB) == store.MySQL {
		return "DATE_FORMAT(" + col + ", '%Y-%m-%d')"
	}
	return "date(" + col + ")"
}

// ---------- the snapshot ----------

// SnapshotDay writes the stats_daily rows of one closed business day (replacing any it had):
// the payment search of that day added up by department, item and channel.
func (s *Service) SnapshotDay(ctx context.Context, day time.Time) error {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	now := s.now()
	if !day.Before(bizday.DayOf(now)) {
		return fault.New(fault.ErrInvalid, "day_open", "只能为已结束的日期生成统计快照")
	}
	var rows []*store.StatsDaily
	err := s.paymentSearchQuery(PaymentSearch{SearchFilter{From: day, To: day}}).
		ColumnExpr("ci.department_id, ci.id AS item_id, p.channel, COUNT(*) AS line_count").
		ColumnExpr("SUM("+lineCreditedSQL+") AS collected_fen, SUM(ol.amount_fen - "+lineCreditedSQL+") AS overpaid_fen").
		GroupExpr("ci.department_id, ci.id, p.channel").Scan(ctx, &rows)
	if err != nil {
		return fmt.Errorf("reports: snapshot %s: %w", day.Format("2006-01-02"), err)
	}
	for _, r := range rows {
		r.Day = day
	}
	return store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*store.StatsDaily)(nil)).Where("day = ?", day).Exec(ctx); err != nil {
			return fmt.Errorf("reports: snapshot: %w", err)
		}
		if _, err := tx.NewDelete().Model((*store.StatsDay)(nil)).Where("day = ?", day).Exec(ctx); err != nil {
			return fmt.Errorf("reports: snapshot: %w", err)
		}
		if len(rows) > 0 {
			if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
				return fmt.Errorf("reports: snapshot: %w", err)
			}
		}
		if _, err := tx.NewInsert().Model(&store.StatsDay{Day: day, ComputedAt: now}).Exec(ctx); err != nil {
			return fmt.Errorf("reports: snapshot: %w", err)
		}
		return nil
	})
}

// SnapshotSettle is how long after its end a day's snapshot is still recomputed, so that
// late notifications and payments repaired by reconciliation land in it.
const SnapshotSettle = 48 * time.Hour

// RefreshStats snapshots the closed days of the last back days that have no snapshot, or
// whose snapshot was taken less than SnapshotSettle after the day ended, and returns how
// many days it wrote.
func (s *Service) RefreshStats(ctx context.Context, back int) (int, error) {
	today := bizday.DayOf(s.now())
	var have []*store.StatsDay
	if err := s.DB.NewSelect().Model(&have).Where("day >= ?", today.AddDate(0, 0, -back)).Scan(ctx); err != nil {
		return 0, fmt.Errorf("reports: stats days: %w", err)
	}
	settled := map[string]bool{}
	for _, d := range have {
		end := bizday.DayStart(d.Day.AddDate(0, 0, 1))
		settled[d.Day.Format("2006-01-02")] = !d.ComputedAt.Before(end.Add(SnapshotSettle))
	}
	n := 0
	for d := today.AddDate(0, 0, -back); d.Before(today); d = d.AddDate(0, 0, 1) {
		if settled[d.Format("2006-01-02")] {
			continue
		}
		if err := s.SnapshotDay(ctx, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Today is the current business day.
func (s *Service) Today() time.Time { return bizday.DayOf(s.now()) }
