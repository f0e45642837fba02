package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/sheet"
	"campuspay/store"
)

// RowError is one bad row of an imported file: its line as Excel shows it, and why.
type RowError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// MaxRowErrorsKept is how many bad rows an import keeps to show; the rest are counted.
const MaxRowErrorsKept = 200

// RowErrors is an import refused because of its rows: nothing was written. Total counts
// every bad row; Rows keeps the first MaxRowErrorsKept. errors.Is(err, fault.ErrInvalid) holds.
type RowErrors struct {
	Rows  []RowError
	Total int
}

// Add records a bad row.
func (e *RowErrors) Add(line int, message string) {
	e.Total++
	if len(e.Rows) < MaxRowErrorsKept {
		e.Rows = append(e.Rows, RowError{Line: line, Message: message})
	}
}

func (e *RowErrors) Error() string {
	return fmt.Sprintf("billing: %d bad rows", e.Total)
}

func (e *RowErrors) Unwrap() error { return fault.ErrInvalid }

// ImportRun is the handle a running import's work reports through.
type ImportRun struct {
	Job *store.ImportJob // as inserted; the work must not change it

	s         *Service
	mu        sync.Mutex
	last      time.Time
	status    store.ImportStatus
	total     int
	processed int
}

// liveImports holds the runs of this process by job id. The page's polls read a live run's
// counters from here: while an import writes its rows, its transaction may hold SQLite's
// write lock, so progress can't go through the table (another instance's poll sees the
// stage the table last recorded, which is still right).
var liveImports sync.Map

// importSlots bounds how many imports run at once (each holds a whole file in memory):
// the others wait as pending.
var importSlots = make(chan struct{}, 2)

// importHeartbeat is how often a running job's row is touched at least; a job whose row
// has not been touched for importStale is taken to have died with its process.
const (
	importHeartbeat = 250 * time.Millisecond
	importStale     = 2 * time.Minute
)

// StartImport is the background runner every spreadsheet import shares (bills under an
// item here, the payer roster in roster.go). It inserts job (Kind, FileName, CreatedBy,
// and ItemID or DepartmentID as they apply; status, times and counters are set here),
// then runs work in its own goroutine, detached from the request, and returns at once so
// that the page can poll the job (ImportJob) while the work runs.
//
// work receives the run, through which it reports:
//
//   - run.Stage(store.ImportValidating, rows) when it starts checking rows (rows = the
//     file's data rows), and run.Stage(store.ImportImporting, rows) when it starts
//     writing;
//   - run.Progress(done) as rows are checked or written (cheap to call for every row:
//     the job row is updated at most every 250 ms).
//
// What work returns decides the outcome, written to the job row:
//
//   - nil: done; run.Finish(message) beforehand sets the sentence shown (e.g. "已导入 120
//     行"), otherwise a default one;
//   - *RowErrors: failed, with the bad rows (line and reason) kept as JSON for the page;
//   - *fault.Error (e.g. a file that can't be read, a missing column): failed with its Message;
//   - anything else: failed with a generic message, and logged.
//
// Work must be all or nothing — write in one transaction at the end — since a failed job
// promises that nothing was written. At most two imports run at once; a panic in work
// fails the job rather than the process.
func (s *Service) StartImport(ctx context.Context, job *store.ImportJob, work func(ctx context.Context, run *ImportRun) error) error {
	now := s.now()
	job.Status, job.Processed, job.ErrorCount, job.Errors, job.Message = store.ImportPending, 0, 0, nil, "排队等待处理"
	job.CreatedAt, job.UpdatedAt, job.StartedAt, job.FinishedAt = now, now, nil, nil
	if _, err := s.DB.NewInsert().Model(job).Exec(ctx); err != nil {
		return fmt.Errorf("billing: insert import job: %w", err)
	}
	run := &ImportRun{Job: job, s: s, status: store.ImportPending}
	liveImports.Store(job.ID, run)
	go run.run(work)
	return nil
}

