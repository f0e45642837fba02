package settings_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/settings"
	"campuspay/store/storetest"
)

func TestValidateEgressSettings(t *testing.T) {
	tests := []struct {
		key, value, want string
		ok               bool
	}{
		{settings.EgressAllow, "", "", true},
		{settings.EgressAllow, "10.20.0.0/16, oa.Example.edu.cn:8443\n10.20.9.9/16", "10.20.0.0/16\noa.example.edu.cn:8443", true},
		{settings.EgressAllow, "0.0.0.0/0", "", false},
		{settings.EgressAllow, "oa.example.edu.cn", "", false},
		{settings.EgressAllow, "http://10.0.0.1/", "", false},
		{settings.CallbackRetrySchedule, "30s, 2m,1h30m", "30s,2m,1h30m", true},
		{settings.CallbackRetrySchedule, "90s", "1m30s", true},
		{settings.CallbackRetrySchedule, "", "", false},
		{settings.CallbackRetrySchedule, "15s,soon", "", false},
		{settings.CallbackRetrySchedule, "500ms", "", false},
		{settings.CallbackRetrySchedule, "73h", "", false},
		{settings.CallbackRetrySchedule, "-1m", "", false},
		{settings.CallbackRetrySchedule, "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s", "", false},
	}
	for _, tt := range tests {
		got, err := settings.Validate(tt.key, tt.value)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Validate(%s, %q) = %q, %v; want %q, ok %v", tt.key, tt.value, got, err, tt.want, tt.ok)
		}
	}
}

func TestScheduleSetting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		want := []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
		if got := s.Schedule(ctx, settings.CallbackRetrySchedule); !slices.Equal(got, want) {
			t.Errorf("default schedule = %v, want API.md's %v", got, want)
		}
		if _, err := s.Set(ctx, settings.CallbackRetrySchedule, "30s,2m", "admin"); err != nil {
			t.Fatal(err)
		}
		if got := s.Schedule(ctx, settings.CallbackRetrySchedule); !slices.Equal(got, []time.Duration{30 * time.Second, 2 * time.Minute}) {
			t.Errorf("schedule after saving 30s,2m = %v", got)
		}
		if _, err := s.Set(ctx, settings.CallbackRetrySchedule, "whenever", "admin"); err == nil {
			t.Errorf("a schedule that does not parse was saved")
		}
	})
}
