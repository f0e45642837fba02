package bills

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/roster"
	"campuspay/store"
)

// Bills that business systems post (API.md, POST /api/v1/bills and /bills/batch; the SOAP
// web service and the database inbox call the same functions). The order of the checks:
//
//  1. the request's own form (bill_no, payer, description, due_date, metadata): 400
//     bad_request naming the field;
//  2. the client's bill with that bill_no, if any: the same content is answered with the
//     bill as it stands (created false), different content is 409 bill_conflict — so a
//     retry of a bill created yesterday still gets its bill, whatever changed since;
//  3. the item: an unknown item code is 422 item_not_payable ("no bill can be paid on
//     it"; API.md has no item_unknown code, and a well-formed code that names nothing is a
//     fact about the platform, not a malformed request), an item the client may not post
//     to is 403 forbidden, an item not approved or outside its window is 422
//     item_not_payable, a payer type the item is not open to is 400 (payer.type);
//  4. the amount (422 amount_invalid) and the payer against the roster (400).
//
// The console's rule "one live bill per payer and item" (billChecker) is not applied here:
// a business system's bill is identified by its own bill_no, and a training or conference
// system may well post two bills to one payer under one item.

// MaxBatchBills is how many bills one batch may carry.
const MaxBatchBills = 1000

// MaxMetadataBytes is how large a bill's metadata may be, as stored (compact JSON).
const MaxMetadataBytes = 4096

// Bill sources a business system's bill may come by.
const (
	SourceAPI   = "api"
	SourceSOAP  = "soap"
	SourceInbox = "inbox"
)

// ClientBillRequest is one bill as a business system posts it (API.md, "Objects").
type ClientBillRequest struct {
	BillNo      string           `json:"bill_no"`
	ItemCode    string           `json:"item_code"`
	Payer       billing.APIPayer `json:"payer"`
	Amount      *int64           `json:"amount"` // fen; nil: absent (allowed for a fixed-price item)
	Description string           `json:"description"`
	DueDate     string           `json:"due_date"` // YYYY-MM-DD or ""
	Metadata    json.RawMessage  `json:"metadata"` // a JSON object, or absent/null
}

// ClientBillResult is what became of one bill of a batch: the bill (created, or as it
// stands when the same content was posted before), or the error.
type ClientBillResult struct {
	BillNo  string
	Bill    *billing.APIBill
	Created bool
	Err     error
}

// apiBillNoRE: 1–64 printable ASCII characters that need no escaping in a URL path (the
// bill number is part of /api/v1/bills/{bill_no}, and the signature covers the path as
// sent): letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @.
var apiBillNoRE = regexp.MustCompile(`^[0-9A-Za-z._~!$&'()*+,;=:@-]{1,64}$`)

// billPlan is one requested bill on its way in.
type billPlan struct {
	req      ClientBillRequest // normalised
	due      *time.Time
	meta     *string
	result   *ClientBillResult
	bill     *store.Bill       // to insert
	newPayer *store.User       // the payer this bill creates (shared by bills of one new payer)
	item     *store.ChargeItem // the item of a bill to insert
}

// existingBill is a client's bill already in the database, with what idempotency compares.
type existingBill struct {
	store.Bill  `bun:",extend"`
	ItemCode    string        `bun:"item_code"`
	ItemPricing store.Pricing `bun:"item_pricing"`
	PayerNo     string        `bun:"payer_no"`
}

// CreateClientBill creates one bill for a business system (source "api", "soap" or
// "inbox"). It reports created false when the client posted the same bill_no with the
// same content before: the bill comes back as it stands. Under any number of identical
// requests at once exactly one bill is created: the unique key (source_client, bill_no)
// decides, and the losers read the winner's bill.
func (s *Service) CreateClientBill(ctx context.Context, client *store.Client, req ClientBillRequest, source string) (*billing.APIBill, bool, error) {
	res, err := s.createClientBills(ctx, client, []ClientBillRequest{req}, source, 0)
	if err != nil {
		return nil, false, err
	}
	r := res[0]
	return r.Bill, r.Created, r.Err
}

