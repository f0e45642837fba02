package roster

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/sheet"
	"campuspay/store"
)

// The payer roster (统一数据集成): who the school's students and staff are, as its data
// platform says. It is loaded from a spreadsheet in the console, and by the integration
// API in batches (UpsertPayers); either way it is an update that changes only what changed.

// PayerRow is one payer as the roster gives it. Unit, Class, Phone and Status are nil when
// the source does not carry them: an existing payer keeps what they have (a new one gets
// "", or active).
type PayerRow struct {
	Line    int // the row's line in the file, or its position in an API batch
	PayerNo string
	Name    string
	Unit    *string // 学院/部门
	Class   *string // 班级/单位
	Phone   *string
	Status  *string // 在读, 在职, 毕业, 离校, 离职, 休学, 停用, or the stored words
}

// RosterResult says what an upsert did.
type RosterResult struct {
	Created   int
	Updated   int
	Unchanged int
}

func (r RosterResult) String() string {
	return fmt.Sprintf("新增 %d 人，更新 %d 人，未变 %d 人", r.Created, r.Updated, r.Unchanged)
}

// Roster import columns: the header names accepted for each.
const (
	colUnit   = "学院/部门|学院|部门|院系|unit"
	colClass  = "班级/单位|班级|单位|class"
	colStatus = "状态|学籍状态|人员状态|status"
)

// RosterTemplateHeader is the header row of the roster template.
var RosterTemplateHeader = []string{"学号/工号", "姓名", "学院/部门", "班级/单位", "手机号", "状态"}

// RosterTemplateExample is the template's example rows.
var RosterTemplateExample = [][]any{
	{"2026000001", "张三", "计算机学院", "计算机2601班", "13800000001", "在读"},
	{"T19990012", "李老师", "教务处", "考试中心", "", "在职"},
	{"2022000123", "王五", "数学学院", "数学2201班", "", "毕业"},
}

// payerStatusWords maps what the roster may say to the stored status.
var payerStatusWords = map[string]string{
	"在读": store.PayerActive, "在校": store.PayerActive, "在职": store.PayerActive, "正常": store.PayerActive, store.PayerActive: store.PayerActive,
	"毕业": store.PayerGraduated, "已毕业": store.PayerGraduated, store.PayerGraduated: store.PayerGraduated,
	"离校": store.PayerLeft, "离职": store.PayerLeft, "退学": store.PayerLeft, "退休": store.PayerLeft, store.PayerLeft: store.PayerLeft,
	"休学": store.PayerSuspended, "停用": store.PayerSuspended, "暂停": store.PayerSuspended, store.PayerSuspended: store.PayerSuspended,
}

// PayerStatusLabel is a payer status as people read it.
func PayerStatusLabel(status string) string {
	switch status {
	case store.PayerActive:
		return "在读/在职"
	case store.PayerGraduated:
		return "毕业"
	case store.PayerLeft:
		return "离校/离职"
	case store.PayerSuspended:
		return "休学/停用"
	}
	return status
}

var payerNoRE = regexp.MustCompile(`^[0-9A-Za-z]{4,32}$`)

// ValidPayerNo reports whether no is a payer number: 4–32 letters and digits.
func ValidPayerNo(no string) bool { return payerNoRE.MatchString(no) }

var phoneRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// ValidPhone reports whether phone is a mainland mobile number.
func ValidPhone(phone string) bool { return phoneRE.MatchString(phone) }

