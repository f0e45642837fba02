package cashier_test

// The load test of issue 2 (b) and (c): the outstanding-bills page (GET /pay) of signed-in
// payers, 64 connections, on MariaDB with 100,000 payers and 300,000 bills. It is a
// benchmark so that it never runs with the tests, and it runs only when asked:
//
//	CAMPUSPAY_BENCH_LOAD=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/' \
//	  go test ./app/cashier -run '^$' -bench BillsPage -benchtime 1x -timeout 10m
//
// starts the platform in this process on a fresh database, seeds it, signs 1,000 payers in
// and drives the load. With CAMPUSPAY_BENCH_DB set to a DSN it seeds that database instead
// (created if missing, kept afterwards) and writes the session cookies to
// CAMPUSPAY_BENCH_SESSIONS, for the real binary started on it; with CAMPUSPAY_BENCH_URL
// (and CAMPUSPAY_BENCH_PID, the binary's process id, for its memory) it drives that server.
// CAMPUSPAY_BENCH_MAXCONNS=n shrinks the in-process server's database pool, an experiment.
// docs/PERFORMANCE.md has the exact commands and the figures.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

const (
	loadPayers      = 100_000
	loadBillsEach   = 3 // 300,000 bills
	loadSessions    = 1_000
	loadConns       = 64
	loadWarmup      = 3 * time.Second
	loadDuration    = 15 * time.Second
	loadChunk       = 2_000
	loadLoginPrefix = "L" // L000001 …: apart from the demo school's numbers
)