// CreateClientBills creates up to MaxBatchBills bills, each on its own: one bill's error
// does not stop the others. The batch is read and checked with a handful of queries and the
// good bills are written in one transaction; should another request create one of the same
// bills (or payers) at the same moment, the batch falls back to one bill at a time.
func (s *Service) CreateClientBills(ctx context.Context, client *store.Client, reqs []ClientBillRequest, source string) ([]ClientBillResult, error) {
	if len(reqs) == 0 {
		return nil, fault.BadField("bills", "至少要有 1 张账单")
	}
	if len(reqs) > MaxBatchBills {
		return nil, fault.BadField("bills", "一次最多 %d 张账单，本次 %d 张", MaxBatchBills, len(reqs))
	}
	return s.createClientBills(ctx, client, reqs, source, 0)
}

func (s *Service) createClientBills(ctx context.Context, client *store.Client, reqs []ClientBillRequest, source string, depth int) ([]ClientBillResult, error) {
	if client == nil || client.Disabled {
		return nil, fault.New(fault.ErrForbidden, "forbidden", "接入系统不存在或已停用")
	}
	if source != SourceAPI && source != SourceSOAP && source != SourceInbox {
		return nil, fmt.Errorf("bills: unknown bill source %q", source)
	}
	results := make([]ClientBillResult, len(reqs))
	plans := make([]*billPlan, 0, len(reqs))
	var later []int // a bill_no seen earlier in the batch: handled after the first
	first := make(map[string]bool, len(reqs))
	for i, req := range reqs {
		results[i].BillNo = req.BillNo
		p, err := checkClientBill(req)
		if err != nil {
			results[i].Err = err
			continue
		}
		if first[p.req.BillNo] {
			later = append(later, i)
			continue
		}
		first[p.req.BillNo] = true
		p.result = &results[i]
		plans = append(plans, p)
	}

	existing, err := s.existingClientBills(ctx, client.AppID, plans)
	if err != nil {
		return nil, err
	}
	var fresh []*billPlan
	for _, p := range plans {
		if e, ok := existing[p.req.BillNo]; ok {
			if !sameClientBill(p, e) {
				p.result.Err = fault.New(fault.ErrConflict, "bill_conflict", "账单号 %s 已用于内容不同的另一张账单", p.req.BillNo)
				continue
			}
			if p.result.Bill, err = s.Billing.APIBillOf(ctx, s.DB, &e.Bill); err != nil {
				return nil, err
			}
			continue
		}
		fresh = append(fresh, p)
	}

	if len(fresh) > 0 {
		now := s.now()
		toInsert, err := s.prepareClientBills(ctx, client, fresh, source, now)
		if err != nil {
			return nil, err
		}
		err = s.insertClientBills(ctx, client, toInsert, source, now)
		switch {
		case errors.Is(err, errBillRace):
			// Another request wrote one of these bills or payers first: take them one by
			// one, each of which now finds what the other wrote.
			if depth >= 3 {
				return nil, fault.New(fault.ErrConflict, "bill_conflict", "账单正被同时提交，请稍后重试")
			}
			for _, p := range toInsert {
				one, err := s.createClientBills(ctx, client, []ClientBillRequest{p.req}, source, depth+1)
				if err != nil {
					return nil, err
				}
				*p.result = one[0]
			}
		case err != nil:
			return nil, err
		default:
			for _, p := range toInsert {
				p.result.Bill, p.result.Created = s.freshAPIBill(p), true
			}
		}
	}

	for _, i := range later {
		one, err := s.createClientBills(ctx, client, reqs[i:i+1], source, depth+1)
		if err != nil {
			return nil, err
		}
		results[i] = one[0]
	}
	return results, nil
}

