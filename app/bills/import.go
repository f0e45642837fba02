package bills

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/money"
	"campuspay/app/sheet"
	"campuspay/store"
)

// Bill import columns. Each lists the header names accepted for it.
const (
	colAmount      = "金额|金额（元）|金额(元)|应缴金额|amount"
	colDescription = "说明|备注|description"
	colDueDate     = "截止日期|due_date"
)

// BillTemplateHeader is the header row of the bill import template.
var BillTemplateHeader = []string{"学号/工号", "姓名", "手机号", "金额", "说明", "截止日期", "账单号"}

// BillTemplateExample is the template's example rows for an item: one payer on the roster,
// one off campus when the item admits them.
func BillTemplateExample(item *store.ChargeItem) [][]any {
	amount := "1200.00"
	switch item.Pricing {
	case store.PricingFixed:
		amount = money.Plain(item.PriceFen)
	case store.PricingPayerEntered:
		amount = money.Plain(item.MinFen)
	}
	rows := [][]any{{"2026000001", "", "", amount, "示例：学号在名册中时姓名、手机号可不填", "2026-09-30", ""}}
	if item.Audience != store.AudienceInternal {
		rows = append(rows, []any{"", "张三", "13800000000", amount, "示例：校外人员填写姓名和手机号", "", ""})
	}
	return rows
}

