package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"campuspay/app/egress"
)

// allow returns a guard whose allow-list is list.
func allow(list string) *egress.Guard {
	return &egress.Guard{AllowList: func(context.Context) string { return list }}
}

func TestPermit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		host    string
		port    uint16
		addr    string
		refused bool
		allowed string // an allow-list that lets it through ("" for public addresses)
	}{
		{"127.0.0.2", 80, "127.0.0.2", true, "127.0.0.0/8"},
		{"169.254.169.254", 80, "169.254.169.254", true, "169.254.169.254"},
		{"::1", 80, "::1", true, "::1/128"},
		{"localhost", 6379, "127.0.0.1", true, "localhost:6379"},
		{"evil.example", 80, "127.0.0.1", true, "127.0.0.1"}, // a name that resolves inward
		{"::ffff:127.0.0.1", 80, "::ffff:127.0.0.1", true, "127.0.0.1/32"},
		{"::ffff:169.254.169.254", 80, "::ffff:169.254.169.254", true, "169.254.0.0/16"},
		{"64:ff9b::a9fe:a9fe", 80, "64:ff9b::a9fe:a9fe", true, "64:ff9b::a9fe:a9fe"}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", 80, "2002:7f00:1::1", true, "2002::/16"},                  // 6to4 of 127.0.0.1
		{"10.20.1.5", 8080, "10.20.1.5", true, "10.20.1.5:8080"},
		{"172.16.0.1", 80, "172.16.0.1", true, "172.16.0.0/12"},
		{"192.168.1.1", 80, "192.168.1.1", true, "192.168.0.0/16"},
		{"100.64.0.1", 80, "100.64.0.1", true, "100.64.0.0/10"},
		{"0.0.0.0", 80, "0.0.0.0", true, "0.0.0.0/8"},
		{"::", 80, "::", true, "::/128"},
		{"fe80::1", 80, "fe80::1%eth0", true, "fe80::/10"},
		{"fd12::1", 80, "fd12::1", true, "fc00::/7"},
		{"224.0.0.1", 80, "224.0.0.1", true, "224.0.0.0/4"},
		{"ff02::1", 80, "ff02::1", true, "ff00::/8"},
		{"255.255.255.255", 80, "255.255.255.255", true, "255.255.255.255"},
		{"pay.example.com", 443, "203.0.113.9", false, ""},
		{"8.8.8.8", 53, "8.8.8.8", false, ""},
		{"172.32.0.1", 80, "172.32.0.1", false, ""},
		{"100.128.0.1", 80, "100.128.0.1", false, ""},
		{"2001:db8::1", 80, "2001:db8::1", false, ""},
	}
	for _, tt := range tests {
		addr := netip.MustParseAddr(tt.addr)
		err := (&egress.Guard{}).Permit(ctx, tt.host, tt.port, addr)
		var r *egress.Refused
		if got := errors.As(err, &r); got != tt.refused {
			t.Errorf("Permit(%s:%d → %s) without allow-list = %v, want refused %v", tt.host, tt.port, tt.addr, err, tt.refused)
		}
		if tt.refused && (r.Kind == "" || !strings.Contains(r.Reason(), "属于")) {
			t.Errorf("Permit(%s) reason %q, want what the address is", tt.addr, r.Reason())
		}
		if tt.allowed != "" {
			if err := allow(tt.allowed).Permit(ctx, tt.host, tt.port, addr); err != nil {
				t.Errorf("Permit(%s:%d → %s) with allow-list %q = %v, want allowed", tt.host, tt.port, tt.addr, tt.allowed, err)
			}
		}
	}
	// A host:port entry names that port only, and that host only.
	g := allow("localhost:6379, 10.20.1.5:8080")
	for _, c := range []struct {
		host string
		port uint16
		addr string
	}{{"localhost", 6380, "127.0.0.1"}, {"127.0.0.1", 6379, "127.0.0.1"}, {"10.20.1.5", 80, "10.20.1.5"}} {
		if err := g.Permit(ctx, c.host, c.port, netip.MustParseAddr(c.addr)); err == nil {
			t.Errorf("Permit(%s:%d) allowed by a host:port entry for another port or host", c.host, c.port)
		}
	}
	// Trusted host:port pairs (the platform's own simulators) pass without the allow-list.
	if err := (&egress.Guard{}).Permit(ctx, "127.0.0.1", 8080, netip.MustParseAddr("127.0.0.1"), "127.0.0.1:8080"); err != nil {
		t.Errorf("trusted address refused: %v", err)
	}
}

// listen serves 200 on address and counts the connections it accepts.
func listen(t *testing.T, network, address string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", address, err)
	}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, &conns
}

