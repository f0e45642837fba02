package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"campuspay/app/auth"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// Who may reach each console route. This table is written from the roles, not
// from routes.go, so that a route that admits the wrong people fails here.
//
//	D dept staff, F finance, L leadership, A administrator
var accessMatrix = []struct {
	method, path string
	allowed      string
}{
	{"GET", "/console", "DFLA"},
	{"GET", "/console/charts/trend", "DFLA"},
	{"GET", "/console/dashboard/stats", "DFLA"},

	{"GET", "/console/items", "DFLA"},
	{"GET", "/console/items/new", "DF"},
	{"POST", "/console/items", "DF"},
	{"GET", "/console/items/999999", "DFLA"},
	{"GET", "/console/items/999999/edit", "DF"},
	{"POST", "/console/items/999999", "DF"},
	{"POST", "/console/items/999999/submit", "DF"},
	{"POST", "/console/items/999999/approve", "F"},
	{"POST", "/console/items/999999/reject", "F"},
	{"POST", "/console/items/999999/suspend", "F"},
	{"POST", "/console/items/999999/resume", "F"},
	{"POST", "/console/items/999999/close", "F"},
	{"GET", "/console/items/999999/bills", "DFLA"},
	{"POST", "/console/items/999999/bills", "DF"},
	{"GET", "/console/items/999999/import", "DF"},
	{"POST", "/console/items/999999/import", "DF"},
	{"GET", "/console/items/999999/template.xlsx", "DF"},
	{"GET", "/console/imports/999999", "DF"},
	{"GET", "/console/items/999999/progress", "DFLA"},
	{"GET", "/console/items/999999/unpaid", "DFLA"},
	{"GET", "/console/items/999999/unpaid.xlsx", "DFLA"},
	{"POST", "/console/bills/999999/cancel", "DF"},

	{"GET", "/console/refunds", "DFLA"},
	{"GET", "/console/refunds/new?bill=999999", "DF"},
	{"POST", "/console/refunds", "DF"},
	{"GET", "/console/refunds/999999", "DFLA"},
	{"POST", "/console/refunds/999999/approve", "F"},
	{"POST", "/console/refunds/999999/reject", "F"},
	{"POST", "/console/refunds/999999/sync", "F"},
	{"GET", "/console/overpayments", "FLA"},
	{"POST", "/console/overpayments/999999/refund", "F"},

	{"GET", "/console/receipts", "FLA"},
	{"GET", "/console/receipts/print?day=2026-11-27", "F"},
	{"POST", "/console/receipts/print", "F"},
	{"GET", "/console/receipts/202699999999", "FLA"},
	{"POST", "/console/receipts/202699999999/print", "F"},
	{"POST", "/console/receipts/202699999999/void", "F"},

	{"GET", "/console/search/orders", "DFLA"},
	{"GET", "/console/search/payments/export.xlsx", "DFLA"},

	{"GET", "/console/settings", "FA"},
	{"POST", "/console/settings", "FA"},
	{"GET", "/console/users", "A"},
	{"GET", "/console/users/new", "A"},
	{"POST", "/console/users", "A"},
	{"GET", "/console/users/999999", "A"},
	{"POST", "/console/users/999999", "A"},
	{"POST", "/console/users/999999/password", "A"},
	{"POST", "/console/users/999999/disable", "A"},
	{"POST", "/console/users/999999/enable", "A"},
	{"GET", "/console/departments", "A"},
	{"POST", "/console/departments", "A"},
	{"GET", "/console/roster", "FA"},
	{"GET", "/console/roster/import", "FA"},
	{"POST", "/console/roster/import", "FA"},
	{"GET", "/console/roster/template.xlsx", "FA"},
	{"GET", "/console/roster/imports/999999", "FA"},
	{"GET", "/console/audit", "FLA"},
	{"GET", "/console/merchants", "FA"},
	{"POST", "/console/merchants", "FA"},
	{"GET", "/console/merchants/999999", "FA"},
	{"POST", "/console/merchants/999999", "FA"},
	{"POST", "/console/merchants/999999/accounts/alipay", "FA"},

	{"GET", "/console/clients", "FLA"},
	{"GET", "/console/clients/new", "F"},
	{"POST", "/console/clients", "F"},
	{"GET", "/console/clients/999999", "FLA"},
	{"GET", "/console/clients/999999/edit", "F"},
	{"POST", "/console/clients/999999", "F"},
	{"POST", "/console/clients/999999/disable", "F"},
	{"POST", "/console/clients/999999/enable", "F"},
	{"POST", "/console/clients/999999/secret", "F"},
	{"GET", "/console/clients/999999/requests", "FLA"},
	{"GET", "/console/clients/999999/deliveries", "FLA"},
	{"POST", "/console/clients/999999/deliveries/resend", "F"},
	{"POST", "/console/clients/999999/deliveries/999999/resend", "F"},

	{"GET", "/console/recon", "FLA"},
	{"POST", "/console/recon/run", "F"},
	{"GET", "/console/recon/status", "FLA"},
	{"GET", "/console/recon/statements", "FLA"},
	{"GET", "/console/recon/statements/999999", "FLA"},
	{"GET", "/console/recon/lines/999999", "FLA"},
	{"GET", "/console/recon/discrepancies", "FLA"},
	{"GET", "/console/recon/discrepancies/999999", "FLA"},
	{"POST", "/console/recon/discrepancies/999999/resolve", "F"},
	{"GET", "/console/recon/bankfiles", "F"},
	{"POST", "/console/recon/bankfiles", "F"},
	{"GET", "/console/recon/banks/ICBC/mapping", "F"},
	{"POST", "/console/recon/banks/ICBC/mapping", "F"},

	{"GET", "/console/offline", "FLA"},
	{"GET", "/console/offline/import", "F"},
	{"POST", "/console/offline/import", "F"},
	{"GET", "/console/offline/template.xlsx", "F"},
	{"GET", "/console/offline/imports/999999", "F"},
	{"GET", "/console/vouchers", "FLA"},
	{"GET", "/console/vouchers/export.xlsx", "FLA"},
}

