package console_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"campuspay/app/server/servertest"
	"campuspay/store"
)

// rosterXLSX writes a roster workbook: the header and rows.
func rosterXLSX(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	all := append([][]string{{"学号/工号", "姓名", "学院/部门", "班级/单位", "手机号", "状态"}}, rows...)
	for i, r := range all {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := make([]any, len(r))
		for j, v := range r {
			vals[j] = v
		}
		if err := f.SetSheetRow("Sheet1", cell, &vals); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rosterOf(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("2027%06d", i+1), fmt.Sprintf("新生%d", i+1), "计算机学院", "计算机2701班", fmt.Sprintf("137%08d", i+1), "在读"}
	}
	return rows
}

func TestRosterImportThroughConsole(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := sysBrowser(t, p, "finance", "finance123456")

		// The template is a workbook with the roster's columns.
		_, _, resp := b.Do("GET", "/console/roster/template.xlsx", nil, false)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "spreadsheetml") {
			t.Fatalf("template: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		_, body := b.Get("/console/roster/template.xlsx")
		wb, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("template does not open as a workbook: %v", err)
		}
		head, _ := wb.GetRows(wb.GetSheetList()[0])
		if len(head) < 2 || strings.Join(head[0], ",") != "学号/工号,姓名,学院/部门,班级/单位,手机号,状态" {
			t.Errorf("template rows = %v", head)
		}

		payers := func() int {
			n, _ := p.DB.NewSelect().Model((*store.User)(nil)).Where("payer_no IS NOT NULL").Count(ctx)
			return int(n)
		}
		before := payers()

		// A file with one bad row changes nothing and names the line.
		rows := rosterOf(40)
		rows[16][4] = "1234"
		frag := sysRosterImport(t, b, "roster.xlsx", rosterXLSX(t, rows))
		if !strings.Contains(frag, "未导入任何数据") || !strings.Contains(frag, "第 18 行") || !strings.Contains(frag, "11 位手机号码") {
			t.Errorf("bad roster fragment lacks the failure or line 18:\n%.2000s", frag)
		}
		if n := payers(); n != before {
			t.Fatalf("a roster with a bad row changed the payers: %d → %d", before, n)
		}

		// A good file creates every payer; a name with a tag comes back escaped.
		rows = rosterOf(40)
		rows[0][1] = "<script>alert(1)</script>"
		rows[1][5] = "毕业"
		frag = sysRosterImport(t, b, "roster.xlsx", rosterXLSX(t, rows))
		if !strings.Contains(frag, "新增 40 人，更新 0 人，未变 0 人") {
			t.Fatalf("good roster fragment:\n%.2000s", frag)
		}
		var imported store.AuditLog
		p.DB.NewSelect().Model(&imported).Where("action = ?", "roster.imported").Limit(1).Scan(ctx)
		if imported.Actor != "finance" || imported.IP == "" || !strings.Contains(imported.Detail, "新增 40 人") {
			t.Errorf("roster audit row = %+v; want finance, an address, the counts", imported)
		}
		if got := sysUser(t, p, "2027000002"); got.Status != store.PayerGraduated {
			t.Errorf("graduated payer stored as %q", got.Status)
		}
		stamp := sysUser(t, p, "2027000005").UpdatedAt

		// The same file again: all unchanged, nothing written.
		frag = sysRosterImport(t, b, "roster.xlsx", rosterXLSX(t, rows))
		if !strings.Contains(frag, "新增 0 人，更新 0 人，未变 40 人") {
			t.Errorf("re-import fragment:\n%.2000s", frag)
		}
		if got := sysUser(t, p, "2027000005").UpdatedAt; !got.Equal(stamp) {
			t.Errorf("re-import moved updated_at from %v to %v", stamp, got)
		}

		// One phone changed, as a CSV this time: that payer alone is updated.
		var csv strings.Builder
		csv.WriteString("学号/工号,姓名,学院/部门,班级/单位,手机号,状态\n")
		rows[4][4] = "13600000000"
		for _, r := range rows {
			csv.WriteString(strings.Join(r, ",") + "\n")
		}
		frag = sysRosterImport(t, b, "roster.csv", []byte(csv.String()))
		if !strings.Contains(frag, "新增 0 人，更新 1 人，未变 39 人") {
			t.Errorf("changed phone fragment:\n%.2000s", frag)
		}
		if got := sysUser(t, p, "2027000005"); got.Phone != "13600000000" || !got.UpdatedAt.After(stamp) {
			t.Errorf("payer 5 phone %s updated %v", got.Phone, got.UpdatedAt)
		}
		if got := sysUser(t, p, "2027000006"); !got.UpdatedAt.Equal(stamp) {
			t.Errorf("an unchanged payer's updated_at moved")
		}

		// The roster list: search, status filter, the fragment, the name escaped.
		code, page := b.Get("/console/roster?status=graduated")
		if code != http.StatusOK || !strings.Contains(page, "2027000002") || strings.Contains(page, "2027000003") || !strings.Contains(page, "共 1 条") {
			t.Errorf("roster filtered by graduated: status %d, want payer 2 alone", code)
		}
		_, frag, _ = b.Do("GET", "/console/roster?q=2027000001", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(frag, "<script>alert(1)") {
			t.Errorf("roster fragment: want the escaped name alone\n%.1500s", frag)
		}
		_, page = b.Get("/console/roster/import")
		if !strings.Contains(page, "roster.csv") || !strings.Contains(page, "更新 1 人") {
			t.Errorf("import page does not list the latest imports")
		}

		// Administrators may import too; leadership may not.
		if code, _ := sysBrowser(t, p, "leader", "leader123456").Get("/console/roster"); code != http.StatusForbidden {
			t.Errorf("leader GET /console/roster: status %d, want 403", code)
		}
	})
}

