package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

type jobLease struct {
	bun.BaseModel `bun:"table:job_leases"`

	Name      string    `bun:"name,pk"`
	Owner     string    `bun:"owner"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// AcquireLease makes owner the holder of the named lease until now+ttl, if nobody else holds
// it (or their lease ran out), and reports whether owner holds it. Holding it already
// renews it. Several instances sharing the database call this; one at a time wins.
func AcquireLease(ctx context.Context, db bun.IDB, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	now = UTC(now)
	res, err := db.NewUpdate().Model((*jobLease)(nil)).
		Set("owner = ?", owner).Set("expires_at = ?", now.Add(ttl)).
		Where("name = ?", name).Where("(owner = ? OR expires_at <= ?)", owner, now).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	_, err = db.NewInsert().Model(&jobLease{Name: name, Owner: owner, ExpiresAt: now.Add(ttl)}).Exec(ctx)
	if err == nil {
		return true, nil
	}
	if IsDuplicate(err) {
		return false, nil // someone else holds it
	}
	return false, fmt.Errorf("store: lease %s: %w", name, err)
}

// ReleaseLease gives the lease up if owner holds it.
func ReleaseLease(ctx context.Context, db bun.IDB, name, owner string) error {
	_, err := db.NewDelete().Model((*jobLease)(nil)).Where("name = ? AND owner = ?", name, owner).Exec(ctx)
	return err
}
