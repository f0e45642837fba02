package clients

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"campuspay/app/egress"
	"campuspay/app/settings"
	"campuspay/app/sign"
	"campuspay/store"
)

// CallbackRetries is how long delivery waits after each failed attempt by default (API.md,
// "Callbacks"; the setting callback.retry_schedule changes it); after the last, the event
// is marked failed and finance may resend it.
var CallbackRetries = []time.Duration{
	15 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// CallbackTimeout is how long a business system has to answer a callback.
const CallbackTimeout = 10 * time.Second

// excerptRunes is how much of a receiver's answer the console keeps.
const excerptRunes = 200

// claimFor is how long a claimed event is left alone by other runs while it is sent.
const claimFor = 2 * time.Minute

// Event statuses.
const (
	EventPending   = "pending"
	EventDelivered = "delivered"
	EventFailed    = "failed"
)

// DeliverEvents sends the callbacks that are due, at most limit of them, several at a time,
// and reports how many were delivered and how many failed for good this run. Every
// connection goes through s.Egress, and redirects are not followed.
func (s *Service) DeliverEvents(ctx context.Context, limit int) (delivered, failed int, err error) {
	client := s.callbackClient()
	now := s.now()
	var due []*store.Event
	if err := s.DB.NewSelect().Model(&due).Where("status = ?", EventPending).Where("next_at <= ?", now).
		OrderExpr("next_at, id").Limit(int64(limit)).Scan(ctx); err != nil {
		return 0, 0, fmt.Errorf("clients: due events: %w", err)
	}
	clients := map[string]*store.Client{}
	var mu sync.Mutex
	work := make(chan *store.Event)
	var wg sync.WaitGroup
	for range min(8, max(1, len(due))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range work {
				ok, gaveUp := s.deliver(ctx, client, ev, clients, &mu)
				mu.Lock()
				if ok {
					delivered++
				}
				if gaveUp {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	claimed, err := s.claimEvents(ctx, due, now)
	if err != nil {
		close(work)
		wg.Wait()
		return delivered, failed, err
	}
	for _, ev := range claimed {
		work <- ev
	}
	close(work)
	wg.Wait()
	return delivered, failed, nil
}

// claimEvents takes the due events for this run in one statement: their next_at moves to a
// claim time of this run's own (to the microsecond), so that an overlapping run or another
// instance that read the same rows finds them taken, and the rows carrying that time are
// this run's. Two runs drawing the same microsecond would both send an event: delivery is
// at least once, and receivers deduplicate on event_id.
func (s *Service) claimEvents(ctx context.Context, due []*store.Event, now time.Time) ([]*store.Event, error) {
	if len(due) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(due))
	for i, ev := range due {
		ids[i] = ev.ID
	}
	jitter, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return nil, err
	}
	claim := now.Add(claimFor + time.Duration(jitter.Int64())*time.Microsecond)
	if _, err := s.DB.NewUpdate().Model((*store.Event)(nil)).Set("next_at = ?", claim).
		Where("id IN (?)", bun.In(ids)).Where("status = ? AND next_at <= ?", EventPending, now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("clients: claim events: %w", err)
	}
	var claimed []*store.Event
	if err := s.DB.NewSelect().Model(&claimed).Where("id IN (?)", bun.In(ids)).Where("next_at = ?", claim).
		OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("clients: claimed events: %w", err)
	}
	return claimed, nil
}

// deliver sends one event and records the outcome; it reports whether the receiver took
// it, and whether delivery gave up for good.
func (s *Service) deliver(ctx context.Context, hc *http.Client, ev *store.Event, clients map[string]*store.Client, mu *sync.Mutex) (ok, gaveUp bool) {
	mu.Lock()
	cl, known := clients[ev.Client]
	mu.Unlock()
	if !known {
		c, err := s.Client(ctx, ev.Client)
		if err != nil {
			c = nil
		}
		mu.Lock()
		clients[ev.Client], cl = c, c
		mu.Unlock()
	}
	status, excerpt := 0, ""
	var sendErr error
	switch {
	case cl == nil:
		sendErr = fmt.Errorf("接入系统 %s 不存在", ev.Client)
	case cl.CallbackURL == "":
		sendErr = fmt.Errorf("接入系统未设置回调地址")
	default:
		status, excerpt, sendErr = s.post(ctx, hc, cl, ev)
	}
	now := s.now()
	attempts := ev.Attempts + 1
	schedule := s.retrySchedule(ctx)
	q := s.DB.NewUpdate().Model((*store.Event)(nil)).Set("attempts = ?", attempts).Set("last_status = ?", status).Where("id = ?", ev.ID)
	switch {
	case sendErr == nil && status >= 200 && status < 300:
		ok = true
		q = q.Set("status = ?", EventDelivered).Set("delivered_at = ?", now).Set("last_error = ''")
	default:
		msg := excerpt
		if sendErr != nil {
			msg = sendErr.Error()
		}
		q = q.Set("last_error = ?", store.Clip(msg, 500))
		if attempts > len(schedule) {
			gaveUp = true
			q = q.Set("status = ?", EventFailed)
		} else {
			q = q.Set("next_at = ?", now.Add(schedule[attempts-1]))
		}
	}
	if _, err := q.Exec(ctx); err != nil {
		s.log().Error("record callback attempt", "event", ev.EventID, "err", err)
	}
	return ok, gaveUp
}

// post sends the event's payload to the client's callback URL, signed with the client's
// secret exactly as requests to the platform are signed. It returns the answer's status and
// an excerpt of its body; a redirect, a refused address or no answer is an error whose
// text the console shows.
func (s *Service) post(ctx context.Context, hc *http.Client, cl *store.Client, ev *store.Event) (int, string, error) {
	secret, err := s.ClientSecret(cl)
	if err != nil {
		return 0, "", err
	}
	u, err := url.Parse(cl.CallbackURL)
	if err != nil {
		return 0, "", fmt.Errorf("回调地址无效")
	}
	ctx, cancel := context.WithTimeout(ctx, CallbackTimeout)
	defer cancel()
	body := []byte(ev.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("回调地址无效")
	}
	// The wall clock, not s.Now: the receiver checks the timestamp against its own clock.
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), sign.Nonce()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sign.HeaderAppID, cl.AppID)
	req.Header.Set(sign.HeaderTimestamp, ts)
	req.Header.Set(sign.HeaderNonce, nonce)
	req.Header.Set(sign.HeaderSignature, sign.HMAC(secret, sign.StringToSign("POST", u.RequestURI(), ts, nonce, body)))
	resp, err := hc.Do(req)
	if err != nil {
		s.log().Info("callback not delivered", "event", ev.EventID, "client", cl.AppID, "err", err)
		return 0, "", errors.New(sendFailure(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4*excerptRunes))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		to := excerpt([]byte(resp.Header.Get("Location")))
		return resp.StatusCode, "", fmt.Errorf("回调地址返回重定向（HTTP %d → %s），平台不跟随重定向：请把回调地址改为最终地址", resp.StatusCode, to)
	}
	return resp.StatusCode, excerpt(raw), nil
}

