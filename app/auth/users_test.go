package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestPasswordPolicy(t *testing.T) {
	p := auth.PasswordPolicy{MinLength: 8, LettersAndDigits: true}
	for _, tt := range []struct {
		pw string
		ok bool
	}{
		{"abc12345", true}, {"abc1234", false}, {"abcdefgh", false}, {"12345678", false}, {"密码密码密码12", false},
	} {
		if err := p.Check(tt.pw); (err == nil) != tt.ok {
			t.Errorf("Check(%q) = %v, want ok %v", tt.pw, err, tt.ok)
		}
	}
	if err := (auth.PasswordPolicy{MinLength: 6}).Check("abcdef"); err != nil {
		t.Errorf("letters only allowed by the policy: %v", err)
	}
	for range 50 {
		pw := auth.TemporaryPassword(12)
		if len(pw) != 12 || p.Check(pw) != nil {
			t.Fatalf("TemporaryPassword = %q, breaks the policy", pw)
		}
	}
}

// field is the form field err is about (the first, when several), or a note that err is
// something else.
func field(err error) string {
	var ie *auth.InputError
	if errors.As(err, &ie) && len(ie.Fields) > 0 {
		for _, f := range []string{"", "login", "name", "roles", "department", "payer_no", "phone", "password", "code"} {
			if _, ok := ie.Fields[f]; ok {
				return f
			}
		}
	}
	return "not an InputError: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestUserAdministration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &auth.Service{DB: db}
		policy := auth.PasswordPolicy{MinLength: 8, LettersAndDigits: true}
		admin := auth.Actor{Login: "root", IP: "10.1.1.1"}
		dept, err := s.SaveDepartment(ctx, 0, "jwc", "教务处", admin)
		if err != nil || dept.Code != "JWC" {
			t.Fatalf("SaveDepartment = %+v, %v; want code JWC", dept, err)
		}
		if _, err := s.SaveDepartment(ctx, 0, "JWC", "另一个", admin); field(err) != "code" {
			t.Errorf("a second department JWC: %v, want a code error", err)
		}

		root, err := s.CreateUser(ctx, auth.UserInput{Login: "root", Name: "管理员", Roles: []string{"admin"}, Password: "Admin12345"}, policy, admin)
		if err != nil {
			t.Fatal(err)
		}
		admin.UserID = root.ID

		bad := []struct {
			in    auth.UserInput
			field string
		}{
			{auth.UserInput{Login: "a b", Name: "x", Roles: []string{"finance"}, Password: "abc12345"}, "login"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"dept"}, Password: "abc12345"}, "department"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"finance"}, Password: "short1"}, "password"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"finance"}, Password: "onlyletters"}, "password"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: nil, Password: "abc12345"}, "roles"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"root"}, Password: "abc12345"}, "roles"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"payer"}, Password: "abc12345"}, "payer_no"},
			{auth.UserInput{Login: "wang", Name: "王", Roles: []string{"finance"}, Phone: "12345", Password: "abc12345"}, "phone"},
			{auth.UserInput{Login: "root", Name: "王", Roles: []string{"finance"}, Password: "abc12345"}, "login"},
		}
		// Every wrong field is reported at once.
		_, err = s.CreateUser(ctx, auth.UserInput{Login: "a b", Name: "", Roles: []string{"dept"}, Password: "x"}, policy, admin)
		var all *auth.InputError
		if !errors.As(err, &all) || len(all.Fields) != 4 {
			t.Errorf("CreateUser(four wrong fields) = %v, want four reasons", err)
		}
		for _, b := range bad {
			if _, err := s.CreateUser(ctx, b.in, policy, admin); field(err) != b.field {
				t.Errorf("CreateUser(%+v) = %v, want an error on %s", b.in, err, b.field)
			}
		}

		wang, err := s.CreateUser(ctx, auth.UserInput{Login: "wang", Name: "王老师", Roles: []string{"dept"}, DepartmentID: dept.ID, Phone: "13800000000", Password: "abc12345"}, policy, admin)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := s.Authenticate(ctx, "wang", "abc12345", "10.1.1.2"); err != nil || u.ID != wang.ID {
			t.Fatalf("new user cannot sign in: %v", err)
		}

		// Edit: roles and department change, audited with what changed.
		u, err := s.UpdateUser(ctx, wang.ID, auth.UserInput{Name: "王老师", Roles: []string{"dept", "finance"}, DepartmentID: dept.ID, Phone: "13800000001"}, admin)
		if err != nil || u.Roles != "dept,finance" || u.Phone != "13800000001" {
			t.Fatalf("UpdateUser = %+v, %v", u, err)
		}
		var detail string
		db.NewSelect().Model((*store.AuditLog)(nil)).Column("detail").Where("action = ? AND target_id = ?", "user.updated", "wang").Scan(ctx, &detail)
		if !strings.Contains(detail, "「dept」→「dept,finance」") || !strings.Contains(detail, "13800000001") {
			t.Errorf("audit detail = %q, want the roles and phone change", detail)
		}

		// An administrator cannot demote or disable themselves.
		if _, err := s.UpdateUser(ctx, root.ID, auth.UserInput{Name: "管理员", Roles: []string{"finance"}}, admin); field(err) != "roles" {
			t.Errorf("self-demotion: %v, want refused on roles", err)
		}
		if _, err := s.SetDisabled(ctx, root.ID, true, admin); field(err) != "" {
			t.Errorf("self-disable: %v, want refused", err)
		}

		// Disabled: no sign-in; enabled again: sign-in works.
		if _, err := s.SetDisabled(ctx, wang.ID, true, admin); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "wang", "abc12345", "10.1.1.3"); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("disabled user signs in: %v", err)
		}
		if _, err := s.SetDisabled(ctx, wang.ID, false, admin); err != nil {
			t.Fatal(err)
		}

		// Reset: the new password works, the old one does not, and the audit row lacks it.
		_, pw, err := s.ResetPassword(ctx, wang.ID, policy, admin)
		if err != nil || policy.Check(pw) != nil {
			t.Fatalf("ResetPassword = %q, %v", pw, err)
		}
		if _, err := s.Authenticate(ctx, "wang", pw, "10.1.1.4"); err != nil {
			t.Errorf("temporary password does not sign in: %v", err)
		}
		if _, err := s.Authenticate(ctx, "wang", "abc12345", "10.1.1.5"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("old password still signs in: %v", err)
		}
		n, _ := db.NewSelect().Model((*store.AuditLog)(nil)).Where("detail LIKE ?", "%"+pw+"%").Count(ctx)
		if n != 0 {
			t.Errorf("the temporary password appears in %d audit rows", n)
		}
		for _, a := range []string{"user.created", "user.updated", "user.disabled", "user.enabled", "user.password_reset", "department.created"} {
			if n, _ := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ?", a).Count(ctx); n == 0 {
				t.Errorf("no %s audit row", a)
			}
		}

		if _, err := s.UpdateUser(ctx, 999999, auth.UserInput{Name: "x", Roles: []string{"finance"}}, admin); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UpdateUser(missing) = %v, want ErrNotFound", err)
		}
		rows, total, err := s.Users(ctx, auth.UserFilter{Role: "dept", Limit: 10})
		if err != nil || total != 1 || rows[0].Login != "wang" || rows[0].Department != "教务处" {
			t.Errorf("Users(role dept) = %+v, %d, %v; want wang of 教务处", rows, total, err)
		}
		if _, total, _ := s.Users(ctx, auth.UserFilter{Query: "王", Limit: 10}); total != 1 {
			t.Errorf("Users(q=王) total = %d, want 1", total)
		}
	})
}
