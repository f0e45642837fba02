package bills

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/money"
	"campuspay/app/roster"
	"campuspay/store"
)

// BillInput is one bill as a department types it (or as one row of an imported file
// says it): a payer on the roster by payer number, or an off-campus payer by name and
// phone; the amount in yuan (for items that are not fixed-price); an optional note, due
// date and the department's own bill number.
type BillInput struct {
	PayerNo     string
	Name        string
	Phone       string
	Amount      string
	Description string
	DueDate     string
	BillNo      string
}

// payerRef is a payer on the roster.
type payerRef struct {
	ID    int64
	Name  string
	Phone string
}

// billChecker validates bills for one item against the roster and against the bills the
// item already has (and those seen earlier in the same file). It holds everything in maps
// so that a file of 100,000 rows is checked without a query per row.
type billChecker struct {
	item    *store.ChargeItem
	payers  map[string]payerRef // payer number → payer, for the numbers asked about
	taken   map[string]int      // payer key → line that took it (0: a bill in the database)
	billNos map[string]int      // bill number → line that took it (0: in the database)
}

var billNoRE = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// check validates one bill and returns it ready to insert, or the problems by field. line
// is the row's line in a file (0 for the form).
func (c *billChecker) check(line int, in BillInput, now time.Time) (*store.Bill, fault.FormErrors) {
	errs := fault.FormErrors{}
	in.PayerNo, in.Name, in.Phone = strings.TrimSpace(in.PayerNo), strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone)
	b := &store.Bill{ItemID: c.item.ID, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
	key := ""
	switch {
	case in.PayerNo != "":
		p, ok := c.payers[in.PayerNo]
		if !ok {
			errs["payer_no"] = fmt.Sprintf("学号/工号 %s 不在缴费人名册中", in.PayerNo)
			break
		}
		if in.Name != "" && in.Name != p.Name {
			errs["name"] = fmt.Sprintf("姓名「%s」与名册不符（名册为「%s」）", in.Name, p.Name)
		}
		id := p.ID
		b.PayerID, b.PayerType, b.PayerName, b.PayerPhone = &id, "internal", p.Name, p.Phone
		key = "u" + strconv.FormatInt(p.ID, 10)
	case in.Name == "" && in.Phone == "":
		errs["payer_no"] = "请填写学号/工号；校外人员填写姓名和手机号"
	case c.item.Audience == store.AudienceInternal:
		errs["payer_no"] = "本项目只面向校内人员：请填写学号/工号"
	default:
		if n := utf8.RuneCountInString(in.Name); n < 2 || n > 50 {
			errs["name"] = "校外人员姓名须为 2 到 50 个字"
		}
		if !roster.ValidPhone(in.Phone) {
			errs["phone"] = "校外人员须填写 11 位手机号码"
		}
		b.PayerType, b.PayerName, b.PayerPhone = "external", in.Name, in.Phone
		key = "p" + in.Phone
	}
	if key != "" {
		if at, dup := c.taken[key]; dup && at == 0 {
			errs["payer_no"] = "该缴费人在本项目下已有账单"
		} else if dup {
			errs["payer_no"] = fmt.Sprintf("与第 %d 行是同一缴费人", at)
		}
	}

	b.AmountDueFen = c.amount(errs, strings.TrimSpace(in.Amount))

	if d := strings.TrimSpace(in.Description); utf8.RuneCountInString(d) > 200 {
		errs["description"] = "说明不能超过 200 个字"
	} else {
		b.Description = d
	}
	if raw := strings.TrimSpace(in.DueDate); raw != "" {
		if day, ok := imports.ParseDate(raw); ok {
			b.DueDate = &day
		} else {
			errs["due_date"] = fmt.Sprintf("截止日期「%s」格式不正确，如 2026-09-30", store.Clip(raw, 30))
		}
	}
	if no := strings.TrimSpace(in.BillNo); no != "" {
		if !billNoRE.MatchString(no) {
			errs["bill_no"] = "账单号只能由字母、数字、下划线或连字符组成，不超过 64 位"
		} else if at, dup := c.billNos[no]; dup && at == 0 {
			errs["bill_no"] = fmt.Sprintf("账单号 %s 已存在", no)
		} else if dup {
			errs["bill_no"] = fmt.Sprintf("账单号 %s 与第 %d 行重复", no, at)
		}
		b.BillNo = no
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if key != "" {
		c.taken[key] = line
	}
	if b.BillNo != "" {
		c.billNos[b.BillNo] = line
	}
	return b, nil
}

// amount is a bill's amount as the item's pricing wants it.
func (c *billChecker) amount(errs fault.FormErrors, raw string) int64 {
	it := c.item
	if it.Pricing == store.PricingFixed {
		if raw != "" {
			if fen, err := money.ParseYuan(raw); err != nil || fen != it.PriceFen {
				errs["amount"] = fmt.Sprintf("本项目为固定金额 %s，金额可不填", money.Format(it.PriceFen))
			}
		}
		return it.PriceFen
	}
	if raw == "" {
		errs["amount"] = "请填写金额"
		return 0
	}
	fen, err := money.ParseYuan(raw)
	var pe *money.ParseError
	switch {
	case errors.As(err, &pe):
		errs["amount"] = fmt.Sprintf("金额「%s」：%s", store.Clip(raw, 30), pe.Message)
	case err != nil:
		errs["amount"] = "金额格式不正确"
	case fen <= 0:
		errs["amount"] = "金额须大于 0"
	case fen > catalog.MaxBillAmountFen:
		errs["amount"] = "金额不能超过 " + money.Format(catalog.MaxBillAmountFen)
	case it.Pricing == store.PricingPayerEntered && (fen < it.MinFen || fen > it.MaxFen):
		errs["amount"] = fmt.Sprintf("金额须在 %s 到 %s 之间", money.Format(it.MinFen), money.Format(it.MaxFen))
	}
	return fen
}

// newBillChecker prepares a checker for item: the payers whose numbers are asked about,
// and the payers and bill numbers already taken in the database.
func (s *Service) newBillChecker(ctx context.Context, db bun.IDB, item *store.ChargeItem, payerNos, billNos []string) (*billChecker, error) {
	c := &billChecker{item: item, payers: make(map[string]payerRef, len(payerNos)), taken: map[string]int{}, billNos: map[string]int{}}
	for chunk := range slices.Chunk(payerNos, 1000) {
		var rows []struct {
			ID      int64  `bun:"id"`
			PayerNo string `bun:"payer_no"`
			Name    string `bun:"name"`
			Phone   string `bun:"phone"`
		}
		if err := db.NewSelect().Model((*store.User)(nil)).Column("id", "payer_no", "name", "phone").
			Where("payer_no IN (?)", bun.In(chunk)).Scan(ctx, &rows); err != nil {
			return nil, fmt.Errorf("bills: roster: %w", err)
		}
		for _, r := range rows {
			c.payers[r.PayerNo] = payerRef{ID: r.ID, Name: r.Name, Phone: r.Phone}
		}
	}
	if err := c.loadTaken(ctx, db); err != nil {
		return nil, err
	}
	for chunk := range slices.Chunk(billNos, 1000) {
		var nos []string
		if err := db.NewSelect().Model((*store.Bill)(nil)).Column("bill_no").
			Where("source_client = ''").Where("bill_no IN (?)", bun.In(chunk)).Scan(ctx, &nos); err != nil {
			return nil, fmt.Errorf("bills: bill numbers: %w", err)
		}
		for _, no := range nos {
			c.billNos[no] = 0
		}
	}
	return c, nil
}

// loadTaken reads which payers already have a live bill under the item.
func (c *billChecker) loadTaken(ctx context.Context, db bun.IDB) error {
	rows, err := db.NewSelect().Model((*store.Bill)(nil)).Column("payer_id", "payer_phone").
		Where("item_id = ?", c.item.ID).Where("status <> ?", store.BillCancelled).Rows(ctx)
	if err != nil {
		return fmt.Errorf("bills: item payers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id *int64
		var phone string
		if err := rows.Scan(&id, &phone); err != nil {
			return fmt.Errorf("bills: item payers: %w", err)
		}
		if id != nil {
			c.taken["u"+strconv.FormatInt(*id, 10)] = 0
		} else if phone != "" {
			c.taken["p"+phone] = 0
		}
	}
	return rows.Err()
}

// itemTakesBills reports why bills can't be loaded under an item now, or "".
func itemTakesBills(item *store.ChargeItem) string {
	if item.Status == store.ItemClosed || item.Status == store.ItemRejected {
		return "项目" + catalog.ItemStatusLabel(item.Status) + "，不能再添加账单"
	}
	return ""
}

// AddBill adds one bill under an item, as typed in the console form. The bill number is
// made up unless given. Problems with the form come back as fault.FormErrors.
func (s *Service) AddBill(ctx context.Context, itemID int64, in BillInput, scope *int64, actor string) (*store.Bill, error) {
	item, err := s.catalog().Item(ctx, itemID, scope)
	if err != nil {
		return nil, err
	}
	if why := itemTakesBills(item); why != "" {
		return nil, fault.New(fault.ErrConflict, "item_closed", "%s", why)
	}
	now := s.now()
	var bill *store.Bill
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		// Lock the item: two departments' clerks adding the same payer at once queue here.
		if err := store.ForUpdate(tx.NewSelect().Model((*store.ChargeItem)(nil)).Column("id").Where("id = ?", item.ID)).Scan(ctx, new(int64)); err != nil {
			return fmt.Errorf("bills: lock item: %w", err)
		}
		c, err := s.newBillChecker(ctx, tx, item, nonEmpty(strings.TrimSpace(in.PayerNo)), nonEmpty(strings.TrimSpace(in.BillNo)))
		if err != nil {
			return err
		}
		b, errs := c.check(0, in, now)
		if len(errs) > 0 {
			return errs
		}
		b.Source = "console"
		if b.BillNo == "" {
			b.BillNo = consoleBillNo(item.Code, now)
		}
		if _, err := tx.NewInsert().Model(b).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return fault.FormErrors{"bill_no": "账单号已存在"}
			}
			return fmt.Errorf("bills: insert bill: %w", err)
		}
		bill = b
		detail := fmt.Sprintf("item=%s payer=%s amount=%d", item.Code, b.PayerName, b.AmountDueFen)
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "bill.created", TargetType: "bill", TargetID: b.BillNo, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return bill, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// consoleBillNo makes the number of a bill typed in the console: the item code, C, the
// bizday.Shanghai time to the second and four random digits (at most 51 characters).
func consoleBillNo(code string, now time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(10_000))
	if err != nil {
		panic(fmt.Sprintf("bills: crypto/rand: %v", err))
	}
	return fmt.Sprintf("%s-C%s%04d", code, now.In(bizday.Shanghai).Format("060102150405"), n.Int64())
}