// callbackClient is the HTTP client callbacks go out through: guarded by s.Egress, no
// redirects, CallbackTimeout per request.
func (s *Service) callbackClient() *http.Client {
	s.callbackOnce.Do(func() {
		s.callbackHTTP = s.Egress.Client(egress.Options{Timeout: CallbackTimeout, NoRedirects: true})
	})
	return s.callbackHTTP
}

// retrySchedule is how long delivery waits after each failed attempt.
func (s *Service) retrySchedule(ctx context.Context) []time.Duration {
	if s.Settings == nil {
		return CallbackRetries
	}
	return s.Settings.Schedule(ctx, settings.CallbackRetrySchedule)
}

// sendFailure says in Chinese why a callback got no answer.
func sendFailure(err error) string {
	var refused *egress.Refused
	var dns *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return "回调地址指向内网，平台拒绝连接（" + refused.Reason() + "）。该系统确在校园内网时，请管理员在 系统参数 › 对外连接与回调 中允许该地址"
	case errors.As(err, &dns):
		return "回调地址的域名无法解析"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("%d 秒内没有应答", int(CallbackTimeout/time.Second))
	case errors.Is(err, syscall.ECONNREFUSED):
		return "连接被拒绝：对方端口没有服务"
	}
	return "无法连接回调地址"
}

// excerpt is what the console keeps of a receiver's answer: at most excerptRunes
// characters of valid UTF-8 (the last an ellipsis when it was cut), white space runs made
// one space, other control and invisible characters written as \uXXXX. The page escapes
// it again as HTML.
func excerpt(raw []byte) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(string(raw), "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case space && b.Len() > 0:
			b.WriteByte(' ')
		}
		space = false
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	out := []rune(b.String())
	if len(out) > excerptRunes {
		return string(out[:excerptRunes-1]) + "…"
	}
	return string(out)
}

// ResendEvents puts undelivered callbacks back in the queue to be sent now, with a fresh
// retry schedule: one event by id, or (eventID 0) every one of a client not yet
// delivered, whether marked failed or still waiting for its next attempt.
func (s *Service) ResendEvents(ctx context.Context, client string, eventID int64, actor string) (int, error) {
	now := s.now()
	var n int64
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*store.Event)(nil)).Set("status = ?", EventPending).Set("next_at = ?", now).
			Set("attempts = 0").Where("client = ?", client)
		if eventID > 0 {
			q = q.Where("id = ? AND status <> ?", eventID, EventDelivered)
		} else {
			q = q.Where("status <> ?", EventDelivered)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("clients: resend events: %w", err)
		}
		n, _ = res.RowsAffected()
		detail := fmt.Sprintf("event=%d count=%d", eventID, n)
		if eventID == 0 {
			detail = fmt.Sprintf("all undelivered count=%d", n)
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "callback.resent", TargetType: "client", TargetID: client,
			Detail: detail})
	})
	return int(n), err
}
