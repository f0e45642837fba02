// Package demo fills a new database with a small school: departments, staff of every
// role, approved charge items of every pricing kind, a few hundred bills for demo students,
// and campus card accounts for them. It is for trying the platform and for tests.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/clients"
	"campuspay/app/settings"
	"campuspay/app/sim/campuscard"
	"campuspay/store"
)

// Logins lists the demo accounts as the README and the start-up banner show them.
var Logins = []struct{ Login, Password, Role string }{
	{"2026000001", "pay123456", "学生（缴费人），校园卡密码 123456"},
	{"2026000003", "pay123456", "学生，校园卡已冻结"},
	{"dept_jwc", "dept123456", "部门人员（教务处）"},
	{"finance", "finance123456", "财务处"},
	{"finance2", "finance123456", "财务处（复核：退款须由申请人以外的财务人员审批）"},
	{"leader", "leader123456", "校领导"},
	{"admin", "admin123456", "系统管理员"},
}

// Students is how many demo students there are; each has three bills.
const Students = 100

// CardPassword is every demo student's campus card password.
const CardPassword = "123456"

// Loaded reports whether the database has any user yet.
func Loaded(ctx context.Context, db *bun.DB) (bool, error) {
	n, err := db.NewSelect().Model((*store.User)(nil)).Count(ctx)
	return n > 0, err
}

// MarkerKey is the settings row Load writes: a database that has it is a demo database,
// and the platform serves its simulators (payments there are play money). The console's
// settings page never shows or writes it.
const MarkerKey = "platform.demo_loaded_at"

// DemoChannels are the channels Load enables: the simulated payment company, the
// simulated campus card, and Alipay, WeChat Pay and UnionPay, whose demo accounts the
// server points at its in-process fakes of those companies.
const DemoChannels = "sandbox,campuscard,alipay,wechatpay,unionpay"

// Marked reports whether the demo was loaded into the database.
func Marked(ctx context.Context, db bun.IDB) (bool, error) {
	n, err := db.NewSelect().Model((*store.Setting)(nil)).Where("k = ?", MarkerKey).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("demo: read marker: %w", err)
	}
	return n > 0, nil
}

