package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/reports"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestTermOf(t *testing.T) {
	tests := []struct {
		day, name, first, last string
	}{
		{"2026-09-01", "2026-2027学年第一学期", "2026-09-01", "2027-01-31"},
		{"2026-12-31", "2026-2027学年第一学期", "2026-09-01", "2027-01-31"},
		{"2027-01-31", "2026-2027学年第一学期", "2026-09-01", "2027-01-31"},
		{"2027-02-01", "2026-2027学年第二学期", "2027-02-01", "2027-08-31"},
		{"2027-08-31", "2026-2027学年第二学期", "2027-02-01", "2027-08-31"},
	}
	for _, tt := range tests {
		got := reports.TermOf(day(tt.day))
		if got.Name != tt.name || got.First != day(tt.first) || got.Last != day(tt.last) {
			t.Errorf("TermOf(%s) = %s %s–%s, want %s %s–%s", tt.day, got.Name, got.First.Format("2006-01-02"), got.Last.Format("2006-01-02"), tt.name, tt.first, tt.last)
		}
	}
	for d, want := range map[string]string{"2026-11-27": "2026-11-23", "2026-11-23": "2026-11-23", "2026-11-29": "2026-11-23", "2026-11-30": "2026-11-30"} {
		if got := reports.WeekOf(day(d)).Format("2006-01-02"); got != want {
			t.Errorf("WeekOf(%s) = %s, want %s", d, got, want)
		}
	}
}

// TestDashboardEqualsSearch: today, this week, this term and every day of the 30-day trend
// equal what the payment search adds up for the same days and scope, whether the days come
// live from the payments or from the daily snapshot.
func TestDashboardEqualsSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 120)
		seedPayments(t, f, 120) // every 7 hours, back 35 days
		ctx := context.Background()
		today := bizday.DayOf(f.Clock.Now())
		check := func(stage string) {
			for _, scope := range []*int64{nil, &f.deptA.ID, &f.deptB.ID} {
				sum := func(from, to time.Time) reports.PaymentSearchTotals {
					tot, err := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{Scope: scope, From: from, To: to}})
					if err != nil {
						t.Fatal(err)
					}
					return tot
				}
				o, err := f.Reports.Overview(ctx, scope)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					name     string
					got      reports.Figure
					from, to time.Time
				}{
					{"today", o.Today, today, today},
					{"week", o.Week, reports.WeekOf(today), today},
					{"term", o.TermToDate, o.Term.First, today},
				} {
					want := sum(c.from, c.to)
					if c.got.CollectedFen != want.CreditedFen || c.got.Count != want.Count {
						t.Errorf("%s scope %v %s: dashboard %d in %d, search %d in %d", stage, scope, c.name, c.got.CollectedFen, c.got.Count, want.CreditedFen, want.Count)
					}
				}
				trend, err := f.Reports.DailyCollected(ctx, scope, 30)
				if err != nil {
					t.Fatal(err)
				}
				if len(trend) != 30 || !trend[29].Day.Equal(today) {
					t.Fatalf("trend has %d days ending %v, want 30 ending today", len(trend), trend[len(trend)-1].Day)
				}
				var total int64
				for _, d := range trend {
					if want := sum(d.Day, d.Day); d.CollectedFen != want.CreditedFen {
						t.Errorf("%s scope %v %s: trend %d, search %d", stage, scope, d.Day.Format("01-02"), d.CollectedFen, want.CreditedFen)
					}
					total += d.CollectedFen
				}
				if want := sum(today.AddDate(0, 0, -29), today); total != want.CreditedFen || total == 0 {
					t.Errorf("%s scope %v: 30-day trend adds up to %d, search over 30 days %d", stage, scope, total, want.CreditedFen)
				}
				depts, _ := f.Reports.CollectedByDepartment(ctx, scope, o.Term.First, today)
				chans, _ := f.Reports.CollectedByChannel(ctx, scope, o.Term.First, today)
				var dsum, csum int64
				for _, d := range depts {
					dsum += d.CollectedFen
				}
				for _, c := range chans {
					csum += c.CollectedFen
				}
				if dsum != o.TermToDate.CollectedFen || csum != o.TermToDate.CollectedFen {
					t.Errorf("%s scope %v: by department %d, by channel %d, term %d", stage, scope, dsum, csum, o.TermToDate.CollectedFen)
				}
				if scope != nil && (len(depts) != 1 || depts[0].ID != *scope) {
					t.Errorf("%s scope %d: by department %+v, want only its own", stage, *scope, depts)
				}
			}
		}
		check("live")
		n, err := f.Reports.RefreshStats(ctx, 60)
		if err != nil {
			t.Fatal(err)
		}
		if n != 60 {
			t.Errorf("RefreshStats wrote %d days, want 60", n)
		}
		if rows, _ := db.NewSelect().Model((*store.StatsDaily)(nil)).Count(ctx); rows == 0 {
			t.Fatal("no snapshot rows")
		}
		check("snapshot")
		// A payment arriving late for a snapshotted day is in the search at once, and in the
		// dashboard once the snapshot is refreshed (the job refreshes unsettled days).
		yesterday := f.Clock.Now().Add(-24 * time.Hour)
		p := f.payers[0]
		f.pay(t, p, "campuscard", yesterday, f.billFor(t, p, f.itemA, 777))
		f.Clock.Advance(time.Minute)
		if n, _ := f.Reports.RefreshStats(ctx, 60); n != 2 {
			t.Errorf("second RefreshStats wrote %d days, want the 2 unsettled ones", n)
		}
		check("refreshed")
	})
}

func TestItemsOutstandingAndProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 4)
		ctx := context.Background()
		for _, p := range f.payers {
			f.billFor(t, p, f.itemB, 120000)
		}
		b := f.billFor(t, f.payers[0], f.itemA, 3000)
		f.pay(t, f.payers[0], "campuscard", f.Clock.Now(), b)
		top, err := f.Reports.TopOutstandingItems(ctx, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(top) != 2 || top[0].Code != "DORM" || top[0].OutstandingFen != 480000 {
			t.Errorf("top outstanding %+v, want DORM 480000 first", top)
		}
		prog, err := f.Reports.CollectionByItem(ctx, &f.deptA.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(prog) != 1 || prog[0].Code != "CET" || prog[0].DueFen != 3000 || prog[0].PaidFen != 3000 {
			t.Errorf("CET progress %+v, want due 3000 paid 3000", prog)
		}
		o, err := f.Reports.Overview(ctx, &f.deptB.ID)
		if err != nil {
			t.Fatal(err)
		}
		bills, _ := f.Reports.SumBills(ctx, reports.BillSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptB.ID}})
		if o.OutstandingFen != bills.OutstandingFen || o.OutstandingFen != 480000 {
			t.Errorf("outstanding %d, bills search %d, want 480000", o.OutstandingFen, bills.OutstandingFen)
		}
	})
}