// checkClientBill checks a request's own form and normalises it.
func checkClientBill(req ClientBillRequest) (*billPlan, error) {
	p := &billPlan{}
	if req.BillNo == "" {
		return nil, fault.BadField("bill_no", "必填")
	}
	if !apiBillNoRE.MatchString(req.BillNo) {
		return nil, fault.BadField("bill_no", "须为 1–64 个字母、数字或 - . _ ~ ! $ & ' ( ) * + , ; = : @ 字符（不含空格和 /）")
	}
	req.ItemCode = strings.TrimSpace(req.ItemCode)
	if req.ItemCode == "" {
		return nil, fault.BadField("item_code", "必填")
	}
	if len(req.ItemCode) > 32 {
		return nil, fault.BadField("item_code", "收费项目编码最多 32 个字符")
	}
	py := &req.Payer
	py.Type, py.ID, py.Name, py.Phone = strings.TrimSpace(py.Type), strings.TrimSpace(py.ID), strings.TrimSpace(py.Name), strings.TrimSpace(py.Phone)
	switch py.Type {
	case "internal":
		if py.ID == "" {
			return nil, fault.BadField("payer.id", "校内缴费人须填写学号/工号")
		}
		if !roster.ValidPayerNo(py.ID) {
			return nil, fault.BadField("payer.id", "学号/工号须为 4 到 32 位字母或数字")
		}
		if utf8.RuneCountInString(py.Name) > 50 {
			return nil, fault.BadField("payer.name", "姓名最多 50 个字")
		}
		if py.Phone != "" && !roster.ValidPhone(py.Phone) {
			return nil, fault.BadField("payer.phone", "须为 11 位手机号码")
		}
	case "external":
		py.ID = "" // an off-campus payer is known by name and phone only
		if n := utf8.RuneCountInString(py.Name); n < 2 || n > 50 {
			return nil, fault.BadField("payer.name", "校外缴费人须填写 2 到 50 个字的姓名")
		}
		if !roster.ValidPhone(py.Phone) {
			return nil, fault.BadField("payer.phone", "校外缴费人须填写 11 位手机号码")
		}
	case "":
		return nil, fault.BadField("payer.type", "必填：internal（校内，按学号/工号）或 external（校外，按姓名和手机号）")
	default:
		return nil, fault.BadField("payer.type", "须为 internal 或 external")
	}
	req.Description = strings.TrimSpace(req.Description)
	if !utf8.ValidString(req.Description) || utf8.RuneCountInString(req.Description) > 200 {
		return nil, fault.BadField("description", "最多 200 个字")
	}
	if req.DueDate = strings.TrimSpace(req.DueDate); req.DueDate != "" {
		d, err := time.Parse("2006-01-02", req.DueDate)
		if err != nil {
			return nil, fault.BadField("due_date", "格式须为 YYYY-MM-DD，如 2026-12-31")
		}
		p.due = &d
	}
	meta, err := canonicalMetadata(req.Metadata)
	if err != nil {
		return nil, err
	}
	p.meta = meta
	p.req = req
	return p, nil
}

// canonicalMetadata returns metadata as stored: compact JSON with sorted keys and numbers
// as written, so that the same object sent twice compares equal however it was spaced or
// ordered. Absent or null is nil.
func canonicalMetadata(raw json.RawMessage) (*string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fault.BadField("metadata", "须为 JSON 对象")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, fault.BadField("metadata", "不是合法的 JSON 对象")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fault.BadField("metadata", "不是合法的 JSON 对象")
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	if len(out) > MaxMetadataBytes {
		return nil, fault.BadField("metadata", "不能超过 4 KB（本次 %d 字节）", len(out))
	}
	return &out, nil
}

