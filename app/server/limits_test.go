package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"campuspay/app/server/servertest"
)

// rawPost sends a POST over a bare connection, its body of size bytes either with a
// Content-Length or chunked (in 32 KB chunks), and reads the answer while the body is
// still being written: a server that stops reading must still answer, not reset.
func rawPost(t *testing.T, base, path string, size int, chunked bool) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second)) // a hung server fails the test instead of hanging it
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: campuspay.test\r\nContent-Type: application/json\r\n", path)
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	go func() { // ends with an error when the server closes the connection
		w := bufio.NewWriter(conn)
		w.WriteString(head)
		chunk := strings.Repeat("x", 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			part := chunk[:min(len(chunk), size-sent)]
			if chunked {
				fmt.Fprintf(w, "%x\r\n%s\r\n", len(part), part)
			} else {
				w.WriteString(part)
			}
			if w.Flush() != nil {
				return
			}
		}
		if chunked {
			w.WriteString("0\r\n\r\n")
		}
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s (%d bytes, chunked %v): no answer: %v", path, size, chunked, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s (%d bytes, chunked %v): answer cut: %v", path, size, chunked, err)
	}
	return resp, string(body)
}

// TestOversizedRequestsAnswer413: a body over its route's limit, declared or chunked, gets
// API.md's JSON error 413 payload_too_large on /api and /notify, and the error page in
// Chinese elsewhere; nothing of it is stored.
func TestOversizedRequestsAnswer413(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, p *servertest.Platform) {
		for _, tt := range []struct {
			path string
			size int
		}{
			{"/api/v1/bills", 100 << 10},            // over one bill's 64 KB
			{"/api/v1/bills/B-1/cancel", 100 << 10}, // every path, even one that takes no body
			{"/api/v1/nowhere", 100 << 10},
			{"/api/v1/bills/batch", 9 << 20}, // over a batch's 8 MB
			{"/api/v1/bills", 20 << 20},      // over the server's 16 MB
			{"/notify/sandbox", 100 << 10},   // over a notification's 64 KB
			{"/notify/sandbox", 20 << 20},
		} {
			for _, chunked := range []bool{false, true} {
				resp, body := rawPost(t, p.URL, tt.path, tt.size, chunked)
				var e struct {
					Error struct{ Code, Message string }
				}
				if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "payload_too_large" {
					t.Errorf("POST %s %d bytes chunked=%v: %d %q, want 413 with code payload_too_large", tt.path, tt.size, chunked, resp.StatusCode, body)
				}
			}
		}
		for _, tt := range []struct {
			path string
			size int
		}{
			{"/login", 2 << 20},                  // a form: 1 MB
			{"/console/settings", 2 << 20},       // a form: 1 MB
			{"/console/roster/import", 20 << 20}, // an upload: 16 MB
		} {
			for _, chunked := range []bool{false, true} {
				resp, body := rawPost(t, p.URL, tt.path, tt.size, chunked)
				if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "提交的内容过大") || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("POST %s %d bytes chunked=%v: %d %s, want the 413 error page in Chinese", tt.path, tt.size, chunked, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
			}
		}
		// An upload route reads a 10 MB file (and, signed out, is sent to sign in).
		if resp, _ := rawPost(t, p.URL, "/console/roster/import", 10<<20, false); resp.StatusCode == http.StatusRequestEntityTooLarge {
			t.Errorf("POST /console/roster/import 10 MB: 413, want the upload read")
		}
		n, err := p.DB.NewSelect().Table("notifications").Count(t.Context())
		if err != nil || n != 0 {
			t.Errorf("notifications stored = %d (%v), want none", n, err)
		}
	})
}

// TestRejectedNotificationStoredTruncated: a forged notification under the size limit is
// refused and kept for inspection, but only its first 4 KB, marked with its length.
func TestRejectedNotificationStoredTruncated(t *testing.T) {
	// The sandbox's door exists only where the simulators run.
	servertest.Each(t, servertest.Options{Simulators: true}, func(t *testing.T, p *servertest.Platform) {
		body := `{"order_no":"P1","status":"SUCCESS","pad":"` + strings.Repeat("x", 40<<10) + `"}`
		resp, err := http.Post(p.URL+"/notify/sandbox", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("forged notification: status %d, want 400", resp.StatusCode)
		}
		var rows []struct {
			Body    string `bun:"body"`
			Outcome string `bun:"outcome"`
		}
		if err := p.DB.NewSelect().Table("notifications").Column("body", "outcome").Scan(t.Context(), &rows); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("[truncated: %d bytes received]", len(body))
		if len(rows) != 1 || rows[0].Outcome != "rejected" || len(rows[0].Body) > 5<<10 ||
			!strings.HasPrefix(rows[0].Body, `{"order_no":"P1"`) || !strings.HasSuffix(rows[0].Body, want) {
			for i := range rows {
				rows[i].Body = fmt.Sprintf("%d bytes ending %q", len(rows[i].Body), rows[i].Body[max(0, len(rows[i].Body)-60):])
			}
			t.Errorf("stored = %+v, want one rejected row of at most 5 KB ending %q", rows, want)
		}
	})
}
