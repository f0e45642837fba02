package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Administration of users and departments: the console's 用户与角色 and 部门 pages. Every
// change is one transaction with its audit row.

// Actor is who makes a change, for the audit log and the checks on oneself.
type Actor struct {
	UserID int64
	Login  string
	IP     string
}

// InputError is a request refused for its content: by form field ("" for the whole
// form), why, in Chinese.
type InputError struct {
	Fields map[string]string
}

func (e *InputError) Error() string {
	var parts []string
	for _, f := range []string{"", "login", "name", "roles", "department", "payer_no", "phone", "password", "code"} {
		if m, ok := e.Fields[f]; ok {
			parts = append(parts, m)
		}
	}
	return "auth: " + strings.Join(parts, "；")
}

// Message is every reason in one sentence.
func (e *InputError) Message() string { return strings.TrimPrefix(e.Error(), "auth: ") }

// add records why field is wrong, keeping the first reason of each field.
func (e *InputError) add(field, format string, args ...any) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = fmt.Sprintf(format, args...)
	}
}

// orNil is e when it holds a reason, otherwise nil.
func (e *InputError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ErrNotFound is returned for a user or department that does not exist.
var ErrNotFound = errors.New("auth: not found")

func invalid(field, format string, args ...any) error {
	e := &InputError{}
	e.add(field, format, args...)
	return e
}

// AllRoles lists the roles in the order forms offer them.
var AllRoles = []string{store.RolePayer, store.RoleDept, store.RoleFinance, store.RoleLeader, store.RoleAdmin}

// RoleLabel is a role's name as people know it.
func RoleLabel(role string) string {
	switch role {
	case store.RolePayer:
		return "缴费人"
	case store.RoleDept:
		return "部门人员"
	case store.RoleFinance:
		return "财务"
	case store.RoleLeader:
		return "校领导"
	case store.RoleAdmin:
		return "系统管理员"
	}
	return role
}

// PasswordPolicy is what a password set by an administrator must satisfy.
type PasswordPolicy struct {
	MinLength        int
	LettersAndDigits bool
}

// Check returns an InputError on field "password" when pw breaks the policy.
func (p PasswordPolicy) Check(pw string) error {
	if n := utf8.RuneCountInString(pw); n < p.MinLength {
		return invalid("password", "密码至少 %d 位", p.MinLength)
	} else if len(pw) > 72 { // bcrypt reads 72 bytes
		return invalid("password", "密码太长（最多 72 个字母或数字）")
	}
	if p.LettersAndDigits && (!strings.ContainsFunc(pw, isLetter) || !strings.ContainsFunc(pw, unicode.IsDigit)) {
		return invalid("password", "密码须同时包含字母和数字")
	}
	return nil
}

func isLetter(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) }

// UserInput is a user as the form gives it.
type UserInput struct {
	Login        string
	Name         string
	PayerNo      string // 学号/工号: required with the payer role
	Phone        string
	Roles        []string
	DepartmentID int64 // required with the dept role
	Password     string
}

var (
	loginRE   = regexp.MustCompile(`^[0-9A-Za-z_.-]{2,64}$`)
	payerNoRE = regexp.MustCompile(`^[0-9A-Za-z]{4,32}$`)
	mobileRE  = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// UserRow is a user in a list, with the name of their department.
type UserRow struct {
	store.User `bun:",extend"`
	Department string `bun:"department_name"`
}

// RoleNames are the user's roles as people read them.
func (u *UserRow) RoleNames() string {
	var names []string
	for _, r := range u.RoleList() {
		names = append(names, RoleLabel(r))
	}
	return strings.Join(names, "、")
}

// UserFilter selects users for the list.
type UserFilter struct {
	Query  string // part of the login, name or payer number
	Role   string
	Offset int
	Limit  int
}

// Users returns one page of users by id, and how many match in all.
func (s *Service) Users(ctx context.Context, f UserFilter) ([]UserRow, int, error) {
	var rows []UserRow
	q := s.DB.NewSelect().Model(&rows).
		ColumnExpr("u.*").ColumnExpr("d.name AS department_name").
		ModelTableExpr("users AS u").Join("LEFT JOIN departments AS d ON d.id = u.department_id")
	if f.Query = strings.TrimSpace(f.Query); f.Query != "" {
		like := store.LikeContains(f.Query)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("u.login LIKE ? ESCAPE '!'", like).WhereOr("u.name LIKE ? ESCAPE '!'", like).WhereOr("u.payer_no LIKE ? ESCAPE '!'", like)
		})
	}
	if slices.Contains(AllRoles, f.Role) {
		r := f.Role
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("u.roles = ?", r).WhereOr("u.roles LIKE ?", r+",%").WhereOr("u.roles LIKE ?", "%,"+r).WhereOr("u.roles LIKE ?", "%,"+r+",%")
		})
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("u.id").Offset(int64(f.Offset)).Limit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("auth: users: %w", err)
	}
	return rows, int(n), nil
}

