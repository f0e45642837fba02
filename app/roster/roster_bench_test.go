package roster_test

// The roster's figure: 50,000 payers created, then the same roster again (all unchanged),
// then every phone changed. Was a 30-second bound in a test, which failed under -race.
//
//	CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/' \
//	  go test ./app/roster -run '^$' -bench UpsertPayers50k -benchtime 1x

import (
	"context"
	"fmt"
	"os"
	"testing"

	"campuspay/app/roster"
	"campuspay/store"
	"campuspay/store/storetest"
)

func BenchmarkUpsertPayers50k(b *testing.B) {
	const n = 50_000
	run := func(b *testing.B, open func(b *testing.B) *roster.Service) {
		for range b.N {
			b.StopTimer()
			svc := open(b)
			ctx := context.Background()
			changed := rosterRows(n)
			for i := range changed {
				changed[i].Phone = strp(fmt.Sprintf("137%08d", i))
			}
			b.StartTimer()
			if res, err := svc.UpsertPayers(ctx, rosterRows(n), "finance", "10.0.0.1"); err != nil || res.Created != n {
				b.Fatalf("create = %+v, %v", res, err)
			}
			if res, err := svc.UpsertPayers(ctx, rosterRows(n), "finance", "10.0.0.1"); err != nil || res.Unchanged != n {
				b.Fatalf("unchanged = %+v, %v", res, err)
			}
			if res, err := svc.UpsertPayers(ctx, changed, "finance", "10.0.0.1"); err != nil || res.Updated != n {
				b.Fatalf("updated = %+v, %v", res, err)
			}
		}
	}
	b.Run("sqlite", func(b *testing.B) {
		run(b, func(b *testing.B) *roster.Service { return &roster.Service{DB: storetest.SQLite(b)} })
	})
	b.Run("mysql", func(b *testing.B) {
		if os.Getenv(storetest.EnvMySQL) == "" {
			b.Skip(storetest.EnvMySQL + " not set")
		}
		run(b, func(b *testing.B) *roster.Service {
			db, err := store.Open(storetest.MySQLDSN(b), "")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			if _, err := store.Migrate(context.Background(), db); err != nil {
				b.Fatal(err)
			}
			return &roster.Service{DB: db}
		})
	})
}
