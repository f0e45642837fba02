package settings_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/settings"
	"campuspay/store/storetest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		key, value, want string
		ok               bool
	}{
		{settings.OrderTimeoutMinutes, " 30 ", "30", true},
		{settings.OrderTimeoutMinutes, "0", "", false},
		{settings.OrderTimeoutMinutes, "121", "", false},
		{settings.OrderTimeoutMinutes, "15.5", "", false},
		{settings.ChannelsEnabled, "sandbox, campuscard", "sandbox,campuscard", true},
		{settings.ChannelsEnabled, "sandbox,bitcoin", "", false},
		{settings.SchoolName, "  示例大学 ", "示例大学", true},
		{settings.SchoolName, "   ", "", false},
		{"no.such.key", "x", "", false},
	}
	for _, tt := range tests {
		got, err := settings.Validate(tt.key, tt.value)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Validate(%s, %q) = %q, %v; want %q, ok %v", tt.key, tt.value, got, err, tt.want, tt.ok)
		}
	}
}

func TestStoreSetAndGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		if got := s.Int(ctx, settings.OrderTimeoutMinutes); got != 15 {
			t.Errorf("default timeout = %d, want 15", got)
		}
		old, err := s.Set(ctx, settings.OrderTimeoutMinutes, "20", "finance")
		if err != nil || old != "15" {
			t.Fatalf("Set = %q, %v; want old value 15", old, err)
		}
		if _, err := s.Set(ctx, settings.OrderTimeoutMinutes, "25", "finance"); err != nil {
			t.Fatal(err)
		}
		if got := s.Int(ctx, settings.OrderTimeoutMinutes); got != 25 {
			t.Errorf("timeout after two sets = %d, want 25", got)
		}
		if _, err := s.Set(ctx, settings.OrderTimeoutMinutes, "-1", "finance"); err == nil {
			t.Error("Set(-1) accepted, want a validation error")
		}
		if got := settings.New(db).Get(ctx, settings.OrderTimeoutMinutes); got != "25" {
			t.Errorf("a fresh reader sees %q, want 25 (stored, not only cached)", got)
		}
	})
}
