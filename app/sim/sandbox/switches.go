package sandbox

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
)

// switchesJSON is how the switches travel over HTTP.
type switchesJSON struct {
	NotifyDelayMS   int64 `json:"notify_delay_ms"`
	DropNotify      bool  `json:"drop_notify"`
	DuplicateNotify int   `json:"duplicate_notify"`
	OutOfOrder      bool  `json:"out_of_order"`
	AmountDeltaFen  int64 `json:"amount_delta_fen"`
	Held            int   `json:"held"` // notifications held by out_of_order (read only)
}

// Switches returns the current switches.
func (s *Sim) Switches() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.switches
}

// SetSwitches replaces the switches. Turning OutOfOrder off releases the held
// notifications, newest first.
func (s *Sim) SetSwitches(sw Switches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.switches = sw
	if sw.OutOfOrder || len(s.held) == 0 || s.closed {
		return
	}
	held := s.held
	s.held = nil
	ctx := s.backgroundLocked()
	s.wg.Add(1)
	go s.release(ctx, held)
}

func (s *Sim) switchesView() switchesJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	sw := s.switches
	return switchesJSON{
		NotifyDelayMS:   sw.NotifyDelay.Milliseconds(),
		DropNotify:      sw.DropNotify,
		DuplicateNotify: sw.DuplicateNotify,
		OutOfOrder:      sw.OutOfOrder,
		AmountDeltaFen:  sw.AmountDeltaFen,
		Held:            len(s.held),
	}
}

// getSwitches handles GET /switches.
func (s *Sim) getSwitches(c *fiber.Ctx) error {
	return c.JSON(s.switchesView())
}

// postSwitches handles POST /switches: the fields given replace the current values.
func (s *Sim) postSwitches(c *fiber.Ctx) error {
	v := s.switchesView()
	if err := json.Unmarshal(c.Body(), &v); err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(apiError{Code: "INVALID_PARAM", Message: "请求体不是合法的 JSON"})
	}
	switch {
	case v.NotifyDelayMS < 0 || v.NotifyDelayMS > maxNotifyDelay.Milliseconds():
		return c.Status(fiber.StatusBadRequest).JSON(apiError{Code: "INVALID_PARAM", Message: "notify_delay_ms 须在 0 至 600000 之间"})
	case v.DuplicateNotify < 0 || v.DuplicateNotify > maxDuplicates:
		return c.Status(fiber.StatusBadRequest).JSON(apiError{Code: "INVALID_PARAM", Message: "duplicate_notify 须在 0 至 10 之间"})
	}
	s.SetSwitches(Switches{
		NotifyDelay:     time.Duration(v.NotifyDelayMS) * time.Millisecond,
		DropNotify:      v.DropNotify,
		DuplicateNotify: v.DuplicateNotify,
		OutOfOrder:      v.OutOfOrder,
		AmountDeltaFen:  v.AmountDeltaFen,
	})
	return c.JSON(s.switchesView())
}
