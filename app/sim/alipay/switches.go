package alipay

import (
	"encoding/json"
	"net/http"
	"time"
)

// Switches make the fake misbehave the way Alipay and networks do.
type Switches struct {
	DropNotify      bool          // send no notifications: the platform must find payments by query
	NotifyDelay     time.Duration // wait before the first attempt of each notification
	DuplicateNotify int           // send each notification this many extra times, concurrently
	ReorderNotify   bool          // hold notifications; turning it off sends them newest first
	AmountDeltaFen  int64         // notifications and query answers report the amount plus this
	OtherSellerID   bool          // notifications name another seller_id
	OtherAppID      bool          // notifications name another app_id
	TamperStatement bool          // the statement's summary disagrees with its lines by one fen
	Garbage         bool          // the gateway answers an HTML error page with status 502
}

type switchesJSON struct {
	DropNotify      bool  `json:"drop_notify"`
	NotifyDelayMS   int64 `json:"notify_delay_ms"`
	DuplicateNotify int   `json:"duplicate_notify"`
	ReorderNotify   bool  `json:"reorder_notify"`
	AmountDeltaFen  int64 `json:"amount_delta_fen"`
	OtherSellerID   bool  `json:"other_seller_id"`
	OtherAppID      bool  `json:"other_app_id"`
	TamperStatement bool  `json:"tamper_statement"`
	Garbage         bool  `json:"garbage"`
	Held            int   `json:"held"` // read only: notifications held by reorder_notify
}

// Switches returns the switches in force.
func (s *Sim) Switches() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.switches
}

// SetSwitches replaces the switches. Turning ReorderNotify off sends what it held, newest
// first.
func (s *Sim) SetSwitches(sw Switches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.switches = sw
	if !sw.ReorderNotify {
		s.releaseLocked()
	}
}

func (s *Sim) switchesView() switchesJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	sw := s.switches
	return switchesJSON{
		DropNotify: sw.DropNotify, NotifyDelayMS: sw.NotifyDelay.Milliseconds(), DuplicateNotify: sw.DuplicateNotify,
		ReorderNotify: sw.ReorderNotify, AmountDeltaFen: sw.AmountDeltaFen, OtherSellerID: sw.OtherSellerID,
		OtherAppID: sw.OtherAppID, TamperStatement: sw.TamperStatement, Garbage: sw.Garbage, Held: len(s.held),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// getSwitches handles GET /switches.
func (s *Sim) getSwitches(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.switchesView())
}

// postSwitches handles POST /switches: the fields given replace the current values.
func (s *Sim) postSwitches(w http.ResponseWriter, r *http.Request) {
	v := s.switchesView()
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		writeJSON(w, http.StatusBadRequest, jsonError{"INVALID_PARAM", "请求体不是合法的开关 JSON"})
		return
	}
	switch {
	case v.NotifyDelayMS < 0 || v.NotifyDelayMS > maxDelay.Milliseconds():
		writeJSON(w, http.StatusBadRequest, jsonError{"INVALID_PARAM", "notify_delay_ms 须在 0 至 600000 之间"})
		return
	case v.DuplicateNotify < 0 || v.DuplicateNotify > maxDuplicates:
		writeJSON(w, http.StatusBadRequest, jsonError{"INVALID_PARAM", "duplicate_notify 须在 0 至 10 之间"})
		return
	case v.AmountDeltaFen < -1_000_000 || v.AmountDeltaFen > 1_000_000:
		writeJSON(w, http.StatusBadRequest, jsonError{"INVALID_PARAM", "amount_delta_fen 须在 ±1000000 之内"})
		return
	}
	s.SetSwitches(Switches{
		DropNotify: v.DropNotify, NotifyDelay: time.Duration(v.NotifyDelayMS) * time.Millisecond,
		DuplicateNotify: v.DuplicateNotify, ReorderNotify: v.ReorderNotify, AmountDeltaFen: v.AmountDeltaFen,
		OtherSellerID: v.OtherSellerID, OtherAppID: v.OtherAppID, TamperStatement: v.TamperStatement, Garbage: v.Garbage,
	})
	writeJSON(w, http.StatusOK, s.switchesView())
}

// postRotate handles POST /rotate: {"untrusted": true} issues the new certificate under a
// foreign root.
func (s *Sim) postRotate(w http.ResponseWriter, r *http.Request) {
	var v struct {
		Untrusted bool `json:"untrusted"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&v); err != nil {
			writeJSON(w, http.StatusBadRequest, jsonError{"INVALID_PARAM", "请求体不是合法的 JSON"})
			return
		}
	}
	if err := s.RotateCert(v.Untrusted); err != nil {
		writeJSON(w, http.StatusInternalServerError, jsonError{"SYSTEM_ERROR", "证书轮换失败"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"alipay_cert_sn": s.AlipayCertSN()})
}
