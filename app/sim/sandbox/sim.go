package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
)

// Header names of the protocol.
const (
	HeaderMerchant  = "X-Sandbox-Merchant"
	HeaderTimestamp = "X-Sandbox-Timestamp"
	HeaderSignature = "X-Sandbox-Signature"
)

// Trade states as the gateway names them.
const (
	StatusWaitPay = "WAIT_PAY"
	StatusSuccess = "SUCCESS"
	StatusClosed  = "CLOSED"
)

const (
	maxAmountFen      = 100_000_000
	signatureWindow   = 300 * time.Second
	defaultExpiry     = 2 * time.Hour
	merchantName      = "校园统一支付平台"
	maxDuplicates     = 10
	maxNotifyDelay    = 10 * time.Minute
	notifyHTTPTimeout = 10 * time.Second
)

// shanghai is Asia/Shanghai; China has kept +08:00 without daylight saving since 1991, and a
// fixed zone does not depend on the host's tzdata.
var shanghai = time.FixedZone("CST", 8*3600)

var (
	outTradeNoPattern  = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
	outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)
)

// Sim is the simulated payment company. Set the exported fields, then call Routes.
type Sim struct {
	DB        *bun.DB
	PublicURL string                               // e.g. "http://127.0.0.1:8080/sim/sandbox": used in pay_url
	Key       func(merchant string) (string, bool) // the merchant's signing key
	Client    *http.Client                         // for sending notifications; nil: a 10 s client
	Now       func() time.Time                     // nil: time.Now

	mu       sync.Mutex
	switches Switches
	held     []heldNotice
	ctx      context.Context
	cancel   context.CancelFunc
	closed   bool
	wg       sync.WaitGroup
}

// Switches make the gateway misbehave like real providers do.
type Switches struct {
	NotifyDelay     time.Duration // wait before the first notification
	DropNotify      bool          // never send notifications (the payer must rely on query)
	DuplicateNotify int           // send each notification this many extra times (concurrently)
	OutOfOrder      bool          // hold notifications; send them newest first when turned off
	AmountDeltaFen  int64         // report amount+delta in notifications
}

// Routes registers the gateway API, the hosted pay page and the switches on r.
func (s *Sim) Routes(r fiber.Router) {
	api := r.Group("/api", s.authenticate)
	api.Post("/trades", s.createTrade)
	api.Get("/trades/:out_trade_no", s.queryTrade)
	api.Post("/trades/:out_trade_no/close", s.closeTrade)
	api.Post("/refunds", s.createRefund)
	api.Get("/refunds/:out_trade_no/:out_refund_no", s.queryRefund)
	api.Get("/statements/:day", s.statement)

	r.Get("/pay/:trade_no", s.payPage)
	r.Post("/pay/:trade_no/confirm", s.confirm)
	r.Post("/pay/:trade_no/cancel", s.cancelPay)

	r.Get("/switches", s.getSwitches)
	r.Post("/switches", s.postSwitches)
}

// Close stops sending notifications: pending deliveries and held notifications are
// abandoned, and Close returns once every background goroutine has ended.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.held = nil
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Sim) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sim) key(merchant string) (string, bool) {
	if merchant == "" || s.Key == nil {
		return "", false
	}
	return s.Key(merchant)
}

func (s *Sim) payURL(tradeNo string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/pay/" + tradeNo
}

// newNumber returns prefix + the Shanghai time to the second (14 digits) + 6 random
// digits: 20 digits in all, like "SB20240901083000123456".
func (s *Sim) newNumber(prefix string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("sandbox: crypto/rand: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return prefix + s.now().In(shanghai).Format("20060102150405") + leftPad(n.String(), 6)
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// apiError is the gateway's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

const (
	localMerchant = "sandbox.merchant"
	localKey      = "sandbox.key"
)

// reply answers a gateway request with v as JSON, signed when the merchant is known.
func (s *Sim) reply(c *fiber.Ctx, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return s.internal(c, err)
	}
	return s.replyBody(c, status, fiber.MIMEApplicationJSONCharsetUTF8, body)
}

func (s *Sim) replyError(c *fiber.Ctx, status int, code, message string) error {
	return s.reply(c, status, apiError{Code: code, Message: message})
}

func (s *Sim) replyBody(c *fiber.Ctx, status int, contentType string, body []byte) error {
	if key, ok := c.Locals(localKey).(string); ok {
		ts := strconv.FormatInt(s.now().Unix(), 10)
		c.Set(HeaderTimestamp, ts)
		c.Set(HeaderSignature, signRequest(key, c.Method(), requestPath(c), ts, body))
	}
	c.Set(fiber.HeaderContentType, contentType)
	return c.Status(status).Send(body)
}

// internal logs an unexpected failure and answers 500 without detail.
func (s *Sim) internal(c *fiber.Ctx, err error) error {
	slog.Error("sandbox: internal error", "method", c.Method(), "path", c.Path(), "err", err)
	body := []byte(`{"code":"SYSTEM_ERROR","message":"系统繁忙，请稍后再试"}`)
	return s.replyBody(c, fiber.StatusInternalServerError, fiber.MIMEApplicationJSONCharsetUTF8, body)
}

// requestPath is the path as it came on the request line, which is what was signed.
func requestPath(c *fiber.Ctx) string {
	return string(c.Request().URI().PathOriginal())
}

// authenticate checks a gateway request's merchant, timestamp and signature.
func (s *Sim) authenticate(c *fiber.Ctx) error {
	merchant := c.Get(HeaderMerchant)
	key, ok := s.key(merchant)
	if !ok {
		return s.replyError(c, fiber.StatusUnauthorized, "BAD_SIGNATURE", "商户号不存在")
	}
	c.Locals(localMerchant, strings.Clone(merchant))
	c.Locals(localKey, key)
	ts := c.Get(HeaderTimestamp)
	if !withinWindow(ts, s.now()) {
		return s.replyError(c, fiber.StatusUnauthorized, "BAD_SIGNATURE", "时间戳缺失或与服务器时间相差超过 300 秒")
	}
	if !verifyRequest(key, c.Method(), requestPath(c), ts, c.Body(), c.Get(HeaderSignature)) {
		return s.replyError(c, fiber.StatusUnauthorized, "BAD_SIGNATURE", "签名验证失败")
	}
	return c.Next()
}

func merchantOf(c *fiber.Ctx) string {
	m, _ := c.Locals(localMerchant).(string)
	return m
}