// BillRow is a bill in the console's lists: the bill, its payer's number, and whether it
// may be cancelled now.
type BillRow struct {
	store.Bill  `bun:",extend"`
	PayerNo     string `bun:"payer_no"`
	Cancellable bool   `bun:"-"`
}

// BillFilter narrows an item's bill list.
type BillFilter struct {
	ItemID int64
	Status []store.BillStatus
	Offset int
	Limit  int
}

// ItemBills returns one page of an item's bills (oldest first) and how many match. The
// caller has checked the item is in scope (Item).
func (s *Service) ItemBills(ctx context.Context, f BillFilter) ([]*BillRow, int, error) {
	var rows []*BillRow
	q := s.DB.NewSelect().Model(&rows).ColumnExpr("bill.*").ColumnExpr("COALESCE(u.payer_no, '') AS payer_no").
		Join("LEFT JOIN users AS u ON u.id = bill.payer_id").Where("bill.item_id = ?", f.ItemID)
	if len(f.Status) > 0 {
		q = q.Where("bill.status IN (?)", bun.In(f.Status))
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("bill.id").Offset(int64(f.Offset)).Limit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("bills: item bills: %w", err)
	}
	now := s.now()
	for _, r := range rows {
		r.Cancellable = billCancellable(&r.Bill, now)
	}
	return rows, int(n), nil
}

