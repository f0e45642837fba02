package billing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The payers' page gate lets pageSlots statements through at once; the next waits, gives up
// when its payer does, and goes in when a slot comes back.
func TestPageGateHoldsTheRestBack(t *testing.T) {
	var g pageGate
	for i := range pageSlots {
		if err := g.enter(context.Background()); err != nil {
			t.Fatalf("slot %d of %d refused: %v", i+1, pageSlots, err)
		}
	}

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.enter(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("a page entered a full gate (err %v); want it held back until its payer left", err)
	}

	in := make(chan error, 1)
	ctx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	go func() { in <- g.enter(ctx) }()
	g.leave()
	select {
	case err := <-in:
		if err != nil {
			t.Fatalf("the waiting page was refused a freed slot: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the waiting page never got the freed slot")
	}

	// The page that gave up took no slot: every slot is held, by the first pageSlots-1 and
	// the waiter, so a page that has given up is still held back.
	if err := g.enter(gone); err == nil {
		t.Fatal("the gate let one more through than it has slots")
	}
	for range pageSlots {
		g.leave()
	}
	if n := len(g.slots); n != 0 {
		t.Fatalf("after every slot came back, %d still held", n)
	}
}
