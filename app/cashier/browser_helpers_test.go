package cashier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

// Timeouts of the browser tests. Each step of a journey has its own, so that a broken page
// fails the step that waits for it, with what the page showed, instead of hanging the run.
const (
	stepTimeout    = 10 * time.Second
	startTimeout   = 30 * time.Second // starting Chromium, the first time on a cold machine
	paymentTimeout = 20 * time.Second // the order page polls the channel every 2 s
)

// phone is the device the payer holds: an iPhone 13 (390×844 CSS pixels, a mobile user
// agent, touch), rendered at twice the CSS pixels to keep the screenshots readable and small.
func phone() device.Info {
	d := device.IPhone13.Device()
	d.Scale = 2
	return d
}

// browser is one headless Chromium tab emulating the payer's phone. Its helpers wait with
// a timeout, fail the test with the page's address and text, and keep screenshots.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab; never with a deadline (see chromedp.Run)
	base string          // the platform's URL
	dir  string          // where screenshots go
	shot int             // screenshots taken, to number the files

	mu       sync.Mutex
	console  []string // console errors and uncaught exceptions of the pages
	visited  []string // every document the tab requested, redirects included
	failShot bool     // a failure screenshot was already taken
}

// chromiumPath finds the browser, or skips the test (fails it under CI, which installs
// Chromium and must not skip silently).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "browser test: no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium fonts-noto-cjk)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI must install it")
	}
	t.Skip(msg)
	return ""
}

// screenshotDir is the folder for this test's screenshots: $CAMPUSPAY_SCREENSHOTS, or
// campuspay-screenshots in the temporary folder, then the test's name. It outlives the test
// and is emptied when the test starts again.
func screenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("CAMPUSPAY_SCREENSHOTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "campuspay-screenshots")
	}
	dir := filepath.Join(root, filepath.FromSlash(t.Name()))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts Chromium (exe, from chromiumPath) for the test, emulating the phone, and stops it when the test
// ends. When the test fails, the page as it was is kept as a screenshot.
func newBrowser(t *testing.T, exe, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // we run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}

	// The first Do starts the browser and binds it to ctx, which must have no deadline;
	// a timer bounds the start instead.
	stop := time.AfterFunc(startTimeout, cancelTab)
	err := chromedp.Do(ctx, chromedp.Emulate(phone()))
	if !stop.Stop() {
		t.Fatalf("start %s: no answer in %s", exe, startTimeout)
	}
	if err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeDocument {
			b.mu.Lock()
			b.visited = append(b.visited, e.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The sandbox's pages name no icon, so the browser asks for /favicon.ico: not news.
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.HasSuffix(m.URL, "/favicon.ico") {
				b.mu.Lock()
				b.console = append(b.console, m.URL+": "+m.Text)
				b.mu.Unlock()
			}
		}
	}()

	t.Cleanup(func() { // runs before the browser stops
		b.mu.Lock()
		console, failShot := b.console, b.failShot
		b.mu.Unlock()
		for _, m := range console {
			t.Logf("browser console: %s", m)
		}
		if t.Failed() && !failShot {
			b.screenshot("failed")
		}
	})
	return b
}

// do runs one step of the journey within timeout; on failure it fails the test with what
// the page showed and keeps a screenshot.
func (b *browser) do(step string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// doOn is do for actions on one element, which the failure names.
func (b *browser) doOn(step string, timeout time.Duration, sel chromedp.JSPath, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, fmt.Errorf("element %s: %w", sel, err))
	}
}

// fail ends the test at step with the page's address, its text and a screenshot.
func (b *browser) fail(step string, err error) {
	b.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("not there after the step's timeout (%w)", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 400 {
		text = string(r[:400]) + "…"
	}
	path := b.screenshot("failed")
	b.mu.Lock()
	b.failShot = true
	visited := strings.Join(b.visited, "\n    ")
	b.mu.Unlock()
	b.t.Fatalf("%s: %v\n  page: %s\n  shows: %s\n  screenshot: %s\n  documents requested:\n    %s",
		step, err, loc, text, path, visited)
}

// open loads a path of the platform.
func (b *browser) open(step, path string) {
	b.t.Helper()
	b.do(step, stepTimeout, chromedp.Navigate(b.base+path))
}

// tap scrolls the element to the middle of the screen (clear of the fixed pay bar) and taps it.
func (b *browser) tap(step string, sel chromedp.JSPath) {
	b.t.Helper()
	b.doOn(step, stepTimeout, sel,
		chromedp.WaitVisible(sel),
		chromedp.Evaluate[chromedp.Void](`(`+string(sel)+`)?.scrollIntoView({block: "center"})`),
		chromedp.Tap(sel),
	)
}

// waitFor waits until the element is visible.
func (b *browser) waitFor(step string, timeout time.Duration, sel chromedp.JSPath) {
	b.t.Helper()
	b.doOn(step, timeout, sel, chromedp.WaitVisible(sel))
}

// text returns the visible text of the element, spaces collapsed, waiting for it first.
func (b *browser) text(step string, sel chromedp.JSPath) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		b.fail(step, fmt.Errorf("element %s: %w", sel, err))
	}
	return strings.Join(strings.Fields(s), " ")
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, step, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail(step, err)
	}
	return v
}

// waitURL waits until the tab shows a page whose path starts with prefix, and returns its URL.
func (b *browser) waitURL(step, prefix string) *url.URL {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for {
		// Location fails while a navigation swaps the document: try again.
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			if u, err := url.Parse(loc); err == nil && strings.HasPrefix(u.Path, prefix) {
				return u
			}
		}
		select {
		case <-ctx.Done():
			b.fail(step, fmt.Errorf("path does not start with %s", prefix))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitImages waits until every image of the page has loaded (or failed), so that a
// screenshot shows the page as the payer sees it.
func (b *browser) waitImages(step string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`[...document.images].every(i => i.complete)`,
		chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.fail(step, err)
	}
}

// requested reports whether the tab requested a document whose path starts with prefix.
func (b *browser) requested(prefix string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.visited {
		if u, err := url.Parse(s); err == nil && strings.HasPrefix(u.Path, prefix) {
			return true
		}
	}
	return false
}

// screenshot saves the whole page as a PNG and returns its path ("" when that failed: a
// screenshot is evidence, not the test).
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// From the top: the sticky top bar is drawn where the page is scrolled to.
	err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	var buf []byte
	if err == nil {
		buf, err = chromedp.Run(ctx, fullPage)
	}
	if err == nil {
		err = os.WriteFile(path, buf, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// fullPage captures the whole scrollable page, not only the screen, as a PNG.
func fullPage(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	if m.CSSContentSize == nil {
		return nil, errors.New("screenshot: no content size")
	}
	res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
		Clip: &page.Viewport{X: 0, Y: 0, Width: m.CSSContentSize.Width, Height: m.CSSContentSize.Height,
			Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// withText selects the first element matching css whose text contains text: the way a
// person finds a row or a button, by what it says rather than by its id.
func withText(css, text string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll(%s)].find(e => e.textContent.includes(%s))`,
		jsString(css), jsString(text)))
}

// within selects the first element matching css inside the element sel selects.
func within(sel chromedp.JSPath, css string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`(%s)?.querySelector(%s)`, sel, jsString(css)))
}

// css selects the first element matching a CSS selector, as a JSPath so that every helper
// takes one kind of selector.
func css(s string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`document.querySelector(%s)`, jsString(s)))
}