func BenchmarkBillsPage(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_LOAD") != "1" {
		b.Skip("the bills-page load test runs only with CAMPUSPAY_BENCH_LOAD=1 (and CAMPUSPAY_TEST_MYSQL or CAMPUSPAY_BENCH_DB): see docs/PERFORMANCE.md")
	}
	var db *bun.DB
	target, pid, where := os.Getenv("CAMPUSPAY_BENCH_URL"), os.Getpid(), "in-process server (RSS includes the load generator)"
	if dsn := os.Getenv("CAMPUSPAY_BENCH_DB"); dsn != "" {
		db = loadOpenKept(b, dsn)
		if target != "" {
			n, err := strconv.Atoi(os.Getenv("CAMPUSPAY_BENCH_PID"))
			if err != nil {
				b.Fatal("CAMPUSPAY_BENCH_URL needs CAMPUSPAY_BENCH_PID, the server's process id")
			}
			pid, where = n, "external server, pid "+strconv.Itoa(n)
		}
	} else {
		p := servertest.Start(b, servertest.Options{MySQL: true})
		db, target = p.DB, p.URL
		// An experiment knob, for the in-process server only: the size of the database pool
		// (store.Open makes it 64).
		if n, err := strconv.Atoi(os.Getenv("CAMPUSPAY_BENCH_MAXCONNS")); err == nil && n > 0 {
			p.DB.SetMaxOpenConns(n)
			p.DB.SetMaxIdleConns(n)
			where += ", database pool " + strconv.Itoa(n)
		}
	}

	start := time.Now()
	loadSeed(b, db)
	b.Logf("seeded %d payers and %d bills in %v", loadPayers, loadPayers*loadBillsEach, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	cookies := loadSignIn(b, db, loadSessions)
	b.Logf("signed in %d payers through auth.SignIn in %v", len(cookies), time.Since(start).Round(time.Millisecond))
	if path := os.Getenv("CAMPUSPAY_BENCH_SESSIONS"); path != "" {
		if err := os.WriteFile(path, []byte(strings.Join(cookies, "\n")+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	if target == "" {
		b.Log("database seeded; set CAMPUSPAY_BENCH_URL and CAMPUSPAY_BENCH_PID to drive a server started on it")
		return
	}

	if pid == os.Getpid() {
		runtime.GC()
		debug.FreeOSMemory() // give back what seeding used, so that "idle" means idle
	}
	time.Sleep(2 * time.Second)
	idle := loadMemory(b, pid)
	b.ResetTimer()
	res := loadDrive(b, target, cookies, pid)
	b.StopTimer()
	hwm := loadMemory(b, pid)

	rps := float64(len(res.durations)) / loadDuration.Seconds()
	p50, p99 := percentile(res.durations, 0.50), percentile(res.durations, 0.99)
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(ms(percentile(res.durations, 1)), "max_ms")
	b.ReportMetric(float64(res.errors), "errors")
	b.ReportMetric(mb(idle.rss), "rss_idle_MB")
	b.ReportMetric(mb(res.peakRSS), "rss_peak_MB")
	b.Logf("%s: %d connections, %v after %v warm-up: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors; "+
		"RSS idle %.1f MB, peak sampled under load %.1f MB, VmHWM %.1f MB",
		where, loadConns, loadDuration, loadWarmup, len(res.durations), rps, ms(p50), ms(p99), res.errors,
		mb(idle.rss), mb(res.peakRSS), mb(hwm.hwm))
	if res.errors > 0 {
		b.Logf("first error: %s", res.firstErr)
	}
}

// loadOpenKept opens (creating it if needed) and migrates the database of dsn, which the
// benchmark leaves in place for the binary.
func loadOpenKept(b *testing.B, dsn string) *bun.DB {
	b.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.DBName == "" {
		b.Fatalf("CAMPUSPAY_BENCH_DB %q: want a MySQL DSN naming a database (%v)", dsn, err)
	}
	name := cfg.DBName
	cfg.DBName = ""
	admin, err := store.Open(cfg.FormatDSN(), "")
	if err != nil {
		b.Fatal(err)
	}
	_, err = admin.Exec("CREATE DATABASE IF NOT EXISTS " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	admin.Close()
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(dsn, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := store.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	return db
}

// loadSeed writes the school of the load test, unless it is there already: five
// departments, three approved per-bill items, 100,000 payers sharing one bcrypt hash, and
// three unpaid bills each — with multi-row INSERTs of 2,000 rows.
func loadSeed(b *testing.B, db *bun.DB) {
	b.Helper()
	ctx := context.Background()
	have, err := db.NewSelect().Model((*store.User)(nil)).Where("login LIKE ?", loadLoginPrefix+"%").Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if have >= loadPayers {
		return
	}
	if have > 0 {
		b.Fatalf("the database holds %d of the %d load-test payers: drop it and start again", have, loadPayers)
	}
	now := store.UTC(time.Now())
	hash, err := auth.HashPassword("load-test-password")
	if err != nil {
		b.Fatal(err)
	}
	depts := []*store.Department{
		{Code: "L-JWC", Name: "教务处"}, {Code: "L-HQ", Name: "后勤管理处"}, {Code: "L-TSG", Name: "图书馆"},
		{Code: "L-CWC", Name: "财务处"}, {Code: "L-XSC", Name: "学生工作处"},
	}
	for _, d := range depts {
		d.CreatedAt = now
	}
	loadInsert(b, db, &depts)
	opens, closes := now.Add(-30*24*time.Hour), now.Add(60*24*time.Hour)
	items := []*store.ChargeItem{
		{Code: "L-TUITION-2026", Name: "2026学年学费", DepartmentID: depts[0].ID, Category: "tuition"},
		{Code: "L-DORM-2026", Name: "2026学年住宿费", DepartmentID: depts[1].ID, Category: "accommodation", PartialAllowed: true},
		{Code: "L-BOOKS-2026", Name: "2026秋季教材费", DepartmentID: depts[2].ID, Category: "textbook"},
	}
	for _, it := range items {
		it.Audience, it.Pricing, it.Status = store.AudienceInternal, store.PricingPerBill, store.ItemApproved
		it.OpensAt, it.ClosesAt, it.CreatedAt, it.UpdatedAt = &opens, &closes, now, now
	}
	loadInsert(b, db, &items)

	surnames := []rune("张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高")
	given := []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超", "秀英", "华", "丹", "鹏", "宇航", "子涵"}
	due := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	amounts := []int64{5_500_00, 1_200_00, 386_50}
	for first := 1; first <= loadPayers; first += loadChunk {
		users := make([]*store.User, 0, loadChunk)
		for i := first; i < first+loadChunk && i <= loadPayers; i++ {
			no := fmt.Sprintf("%s%06d", loadLoginPrefix, i)
			users = append(users, &store.User{Login: no, Name: string(surnames[i%len(surnames)]) + given[(i*7)%len(given)],
				PasswordHash: hash, Roles: store.RolePayer, PayerNo: &no, Phone: fmt.Sprintf("139%08d", i),
				Unit: "计算机学院", ClassName: fmt.Sprintf("计算机26%02d班", i%40), Status: "active", CreatedAt: now, UpdatedAt: now})
		}
		loadInsert(b, db, &users)
		bills := make([]*store.Bill, 0, len(users)*loadBillsEach)
		for _, u := range users {
			for k, it := range items {
				bills = append(bills, &store.Bill{BillNo: fmt.Sprintf("%s-%s", it.Code, u.Login), Source: "import", ItemID: it.ID,
					PayerID: &u.ID, PayerType: "internal", PayerName: u.Name, AmountDueFen: amounts[k], Status: store.BillUnpaid,
					DueDate: &due, CreatedAt: now, UpdatedAt: now})
			}
		}
		for len(bills) > 0 {
			n := min(loadChunk, len(bills))
			chunk := bills[:n]
			loadInsert(b, db, &chunk)
			bills = bills[n:]
		}
	}
}

func loadInsert(b *testing.B, db bun.IDB, rows any) {
	b.Helper()
	if _, err := db.NewInsert().Model(rows).Exec(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// loadSignIn signs n distinct payers, picked at random, in through auth.SignIn — the code
// a successful /login runs after the password check — with the platform's session storage
// on db, and returns their session cookies. It saves the bcrypt check of /login, about
// 60 ms of CPU each.
func loadSignIn(b *testing.B, db *bun.DB, n int) []string {
	b.Helper()
	sessions := auth.NewSessions(db, false, 2*time.Hour, []byte("load-test-csrf-key-0123456789abcdef"))
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/signin/:login", sessions.Middleware(), func(c *fiber.Ctx) error {
		u := new(store.User)
		if err := db.NewSelect().Model(u).Where("login = ?", c.Params("login")).Scan(c.Context()); err != nil {
			return err
		}
		return auth.SignIn(c, u, 0)
	})
	rng := rand.New(rand.NewPCG(2026, 9))
	cookies := make([]string, 0, n)
	for _, i := range rng.Perm(loadPayers)[:n] {
		resp, err := app.Test(httptest.NewRequest("GET", fmt.Sprintf("/signin/%s%06d", loadLoginPrefix, i+1), nil), -1)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("sign-in of payer %d: status %d", i+1, resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "campuspay_session" && c.Value != "" {
				cookies = append(cookies, c.Value)
			}
		}
	}
	if len(cookies) != n {
		b.Fatalf("signed in %d payers, want %d", len(cookies), n)
	}
	return cookies
}

type loadResult struct {
	durations []time.Duration // of the requests that succeeded after warm-up
	errors    int
	firstErr  string
	peakRSS   int64
}

// loadDrive runs loadConns client goroutines, each on a keep-alive connection of its own,
// asking for GET /pay with a random session, for loadWarmup and then loadDuration, and
// samples the server's resident memory meanwhile.
func loadDrive(b *testing.B, target string, cookies []string, pid int) loadResult {
	b.Helper()
	tr := &http.Transport{MaxIdleConns: loadConns, MaxIdleConnsPerHost: loadConns, MaxConnsPerHost: loadConns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	measureFrom := time.Now().Add(loadWarmup)
	end := measureFrom.Add(loadDuration)

	var res loadResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range loadConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 64))
			durations := make([]time.Duration, 0, 1<<14)
			var errs int
			var firstErr string
			buf := new(bytes.Buffer)
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				req, _ := http.NewRequest("GET", target+"/pay", nil)
				req.Header.Set("Cookie", "campuspay_session="+cookies[rng.IntN(len(cookies))])
				err := loadGet(client, req, buf)
				d := time.Since(t0)
				switch {
				case t0.Before(measureFrom):
				case err != nil:
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				default:
					durations = append(durations, d)
				}
			}
			mu.Lock()
			res.durations = append(res.durations, durations...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if m, err := readMemory(pid); err == nil && m.rss > peak.Load() {
					peak.Store(m.rss)
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-sampled
	res.peakRSS = peak.Load()
	return res
}

// loadGet fetches the bills page and checks that it is one: 200 and the list of bills.
func loadGet(client *http.Client, req *http.Request, buf *bytes.Buffer) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /pay: status %d", resp.StatusCode)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`class="bill-check"`)) {
		return fmt.Errorf("GET /pay: no bills on the page (%d bytes)", buf.Len())
	}
	return nil
}

type memory struct{ rss, hwm int64 } // bytes

// readMemory reads VmRSS (resident now) and VmHWM (peak resident) of a process.
func readMemory(pid int) (memory, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	var m memory
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "VmHWM:":
			m.hwm = kb << 10
		}
	}
	return m, nil
}

func loadMemory(b *testing.B, pid int) memory {
	b.Helper()
	m, err := readMemory(pid)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(p*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }
