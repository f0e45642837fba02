// Package clients keeps the business systems (接入系统) that hand bills to the platform:
// their registration, sealed secrets and allowed items, the log of their API requests,
// the callback outbox and its delivery, and the database inbox's import. It moves no
// money: bills a business system sends become bills in bills, and are paid through billing.
package clients

import (
	"cmp"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bills"
	"campuspay/app/egress"
	"campuspay/app/settings"
	"campuspay/store"
)

// Service keeps the business systems and delivers their callbacks.
type Service struct {
	DB       *bun.DB
	Bills    *bills.Service // the inbox's rows become bills there, as the API's do
	Settings *settings.Store
	Now      func() time.Time
	Log      *slog.Logger
	// Secrets seals what is kept secret at rest (business systems' keys).
	Secrets settings.Sealer
	// Egress guards the connections callbacks open; nil refuses every internal address.
	Egress *egress.Guard

	callbackOnce sync.Once
	callbackHTTP *http.Client
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }
