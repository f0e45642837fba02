// Package imports runs spreadsheet imports in the background for every kind that has one
// (bills under an item, the payer roster, offline collections): the job row, its stages
// and progress, the bad rows it keeps, and a dead process's jobs marked failed. What an
// import writes is its kind's own business, in its own package.
package imports

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/sheet"
	"campuspay/store"
)

// Runner starts and reads import jobs.
type Runner struct {
	DB  *bun.DB
	Now func() time.Time
	Log *slog.Logger
}

func (s *Runner) now() time.Time { return store.Now(s.Now) }

func (s *Runner) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

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
	return fmt.Sprintf("imports: %d bad rows", e.Total)
}

func (e *RowErrors) Unwrap() error { return fault.ErrInvalid }

// Run is the handle a running import's work reports through.
type Run struct {
	Job *store.ImportJob // as inserted; the work must not change it

	s         *Runner
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

// Start is the background runner every spreadsheet import shares (bills under an
// item, the payer roster, offline collections). It inserts job (Kind, FileName, CreatedBy,
// and ItemID or DepartmentID as they apply; status, times and counters are set here),
// then runs work in its own goroutine, detached from the request, and returns at once so
// that the page can poll the job (Job) while the work runs.
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
func (s *Runner) Start(ctx context.Context, job *store.ImportJob, work func(ctx context.Context, run *Run) error) error {
	now := s.now()
	job.Status, job.Processed, job.ErrorCount, job.Errors, job.Message = store.ImportPending, 0, 0, nil, "排队等待处理"
	job.CreatedAt, job.UpdatedAt, job.StartedAt, job.FinishedAt = now, now, nil, nil
	if _, err := s.DB.NewInsert().Model(job).Exec(ctx); err != nil {
		return fmt.Errorf("imports: insert import job: %w", err)
	}
	run := &Run{Job: job, s: s, status: store.ImportPending}
	liveImports.Store(job.ID, run)
	go run.run(work)
	return nil
}

func (r *Run) run(work func(ctx context.Context, run *Run) error) {
	ctx := context.Background()
	importSlots <- struct{}{}
	defer func() { <-importSlots }()
	defer liveImports.Delete(r.Job.ID)
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("imports: import panicked: %v", p)
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
func (r *Run) Stage(status store.ImportStatus, total int) {
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
func (r *Run) Progress(done int) {
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
func (r *Run) live(job *store.ImportJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !job.Status.Finished() {
		job.Status, job.Total, job.Processed = r.status, r.total, r.processed
		job.UpdatedAt = r.s.now()
	}
}

// Finish sets the sentence a successful job shows.
func (r *Run) Finish(message string) {
	r.mu.Lock()
	r.Job.Message = message
	r.mu.Unlock()
}

func (r *Run) update(ctx context.Context, set map[string]any) {
	q := r.s.DB.NewUpdate().Model((*store.ImportJob)(nil)).Set("updated_at = ?", r.s.now()).Where("id = ?", r.Job.ID)
	for col, v := range set {
		q = q.Set("? = ?", bun.Ident(col), v)
	}
	if _, err := q.Exec(ctx); err != nil {
		r.s.log().Warn("import job update", "job", r.Job.ID, "err", err)
	}
}

func (r *Run) finish(ctx context.Context, err error) {
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

// Job returns an import job. A job outside scope (another department's, for
// department staff) is reported missing; a job whose process died (no heartbeat for two
// minutes) is marked failed.
func (s *Runner) Job(ctx context.Context, id int64, scope *int64) (*store.ImportJob, []RowError, error) {
	job := new(store.ImportJob)
	q := s.DB.NewSelect().Model(job).Where("id = ?", id)
	if scope != nil {
		q = q.Where("department_id = ?", *scope)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, fault.NotFound(err, "导入任务不存在")
	}
	if run, ok := liveImports.Load(job.ID); ok {
		run.(*Run).live(job)
	}
	if !job.Status.Finished() && s.now().Sub(job.UpdatedAt) > importStale {
		now := s.now()
		msg := "导入已中断（服务重启），未导入任何数据，请重新上传"
		res, err := s.DB.NewUpdate().Model((*store.ImportJob)(nil)).Set("status = ?", store.ImportFailed).
			Set("message = ?", msg).Set("finished_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", job.ID).Where("status = ?", job.Status).Where("updated_at = ?", job.UpdatedAt).Exec(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("imports: stale import: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			job.Status, job.Message, job.FinishedAt = store.ImportFailed, msg, &now
		}
	}
	var rows []RowError
	if job.Errors != nil && *job.Errors != "" {
		if err := json.Unmarshal([]byte(*job.Errors), &rows); err != nil {
			return nil, nil, fmt.Errorf("imports: import errors: %w", err)
		}
	}
	return job, rows, nil
}

// The columns every people-bearing import shares. Each lists the header names accepted
// for it.
const (
	ColPayerNo = "学号/工号|学号|工号|学工号|payer_no"
	ColName    = "姓名|name"
	ColPhone   = "手机号|手机|手机号码|phone"
	ColBillNo  = "账单号|bill_no"
)

// FileError turns a sheet's complaint about the file into an error people read.
func FileError(err error) error {
	if errors.Is(err, sheet.ErrFormat) {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), sheet.ErrFormat.Error()), ": ")
		return fault.New(fault.ErrInvalid, "file_invalid", "%s", msg)
	}
	return err
}

// ParseDate reads a date as people write it or as Excel shows it: 2026-09-30,
// 2026/9/30, 2026.9.30, 2026年9月30日, Excel's default mm-dd-yy, or a date serial number.
func ParseDate(raw string) (time.Time, bool) {
	raw = strings.TrimSuffix(strings.TrimSpace(raw), " 00:00:00")
	for _, layout := range []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "01-02-06", "1/2/06"} {
		if t, err := time.Parse(layout, raw); err == nil {
			return t, true
		}
	}
	if serial, err := strconv.Atoi(raw); err == nil && serial > 20000 && serial < 80000 {
		return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, serial), true
	}
	return time.Time{}, false
}
