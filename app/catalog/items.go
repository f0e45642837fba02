package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/store"
)

// ItemEvent names a move of a charge item; the audit log records it as "item.<event>".
type ItemEvent string

const (
	ItemSubmitted ItemEvent = "submitted"
	ItemApproved  ItemEvent = "approved"
	ItemRejected  ItemEvent = "rejected"
	ItemSuspended ItemEvent = "suspended"
	ItemResumed   ItemEvent = "resumed"
	ItemClosed    ItemEvent = "closed"
)

// itemTransitions lists, for each item status, the statuses it may move to and the event
// that moves it there. A department submits a draft (or a rejected item it has edited);
// finance approves or rejects what is pending, suspends and resumes an approved item, and
// closes it for good.
var itemTransitions = map[store.ItemStatus]map[store.ItemStatus]ItemEvent{
	store.ItemDraft:     {store.ItemPending: ItemSubmitted},
	store.ItemRejected:  {store.ItemPending: ItemSubmitted},
	store.ItemPending:   {store.ItemApproved: ItemApproved, store.ItemRejected: ItemRejected},
	store.ItemApproved:  {store.ItemSuspended: ItemSuspended, store.ItemClosed: ItemClosed},
	store.ItemSuspended: {store.ItemApproved: ItemResumed, store.ItemClosed: ItemClosed},
	store.ItemClosed:    {},
}

// CanMoveItem reports whether an item may go from one status to another, and by which event.
func CanMoveItem(from, to store.ItemStatus) (ItemEvent, bool) {
	ev, ok := itemTransitions[from][to]
	return ev, ok
}

// ItemCanDo reports whether event may happen to an item in status from (what the item page
// uses to show its buttons).
func ItemCanDo(from store.ItemStatus, event ItemEvent) bool {
	_, ok := itemTarget(from, event)
	return ok
}

func itemTarget(from store.ItemStatus, event ItemEvent) (store.ItemStatus, bool) {
	for to, ev := range itemTransitions[from] {
		if ev == event {
			return to, true
		}
	}
	return "", false
}

// ItemEditable reports whether an item's details may still change.
func ItemEditable(s store.ItemStatus) bool { return s == store.ItemDraft || s == store.ItemRejected }

// ItemStatusLabel is an item status as staff read it.
func ItemStatusLabel(s store.ItemStatus) string {
	switch s {
	case store.ItemDraft:
		return "草稿"
	case store.ItemPending:
		return "待审核"
	case store.ItemApproved:
		return "已通过"
	case store.ItemSuspended:
		return "已暂停"
	case store.ItemClosed:
		return "已关闭"
	case store.ItemRejected:
		return "已驳回"
	}
	return string(s)
}

// ItemEventLabel is an audit action of an item's timeline as staff read it.
func ItemEventLabel(action string) string {
	switch strings.TrimPrefix(action, "item.") {
	case "created":
		return "创建"
	case "updated":
		return "修改"
	case string(ItemSubmitted):
		return "提交审核"
	case string(ItemApproved):
		return "审核通过"
	case string(ItemRejected):
		return "驳回"
	case string(ItemSuspended):
		return "暂停收费"
	case string(ItemResumed):
		return "恢复收费"
	case string(ItemClosed):
		return "关闭"
	case "bills.imported":
		return "导入账单"
	case "bill.added":
		return "新增账单"
	case "bill.cancelled":
		return "取消账单"
	}
	return action
}

// Categories are the item categories: code and label, in the order forms list them.
var Categories = []struct{ Code, Label string }{
	{"tuition", "学费"}, {"accommodation", "住宿费"}, {"exam", "考试费"}, {"training", "培训费"},
	{"conference", "会议费"}, {"donation", "捐赠"}, {"other", "其他"},
}

// CategoryLabel is a category code's label.
func CategoryLabel(code string) string {
	for _, c := range Categories {
		if c.Code == code {
			return c.Label
		}
	}
	return code
}

// AudienceLabel is an item audience as staff read it.
func AudienceLabel(a store.Audience) string {
	switch a {
	case store.AudienceInternal:
		return "校内人员"
	case store.AudienceExternal:
		return "校外人员"
	case store.AudienceBoth:
		return "校内外均可"
	}
	return string(a)
}

// PricingLabel is an item's pricing as staff read it.
func PricingLabel(p store.Pricing) string {
	switch p {
	case store.PricingFixed:
		return "固定金额"
	case store.PricingPerBill:
		return "按账单金额"
	case store.PricingPayerEntered:
		return "缴费人自填金额"
	}
	return string(p)
}

