package merchants_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/merchants"
	"campuspay/store"
	"campuspay/store/storetest"
)

// fakeDriver is a company whose account has a merchant number and a secret key; it counts
// the providers it opens and, when refuse is set, refuses to open any.
type fakeDriver struct {
	opens  atomic.Int32
	refuse atomic.Bool
}

func (d *fakeDriver) Name() string { return "fakepay" }
func (d *fakeDriver) Capabilities() channel.Capabilities {
	return channel.Capabilities{Label: "测试支付"}
}
func (d *fakeDriver) Fields() []channel.Field {
	return []channel.Field{{Key: "mch_id", Label: "商户号"}, {Key: "key", Label: "密钥", Secret: true}}
}

func (d *fakeDriver) Open(cfg channel.MerchantConfig) (channel.Provider, error) {
	d.opens.Add(1)
	if d.refuse.Load() || cfg.Values["key"] == "" {
		return nil, errors.New("密钥无效")
	}
	return &fakeProvider{mchID: cfg.Values["mch_id"], key: cfg.Values["key"]}, nil
}

// fakeProvider says which account it was opened from; it does nothing else.
type fakeProvider struct {
	channel.Provider
	mchID, key string
}

// plainSealer "seals" by marking: the tests are about caching, not secrecy.
type plainSealer struct{}

func (plainSealer) Seal(p string) (string, error) { return "sealed:" + p, nil }
func (plainSealer) Open(s string) (string, error) {
	p, ok := strings.CutPrefix(s, "sealed:")
	if !ok {
		return "", errors.New("not sealed here")
	}
	return p, nil
}

func newCached(db *bun.DB, d *fakeDriver, ttl time.Duration) *merchants.Service {
	return &merchants.Service{DB: db, Sealer: plainSealer{}, Drivers: map[string]channel.Driver{"fakepay": d}, AccountTTL: ttl}
}

func save(t *testing.T, s *merchants.Service, merchantID int64, mchID, key string, enabled bool) {
	t.Helper()
	if _, err := s.Save(context.Background(), merchantID, "fakepay", map[string]string{"mch_id": mchID, "key": key}, enabled, false, "finance"); err != nil {
		t.Fatalf("Save %s: %v", mchID, err)
	}
}

func providerOf(t *testing.T, s *merchants.Service, merchantID int64) *fakeProvider {
	t.Helper()
	p, _, err := s.Provider(context.Background(), merchantID, "fakepay")
	if err != nil {
		t.Fatalf("Provider of merchant %d: %v", merchantID, err)
	}
	return p.(*fakeProvider)
}

// waitUntil waits, with a deadline, until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 10 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A change made through the Service is what the very next read uses, though the cache
// would keep the old row for an hour: new keys, a switch off, a recorded error.
func TestAccountChangeSeenAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		d := &fakeDriver{}
		s := newCached(db, d, time.Hour)

		if _, err := s.Account(ctx, store.DefaultMerchantID, "fakepay"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("Account before any was saved: %v, want not found", err)
		}
		if s.Live(ctx, store.DefaultMerchantID, "fakepay") {
			t.Fatal("Live before any account was saved")
		}
		save(t, s, store.DefaultMerchantID, "MCH-A", "key-a", true) // "none" was cached above
		if !s.Live(ctx, store.DefaultMerchantID, "fakepay") {
			t.Fatal("account saved switched on is not live at once")
		}
		if p := providerOf(t, s, store.DefaultMerchantID); p.mchID != "MCH-A" || p.key != "key-a" {
			t.Fatalf("provider opened from %s/%s, want MCH-A/key-a", p.mchID, p.key)
		}

		// Served from the cache: the same provider, not opened again.
		opens := d.opens.Load()
		for range 5 {
			if !s.Live(ctx, store.DefaultMerchantID, "fakepay") {
				t.Fatal("account stopped being live")
			}
			providerOf(t, s, store.DefaultMerchantID)
		}
		if n := d.opens.Load(); n != opens {
			t.Errorf("provider opened %d more times for an unchanged account, want 0", n-opens)
		}

		// New keys (the secret left empty keeps the old one): the next order uses them.
		if _, err := s.Save(ctx, store.DefaultMerchantID, "fakepay", map[string]string{"mch_id": "MCH-B"}, true, false, "finance"); err != nil {
			t.Fatal(err)
		}
		if a, err := s.Account(ctx, store.DefaultMerchantID, "fakepay"); err != nil || !strings.Contains(a.PlainValues, "MCH-B") {
			t.Fatalf("Account right after saving MCH-B: %+v, %v", a, err)
		}
		if p := providerOf(t, s, store.DefaultMerchantID); p.mchID != "MCH-B" || p.key != "key-a" {
			t.Fatalf("provider after saving MCH-B opened from %s/%s, want MCH-B with the kept key-a", p.mchID, p.key)
		}

		// Switched off: no longer live, at once.
		save(t, s, store.DefaultMerchantID, "MCH-B", "key-b", false)
		if s.Live(ctx, store.DefaultMerchantID, "fakepay") {
			t.Fatal("account switched off is still live")
		}
		save(t, s, store.DefaultMerchantID, "MCH-B", "key-b", true)
		if !s.Live(ctx, store.DefaultMerchantID, "fakepay") {
			t.Fatal("account switched back on is not live")
		}

		// A recorded error shows on the next read.
		a, _ := s.Account(ctx, store.DefaultMerchantID, "fakepay")
		s.RecordError(ctx, a.ID, "下单失败：网关超时")
		if a, err := s.Account(ctx, store.DefaultMerchantID, "fakepay"); err != nil || a.LastError != "下单失败：网关超时" || a.LastErrorAt == nil {
			t.Fatalf("Account after RecordError: %+v, %v; want the error", a, err)
		}

		// What Account returns is the caller's: changing it changes nothing cached.
		a.Enabled, a.PlainValues = false, `{"mch_id":"MCH-X"}`
		if got, _ := s.Account(ctx, store.DefaultMerchantID, "fakepay"); !got.Enabled || strings.Contains(got.PlainValues, "MCH-X") {
			t.Errorf("a caller's change to its copy reached the cache: %+v", got)
		}
	})
}