// Load writes the demo school. card receives the campus card accounts (its own books).
func Load(ctx context.Context, db *bun.DB, card *campuscard.Sim, now time.Time) error {
	now = store.UTC(now)
	payerHash, err := auth.HashPassword("pay123456")
	if err != nil {
		return err
	}
	staff := map[string]string{}
	for _, l := range Logins[2:] {
		if staff[l.Login], err = auth.HashPassword(l.Password); err != nil {
			return err
		}
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		depts := []*store.Department{
			{Code: "CWC", Name: "财务处"}, {Code: "JWC", Name: "教务处"}, {Code: "HQ", Name: "后勤管理处"},
			{Code: "JJH", Name: "教育发展基金会"}, {Code: "JSJ", Name: "计算机学院"},
			{Code: "ZSB", Name: "招生办公室"},
		}
		for _, d := range depts {
			d.CreatedAt = now
		}
		if _, err := tx.NewInsert().Model(&depts).Exec(ctx); err != nil {
			return fmt.Errorf("demo: departments: %w", err)
		}
		jwc := depts[1].ID
		users := []*store.User{
			{Login: "dept_jwc", Name: "王老师", Roles: store.RoleDept, DepartmentID: &jwc, PasswordHash: staff["dept_jwc"]},
			{Login: "finance", Name: "刘会计", Roles: store.RoleFinance, PasswordHash: staff["finance"]},
			{Login: "finance2", Name: "赵出纳", Roles: store.RoleFinance, PasswordHash: staff["finance2"]},
			{Login: "leader", Name: "陈校长", Roles: store.RoleLeader, PasswordHash: staff["leader"]},
			{Login: "admin", Name: "系统管理员", Roles: store.RoleAdmin, PasswordHash: staff["admin"]},
		}
		surnames := []rune("张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高")
		given := []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超", "秀英", "华", "丹", "鹏", "宇航", "子涵"}
		classes := []string{"计算机2601班", "软件2602班", "数学2601班", "英语2603班", "机械2604班"}
		for i := 1; i <= Students; i++ {
			no := fmt.Sprintf("20260%05d", i)
			users = append(users, &store.User{
				Login: no, Name: string(surnames[i%len(surnames)]) + given[(i*7)%len(given)], Roles: store.RolePayer,
				PayerNo: &no, PasswordHash: payerHash, Phone: fmt.Sprintf("138%08d", i),
				Unit: "计算机学院", ClassName: classes[i%len(classes)],
			})
		}
		for _, u := range users {
			u.Status, u.CreatedAt, u.UpdatedAt = "active", now, now
		}
		if _, err := tx.NewInsert().Model(&users).Exec(ctx); err != nil {
			return fmt.Errorf("demo: users: %w", err)
		}
		opens, closes := now.AddDate(0, -1, 0), now.AddDate(0, 3, 0)
		refundable := now.AddDate(0, 6, 0)
		items := []*store.ChargeItem{
			{Code: "TUITION-2026", Name: "2026-2027学年学费", DepartmentID: depts[0].ID, Category: "tuition", Audience: store.AudienceInternal, Pricing: store.PricingPerBill, PartialAllowed: true, Description: "按专业收费标准，可分次缴纳。"},
			{Code: "DORM-2026", Name: "2026-2027学年住宿费", DepartmentID: depts[2].ID, Category: "accommodation", Audience: store.AudienceInternal, Pricing: store.PricingFixed, PriceFen: 120000},
			{Code: "CET-2026-12", Name: "2026年12月大学英语四级考试费", DepartmentID: depts[1].ID, Category: "exam", Audience: store.AudienceInternal, Pricing: store.PricingFixed, PriceFen: 3000},
			{Code: "CONF-AI-2026", Name: "2026人工智能教育学术会议注册费", DepartmentID: depts[4].ID, Category: "conference", Audience: store.AudienceBoth, Pricing: store.PricingFixed, PriceFen: 80000, Description: "含会议资料与两日午餐。"},
			{Code: "DONATE-2026", Name: "校友捐赠·育才基金", DepartmentID: depts[3].ID, Category: "donation", Audience: store.AudienceBoth, Pricing: store.PricingPayerEntered, MinFen: 100, MaxFen: 10000000, Description: "感谢您对母校的支持，捐赠可开具公益事业捐赠票据。"},
			// The item the demo business system (DemoClientAppID) posts its bills to.
			{Code: DemoClientItem, Name: "2026年研究生招生考试报名费", DepartmentID: depts[5].ID, Category: "exam", Audience: store.AudienceBoth, Pricing: store.PricingPerBill, Description: "由招生管理系统通过统一支付平台接口开具。"},
		}
		for _, it := range items {
			it.Status, it.OpensAt, it.ClosesAt, it.RefundableUntil = store.ItemApproved, &opens, &closes, &refundable
			it.CreatedAt, it.UpdatedAt = now, now
		}
		if _, err := tx.NewInsert().Model(&items).Exec(ctx); err != nil {
			return fmt.Errorf("demo: items: %w", err)
		}
		due := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		var bills []*store.Bill
		for _, u := range users {
			if u.PayerNo == nil {
				continue // staff
			}
			tuition := int64(500000 + (u.ID%4)*50000) // ¥5,000.00 – ¥6,500.00
			for _, b := range []struct {
				item   *store.ChargeItem
				amount int64
				desc   string
			}{{items[0], tuition, "按专业收费标准"}, {items[1], 120000, "东区6号楼"}, {items[2], 3000, ""}} {
				bills = append(bills, &store.Bill{
					BillNo: fmt.Sprintf("DEMO-%s-%s", b.item.Code, *u.PayerNo), Source: "demo", ItemID: b.item.ID,
					PayerID: &u.ID, PayerType: "internal", PayerName: u.Name, PayerPhone: u.Phone,
					AmountDueFen: b.amount, Status: store.BillUnpaid, Description: b.desc, DueDate: &due,
					CreatedAt: now, UpdatedAt: now,
				})
			}
		}
		if _, err := tx.NewInsert().Model(&bills).Exec(ctx); err != nil {
			return fmt.Errorf("demo: bills: %w", err)
		}
		// In the same transaction as the data: a database holds the demo school exactly
		// when it is marked as a demo (simulators on).
		for _, row := range []*store.Setting{
			{Key: MarkerKey, Value: now.Format(time.RFC3339), UpdatedBy: "demo", UpdatedAt: now},
			{Key: settings.ChannelsEnabled, Value: DemoChannels, UpdatedBy: "demo", UpdatedAt: now},
		} {
			if err := store.PutSetting(ctx, tx, row); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if card == nil {
		return nil
	}
	var payers []store.User
	if err := db.NewSelect().Model(&payers).Where("payer_no IS NOT NULL").OrderExpr("payer_no").Scan(ctx); err != nil {
		return fmt.Errorf("demo: payers: %w", err)
	}
	for i, u := range payers {
		// ¥3,000.00 each: enough for the dormitory and exam fees, not for tuition, so the
		// card's "balance too low" answer is easy to see. The third student's card is frozen.
		if err := card.OpenAccount(ctx, campuscard.Account{HolderNo: u.PayerNumber(), Name: u.Name, Password: CardPassword,
			BalanceFen: 300000, Frozen: i == 2}); err != nil {
			return fmt.Errorf("demo: card account: %w", err)
		}
	}
	return nil
}

// The demo business system: an admissions system that posts bills to DemoClientItem
// through the integration API. Its secret is published in the README — for the demo only:
// a real client's secret is made at random and shown once.
const (
	DemoClientAppID  = "demo-admissions"
	DemoClientSecret = "cc4e51ceae278b3739fdc64bf0cb65d7955828125fde48fa906b38265fbb9d3d"
	DemoClientItem   = "DEMO-ADM-2026"
)

// LoadClients registers the demo business system (after Load, with the clients service
// that seals its secret).
func LoadClients(ctx context.Context, c *clients.Service) error {
	err := c.EnsureDemoClient(ctx, clients.ClientInput{
		AppID: DemoClientAppID, Name: "招生管理系统（演示）", AllowedItems: []string{DemoClientItem},
	}, DemoClientSecret)
	if err != nil {
		return fmt.Errorf("demo: client: %w", err)
	}
	return nil
}
