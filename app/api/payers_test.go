package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"campuspay/app/api/client"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

func TestPayerRosterSync(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		plain := apiClient(t, p, "admissions", false)
		body := `{"payers":[{"id":"2026000001","name":"王艳","unit":"数学学院","status":"graduated"}]}`
		if code, raw := signed(t, plain, "PUT", "/api/v1/payers", body); code != 403 || decode[apiErr](t, raw).Error.Code != "forbidden" {
			t.Errorf("without the roster permission: %d %s, want 403 forbidden", code, raw)
		}
		dp := apiClient(t, p, "data-platform", true)
		body = `{"payers":[
			{"id":"2026000001","name":"王艳","unit":"数学学院","status":"graduated"},
			{"id":"2027000001","name":"新生<script>","unit":"计算机学院","class":"计算机2701班","phone":"13700000001","status":"active"},
			{"id":"2027000002","name":"坏状态","status":"expelled"},
			{"id":"x","name":"坏学号"},
			{"id":"2027000001","name":"重复"},
			{"id":"2026000002","name":"王艳2","phone":123},
			{"id":"dept_jwc","name":"登录名冲突"},
			{"id":"2026000003","name":"李四"}
		]}`
		code, raw := signed(t, dp, "PUT", "/api/v1/payers", body)
		if code != 200 {
			t.Fatalf("sync: %d %s", code, raw)
		}
		res := decode[struct{ Results []client.RosterResult }](t, raw).Results
		want := []int{200, 201, 400, 400, 400, 400, 400, 200}
		if len(res) != len(want) {
			t.Fatalf("%d results, want %d: %s", len(res), len(want), raw)
		}
		for i, w := range want {
			if res[i].Status != w || (w == 400) != (res[i].Error != nil) {
				t.Errorf("payer %d (%s): %+v, want %d", i, res[i].ID, res[i], w)
			}
		}
		if e := res[5].Error; e == nil || !strings.Contains(e.Message, "phone") {
			t.Errorf("a phone of the wrong type: %+v, want the field named", res[5])
		}
		var u store.User
		p.DB.NewSelect().Model(&u).Where("payer_no = ?", "2026000001").Scan(ctx)
		if u.Unit != "数学学院" || u.Status != store.PayerGraduated || u.Phone == "" {
			t.Errorf("updated payer %+v: want unit and status changed, phone kept", u)
		}
		p.DB.NewSelect().Model(&u).Where("payer_no = ?", "2027000001").Scan(ctx)
		if u.Name != "新生<script>" || u.ClassName != "计算机2701班" || u.Roles != store.RolePayer {
			t.Errorf("created payer %+v", u)
		}
		fin := p.NewBrowser(t)
		fin.Login("admin", "admin123456")
		if _, page := fin.Get("/console/roster?q=2027000001"); strings.Contains(page, "新生<script>") || !strings.Contains(page, "新生&lt;script&gt;") {
			t.Errorf("roster list does not escape a synced name")
		}
		many := make([]string, 1001)
		for i := range many {
			many[i] = fmt.Sprintf(`{"id":"30%08d","name":"批量"}`, i)
		}
		if code, raw := signed(t, dp, "PUT", "/api/v1/payers", `{"payers":[`+strings.Join(many, ",")+`]}`); code != 400 || !strings.Contains(decode[apiErr](t, raw).Error.Message, "payers") {
			t.Errorf("1001 payers: %d %s, want 400", code, raw)
		}
	})
}

func TestDocsPage(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		code, page := p.NewBrowser(t).Get("/docs/api")
		for _, want := range []string{"<h1>CampusPay integration API, version 1", "<table>", "X-Signature", "bill_conflict",
			"openssl dgst -sha256 -hmac", "client.New(", "demo-admissions", `class="card doc"`} {
			if !strings.Contains(page, want) {
				t.Errorf("/docs/api lacks %q", want)
			}
		}
		if code != 200 {
			t.Errorf("/docs/api: %d", code)
		}
	})
}
