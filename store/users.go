package store

import (
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Roles a user may hold.
const (
	RolePayer   = "payer"
	RoleDept    = "dept"
	RoleFinance = "finance"
	RoleLeader  = "leader"
	RoleAdmin   = "admin"
)

type Department struct {
	bun.BaseModel `bun:"table:departments"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Code      string    `bun:"code"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
}

type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Login        string    `bun:"login"`
	Name         string    `bun:"name"`
	PasswordHash string    `bun:"password_hash"`
	Roles        string    `bun:"roles"` // comma-separated
	DepartmentID *int64    `bun:"department_id"`
	PayerNo      *string   `bun:"payer_no"`
	Phone        string    `bun:"phone"`
	Unit         string    `bun:"unit"`
	ClassName    string    `bun:"class_name"`
	Status       string    `bun:"status"`
	Disabled     bool      `bun:"disabled"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool {
	return slices.Contains(strings.Split(u.Roles, ","), role)
}

// RoleList returns the user's roles.
func (u *User) RoleList() []string { return strings.Split(u.Roles, ",") }

// PayerNumber is the student or staff number, or "" for users without one.
func (u *User) PayerNumber() string {
	if u.PayerNo == nil {
		return ""
	}
	return *u.PayerNo
}
