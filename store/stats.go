package store

import (
	"time"

	"github.com/uptrace/bun"
)

// StatsDaily is one cell of the daily collection snapshot: what was collected on one
// business day (Asia/Shanghai) for one item, through one channel. Day is the calendar
// date at 00:00 UTC (the date, not an instant).
type StatsDaily struct {
	bun.BaseModel `bun:"table:stats_daily"`

	Day          time.Time `bun:"day,pk,type:date"`
	DepartmentID int64     `bun:"department_id,pk"`
	ItemID       int64     `bun:"item_id,pk"`
	Channel      string    `bun:"channel,pk"`
	LineCount    int64     `bun:"line_count"`
	CollectedFen int64     `bun:"collected_fen"`
	OverpaidFen  int64     `bun:"overpaid_fen"`
}

// StatsDay records that stats_daily holds a day, and when it was computed.
type StatsDay struct {
	bun.BaseModel `bun:"table:stats_days"`

	Day        time.Time `bun:"day,pk,type:date"`
	ComputedAt time.Time `bun:"computed_at"`
}
