package billing

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// itemCatalogTTL is how long the payer's page may show an item as it was read: a name, a
// department or whether the item may be paid in part, edited in the console, shows within
// it on every instance (the settings' cache has the same bound). Amounts never come from
// here: they are the bill's own, read with every page. Creating an order checks the item
// again in its transaction (part payment, merchant), whatever the page showed.
const itemCatalogTTL = 10 * time.Second

// itemCatalogMax bounds the cache: a university has some thousands of charge items; past
// this many the cache starts again empty.
const itemCatalogMax = 20000

// itemCatalog is the per-instance cache of what the payer's page shows of a bill's item.
// Every payer of an item shares it, so at the start of term a few items serve every page.
type itemCatalog struct {
	mu    sync.RWMutex
	items map[int64]catalogItem
	clock func() time.Time // the wall clock, or a test's: the service's own clock may stand still
}

type catalogItem struct {
	item  *store.ChargeItem // Name, PartialAllowed, MerchantID, Department.Name
	until time.Time
}

// fill sets each bill's Item from the cache, reading the items it lacks or holds too long
// in one statement.
func (c *itemCatalog) fill(ctx context.Context, db *bun.DB, bills []*store.Bill) error {
	if len(bills) == 0 {
		return nil
	}
	now := time.Now()
	if c.clock != nil {
		now = c.clock()
	}
	var missing []int64
	c.mu.RLock()
	for _, b := range bills {
		if e, ok := c.items[b.ItemID]; ok && now.Before(e.until) {
			b.Item = e.item
		} else {
			missing = append(missing, b.ItemID)
		}
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return nil
	}
	read, err := readCatalogItems(ctx, db, missing)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.items == nil || len(c.items)+len(read) > itemCatalogMax {
		c.items = make(map[int64]catalogItem, len(read))
	}
	for id, it := range read {
		c.items[id] = catalogItem{item: it, until: now.Add(itemCatalogTTL)}
	}
	c.mu.Unlock()
	for _, b := range bills {
		if b.Item != nil {
			continue
		}
		if it, ok := read[b.ItemID]; ok {
			b.Item = it
		} else { // the item is gone: the bill still shows, unnamed
			b.Item = &store.ChargeItem{ID: b.ItemID, Department: &store.Department{}}
		}
	}
	return nil
}

// readCatalogItems reads the items' names, part-payment flags, merchants and departments'
// names. The items are shared between pages: nobody may change one in place.
func readCatalogItems(ctx context.Context, db *bun.DB, ids []int64) (map[int64]*store.ChargeItem, error) {
	rows, err := db.QueryContext(ctx, `SELECT i.id, i.name, i.partial_allowed, i.merchant_id, d.name
FROM charge_items AS i LEFT JOIN departments AS d ON d.id = i.department_id WHERE i.id IN (?)`, bun.In(ids))
	if err != nil {
		return nil, fmt.Errorf("billing: read items: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]*store.ChargeItem, len(ids))
	for rows.Next() {
		var (
			it   store.ChargeItem
			dept sql.NullString
		)
		if err := rows.Scan(&it.ID, &it.Name, &it.PartialAllowed, &it.MerchantID, &dept); err != nil {
			return nil, fmt.Errorf("billing: read items: %w", err)
		}
		it.Department = &store.Department{Name: dept.String}
		out[it.ID] = &it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("billing: read items: %w", err)
	}
	return out, nil
}
