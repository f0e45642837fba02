// Package web is the plumbing the web features share: rendering a page or an HTMX partial,
// turning errors into pages, and the template functions.
package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/money"
	"campuspay/static"
	"campuspay/store"
	"campuspay/views"
)

// HTMX request headers.
const (
	HeaderHXRequest  = "HX-Request"
	HeaderHXBoosted  = "HX-Boosted"
	HeaderHXRedirect = "HX-Redirect"
)

// NewEngine parses every template under views/ once.
func NewEngine() *html.Engine { return NewEngineFS(views.FS) }

// NewEngineFS parses the templates of views, each {{asset "literal"}} already replaced by
// its address (inlineAssets).
func NewEngineFS(views fs.FS) *html.Engine {
	engine := html.NewFileSystem(http.FS(inlineAssets{views}), ".html")
	engine.AddFuncMap(Funcs)
	return engine
}

// Funcs are the template functions.
var Funcs = template.FuncMap{
	// asset is an embedded file's address with its content hash: {{asset "css/app.css"}}.
	"asset":       static.URL,
	"yuan":        money.Format,
	"plain":       money.Plain,
	"capitals":    money.Capitals,
	"billStatus":  func(s store.BillStatus) string { return billing.BillStatusLabel(s) },
	"orderStatus": func(s store.OrderStatus) string { return billing.OrderStatusLabel(s) },
	"channel":     billing.ChannelLabel,
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.In(bizday.Shanghai).Format("2006-01-02")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.In(bizday.Shanghai).Format("2006-01-02")
		}
		return ""
	},
	"datetime": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.In(bizday.Shanghai).Format("2006-01-02 15:04:05")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.In(bizday.Shanghai).Format("2006-01-02 15:04:05")
		}
		return ""
	},
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Page is what every full page's layout reads besides the page's own data.
type Page struct {
	Title   string
	School  string
	User    *auth.Principal
	CSRF    string
	Content template.HTML
	Data    fiber.Map
	// Simulators: payments are simulated; the layout says so on every page.
	Simulators bool
	Notice     string // the sign-in notice (auth.SignInNotice), on the first full page after it
	// Chrome: the header and footer, unless the page asked to be bare (data "Bare"; the
	// sign-in pages). HistoryLink: the header links 缴费记录, unless the page has its own
	// tabs (data "Tabs"). Worked out here: a template's not is a reflective call.
	Chrome, HistoryLink bool
}

// Renderer renders pages. School returns the school's name for the header; Simulators
// puts the demo banner (演示模式) on every page.
type Renderer struct {
	Engine     *html.Engine
	School     func(c *fiber.Ctx) string
	Simulators bool

	once    sync.Once
	loadErr error
}

// IsPartial reports whether a request wants a fragment: an HTMX request that is not a
// boosted navigation.
func IsPartial(c *fiber.Ctx) bool {
	return c.Get(HeaderHXRequest) == "true" && c.Get(HeaderHXBoosted) != "true"
}

// Render answers with the template name: the fragment alone for an HTMX request, otherwise
// the whole page in the layout of its folder (views/layouts/<folder>.html). The page and the
// layout are rendered one after the other, never with the engine's layout argument: that
// path takes a global lock and would let only one page render at a time.
func (r *Renderer) Render(c *fiber.Ctx, name, title string, data fiber.Map) error {
	if data == nil {
		data = fiber.Map{}
	}
	p := auth.Current(c)
	csrf := auth.CSRFToken(c)
	school := ""
	if r.School != nil {
		school = r.School(c)
	}
	data["User"], data["CSRF"], data["School"] = p, csrf, school
	c.Type("html", "utf-8")
	if IsPartial(c) {
		return r.execute(c, name, data)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := r.execute(buf, name, data); err != nil {
		return err
	}
	layout := "layouts/" + strings.SplitN(name, "/", 2)[0]
	notice := ""
	if p != nil {
		notice = auth.Notice(c)
	}
	bare, _ := data["Bare"].(bool)
	tabs, _ := data["Tabs"].(bool)
	page := Page{Title: title, School: school, User: p, CSRF: csrf, Content: template.HTML(buf.String()), Data: data,
		Simulators: r.Simulators, Notice: notice, Chrome: !bare, HistoryLink: !tabs}
	if err := r.execute(c, layout, page); err != nil {
		return err
	}
	if notice != "" {
		return auth.DropNotice(c) // shown once
	}
	return nil
}

// Fragment renders a template alone, whatever the request.
func (r *Renderer) Fragment(c *fiber.Ctx, name string, data fiber.Map) error {
	if data == nil {
		data = fiber.Map{}
	}
	data["User"], data["CSRF"] = auth.Current(c), auth.CSRFToken(c)
	c.Type("html", "utf-8")
	return r.execute(c, name, data)
}

// execute runs one parsed template. It calls html/template directly rather than
// Engine.Render, which takes a lock per render to set the engine's functions again (and,
// with a layout, a global one for the whole render): executing a parsed template is safe
// from many goroutines at once.
func (r *Renderer) execute(w io.Writer, name string, data any) error {
	r.once.Do(func() { r.loadErr = r.Engine.Load() })
	if r.loadErr != nil {
		return r.loadErr
	}
	t := r.Engine.Templates.Lookup(name)
	if t == nil {
		return fmt.Errorf("web: no template %q", name)
	}
	return t.Execute(w, data)
}

// Redirect sends the browser to url: with HX-Redirect for an HTMX request (a plain 3xx
// would be followed inside the fragment), with 303 otherwise.
func Redirect(c *fiber.Ctx, url string) error {
	if c.Get(HeaderHXRequest) == "true" {
		c.Set(HeaderHXRedirect, url)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(url, fiber.StatusSeeOther)
}
