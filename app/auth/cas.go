package auth

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"campuspay/app/egress"
)

// CAS speaks the CAS protocol to the school's CAS server (统一身份认证): the login redirect,
// ticket validation (CAS 3.0 /p3/serviceValidate, or /serviceValidate for a 2.0 server)
// and the server's single-logout request. The protocol is small enough to write out here,
// with encoding/xml, rather than through a client built around net/http middleware.
type CAS struct {
	ServerURL string // e.g. https://cas.example.edu.cn/cas
	Protocol2 bool   // validate with /serviceValidate (CAS 2.0) instead of /p3/serviceValidate
	// Client validates tickets; nil: a 10-second client through a guard that refuses
	// every internal address (egress).
	Client *http.Client
}

// CASUser is who the CAS server says a ticket belongs to.
type CASUser struct {
	User       string
	Attributes map[string][]string
}

// Attr returns the first value of the attribute name (matched exactly, otherwise ignoring
// case), or "".
func (u *CASUser) Attr(name string) string {
	if name == "" {
		return ""
	}
	if v := u.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range u.Attributes {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// CASFailure is the CAS server's refusal of a ticket (authenticationFailure).
type CASFailure struct {
	Code    string // INVALID_TICKET, INVALID_SERVICE, …
	Message string
}

func (e *CASFailure) Error() string { return "auth: cas: " + e.Code + ": " + e.Message }

// Reason is the refusal as a payer reads it.
func (e *CASFailure) Reason() string {
	switch e.Code {
	case "INVALID_TICKET", "INVALID_TICKET_SPEC":
		return "登录票据无效或已过期"
	case "INVALID_SERVICE":
		return "登录票据与本平台地址不符"
	case "UNAUTHORIZED_SERVICE", "UNAUTHORIZED_SERVICE_PROXY":
		return "本平台尚未在统一身份认证系统中登记"
	case "INVALID_REQUEST":
		return "校验请求不完整"
	}
	return "统一身份认证系统拒绝了本次登录"
}

// ticketRE is what a CAS ticket may look like: printable ASCII, at most 256 characters.
var ticketRE = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)

// ValidTicket reports whether t could be a CAS ticket.
func ValidTicket(t string) bool { return ticketRE.MatchString(t) }

func (c CAS) base() string { return strings.TrimRight(c.ServerURL, "/") }

// LoginURL is where a visitor signs in, to come back to service with a ticket.
func (c CAS) LoginURL(service string) string {
	return c.base() + "/login?service=" + url.QueryEscape(service)
}

// LogoutURL ends the visitor's CAS session and sends them on to service.
func (c CAS) LogoutURL(service string) string {
	return c.base() + "/logout?service=" + url.QueryEscape(service)
}

// ValidateURL is where a ticket issued for service is validated.
func (c CAS) ValidateURL(service, ticket string) string {
	path := "/p3/serviceValidate"
	if c.Protocol2 {
		path = "/serviceValidate"
	}
	return c.base() + path + "?" + url.Values{"service": {service}, "ticket": {ticket}}.Encode()
}

// Validate asks the CAS server who ticket (issued for service) belongs to. A refusal is a
// *CASFailure; anything else that goes wrong is a plain error.
func (c CAS) Validate(ctx context.Context, service, ticket string) (*CASUser, error) {
	if !ValidTicket(ticket) {
		return nil, &CASFailure{Code: "INVALID_TICKET_SPEC", Message: "malformed ticket"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.ValidateURL(service, ticket), nil)
	if err != nil {
		return nil, fmt.Errorf("auth: cas: %w", err)
	}
	client := c.Client
	if client == nil {
		client = new(egress.Guard).Client(egress.Options{Timeout: 10 * time.Second})
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: cas: validate: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("auth: cas: validate: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: cas: validate: status %d", resp.StatusCode)
	}
	return ParseCASResponse(body)
}

// casResponse is cas:serviceResponse. Element names are matched without their namespace:
// CAS servers in the wild disagree on prefixes and declarations.
type casResponse struct {
	XMLName xml.Name `xml:"serviceResponse"`
	Success *struct {
		User       string `xml:"user"`
		Attributes *struct {
			Items []casAttr `xml:",any"`
		} `xml:"attributes"`
		Other []casAttr `xml:",any"` // attributes some 2.0 servers put here, unwrapped
	} `xml:"authenticationSuccess"`
	Failure *struct {
		Code    string `xml:"code,attr"`
		Message string `xml:",chardata"`
	} `xml:"authenticationFailure"`
}

// casAttr is one attribute: <cas:name>value</cas:name>, or the older
// <cas:attribute name="name" value="value"/>.
type casAttr struct {
	XMLName xml.Name
	Name    string `xml:"name,attr"`
	Value   string `xml:"value,attr"`
	Text    string `xml:",chardata"`
}

// ParseCASResponse reads a serviceValidate answer.
func ParseCASResponse(body []byte) (*CASUser, error) {
	var r casResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("auth: cas: unreadable answer: %w", err)
	}
	switch {
	case r.Failure != nil:
		return nil, &CASFailure{Code: strings.TrimSpace(r.Failure.Code), Message: strings.TrimSpace(r.Failure.Message)}
	case r.Success == nil:
		return nil, errors.New("auth: cas: answer holds neither success nor failure")
	}
	u := &CASUser{User: strings.TrimSpace(r.Success.User), Attributes: map[string][]string{}}
	if u.User == "" {
		return nil, errors.New("auth: cas: success without a user")
	}
	attrs := r.Success.Other
	if r.Success.Attributes != nil {
		attrs = append(attrs, r.Success.Attributes.Items...)
	}
	for _, a := range attrs {
		name, value := a.XMLName.Local, strings.TrimSpace(a.Text)
		if name == "attribute" && a.Name != "" {
			name, value = a.Name, strings.TrimSpace(a.Value)
		}
		switch name {
		case "proxyGrantingTicket", "proxies", "proxy":
			continue
		}
		if value != "" {
			u.Attributes[name] = append(u.Attributes[name], value)
		}
	}
	return u, nil
}

// logoutRequest is samlp:LogoutRequest; its namespace is checked.
type logoutRequest struct {
	XMLName      xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol LogoutRequest"`
	SessionIndex []string `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
}

// ParseLogoutRequest reads the CAS server's single-logout request (the logoutRequest form
// field: a SAML samlp:LogoutRequest) and returns the service ticket it names. Anything else
// is refused.
func ParseLogoutRequest(body string) (string, error) {
	if len(body) == 0 || len(body) > 8192 {
		return "", errors.New("auth: cas: logout request missing or too long")
	}
	var r logoutRequest
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		return "", fmt.Errorf("auth: cas: logout request: %w", err)
	}
	if len(r.SessionIndex) != 1 {
		return "", errors.New("auth: cas: logout request must name one session")
	}
	ticket := strings.TrimSpace(r.SessionIndex[0])
	if !ValidTicket(ticket) {
		return "", errors.New("auth: cas: logout request names no valid ticket")
	}
	return ticket, nil
}
