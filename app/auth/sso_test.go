package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

// ssoPeople adds a payer (2026000001), a finance clerk without a payer number, and a
// disabled payer (2026000003).
func ssoPeople(t *testing.T, db *bun.DB) {
	t.Helper()
	now := store.UTC(time.Now())
	p1, p3 := "2026000001", "2026000003"
	users := []*store.User{
		{Login: "2026000001", Name: "张三", Roles: store.RolePayer, PayerNo: &p1},
		{Login: "liu", Name: "刘会计", Roles: store.RoleFinance},
		{Login: "2026000003", Name: "王五", Roles: store.RolePayer, PayerNo: &p3, Disabled: true},
	}
	for _, u := range users {
		u.Status, u.CreatedAt, u.UpdatedAt = store.PayerActive, now, now
	}
	if _, err := db.NewInsert().Model(&users).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func auditCount(t *testing.T, db *bun.DB, action, target string) int64 {
	t.Helper()
	n, err := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ? AND target_id = ?", action, target).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignInSSO(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &auth.Service{DB: db}
		ssoPeople(t, db)
		off, on := auth.SSOOptions{}, auth.SSOOptions{AutoCreate: true}

		for _, tt := range []struct {
			name  string
			id    auth.Identity
			opt   auth.SSOOptions
			login string // who signs in; "" for a refusal
			err   error  // the refusal, when a sentinel
		}{
			{"payer by number", auth.Identity{Provider: auth.ProviderCAS, Subject: "zs", Login: "zs", PayerNo: "2026000001"}, off, "2026000001", nil},
			{"staff by login name", auth.Identity{Provider: auth.ProviderOIDC, Subject: "sub-9", Login: "liu", PayerNo: "T19990001"}, off, "liu", nil},
			{"number wins over login name", auth.Identity{Provider: auth.ProviderCAS, Login: "liu", PayerNo: "2026000001"}, off, "2026000001", nil},
			{"unknown, creation off", auth.Identity{Provider: auth.ProviderCAS, Login: "2026000200", PayerNo: "2026000200"}, off, "", auth.ErrNoAccount},
			{"disabled", auth.Identity{Provider: auth.ProviderCAS, Login: "2026000003", PayerNo: "2026000003"}, on, "", auth.ErrDisabled},
			{"nothing to match", auth.Identity{Provider: auth.ProviderOIDC, Subject: "sub-1"}, on, "", nil},
			{"unusable number, creation on", auth.Identity{Provider: auth.ProviderCAS, Login: "张三丰", PayerNo: "张三丰"}, on, "", nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				u, err := s.SignInSSO(ctx, tt.id, tt.opt, "10.0.0.1")
				if tt.login == "" {
					var se *auth.SSOError
					if u != nil || (tt.err != nil && !errors.Is(err, tt.err)) || (tt.err == nil && !errors.As(err, &se)) {
						t.Fatalf("SignInSSO = %v, %v; want refused (%v)", u, err, tt.err)
					}
					return
				}
				if err != nil || u.Login != tt.login {
					t.Fatalf("SignInSSO = %v, %v; want %s", u, err, tt.login)
				}
			})
		}
		if n := auditCount(t, db, "login.sso", "2026000001"); n != 2 {
			t.Errorf("login.sso audit rows for 2026000001 = %d, want 2", n)
		}
		var detail string
		db.NewSelect().Model((*store.AuditLog)(nil)).Column("detail").Where("action = ? AND target_id = ?", "login.sso", "liu").Scan(ctx, &detail)
		if !strings.Contains(detail, "OIDC") || !strings.Contains(detail, "sub-9") {
			t.Errorf("login.sso detail = %q, want the provider and subject", detail)
		}
		if n := auditCount(t, db, "login.disabled", "2026000003"); n != 1 {
			t.Errorf("login.disabled audit rows = %d, want 1", n)
		}
		if n, _ := db.NewSelect().Model((*store.User)(nil)).Where("payer_no = ?", "2026000200").Count(ctx); n != 0 {
			t.Errorf("a payer was created with creation off")
		}

		// Creation on: a payer with the number as login, the name and a valid phone, no
		// password; the second sign-in finds them.
		id := auth.Identity{Provider: auth.ProviderCAS, Subject: "2026000200", Login: "2026000200", PayerNo: "2026000200", Name: "<script>新生</script>", Phone: "13912345678"}
		u, err := s.SignInSSO(ctx, id, on, "10.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		if u.Login != "2026000200" || u.PayerNumber() != "2026000200" || u.Roles != store.RolePayer || u.Name != id.Name || u.Phone != "13912345678" || u.PasswordHash != "" {
			t.Errorf("created payer = %+v", u)
		}
		if again, err := s.SignInSSO(ctx, id, on, "10.0.0.2"); err != nil || again.ID != u.ID {
			t.Errorf("second sign-in = %v, %v; want the same user", again, err)
		}
		if n := auditCount(t, db, "user.created", "2026000200"); n != 1 {
			t.Errorf("user.created audit rows = %d, want 1", n)
		}
		if _, err := s.Authenticate(ctx, "2026000200", "", "10.0.0.2"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("a payer made by single sign-on signs in without a password: %v", err)
		}

		// A bad phone is dropped and an absent name becomes the number.
		u, err = s.SignInSSO(ctx, auth.Identity{Provider: auth.ProviderOIDC, Subject: "s", PayerNo: "2026000201", Phone: "12345"}, on, "")
		if err != nil || u.Name != "2026000201" || u.Phone != "" {
			t.Errorf("payer without a name or with a bad phone = %+v, %v", u, err)
		}

		// Twenty first sign-ins of one person at once make one payer.
		var wg sync.WaitGroup
		ids := make([]int64, 20)
		errs := make([]error, 20)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := s.SignInSSO(ctx, auth.Identity{Provider: auth.ProviderCAS, Login: "2026000300", PayerNo: "2026000300", Name: "并发"}, on, "")
				if err == nil {
					ids[i] = u.ID
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("concurrent first sign-in %d = user %d, %v; want user %d", i, ids[i], errs[i], ids[0])
			}
		}
		if n, _ := db.NewSelect().Model((*store.User)(nil)).Where("payer_no = ?", "2026000300").Count(ctx); n != 1 {
			t.Errorf("concurrent first sign-ins made %d users, want 1", n)
		}
	})
}

func TestCASTicketSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Now()
		s := &auth.Service{DB: db, Now: func() time.Time { return now }}
		for _, k := range []string{"sess-a", "sess-b"} {
			if err := store.SaveSession(ctx, db, k, 0, nil, now.Add(time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		exists := func(k string) bool {
			r, err := store.LoadSession(ctx, db, k, now)
			if err != nil {
				t.Fatal(err)
			}
			return r != nil
		}
		if err := s.RememberCASTicket(ctx, "ST-1-a", "sess-a", "2026000001"); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberCASTicket(ctx, "ST-2-b", "sess-b", "2026000002"); err != nil {
			t.Fatal(err)
		}
		if ended, err := s.EndCASSession(ctx, "ST-1-a", "10.9.9.9"); !ended || err != nil {
			t.Fatalf("EndCASSession = %v, %v", ended, err)
		}
		if exists("sess-a") {
			t.Error("the ticket's session survived single logout")
		}
		if !exists("sess-b") {
			t.Error("single logout of one ticket ended another session")
		}
		if ended, err := s.EndCASSession(ctx, "ST-1-a", ""); ended || err != nil {
			t.Errorf("second logout of the same ticket = %v, %v; want nothing to end", ended, err)
		}
		if n := auditCount(t, db, "logout.sso", "2026000001"); n != 1 {
			t.Errorf("logout.sso audit rows = %d, want 1", n)
		}
		// Two days on, a new sign-in forgets old tickets.
		now = now.Add(49 * time.Hour)
		if err := s.RememberCASTicket(ctx, "ST-3-c", "sess-c", "2026000003"); err != nil {
			t.Fatal(err)
		}
		var left []string
		db.NewSelect().Model((*store.SSOSession)(nil)).Column("ticket").Order("ticket").Scan(ctx, &left)
		if strings.Join(left, ",") != "ST-3-c" {
			t.Errorf("tickets kept = %v, want only ST-3-c", left)
		}
	})
}