func TestAccessMatrix(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		people := []struct {
			letter, login, password string
		}{
			{"D", "dept_jwc", "dept123456"},
			{"F", "finance", "finance123456"},
			{"L", "leader", "leader123456"},
			{"A", "admin", "admin123456"},
			{"P", "2026000001", "pay123456"}, // a payer: no console at all
		}
		for _, who := range people {
			b := p.NewBrowser(t)
			b.Login(who.login, who.password)
			b.Get("/console") // a page, for the CSRF token
			for _, r := range accessMatrix {
				var code int
				var body string
				if r.method == "GET" {
					code, body = b.Get(r.path)
				} else {
					code, body, _ = b.Post(r.path, url.Values{})
				}
				admitted := strings.Contains(r.allowed, who.letter)
				switch {
				case admitted && (code == http.StatusForbidden || code >= 500):
					t.Errorf("%s %s as %s: status %d, want admitted\n%.300s", r.method, r.path, who.login, code, body)
				case !admitted && code != http.StatusForbidden:
					t.Errorf("%s %s as %s: status %d, want 403", r.method, r.path, who.login, code)
				}
			}
		}

		// Signed out: pages send to sign in; forms are refused; nothing is served.
		anon := p.NewBrowser(t)
		for _, r := range accessMatrix {
			var code int
			if r.method == "GET" {
				code, _ = anon.Get(r.path)
			} else {
				code, _, _ = anon.Post(r.path, url.Values{})
			}
			if code != http.StatusSeeOther && code != http.StatusForbidden {
				t.Errorf("%s %s signed out: status %d, want a redirect to sign in or 403", r.method, r.path, code)
			}
		}
	})
}

// A change of roles applies at the user's next request, without signing in again.
func TestRoleChangeAppliesAtOnce(t *testing.T) {
	p := servertest.Start(t, servertest.Options{Demo: true})
	b := p.NewBrowser(t)
	b.Login("dept_jwc", "dept123456")
	if code, _ := b.Get("/console/items/new"); code != http.StatusOK {
		t.Fatalf("dept staff opening the new item form: status %d, want 200", code)
	}
	ctx := context.Background()
	var u store.User
	if err := p.DB.NewSelect().Model(&u).Where("login = 'dept_jwc'").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := p.Auth.UpdateUser(ctx, u.ID, auth.UserInput{Login: u.Login, Name: u.Name, Roles: []string{store.RoleLeader}}, auth.Actor{Login: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := b.Get("/console/items/new"); code != http.StatusForbidden {
		t.Errorf("after the role became leader: status %d, want 403", code)
	}
}
