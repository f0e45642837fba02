package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Payer statuses as the school's data platform reports them (users.status).
const (
	PayerActive    = "active"    // 在读 / 在职
	PayerGraduated = "graduated" // 毕业
	PayerLeft      = "left"      // 离校 / 离职
	PayerSuspended = "suspended" // 休学 / 停用
)

// PayerStatuses lists the statuses in the order lists offer them.
var PayerStatuses = []string{PayerActive, PayerGraduated, PayerLeft, PayerSuspended}

// AuditFilter selects audit log rows. Empty fields do not filter; From and To are
// instants (the caller turns business days into them), To exclusive.
type AuditFilter struct {
	Actor        string
	ActionPrefix string
	TargetType   string
	TargetID     string
	From, To     time.Time
	Offset       int
	Limit        int
}

// AuditLogs returns one page of audit rows, newest first, and how many match in all.
func AuditLogs(ctx context.Context, db bun.IDB, f AuditFilter) ([]AuditLog, int, error) {
	var rows []AuditLog
	q := db.NewSelect().Model(&rows)
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.ActionPrefix != "" {
		q = q.Where("action LIKE ? ESCAPE '!'", LikePrefix(f.ActionPrefix))
	}
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", UTC(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", UTC(f.To))
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	n, err := ScanAndCount(ctx, q.OrderExpr("at DESC, id DESC").Offset(int64(f.Offset)).Limit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("store: audit logs: %w", err)
	}
	return rows, int(n), nil
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// LikePrefix is a LIKE pattern (with ESCAPE '!') matching values that start with s.
func LikePrefix(s string) string { return likeEscaper.Replace(s) + "%" }

// LikeContains is a LIKE pattern (with ESCAPE '!') matching values that contain s.
func LikeContains(s string) string { return "%" + likeEscaper.Replace(s) + "%" }