// ItemInput is an item form as typed: amounts in yuan, times as the datetime-local inputs
// send them ("2026-09-01T08:00", Asia/bizday.Shanghai).
type ItemInput struct {
	Code            string
	Name            string
	DepartmentID    int64 // ignored for department staff: their own department
	MerchantID      int64 // 收款商户; 0: the school's on a new item, unchanged on an edit
	Category        string
	Audience        string
	Pricing         string
	Price           string
	Min             string
	Max             string
	OpensAt         string
	ClosesAt        string
	PartialAllowed  bool
	RefundableUntil string
	Description     string
}

// InputOf is the form of an existing item, for editing.
func InputOf(it *store.ChargeItem) ItemInput {
	in := ItemInput{
		Code: it.Code, Name: it.Name, DepartmentID: it.DepartmentID, MerchantID: it.MerchantID, Category: it.Category,
		Audience: string(it.Audience), Pricing: string(it.Pricing), PartialAllowed: it.PartialAllowed,
		Description: it.Description, OpensAt: localInput(it.OpensAt), ClosesAt: localInput(it.ClosesAt),
		RefundableUntil: localInput(it.RefundableUntil),
	}
	switch it.Pricing {
	case store.PricingFixed:
		in.Price = money.Plain(it.PriceFen)
	case store.PricingPayerEntered:
		in.Min, in.Max = money.Plain(it.MinFen), money.Plain(it.MaxFen)
	}
	return in
}

func localInput(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(bizday.Shanghai).Format("2006-01-02T15:04")
}

var itemCodeRE = regexp.MustCompile(`^[A-Z0-9-]{2,32}$`)

// MaxBillAmountFen is the most one bill loaded by a department may ask: ¥1,000,000.00.
const MaxBillAmountFen = 1_000_000_00

// validate checks the form and fills item with what it says (department aside).
func (in *ItemInput) validate(item *store.ChargeItem) fault.FormErrors {
	errs := fault.FormErrors{}
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if !itemCodeRE.MatchString(in.Code) {
		errs["code"] = "项目编号为 2 到 32 位大写字母、数字或连字符，如 CET-2026-12"
	}
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		errs["name"] = "请填写项目名称（不超过 100 个字）"
	}
	if CategoryLabel(in.Category) == in.Category {
		errs["category"] = "请选择项目类别"
	}
	switch store.Audience(in.Audience) {
	case store.AudienceInternal, store.AudienceExternal, store.AudienceBoth:
	default:
		errs["audience"] = "请选择收费对象"
	}
	item.Code, item.Name, item.Category, item.Audience = in.Code, in.Name, in.Category, store.Audience(in.Audience)
	item.Pricing, item.PriceFen, item.MinFen, item.MaxFen = store.Pricing(in.Pricing), 0, 0, 0
	amount := func(field, raw string) int64 {
		fen, err := money.ParseYuan(raw)
		var pe *money.ParseError
		switch {
		case errors.As(err, &pe):
			errs[field] = pe.Message
		case err != nil:
			errs[field] = "金额格式不正确"
		case fen <= 0:
			errs[field] = "金额须大于 0"
		case fen > MaxBillAmountFen:
			errs[field] = "金额不能超过 " + money.Format(MaxBillAmountFen)
		}
		return fen
	}
	switch item.Pricing {
	case store.PricingFixed:
		item.PriceFen = amount("price", in.Price)
	case store.PricingPerBill:
	case store.PricingPayerEntered:
		item.MinFen, item.MaxFen = amount("min", in.Min), amount("max", in.Max)
		if errs["min"] == "" && errs["max"] == "" && item.MinFen > item.MaxFen {
			errs["max"] = "最高金额不能低于最低金额"
		}
	default:
		errs["pricing"] = "请选择定价方式"
	}
	item.OpensAt = parseLocal(errs, "opens_at", in.OpensAt)
	item.ClosesAt = parseLocal(errs, "closes_at", in.ClosesAt)
	item.RefundableUntil = parseLocal(errs, "refundable_until", in.RefundableUntil)
	if item.OpensAt != nil && item.ClosesAt != nil && !item.ClosesAt.After(*item.OpensAt) {
		errs["closes_at"] = "截止时间须晚于开始时间"
	}
	item.PartialAllowed = in.PartialAllowed
	if utf8.RuneCountInString(in.Description) > 1000 {
		errs["description"] = "说明不能超过 1000 个字"
	}
	item.Description = in.Description
	return errs
}

// parseLocal reads a datetime-local value (or a bare date) in Asia/bizday.Shanghai; "" is nil.
func parseLocal(errs fault.FormErrors, field, raw string) *time.Time {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, raw, bizday.Shanghai); err == nil {
			u := store.UTC(t)
			return &u
		}
	}
	errs[field] = "时间格式不正确，如 2026-09-01 08:00"
	return nil
}

