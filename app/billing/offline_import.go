package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/money"
	"campuspay/store"
)

// ImportOffline starts importing an offline collection file (see offline.go for its rules)
// and returns the job at once; the rows are read, checked and applied in the background
// (StartImport), and the page polls the job (OfflineImport). Every row is checked first,
// against the file and the database; one bad row and nothing is applied. Otherwise every
// row is applied in one transaction, which locks the bills and checks them again, so the
// import is all or nothing even when a payment arrives meanwhile.
func (s *Service) ImportOffline(ctx context.Context, fileName string, data []byte, actor string) (*store.ImportJob, error) {
	if len(data) == 0 {
		return nil, fault.New(fault.ErrInvalid, "file_empty", "请选择要上传的文件")
	}
	job := &store.ImportJob{Kind: ImportKindOffline, FileName: store.Clip(fileName, 200), CreatedBy: actor}
	err := s.imports().Start(ctx, job, func(ctx context.Context, run *imports.Run) error {
		res, err := s.importOffline(ctx, run, fileName, data, actor)
		if err != nil {
			return err
		}
		run.Finish(fmt.Sprintf("已导入 %d 笔线下收款，合计 %s，开具票据 %d 张", res.Count, money.Format(res.TotalFen), res.Receipts))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// OfflineResult is what an applied offline import did.
type OfflineResult struct {
	Count    int
	TotalFen int64
	Receipts int
}

// offlineChunk is how many rows one multi-row statement writes (or one IN list reads).
const offlineChunk = 1000

func (s *Service) importOffline(ctx context.Context, run *imports.Run, fileName string, data []byte, actor string) (OfflineResult, error) {
	now := s.now()
	recs, err := readOffline(fileName, data, bizday.DayOf(now))
	if err != nil {
		return OfflineResult{}, err
	}
	run.Stage(store.ImportValidating, len(recs))
	st := newOfflineState()
	if err := st.find(ctx, s.DB, recs); err != nil {
		return OfflineResult{}, err
	}
	st.check(recs, now, run.Progress)
	if bad := offlineProblems(recs); bad != nil {
		return OfflineResult{}, bad
	}

	run.Stage(store.ImportImporting, len(recs))
	var res OfflineResult
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		// Lock the bills (in id order, as every payment does) and look at them again, with
		// the references: what changed since the check makes its rows bad after all.
		if err := st.lock(ctx, tx, recs); err != nil {
			return err
		}
		st.check(recs, s.now(), nil)
		if bad := offlineProblems(recs); bad != nil {
			return bad
		}
		var err error
		res, err = s.applyOffline(ctx, tx, run, recs, st, actor, now)
		return err
	})
	if err == nil && res.Receipts > 0 {
		// The import is done once its receipts have their numbers. The money is in either
		// way: should numbering fail now, the sweep job numbers them later.
		if nerr := s.numberNow(ctx); nerr != nil {
			s.log().Warn("offline import: receipts left for the numbering sweep", "err", nerr)
		}
	}
	return res, err
}

// offlineState is what the checks of a file need from the database, read for all rows at
// once: the bills the rows name, their items, and the references already imported.
type offlineState struct {
	bills       map[int64]*offlineBill
	items       map[int64]*store.ChargeItem
	byNo        map[string][]int64 // bill number → bills
	byPayerItem map[string][]int64 // payer number + item code → live bills
	used        map[string]time.Time
	locked      map[int64]bool // the bills locked for writing, once locked
}

// offlineBill is a bill with its payer's number and its item's code.
type offlineBill struct {
	store.Bill
	PayerNo  string
	ItemCode string
}

func newOfflineState() *offlineState {
	return &offlineState{bills: map[int64]*offlineBill{}, items: map[int64]*store.ChargeItem{},
		byNo: map[string][]int64{}, byPayerItem: map[string][]int64{}, used: map[string]time.Time{}}
}

func payerItemKey(payerNo, itemCode string) string { return payerNo + "\x00" + itemCode }

// find reads the bills, items and used references the records name. Every read goes
// through a unique key or the bills' (payer, status) index, in chunks, whatever the size of
// the bills table: bill numbers by (source_client, bill_no) for each source client, payers by
// number, and then their bills under the named items.
func (st *offlineState) find(ctx context.Context, db bun.IDB, recs []*OfflineRecord) error {
	var billNos, payerNos, codes, refs []string
	seen := map[string]bool{}
	add := func(list *[]string, kind, v string) {
		if v != "" && !seen[kind+v] {
			seen[kind+v] = true
			*list = append(*list, v)
		}
	}
	for _, r := range recs {
		if len(r.problems) > 0 {
			continue
		}
		if r.BillNo != "" {
			add(&billNos, "b", r.BillNo)
		} else {
			add(&payerNos, "p", r.PayerNo)
		}
		add(&codes, "c", r.ItemCode)
		add(&refs, "r", r.Reference)
	}
	// Items by code (few), payers by number.
	codeOf := map[int64]string{}
	var itemIDs []int64
	for chunk := range slices.Chunk(codes, offlineChunk) {
		var items []*store.ChargeItem
		if err := db.NewSelect().Model(&items).Where("code IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: offline items: %w", err)
		}
		for _, it := range items {
			st.items[it.ID], codeOf[it.ID] = it, it.Code
			itemIDs = append(itemIDs, it.ID)
		}
	}
	payerNo := map[int64]string{}
	for chunk := range slices.Chunk(payerNos, offlineChunk) {
		var users []store.User
		if err := db.NewSelect().Model(&users).Column("id", "payer_no").Where("payer_no IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: offline payers: %w", err)
		}
		for _, u := range users {
			payerNo[u.ID] = u.PayerNumber()
		}
	}
	keep := func(b *store.Bill) *offlineBill {
		if ob, ok := st.bills[b.ID]; ok {
			return ob
		}
		ob := &offlineBill{Bill: *b}
		st.bills[b.ID] = ob
		return ob
	}
	if len(payerNo) > 0 && len(itemIDs) > 0 {
		ids := make([]int64, 0, len(payerNo))
		for id := range payerNo {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for chunk := range slices.Chunk(ids, offlineChunk) {
			var bills []*store.Bill
			if err := db.NewSelect().Model(&bills).Where("payer_id IN (?)", bun.In(chunk)).Where("item_id IN (?)", bun.In(itemIDs)).
				Where("status <> ?", store.BillCancelled).OrderExpr("id").Scan(ctx); err != nil {
				return fmt.Errorf("billing: offline bills by payer: %w", err)
			}
			for _, b := range bills {
				ob := keep(b)
				ob.PayerNo, ob.ItemCode = payerNo[*b.PayerID], codeOf[b.ItemID]
				k := payerItemKey(ob.PayerNo, ob.ItemCode)
				st.byPayerItem[k] = append(st.byPayerItem[k], b.ID)
			}
		}
	}
	if len(billNos) > 0 {
		var clients []string
		if err := db.NewSelect().Model((*store.Bill)(nil)).Distinct().Column("source_client").Scan(ctx, &clients); err != nil {
			return fmt.Errorf("billing: bill sources: %w", err)
		}
		var found []*offlineBill
		for chunk := range slices.Chunk(billNos, offlineChunk) {
			var bills []*store.Bill
			if err := db.NewSelect().Model(&bills).Where("source_client IN (?)", bun.In(clients)).
				Where("bill_no IN (?)", bun.In(chunk)).OrderExpr("id").Scan(ctx); err != nil {
				return fmt.Errorf("billing: offline bills by number: %w", err)
			}
			for _, b := range bills {
				ob := keep(b)
				st.byNo[b.BillNo] = append(st.byNo[b.BillNo], b.ID)
				found = append(found, ob)
			}
		}
		if err := st.nameBills(ctx, db, found); err != nil {
			return err
		}
	}
	if err := st.loadItems(ctx, db); err != nil {
		return err
	}
	return st.loadUsed(ctx, db, refs)
}