// existingClientBills reads the client's bills with the numbers of plans, by bill number.
func (s *Service) existingClientBills(ctx context.Context, appID string, plans []*billPlan) (map[string]*existingBill, error) {
	out := make(map[string]*existingBill, 4)
	nos := make([]string, 0, len(plans))
	for _, p := range plans {
		nos = append(nos, p.req.BillNo)
	}
	for chunk := range slices.Chunk(nos, 1000) {
		var rows []*existingBill
		err := s.DB.NewSelect().Model(&rows).ColumnExpr("bill.*").
			ColumnExpr("ci.code AS item_code, ci.pricing AS item_pricing, COALESCE(u.payer_no, '') AS payer_no").
			Join("JOIN charge_items AS ci ON ci.id = bill.item_id").
			Join("LEFT JOIN users AS u ON u.id = bill.payer_id").
			Where("bill.source_client = ?", appID).Where("bill.bill_no IN (?)", bun.In(chunk)).Scan(ctx)
		if err != nil {
			return nil, fmt.Errorf("bills: client bills: %w", err)
		}
		for _, r := range rows {
			out[r.BillNo] = r
		}
	}
	return out, nil
}

// sameClientBill reports whether a request asks for the bill that exists: the same item,
// payer (an internal payer by number: the name and phone are the roster's), amount (absent
// is the fixed price), description, due date and metadata.
func sameClientBill(p *billPlan, e *existingBill) bool {
	r := p.req
	if e.ItemCode != r.ItemCode || e.PayerType != r.Payer.Type {
		return false
	}
	if r.Payer.Type == "internal" && !strings.EqualFold(e.PayerNo, r.Payer.ID) {
		return false
	}
	if r.Payer.Type == "external" && (e.PayerName != r.Payer.Name || e.PayerPhone != r.Payer.Phone) {
		return false
	}
	if r.Amount != nil && *r.Amount != e.AmountDueFen || r.Amount == nil && e.ItemPricing != store.PricingFixed {
		return false
	}
	if e.Description != r.Description || dayOf(e.DueDate) != dayOf(p.due) {
		return false
	}
	return deref(e.Metadata) == deref(p.meta)
}

func dayOf(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format("2006-01-02")
}

// prepareClientBills checks the new bills against items and the roster (read for the whole
// batch at once) and returns those to insert; the others get their error.
func (s *Service) prepareClientBills(ctx context.Context, client *store.Client, plans []*billPlan, source string, now time.Time) ([]*billPlan, error) {
	codes, payerNos := map[string]bool{}, map[string]bool{}
	for _, p := range plans {
		codes[p.req.ItemCode] = true
		if p.req.Payer.Type == "internal" { // as sent and in lower case: SQLite compares case
			payerNos[p.req.Payer.ID], payerNos[strings.ToLower(p.req.Payer.ID)] = true, true
		}
	}
	var items []*store.ChargeItem
	if err := s.DB.NewSelect().Model(&items).Where("code IN (?)", bun.In(keys(codes))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("bills: client bill items: %w", err)
	}
	byCode := make(map[string]*store.ChargeItem, len(items))
	for _, it := range items {
		byCode[it.Code] = it
	}
	byPayerNo, byLogin := map[string]*store.User{}, map[string]*store.User{}
	for chunk := range slices.Chunk(keys(payerNos), 1000) {
		var users []*store.User
		if err := s.DB.NewSelect().Model(&users).Column("id", "login", "name", "payer_no", "phone").
			Where("payer_no IN (?)", bun.In(chunk)).WhereOr("login IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("bills: client bill payers: %w", err)
		}
		for _, u := range users {
			if u.PayerNo != nil {
				byPayerNo[strings.ToLower(*u.PayerNo)] = u
			}
			byLogin[strings.ToLower(u.Login)] = u
		}
	}
	created := map[string]*store.User{} // new payers of this batch, by lower-case number
	out := make([]*billPlan, 0, len(plans))
	for _, p := range plans {
		if err := s.planClientBill(p, client, byCode, byPayerNo, byLogin, created, source, now); err != nil {
			p.result.Err = err
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// planClientBill checks one new bill against its item and payer and makes the row.
func (s *Service) planClientBill(p *billPlan, client *store.Client, items map[string]*store.ChargeItem,
	byPayerNo, byLogin, created map[string]*store.User, source string, now time.Time) error {
	r := p.req
	item, ok := items[r.ItemCode]
	if !ok {
		return fault.New(fault.ErrInvalid, "item_not_payable", "item_code：收费项目 %s 不存在", r.ItemCode)
	}
	if !client.Allows(item.Code) {
		return fault.New(fault.ErrForbidden, "forbidden", "item_code：本接入系统无权向收费项目 %s 提交账单", item.Code)
	}
	if why := billing.Payable(item, now); why != "" {
		return fault.New(fault.ErrInvalid, "item_not_payable", "item_code：%s", why)
	}
	if r.Payer.Type == "internal" && item.Audience == store.AudienceExternal {
		return fault.BadField("payer.type", "收费项目 %s 只面向校外人员", item.Code)
	}
	if r.Payer.Type == "external" && item.Audience == store.AudienceInternal {
		return fault.BadField("payer.type", "收费项目 %s 只面向校内人员（internal）", item.Code)
	}
	amount, err := clientBillAmount(item, r.Amount)
	if err != nil {
		return err
	}
	b := &store.Bill{
		BillNo: r.BillNo, Source: source, SourceClient: client.AppID, ItemID: item.ID,
		PayerType: r.Payer.Type, PayerName: r.Payer.Name, PayerPhone: r.Payer.Phone,
		AmountDueFen: amount, Status: store.BillUnpaid, Description: r.Description,
		DueDate: p.due, Metadata: p.meta, CreatedAt: now, UpdatedAt: now,
	}
	if r.Payer.Type == "internal" {
		key := strings.ToLower(r.Payer.ID)
		if u, ok := byPayerNo[key]; ok {
			if r.Payer.Name != "" && r.Payer.Name != u.Name {
				return fault.BadField("payer.name", "与学号/工号 %s 在缴费人名册中的姓名不符", r.Payer.ID)
			}
			id := u.ID
			b.PayerID, b.PayerName = &id, u.Name
			if b.PayerPhone == "" {
				b.PayerPhone = u.Phone
			}
			r.Payer.ID = u.PayerNumber()
		} else if u, ok := created[key]; ok {
			if r.Payer.Name != "" && r.Payer.Name != u.Name {
				return fault.BadField("payer.name", "与本批中学号/工号 %s 的姓名不符", r.Payer.ID)
			}
			p.newPayer, b.PayerName = u, u.Name
		} else if _, taken := byLogin[key]; taken {
			return fault.BadField("payer.id", "学号/工号 %s 已被另一账号用作登录名", r.Payer.ID)
		} else {
			if r.Payer.Name == "" {
				return fault.BadField("payer.name", "学号/工号 %s 不在缴费人名册中：须填写姓名，平台将据此新建缴费人", r.Payer.ID)
			}
			no := r.Payer.ID
			u := &store.User{Login: no, Name: r.Payer.Name, Roles: store.RolePayer, PayerNo: &no, Phone: r.Payer.Phone,
				Status: store.PayerActive, CreatedAt: now, UpdatedAt: now}
			created[key], p.newPayer = u, u
		}
	}
	p.req, p.item, p.bill = r, item, b
	return nil
}

// clientBillAmount is a bill's amount as its item's pricing wants it (the rules of the
// console's billChecker, in fen).
func clientBillAmount(item *store.ChargeItem, amount *int64) (int64, error) {
	if item.Pricing == store.PricingFixed {
		if amount != nil && *amount != item.PriceFen {
			return 0, fault.New(fault.ErrInvalid, "amount_invalid", "amount：收费项目 %s 为固定金额 %d 分（%s），可不填", item.Code, item.PriceFen, money.Format(item.PriceFen))
		}
		return item.PriceFen, nil
	}
	if amount == nil {
		return 0, fault.BadField("amount", "必填（整数，单位：分）")
	}
	fen := *amount
	switch {
	case fen <= 0:
		return 0, fault.New(fault.ErrInvalid, "amount_invalid", "amount：金额须大于 0")
	case fen > catalog.MaxBillAmountFen:
		return 0, fault.New(fault.ErrInvalid, "amount_invalid", "amount：金额不能超过 %d 分（%s）", int64(catalog.MaxBillAmountFen), money.Format(catalog.MaxBillAmountFen))
	case item.Pricing == store.PricingPayerEntered && (fen < item.MinFen || item.MaxFen > 0 && fen > item.MaxFen):
		return 0, fault.New(fault.ErrInvalid, "amount_invalid", "amount：金额须在 %s 到 %s 之间", money.Format(item.MinFen), money.Format(cmp.Or(item.MaxFen, catalog.MaxBillAmountFen)))
	}
	return fen, nil
}

// errBillRace: a unique key refused a row of the batch, because another request wrote the
// same bill or payer a moment ago.
var errBillRace = errors.New("bills: client bill written concurrently")

// insertClientBills writes the new payers, bills and audit rows in one transaction.
func (s *Service) insertClientBills(ctx context.Context, client *store.Client, plans []*billPlan, source string, now time.Time) error {
	if len(plans) == 0 {
		return nil
	}
	actor := "client:" + client.AppID
	return store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		var payers []*store.User
		seen := map[*store.User]bool{}
		for _, p := range plans {
			if p.newPayer != nil && !seen[p.newPayer] {
				seen[p.newPayer] = true
				p.newPayer.ID = 0
				payers = append(payers, p.newPayer)
			}
		}
		audits := make([]store.AuditLog, 0, len(plans)+len(payers))
		if len(payers) > 0 {
			if err := insertChunks(ctx, tx, payers); err != nil {
				return err
			}
			ids := map[string]int64{}
			nos := make([]string, len(payers))
			for i, u := range payers {
				nos[i] = *u.PayerNo
			}
			for chunk := range slices.Chunk(nos, 1000) {
				var rows []store.User
				if err := tx.NewSelect().Model(&rows).Column("id", "payer_no").Where("payer_no IN (?)", bun.In(chunk)).Scan(ctx); err != nil {
					return fmt.Errorf("bills: new payer ids: %w", err)
				}
				for _, u := range rows {
					ids[strings.ToLower(u.PayerNumber())] = u.ID
				}
			}
			for _, u := range payers {
				u.ID = ids[strings.ToLower(*u.PayerNo)]
				audits = append(audits, store.AuditLog{At: now, Actor: actor, Action: "payer.created", TargetType: "payer",
					TargetID: *u.PayerNo, Detail: store.Clip("name="+u.Name+" source="+source, 2000)})
			}
		}
		bills := make([]*store.Bill, len(plans))
		for i, p := range plans {
			if p.newPayer != nil {
				id := p.newPayer.ID
				p.bill.PayerID = &id
			}
			p.bill.ID = 0
			bills[i] = p.bill
		}
		if err := insertChunks(ctx, tx, bills); err != nil {
			return err
		}
		ids := map[string]int64{}
		for chunk := range slices.Chunk(bills, 1000) {
			nos := make([]string, len(chunk))
			for i, b := range chunk {
				nos[i] = b.BillNo
			}
			var rows []store.Bill
			if err := tx.NewSelect().Model(&rows).Column("id", "bill_no").Where("source_client = ?", client.AppID).
				Where("bill_no IN (?)", bun.In(nos)).Scan(ctx); err != nil {
				return fmt.Errorf("bills: new bill ids: %w", err)
			}
			for _, b := range rows {
				ids[b.BillNo] = b.ID
			}
		}
		for _, p := range plans {
			p.bill.ID = ids[p.bill.BillNo]
			audits = append(audits, store.AuditLog{At: now, Actor: actor, Action: "bill.created", TargetType: "bill", TargetID: p.bill.BillNo,
				Detail: store.Clip(fmt.Sprintf("source=%s item=%s payer=%s amount=%d", source, p.item.Code, p.bill.PayerName, p.bill.AmountDueFen), 2000)})
		}
		return insertChunks(ctx, tx, audits)
	})
}

// insertChunks inserts rows 500 at a time; a unique-key refusal is errBillRace.
func insertChunks[T any](ctx context.Context, tx bun.Tx, rows []T) error {
	for chunk := range slices.Chunk(rows, 500) {
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return errBillRace
			}
			return fmt.Errorf("bills: insert %T: %w", chunk, err)
		}
	}
	return nil
}