// ItemFilter narrows the item list. Scope confines it to one department (department staff).
type ItemFilter struct {
	Scope        *int64
	DepartmentID int64
	Status       string
	Q            string
	Offset       int
	Limit        int
}

// Items returns one page of charge items, newest first, with their departments, and how
// many match in all.
func (s *Service) Items(ctx context.Context, f ItemFilter) ([]*store.ChargeItem, int, error) {
	var items []*store.ChargeItem
	q := s.DB.NewSelect().Model(&items).Relation("Department")
	if f.Scope != nil {
		q = q.Where("charge_item.department_id = ?", *f.Scope)
	}
	if f.DepartmentID > 0 {
		q = q.Where("charge_item.department_id = ?", f.DepartmentID)
	}
	if f.Status != "" {
		q = q.Where("charge_item.status = ?", f.Status)
	}
	if kw := strings.TrimSpace(f.Q); kw != "" {
		like := store.LikeContains(kw)
		q = q.Where("(charge_item.code LIKE ? ESCAPE '!' OR charge_item.name LIKE ? ESCAPE '!')", like, like)
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("charge_item.id DESC").Offset(int64(f.Offset)).Limit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: items: %w", err)
	}
	return items, int(n), nil
}

// Item returns a charge item with its department. An item outside scope (another
// department's, for department staff) is reported missing.
func (s *Service) Item(ctx context.Context, id int64, scope *int64) (*store.ChargeItem, error) {
	item := new(store.ChargeItem)
	q := s.DB.NewSelect().Model(item).Relation("Department").Where("charge_item.id = ?", id)
	if scope != nil {
		q = q.Where("charge_item.department_id = ?", *scope)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收费项目不存在")
	}
	return item, nil
}

// ItemDepartments lists every department, by name, for the item forms and filters.
func (s *Service) ItemDepartments(ctx context.Context) ([]*store.Department, error) {
	var depts []*store.Department
	if err := s.DB.NewSelect().Model(&depts).OrderExpr("code").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: departments: %w", err)
	}
	return depts, nil
}

// ItemMerchants lists every merchant, by id, for the item form's 收款商户.
func (s *Service) ItemMerchants(ctx context.Context) ([]*store.Merchant, error) {
	var out []*store.Merchant
	if err := s.DB.NewSelect().Model(&out).Column("id", "name").OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: merchants: %w", err)
	}
	return out, nil
}

// ItemMerchant is the merchant an item collects into.
func (s *Service) ItemMerchant(ctx context.Context, item *store.ChargeItem) (*store.Merchant, error) {
	m := new(store.Merchant)
	if err := s.DB.NewSelect().Model(m).Where("id = ?", item.MerchantID).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收款商户不存在")
	}
	return m, nil
}

// CreateItem writes a new draft item. Department staff (scope set) create items for their
// own department only; finance names the department in the form.
func (s *Service) CreateItem(ctx context.Context, in ItemInput, scope *int64, createdBy int64, actor string) (*store.ChargeItem, error) {
	now := s.now()
	item := &store.ChargeItem{Status: store.ItemDraft, CreatedAt: now, UpdatedAt: now}
	if createdBy > 0 {
		item.CreatedBy = &createdBy
	}
	errs := in.validate(item)
	item.DepartmentID = in.DepartmentID
	if scope != nil {
		item.DepartmentID = *scope
	}
	item.MerchantID = cmp.Or(in.MerchantID, store.DefaultMerchantID)
	if err := s.checkItemRefs(ctx, s.DB, item, 0, errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(item).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return fault.FormErrors{"code": "项目编号已被使用"}
			}
			return fmt.Errorf("catalog: insert item: %w", err)
		}
		return AuditItem(ctx, tx, now, actor, "item.created", item.ID, item.Code+" "+item.Name)
	})
	if err != nil {
		return nil, err
	}
	return item, nil
}

