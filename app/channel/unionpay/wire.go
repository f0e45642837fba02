package unionpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"campuspay/app/channel"
)

// RespError is a refusal UnionPay answered (respCode other than 00), e.g. 11 验证签名失败.
type RespError struct {
	Code    string
	Message string // UnionPay's respMsg
}

func (e *RespError) Error() string { return "unionpay: respCode " + e.Code + ": " + e.Message }

// unavailable wraps channel.ErrUnavailable with what finance can act on.
func unavailable(format string, a ...any) error {
	return fmt.Errorf("unionpay: %w: "+format, append([]any{channel.ErrUnavailable}, a...)...)
}

// call signs fields, posts them to addr and returns UnionPay's answer. A signed answer is
// believed only when its signature verifies; an unsigned one only as a refusal.
func (p *provider) call(ctx context.Context, addr string, fields map[string]string, limit int64) (map[string]string, error) {
	fields["version"] = version
	fields["encoding"] = encoding
	if err := p.sign(fields); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("unionpay: request %s: %w", addr, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, unavailable("银联网关无法连接（%s），请检查网络或稍后再试: %v", req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, unavailable("读取银联应答失败: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable("银联网关返回 HTTP %d，请稍后再试", resp.StatusCode)
	}
	if int64(len(body)) > limit {
		return nil, unavailable("银联应答超过 %d 字节，已拒收", limit)
	}
	ans, err := parseAnswer(string(body))
	if err != nil {
		return nil, unavailable("银联应答格式无法识别: %v", err)
	}
	if ans["signature"] == "" {
		if c := ans["respCode"]; c != "" && c != "00" {
			return nil, &RespError{Code: c, Message: ans["respMsg"]}
		}
		return nil, unavailable("银联应答未签名")
	}
	if err := p.verify(ans); err != nil {
		return nil, fmt.Errorf("%w: 银联应答验签失败: %w", channel.ErrUnavailable, err)
	}
	return ans, nil
}

// parseAnswer reads the body of a synchronous answer: k=v pairs joined by '&', values not
// URL-encoded; a value in {…} or […] may itself contain '&' and '='.
func parseAnswer(s string) (map[string]string, error) {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, errors.New("a field without a name")
		}
		key := s[:eq]
		if strings.ContainsAny(key, "&{}[] ") {
			return nil, fmt.Errorf("bad field name %q", key)
		}
		rest := s[eq+1:]
		depth, end := 0, len(rest)
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth > 0 {
					depth--
				}
			case '&':
				if depth == 0 {
					end = i
				}
			}
			if end != len(rest) {
				break
			}
		}
		if depth > 0 && end == len(rest) {
			return nil, fmt.Errorf("field %q: unclosed brace", key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("field %q given twice", key)
		}
		out[key] = rest[:end]
		if len(out) > maxAnswerFields {
			return nil, errors.New("too many fields")
		}
		if end == len(rest) {
			break
		}
		s = rest[end+1:]
	}
	if len(out) == 0 {
		return nil, errors.New("empty answer")
	}
	return out, nil
}

// parseFen reads txnAmt: fen as digits without a decimal point.
func parseFen(s string) (int64, error) {
	if s == "" || len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("txnAmt %q is not an amount in fen", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("txnAmt %q is not a positive amount", s)
	}
	return n, nil
}