func TestAuditLogSearch(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		admin := sysBrowser(t, p, "admin", "admin123456")
		admin.Get("/console/departments")
		admin.Post("/console/departments", map[string][]string{"code": {"XSS"}, "name": {"<img src=x onerror=alert(1)>"}})
		sysBrowser(t, p, "finance", "finance123456")

		leader := sysBrowser(t, p, "leader", "leader123456")
		code, page := leader.Get("/console/audit?actor=admin&action=department.")
		if code != http.StatusOK || !strings.Contains(page, "department.created") || strings.Contains(page, ">login<") {
			t.Errorf("audit by admin, department.*: status %d\n%.1500s", code, page)
		}
		if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") || strings.Contains(page, "<img src=x") {
			t.Errorf("audit detail not escaped")
		}
		if !strings.Contains(page, "127.0.0.1") {
			t.Errorf("audit rows lack the address")
		}
		_, frag, _ := leader.Do("GET", "/console/audit?action=login&actor=finance", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="audit-rows"`) || !strings.Contains(frag, ">login<") || strings.Contains(frag, "department.created") {
			t.Errorf("audit fragment (finance logins) wrong:\n%.1500s", frag)
		}
		_, page = leader.Get("/console/audit?target_type=department&target_id=XSS")
		if !strings.Contains(page, "共 1 条") {
			t.Errorf("audit by target: want exactly one row")
		}
		_, page = leader.Get("/console/audit?from=2000-01-01&to=2000-01-31")
		if !strings.Contains(page, "没有符合条件的记录") {
			t.Errorf("audit of January 2000 is not empty")
		}
		_, page = leader.Get("/console/audit?from=yesterday")
		if !strings.Contains(page, "日期格式应为 YYYY-MM-DD") {
			t.Errorf("a bad date is not reported")
		}
		// Read only: nothing but GET exists.
		if code, _, _ := leader.Post("/console/audit", nil); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
			t.Errorf("POST /console/audit: status %d, want refused", code)
		}
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		if code, _ := dept.Get("/console/audit"); code != http.StatusForbidden {
			t.Errorf("dept GET /console/audit: status %d, want 403", code)
		}
	})
}