// TestClientRefusesInternalAddresses sends the probes of the security test through a
// guarded client: refused before any connection without the allow-list, answered with it.
func TestClientRefusesInternalAddresses(t *testing.T) {
	p1, c1 := listen(t, "tcp4", "127.0.0.1:0")
	p2, c2 := listen(t, "tcp4", "127.0.0.2:0")
	p6, c6 := listen(t, "tcp6", "[::1]:0")
	probes := []struct {
		url   string
		conns *atomic.Int64
		allow string
	}{
		{"http://127.0.0.2:" + p2 + "/cb", c2, "127.0.0.2"},
		{"http://[::1]:" + p6 + "/cb", c6, "::1"},
		{"http://localhost:" + p1 + "/cb", c1, "localhost:" + p1}, // a name resolving to 127.0.0.1
		{"http://[::ffff:127.0.0.1]:" + p1 + "/cb", c1, "127.0.0.1/32"},
	}
	for _, pr := range probes {
		before := pr.conns.Load()
		resp, err := (&egress.Guard{}).Client(egress.Options{}).Get(pr.url)
		var r *egress.Refused
		if err == nil {
			resp.Body.Close()
		}
		if !errors.As(err, &r) {
			t.Errorf("GET %s without allow-list: %v, want refused", pr.url, err)
		}
		if n := pr.conns.Load() - before; n != 0 {
			t.Errorf("GET %s without allow-list reached the server (%d connections)", pr.url, n)
		}
		resp, err = allow(pr.allow).Client(egress.Options{}).Get(pr.url)
		if err != nil {
			t.Errorf("GET %s with allow-list %q: %v, want 200", pr.url, pr.allow, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with allow-list: status %d, want 200", pr.url, resp.StatusCode)
		}
	}
	// Nothing needs to listen for these: the guard refuses before connecting.
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://localhost:6379/", "http://0.0.0.0:" + p1 + "/"} {
		_, err := (&egress.Guard{}).Client(egress.Options{}).Get(u)
		var r *egress.Refused
		if !errors.As(err, &r) {
			t.Errorf("GET %s: %v, want refused", u, err)
		}
	}
	// With localhost:6379 allowed the guard lets the dial through: whatever answers (or
	// not) on that port, it is not the guard's refusal.
	if _, err := allow("localhost:6379").Client(egress.Options{}).Get("http://localhost:6379/"); err != nil {
		var r *egress.Refused
		if errors.As(err, &r) {
			t.Errorf("GET localhost:6379 with it allowed: %v", err)
		}
	}
}

func TestClientRedirects(t *testing.T) {
	port, _ := listen(t, "tcp4", "127.0.0.1:0")
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:"+port+"/healthz", http.StatusFound))
	defer redirect.Close()
	_, rport, _ := net.SplitHostPort(strings.TrimPrefix(redirect.URL, "http://"))
	g := allow("127.0.0.1:" + rport) // the first hop only
	resp, err := g.Client(egress.Options{NoRedirects: true}).Get(redirect.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("NoRedirects: status %d, want the 302 itself", resp.StatusCode)
	}
	// Followed, the next hop is dialled through the guard too, and refused.
	_, err = g.Client(egress.Options{}).Get(redirect.URL)
	var r *egress.Refused
	if !errors.As(err, &r) {
		t.Errorf("redirect to an internal address: %v, want refused", err)
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		url, allow string
		ok         bool
	}{
		{"https://exam.example.edu.cn/cb", "", true},
		{"http://203.0.113.9:8080/cb", "", true},
		{"http://127.0.0.2/cb", "", false},
		{"http://169.254.169.254/latest", "", false},
		{"http://[::1]:8080/cb", "", false},
		{"http://localhost:6379/", "", false},
		{"http://LOCALHOST./", "", false},
		{"http://api.localhost/", "", false},
		{"http://[::ffff:10.0.0.1]/", "", false},
		{"http://10.20.1.5:8080/cb", "", false},
		{"http://10.20.1.5:8080/cb", "10.20.0.0/16", true},
		{"http://10.20.1.5:8080/cb", "10.20.1.5:8080", true},
		{"http://10.20.1.5/cb", "10.20.1.5:8080", false},
		{"http://localhost:6379/", "localhost:6379", true},
		{"ftp://exam.example.edu.cn/", "", false},
		{"http:///cb", "", false},
		{"http://exam.example.edu.cn:99999/", "", false},
	}
	for _, tt := range tests {
		if err := allow(tt.allow).CheckURL(ctx, tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) with allow-list %q = %v, want ok %v", tt.url, tt.allow, err, tt.ok)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		in, want string // want "" with err: refused
		err      bool
	}{
		{"", "", false},
		{"10.20.0.0/16", "10.20.0.0/16", false},
		{"10.20.3.4/16，10.20.0.0/16", "10.20.0.0/16", false}, // masked, deduplicated
		{" 10.1.2.3 ; fd00::5\nOA.Campus.edu.cn:8443 [FD00::5]:443", "10.1.2.3\nfd00::5\noa.campus.edu.cn:8443\n[fd00::5]:443", false},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", false},
		{"0.0.0.0/0", "", true},
		{"10.0.0.0/33", "", true},
		{"oa.campus.edu.cn", "", true}, // a name needs its port
		{"oa.campus.edu.cn:0", "", true},
		{"oa.campus.edu.cn:70000", "", true},
		{"oa_campus:80", "", true},
		{"http://10.0.0.1/", "", true},
		{"fe80::1%eth0", "", true},
	}
	for _, tt := range tests {
		a, err := egress.ParseAllowList(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseAllowList(%q) error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && a.String() != tt.want {
			t.Errorf("ParseAllowList(%q) = %q, want %q", tt.in, a.String(), tt.want)
		}
	}
	many := strings.Repeat("10.0.0.1,", 101)
	if _, err := egress.ParseAllowList(many); err == nil {
		t.Errorf("ParseAllowList of 101 entries: no error")
	}
}
