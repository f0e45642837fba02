// Package campuscard is the simulated campus card system (校园一卡通) shipped in the
// binary: cardholders' accounts and balances, and a small signed HTTP protocol through
// which the platform debits a card with its password, refunds, looks transactions up and
// fetches a day's statement. The platform reaches it only over HTTP (see
// app/channel/campuscard), so the real code path is what is tested.
//
// # Signing
//
// Every request and every response carries three headers:
//
//	X-Card-Timestamp  unix seconds; the receiver accepts ±300 s of its own clock
//	X-Card-Nonce      16–64 characters of [0-9A-Za-z]; the sim refuses a nonce it has
//	                  already accepted within the window
//	X-Card-Signature  lowercase hex HMAC-SHA256(key, METHOD + "\n" + PATH + "\n" +
//	                  TIMESTAMP + "\n" + NONCE + "\n" + hex(sha256(body)))
//
// PATH is the request's path as sent on the wire (escaped, without the query), e.g.
// "/sim/card/api/debit". A response is signed with the request's METHOD and PATH and
// echoes the request's nonce, so that a client can tell the answer belongs to its
// question. A request that fails verification gets 401 {"code": "bad_signature" |
// "stale_timestamp" | "bad_nonce" | "replayed_nonce"}.
//
// # Endpoints (JSON, amounts in fen)
//
//	POST /api/debit   {"holder_no","password","out_no","amount_fen","subject"}
//	   200 {"txn_no","out_no","amount_fen","balance_after","time"}
//	   422 {"code":"wrong_password"|"frozen"|"insufficient_balance"|"no_account","message"}
//	       (insufficient_balance also carries "balance_fen")
//	   409 {"code":"conflict"}  out_no already debited with another amount or card
//	POST /api/refund  {"out_no","out_refund_no","amount_fen"}
//	   200 {"txn_no","out_no","out_refund_no","amount_fen","balance_after","time"}
//	   404 {"code":"not_found"}  no debit out_no
//	   422 {"code":"refund_exceeds","message"}  more than the debit less earlier refunds
//	   409 {"code":"conflict"}  out_refund_no already used for another amount or debit
//	GET  /api/txns/{out_no}           the debit, as above, or 404 {"code":"not_found"}
//	GET  /api/refunds/{out_refund_no} the refund, as above, or 404 {"code":"not_found"}
//	GET  /api/statements/{YYYY-MM-DD} text/csv, see below
//
// "time" is RFC 3339 in +08:00. Malformed input gets 400 {"code":"bad_request"}.
// Debits are idempotent on out_no, refunds on out_refund_no: the same request again
// returns the first answer.
//
// # Statement
//
// The statement of a business day covers the transactions whose time falls in that day
// in Asia/Shanghai (UTC+08:00: from 16:00 UTC the day before, inclusive, to 16:00 UTC
// of the day, exclusive). It is UTF-8 CSV (RFC 4180), ordered by time:
//
//	kind,txn_no,card_no,holder_no,out_no,amount_fen,time
//	debit,D1a2b3c4d5e6f7a8b,C2024001,2024001,P20260314000001,1250,2026-03-14T09:30:00+08:00
//	refund,R1a2b3c4d5e6f7a8b-0c1d2e3f,C2024001,2024001,RF2026031400001,250,2026-03-14T10:00:00+08:00
//	SUMMARY,1,1250,1,250,1000
//
// kind is debit or refund; out_no is the platform's order number for a debit and its
// refund number for a refund; amount_fen is always positive; time is RFC 3339 in
// +08:00. The last line is SUMMARY,<debit_count>,<debit_fen>,<refund_count>,
// <refund_fen>,<net_fen> with net_fen = debit_fen - refund_fen. A day without
// transactions has the header and SUMMARY,0,0,0,0,0.
//
// # Transaction numbers
//
// A debit's txn_no is "D" + 16 hex digits, a refund's "R" + 16 hex digits; a refund row
// names the debit it returns in debit_txn_no, and the refunds of a debit never add up to
// more than the debit.
package campuscard

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"campuspay/store"
)

// ErrNoAccount: no card is registered for the holder number.
var ErrNoAccount = errors.New("campuscard: no such account")

// passwordCost is the bcrypt cost of card passwords. The sim holds demo and test
// accounts only, and every debit checks a password, so the minimum cost keeps tests and
// load demos fast; a real card system would use bcrypt.DefaultCost or more.
const passwordCost = bcrypt.MinCost

// maxAmountFen bounds a single debit or refund (¥100,000,000.00): anything larger is
// nonsense, and the bound keeps sums far from overflowing int64.
const maxAmountFen = 10_000_000_000

// shanghai is Asia/Shanghai, which has kept UTC+08:00 without daylight saving since
// 1991; a fixed zone needs no tzdata in the container.
var shanghai = time.FixedZone("CST", 8*60*60)

