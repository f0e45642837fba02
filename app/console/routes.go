// Package console is the staff side: departments publish and watch charge items and load
// bills; finance approves, refunds, prints receipts, searches, sets parameters and keeps
// the merchants' accounts at the payment companies; leadership watches dashboards;
// administrators keep users and departments. Every route names the roles it admits (see
// Routes), and department staff only ever see their own department's records.
package console

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/catalog"
	"campuspay/app/clients"
	"campuspay/app/imports"
	"campuspay/app/merchants"
	"campuspay/app/recon"
	"campuspay/app/reports"
	"campuspay/app/roster"
	"campuspay/app/settings"
	"campuspay/app/web"
	"campuspay/store"
)

// Handler serves the console.
type Handler struct {
	Billing   *billing.Service
	Bills     *bills.Service
	Catalog   *catalog.Service
	Clients   *clients.Service
	Merchants *merchants.Service // the 收款商户 and their accounts at the payment companies
	Roster    *roster.Service
	Imports   *imports.Runner // the spreadsheet import jobs' status
	Reports   *reports.Service
	Recon     *recon.Service
	Auth      *auth.Service
	Settings  *settings.Store
	Render    *web.Renderer
	Secrets   auth.Box // seals channel credentials and other secrets at rest
	BaseURL   string
	Log       *slog.Logger
	Now       func() time.Time
	Sessions  fiber.Handler
}

// Role sets used below.
var (
	staff      = []string{store.RoleDept, store.RoleFinance, store.RoleLeader, store.RoleAdmin}
	readers    = staff                                        // may look (dept: own department only)
	publishers = []string{store.RoleDept, store.RoleFinance}  // may apply for items, load bills, ask for refunds
	finance    = []string{store.RoleFinance}                  // approves, refunds, prints receipts
	keepers    = []string{store.RoleFinance, store.RoleAdmin} // settings, payer roster
	auditors   = []string{store.RoleFinance, store.RoleLeader, store.RoleAdmin}
	admins     = []string{store.RoleAdmin}
)

