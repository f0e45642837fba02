package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/app/server/servertest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// scrapeMetrics reads an instance's /metrics with the token.
func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s/metrics: %d", base, resp.StatusCode)
	}
	return string(b)
}

// sample sums the samples of a metric whose labels include the given pairs.
func sample(body, name string, labels ...string) float64 {
	total := 0.0
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && strings.Contains(rest, labels[i]+`="`+labels[i+1]+`"`)
		}
		if f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64); match && err == nil {
			total += f
		}
	}
	return total
}

var orderNoRE = regexp.MustCompile(`/pay/orders/(P[0-9]+)$`)

// Two real platform binaries on one MariaDB, as behind a load balancer.
func TestTwoInstancesOnOneDatabase(t *testing.T) {
	if os.Getenv(storetest.EnvMySQL) == "" {
		t.Skip("two instances share one MySQL/MariaDB: set " + storetest.EnvMySQL + " (CI does); SQLite is one process's database")
	}
	dsn := storetest.MySQLDSN(t)
	a := start(t, nil, "-db", dsn, "-demo", "-data", t.TempDir())
	b := start(t, nil, "-db", dsn, "-demo", "-data", t.TempDir())
	db, err := store.Open(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	recv := newReceiver(false)
	hook := httptest.NewServer(recv)
	defer hook.Close()
	if _, err := db.NewUpdate().Table("clients").Set("callback_url = ?", hook.URL+"/callbacks").
		Where("app_id = ?", "demo-admissions").Exec(ctx(t)); err != nil {
		t.Fatal(err)
	}
	allowReceiver(t, db, hook.URL)

	t.Run("sign-in form shown by one is accepted by the other", func(t *testing.T) {
		// The form's token needs no session row: it comes from the browser's cookie and a
		// key both instances derive from the secret they share.
		jar, _ := cookiejar.New(nil)
		br := &servertest.Browser{T: t, Base: a.URL, Client: &http.Client{Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		br.Get("/login")
		br.Base = b.URL
		code, body, _ := br.Post("/login", url.Values{"login": {"2026000002"}, "password": {"pay123456"}, "next": {"/pay"}})
		if code != http.StatusSeeOther {
			t.Fatalf("POST /login to the second instance with the first's form: %d, want 303\n%s", code, body)
		}
	})

	t.Run("session made on one is honoured by the other", func(t *testing.T) {
		jar, _ := cookiejar.New(nil) // cookies are per host, not port: both instances get them
		br := &servertest.Browser{T: t, Base: a.URL, Client: &http.Client{Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		br.Login("2026000001", "pay123456")
		br.Base = b.URL
		code, page := br.Get("/pay")
		if code != http.StatusOK || !strings.Contains(page, "住宿费") {
			t.Fatalf("GET /pay on the second instance with the first's session: %d, want the payer's bills", code)
		}

		// A notification delivered to either credits once: the sandbox notifies the first
		// instance; the same notification then reaches both at once.
		var dorm int64
		if err := db.NewSelect().TableExpr("bills AS b").ColumnExpr("b.id").
			Join("JOIN charge_items AS ci ON ci.id = b.item_id").Join("JOIN users AS u ON u.id = b.payer_id").
			Where("u.payer_no = ? AND ci.code = ?", "2026000001", "DORM-2026").Scan(ctx(t), &dorm); err != nil {
			t.Fatal(err)
		}
		br.Get("/pay")
		code, body, resp := br.Post("/pay/orders", url.Values{"bill": {strconv.FormatInt(dorm, 10)}, "channel": {"sandbox"}})
		m := orderNoRE.FindStringSubmatch(resp.Header.Get("Location"))
		if code != http.StatusSeeOther || m == nil {
			t.Fatalf("create order on the second instance: %d %s", code, body)
		}
		orderNo := m[1]
		var order store.Order
		if err := db.NewSelect().Model(&order).Where("order_no = ?", orderNo).Scan(ctx(t)); err != nil {
			t.Fatal(err)
		}
		cr, err := http.Post(order.PayURL+"/confirm", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		cr.Body.Close()
		var note store.Notification
		waitUntil(t, 30*time.Second, "the sandbox's notification applied", func() bool {
			return db.NewSelect().Model(&note).Where("order_no = ? AND outcome = 'applied'", orderNo).Limit(1).Scan(ctx(t)) == nil
		})
		var header http.Header
		if err := json.Unmarshal([]byte(note.Headers), &header); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		acks := make([]int, 4)
		for i, base := range []string{a.URL, b.URL, a.URL, b.URL} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", base+"/notify/sandbox", bytes.NewReader([]byte(note.Body)))
				for k, vs := range header {
					if k != "Content-Length" {
						req.Header[k] = vs
					}
				}
				if resp, err := http.DefaultClient.Do(req); err == nil {
					acks[i] = resp.StatusCode
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		for i, code := range acks {
			if code != http.StatusOK {
				t.Errorf("copy %d of the notification: status %d, want 200 (acknowledged as applied before)", i, code)
			}
		}
		var bill store.Bill
		db.NewSelect().Model(&bill).Where("id = ?", dorm).Scan(ctx(t))
		payments, _ := db.NewSelect().Table("payments").Where("order_id = ?", order.ID).Count(ctx(t))
		if payments != 1 || bill.AmountPaidFen != 120000 {
			t.Errorf("after 5 copies on two instances: %d payments, bill paid %d fen; want 1 and 120000", payments, bill.AmountPaidFen)
		}
		dups, _ := db.NewSelect().Table("notifications").Where("order_no = ? AND outcome = 'duplicate'", orderNo).Count(ctx(t))
		if dups != 4 {
			t.Errorf("duplicates recorded: %d, want 4", dups)
		}
	})

	apiA := client.New(a.URL, "demo-admissions", demoClientSecret)
	apiB := client.New(b.URL, "demo-admissions", demoClientSecret)
	t.Run("API idempotency holds across both", func(t *testing.T) {
		first, err := apiA.CreateBill(ctx(t), newBill("MULTI-0001"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := apiB.CreateBill(ctx(t), newBill("MULTI-0001"))
		if err != nil || again.CreatedAt != first.CreatedAt {
			t.Errorf("the same bill on the other instance: %+v %v, want the first bill", again, err)
		}
		other := newBill("MULTI-0001")
		other.Amount = 16000
		var ae *client.Error
		if _, err := apiB.CreateBill(ctx(t), other); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
			t.Errorf("other content under the same bill_no on the other instance: %v, want 409", err)
		}
		// Both at once, many times: one bill each.
		var wg sync.WaitGroup
		for i := range 10 {
			for _, api := range []*client.Client{apiA, apiB} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := api.CreateBill(ctx(t), newBill(fmt.Sprintf("MULTI-R%02d", i))); err != nil {
						t.Errorf("racing create %d: %v", i, err)
					}
				}()
			}
		}
		wg.Wait()
		n, _ := db.NewSelect().Table("bills").Where("bill_no LIKE 'MULTI-R%'").Count(ctx(t))
		if n != 10 {
			t.Errorf("racing creates made %d bills, want 10", n)
		}
	})

	t.Run("callbacks delivered once each, jobs run on one instance", func(t *testing.T) {
		for i := range 6 {
			api := apiA
			if i%2 == 1 {
				api = apiB
			}
			if _, err := api.CancelBill(ctx(t), fmt.Sprintf("MULTI-R%02d", i)); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		if err := db.NewSelect().Table("events").Column("event_id").Where("client = ?", "demo-admissions").Scan(ctx(t), &ids); err != nil {
			t.Fatal(err)
		}
		if len(ids) < 6 {
			t.Fatalf("%d callbacks queued, want at least 6", len(ids))
		}
		waitUntil(t, 60*time.Second, "every callback delivered", func() bool {
			for _, id := range ids {
				if recv.count(id) == 0 {
					return false
				}
			}
			return true
		})
		// Let the job run twice more on whichever instance leads: a second delivery would
		// have happened by then.
		runs := func() float64 {
			return sample(scrapeMetrics(t, a.URL), "campuspay_job_runs_total", "job", "deliver-callbacks") +
				sample(scrapeMetrics(t, b.URL), "campuspay_job_runs_total", "job", "deliver-callbacks")
		}
		before := runs()
		waitUntil(t, 30*time.Second, "two more runs of the callbacks job", func() bool { return runs() >= before+2 })
		for _, id := range ids {
			if n := recv.count(id); n != 1 {
				t.Errorf("callback %s received %d times, want once", id, n)
			}
		}
		ma, mb := scrapeMetrics(t, a.URL), scrapeMetrics(t, b.URL)
		for _, job := range []string{"deliver-callbacks"} {
			ra, rb := sample(ma, "campuspay_job_runs_total", "job", job), sample(mb, "campuspay_job_runs_total", "job", job)
			if ra+rb < 2 || ra != 0 && rb != 0 {
				t.Errorf("job %s ran %v times on one instance and %v on the other; want it on one only", job, ra, rb)
			}
		}
		held := sample(ma, "campuspay_job_lease_held", "lease", "scheduler") + sample(mb, "campuspay_job_lease_held", "lease", "scheduler")
		if held != 1 {
			t.Errorf("instances holding the scheduler lease: %v, want exactly 1", held)
		}
	})
}