// CreateUser checks and adds a user with an initial password.
func (s *Service) CreateUser(ctx context.Context, in UserInput, policy PasswordPolicy, by Actor) (*store.User, error) {
	in.Login = strings.TrimSpace(in.Login)
	bad := &InputError{}
	if !loginRE.MatchString(in.Login) {
		bad.add("login", "登录名为 2 到 64 位字母、数字或 _ . -")
	}
	var ie *InputError
	if err := policy.Check(in.Password); errors.As(err, &ie) {
		bad.add("password", "%s", ie.Fields["password"])
	}
	hash := ""
	if _, wrong := bad.Fields["password"]; !wrong {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u := &store.User{Login: in.Login, PasswordHash: hash, Status: store.PayerActive, CreatedAt: now, UpdatedAt: now}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.applyInput(ctx, tx, u, in, bad); err != nil {
			return err
		}
		if taken, err := tx.NewSelect().Model((*store.User)(nil)).Where("login = ?", u.Login).Exists(ctx); err != nil {
			return err
		} else if taken {
			bad.add("login", "登录名「%s」已被使用", u.Login)
		}
		if err := bad.orNil(); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return invalid("login", "登录名或学号/工号已被使用")
			}
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: by.Login, Action: "user.created", TargetType: "user", TargetID: u.Login, IP: by.IP,
			Detail: fmt.Sprintf("姓名 %s；角色 %s", u.Name, u.Roles)})
	})
	if err != nil {
		return nil, wrap("create user", err)
	}
	return u, nil
}

// UpdateUser changes a user's name, phone, roles and department (and sets their payer
// number if they had none). An administrator cannot take the admin role from themselves.
func (s *Service) UpdateUser(ctx context.Context, id int64, in UserInput, by Actor) (*store.User, error) {
	var u *store.User
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = userForUpdate(ctx, tx, id); err != nil {
			return err
		}
		before := *u
		if u.PayerNo != nil {
			in.PayerNo = *u.PayerNo // a payer number, once given, stays: bills hang on it
		}
		bad := &InputError{}
		if err := s.applyInput(ctx, tx, u, in, bad); err != nil {
			return err
		}
		if u.ID == by.UserID && !u.HasRole(store.RoleAdmin) {
			bad.add("roles", "不能取消自己的系统管理员角色")
		}
		if err := bad.orNil(); err != nil {
			return err
		}
		diff := userDiff(&before, u)
		if diff == "" {
			return nil
		}
		u.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(u).Column("name", "phone", "roles", "department_id", "payer_no", "updated_at").WherePK().Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return invalid("payer_no", "学号/工号已被使用")
			}
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: u.UpdatedAt, Actor: by.Login, Action: "user.updated", TargetType: "user", TargetID: u.Login, IP: by.IP, Detail: diff})
	})
	if err != nil {
		return nil, wrap("update user", err)
	}
	return u, nil
}