// Routes lists every route of the console with the roles it admits.
func (h *Handler) Routes(app fiber.Router) {
	r := app.Group("/console", h.Sessions, auth.CSRF(), h.signedIn)
	on := func(method, path string, roles []string, handler fiber.Handler) {
		r.Add(method, path, h.allow(roles), handler)
	}
	const get, post = fiber.MethodGet, fiber.MethodPost

	// Dashboard (dashboard.go)
	on(get, "", readers, h.dashboard)
	on(get, "/dashboard/stats", readers, h.dashboardStats) // polled every 5 s (HTMX)
	on(get, "/charts/:name", readers, h.chart)

	// Charge items (items*.go)
	on(get, "/items", readers, h.itemList)
	on(get, "/items/new", publishers, h.itemNew)
	on(post, "/items", publishers, h.itemCreate)
	on(get, "/items/:id", readers, h.itemShow)
	on(get, "/items/:id/edit", publishers, h.itemEdit)
	on(post, "/items/:id", publishers, h.itemUpdate)
	on(post, "/items/:id/submit", publishers, h.itemSubmit)
	on(post, "/items/:id/approve", finance, h.itemApprove)
	on(post, "/items/:id/reject", finance, h.itemReject)
	on(post, "/items/:id/suspend", finance, h.itemSuspend)
	on(post, "/items/:id/resume", finance, h.itemResume)
	on(post, "/items/:id/close", finance, h.itemClose)
	on(get, "/items/:id/poster", readers, h.itemPoster)

	// Bills under an item, their import, and the item's progress (bills*.go, progress*.go)
	on(get, "/items/:id/bills", readers, h.billList)
	on(post, "/items/:id/bills", publishers, h.billCreate)
	on(get, "/items/:id/import", publishers, h.billImportForm)
	on(post, "/items/:id/import", publishers, h.billImport)
	on(get, "/items/:id/template.xlsx", publishers, h.billTemplate)
	on(get, "/imports/:id", publishers, h.importStatus)
	on(get, "/items/:id/progress", readers, h.itemProgress)
	on(get, "/items/:id/unpaid", readers, h.unpaidList)
	on(get, "/items/:id/unpaid.xlsx", readers, h.unpaidExport)
	on(post, "/bills/:id/cancel", publishers, h.billCancel)

	// Refunds and overpayments (refunds*.go)
	on(get, "/refunds", readers, h.refundList)
	on(get, "/refunds/new", publishers, h.refundNew)
	on(post, "/refunds", publishers, h.refundCreate)
	on(get, "/refunds/:id", readers, h.refundShow)
	on(post, "/refunds/:id/approve", finance, h.refundApprove)
	on(post, "/refunds/:id/reject", finance, h.refundReject)
	on(post, "/refunds/:id/sync", finance, h.refundSync)
	on(get, "/overpayments", auditors, h.overpaymentList)
	on(post, "/overpayments/:id/refund", finance, h.overpaymentRefund)

	// Receipts (receipts*.go)
	on(get, "/receipts", auditors, h.receiptList)
	on(get, "/receipts/print", finance, h.receiptBatch)
	on(post, "/receipts/print", finance, h.receiptBatchPrinted) // counts a batch's prints at once
	on(get, "/receipts/:no", auditors, h.receiptShow)
	on(post, "/receipts/:no/print", finance, h.receiptPrinted)
	on(post, "/receipts/:no/void", finance, h.receiptVoid)

	// Search and statistics, each with an Excel export (search*.go)
	on(get, "/search/:kind", readers, h.search)
	on(get, "/search/:kind/export.xlsx", readers, h.searchExport)

	// System parameters, users, departments, payer roster, audit log (settings*.go, users*.go,
	// roster*.go, audit*.go)
	on(get, "/settings", keepers, h.settingsForm)
	on(post, "/settings", keepers, h.settingsSave)
	on(get, "/users", admins, h.userList)
	on(get, "/users/new", admins, h.userNew)
	on(post, "/users", admins, h.userCreate)
	on(get, "/users/:id", admins, h.userEdit)
	on(post, "/users/:id", admins, h.userUpdate)
	on(post, "/users/:id/password", admins, h.userResetPassword)
	on(post, "/users/:id/disable", admins, h.userDisable)
	on(post, "/users/:id/enable", admins, h.userEnable)
	on(get, "/departments", admins, h.departmentList)
	on(post, "/departments", admins, h.departmentSave)
	on(get, "/roster", keepers, h.rosterList)
	on(get, "/roster/import", keepers, h.rosterImportForm)
	on(post, "/roster/import", keepers, h.rosterImport)
	on(get, "/roster/template.xlsx", keepers, h.rosterTemplate)
	on(get, "/roster/imports/:id", keepers, h.rosterImportStatus)
	on(get, "/audit", auditors, h.auditList)

	// Merchants and their accounts at the payment companies (merchant_*.go)
	on(get, "/merchants", keepers, h.merchantList)
	on(post, "/merchants", keepers, h.merchantCreate)
	on(get, "/merchants/:id", keepers, h.merchantShow)
	on(post, "/merchants/:id", keepers, h.merchantUpdate)
	on(post, "/merchants/:id/accounts/:channel", keepers, h.merchantAccountSave)

	// Business systems (client*.go, delivery*.go)
	on(get, "/clients", auditors, h.clientList)
	on(get, "/clients/new", finance, h.clientNew)
	on(post, "/clients", finance, h.clientCreate)
	on(get, "/clients/:id", auditors, h.clientShow)
	on(get, "/clients/:id/edit", finance, h.clientEdit)
	on(post, "/clients/:id", finance, h.clientUpdate)
	on(post, "/clients/:id/disable", finance, h.clientDisable)
	on(post, "/clients/:id/enable", finance, h.clientEnable)
	on(post, "/clients/:id/secret", finance, h.clientRotateSecret) // shows the new secret once
	on(get, "/clients/:id/requests", auditors, h.clientRequests)
	on(get, "/clients/:id/deliveries", auditors, h.deliveryList)
	on(post, "/clients/:id/deliveries/resend", finance, h.deliveryResendAll)
	on(post, "/clients/:id/deliveries/:event/resend", finance, h.deliveryResend)

	// Reconciliation: overview and runs, statements, discrepancies, bank files
	// (recon_*.go, statement_*.go, discrepancy_*.go, bankfile_*.go)
	on(get, "/recon", auditors, h.reconOverview)
	on(post, "/recon/run", finance, h.reconRun)
	on(get, "/recon/status", auditors, h.reconStatus) // the finance dashboard's card (HTMX)
	on(get, "/recon/statements", auditors, h.statementList)
	on(get, "/recon/statements/:id", auditors, h.statementShow)
	on(get, "/recon/lines/:id", auditors, h.statementLine)
	on(get, "/recon/discrepancies", auditors, h.discrepancyList)
	on(get, "/recon/discrepancies/:id", auditors, h.discrepancyShow)
	on(post, "/recon/discrepancies/:id/resolve", finance, h.discrepancyResolve)
	on(get, "/recon/bankfiles", finance, h.bankfileForm)
	on(post, "/recon/bankfiles", finance, h.bankfileUpload)
	on(get, "/recon/banks/:code/mapping", finance, h.bankfileMapping)
	on(post, "/recon/banks/:code/mapping", finance, h.bankfileMappingSave)

	// Offline collections and accounting vouchers (offline_*.go, voucher_*.go)
	on(get, "/offline", auditors, h.offlineList)
	on(get, "/offline/import", finance, h.offlineImportForm)
	on(post, "/offline/import", finance, h.offlineImport)
	on(get, "/offline/template.xlsx", finance, h.offlineTemplate)
	on(get, "/offline/imports/:id", finance, h.offlineImportStatus)
	on(get, "/vouchers", auditors, h.voucherList)
	on(get, "/vouchers/export.xlsx", auditors, h.voucherExport)
}

// signedIn sends a visitor to sign in, and a payer without a staff role back to the cashier.
func (h *Handler) signedIn(c *fiber.Ctx) error {
	p := auth.Current(c)
	if p == nil {
		return web.Redirect(c, web.LoginURL(c.OriginalURL()))
	}
	if !p.Has(staff...) {
		return fiber.NewError(fiber.StatusForbidden, "此账号没有管理端权限")
	}
	return c.Next()
}

// allow admits principals holding any of roles.
func (h *Handler) allow(roles []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !auth.Current(c).Has(roles...) {
			return fiber.NewError(fiber.StatusForbidden, "您的角色无权进行此操作")
		}
		return c.Next()
	}
}

// deptScope is the department a principal is confined to: their own for department staff
// without a wider role, nil (every department) for finance, leadership and administrators.
func deptScope(p *auth.Principal) *int64 {
	if p.Has(store.RoleFinance, store.RoleLeader, store.RoleAdmin) {
		return nil
	}
	id := p.DeptID
	return &id
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