// billCancellable reports whether a bill may be cancelled at now: nothing paid, and no
// order holding it.
func billCancellable(b *store.Bill, now time.Time) bool {
	return b.Status == store.BillUnpaid && b.AmountPaidFen == 0 && (b.HeldByOrderID == nil || b.HeldUntil == nil || !b.HeldUntil.After(now))
}

// CancelBill cancels an unpaid bill that no open order is paying. The bill stays (with
// status cancelled) so that its number cannot be reused by mistake.
func (s *Service) CancelBill(ctx context.Context, billID int64, scope *int64, actor string) (*store.Bill, error) {
	bill := new(store.Bill)
	if err := s.DB.NewSelect().Model(bill).Relation("Item").Where("bill.id = ?", billID).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "账单不存在")
	}
	if scope != nil && bill.Item.DepartmentID != *scope {
		return nil, fault.New(fault.ErrNotFound, "not_found", "账单不存在")
	}
	now := s.now()
	if !billCancellable(bill, now) {
		return nil, fault.New(fault.ErrConflict, "bill_not_cancellable", "账单%s或正在支付中，不能取消", billing.BillStatusLabel(bill.Status))
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.Bill)(nil)).
			Set("status = ?", store.BillCancelled).Set("version = version + 1").Set("updated_at = ?", now).
			Where("id = ?", bill.ID).Where("status = ?", store.BillUnpaid).Where("amount_paid_fen = 0").
			Where("(held_by_order_id IS NULL OR held_until <= ?)", now).
			Where("NOT EXISTS (SELECT 1 FROM order_lines AS ol JOIN orders AS o ON o.id = ol.order_id WHERE ol.bill_id = ? AND o.status = ?)", bill.ID, store.OrderOpen).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("bills: cancel bill: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrConflict, "bill_not_cancellable", "账单已缴费或正在支付中，不能取消")
		}
		bill.Status = store.BillCancelled
		if bill.SourceClient != "" {
			if err := billing.QueueBillEvent(ctx, tx, bill, "bill.cancelled", now); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("item=%s payer=%s amount=%d", bill.Item.Code, bill.PayerName, bill.AmountDueFen)
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "bill.cancelled", TargetType: "bill", TargetID: bill.BillNo, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return bill, nil
}
