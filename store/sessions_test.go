package store_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
	"campuspay/store/storetest"
)

func TestSessionStorage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		s := &store.SessionStorage{DB: db}
		if v, err := s.Get("nope"); v != nil || err != nil {
			t.Fatalf("Get(missing) = %q, %v; want nil, nil", v, err)
		}
		if err := s.Set("a", []byte("one"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("a", []byte("two"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Get("a"); string(v) != "two" {
			t.Errorf("Get(a) = %q, want two (overwritten)", v)
		}
		s.Set("old", []byte("x"), time.Nanosecond)
		time.Sleep(1100 * time.Millisecond)
		if v, _ := s.Get("old"); v != nil {
			t.Errorf("Get(expired) = %q, want nil", v)
		}
		s.Delete("a")
		if v, _ := s.Get("a"); v != nil {
			t.Errorf("Get(deleted) = %q, want nil", v)
		}
	})
}
