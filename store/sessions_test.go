package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
	"campuspay/store/storetest"
)

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Now()
		u := &store.User{Login: "s1", Name: "甲", Roles: "payer,finance", CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(u).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := store.LoadSession(ctx, db, "nope", now); r != nil || err != nil {
			t.Fatalf("LoadSession(missing) = %v, %v; want nil, nil", r, err)
		}
		if err := store.SaveSession(ctx, db, "a", u.ID, []byte("one"), now.Add(time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveSession(ctx, db, "a", u.ID, []byte("two"), now.Add(time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		r, err := store.LoadSession(ctx, db, "a", now)
		if err != nil || r == nil {
			t.Fatalf("LoadSession(a) = %v, %v", r, err)
		}
		if string(r.Data) != "two" || r.UserID != u.ID || r.User == nil || r.User.Login != "s1" || r.User.Roles != "payer,finance" || r.User.Disabled {
			t.Errorf("LoadSession(a) = %+v, user %+v; want the second save and user s1", r, r.User)
		}
		// The user as they are now: a role taken away shows at the next read.
		if _, err := db.NewUpdate().Model(u).Set("roles = ?", "payer").Set("disabled = ?", true).WherePK().Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r, _ := store.LoadSession(ctx, db, "a", now); r == nil || r.User.Roles != "payer" || !r.User.Disabled {
			t.Errorf("after the change LoadSession(a).User = %+v; want roles payer, disabled", r.User)
		}
		// A visitor's session has no user.
		store.SaveSession(ctx, db, "guest", 0, nil, now.Add(time.Hour).Unix())
		if r, _ := store.LoadSession(ctx, db, "guest", now); r == nil || r.UserID != 0 || r.User != nil {
			t.Errorf("LoadSession(guest) = %+v; want a session without a user", r)
		}
		// Expired sessions read as none, and the purge deletes them.
		store.SaveSession(ctx, db, "old", u.ID, nil, now.Add(-time.Second).Unix())
		if r, _ := store.LoadSession(ctx, db, "old", now); r != nil {
			t.Errorf("LoadSession(expired) = %+v, want nil", r)
		}
		if n, err := store.PurgeSessions(ctx, db); n != 1 || err != nil {
			t.Errorf("PurgeSessions = %d, %v; want the one expired", n, err)
		}
		// Moving the expiry keeps the data.
		if err := store.TouchSession(ctx, db, "a", now.Add(2*time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		if r, _ := store.LoadSession(ctx, db, "a", now.Add(90*time.Minute)); r == nil || string(r.Data) != "two" {
			t.Errorf("after TouchSession LoadSession(a) = %+v; want it alive with its data", r)
		}
		// Ending a user's sessions leaves the others.
		store.SaveSession(ctx, db, "b", u.ID, nil, 0)
		if n, err := store.DeleteUserSessions(ctx, db, u.ID); n != 2 || err != nil {
			t.Errorf("DeleteUserSessions = %d, %v; want 2", n, err)
		}
		if r, _ := store.LoadSession(ctx, db, "guest", now); r == nil {
			t.Error("ending a user's sessions ended a visitor's")
		}
		store.DeleteSession(ctx, db, "guest")
		if r, _ := store.LoadSession(ctx, db, "guest", now); r != nil {
			t.Error("DeleteSession left the session")
		}
	})
}