func (r *ImportRun) run(work func(ctx context.Context, run *ImportRun) error) {
	ctx := context.Background()
	importSlots <- struct{}{}
	defer func() { <-importSlots }()
	defer liveImports.Delete(r.Job.ID)
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("billing: import panicked: %v", p)
			}
		}()
		r.mu.Lock()
		r.status = store.ImportValidating
		r.mu.Unlock()
		r.update(ctx, map[string]any{"status": store.ImportValidating, "started_at": r.s.now(), "message": "正在读取文件"})
		return work(ctx, r)
	}()
	r.finish(ctx, err)
}

// Stage moves the job to validating or importing, with the number of rows that stage
// goes through.
func (r *ImportRun) Stage(status store.ImportStatus, total int) {
	msg := "正在校验数据"
	if status == store.ImportImporting {
		msg = "正在写入数据"
	}
	r.mu.Lock()
	r.status, r.total, r.processed = status, total, 0
	r.mu.Unlock()
	r.update(context.Background(), map[string]any{"status": status, "total": total, "processed": 0, "message": msg})
}

// Progress records that done rows of the current stage are through. While validating, the
// job row is updated too (at most every 250 ms: the heartbeat); while importing, only in
// memory, since the import's own transaction may hold the database's write lock.
func (r *ImportRun) Progress(done int) {
	r.mu.Lock()
	r.processed = done
	due := r.status == store.ImportValidating && time.Since(r.last) >= importHeartbeat
	if due {
		r.last = time.Now()
	}
	r.mu.Unlock()
	if due {
		r.update(context.Background(), map[string]any{"processed": done})
	}
}

// live copies a running job's counters into job.
func (r *ImportRun) live(job *store.ImportJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !job.Status.Finished() {
		job.Status, job.Total, job.Processed = r.status, r.total, r.processed
		job.UpdatedAt = r.s.now()
	}
}

// Finish sets the sentence a successful job shows.
func (r *ImportRun) Finish(message string) {
	r.mu.Lock()
	r.Job.Message = message
	r.mu.Unlock()
}

func (r *ImportRun) update(ctx context.Context, set map[string]any) {
	q := r.s.DB.NewUpdate().Model((*store.ImportJob)(nil)).Set("updated_at = ?", r.s.now()).Where("id = ?", r.Job.ID)
	for col, v := range set {
		q = q.Set("? = ?", bun.Ident(col), v)
	}
	if _, err := q.Exec(ctx); err != nil {
		r.s.log().Warn("import job update", "job", r.Job.ID, "err", err)
	}
}

func (r *ImportRun) finish(ctx context.Context, err error) {
	now := r.s.now()
	set := map[string]any{"finished_at": now, "status": store.ImportDone}
	var re *RowErrors
	var be *fault.Error
	switch {
	case err == nil:
		msg := r.Job.Message
		if msg == "" || msg == "排队等待处理" {
			msg = "导入完成"
		}
		set["message"] = msg
		set["processed"] = bun.Safe("total")
	case errors.As(err, &re):
		raw, _ := json.Marshal(re.Rows)
		set["status"], set["error_count"], set["errors"] = store.ImportFailed, re.Total, string(raw)
		set["message"] = fmt.Sprintf("有 %d 行数据有误，未导入任何数据。请修改后重新上传。", re.Total)
	case errors.As(err, &be):
		set["status"], set["message"] = store.ImportFailed, store.Clip(be.Message, 500)
	default:
		r.s.log().Error("import failed", "job", r.Job.ID, "kind", r.Job.Kind, "err", err)
		set["status"], set["message"] = store.ImportFailed, "导入失败（系统错误），未导入任何数据，请稍后重试"
	}
	r.update(ctx, set)
}