// applyInput checks the fields a form may set, noting what is wrong in bad, and copies
// them onto u. It returns only the database's errors.
func (s *Service) applyInput(ctx context.Context, tx bun.Tx, u *store.User, in UserInput, bad *InputError) error {
	in.Name, in.Phone, in.PayerNo = strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone), strings.TrimSpace(in.PayerNo)
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > 50 {
		bad.add("name", "姓名为 1 到 50 个字")
	}
	if in.Phone != "" && !mobileRE.MatchString(in.Phone) {
		bad.add("phone", "手机号须为 11 位手机号码")
	}
	for _, r := range in.Roles {
		if !slices.Contains(AllRoles, r) {
			bad.add("roles", "未知角色「%s」", r)
		}
	}
	var roles []string
	for _, r := range AllRoles { // the form's order, without repeats
		if slices.Contains(in.Roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		bad.add("roles", "请至少选择一个角色")
	}
	switch {
	case in.PayerNo != "" && !payerNoRE.MatchString(in.PayerNo):
		bad.add("payer_no", "学号/工号为 4 到 32 位字母或数字")
	case slices.Contains(roles, store.RolePayer) && in.PayerNo == "":
		bad.add("payer_no", "缴费人须填写学号/工号")
	case in.PayerNo != "" && (u.PayerNo == nil || *u.PayerNo != in.PayerNo):
		if taken, err := tx.NewSelect().Model((*store.User)(nil)).Where("payer_no = ?", in.PayerNo).Exists(ctx); err != nil {
			return err
		} else if taken {
			bad.add("payer_no", "学号/工号「%s」已属于另一账号", in.PayerNo)
		}
	}
	var dept *int64
	if in.DepartmentID > 0 {
		if ok, err := tx.NewSelect().Model((*store.Department)(nil)).Where("id = ?", in.DepartmentID).Exists(ctx); err != nil {
			return err
		} else if !ok {
			bad.add("department", "所选部门不存在")
		}
		id := in.DepartmentID
		dept = &id
	}
	if slices.Contains(roles, store.RoleDept) && dept == nil {
		bad.add("department", "部门人员须选择所属部门")
	}
	u.Name, u.Phone, u.Roles, u.DepartmentID = in.Name, in.Phone, strings.Join(roles, ","), dept
	if in.PayerNo != "" {
		p := in.PayerNo
		u.PayerNo = &p
	}
	return nil
}

// userDiff describes what changed between two versions of a user, for the audit log.
func userDiff(a, b *store.User) string {
	var parts []string
	add := func(label, x, y string) {
		if x != y {
			parts = append(parts, fmt.Sprintf("%s「%s」→「%s」", label, x, y))
		}
	}
	deptText := func(p *int64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	}
	add("姓名", a.Name, b.Name)
	add("手机号", a.Phone, b.Phone)
	add("角色", a.Roles, b.Roles)
	add("部门编号", deptText(a.DepartmentID), deptText(b.DepartmentID))
	add("学号/工号", a.PayerNumber(), b.PayerNumber())
	return strings.Join(parts, "；")
}

// SetDisabled disables or enables a user. A disabled user cannot sign in, and the sessions
// they have are deleted with the change, so they end on every instance at their next
// request. Administrators cannot disable themselves.
func (s *Service) SetDisabled(ctx context.Context, id int64, disabled bool, by Actor) (*store.User, error) {
	if id == by.UserID && disabled {
		return nil, invalid("", "不能停用自己的账号")
	}
	var u *store.User
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = userForUpdate(ctx, tx, id); err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		u.Disabled, u.UpdatedAt = disabled, s.now()
		res, err := tx.NewUpdate().Model(u).Column("disabled", "updated_at").WherePK().Where("disabled = ?", !disabled).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // changed by someone else meanwhile, to the same end
		}
		action := "user.enabled"
		if disabled {
			action = "user.disabled"
			if _, err := store.DeleteUserSessions(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: u.UpdatedAt, Actor: by.Login, Action: action, TargetType: "user", TargetID: u.Login, IP: by.IP})
	})
	if err != nil {
		return nil, wrap("set disabled", err)
	}
	return u, nil
}

// ResetPassword gives a user a new random temporary password satisfying policy and
// returns it: the caller shows it once; it is stored only hashed and never audited.
func (s *Service) ResetPassword(ctx context.Context, id int64, policy PasswordPolicy, by Actor) (*store.User, string, error) {
	password := TemporaryPassword(max(12, policy.MinLength))
	hash, err := HashPassword(password)
	if err != nil {
		return nil, "", err
	}
	var u *store.User
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = userForUpdate(ctx, tx, id); err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, s.now()
		if _, err := tx.NewUpdate().Model(u).Column("password_hash", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		// A reset also lifts a sign-in lock on the login, or the new password could not be used,
		// and ends the user's sessions: whoever knew the old password is signed out.
		if err := liftSignInLocks(ctx, tx, u.ID); err != nil {
			return err
		}
		if _, err := store.DeleteUserSessions(ctx, tx, u.ID); err != nil {
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: u.UpdatedAt, Actor: by.Login, Action: "user.password_reset", TargetType: "user", TargetID: u.Login, IP: by.IP})
	})
	if err != nil {
		return nil, "", wrap("reset password", err)
	}
	return u, password, nil
}

