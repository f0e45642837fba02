package unionpay

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Switches make the fake misbehave the way real gateways do.
type Switches struct {
	DropNotify      bool          // send no notifications (the platform must query)
	NotifyDelay     time.Duration // wait before a notification's first try
	DuplicateNotify int           // send each notification this many extra times
	Reorder         bool          // hold notifications; turning it off sends them newest first
	AmountDeltaFen  int64         // notifications and query answers report txnAmt + delta
	OtherMerID      string        // notifications and query answers report this merId
	HoldRefunds     bool          // refunds stay processing until FinishRefunds
	TamperStatement string        // "totals": a line's 清算净额 is off by one fen; "crc": the entry's bytes change under its CRC-32
}

type notice struct {
	url  string
	body string
}

// Switches returns the current switches.
func (s *Sim) Switches() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.switches
}

// SetSwitches replaces the switches; turning Reorder off releases the held notifications,
// newest first.
func (s *Sim) SetSwitches(sw Switches) {
	s.mu.Lock()
	s.switches = sw
	var release []notice
	if !sw.Reorder {
		release, s.held = s.held, nil
	}
	s.mu.Unlock()
	if len(release) == 0 {
		return
	}
	s.wg.Add(1)
	go func() { // one after the other, newest first
		defer s.wg.Done()
		for i := len(release) - 1; i >= 0; i-- {
			s.tryAll(release[i])
		}
	}()
}

// applySwitchesLocked makes a message lie about its amount or merchant, still signed.
func (s *Sim) applySwitchesLocked(f map[string]string) {
	if d := s.switches.AmountDeltaFen; d != 0 {
		if n, err := strconv.ParseInt(f["txnAmt"], 10, 64); err == nil {
			f["txnAmt"] = strconv.FormatInt(n+d, 10)
		}
	}
	if m := s.switches.OtherMerID; m != "" {
		f["merId"] = m
	}
}

// send signs a notification and posts it to backUrl as the switches say.
func (s *Sim) send(backURL string, f map[string]string) {
	s.mu.Lock()
	s.applySwitchesLocked(f)
	n := notice{url: backURL, body: EncodeForm(s.signLocked(f))}
	sw := s.switches
	if sw.DropNotify {
		s.mu.Unlock()
		return
	}
	if sw.Reorder {
		s.held = append(s.held, n)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	for i := 0; i <= sw.DuplicateNotify; i++ {
		s.deliver(n, sw.NotifyDelay)
	}
}

// deliver posts one notification in the background, up to five times until the platform
// answers HTTP 200.
func (s *Sim) deliver(n notice, delay time.Duration) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.wait(delay) {
			s.tryAll(n)
		}
	}()
}

// tryAll posts n until the platform answers HTTP 200, five tries at most.
func (s *Sim) tryAll(n notice) {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if s.post(n) {
			return
		}
		if attempt < maxAttempts && !s.wait(time.Duration(attempt)*s.RetryInterval) {
			return
		}
	}
}

func (s *Sim) wait(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Sim) post(n notice) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, strings.NewReader(n.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode == http.StatusOK
}

// switchesJSON is how the switches travel over HTTP.
type switchesJSON struct {
	DropNotify      bool   `json:"drop_notify"`
	NotifyDelayMS   int64  `json:"notify_delay_ms"`
	DuplicateNotify int    `json:"duplicate_notify"`
	Reorder         bool   `json:"reorder"`
	AmountDeltaFen  int64  `json:"amount_delta_fen"`
	OtherMerID      string `json:"other_mer_id"`
	HoldRefunds     bool   `json:"hold_refunds"`
	TamperStatement string `json:"tamper_statement"`
}

func toJSON(sw Switches) switchesJSON {
	return switchesJSON{sw.DropNotify, sw.NotifyDelay.Milliseconds(), sw.DuplicateNotify, sw.Reorder,
		sw.AmountDeltaFen, sw.OtherMerID, sw.HoldRefunds, sw.TamperStatement}
}

func (s *Sim) getSwitches(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(toJSON(s.Switches()))
}

// postSwitches sets the switches from a JSON body; fields left out keep their values.
func (s *Sim) postSwitches(w http.ResponseWriter, r *http.Request) {
	v := toJSON(s.Switches())
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		http.Error(w, `{"error":"请求体不是合法的开关 JSON"}`, http.StatusBadRequest)
		return
	}
	switch {
	case v.NotifyDelayMS < 0 || v.NotifyDelayMS > 600_000:
		http.Error(w, `{"error":"notify_delay_ms 须在 0 至 600000 之间"}`, http.StatusBadRequest)
		return
	case v.DuplicateNotify < 0 || v.DuplicateNotify > 10:
		http.Error(w, `{"error":"duplicate_notify 须在 0 至 10 之间"}`, http.StatusBadRequest)
		return
	case v.TamperStatement != "" && v.TamperStatement != "totals" && v.TamperStatement != "crc":
		http.Error(w, `{"error":"tamper_statement 只能是 totals 或 crc"}`, http.StatusBadRequest)
		return
	}
	s.SetSwitches(Switches{DropNotify: v.DropNotify, NotifyDelay: time.Duration(v.NotifyDelayMS) * time.Millisecond,
		DuplicateNotify: v.DuplicateNotify, Reorder: v.Reorder, AmountDeltaFen: v.AmountDeltaFen,
		OtherMerID: v.OtherMerID, HoldRefunds: v.HoldRefunds, TamperStatement: v.TamperStatement})
	s.getSwitches(w, r)
}
