package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"campuspay/app/server/servertest"
	"campuspay/app/settings"
)

// Over the configured rate a client is answered 429 rate_limited with Retry-After; another
// client is not affected, and a stranger's badly signed requests do not spend the rate.
func TestAPIRateLimitPerClient(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		const rate = 10
		if _, err := p.Settings.Set(context.Background(), settings.APIRatePerMinute, strconv.Itoa(rate), "admin"); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, p, "busy-system", false)
		other := newClient(t, p, "quiet-system", false)
		const path = "/api/v1/bills/NO-SUCH-BILL"
		for range 5 { // forged: refused as unauthorized, not counted against the client
			if code, _ := send(t, c, "GET", path, nil, forgeSignature); code != http.StatusUnauthorized {
				t.Fatalf("forged request: status %d, want 401", code)
			}
		}
		for i := range rate {
			if code, errCode := send(t, c, "GET", path, nil, nil); code != http.StatusNotFound {
				t.Fatalf("request %d: status %d %s, want 404 (within the rate)", i+1, code, errCode)
			}
		}
		req, _ := http.NewRequest("GET", c.BaseURL+path, nil)
		c.Sign(req, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 60 {
			t.Errorf("request %d: status %d Retry-After %q, want 429 with 1-60 seconds", rate+1, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if code, errCode := send(t, c, "GET", path, nil, nil); code != http.StatusTooManyRequests || errCode != "rate_limited" {
			t.Errorf("over the rate: status %d code %q, want 429 rate_limited", code, errCode)
		}
		if code, _ := send(t, other, "GET", path, nil, nil); code != http.StatusNotFound {
			t.Errorf("another client: status %d, want 404", code)
		}
	})
}