// nameBills fills in the payer number and item code of bills found by their number.
func (st *offlineState) nameBills(ctx context.Context, db bun.IDB, bills []*offlineBill) error {
	var payers []int64
	for _, b := range bills {
		if b.PayerID != nil {
			payers = append(payers, *b.PayerID)
		}
	}
	slices.Sort(payers)
	numbers := map[int64]string{}
	for chunk := range slices.Chunk(slices.Compact(payers), offlineChunk) {
		var users []store.User
		if err := db.NewSelect().Model(&users).Column("id", "payer_no").Where("id IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: offline bill payers: %w", err)
		}
		for _, u := range users {
			numbers[u.ID] = u.PayerNumber()
		}
	}
	if err := st.loadItems(ctx, db); err != nil {
		return err
	}
	for _, b := range bills {
		if b.PayerID != nil {
			b.PayerNo = numbers[*b.PayerID]
		}
		if it := st.items[b.ItemID]; it != nil {
			b.ItemCode = it.Code
		}
	}
	return nil
}

func (st *offlineState) loadItems(ctx context.Context, db bun.IDB) error {
	var ids []int64
	for _, b := range st.bills {
		if _, ok := st.items[b.ItemID]; !ok && !slices.Contains(ids, b.ItemID) {
			ids = append(ids, b.ItemID)
		}
	}
	for chunk := range slices.Chunk(ids, offlineChunk) {
		var items []*store.ChargeItem
		if err := db.NewSelect().Model(&items).Where("id IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: offline items: %w", err)
		}
		for _, it := range items {
			st.items[it.ID] = it
		}
	}
	return nil
}