// ImportBills starts importing the bills of an uploaded file (.xlsx or .csv) under an item
// and returns the job at once; the rows are read, checked and written in the background
// (StartImport). Every row is checked before anything is written: the payer is on the
// roster (or off campus with name and phone), the amount suits the item, and no payer or
// bill number appears twice, in the file or among the item's bills. One bad row and
// nothing is loaded: the job lists every bad row with its line. Otherwise all rows go in
// one transaction, inserted 1,000 at a time.
func (s *Service) ImportBills(ctx context.Context, itemID int64, fileName string, data []byte, scope *int64, actor string) (*store.ImportJob, error) {
	item, err := s.catalog().Item(ctx, itemID, scope)
	if err != nil {
		return nil, err
	}
	if why := itemTakesBills(item); why != "" {
		return nil, fault.New(fault.ErrConflict, "item_closed", "%s", why)
	}
	if len(data) == 0 {
		return nil, fault.New(fault.ErrInvalid, "file_empty", "请选择要上传的文件")
	}
	job := &store.ImportJob{Kind: store.ImportKindBills, ItemID: &item.ID, DepartmentID: &item.DepartmentID,
		FileName: store.Clip(fileName, 200), CreatedBy: actor}
	err = s.imports().Start(ctx, job, func(ctx context.Context, run *imports.Run) error {
		return s.importBills(ctx, run, item, fileName, data, actor)
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

func (s *Service) importBills(ctx context.Context, run *imports.Run, item *store.ChargeItem, fileName string, data []byte, actor string) error {
	table, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return imports.FileError(err)
	}
	required := []string{}
	if item.Pricing != store.PricingFixed {
		required = append(required, colAmount)
	}
	cols, err := table.Columns(required, []string{imports.ColPayerNo, imports.ColName, imports.ColPhone, colAmount, colDescription, colDueDate, imports.ColBillNo})
	if err != nil {
		return imports.FileError(err)
	}
	_, hasNo := cols[imports.ColPayerNo]
	_, hasName := cols[imports.ColName]
	_, hasPhone := cols[imports.ColPhone]
	if !hasNo && !(hasName && hasPhone) {
		return fault.New(fault.ErrInvalid, "columns_missing", "缺少列：学号/工号（校外人员为姓名和手机号）（第 1 行应为表头）")
	}
	cell := func(r sheet.Row, name string) string {
		if i, ok := cols[name]; ok {
			return r.Cell(i)
		}
		return ""
	}

	run.Stage(store.ImportValidating, len(table.Rows))
	var payerNos, billNos []string
	for _, r := range table.Rows {
		if no := cell(r, imports.ColPayerNo); no != "" {
			payerNos = append(payerNos, no)
		}
		if no := cell(r, imports.ColBillNo); no != "" {
			billNos = append(billNos, no)
		}
	}
	checker, err := s.newBillChecker(ctx, s.DB, item, payerNos, billNos)
	if err != nil {
		return err
	}
	now := s.now()
	bills := make([]store.Bill, 0, len(table.Rows))
	lines := make([]int, 0, len(table.Rows))
	bad := &imports.RowErrors{}
	var totalFen int64
	for i, r := range table.Rows {
		in := BillInput{PayerNo: cell(r, imports.ColPayerNo), Name: cell(r, imports.ColName), Phone: cell(r, imports.ColPhone),
			Amount: cell(r, colAmount), Description: cell(r, colDescription), DueDate: cell(r, colDueDate), BillNo: cell(r, imports.ColBillNo)}
		b, errs := checker.check(r.Line, in, now)
		if len(errs) > 0 {
			bad.Add(r.Line, joinFormErrors(errs))
		} else {
			b.Source = "import"
			if b.BillNo == "" {
				b.BillNo = fmt.Sprintf("%s-J%d-%d", item.Code, run.Job.ID, r.Line)
			}
			bills = append(bills, *b)
			lines = append(lines, r.Line)
			totalFen += b.AmountDueFen
		}
		run.Progress(i + 1)
	}
	if bad.Total > 0 {
		return bad
	}
	table = nil // the rows are bills now: let the collector have the strings

	run.Stage(store.ImportImporting, len(bills))
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		// Lock the item and look again at its payers: a bill added since the check
		// (another import, the form) makes its row a duplicate after all.
		if err := store.ForUpdate(tx.NewSelect().Model((*store.ChargeItem)(nil)).Column("status").Where("id = ?", item.ID)).Scan(ctx, &item.Status); err != nil {
			return fmt.Errorf("bills: lock item: %w", err)
		}
		if why := itemTakesBills(item); why != "" {
			return fault.New(fault.ErrConflict, "item_closed", "%s", why)
		}
		again := &billChecker{item: item, taken: map[string]int{}}
		if err := again.loadTaken(ctx, tx); err != nil {
			return err
		}
		if len(again.taken) > 0 {
			late := &imports.RowErrors{}
			for i := range bills {
				if _, dup := again.taken[billPayerKey(&bills[i])]; dup {
					late.Add(lines[i], "该缴费人在本项目下已有账单")
				}
			}
			if late.Total > 0 {
				return late
			}
		}
		for start := 0; start < len(bills); start += 1000 {
			chunk := bills[start:min(start+1000, len(bills))]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				if store.IsDuplicate(err) {
					return fault.New(fault.ErrConflict, "bill_duplicate", "有账单号已被其他账单使用，未导入任何数据，请重新上传")
				}
				return fmt.Errorf("bills: insert bills: %w", err)
			}
			run.Progress(start + len(chunk))
		}
		detail := fmt.Sprintf("文件「%s」：%d 笔，合计 %s（导入任务 %d）", run.Job.FileName, len(bills), money.Format(totalFen), run.Job.ID)
		return catalog.AuditItem(ctx, tx, s.now(), actor, "bills.imported", item.ID, detail)
	})
	if err != nil {
		return err
	}
	run.Finish(fmt.Sprintf("已导入 %d 笔账单，合计 %s", len(bills), money.Format(totalFen)))
	return nil
}

func billPayerKey(b *store.Bill) string {
	if b.PayerID != nil {
		return fmt.Sprintf("u%d", *b.PayerID)
	}
	return "p" + b.PayerPhone
}

// joinFormErrors puts a row's problems in one sentence, payer first.
func joinFormErrors(errs fault.FormErrors) string {
	var parts []string
	for _, f := range []string{"payer_no", "name", "phone", "amount", "description", "due_date", "bill_no"} {
		if m, ok := errs[f]; ok {
			parts = append(parts, m)
		}
	}
	return strings.Join(parts, "；")
}
