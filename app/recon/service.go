// Package recon proves, day by day, that the platform's records, each payment channel's
// records and the bank's records agree: it fetches and keeps the channels' and the bank's
// statements (versioned, line by line), matches them against the platform's payments and
// refunds and against each other, repairs what a missed notification left out (through
// billing.ApplyTrade, the path a notification takes), and keeps every difference it cannot
// explain as a discrepancy for finance to resolve.
//
// Business days are dates in Asia/Shanghai, written as a time.Time at 00:00 UTC of that
// date (bizday.DayOf), which is how DATE columns read back.
package recon

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/settings"
)

// Service is reconciliation. Billing must be set; Bank is the bank's statement API (nil:
// bank statements come by upload only).
type Service struct {
	Billing *billing.Service
	Bank    BankSource
	Log     *slog.Logger
}

func (s *Service) db() *bun.DB { return s.Billing.DB }

func (s *Service) now() time.Time {
	if s.Billing.Now != nil {
		return s.Billing.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Today is the current business day.
func (s *Service) Today() time.Time { return bizday.DayOf(s.now()) }

// Channels are the registered channels that have statements (channel.StatementSource) and
// are enabled in the settings, by name.
func (s *Service) Channels(ctx context.Context) []string {
	var enabled []string
	if s.Billing.Settings != nil {
		enabled = s.Billing.Settings.List(ctx, settings.ChannelsEnabled)
	}
	var out []string
	for _, name := range s.Billing.StatementChannels() {
		if !s.Billing.HasStatements(ctx, name) {
			continue
		}
		if s.Billing.Settings != nil && !slices.Contains(enabled, name) {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// settlementMarkers are the words by which a bank line names a channel's settlement, as
// the channel says (channel.Capabilities.SettlementMarkers), in upper case.
func (s *Service) settlementMarkers(name string) []string {
	var out []string
	for _, m := range s.Billing.Capabilities(name).SettlementMarkers {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// SourceLabel is a statement source as finance knows it.
func SourceLabel(source string) string {
	if code, ok := bankCode(source); ok {
		if code == SimBankCode {
			return "银行（模拟银行）"
		}
		return "银行（" + code + "）"
	}
	return billing.ChannelLabel(source)
}

// errf is an expected failure people may read (mapped to HTTP status by app/web).
func errf(kind error, code, format string, args ...any) error {
	return &fault.Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// dayOnly normalises a business day to 00:00 UTC of its date.
func dayOnly(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dayText is a business day as 2006-01-02.
func dayText(day time.Time) string { return day.Format(time.DateOnly) }

// ParseDay reads a business day written 2006-01-02 (required).
func ParseDay(s string) (time.Time, error) {
	d, err := bizday.ParseDay(s)
	if err != nil {
		return time.Time{}, err
	}
	if d.IsZero() {
		return time.Time{}, errf(fault.ErrInvalid, "day_required", "请选择对账日期")
	}
	return d, nil
}