// ImportRoster starts importing an uploaded roster (.xlsx or .csv) in the background
// (StartImport) and returns the job at once. The import is UpsertPayers over the file's
// rows: all or nothing, every bad row listed with its line.
func (s *Service) ImportRoster(ctx context.Context, fileName string, data []byte, actor, ip string) (*store.ImportJob, error) {
	if len(data) == 0 {
		return nil, fault.New(fault.ErrInvalid, "file_empty", "请选择要上传的文件")
	}
	job := &store.ImportJob{Kind: store.ImportKindRoster, FileName: store.Clip(fileName, 200), CreatedBy: actor}
	err := s.imports().Start(ctx, job, func(ctx context.Context, run *imports.Run) error {
		rows, err := readRoster(fileName, data)
		if err != nil {
			return err
		}
		res, err := s.upsertPayers(ctx, rows, actor, ip, "file="+job.FileName, run)
		if err != nil {
			return err
		}
		run.Finish("导入完成：" + res.String())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// readRoster reads a roster file into rows.
func readRoster(fileName string, data []byte) ([]PayerRow, error) {
	table, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return nil, imports.FileError(err)
	}
	cols, err := table.Columns([]string{imports.ColPayerNo, imports.ColName}, []string{colUnit, colClass, imports.ColPhone, colStatus})
	if err != nil {
		return nil, imports.FileError(err)
	}
	optional := func(r sheet.Row, name string) *string {
		i, ok := cols[name]
		if !ok {
			return nil
		}
		v := r.Cell(i)
		return &v
	}
	rows := make([]PayerRow, len(table.Rows))
	for i, r := range table.Rows {
		rows[i] = PayerRow{Line: r.Line, PayerNo: r.Cell(cols[imports.ColPayerNo]), Name: r.Cell(cols[imports.ColName]),
			Unit: optional(r, colUnit), Class: optional(r, colClass), Phone: optional(r, imports.ColPhone), Status: optional(r, colStatus)}
	}
	return rows, nil
}

// RosterImport returns a roster import job and its bad rows.
func (s *Service) RosterImport(ctx context.Context, id int64) (*store.ImportJob, []imports.RowError, error) {
	job, rows, err := s.imports().Job(ctx, id, nil)
	if err != nil {
		return nil, nil, err
	}
	if job.Kind != store.ImportKindRoster {
		return nil, nil, fault.New(fault.ErrNotFound, "not_found", "导入任务不存在")
	}
	return job, rows, nil
}

// RosterImports returns the latest roster imports, newest first.
func (s *Service) RosterImports(ctx context.Context, limit int) ([]store.ImportJob, error) {
	var jobs []store.ImportJob
	err := s.DB.NewSelect().Model(&jobs).Where("kind = ?", store.ImportKindRoster).
		OrderExpr("created_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: roster imports: %w", err)
	}
	return jobs, nil
}

// UpsertPayers brings the roster up to date with rows, in one transaction (actor and ip
// are who sent them, for the audit log): payers not on
// it are created (role payer, login = payer number, no password: they sign in by single
// sign-on), existing ones are updated in the fields that differ, the rest are left alone
// (their updated_at too). Every row is checked first — payer number 4–32 letters or
// digits, name 1–50 characters, an 11-digit mobile number or none, a known status, no
// payer number twice — and one bad row changes nothing: the error is *imports.RowErrors.
func (s *Service) UpsertPayers(ctx context.Context, rows []PayerRow, actor, ip string) (RosterResult, error) {
	return s.upsertPayers(ctx, rows, actor, ip, "api", nil)
}

// rosterUser is what the roster compares of a user.
type rosterUser struct {
	bun.BaseModel `bun:"table:users"`

	ID        int64   `bun:"id"`
	Login     string  `bun:"login"`
	PayerNo   *string `bun:"payer_no"`
	Name      string  `bun:"name"`
	Unit      string  `bun:"unit"`
	ClassName string  `bun:"class_name"`
	Phone     string  `bun:"phone"`
	Status    string  `bun:"status"`
}

// payerUpdate is one existing payer's changed columns.
type payerUpdate struct {
	user    *store.User
	columns []string
	detail  string
}

func (s *Service) upsertPayers(ctx context.Context, rows []PayerRow, actor, ip, source string, run *imports.Run) (RosterResult, error) {
	var res RosterResult
	if len(rows) == 0 {
		return res, fault.New(fault.ErrInvalid, "roster_empty", "名册中没有数据行")
	}
	var existing []rosterUser
	if err := s.DB.NewSelect().Model(&existing).Scan(ctx); err != nil {
		return res, fmt.Errorf("roster: roster users: %w", err)
	}
	byPayerNo := make(map[string]*rosterUser, len(existing))
	loginOwner := make(map[string]*rosterUser, len(existing))
	for i := range existing {
		u := &existing[i]
		if u.PayerNo != nil {
			byPayerNo[strings.ToLower(*u.PayerNo)] = u
		}
		loginOwner[strings.ToLower(u.Login)] = u
	}

	if run != nil {
		run.Stage(store.ImportValidating, len(rows))
	}
	now := s.now()
	bad := &imports.RowErrors{}
	seen := make(map[string]int, len(rows))
	var created []store.User
	var updates []payerUpdate
	for i := range rows {
		r := &rows[i]
		line := r.Line
		if line == 0 {
			line = i + 1
		}
		if msg := checkPayerRow(r); msg != "" {
			bad.Add(line, msg)
		} else if first, dup := seen[strings.ToLower(r.PayerNo)]; dup {
			bad.Add(line, fmt.Sprintf("学号/工号 %s 与第 %d 行重复", r.PayerNo, first))
		} else if u, ok := byPayerNo[strings.ToLower(r.PayerNo)]; ok {
			if up := payerChanges(u, r); up != nil {
				up.user.UpdatedAt = now
				updates = append(updates, *up)
			} else {
				res.Unchanged++
			}
		} else if owner, taken := loginOwner[strings.ToLower(r.PayerNo)]; taken {
			bad.Add(line, fmt.Sprintf("学号/工号 %s 已被另一账号（%s）用作登录名", r.PayerNo, owner.Name))
		} else {
			no := r.PayerNo
			created = append(created, store.User{Login: no, Name: r.Name, Roles: store.RolePayer, PayerNo: &no,
				Unit: deref(r.Unit), ClassName: deref(r.Class), Phone: deref(r.Phone), Status: statusOr(r.Status, store.PayerActive),
				CreatedAt: now, UpdatedAt: now})
		}
		seen[strings.ToLower(r.PayerNo)] = line
		if run != nil {
			run.Progress(i + 1)
		}
	}
	if bad.Total > 0 {
		return RosterResult{}, bad
	}
	res.Created, res.Updated = len(created), len(updates)
	if res.Created+res.Updated == 0 {
		return res, nil // the roster is already so: write nothing
	}

	if run != nil {
		run.Stage(store.ImportImporting, res.Created+res.Updated)
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		done := 0
		for start := 0; start < len(created); start += 1000 {
			chunk := created[start:min(start+1000, len(created))]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				if store.IsDuplicate(err) {
					return fault.New(fault.ErrConflict, "roster_conflict", "名册正被同时修改（有学号/工号刚被其他导入或接口创建），未做任何修改，请重新上传")
				}
				return fmt.Errorf("roster: insert payers: %w", err)
			}
			done += len(chunk)
			if run != nil {
				run.Progress(done)
			}
		}
		audits := make([]store.AuditLog, 0, len(updates)+1)
		for _, up := range updates {
			if _, err := tx.NewUpdate().Model(up.user).Column(append(up.columns, "updated_at")...).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("roster: update payer: %w", err)
			}
			audits = append(audits, store.AuditLog{At: now, Actor: actor, Action: "payer.updated", TargetType: "payer",
				TargetID: up.user.PayerNumber(), Detail: store.Clip(up.detail, 2000), IP: ip})
			done++
			if run != nil {
				run.Progress(done)
			}
		}
		audits = append(audits, store.AuditLog{At: now, Actor: actor, Action: "roster.imported", TargetType: "roster",
			Detail: store.Clip(source+"；"+res.String(), 2000), IP: ip})
		for start := 0; start < len(audits); start += 1000 {
			chunk := audits[start:min(start+1000, len(audits))]
			if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				return fmt.Errorf("roster: roster audit: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return RosterResult{}, err
	}
	return res, nil
}

// checkPayerRow normalises a row in place and returns what is wrong with it, or "".
func checkPayerRow(r *PayerRow) string {
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	r.PayerNo, r.Name = strings.TrimSpace(r.PayerNo), strings.TrimSpace(r.Name)
	trim(r.Unit)
	trim(r.Class)
	trim(r.Phone)
	trim(r.Status)
	var why []string
	if !payerNoRE.MatchString(r.PayerNo) {
		why = append(why, "学号/工号须为 4 到 32 位字母或数字")
	}
	if n := utf8.RuneCountInString(r.Name); n < 1 || n > 50 {
		why = append(why, "姓名须为 1 到 50 个字")
	}
	if r.Unit != nil && utf8.RuneCountInString(*r.Unit) > 100 {
		why = append(why, "学院/部门最多 100 字")
	}
	if r.Class != nil && utf8.RuneCountInString(*r.Class) > 100 {
		why = append(why, "班级/单位最多 100 字")
	}
	if r.Phone != nil && *r.Phone != "" && !phoneRE.MatchString(*r.Phone) {
		why = append(why, fmt.Sprintf("手机号「%s」不是 11 位手机号码", *r.Phone))
	}
	if r.Status != nil {
		if st, ok := payerStatusWords[*r.Status]; ok {
			*r.Status = st
		} else if *r.Status == "" {
			why = append(why, "状态不能为空（在读、在职、毕业、离校、离职、休学、停用）")
		} else {
			why = append(why, fmt.Sprintf("状态「%s」无法识别（应为在读、在职、毕业、离校、离职、休学或停用）", *r.Status))
		}
	}
	return strings.Join(why, "；")
}

// payerChanges compares a stored payer with a checked row: nil when nothing differs.
func payerChanges(u *rosterUser, r *PayerRow) *payerUpdate {
	up := &payerUpdate{user: &store.User{ID: u.ID, PayerNo: u.PayerNo, Name: u.Name, Unit: u.Unit, ClassName: u.ClassName, Phone: u.Phone, Status: u.Status}}
	var parts []string
	field := func(column, label string, stored *string, given *string) {
		if given == nil || *stored == *given {
			return
		}
		parts = append(parts, fmt.Sprintf("%s「%s」→「%s」", label, *stored, *given))
		*stored = *given
		up.columns = append(up.columns, column)
	}
	field("name", "姓名", &up.user.Name, &r.Name)
	field("unit", "学院/部门", &up.user.Unit, r.Unit)
	field("class_name", "班级/单位", &up.user.ClassName, r.Class)
	field("phone", "手机号", &up.user.Phone, r.Phone)
	field("status", "状态", &up.user.Status, r.Status)
	if len(up.columns) == 0 {
		return nil
	}
	up.detail = strings.Join(parts, "；")
	return up
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func statusOr(p *string, fallback string) string {
	if p == nil {
		return fallback
	}
	return *p
}

// PayerFilter selects payers for the roster list.
type PayerFilter struct {
	Query  string // part of the payer number or name
	Status string
	Offset int
	Limit  int
}

// Payers returns one page of the roster by payer number, and how many match in all.
func (s *Service) Payers(ctx context.Context, f PayerFilter) ([]store.User, int, error) {
	var users []store.User
	q := s.DB.NewSelect().Model(&users).Where("payer_no IS NOT NULL")
	if f.Query = strings.TrimSpace(f.Query); f.Query != "" {
		like := store.LikeContains(f.Query)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("payer_no LIKE ? ESCAPE '!'", like).WhereOr("name LIKE ? ESCAPE '!'", like)
		})
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("payer_no").Offset(int64(f.Offset)).Limit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("roster: payers: %w", err)
	}
	return users, int(n), nil
}
