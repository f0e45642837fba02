package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"campuspay/app/server/servertest"
)

var tempPasswordRE = regexp.MustCompile(`temp-password-value mono">([0-9A-Za-z]+)<`)

func TestAdminManagesUsers(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		admin := sysBrowser(t, p, "admin", "admin123456")
		jwc := strconv.FormatInt(*sysUser(t, p, "dept_jwc").DepartmentID, 10)

		// Create: the form refuses a dept role without a department and a weak password.
		code, page, _ := admin.Post("/console/users", url.Values{"login": {"zhao"}, "name": {"赵老师"}, "roles": {"dept"}, "password": {"abc"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "密码至少 8 位") {
			t.Errorf("weak password: status %d, want 422 with the policy", code)
		}
		code, page, _ = admin.Post("/console/users", url.Values{"login": {"zhao"}, "name": {"赵老师"}, "roles": {"dept"}, "password": {"abcd1234"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "部门人员须选择所属部门") {
			t.Errorf("dept without department: status %d, want 422 with the reason", code)
		}
		code, _, resp := admin.Post("/console/users", url.Values{"login": {"zhao"}, "name": {"<script>alert(1)</script>赵"},
			"roles": {"dept"}, "department": {jwc}, "phone": {"13900000000"}, "password": {"abcd1234"}})
		if code != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "?ok=created") {
			t.Fatalf("create: status %d, location %q", code, resp.Header.Get("Location"))
		}
		zhao := sysUser(t, p, "zhao")
		userPath := "/console/users/" + strconv.FormatInt(zhao.ID, 10)

		// The list: full page, the HTMX fragment, the name escaped.
		code, page = admin.Get("/console/users?q=zhao")
		if code != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;赵") || strings.Contains(page, "<script>alert(1)") {
			t.Errorf("user list: status %d; want the page with the name escaped", code)
		}
		_, frag, _ := admin.Do("GET", "/console/users?role=dept", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="users-rows"`) || !strings.Contains(frag, "dept_jwc") || strings.Contains(frag, ">finance<") {
			t.Errorf("user list fragment (role dept) wrong:\n%.1500s", frag)
		}

		// The new user signs in; edit gives them finance as well.
		zb := p.NewBrowser(t)
		zb.Login("zhao", "abcd1234")
		if code, _ := zb.Get("/console/refunds"); code == http.StatusForbidden || code == http.StatusSeeOther {
			t.Fatalf("new dept user cannot open the console: status %d", code)
		}
		admin.Get(userPath)
		code, _, _ = admin.Post(userPath, url.Values{"name": {"赵老师"}, "roles": {"dept", "finance"}, "department": {jwc}, "phone": {"13900000001"}})
		if code != http.StatusSeeOther {
			t.Fatalf("update: status %d", code)
		}
		if u := sysUser(t, p, "zhao"); u.Roles != "dept,finance" || u.Phone != "13900000001" {
			t.Errorf("after update roles %q phone %q", u.Roles, u.Phone)
		}

		// Reset password: shown once, works for sign-in; the HTMX form gets a fragment.
		_, frag, _ = admin.Do("POST", userPath+"/password", url.Values{}, true)
		m := tempPasswordRE.FindStringSubmatch(frag)
		if m == nil || strings.Contains(frag, "<html") {
			t.Fatalf("reset password fragment shows no password:\n%s", frag)
		}
		if _, again := admin.Get(userPath); strings.Contains(again, m[1]) {
			t.Errorf("the temporary password shows again on the user page")
		}
		p.NewBrowser(t).Login("zhao", m[1])

		// Disable: their open session stops working, and they cannot sign in.
		admin.Get(userPath)
		if code, _, _ := admin.Post(userPath+"/disable", nil); code != http.StatusSeeOther {
			t.Fatalf("disable: status %d", code)
		}
		if code, _ := zb.Get("/console/refunds"); code != http.StatusSeeOther {
			t.Errorf("disabled user's open session: status %d, want a redirect to sign in", code)
		}
		nb := p.NewBrowser(t)
		nb.Get("/login")
		if code, page, _ := nb.Post("/login", url.Values{"login": {"zhao"}, "password": {m[1]}}); code == http.StatusSeeOther || !strings.Contains(page, "停用") {
			t.Errorf("disabled user signs in: status %d", code)
		}
		_, page = admin.Get(userPath + "?ok=disabled")
		if !strings.Contains(page, "已停用") || !strings.Contains(page, "启用账号") {
			t.Errorf("user page does not show the account disabled")
		}
		admin.Post(userPath+"/enable", nil)
		p.NewBrowser(t).Login("zhao", m[1])

		// An administrator cannot demote or disable themselves.
		self := "/console/users/" + strconv.FormatInt(sysUser(t, p, "admin").ID, 10)
		admin.Get(self)
		code, page, _ = admin.Post(self, url.Values{"name": {"系统管理员"}, "roles": {"finance"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "不能取消自己的系统管理员角色") {
			t.Errorf("self-demotion: status %d, want 422 with the reason", code)
		}
		if code, _, _ := admin.Post(self+"/disable", nil); code != http.StatusUnprocessableEntity {
			t.Errorf("self-disable: status %d, want 422", code)
		}
		if u := sysUser(t, p, "admin"); u.Disabled || u.Roles != "admin" {
			t.Errorf("admin after refused self-changes: disabled %v roles %q", u.Disabled, u.Roles)
		}

		// Only administrators reach the user pages.
		fin := sysBrowser(t, p, "finance", "finance123456")
		for _, path := range []string{"/console/users", userPath, "/console/departments"} {
			if code, _ := fin.Get(path); code != http.StatusForbidden {
				t.Errorf("finance GET %s: status %d, want 403", path, code)
			}
		}
		if code, _, _ := fin.Post(userPath+"/password", nil); code != http.StatusForbidden {
			t.Errorf("finance reset password: status %d, want 403", code)
		}
	})
}

func TestAdminManagesDepartments(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		admin := sysBrowser(t, p, "admin", "admin123456")
		admin.Get("/console/departments")
		if code, _, _ := admin.Post("/console/departments", url.Values{"code": {"tsg"}, "name": {"图书馆"}}); code != http.StatusSeeOther {
			t.Fatalf("create department: status %d", code)
		}
		code, page, _ := admin.Post("/console/departments", url.Values{"code": {"JWC"}, "name": {"重复"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "部门代码「JWC」已被使用") {
			t.Errorf("duplicate code: status %d, want 422 with the reason", code)
		}
		_, page = admin.Get("/console/departments")
		if !strings.Contains(page, "TSG") || !strings.Contains(page, "图书馆") {
			t.Errorf("new department not listed")
		}
		var id int64
		p.DB.NewSelect().Table("departments").Column("id").Where("code = ?", "TSG").Scan(t.Context(), &id)
		_, page = admin.Get("/console/departments?edit=" + strconv.FormatInt(id, 10))
		if !strings.Contains(page, `value="图书馆"`) {
			t.Errorf("edit form not filled with the department")
		}
		if code, _, _ := admin.Post("/console/departments", url.Values{"id": {strconv.FormatInt(id, 10)}, "code": {"TSG"}, "name": {"图书与档案馆"}}); code != http.StatusSeeOther {
			t.Errorf("rename: status %d", code)
		}
		if _, page := admin.Get("/console/audit?action=department."); !strings.Contains(page, "department.renamed") || !strings.Contains(page, "图书与档案馆") {
			t.Errorf("rename not in the audit log")
		}
	})
}