// Another instance (a Service of its own over the same database) sees a change once its
// entry is older than its AccountTTL, and not before: the staleness the cache documents.
func TestAccountChangeReachesOtherInstanceWithinTTL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		here := newCached(db, &fakeDriver{}, time.Hour)
		save(t, here, store.DefaultMerchantID, "MCH-A", "key-a", true)

		longTTL := newCached(db, &fakeDriver{}, time.Hour)
		shortTTL := newCached(db, &fakeDriver{}, 50*time.Millisecond)
		for _, s := range []*merchants.Service{longTTL, shortTTL} {
			if !s.Live(ctx, store.DefaultMerchantID, "fakepay") {
				t.Fatal("the other instance does not see the account live")
			}
		}
		save(t, here, store.DefaultMerchantID, "MCH-A", "key-a", false)

		waitUntil(t, "the switch-off reaching the instance with a 50 ms TTL", func() bool {
			return !shortTTL.Live(ctx, store.DefaultMerchantID, "fakepay")
		})
		// The instance that keeps accounts for an hour still has the old row: proof that
		// the cache answers, and not the database.
		if !longTTL.Live(ctx, store.DefaultMerchantID, "fakepay") {
			t.Error("an instance with an hour's TTL read the database again")
		}
	})
}

// One Service's cache never answers one database's merchant with another database's
// account, nor one merchant's with another merchant's.
func TestAccountCacheKeyedByDatabaseAndMerchant(t *testing.T) {
	ctx := context.Background()
	db1, db2 := storetest.SQLite(t), storetest.SQLite(t)
	d := &fakeDriver{}
	s1, s2 := newCached(db1, d, time.Hour), newCached(db2, d, time.Hour)
	save(t, s1, store.DefaultMerchantID, "MCH-DB1", "key-1", true)
	save(t, s2, store.DefaultMerchantID, "MCH-DB2", "key-2", true)

	other, err := s1.CreateMerchant(ctx, "继续教育学院", 0, "", "finance")
	if err != nil {
		t.Fatal(err)
	}
	save(t, s1, other.ID, "MCH-OTHER", "key-o", true)

	for range 2 { // the second round is served from the caches
		if p := providerOf(t, s1, store.DefaultMerchantID); p.mchID != "MCH-DB1" {
			t.Errorf("database 1's school merchant opened %s", p.mchID)
		}
		if p := providerOf(t, s2, store.DefaultMerchantID); p.mchID != "MCH-DB2" {
			t.Errorf("database 2's school merchant opened %s", p.mchID)
		}
		if p := providerOf(t, s1, other.ID); p.mchID != "MCH-OTHER" {
			t.Errorf("merchant %d opened %s", other.ID, p.mchID)
		}
		if _, err := s2.Account(ctx, other.ID, "fakepay"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("database 2 has no merchant %d, yet Account says %v", other.ID, err)
		}
	}

	// One Service whose database is swapped: entries are keyed by the database too.
	swapped := newCached(db1, d, time.Hour)
	if p := providerOf(t, swapped, store.DefaultMerchantID); p.mchID != "MCH-DB1" {
		t.Fatalf("opened %s", p.mchID)
	}
	swapped.DB = db2
	if p := providerOf(t, swapped, store.DefaultMerchantID); p.mchID != "MCH-DB2" {
		t.Errorf("after the swap to database 2 the cache answered %s", p.mchID)
	}
}

// An account whose keys stop opening records its error once, not at every page; saving it
// again is tried at once.
func TestProviderOpenFailureRecordedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		save(t, newCached(db, &fakeDriver{}, time.Hour), store.DefaultMerchantID, "MCH-A", "key-a", true)

		d := &fakeDriver{}
		d.refuse.Store(true) // the certificate expired since it was saved
		s := newCached(db, d, time.Hour)
		for range 3 {
			if s.Live(ctx, store.DefaultMerchantID, "fakepay") {
				t.Fatal("an account that does not open is live")
			}
		}
		if n := d.opens.Load(); n != 1 {
			t.Errorf("tried to open %d times, want once", n)
		}
		a, err := s.Account(ctx, store.DefaultMerchantID, "fakepay")
		if err != nil || !strings.Contains(a.LastError, "密钥无效") {
			t.Fatalf("account after the failure: %+v, %v; want the driver's words recorded", a, err)
		}

		d.refuse.Store(false) // finance uploads a new certificate
		save(t, s, store.DefaultMerchantID, "MCH-A", "key-new", true)
		if p := providerOf(t, s, store.DefaultMerchantID); p.key != "key-new" {
			t.Errorf("after saving new keys the provider has %s", p.key)
		}
	})
}
