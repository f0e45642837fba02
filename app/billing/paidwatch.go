package billing

import "sync"

// A payer's order page polls its status block every 2 s. A poll that finds the order still
// open can wait, for a bounded while, for this instance to apply a payment to it: the block
// turns 支付成功 the moment the company's notification is applied rather than at the next
// poll, and a payer waiting on a slow company costs one request per wait rather than one per
// poll. A payment another instance applies is not seen here: the poll's wait runs out, it
// reads the order again, and the database says paid (or the next poll does).

// paidWatch is a Service's watchers, by order number.
type paidWatch struct {
	mu     sync.Mutex
	orders map[string]*paidWaiters
}

// paidWaiters is one order's watchers: ch is closed when a payment to it is applied.
type paidWaiters struct {
	ch chan struct{}
	n  int
}

// WatchPayment returns a channel that is closed when this Service applies a payment to the
// order with the given number, and the function to call, once, when done watching. Nothing
// is kept for an order once its watchers are done.
func (s *Service) WatchPayment(orderNo string) (<-chan struct{}, func()) {
	w := &s.paid
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.orders == nil {
		w.orders = make(map[string]*paidWaiters)
	}
	pw := w.orders[orderNo]
	if pw == nil {
		pw = &paidWaiters{ch: make(chan struct{})}
		w.orders[orderNo] = pw
	}
	pw.n++
	return pw.ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if pw.n--; pw.n == 0 && w.orders[orderNo] == pw {
			delete(w.orders, orderNo)
		}
	}
}

// WatchedOrders is how many orders have polls waiting for their payment now.
func (s *Service) WatchedOrders() int {
	s.paid.mu.Lock()
	defer s.paid.mu.Unlock()
	return len(s.paid.orders)
}

// paymentApplied wakes the order's watchers; called after the payment's transaction commits.
func (s *Service) paymentApplied(orderNo string) {
	w := &s.paid
	w.mu.Lock()
	pw := w.orders[orderNo]
	delete(w.orders, orderNo)
	w.mu.Unlock()
	if pw != nil {
		close(pw.ch)
	}
}
