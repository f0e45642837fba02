package bank

import (
	"campuspay/app/sign"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
)

// Settlement switches.
const (
	Normal = "normal"
	Delay  = "delay" // credit on D+2 instead of D+1
	Drop   = "drop"  // never credit
)

// Header names of the protocol.
const (
	HeaderAccount   = "X-Bank-Account"
	HeaderTimestamp = "X-Bank-Timestamp"
	HeaderSignature = "X-Bank-Signature"
)

const signatureWindow = 300 * time.Second

// shanghai is Asia/Shanghai (+08:00 all year, no tzdata needed).
var shanghai = time.FixedZone("CST", 8*3600)

// Sim is the simulated bank. DB, Account and Key must be set; SandboxMerchant is the
// sandbox merchant whose settlements reach this account.
type Sim struct {
	DB              *bun.DB
	Account         string
	Key             string
	SandboxMerchant string
	Now             func() time.Time // nil: time.Now (or the clock set by SetClock)

	mu       sync.Mutex
	switches map[string]string // channel + "/" + day → action
	clock    func() time.Time
}

// Routes mounts the bank's endpoints on r.
func (s *Sim) Routes(r fiber.Router) {
	r.Get("/api/statements/:day", s.authenticate, s.statement)
	r.Get("/switches", s.getSwitches)
	r.Post("/switches", s.postSwitches)
}

// Set switches a channel's settlement of a day: Normal, Delay or Drop.
func (s *Sim) Set(channelName string, day time.Time, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.switches == nil {
		s.switches = map[string]string{}
	}
	key := channelName + "/" + day.Format(time.DateOnly)
	if action == Normal || action == "" {
		delete(s.switches, key)
		return
	}
	s.switches[key] = action
}

func (s *Sim) switchOf(channelName string, day time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.switches[channelName+"/"+day.Format(time.DateOnly)]; ok {
		return a
	}
	return Normal
}

// SetClock replaces the bank's clock (tests: a statement is served only once its day has
// ended by this clock). nil restores Now.
func (s *Sim) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.clock = now
	s.mu.Unlock()
}

func (s *Sim) now() time.Time {
	s.mu.Lock()
	clock := s.clock
	s.mu.Unlock()
	switch {
	case clock != nil:
		return clock()
	case s.Now != nil:
		return s.Now()
	}
	return time.Now()
}

func (s *Sim) authenticate(c *fiber.Ctx) error {
	ts := c.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	d := s.now().Sub(time.Unix(sec, 0))
	path := string(c.Request().URI().PathOriginal())
	want := sign.HMAC(s.Key, "GET\n"+path+"\n"+ts)
	if err != nil || d > signatureWindow || d < -signatureWindow || c.Get(HeaderAccount) != s.Account ||
		!hmac.Equal([]byte(want), []byte(c.Get(HeaderSignature))) {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"code": "BAD_SIGNATURE", "message": "签名验证失败"})
	}
	return c.Next()
}

type switchRequest struct {
	Channel string `json:"channel"`
	Day     string `json:"day"`
	Action  string `json:"action"`
}

func (s *Sim) getSwitches(c *fiber.Ctx) error {
	s.mu.Lock()
	out := map[string]string{}
	for k, v := range s.switches {
		out[k] = v
	}
	s.mu.Unlock()
	return c.JSON(fiber.Map{"settlements": out})
}

func (s *Sim) postSwitches(c *fiber.Ctx) error {
	var req switchRequest
	if err := c.BodyParser(&req); err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"code": "INVALID_PARAM", "message": "请求格式错误"})
	}
	day, err := time.Parse(time.DateOnly, req.Day)
	if err != nil || (req.Channel != "sandbox" && req.Channel != "campuscard") ||
		(req.Action != Normal && req.Action != Delay && req.Action != Drop) {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"code": "INVALID_PARAM", "message": "channel、day 或 action 不正确"})
	}
	s.Set(req.Channel, day, req.Action)
	return s.getSwitches(c)
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
