// Package egress guards the platform's server-side requests: callbacks to business
// systems, single sign-on (CAS, OIDC discovery, keys and tokens), the campus card system
// and the bank. A connection to a loopback, link-local, private, shared (CGNAT),
// unspecified, multicast or reserved address is refused when it is dialled — on the
// address actually connected to, after name resolution, so a name that resolves inward
// is refused too — unless the administrator's allow-list (系统参数) or the start-up
// configuration names it.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Refused is a connection the guard would not open.
type Refused struct {
	Host string     // the host as requested (a name or an address)
	Addr netip.Addr // the address it came to
	Kind string     // what sort of address it is, in Chinese (回环地址, 私有网络地址, …)
}

func (e *Refused) Error() string {
	return fmt.Sprintf("egress: %s (%s) is an internal address not on the allow-list", e.Host, e.Addr)
}

// Reason says in Chinese what was refused, for the console.
func (e *Refused) Reason() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("%s 解析为 %s，属于%s", e.Host, e.Addr, e.Kind)
	}
	return fmt.Sprintf("%s 属于%s", e.Addr, e.Kind)
}

// internal lists what is refused by default, with what each is called.
var internal = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "未指定地址"},
	{netip.MustParsePrefix("127.0.0.0/8"), "回环地址"},
	{netip.MustParsePrefix("10.0.0.0/8"), "私有网络地址"},
	{netip.MustParsePrefix("172.16.0.0/12"), "私有网络地址"},
	{netip.MustParsePrefix("192.168.0.0/16"), "私有网络地址"},
	{netip.MustParsePrefix("100.64.0.0/10"), "运营商共享地址（CGNAT）"},
	{netip.MustParsePrefix("169.254.0.0/16"), "链路本地地址"},
	{netip.MustParsePrefix("224.0.0.0/4"), "组播地址"},
	{netip.MustParsePrefix("240.0.0.0/4"), "保留地址"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/128"), "未指定地址"},
	{netip.MustParsePrefix("::1/128"), "回环地址"},
	{netip.MustParsePrefix("::/96"), "保留地址"}, // IPv4-compatible, deprecated
	{netip.MustParsePrefix("fe80::/10"), "链路本地地址"},
	{netip.MustParsePrefix("fec0::/10"), "私有网络地址"}, // site-local, deprecated
	{netip.MustParsePrefix("fc00::/7"), "私有网络地址"},
	{netip.MustParsePrefix("ff00::/8"), "组播地址"},
}

// Translations that carry an IPv4 address inside an IPv6 one: the inner address decides.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Internal reports whether a is an address the guard refuses by default, and what it is.
// IPv4-mapped (::ffff:a.b.c.d), NAT64 and 6to4 forms are judged by the IPv4 address
// they carry.
func Internal(a netip.Addr) (kind string, ok bool) {
	a = a.WithZone("").Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return Internal(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo4.Contains(a):
			return Internal(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, r := range internal {
		if r.prefix.Contains(a) {
			return r.kind, true
		}
	}
	return "", false
}

// Guard opens the platform's outbound connections. The zero value refuses every internal
// address.
type Guard struct {
	// AllowList returns the administrator's allow-list as stored (see ParseAllowList);
	// nil: none.
	AllowList func(ctx context.Context) string

	mu     sync.Mutex
	raw    string
	parsed AllowList
}

// allowList parses the current allow-list, keeping the last parse while it is unchanged.
// A stored value that no longer parses allows nothing.
func (g *Guard) allowList(ctx context.Context) AllowList {
	if g == nil || g.AllowList == nil {
		return AllowList{}
	}
	raw := g.AllowList(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if raw != g.raw {
		g.parsed, _ = ParseAllowList(raw)
		g.raw = raw
	}
	return g.parsed
}

// Permit decides whether a connection to addr may be opened for a request to host:port
// (host as the URL names it). trust lists host:port pairs the start-up configuration
// names; they, and what the allow-list names, may be internal.
func (g *Guard) Permit(ctx context.Context, host string, port uint16, addr netip.Addr, trust ...string) error {
	kind, bad := Internal(addr)
	if !bad {
		return nil
	}
	hp := hostPort(host, port)
	for _, t := range trust {
		if normalHostPort(t) == hp {
			return nil
		}
	}
	if g.allowList(ctx).Allows(hp, addr) {
		return nil
	}
	return &Refused{Host: host, Addr: addr.WithZone("").Unmap(), Kind: kind}
}

// CheckURL is the check made when an address is entered (a callback URL): http or https,
// a host, and no literal internal address (or localhost) that the allow-list does not
// name. Names are resolved only when dialled, where the real check is.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := parseHTTP(raw)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(u.host)
	if err != nil {
		if u.host != "localhost" && !strings.HasSuffix(u.host, ".localhost") {
			return nil
		}
		addr = netip.AddrFrom4([4]byte{127, 0, 0, 1}) // localhost is loopback whatever a resolver says
	}
	return g.Permit(ctx, u.host, u.port, addr)
}

// target is where an http(s) URL connects.
type target struct {
	host string // lowercase, without brackets
	port uint16 // the URL's, or the scheme's
}

func parseHTTP(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return target{}, errors.New("egress: not an http(s) URL with a host")
	}
	t := target{host: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), port: 80}
	if u.Scheme == "https" {
		t.port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return target{}, errors.New("egress: bad port")
		}
		t.port = uint16(n)
	}
	return t, nil
}

// Options shape a guarded client.
type Options struct {
	Timeout time.Duration // whole request; 0: none
	// NoRedirects: a 3xx is the answer (callbacks). Otherwise redirects are followed, each
	// hop dialled through the guard again.
	NoRedirects bool
	// Trust lists host:port pairs that may be internal whatever the allow-list says: the
	// platform's own simulators, named by the start-up configuration (-base-url).
	Trust []string
}

// Client returns an HTTP client whose every connection goes through the guard. It uses
// no proxy: a proxy would dial on the guard's behalf, out of its sight.
func (g *Guard) Client(o Options) *http.Client {
	c := &http.Client{Timeout: o.Timeout, Transport: g.Transport(o.Trust...)}
	if o.NoRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// Transport returns a transport whose connections go through the guard.
func (g *Guard) Transport(trust ...string) *http.Transport {
	return &http.Transport{
		DialContext:           g.dialer(trust),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// dialer dials address (host:port as requested) and lets the connection be opened only
// to an address Permit accepts: the check runs in the dialer's Control, on each address
// the name resolved to, just before connecting.
func (g *Guard) dialer(trust []string) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, portText, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("egress: port %q: %w", portText, err)
		}
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
			ControlContext: func(ctx context.Context, _, dialled string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(dialled)
				if err != nil {
					return fmt.Errorf("egress: dialled address %q: %w", dialled, err)
				}
				return g.Permit(ctx, host, uint16(port), ap.Addr(), trust...)
			}}
		return d.DialContext(ctx, network, address)
	}
}