func (st *offlineState) loadUsed(ctx context.Context, db bun.IDB, refs []string) error {
	st.used = map[string]time.Time{}
	for chunk := range slices.Chunk(refs, offlineChunk) {
		var rows []store.OfflineCollection
		if err := db.NewSelect().Model(&rows).Column("method", "reference", "collected_on").
			Where("reference IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: offline references: %w", err)
		}
		for _, r := range rows {
			st.used[r.Method+":"+r.Reference] = r.CollectedOn
		}
	}
	return nil
}

// lock locks the records' bills inside tx, in id order, and reads them and the used
// references again.
func (st *offlineState) lock(ctx context.Context, tx bun.Tx, recs []*OfflineRecord) error {
	var ids []int64
	var refs []string
	for _, r := range recs {
		ids = append(ids, r.billID)
		refs = append(refs, r.Reference)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	st.locked = make(map[int64]bool, len(ids))
	for chunk := range slices.Chunk(ids, offlineChunk) {
		var rows []*store.Bill
		if err := store.ForUpdate(tx.NewSelect().Model(&rows).Where("id IN (?)", bun.In(chunk)).OrderExpr("id")).Scan(ctx); err != nil {
			return fmt.Errorf("billing: lock offline bills: %w", err)
		}
		for _, b := range rows {
			st.bills[b.ID].Bill = *b // payer and item never change: keep their number and code
			st.locked[b.ID] = true
		}
	}
	st.items = map[int64]*store.ChargeItem{}
	if err := st.loadItems(ctx, tx); err != nil {
		return err
	}
	return st.loadUsed(ctx, tx, refs)
}

// check finds each record's bill and checks the record against it, the item and the used
// references, counting earlier rows of the same file against the same bill. progress, when
// set, hears how many rows are through.
func (st *offlineState) check(recs []*OfflineRecord, now time.Time, progress func(int)) {
	remaining := map[int64]int64{}
	for i, r := range recs {
		if progress != nil {
			progress(i + 1)
		}
		if len(r.problems) > 0 {
			continue
		}
		b := st.resolve(r)
		if b == nil {
			continue
		}
		r.billID = b.ID
		if st.locked != nil && !st.locked[b.ID] {
			r.bad("账单在校验后发生了变化，请重新上传")
			continue
		}
		if _, ok := remaining[b.ID]; !ok {
			remaining[b.ID] = b.OutstandingFen()
		}
		left := remaining[b.ID]
		if why := offlinePayable(b, st.items[b.ItemID], r.CollectedOn, now); why != "" {
			r.bad("%s", why)
		} else if r.AmountFen > left {
			r.bad("金额 %s 超过账单待缴金额 %s", money.Format(r.AmountFen), money.Format(left))
		} else if it := st.items[b.ItemID]; !it.PartialAllowed && r.AmountFen != left {
			r.bad("项目「%s」不允许部分缴费，须一次缴清 %s", it.Name, money.Format(left))
		}
		if day, used := st.used[r.TradeNo()]; used {
			r.bad("%s凭证号 %s 已导入过（收款日期 %s），不能重复入账", OfflineMethodLabel(r.Method), r.Reference, offlineDay(day))
		}
		if len(r.problems) == 0 {
			remaining[b.ID] = left - r.AmountFen
		}
	}
}

// resolve finds the bill a record names, or notes why it can't.
func (st *offlineState) resolve(r *OfflineRecord) *offlineBill {
	if r.BillNo != "" {
		ids := st.byNo[r.BillNo]
		switch {
		case len(ids) == 0:
			r.bad("账单号 %s 不存在", r.BillNo)
			return nil
		case len(ids) > 1:
			r.bad("账单号 %s 对应多笔账单（来自不同接入系统），请改填学号/工号和项目编码", r.BillNo)
			return nil
		}
		b := st.bills[ids[0]]
		if (r.PayerNo != "" && r.PayerNo != b.PayerNo) || (r.ItemCode != "" && r.ItemCode != b.ItemCode) {
			r.bad("账单号 %s 与所填学号/工号或项目编码不符", r.BillNo)
			return nil
		}
		return b
	}
	ids := st.byPayerItem[payerItemKey(r.PayerNo, r.ItemCode)]
	if len(ids) == 0 {
		r.bad("学号/工号 %s 在项目 %s 下没有账单", r.PayerNo, r.ItemCode)
		return nil
	}
	var payable []int64
	for _, id := range ids {
		if s := st.bills[id].Status; s == store.BillUnpaid || s == store.BillPartial {
			payable = append(payable, id)
		}
	}
	switch len(payable) {
	case 0:
		return st.bills[ids[0]] // its status says why
	case 1:
		return st.bills[payable[0]]
	}
	r.bad("学号/工号 %s 在项目 %s 下有多笔待缴账单，请填写账单号", r.PayerNo, r.ItemCode)
	return nil
}

// offlinePayable reports why bill b can't take money collected offline on day, or "".
func offlinePayable(b *offlineBill, item *store.ChargeItem, day, now time.Time) string {
	switch b.Status {
	case store.BillPaid:
		return "账单已缴清"
	case store.BillRefunded:
		return "账单已退款"
	case store.BillCancelled:
		return "账单已取消"
	}
	if item == nil {
		return "账单的收费项目不存在"
	}
	switch item.Status {
	case store.ItemApproved, store.ItemSuspended, store.ItemClosed:
	default:
		return "收费项目「" + item.Name + "」未经审批，不能收款"
	}
	if item.OpensAt != nil && !bizday.DayStart(day.AddDate(0, 0, 1)).After(*item.OpensAt) {
		return fmt.Sprintf("收款日期 %s 早于项目开始缴费时间（%s）", offlineDay(day), item.OpensAt.In(bizday.Shanghai).Format("2006-01-02 15:04"))
	}
	if item.ClosesAt != nil && !bizday.DayStart(day).Before(*item.ClosesAt) {
		return fmt.Sprintf("收款日期 %s 在项目截止缴费时间（%s）之后", offlineDay(day), item.ClosesAt.In(bizday.Shanghai).Format("2006-01-02 15:04"))
	}
	if b.HeldByOrderID != nil && b.HeldUntil != nil && b.HeldUntil.After(now) {
		return fmt.Sprintf("该账单正在线上支付中（订单最迟 %s 关闭），请稍后再导入", b.HeldUntil.In(bizday.Shanghai).Format("15:04"))
	}
	return ""
}

// offlineApplied is one record as written: its order, line and payment.
type offlineApplied struct {
	rec     *OfflineRecord
	order   *store.Order
	line    *store.OrderLine
	payment *store.Payment
}

// applyOffline writes the checked, locked records inside tx: per row an order of channel
// offline (created paid: it is never sent to a channel), its one line, a payment whose trade
// number is method:reference; then it credits each bill through creditBill, the crediting
// step every payment takes, issues the receipts under one reservation of numbers per year,
// queues the business systems' callbacks, and writes the offline_collections rows and the
// audit log, all 1,000 rows to a statement.
func (s *Service) applyOffline(ctx context.Context, tx bun.Tx, run *imports.Run, recs []*OfflineRecord, st *offlineState, actor string, now time.Time) (OfflineResult, error) {
	var res OfflineResult
	applied := make([]offlineApplied, len(recs))
	taken := make(map[string]bool, len(recs))
	for i, r := range recs {
		b := st.bills[r.billID]
		paidAt := bizday.DayStart(r.CollectedOn)
		no := newNumber("F", now)
		for taken[no] {
			no = newNumber("F", now)
		}
		taken[no] = true
		raw, _ := json.Marshal(map[string]any{"method": r.Method, "reference": r.Reference, "collected_on": offlineDay(r.CollectedOn),
			"line": r.Line, "import_job": run.Job.ID, "file": run.Job.FileName, "note": r.Note})
		applied[i] = offlineApplied{rec: r,
			order: &store.Order{OrderNo: no, PayerID: b.PayerID, PayerName: b.PayerName, PayerPhone: b.PayerPhone,
				Channel: ChannelOffline, TotalFen: r.AmountFen, Status: store.OrderPaid, ExpiresAt: now, PaidAt: &paidAt,
				CreatedAt: now, UpdatedAt: now},
			payment: &store.Payment{Channel: ChannelOffline, TradeNo: r.TradeNo(), AmountFen: r.AmountFen,
				CreditedFen: r.AmountFen, PaidAt: paidAt, Raw: string(raw), CreatedAt: now},
		}
		res.Count++
		res.TotalFen += r.AmountFen
	}
	for chunk := range slices.Chunk(applied, offlineChunk) {
		if err := insertOfflineOrders(ctx, tx, chunk); err != nil {
			return res, err
		}
	}
	for i, a := range applied {
		if err := s.creditOffline(ctx, tx, a, st.bills[a.rec.billID]); err != nil {
			return res, err
		}
		run.Progress(i + 1)
	}
	n, err := issueOfflineReceipts(ctx, tx, applied, st, now)
	if err != nil {
		return res, err
	}
	res.Receipts = n
	var billIDs []int64
	for _, a := range applied {
		billIDs = append(billIDs, a.rec.billID)
	}
	slices.Sort(billIDs)
	credited := make([]*store.Bill, 0, len(billIDs))
	for _, id := range slices.Compact(billIDs) {
		credited = append(credited, &st.bills[id].Bill) // as the last of its rows left it
	}
	if err := queuePaidEvents(ctx, tx, credited, now); err != nil {
		return res, err
	}
	jobID := run.Job.ID
	for chunk := range slices.Chunk(applied, offlineChunk) {
		rows := make([]store.OfflineCollection, len(chunk))
		audits := make([]store.AuditLog, len(chunk))
		for i, a := range chunk {
			r := a.rec
			rows[i] = store.OfflineCollection{Method: r.Method, Reference: r.Reference, BillID: r.billID,
				OrderID: a.order.ID, PaymentID: a.payment.ID, AmountFen: r.AmountFen, CollectedOn: r.CollectedOn,
				Note: r.Note, ImportJobID: &jobID, CreatedBy: actor, CreatedAt: now}
			audits[i] = store.AuditLog{At: now, Actor: actor, Action: "payment.applied", TargetType: "order", TargetID: a.order.OrderNo,
				Detail: fmt.Sprintf("channel=offline method=%s reference=%s amount=%d bill=%d collected_on=%s import=%d line=%d",
					r.Method, r.Reference, r.AmountFen, r.billID, offlineDay(r.CollectedOn), jobID, r.Line)}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return res, fault.New(fault.ErrConflict, "offline_duplicate", "有凭证号刚刚被另一次导入使用，未导入任何数据，请重新上传")
			}
			return res, fmt.Errorf("billing: insert offline collections: %w", err)
		}
		if _, err := tx.NewInsert().Model(&audits).Exec(ctx); err != nil {
			return res, fmt.Errorf("billing: offline audit: %w", err)
		}
	}
	detail := fmt.Sprintf("文件「%s」：%d 笔，合计 %s，票据 %d 张（导入任务 %d）", run.Job.FileName, res.Count, money.Format(res.TotalFen), res.Receipts, jobID)
	err = store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "offline.imported", TargetType: "import",
		TargetID: strconv.FormatInt(jobID, 10), Detail: detail})
	return res, err
}

