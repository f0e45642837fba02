package merchants

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/store"
)

// CreateMerchant adds a merchant, without accounts: finance configures each payment
// company's account on the merchant's page. departmentID 0 means the merchant belongs to
// no department (the school's). A refused form is a fault.FormErrors keyed by "name",
// "department_id" and "note".
func (s *Service) CreateMerchant(ctx context.Context, name string, departmentID int64, note, actor string) (*store.Merchant, error) {
	now := s.now()
	m := &store.Merchant{CreatedAt: now, UpdatedAt: now}
	if err := s.checkMerchant(ctx, m, name, departmentID, note, 0); err != nil {
		return nil, err
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return fault.FormErrors{"name": nameTaken}
			}
			return fmt.Errorf("merchants: insert merchant: %w", err)
		}
		return auditMerchant(ctx, tx, m, "merchant.created", actor)
	})
	if m.ID != 0 {
		s.forget(m.ID, 0) // an id read before, as a merchant without accounts, is read again
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// UpdateMerchant changes a merchant's name, department and note; its accounts stay as
// they are.
func (s *Service) UpdateMerchant(ctx context.Context, id int64, name string, departmentID int64, note, actor string) (*store.Merchant, error) {
	m := new(store.Merchant)
	if err := s.DB.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收款商户不存在")
	}
	if err := s.checkMerchant(ctx, m, name, departmentID, note, m.ID); err != nil {
		return nil, err
	}
	m.UpdatedAt = s.now()
	defer s.forget(id, 0)
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(m).Column("name", "department_id", "note", "updated_at").WherePK().Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return fault.FormErrors{"name": nameTaken}
			}
			return fmt.Errorf("merchants: update merchant: %w", err)
		}
		return auditMerchant(ctx, tx, m, "merchant.updated", actor)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

const nameTaken = "已有同名的收款商户，请换一个名称"

// checkMerchant validates a merchant form and fills m with it; selfID is the merchant
// being edited (0 for a new one), whose own name is no clash.
func (s *Service) checkMerchant(ctx context.Context, m *store.Merchant, name string, departmentID int64, note string, selfID int64) error {
	errs := fault.FormErrors{}
	name, note = strings.TrimSpace(name), strings.TrimSpace(note)
	if n := utf8.RuneCountInString(name); n < 2 || n > 100 {
		errs["name"] = "商户名称须为 2 到 100 个字"
	} else {
		n, err := s.DB.NewSelect().Model((*store.Merchant)(nil)).Where("name = ?", name).Where("id <> ?", selfID).Count(ctx)
		if err != nil {
			return fmt.Errorf("merchants: merchant name: %w", err)
		}
		if n > 0 {
			errs["name"] = nameTaken
		}
	}
	if utf8.RuneCountInString(note) > 500 {
		errs["note"] = "备注不能超过 500 个字"
	}
	var dept *int64
	if departmentID < 0 {
		errs["department_id"] = "所选部门不存在"
	} else if departmentID > 0 {
		n, err := s.DB.NewSelect().Model((*store.Department)(nil)).Where("id = ?", departmentID).Count(ctx)
		if err != nil {
			return fmt.Errorf("merchants: merchant department: %w", err)
		}
		if n == 0 {
			errs["department_id"] = "所选部门不存在"
		}
		dept = &departmentID
	}
	if len(errs) > 0 {
		return errs
	}
	m.Name, m.DepartmentID, m.Note = name, dept, note
	return nil
}

func auditMerchant(ctx context.Context, tx bun.IDB, m *store.Merchant, action, actor string) error {
	return store.Audit(ctx, tx, &store.AuditLog{At: m.UpdatedAt, Actor: actor, Action: action,
		TargetType: "merchant", TargetID: fmt.Sprint(m.ID), Detail: store.Clip(m.Name, 2000)})
}
