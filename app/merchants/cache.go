package merchants

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
)

// The account cache.
//
// Every cashier page asks which channels take new payments for a merchant (billing's
// LiveChannelsFor → Live), and starting a payment opens the account's provider: each was a
// read of merchant_accounts, twice per company per page. At the term-start rush Account
// and LiveChannelsFor took 6.5 % and 6 % of the platform's CPU (docs/PERFORMANCE.md) for
// rows that change a few times a term. So a Service keeps the accounts it read for
// AccountTTL, with the provider each one opened:
//
//   - On this instance a change is seen at once. Save, RecordError, CreateMerchant and
//     UpdateMerchant drop what they touched before they return (whether or not their
//     transaction committed), and a read that began before such a drop does not store
//     its answer (a generation count), so a slow read cannot put the old row back. An
//     account switched off, or given new keys, in the console is what the next order
//     uses. A channel switched off in the settings is settings.Store's to forget; it
//     does so on Set and Save.
//   - On another instance a change is seen within AccountTTL (3 s by default): the entry
//     is read again after that. For those seconds that instance may still offer a channel
//     finance switched off, or open a payment with the keys just replaced. That is
//     acceptable for channel configuration because it decides only where a new payment
//     is sent, never how much is owed or credited: an order opened there is still an
//     order at a company whose account was valid a moment ago, its notification is still
//     verified, queried and credited once by the billing transaction (which reads the
//     bills and orders from the database, uncached), and switching a channel off never
//     stopped payments already under way. The same would not do for money: a bill's
//     amount, what has been paid, an order's status or a receipt are never cached here
//     or by billing, because a stale one would show a paid bill unpaid or credit it twice.
//   - Entries are keyed by the database as well as the merchant and channel, so that a
//     Service whose DB is swapped (or a test's several databases) never answers one
//     database's merchant with another's account, and by merchant id, so that one
//     merchant's account is never shown for another's.
//   - Only a found row or "no such account" (sql.ErrNoRows) is kept; a failed read (a
//     cancelled request, a database hiccup) is returned and not remembered.
//   - A provider that fails to open (an expired certificate) is not tried again with the
//     same settings for openFailure, so a broken account costs one recorded error a
//     minute rather than a write per page view; saving the account tries at once.
//   - Bounded: at most maxCachedAccounts entries (merchants × companies is a few hundred);
//     past that the map starts again.
//
// Save reads the account it replaces from the database, not from here: it keeps the
// sealed secrets a form left empty, and must keep the latest ones.

// DefaultAccountTTL is how long an account read from the database is trusted when
// Service.AccountTTL is zero.
const DefaultAccountTTL = 3 * time.Second

const maxCachedAccounts = 10_000

type accountKey struct {
	db         *bun.DB
	merchantID int64
	channel    string
}

// accountEntry is one account as read, or its absence (acc nil). acc is never modified
// once stored: callers outside the package get copies.
type accountEntry struct {
	acc      *store.MerchantAccount
	at       time.Time
	provider channel.Provider // opened from acc; nil until Provider opens it (guarded by Service.mu)
}

// openFailure is how long a provider that failed to open is not tried again with the same
// settings: each failure is recorded on the account (a write), which a page per payer
// would otherwise repeat on every view.
const openFailure = time.Minute

func (s *Service) ttl() time.Duration {
	if s.AccountTTL > 0 {
		return s.AccountTTL
	}
	return DefaultAccountTTL
}

// entry returns the cached entry of a merchant's account at a channel, reading it when
// it is missing or older than the TTL. The entry is shared: read acc, do not change it.
func (s *Service) entry(ctx context.Context, merchantID int64, channelName string) (*accountEntry, error) {
	key := accountKey{s.DB, merchantID, channelName}
	now := time.Now()
	s.mu.Lock()
	e, ok := s.accounts[key]
	gen := s.gen
	s.mu.Unlock()
	if ok && now.Sub(e.at) < s.ttl() && now.Sub(e.at) >= 0 {
		return e, nil
	}
	a, err := s.readAccount(ctx, merchantID, channelName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		a = nil
	case err != nil:
		return nil, err
	}
	e = &accountEntry{acc: a, at: now}
	s.mu.Lock()
	if s.gen == gen { // nothing was forgotten while we read
		if s.accounts == nil || len(s.accounts) >= maxCachedAccounts {
			s.accounts = map[accountKey]*accountEntry{}
		}
		s.accounts[key] = e
	}
	s.mu.Unlock()
	return e, nil
}

// readAccount reads a merchant's account at a channel from the database.
func (s *Service) readAccount(ctx context.Context, merchantID int64, channelName string) (*store.MerchantAccount, error) {
	a := new(store.MerchantAccount)
	if err := s.DB.NewSelect().Model(a).Where("merchant_id = ?", merchantID).Where("channel = ?", channelName).Scan(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// forget drops the cached accounts that match (merchantID 0: every merchant's; accountID
// 0: every account of the merchant) and stops reads begun before it from storing their
// answers.
func (s *Service) forget(merchantID, accountID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	for k, e := range s.accounts {
		if k.db != s.DB {
			continue
		}
		if merchantID != 0 && k.merchantID != merchantID {
			continue
		}
		if accountID != 0 && (e.acc == nil || e.acc.ID != accountID) {
			continue
		}
		delete(s.accounts, k)
	}
}

func notFound() error {
	return fault.New(fault.ErrNotFound, "not_found", "该收款商户未开通此支付渠道")
}

func copyAccount(a *store.MerchantAccount) *store.MerchantAccount {
	c := *a
	if a.LastErrorAt != nil {
		t := *a.LastErrorAt
		c.LastErrorAt = &t
	}
	return &c
}