// insertOfflineOrders writes a chunk's orders, lines and payments and reads back their ids
// (by number: a multi-row INSERT's ids are not reliably consecutive on every MySQL setup).
func insertOfflineOrders(ctx context.Context, tx bun.Tx, chunk []offlineApplied) error {
	orders := make([]*store.Order, len(chunk))
	nos := make([]string, len(chunk))
	for i, a := range chunk {
		orders[i], nos[i] = a.order, a.order.OrderNo
	}
	if _, err := tx.NewInsert().Model(&orders).Exec(ctx); err != nil {
		if store.IsDuplicate(err) {
			return store.ErrRetry // an order number taken in the same second: draw again
		}
		return fmt.Errorf("billing: insert offline orders: %w", err)
	}
	var ids []struct {
		ID      int64  `bun:"id"`
		OrderNo string `bun:"order_no"`
	}
	if err := tx.NewSelect().Model((*store.Order)(nil)).Column("id", "order_no").Where("order_no IN (?)", bun.In(nos)).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("billing: offline order ids: %w", err)
	}
	orderID := make(map[string]int64, len(ids))
	for _, r := range ids {
		orderID[r.OrderNo] = r.ID
	}
	lines := make([]*store.OrderLine, len(chunk))
	payments := make([]*store.Payment, len(chunk))
	trades := make([]string, len(chunk))
	for i, a := range chunk {
		a.order.ID = orderID[a.order.OrderNo]
		if a.order.ID == 0 {
			return fmt.Errorf("billing: offline order %s not found after insert", a.order.OrderNo)
		}
		lines[i] = &store.OrderLine{OrderID: a.order.ID, BillID: a.rec.billID, AmountFen: a.rec.AmountFen}
		chunk[i].line = lines[i]
		a.payment.OrderID = a.order.ID
		payments[i], trades[i] = a.payment, a.payment.TradeNo
	}
	if _, err := tx.NewInsert().Model(&lines).Exec(ctx); err != nil {
		return fmt.Errorf("billing: insert offline lines: %w", err)
	}
	if _, err := tx.NewInsert().Model(&payments).Exec(ctx); err != nil {
		if store.IsDuplicate(err) {
			return fault.New(fault.ErrConflict, "offline_duplicate", "有凭证号刚刚被另一次导入使用，未导入任何数据，请重新上传")
		}
		return fmt.Errorf("billing: insert offline payments: %w", err)
	}
	var pids []struct {
		ID      int64  `bun:"id"`
		TradeNo string `bun:"trade_no"`
	}
	if err := tx.NewSelect().Model((*store.Payment)(nil)).Column("id", "trade_no").
		Where("channel = ?", ChannelOffline).Where("trade_no IN (?)", bun.In(trades)).Scan(ctx, &pids); err != nil {
		return fmt.Errorf("billing: offline payment ids: %w", err)
	}
	paymentID := make(map[string]int64, len(pids))
	for _, r := range pids {
		paymentID[r.TradeNo] = r.ID
	}
	for _, a := range chunk {
		a.payment.ID = paymentID[a.payment.TradeNo]
		if a.payment.ID == 0 {
			return fmt.Errorf("billing: offline payment %s not found after insert", a.payment.TradeNo)
		}
	}
	return nil
}

