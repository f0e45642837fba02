package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"campuspay/app/demo"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

// sysBrowser signs in as login (finance, leadership or an administrator) and opens the
// audit log once, for the CSRF token.
func sysBrowser(t *testing.T, p *servertest.Platform, login, password string) *servertest.Browser {
	t.Helper()
	b := p.NewBrowser(t)
	b.Login(login, password)
	if code, _ := b.Get("/console/audit"); code != http.StatusOK {
		t.Fatalf("GET /console/audit as %s: status %d", login, code)
	}
	return b
}

// sysSettingsForm is the settings form as the page submits it untouched: every plain
// setting at its stored value (here the defaults), boxes ticked as stored, secrets empty.
func sysSettingsForm() url.Values {
	v := url.Values{}
	for _, d := range settings.Defs {
		switch d.Kind {
		case settings.Secret:
		case settings.Bool:
			if d.Default == "true" {
				v.Set(d.Key, "true")
			}
		case settings.List:
			value := d.Default
			if d.Key == settings.ChannelsEnabled {
				value = demo.DemoChannels // what the demo database has ticked
			}
			for _, w := range strings.Split(value, ",") {
				v.Add(d.Key, w)
			}
		default:
			v.Set(d.Key, d.Default)
		}
	}
	return v
}

// sysUser returns the user with login.
func sysUser(t *testing.T, p *servertest.Platform, login string) *store.User {
	t.Helper()
	u := new(store.User)
	if err := p.DB.NewSelect().Model(u).Where("login = ?", login).Scan(context.Background()); err != nil {
		t.Fatalf("user %s: %v", login, err)
	}
	return u
}

// sysUpload posts a file to the roster import form as its HTMX form does.
func sysUpload(t *testing.T, b *servertest.Browser, name string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", b.CSRF)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", b.Base+"/console/roster/import", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("HX-Request", "true")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

var sysJobRE = regexp.MustCompile(`hx-get="(/console/roster/imports/[0-9]+)"`)

// sysRosterImport uploads a roster and polls its job, as the page does, until it ends;
// it returns the final fragment.
func sysRosterImport(t *testing.T, b *servertest.Browser, name string, data []byte) string {
	t.Helper()
	code, frag := sysUpload(t, b, name, data)
	m := sysJobRE.FindStringSubmatch(frag)
	if code != http.StatusOK || m == nil {
		t.Fatalf("upload: status %d, want a polling job fragment\n%s", code, frag)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, frag, _ = b.Do("GET", m[1], nil, true)
		if !strings.Contains(frag, "hx-trigger=\"every 1s\"") {
			return frag
		}
	}
	t.Fatalf("roster import %s did not end", m[1])
	return ""
}