// ImportJob returns an import job. A job outside scope (another department's, for
// department staff) is reported missing; a job whose process died (no heartbeat for two
// minutes) is marked failed.
func (s *Service) ImportJob(ctx context.Context, id int64, scope *int64) (*store.ImportJob, []RowError, error) {
	job := new(store.ImportJob)
	q := s.DB.NewSelect().Model(job).Where("id = ?", id)
	if scope != nil {
		q = q.Where("department_id = ?", *scope)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, fault.NotFound(err, "导入任务不存在")
	}
	if run, ok := liveImports.Load(job.ID); ok {
		run.(*ImportRun).live(job)
	}
	if !job.Status.Finished() && s.now().Sub(job.UpdatedAt) > importStale {
		now := s.now()
		msg := "导入已中断（服务重启），未导入任何数据，请重新上传"
		res, err := s.DB.NewUpdate().Model((*store.ImportJob)(nil)).Set("status = ?", store.ImportFailed).
			Set("message = ?", msg).Set("finished_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", job.ID).Where("status = ?", job.Status).Where("updated_at = ?", job.UpdatedAt).Exec(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("billing: stale import: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			job.Status, job.Message, job.FinishedAt = store.ImportFailed, msg, &now
		}
	}
	var rows []RowError
	if job.Errors != nil && *job.Errors != "" {
		if err := json.Unmarshal([]byte(*job.Errors), &rows); err != nil {
			return nil, nil, fmt.Errorf("billing: import errors: %w", err)
		}
	}
	return job, rows, nil
}

// Bill import columns. Each lists the header names accepted for it.
const (
	colPayerNo     = "学号/工号|学号|工号|学工号|payer_no"
	colName        = "姓名|name"
	colPhone       = "手机号|手机|手机号码|phone"
	colAmount      = "金额|金额（元）|金额(元)|应缴金额|amount"
	colDescription = "说明|备注|description"
	colDueDate     = "截止日期|due_date"
	colBillNo      = "账单号|bill_no"
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
	err = s.StartImport(ctx, job, func(ctx context.Context, run *ImportRun) error {
		return s.importBills(ctx, run, item, fileName, data, actor)
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

func (s *Service) importBills(ctx context.Context, run *ImportRun, item *store.ChargeItem, fileName string, data []byte, actor string) error {
	table, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return fileError(err)
	}
	required := []string{}
	if item.Pricing != store.PricingFixed {
		required = append(required, colAmount)
	}
	cols, err := table.Columns(required, []string{colPayerNo, colName, colPhone, colAmount, colDescription, colDueDate, colBillNo})
	if err != nil {
		return fileError(err)
	}
	_, hasNo := cols[colPayerNo]
	_, hasName := cols[colName]
	_, hasPhone := cols[colPhone]
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
		if no := cell(r, colPayerNo); no != "" {
			payerNos = append(payerNos, no)
		}
		if no := cell(r, colBillNo); no != "" {
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
	bad := &RowErrors{}
	var totalFen int64
	for i, r := range table.Rows {
		in := BillInput{PayerNo: cell(r, colPayerNo), Name: cell(r, colName), Phone: cell(r, colPhone),
			Amount: cell(r, colAmount), Description: cell(r, colDescription), DueDate: cell(r, colDueDate), BillNo: cell(r, colBillNo)}
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
			return fmt.Errorf("billing: lock item: %w", err)
		}
		if why := itemTakesBills(item); why != "" {
			return fault.New(fault.ErrConflict, "item_closed", "%s", why)
		}
		again := &billChecker{item: item, taken: map[string]int{}}
		if err := again.loadTaken(ctx, tx); err != nil {
			return err
		}
		if len(again.taken) > 0 {
			late := &RowErrors{}
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
				return fmt.Errorf("billing: insert bills: %w", err)
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

// fileError turns a sheet's complaint about the file into an error people read.
func fileError(err error) error {
	if errors.Is(err, sheet.ErrFormat) {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), sheet.ErrFormat.Error()), ": ")
		return fault.New(fault.ErrInvalid, "file_invalid", "%s", msg)
	}
	return err
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
