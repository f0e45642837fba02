package store

import (
	"time"

	"github.com/uptrace/bun"
)

// ImportStatus is where a background import stands.
type ImportStatus string

const (
	ImportPending    ImportStatus = "pending"    // waiting for a free slot
	ImportValidating ImportStatus = "validating" // reading and checking every row
	ImportImporting  ImportStatus = "importing"  // writing the rows, in one transaction
	ImportDone       ImportStatus = "done"
	ImportFailed     ImportStatus = "failed" // nothing was written
)

// Finished reports whether the import has ended, well or badly.
func (s ImportStatus) Finished() bool { return s == ImportDone || s == ImportFailed }

// Import kinds.
const (
	ImportKindBills  = "bills"
	ImportKindRoster = "roster"
)

// ImportJob is one uploaded file being imported in the background.
type ImportJob struct {
	bun.BaseModel `bun:"table:import_jobs"`

	ID           int64        `bun:"id,pk,autoincrement"`
	Kind         string       `bun:"kind"`
	ItemID       *int64       `bun:"item_id"`
	DepartmentID *int64       `bun:"department_id"`
	FileName     string       `bun:"file_name"`
	Status       ImportStatus `bun:"status"`
	Total        int          `bun:"total"`
	Processed    int          `bun:"processed"`
	ErrorCount   int          `bun:"error_count"`
	Errors       *string      `bun:"errors"` // JSON []RowError, see imports.RowError
	Message      string       `bun:"message"`
	CreatedBy    string       `bun:"created_by"`
	CreatedAt    time.Time    `bun:"created_at"`
	StartedAt    *time.Time   `bun:"started_at"`
	FinishedAt   *time.Time   `bun:"finished_at"`
	UpdatedAt    time.Time    `bun:"updated_at"`
}

// Percent is how far the job has come, 0–100.
func (j *ImportJob) Percent() int {
	switch {
	case j.Status == ImportDone:
		return 100
	case j.Total <= 0:
		return 0
	}
	return min(100, j.Processed*100/j.Total)
}