// checkItemRefs adds to errs what needs the database: the code is free, the department
// and the merchant exist.
func (s *Service) checkItemRefs(ctx context.Context, db bun.IDB, item *store.ChargeItem, selfID int64, errs fault.FormErrors) error {
	if errs["code"] == "" {
		n, err := db.NewSelect().Model((*store.ChargeItem)(nil)).Where("code = ?", item.Code).Where("id <> ?", selfID).Count(ctx)
		if err != nil {
			return fmt.Errorf("catalog: item code: %w", err)
		}
		if n > 0 {
			errs["code"] = "项目编号已被使用"
		}
	}
	n, err := db.NewSelect().Model((*store.Department)(nil)).Where("id = ?", item.DepartmentID).Count(ctx)
	if err != nil {
		return fmt.Errorf("catalog: item department: %w", err)
	}
	if n == 0 {
		errs["department_id"] = "请选择收费部门"
	}
	if n, err = db.NewSelect().Model((*store.Merchant)(nil)).Where("id = ?", item.MerchantID).Count(ctx); err != nil {
		return fmt.Errorf("catalog: item merchant: %w", err)
	}
	if n == 0 {
		errs["merchant_id"] = "所选收款商户不存在，请重新选择"
	}
	return nil
}

// UpdateItem changes a draft or rejected item's details. A rejected item stays rejected
// until it is submitted again.
func (s *Service) UpdateItem(ctx context.Context, id int64, in ItemInput, scope *int64, actor string) (*store.ChargeItem, error) {
	item, err := s.Item(ctx, id, scope)
	if err != nil {
		return nil, err
	}
	if !ItemEditable(item.Status) {
		return nil, fault.New(fault.ErrConflict, "item_not_editable", "项目%s，不能再修改", ItemStatusLabel(item.Status))
	}
	status := item.Status
	errs := in.validate(item)
	if scope == nil && in.DepartmentID > 0 {
		item.DepartmentID = in.DepartmentID
	}
	if in.MerchantID != 0 {
		item.MerchantID = in.MerchantID
	}
	if err := s.checkItemRefs(ctx, s.DB, item, item.ID, errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	now := s.now()
	item.UpdatedAt = now
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(item).
			Column("code", "name", "department_id", "merchant_id", "category", "audience", "pricing", "price_fen", "min_fen", "max_fen",
				"opens_at", "closes_at", "partial_allowed", "refundable_until", "description", "updated_at").
			WherePK().Where("status = ?", status).Exec(ctx)
		if err != nil {
			if store.IsDuplicate(err) {
				return fault.FormErrors{"code": "项目编号已被使用"}
			}
			return fmt.Errorf("catalog: update item: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrConflict, "item_changed", "项目状态已变化，请刷新后再试")
		}
		return AuditItem(ctx, tx, now, actor, "item.updated", item.ID, item.Code+" "+item.Name)
	})
	if err != nil {
		return nil, err
	}
	return item, nil
}

// MoveItem makes event happen to an item: submit, approve, reject (reason required),
// suspend, resume, close. The move is allowed only from the statuses itemTransitions
// lists for the event; it is an UPDATE guarded by the status read, and it is audited with
// the reason.
func (s *Service) MoveItem(ctx context.Context, id int64, event ItemEvent, reason string, scope *int64, actor string) (*store.ChargeItem, error) {
	item, err := s.Item(ctx, id, scope)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if event == ItemRejected && reason == "" {
		return nil, fault.New(fault.ErrInvalid, "reason_required", "请填写驳回原因")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, fault.New(fault.ErrInvalid, "reason_too_long", "原因不能超过 500 个字")
	}
	to, ok := itemTarget(item.Status, event)
	if !ok {
		return nil, fault.New(fault.ErrConflict, "item_state", "项目当前%s，不能%s", ItemStatusLabel(item.Status), ItemEventLabel(string(event)))
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.ChargeItem)(nil)).
			Set("status = ?", to).Set("updated_at = ?", now).
			Where("id = ?", item.ID).Where("status = ?", item.Status).Exec(ctx)
		if err != nil {
			return fmt.Errorf("catalog: move item: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrConflict, "item_changed", "项目状态已变化，请刷新后再试")
		}
		return AuditItem(ctx, tx, now, actor, "item."+string(event), item.ID, reason)
	})
	if err != nil {
		return nil, err
	}
	item.Status, item.UpdatedAt = to, now
	return item, nil
}

// AuditItem writes an item's audit row (its timeline), inside tx.
func AuditItem(ctx context.Context, tx bun.IDB, now time.Time, actor, action string, itemID int64, detail string) error {
	return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: action, TargetType: "item",
		TargetID: fmt.Sprint(itemID), Detail: store.Clip(detail, 2000)})
}

// ItemTimeline is an item's history: its audit rows, oldest first (at most 200).
func (s *Service) ItemTimeline(ctx context.Context, id int64) ([]*store.AuditLog, error) {
	var rows []*store.AuditLog
	err := s.DB.NewSelect().Model(&rows).Where("target_type = ?", "item").Where("target_id = ?", fmt.Sprint(id)).
		OrderExpr("at, id").Limit(200).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog: item timeline: %w", err)
	}
	return rows, nil
}
