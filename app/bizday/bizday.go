// Package bizday holds the platform's calendar: business dates (statements,
// reconciliation, reports, receipt years) are days in Asia/Shanghai, while timestamps are
// stored in UTC. It knows nothing else.
package bizday

import (
	"strings"
	"time"

	"campuspay/app/fault"
)

// Shanghai is the zone of business days, receipt years and order numbers.
var Shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// DayStart is the instant a business day (a date in Asia/Shanghai) begins.
func DayStart(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Shanghai).UTC()
}

// DayOf is the business day of an instant, as a date at 00:00 UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.In(Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParseDay reads a business day written 2006-01-02; "" is the zero time.
func ParseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil || d.Year() < 2000 || d.Year() > 2200 {
		return time.Time{}, fault.New(fault.ErrInvalid, "date_invalid", "日期「%s」无效，请按 2026-01-31 的格式填写", s)
	}
	return d, nil
}
