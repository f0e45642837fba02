package wechatpay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// notice is one notification: its body is fixed, its signature made at each delivery.
type notice struct {
	url   string
	event string
	body  []byte
}

// Delivery is one attempt to deliver a notification, for tests and the demo's log.
type Delivery struct {
	URL    string
	Event  string
	Status int // 0: no answer
}

// notify builds an encrypted notification and sends it according to the switches.
func (s *Sim) notify(url, event, summary, originalType string, plain []byte) {
	res := s.encrypt(plain, originalType)
	res["original_type"] = originalType
	s.mu.Lock()
	s.seq++
	id := "EV-" + s.now().In(shanghai).Format("20060102150405") + "-" + randomHex(6)
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": s.now().In(shanghai).Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": event, "summary": summary, "resource": res,
	})
	n := notice{url: url, event: event, body: body}

	s.mu.Lock()
	sw := s.switches
	if s.closed || sw.DropNotify {
		s.mu.Unlock()
		return
	}
	if sw.Reorder {
		if len(s.held) < maxHeldNotices {
			s.held = append(s.held, n)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	for i := 0; i <= sw.DuplicateNotify; i++ {
		s.deliver(n, sw.NotifyDelay)
	}
}

// deliver sends n in the background until it is acknowledged with a 2xx, up to
// maxNotifyTries times.
func (s *Sim) deliver(n notice, delay time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		wait := delay
		for try := 0; try < maxNotifyTries; try++ {
			if wait > 0 {
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			if s.send(n) {
				return
			}
			s.mu.Lock()
			wait = s.switches.RetryEvery
			s.mu.Unlock()
			if wait <= 0 {
				wait = defaultRetry
			}
		}
	}()
}

// releaseNewestFirst sends held notifications one after another, newest first; one that
// is not acknowledged goes on to the ordinary retries.
func (s *Sim) releaseNewestFirst(held []notice) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for i := len(held) - 1; i >= 0; i-- {
			if s.ctx.Err() != nil {
				return
			}
			if !s.send(held[i]) {
				s.mu.Lock()
				wait := s.switches.RetryEvery
				s.mu.Unlock()
				if wait <= 0 {
					wait = defaultRetry
				}
				s.deliver(held[i], wait)
			}
		}
	}()
}

// send posts n once, signed now, and reports whether it was acknowledged.
func (s *Sim) send(n notice) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err != nil {
		return true // an address that cannot be requested is never retried
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	s.signHeaders(req.Header, n.body)
	resp, err := s.client.Do(req)
	status := 0
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		status = resp.StatusCode
	}
	s.mu.Lock()
	if len(s.delivered) < 10000 {
		s.delivered = append(s.delivered, Delivery{URL: n.url, Event: n.event, Status: status})
	}
	s.mu.Unlock()
	return status >= 200 && status < 300
}

// Deliveries lists the notification deliveries attempted so far.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

// SendEvent sends a notification of any event type with resource as its encrypted content
// (original_type "transaction" unless the event starts with REFUND.), signed and retried
// like the fake's own: for tests and training (e.g. an event the platform must ignore).
func (s *Sim) SendEvent(url, event string, resource map[string]any) {
	original := "transaction"
	if len(event) > 7 && event[:7] == "REFUND." {
		original = "refund"
	}
	plain, _ := json.Marshal(resource)
	s.notify(url, event, "模拟通知", original, plain)
}
