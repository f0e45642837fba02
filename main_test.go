package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/api/client"
	"campuspay/store"
)

const (
	testSecret       = "test-secret-0123456789abcdef0123456789abcdef"
	demoClientSecret = "cc4e51ceae278b3739fdc64bf0cb65d7955828125fde48fa906b38265fbb9d3d" // README: demo only
	metricsToken     = "metrics-token-for-tests-0123456789"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds the real campuspay binary once for the tests of this package.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "campuspay-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "campuspay")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lockedBuffer collects a process's output for the test to read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// instance is one running campuspay process.
type instance struct {
	cmd    *exec.Cmd
	URL    string
	stderr *lockedBuffer
	done   chan struct{}
	err    error // the process's exit, once done is closed
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// start runs the binary with args (after "serve"), waits until it answers /readyz, and
// stops it when the test ends.
func start(t *testing.T, env []string, args ...string) *instance {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	cmd.Env = append(append(os.Environ(), "CAMPUSPAY_SECRET="+testSecret, "CAMPUSPAY_METRICS_TOKEN="+metricsToken), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { in.err = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		select {
		case <-in.done:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-in.done
			}
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", in.URL, tail(in.stderr.String(), 4000))
		}
	})
	select {
	case in.URL = <-urls:
	case <-in.done:
		t.Fatalf("campuspay exited at start: %v\n%s", in.err, in.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("campuspay printed no address within a minute\n%s", in.stderr.String())
	}
	waitUntil(t, 60*time.Second, in.URL+" ready", func() bool { return status(in.URL+"/readyz") == http.StatusOK })
	return in
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// status is the status of a GET, or 0 when nothing answered.
func status(u string) int {
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callbackReceiver is a business system's callback endpoint. Each callback's event id is
// counted; when hold is set, a callback is answered only once the test releases it.
type callbackReceiver struct {
	mu      sync.Mutex
	seen    map[string]int
	arrived chan string
	release chan struct{}
}

func newReceiver(hold bool) *callbackReceiver {
	r := &callbackReceiver{seen: map[string]int{}, arrived: make(chan string, 100)}
	if hold {
		r.release = make(chan struct{})
	}
	return r
}

var eventIDRE = regexp.MustCompile(`"event_id"\s*:\s*"([^"]+)"`)

func (r *callbackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	id := ""
	if m := eventIDRE.FindSubmatch(body); m != nil {
		id = string(m[1])
	}
	r.mu.Lock()
	r.seen[id]++
	r.mu.Unlock()
	r.arrived <- id
	if r.release != nil {
		<-r.release
	}
	w.WriteHeader(http.StatusOK)
}

func (r *callbackReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id]
}

func newBill(no string) client.NewBill {
	return client.NewBill{BillNo: no, ItemCode: "DEMO-ADM-2026", Payer: client.Payer{Type: "internal", ID: "2026000001"}, Amount: 15000}
}

// slowRequest sends a signed POST /api/v1/bills up to the middle of its body; finish sends
// the rest and returns the status the platform answered.
type slowRequest struct {
	conn net.Conn
	rest []byte
}

func startSlowRequest(t *testing.T, base, billNo string) *slowRequest {
	t.Helper()
	body := []byte(`{"bill_no":"` + billNo + `","item_code":"DEMO-ADM-2026","payer":{"type":"internal","id":"2026000002"},"amount":15000,"description":"slow upload"}`)
	req, _ := http.NewRequest("POST", base+"/api/v1/bills", nil)
	client.New(base, "demo-admissions", demoClientSecret).Sign(req, body)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	fmt.Fprintf(&head, "POST /api/v1/bills HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", req.URL.Host, len(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	half := len(body) / 2
	if _, err := conn.Write(append([]byte(head.String()), body[:half]...)); err != nil {
		t.Fatal(err)
	}
	return &slowRequest{conn: conn, rest: body[half:]}
}

func (s *slowRequest) finish(t *testing.T) (int, string) {
	t.Helper()
	defer s.conn.Close()
	if _, err := s.conn.Write(s.rest); err != nil {
		t.Fatalf("finish the slow request: %v", err)
	}
	s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(s.conn), nil)
	if err != nil {
		t.Fatalf("the slow request got no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// listenerClosed reports whether the instance no longer accepts connections.
func listenerClosed(base string) bool {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// allowReceiver puts a test's callback receiver on 127.0.0.1 on the egress allow-list and
// shortens the retry schedule, as an administrator would in 系统参数 for a business system
// on the campus network. Running instances read settings through a 10-second cache, so
// the first attempt may still be refused; the next one, a second later, goes through.
func allowReceiver(t *testing.T, db *bun.DB, receiverURL string) {
	t.Helper()
	u, err := url.Parse(receiverURL)
	if err != nil {
		t.Fatal(err)
	}
	now := store.UTC(time.Now())
	for k, v := range map[string]string{"egress.allow": u.Host, "callback.retry_schedule": "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"} {
		if _, err := db.NewDelete().Model((*store.Setting)(nil)).Where("k = ?", k).Exec(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewInsert().Model(&store.Setting{Key: k, Value: v, UpdatedBy: "test", UpdatedAt: now}).Exec(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
}