var (
	holderNoRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,31}$`) // "C" + holder no fits card_no VARCHAR(32)
	outNoRe    = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
)

// Sim is the simulated campus card system. DB and Key must be set; Now defaults to
// time.Now. A Sim must not be copied after first use.
type Sim struct {
	DB  *bun.DB
	Key string // the shared key the platform signs with
	Now func() time.Time

	mu        sync.Mutex
	nonces    map[string]time.Time // accepted nonce → when it may be forgotten
	lastPrune time.Time
}

// Account is a cardholder's account as OpenAccount takes it.
type Account struct {
	HolderNo   string // 学号/工号; the card number is "C" + HolderNo
	Name       string
	Password   string // plain; stored as a bcrypt hash
	BalanceFen int64
	Frozen     bool
}

// CardNo is the card number of a holder.
func CardNo(holderNo string) string { return "C" + holderNo }

// Routes mounts the protocol's endpoints under r (the platform mounts it at /sim/card).
func (s *Sim) Routes(r fiber.Router) {
	api := r.Group("/api", s.signed)
	api.Post("/debit", s.debit)
	api.Post("/refund", s.refund)
	api.Get("/txns/:out_no", s.txn)
	api.Get("/refunds/:out_refund_no", s.refundTxn)
	api.Get("/statements/:day", s.statement)
}

// OpenAccount opens a card for a.HolderNo, or, when the holder has one, sets its name,
// password, balance and frozen flag to a's.
func (s *Sim) OpenAccount(ctx context.Context, a Account) error {
	if !holderNoRe.MatchString(a.HolderNo) {
		return fmt.Errorf("campuscard: open account: bad holder number %q", a.HolderNo)
	}
	if a.Password == "" || a.BalanceFen < 0 || a.BalanceFen > maxAmountFen {
		return fmt.Errorf("campuscard: open account %s: password required and balance within bounds", a.HolderNo)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(a.Password), passwordCost)
	if err != nil {
		return fmt.Errorf("campuscard: open account %s: %w", a.HolderNo, err)
	}
	acct := &store.CardAccount{
		CardNo:       CardNo(a.HolderNo),
		HolderNo:     a.HolderNo,
		HolderName:   a.Name,
		PasswordHash: string(hash),
		BalanceFen:   a.BalanceFen,
		Frozen:       a.Frozen,
		UpdatedAt:    store.UTC(s.now()),
	}
	update := func() error {
		_, err := s.DB.NewUpdate().Model(acct).
			Column("holder_name", "password_hash", "balance_fen", "frozen", "updated_at").
			Where("holder_no = ?", a.HolderNo).Exec(ctx)
		return err
	}
	exists, err := s.DB.NewSelect().Model((*store.CardAccount)(nil)).Where("holder_no = ?", a.HolderNo).Exists(ctx)
	if err == nil && exists {
		err = update()
	} else if err == nil {
		_, err = s.DB.NewInsert().Model(acct).Exec(ctx)
		if store.IsDuplicate(err) { // opened meanwhile
			err = update()
		}
	}
	if err != nil {
		return fmt.Errorf("campuscard: open account %s: %w", a.HolderNo, err)
	}
	return nil
}

// Balance is the holder's card balance in fen.
func (s *Sim) Balance(ctx context.Context, holderNo string) (int64, error) {
	acct, err := s.account(ctx, s.DB, holderNo)
	if err != nil {
		return 0, fmt.Errorf("campuscard: balance of %s: %w", holderNo, err)
	}
	return acct.BalanceFen, nil
}

// SetFrozen freezes or unfreezes the holder's card.
func (s *Sim) SetFrozen(ctx context.Context, holderNo string, frozen bool) error {
	res, err := s.DB.NewUpdate().Model((*store.CardAccount)(nil)).
		Set("frozen = ?", frozen).Set("updated_at = ?", store.UTC(s.now())).
		Where("holder_no = ?", holderNo).Exec(ctx)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			// MySQL counts changed rows only: tell "no such card" from "already so".
			_, err = s.account(ctx, s.DB, holderNo)
		}
	}
	if err != nil {
		return fmt.Errorf("campuscard: set frozen %s: %w", holderNo, err)
	}
	return nil
}

func (s *Sim) account(ctx context.Context, db bun.IDB, holderNo string) (*store.CardAccount, error) {
	acct := new(store.CardAccount)
	err := db.NewSelect().Model(acct).Where("holder_no = ?", holderNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoAccount
	}
	return acct, err
}

// txnByOut finds the txn of kind with the platform's number outNo; sql.ErrNoRows if none.
func (s *Sim) txnByOut(ctx context.Context, kind, outNo string) (*store.CardTxn, error) {
	t := new(store.CardTxn)
	err := s.DB.NewSelect().Model(t).Where("kind = ? AND out_no = ?", kind, outNo).Scan(ctx)
	return t, err
}

func (s *Sim) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// errorBody is the JSON of every non-200 answer.
type errorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message,omitempty"`
	BalanceFen *int64 `json:"balance_fen,omitempty"`
}

func fail(c *fiber.Ctx, status int, code, message string) error {
	return c.Status(status).JSON(errorBody{Code: code, Message: message})
}

func badRequest(c *fiber.Ctx, message string) error {
	return fail(c, fiber.StatusBadRequest, "bad_request", message)
}
