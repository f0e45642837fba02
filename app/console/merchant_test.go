package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"campuspay/app/server/servertest"
	alipaysim "campuspay/app/sim/alipay"
	"campuspay/store"
)

var merchantCreatedRE = regexp.MustCompile(`^/console/merchants/([0-9]+)\?ok=created$`)

// createMerchant posts the new merchant form and returns the new merchant's id.
func createMerchant(t *testing.T, b *servertest.Browser, name string) int64 {
	t.Helper()
	b.Get("/console/merchants")
	code, body, resp := b.Post("/console/merchants", url.Values{"name": {name}, "note": {"特约商户"}})
	m := merchantCreatedRE.FindStringSubmatch(resp.Header.Get("Location"))
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("create merchant: status %d, location %q, want a redirect to the new merchant\n%.2000s", code, resp.Header.Get("Location"), body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// alipayForm is an account form with Alipay's fake's valid values.
func alipayForm(t *testing.T) (url.Values, map[string]string) {
	t.Helper()
	sim, err := alipaysim.New("/sim/alipay", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	values := sim.MerchantValues("http://127.0.0.1:1/sim/alipay/gateway.do")
	form := url.Values{"enabled": {"on"}}
	for k, v := range values {
		form.Set(k, v)
	}
	return form, values
}

var alnumRE = regexp.MustCompile(`[0-9A-Za-z]{20,}`)

// keyPart is a run of letters and digits from the middle of a PEM private key (what an
// HTML page would show unescaped, unlike + and /): what must never be shown.
func keyPart(t *testing.T, pem string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(pem), "\n")
	if len(lines) < 5 {
		t.Fatalf("private key of %d lines, want a PEM block", len(lines))
	}
	part := alnumRE.FindString(lines[len(lines)/2])
	if part == "" {
		part = alnumRE.FindString(lines[len(lines)/2+1])
	}
	if part == "" {
		t.Fatalf("no run of 20 letters or digits in the private key's middle lines")
	}
	return part
}

func TestMerchantAccountSaveKeepsSecrets(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		fin := clSignIn(t, p, "finance", "finance123456")
		if _, page := fin.Get("/console"); !strings.Contains(page, `href="/console/merchants"`) {
			t.Errorf("finance's menu lacks 收款商户")
		}

		id := createMerchant(t, fin, "继续教育学院")
		if code, body, _ := fin.Post("/console/merchants", url.Values{"name": {"继续教育学院"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "已有同名的收款商户") {
			t.Errorf("second merchant of the same name: status %d, want 422 saying the name is taken", code)
		}
		path := "/console/merchants/" + strconv.FormatInt(id, 10)
		notify := p.URL + "/notify/alipay/" + strconv.FormatInt(id, 10)
		code, page := fin.Get(path + "?ok=created")
		if code != http.StatusOK || !strings.Contains(page, `<code id="notify-alipay">`+notify+`</code>`) ||
			!strings.Contains(page, "应用私钥") || !strings.Contains(page, "微信支付") || !strings.Contains(page, "银联") {
			t.Fatalf("new merchant page: status %d, want the Alipay address %s and the three companies' forms\n%.3000s", code, notify, page)
		}

		// Save the fake's keys: enabled, the address shown, the key never.
		form, values := alipayForm(t)
		secret := keyPart(t, values["private_key"])
		code, body, resp := fin.Post(path+"/accounts/alipay", form)
		if code != http.StatusSeeOther || resp.Header.Get("Location") != path+"?ok=saved#channel-alipay" {
			t.Fatalf("save Alipay account: status %d, location %q, want a redirect back\n%.3000s", code, resp.Header.Get("Location"), body)
		}
		acc, err := p.Merchants.Account(ctx, id, "alipay")
		if err != nil {
			t.Fatal(err)
		}
		if !acc.Enabled || acc.Demo || acc.UpdatedBy != "finance" || strings.Contains(acc.SealedValues, secret) {
			t.Errorf("stored account = enabled %v, demo %v, by %q; want enabled, not demo, by finance, the key sealed", acc.Enabled, acc.Demo, acc.UpdatedBy)
		}
		_, page = fin.Get(path + "?ok=saved")
		section := page[strings.Index(page, `id="channel-alipay"`):]
		section = section[:strings.Index(section, "</section>")]
		if !strings.Contains(page, "已保存") || !strings.Contains(section, "已启用") || !strings.Contains(section, notify) ||
			!strings.Contains(section, "已保存，留空则不修改") || !strings.Contains(section, values["app_id"]) {
			t.Errorf("merchant page after saving: want 已保存, 已启用, the address, the app id and the kept-secret placeholder\n%s", section)
		}
		_, list := fin.Get("/console/merchants")
		if !strings.Contains(list, "继续教育学院") || !strings.Contains(list, "已启用") || !strings.Contains(list, "正常") {
			t.Errorf("merchant list lacks the new merchant enabled and 正常\n%.3000s", list)
		}
		for name, pg := range map[string]string{"merchant page": page, "merchant list": list} {
			if strings.Contains(pg, secret) {
				t.Errorf("the %s shows the private key", name)
			}
		}

		// Saving again with the secrets blank keeps them.
		form.Del("private_key")
		form.Set("enabled", "")
		if code, body, _ := fin.Post(path+"/accounts/alipay", form); code != http.StatusSeeOther {
			t.Fatalf("save with the private key blank: status %d\n%.3000s", code, body)
		}
		acc, _ = p.Merchants.Account(ctx, id, "alipay")
		kept, err := p.Merchants.Values(acc)
		if err != nil || kept["private_key"] != values["private_key"] || acc.Enabled {
			t.Errorf("after a save with the key blank: enabled %v, key kept %v (%v); want disabled with the key kept",
				acc.Enabled, kept["private_key"] == values["private_key"], err)
		}
		if _, page := fin.Get(path); !strings.Contains(page, "未启用") {
			t.Errorf("merchant page of a disabled account lacks 未启用")
		}

		// A bad private key: the driver's words beside the form, nothing saved, the typed key
		// not echoed; through HTMX, an alert alone.
		before := acc.UpdatedAt
		form.Set("private_key", "-----BEGIN PRIVATE KEY-----\nTk9UQUtFWVRIQVRQQVJTRVM=\n-----END PRIVATE KEY-----\n")
		form.Set("enabled", "on")
		code, page, _ = fin.Post(path+"/accounts/alipay", form)
		errSlot := page[strings.Index(page, `id="account-alipay-error"`):]
		if code != http.StatusUnprocessableEntity || !strings.Contains(errSlot[:min(len(errSlot), 600)], "应用私钥") ||
			strings.Contains(page, "Tk9UQUtFWVRIQVRQQVJTRVM=") || !strings.Contains(page, values["app_id"]) {
			t.Errorf("bad private key: status %d, want 422 naming 应用私钥 in the form's error slot, the app id kept, the key not echoed\n%.600s", code, errSlot)
		}
		code, frag, _ := fin.Do("POST", path+"/accounts/alipay", form, true)
		if code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "应用私钥") {
			t.Errorf("bad private key via HTMX: status %d, want 200 with an alert naming 应用私钥\n%.600s", code, frag)
		}
		acc, _ = p.Merchants.Account(ctx, id, "alipay")
		kept, _ = p.Merchants.Values(acc)
		if !acc.UpdatedAt.Equal(before) || acc.Enabled || kept["private_key"] != values["private_key"] {
			t.Errorf("a refused save changed the account: updated %v (was %v), enabled %v", acc.UpdatedAt, before, acc.Enabled)
		}

		// The last error a company gave shows in red with its time, on the list and the page.
		p.Merchants.RecordError(ctx, acc.ID, "下单失败：无法连接支付宝网关")
		_, list = fin.Get("/console/merchants")
		_, page = fin.Get(path)
		for name, pg := range map[string]string{"merchant list": list, "merchant page": page} {
			if !strings.Contains(pg, `<div class="field-error">下单失败：无法连接支付宝网关</div>`) {
				t.Errorf("the %s does not show the last error in red", name)
			}
			if strings.Contains(pg, secret) {
				t.Errorf("the %s shows the private key", name)
			}
		}

		// Nobody but finance and administrators reaches the pages or the form.
		for _, who := range [][2]string{{"dept_jwc", "dept123456"}, {"leader", "leader123456"}} {
			b := clSignIn(t, p, who[0], who[1])
			if code, _ := b.Get(path); code != http.StatusForbidden {
				t.Errorf("%s opening a merchant: status %d, want 403", who[0], code)
			}
			form, _ := alipayForm(t)
			if code, _, _ := b.Post(path+"/accounts/alipay", form); code != http.StatusForbidden {
				t.Errorf("%s saving an account: status %d, want 403", who[0], code)
			}
			if _, page := b.Get("/console"); strings.Contains(page, `href="/console/merchants"`) {
				t.Errorf("%s's menu shows 收款商户", who[0])
			}
		}
		acc, _ = p.Merchants.Account(ctx, id, "alipay")
		if !acc.UpdatedAt.Equal(before) {
			t.Errorf("a refused user's save changed the account")
		}
		adm := clSignIn(t, p, "admin", "admin123456")
		if code, _ := adm.Get(path); code != http.StatusOK {
			t.Errorf("admin opening a merchant: status %d, want 200", code)
		}
	})
}

func TestMerchantEditAndDemoAccount(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		fin := clSignIn(t, p, "finance", "finance123456")
		id := createMerchant(t, fin, "图书馆")
		path := "/console/merchants/" + strconv.FormatInt(id, 10)
		fin.Get(path)
		if code, body, _ := fin.Post(path, url.Values{"name": {"学校统一第三方支付公司"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "已有同名的收款商户") {
			t.Errorf("rename onto the school's merchant: status %d, want 422 saying the name is taken", code)
		}
		if code, _, _ := fin.Post(path, url.Values{"name": {"图书馆文献服务"}, "note": {"查新检索费"}}); code != http.StatusSeeOther {
			t.Fatalf("rename: status %d, want 303", code)
		}
		if m, err := p.Merchants.Merchant(ctx, id); err != nil || m.Name != "图书馆文献服务" || m.Note != "查新检索费" {
			t.Errorf("renamed merchant = %+v, %v", m, err)
		}

		// The demo's own account stays the demo's while finance only switches it off; a value
		// entered makes it finance's.
		acc, err := p.Merchants.Account(ctx, store.DefaultMerchantID, "alipay")
		if err != nil || !acc.Demo {
			t.Skipf("the demo made no Alipay demo account (%v)", err)
		}
		stored, err := p.Merchants.Values(acc)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{}
		for _, k := range []string{"app_id", "seller_id", "alipay_public_key", "gateway"} {
			form.Set(k, stored[k])
		}
		school := "/console/merchants/" + strconv.FormatInt(store.DefaultMerchantID, 10)
		fin.Get(school)
		if code, body, _ := fin.Post(school+"/accounts/alipay", form); code != http.StatusSeeOther {
			t.Fatalf("switch the demo account off: status %d\n%.2000s", code, body)
		}
		if acc, _ = p.Merchants.Account(ctx, store.DefaultMerchantID, "alipay"); acc.Enabled || !acc.Demo {
			t.Errorf("demo account switched off: enabled %v demo %v, want off and still the demo's", acc.Enabled, acc.Demo)
		}
		form.Set("seller_id", "2088000000000001")
		if code, body, _ := fin.Post(school+"/accounts/alipay", form); code != http.StatusSeeOther {
			t.Fatalf("enter a seller id: status %d\n%.2000s", code, body)
		}
		if acc, _ = p.Merchants.Account(ctx, store.DefaultMerchantID, "alipay"); acc.Demo {
			t.Errorf("demo account with a value entered by finance is still the demo's")
		}
	})
}

func TestItemNamesItsMerchant(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		fin := clSignIn(t, p, "finance", "finance123456")
		merchant := createMerchant(t, fin, "继续教育学院")
		if _, page := fin.Get("/console/items/new"); !strings.Contains(page, `name="merchant_id"`) ||
			!strings.Contains(page, `<option value="1" selected>学校统一第三方支付公司</option>`) ||
			!strings.Contains(page, `<option value="`+strconv.FormatInt(merchant, 10)+`">继续教育学院</option>`) {
			t.Fatalf("new item form lacks the 收款商户 select with the school's chosen\n%.4000s", page)
		}
		var dept int64
		if err := p.DB.NewSelect().Model((*store.Department)(nil)).Column("id").Limit(1).Scan(context.Background(), &dept); err != nil {
			t.Fatal(err)
		}
		form := trainingForm("MER-2026")
		form.Set("department_id", strconv.FormatInt(dept, 10))
		form.Set("merchant_id", "999999")
		code, body, _ := fin.Post("/console/items", form)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "所选收款商户不存在") {
			t.Errorf("item with merchant 999999: status %d, want 422 saying the merchant does not exist", code)
		}
		form.Set("merchant_id", strconv.FormatInt(merchant, 10))
		id := createItem(t, fin, form)
		var got int64
		if err := p.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("merchant_id").Where("id = ?", id).Scan(context.Background(), &got); err != nil || got != merchant {
			t.Errorf("stored item merchant = %d, %v; want %d", got, err, merchant)
		}
		if _, page := fin.Get(itemPath(id, "")); !strings.Contains(page, "继续教育学院</a>") {
			t.Errorf("item page does not name its merchant")
		}
		if _, page := fin.Get(itemPath(id, "/edit")); !strings.Contains(page, `<option value="`+strconv.FormatInt(merchant, 10)+`" selected>继续教育学院</option>`) {
			t.Errorf("edit form does not select the item's merchant")
		}
		form.Set("merchant_id", "999999")
		if code, body, _ := fin.Post(itemPath(id, ""), form); code != http.StatusUnprocessableEntity || !strings.Contains(body, "所选收款商户不存在") {
			t.Errorf("edit to merchant 999999: status %d, want 422", code)
		}
	})
}