// TemporaryPassword returns n random letters and digits, at least one of each, without the
// look-alikes 0/O, 1/l/I.
func TemporaryPassword(n int) string {
	const letters, digits = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
	pick := func(set string) byte {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic("auth: crypto/rand: " + err.Error())
		}
		return set[k.Int64()]
	}
	for {
		b := make([]byte, n)
		for i := range b {
			b[i] = pick(letters + digits)
		}
		s := string(b)
		if strings.ContainsAny(s, letters) && strings.ContainsAny(s, digits) {
			return s
		}
	}
}

func userForUpdate(ctx context.Context, tx bun.Tx, id int64) (*store.User, error) {
	u := new(store.User)
	q := tx.NewSelect().Model(u).Where("id = ?", id)
	if store.DialectOf(tx) == store.MySQL {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return u, nil
}

func wrap(what string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("auth: %s: %w", what, err)
}

// DepartmentRow is a department in the list, with how many users belong to it.
type DepartmentRow struct {
	store.Department `bun:",extend"`
	Users            int `bun:"users"`
}

// Departments returns one page of departments by code, and how many there are.
func (s *Service) Departments(ctx context.Context, offset, limit int) ([]DepartmentRow, int, error) {
	var rows []DepartmentRow
	n, err := store.ScanAndCount(ctx, s.DB.NewSelect().Model(&rows).ModelTableExpr("departments AS d").ColumnExpr("d.*").
		ColumnExpr("(SELECT COUNT(*) FROM users AS u WHERE u.department_id = d.id) AS users").
		OrderExpr("d.code").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("auth: departments: %w", err)
	}
	return rows, int(n), nil
}

// AllDepartments returns every department by code, for choosing one in a form.
func (s *Service) AllDepartments(ctx context.Context) ([]store.Department, error) {
	var rows []store.Department
	if err := s.DB.NewSelect().Model(&rows).OrderExpr("code").Scan(ctx); err != nil {
		return nil, fmt.Errorf("auth: departments: %w", err)
	}
	return rows, nil
}

var deptCodeRE = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// SaveDepartment creates a department (id 0) or renames one; codes are unique.
func (s *Service) SaveDepartment(ctx context.Context, id int64, code, name string, by Actor) (*store.Department, error) {
	code, name = strings.ToUpper(strings.TrimSpace(code)), strings.TrimSpace(name)
	bad := &InputError{}
	if !deptCodeRE.MatchString(code) {
		bad.add("code", "部门代码为 1 到 32 位字母、数字、_ 或 -")
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 50 {
		bad.add("name", "部门名称为 1 到 50 个字")
	}
	if err := bad.orNil(); err != nil {
		return nil, err
	}
	d := &store.Department{ID: id}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		taken, err := tx.NewSelect().Model((*store.Department)(nil)).Where("code = ?", code).Where("id <> ?", id).Exists(ctx)
		if err != nil {
			return err
		}
		if taken {
			return invalid("code", "部门代码「%s」已被使用", code)
		}
		action, detail := "department.created", fmt.Sprintf("%s %s", code, name)
		if id == 0 {
			d.Code, d.Name, d.CreatedAt = code, name, now
			_, err = tx.NewInsert().Model(d).Exec(ctx)
		} else {
			if err := tx.NewSelect().Model(d).WherePK().Scan(ctx); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return ErrNotFound
				}
				return err
			}
			if d.Code == code && d.Name == name {
				return nil
			}
			action, detail = "department.renamed", fmt.Sprintf("「%s %s」→「%s %s」", d.Code, d.Name, code, name)
			d.Code, d.Name = code, name
			_, err = tx.NewUpdate().Model(d).Column("code", "name").WherePK().Exec(ctx)
		}
		if err != nil {
			if store.IsDuplicate(err) {
				return invalid("code", "部门代码「%s」已被使用", code)
			}
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: by.Login, Action: action, TargetType: "department", TargetID: code, IP: by.IP, Detail: detail})
	})
	if err != nil {
		return nil, wrap("save department", err)
	}
	return d, nil
}