// freshAPIBill is the API view of a bill just inserted: nothing paid or refunded yet, so
// no query is needed (buildAPIBill gives the same for it).
func (s *Service) freshAPIBill(p *billPlan) *billing.APIBill {
	b := p.bill
	out := &billing.APIBill{
		BillNo: b.BillNo, ItemCode: p.item.Code, Amount: b.AmountDueFen, Status: string(b.Status),
		Description: b.Description, CreatedAt: billing.APITime(b.CreatedAt),
		Payer:    billing.APIPayer{Type: b.PayerType, Name: b.PayerName, Phone: b.PayerPhone},
		Payments: []billing.APIPayment{}, Refunds: []billing.APIRefund{},
	}
	if b.PayerType == "internal" {
		out.Payer.ID = p.req.Payer.ID
		if p.newPayer != nil {
			out.Payer.ID = *p.newPayer.PayerNo
		}
	}
	if b.DueDate != nil {
		d := b.DueDate.Format("2006-01-02")
		out.DueDate = &d
	}
	if s.Billing.BillLink != nil {
		out.PayURL = s.Billing.BillLink(b)
	}
	return out
}

// clientBillRow reads a client's bill by its number.
func (s *Service) clientBillRow(ctx context.Context, appID, billNo string) (*store.Bill, error) {
	b := new(store.Bill)
	if !apiBillNoRE.MatchString(billNo) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "账单 %s 不存在", store.Clip(billNo, 64))
	}
	if err := s.DB.NewSelect().Model(b).Where("source_client = ? AND bill_no = ?", appID, billNo).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fault.New(fault.ErrNotFound, "not_found", "账单 %s 不存在", billNo)
		}
		return nil, fmt.Errorf("bills: client bill: %w", err)
	}
	return b, nil
}

// ClientBill returns a client's bill as the API shows it.
func (s *Service) ClientBill(ctx context.Context, client *store.Client, billNo string) (*billing.APIBill, error) {
	b, err := s.clientBillRow(ctx, client.AppID, billNo)
	if err != nil {
		return nil, err
	}
	return s.Billing.APIBillOf(ctx, s.DB, b)
}

// CancelClientBill cancels a client's unpaid bill that no open order holds (CancelBill:
// the bill.cancelled callback is queued with it); a bill paid in part or in full, or being
// paid, is 409 bill_not_cancellable. A bill cancelled already is answered as it stands, so
// that a business system may safely retry a cancel whose answer it lost.
func (s *Service) CancelClientBill(ctx context.Context, client *store.Client, billNo string) (*billing.APIBill, error) {
	b, err := s.clientBillRow(ctx, client.AppID, billNo)
	if err != nil {
		return nil, err
	}
	if b.Status != store.BillCancelled {
		if _, err := s.CancelBill(ctx, b.ID, nil, "client:"+client.AppID); err != nil {
			return nil, err
		}
		if b, err = s.clientBillRow(ctx, client.AppID, billNo); err != nil {
			return nil, err
		}
	}
	return s.Billing.APIBillOf(ctx, s.DB, b)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