// creditOffline credits one row's money to its bill through creditBill, which keeps the
// locked bill's copy up to date for the next row on the same bill. The rows were checked
// against the locked bills, so all of the money goes to the bill; anything else is a bug
// and rolls the import back.
func (s *Service) creditOffline(ctx context.Context, tx bun.Tx, a offlineApplied, b *offlineBill) error {
	credited, err := s.creditBill(ctx, tx, a.order, a.payment, a.line, &b.Bill)
	if err != nil {
		return err
	}
	if credited != a.rec.AmountFen {
		return fmt.Errorf("billing: offline line %d credited %d of %d fen", a.rec.Line, credited, a.rec.AmountFen)
	}
	return nil
}

// issueOfflineReceipts issues one receipt per row (its payment credited one bill),
// unnumbered, and returns how many it issued. It is issueReceipts for many payments; the
// names printed come from the bills and items the import has read already, and the
// departments, read here. The numberer numbers them after the import commits, in row order
// (oldest id first), and the import waits for it before it reports done.
func issueOfflineReceipts(ctx context.Context, tx bun.Tx, applied []offlineApplied, st *offlineState, now time.Time) (int, error) {
	var deptIDs []int64
	for _, it := range st.items {
		deptIDs = append(deptIDs, it.DepartmentID)
	}
	slices.Sort(deptIDs)
	var depts []store.Department
	if err := tx.NewSelect().Model(&depts).Where("id IN (?)", bun.In(slices.Compact(deptIDs))).Scan(ctx); err != nil {
		return 0, fmt.Errorf("billing: receipt departments: %w", err)
	}
	deptName := map[int64]string{}
	for _, d := range depts {
		deptName[d.ID] = d.Name
	}
	for chunk := range slices.Chunk(applied, offlineChunk) {
		rs := make([]*store.Receipt, len(chunk))
		for i, a := range chunk {
			b := st.bills[a.rec.billID]
			item := st.items[b.ItemID]
			rs[i] = &store.Receipt{
				Year:   receiptYear(a.payment.PaidAt), // ReceiptNo and Seq stay NULL until numbered
				BillID: a.rec.billID, OrderID: a.order.ID, PaymentID: a.payment.ID,
				PayerName: b.PayerName, PayerNo: b.PayerNo, ItemName: item.Name, Department: deptName[item.DepartmentID],
				AmountFen: a.rec.AmountFen, Channel: ChannelOffline, VerifyToken: randomToken(24), IssuedAt: now,
			}
		}
		if _, err := tx.NewInsert().Model(&rs).Exec(ctx); err != nil {
			return 0, fmt.Errorf("billing: insert receipts: %w", err)
		}
	}
	return len(applied), nil
}

// OfflineImport returns an offline import job and its bad rows.
func (s *Service) OfflineImport(ctx context.Context, id int64) (*store.ImportJob, []imports.RowError, error) {
	job, rows, err := s.imports().Job(ctx, id, nil)
	if err != nil {
		return nil, nil, err
	}
	if job.Kind != ImportKindOffline {
		return nil, nil, fault.New(fault.ErrNotFound, "not_found", "导入任务不存在")
	}
	return job, rows, nil
}

// OfflineImports returns the latest offline imports, newest first.
func (s *Service) OfflineImports(ctx context.Context, limit int) ([]store.ImportJob, error) {
	var jobs []store.ImportJob
	err := s.DB.NewSelect().Model(&jobs).Where("kind = ?", ImportKindOffline).
		OrderExpr("created_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: offline imports: %w", err)
	}
	return jobs, nil
}
