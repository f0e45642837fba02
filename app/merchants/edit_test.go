package merchants_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/merchants"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestCreateAndUpdateMerchant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &merchants.Service{DB: db}
		dept := &store.Department{Code: "JXJY", Name: "继续教育学院", CreatedAt: time.Now()}
		if _, err := db.NewInsert().Model(dept).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		m, err := s.CreateMerchant(ctx, "  继续教育学院收款商户 ", dept.ID, " 特约商户 ", "finance")
		if err != nil {
			t.Fatalf("CreateMerchant: %v", err)
		}
		if m.ID <= store.DefaultMerchantID || m.Name != "继续教育学院收款商户" || m.Note != "特约商户" ||
			m.DepartmentID == nil || *m.DepartmentID != dept.ID {
			t.Errorf("created merchant = %+v, want the trimmed name and note in department %d", m, dept.ID)
		}
		got, err := s.Merchant(ctx, m.ID)
		if err != nil || got.Name != m.Name || len(got.Accounts) != 0 {
			t.Errorf("Merchant(%d) = %+v, %v; want it stored without accounts", m.ID, got, err)
		}

		for _, tt := range []struct {
			name  string
			dept  int64
			note  string
			field string
		}{
			{"甲", 0, "", "name"},
			{strings.Repeat("商", 101), 0, "", "name"},
			{"学校统一第三方支付公司", 0, "", "name"}, // the seeded merchant's
			{"继续教育学院收款商户", 0, "", "name"},
			{"图书馆收款商户", 999999, "", "department_id"},
			{"图书馆收款商户", 0, strings.Repeat("注", 501), "note"},
		} {
			_, err := s.CreateMerchant(ctx, tt.name, tt.dept, tt.note, "finance")
			var fe fault.FormErrors
			if !errors.As(err, &fe) || fe[tt.field] == "" || !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("CreateMerchant(%.20q, %d) = %v, want an error on %s", tt.name, tt.dept, err, tt.field)
			}
		}
		if _, err := s.CreateMerchant(ctx, "图书馆收款商户", 0, "", "finance"); err != nil {
			t.Errorf("CreateMerchant without a department: %v", err)
		}

		// Keeping its own name is no clash; taking another's is.
		up, err := s.UpdateMerchant(ctx, m.ID, "继续教育学院收款商户", 0, "改为学校直连", "admin")
		if err != nil || up.DepartmentID != nil || up.Note != "改为学校直连" {
			t.Fatalf("UpdateMerchant = %+v, %v; want the department cleared and the note changed", up, err)
		}
		var fe fault.FormErrors
		if _, err := s.UpdateMerchant(ctx, m.ID, "图书馆收款商户", 0, "", "admin"); !errors.As(err, &fe) || fe["name"] == "" {
			t.Errorf("rename onto another merchant's name = %v, want an error on name", err)
		}
		if _, err := s.UpdateMerchant(ctx, 999999, "不存在的商户", 0, "", "admin"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("UpdateMerchant of a missing merchant = %v, want not found", err)
		}

		var actions []string
		if err := db.NewSelect().Model((*store.AuditLog)(nil)).Column("action").
			Where("target_type = 'merchant'").Where("target_id = ?", m.ID).OrderExpr("id").Scan(ctx, &actions); err != nil {
			t.Fatal(err)
		}
		if strings.Join(actions, ",") != "merchant.created,merchant.updated" {
			t.Errorf("audit of merchant %d = %v, want created then updated", m.ID, actions)
		}
	})
}
