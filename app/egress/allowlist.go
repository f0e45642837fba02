package egress

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AllowList is what the administrator lets the platform reach although it is internal:
// networks (CIDR, or a single address) and host:port pairs. A host:port pair names the
// host as the URL does: a name there is matched by name, whatever it resolves to.
type AllowList struct {
	Networks  []netip.Prefix
	HostPorts []string // lowercase host:port, an IPv6 host in brackets
}

// maxAllowEntries bounds the list; a school names a handful of systems.
const maxAllowEntries = 100

var hostNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$`)

// ParseAllowList reads entries separated by commas, semicolons or white space: a network
// (10.20.0.0/16), an address (10.20.1.5, fd00::5) or host:port (oa.campus.edu.cn:8443,
// 10.20.1.5:8080, [fd00::5]:443). The error is in Chinese, for the settings page.
func ParseAllowList(s string) (AllowList, error) {
	var a AllowList
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '，' || r == '；' || r == '、' || r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\u3000'
	})
	if len(fields) > maxAllowEntries {
		return AllowList{}, fmt.Errorf("最多 %d 项", maxAllowEntries)
	}
	for _, f := range fields {
		switch p, kind, err := parseEntry(f); {
		case err != nil:
			return AllowList{}, err
		case kind == "network":
			if !slices.Contains(a.Networks, p.(netip.Prefix)) {
				a.Networks = append(a.Networks, p.(netip.Prefix))
			}
		default:
			if hp := p.(string); !slices.Contains(a.HostPorts, hp) {
				a.HostPorts = append(a.HostPorts, hp)
			}
		}
	}
	return a, nil
}

func parseEntry(f string) (any, string, error) {
	bad := fmt.Errorf("「%s」须为网段（如 10.20.0.0/16）、IP 地址或「主机:端口」（如 oa.example.edu.cn:8443）", f)
	if strings.Contains(f, "/") {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, "", bad
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
		if min := minBits(p.Addr()); p.Bits() < min {
			return nil, "", fmt.Errorf("「%s」范围过大：网段前缀至少 /%d", f, min)
		}
		return p, "network", nil
	}
	if addr, err := netip.ParseAddr(f); err == nil {
		if addr.Zone() != "" {
			return nil, "", bad
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), "network", nil
	}
	host, port, err := net.SplitHostPort(f)
	if err != nil || host == "" {
		return nil, "", bad
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return nil, "", fmt.Errorf("「%s」的端口须为 1 到 65535", f)
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return nil, "", bad
		}
	} else if len(host) > 253 || !hostNameRE.MatchString(host) {
		return nil, "", bad
	}
	return hostPort(host, uint16(n)), "hostport", nil
}

// minBits is the widest network the list accepts: enough for any internal range
// (224.0.0.0/4, fc00::/7), never "everything".
func minBits(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 7
}

// unmapBits is how many bits an IPv4-mapped prefix loses when read as IPv4.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Allows reports whether the list names hostPort (as requested) or contains addr.
func (a AllowList) Allows(hostPort string, addr netip.Addr) bool {
	if slices.Contains(a.HostPorts, hostPort) {
		return true
	}
	addr = addr.WithZone("").Unmap()
	for _, p := range a.Networks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// String is the list as stored: one entry a line.
func (a AllowList) String() string {
	var lines []string
	for _, p := range a.Networks {
		if p.IsSingleIP() {
			lines = append(lines, p.Addr().String())
		} else {
			lines = append(lines, p.String())
		}
	}
	return strings.Join(append(lines, a.HostPorts...), "\n")
}

// hostPort is host:port in the form the guard compares: lowercase, an IP normalised.
func hostPort(host string, port uint16) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		host = addr.WithZone("").Unmap().String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// normalHostPort reads a trusted "host:port" into the form hostPort makes.
func normalHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return ""
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return ""
	}
	return hostPort(host, uint16(n))
}

// HostPortOf returns the host:port a URL connects to (its port, or the scheme's), as
// Options.Trust wants it; "" when raw is not an http(s) URL.
func HostPortOf(raw string) string {
	u, err := parseHTTP(raw)
	if err != nil {
		return ""
	}
	return hostPort(u.host, u.port)
}
