package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/store"
)

// SIGTERM on a real process with a request in flight (its body is half sent: the test
// decides when it ends) and a job running (a callback the test's receiver holds): the
// instance turns unready, stops accepting, answers the request, lets the job finish, and
// exits cleanly.
func TestSIGTERMFinishesRequestAndJobThenExits(t *testing.T) {
	dir := t.TempDir()
	in := start(t, nil, "-data", dir, "-drain", "2s")
	db, err := store.OpenSQLite(filepath.Join(dir, "campuspay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	recv := newReceiver(true)
	hook := httptest.NewServer(recv)
	defer hook.Close()
	defer func() {
		select {
		case <-recv.release:
		default:
			close(recv.release)
		}
	}()
	if _, err := db.NewUpdate().Table("clients").Set("callback_url = ?", hook.URL+"/callbacks").
		Where("app_id = ?", "demo-admissions").Exec(ctx(t)); err != nil {
		t.Fatal(err)
	}
	allowReceiver(t, db, hook.URL)
	api := client.New(in.URL, "demo-admissions", demoClientSecret)
	if _, err := api.CreateBill(ctx(t), newBill("TERM-0001")); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CancelBill(ctx(t), "TERM-0001"); err != nil {
		t.Fatal(err)
	}
	// The callbacks job (every 5 s) posts bill.cancelled; the receiver holds it.
	var eventID string
	select {
	case eventID = <-recv.arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("no callback within 60 s")
	}

	slow := startSlowRequest(t, in.URL, "TERM-0002")
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "/readyz answering 503 after SIGTERM", func() bool {
		code := status(in.URL + "/readyz")
		if code == 0 {
			t.Fatal("the listener closed before /readyz said not ready")
		}
		return code == http.StatusServiceUnavailable
	})
	if code := status(in.URL + "/healthz"); code != http.StatusOK {
		t.Errorf("healthz while draining: %d, want 200 (alive, only not ready)", code)
	}
	waitUntil(t, 15*time.Second, "the listener closing", func() bool { return listenerClosed(in.URL) })

	code, body := slow.finish(t)
	if code != http.StatusCreated || !strings.Contains(body, "TERM-0002") {
		t.Errorf("the request in flight at SIGTERM: %d %s, want 201 with the bill", code, body)
	}
	select {
	case <-in.done:
		t.Fatal("the process exited while its job was still running")
	default:
	}
	close(recv.release)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not exit within 30 s of its job finishing")
	}
	if in.err != nil {
		t.Errorf("exit: %v, want status 0\n%s", in.err, tail(in.stderr.String(), 3000))
	}

	var ev store.Event
	if err := db.NewSelect().Model(&ev).Where("event_id = ?", eventID).Scan(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ev.Status != "delivered" {
		t.Errorf("the callback the job was delivering at SIGTERM: status %s, want delivered", ev.Status)
	}
	n, err := db.NewSelect().Table("bills").Where("bill_no = ?", "TERM-0002").Count(ctx(t))
	if err != nil || n != 1 {
		t.Errorf("bill of the request in flight: %d rows (%v), want 1", n, err)
	}
	if !strings.Contains(in.stderr.String(), `"msg":"shutting down: not ready"`) {
		t.Errorf("the log does not say the instance turned unready")
	}
}
