package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Receipt numbering by one writer.
//
// Receipt numbers run per year (receiptYear) without gaps, so every number comes from one
// row, receipt_sequences. When each payment took its numbers in its own transaction, that
// row stayed locked through the payment's COMMIT and log flush, and on MariaDB every
// payment of the year committed one after the other (docs/PERFORMANCE.md, the rush).
//
// Now a payment writes its receipts unnumbered (receipt_no and seq NULL) and, once it has
// committed, wakes the numberer. The numberer numbers everything pending, oldest id first,
// in one short transaction per year and batch: it locks the year's sequence row, re-reads
// which of its candidates are still unnumbered, numbers them, moves the sequence on by as
// many, and commits — one lock and one log flush for every payment that committed since
// the last round.
//
// Several numberers may run at once: one per Service (two platform instances on one
// database have two), the periodic sweep (jobs.NumberReceipts) and the rare synchronous
// path of a refund's reissued receipt (numberInTx). They cannot give two receipts one
// number or skip one: each numbers inside a transaction holding the year's sequence row,
// reads the candidates again under that lock (a locking read, which sees what another
// numberer committed meanwhile), updates only rows still unnumbered and checks that it
// updated every one it meant to, or rolls back whole, sequence included.
//
// Whoever shows a number waits for it (awaitNumbers, bounded by the caller's context and
// receiptWait): it asks for a round and waits on the round's completion signal, not in a
// sleep loop. A page that still finds a receipt unnumbered after that says 编号中 and polls.
//
// Callbacks and the integration API carry no receipt numbers (the bill view, buildAPIBill,
// and the refund events name bills, payments and refunds only), so an outbox event written
// in the payment's transaction is right as it is. Should one ever carry receipt numbers, it
// must read them when it is sent (awaitNumbers), never when it is queued: at queueing time
// the payment's receipts have none yet.

// numberBatch is the most receipts one numbering transaction numbers.
const numberBatch = 500

// receiptWait is the longest a page waits for a receipt's number before saying 编号中.
const receiptWait = 5 * time.Second

// numberer is a Service's receipt numberer: a goroutine that runs while there is something
// to number and exits when there is not, started by kick (after a payment commits) or by a
// waiter. The zero value is ready.
type numberer struct {
	mu      sync.Mutex
	asked   uint64        // rounds asked for, counted
	done    uint64        // asked when the last finished round started: every ask up to it is served
	running bool          // the goroutine is running
	round   chan struct{} // closed when the round under way finishes
	err     error         // the last round's error
}

// kick asks for a round without waiting for it: a payment that wrote receipts calls it
// once it has committed. Payments committing while a round runs are all numbered by the
// next one.
func (s *Service) kickNumberer() {
	n := &s.numbering
	n.mu.Lock()
	n.asked++
	s.startNumbererLocked()
	n.mu.Unlock()
}

// startNumbererLocked starts the goroutine unless it runs. n.mu is held.
func (s *Service) startNumbererLocked() {
	n := &s.numbering
	if n.round == nil {
		n.round = make(chan struct{})
	}
	if !n.running {
		n.running = true
		go s.runNumberer()
	}
}

// runNumberer runs rounds while rounds are asked for.
func (s *Service) runNumberer() {
	n := &s.numbering
	for {
		n.mu.Lock()
		if n.done == n.asked {
			n.running = false
			n.mu.Unlock()
			return
		}
		target := n.asked
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := s.numberPending(ctx)
		cancel()
		if err != nil {
			s.log().Error("receipt numbering", "err", err)
		}

		n.mu.Lock()
		n.done, n.err = target, err
		close(n.round)
		n.round = make(chan struct{})
		n.mu.Unlock()
	}
}

// numberNow asks the numberer for a round that starts after this call and waits until it
// has finished, or ctx ends. It returns that round's error.
func (s *Service) numberNow(ctx context.Context) error {
	n := &s.numbering
	n.mu.Lock()
	n.asked++
	mine := n.asked
	s.startNumbererLocked()
	for n.done < mine {
		round := n.round
		n.mu.Unlock()
		select {
		case <-round:
		case <-ctx.Done():
			return ctx.Err()
		}
		n.mu.Lock()
	}
	err := n.err
	n.mu.Unlock()
	return err
}

// NumberReceipts numbers every receipt waiting for its number — left by a crash, or by an
// instance that stopped — through this Service's numberer, and waits for it. The sweep job
// runs it; tests call it to have every receipt numbered before they look.
func (s *Service) NumberReceipts(ctx context.Context) error {
	return s.numberNow(ctx)
}

// awaitNumbers makes sure the receipts are numbered before they are shown: when any is
// not, it asks the numberer and waits (at most receiptWait, and never beyond ctx), then
// reads the numbers of those receipts into them. A receipt still unnumbered after that is
// returned as it is (the page says 编号中); an error is returned only when ctx itself ended.
func (s *Service) awaitNumbers(ctx context.Context, rs []*store.Receipt) error {
	var ids []int64
	for _, r := range rs {
		if !r.Numbered() {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, receiptWait)
	defer cancel()
	for {
		err := s.numberNow(wctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var got []struct {
			ID        int64  `bun:"id"`
			ReceiptNo string `bun:"receipt_no"`
			Seq       int64  `bun:"seq"`
		}
		if rerr := s.DB.NewSelect().Model((*store.Receipt)(nil)).Column("id", "receipt_no", "seq").
			Where("id IN (?)", bun.In(ids)).Where("seq IS NOT NULL").Scan(ctx, &got); rerr != nil {
			return fmt.Errorf("billing: receipt numbers: %w", rerr)
		}
		byID := make(map[int64]int, len(got))
		for i, g := range got {
			byID[g.ID] = i
		}
		for _, r := range rs {
			if i, ok := byID[r.ID]; ok && !r.Numbered() {
				r.ReceiptNo, r.Seq = got[i].ReceiptNo, got[i].Seq
			}
		}
		if len(got) == len(ids) || wctx.Err() != nil {
			return nil
		}
		if err != nil {
			// The round failed (the log has why); once more while time is left, but not at
			// once: a database that refuses now will likely refuse again.
			select {
			case <-wctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// numberPending numbers every receipt waiting for its number, oldest id first, in
// transactions of at most numberBatch receipts of one year each, and returns how many it
// numbered. Receipts another numberer numbers meanwhile are left as that one numbered them.
func (s *Service) numberPending(ctx context.Context) (int, error) {
	total := 0
	for {
		// The candidates, read without locking: under the unnumbered index and by primary
		// key afterwards, so no numbering transaction takes a gap lock a payment inserting
		// its receipts would wait for.
		var cands []struct {
			ID   int64 `bun:"id"`
			Year int   `bun:"year"`
		}
		if err := s.DB.NewSelect().Model((*store.Receipt)(nil)).Column("id", "year").
			Where("seq IS NULL").OrderExpr("id").Limit(numberBatch).Scan(ctx, &cands); err != nil {
			return total, fmt.Errorf("billing: receipts to number: %w", err)
		}
		if len(cands) == 0 {
			return total, nil
		}
		byYear := map[int][]int64{}
		for _, c := range cands {
			byYear[c.Year] = append(byYear[c.Year], c.ID)
		}
		years := make([]int, 0, len(byYear))
		for y := range byYear {
			years = append(years, y)
		}
		slices.Sort(years)
		if s.afterCandidates != nil {
			s.afterCandidates(ctx)
		}
		for _, y := range years {
			var n int
			err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
				var err error
				n, err = numberInTx(ctx, tx, y, byYear[y])
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
		}
		if len(cands) < numberBatch {
			return total, nil
		}
	}
}

// numberInTx numbers, inside tx, those of the receipts ids (all of year) that are still
// unnumbered, oldest id first, and returns how many it numbered. It locks the year's
// sequence row first, so it runs one at a time with every other numbering of the year on
// any instance; the refund path that reissues a receipt calls it inside its own
// transaction.
func numberInTx(ctx context.Context, tx bun.Tx, year int, ids []int64) (int, error) {
	last, err := lockReceiptSeq(ctx, tx, year)
	if err != nil {
		return 0, err
	}
	// Which are still unnumbered: a locking read, so that on MySQL it sees what another
	// numberer committed while this one waited for the sequence row (a plain read would
	// see this transaction's snapshot).
	var todo []int64
	q := tx.NewSelect().Model((*store.Receipt)(nil)).Column("id").
		Where("id IN (?)", bun.In(ids)).Where("seq IS NULL").Where("year = ?", year).OrderExpr("id")
	if err := store.ForUpdate(q).Scan(ctx, &todo); err != nil {
		return 0, fmt.Errorf("billing: receipts to number: %w", err)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	for chunk := range slices.Chunk(todo, 250) {
		var seqs, nos strings.Builder
		for _, id := range chunk {
			last++
			fmt.Fprintf(&seqs, " WHEN %d THEN %d", id, last)
			fmt.Fprintf(&nos, " WHEN %d THEN '%s'", id, receiptNo(year, last))
		}
		res, err := tx.NewUpdate().Model((*store.Receipt)(nil)).
			Set("seq = CASE id"+seqs.String()+" END").
			Set("receipt_no = CASE id"+nos.String()+" END").
			Where("id IN (?)", bun.In(chunk)).Where("seq IS NULL").Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("billing: number receipts: %w", err)
		}
		if n, _ := res.RowsAffected(); n != int64(len(chunk)) {
			// Cannot happen under the locks taken above; if it does, nothing is kept.
			return 0, fmt.Errorf("billing: numbered %d of %d receipts of %d: %w", n, len(chunk), year, store.ErrRetry)
		}
	}
	if _, err := tx.NewUpdate().Model((*store.ReceiptSequence)(nil)).Set("last_no = ?", last).
		Where("year = ?", year).Exec(ctx); err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	return len(todo), nil
}

// lockReceiptSeq locks the year's sequence row inside tx and returns its last number,
// making the row at the first receipt of the year. Two transactions making it at once:
// the one that loses fails on the key (or deadlocks on MySQL) and is run again whole.
func lockReceiptSeq(ctx context.Context, tx bun.Tx, year int) (int64, error) {
	var last int64
	q := tx.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", year)
	err := store.ForUpdate(q).Scan(ctx, &last)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.NewInsert().Model(&store.ReceiptSequence{Year: year, LastNo: 0}).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return 0, store.ErrRetry
			}
			return 0, fmt.Errorf("billing: receipt sequence: %w", err)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	return last, nil
}

// receiptNo is the printed number of a year's seq-th receipt: the year and 8 digits.
func receiptNo(year int, seq int64) string {
	s := strconv.FormatInt(seq, 10)
	if len(s) < 8 {
		s = strings.Repeat("0", 8-len(s)) + s
	}
	return strconv.Itoa(year) + s
}
