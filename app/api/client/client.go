// Package client is a small Go client for the CampusPay integration API, written to be
// read and copied by business-system programmers: it signs every request as API.md says
// and verifies the platform's callbacks.
//
//	c := client.New("https://pay.example.edu.cn", "demo-admissions", secret)
//	var bill client.Bill
//	err := c.Do(ctx, "POST", "/api/v1/bills", client.NewBill{BillNo: "ADM-1", ItemCode: "DEMO-ADM-2026",
//		Payer: client.Payer{Type: "internal", ID: "2026000001"}, Amount: 50000}, &bill)
package client

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls the API as one business system.
type Client struct {
	BaseURL string // e.g. https://pay.example.edu.cn
	AppID   string
	Secret  string // 64 hex characters, from the console
	MD5     bool   // sign with the legacy scheme (only if finance enabled it)
	HTTP    *http.Client
	Now     func() time.Time
}

// New returns a client with a 15-second HTTP timeout.
func New(baseURL, appID, secret string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), AppID: appID, Secret: secret, HTTP: &http.Client{Timeout: 15 * time.Second}}
}

// Error is the API's error object, with the HTTP status.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("campuspay: %d %s: %s", e.Status, e.Code, e.Message)
}

// StringToSign joins method, request target, timestamp, nonce and the body's SHA-256.
func StringToSign(method, target, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{method, target, timestamp, nonce, hex.EncodeToString(sum[:])}, "\n")
}

// Signature is the signature of a string to sign under secret.
func Signature(secret, stringToSign string, legacyMD5 bool) string {
	if legacyMD5 {
		sum := md5.Sum([]byte(stringToSign + secret))
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// Nonce makes a fresh 32-character nonce.
func Nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Sign sets the four signing headers on req for body.
func (c *Client) Sign(req *http.Request, body []byte) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	nonce := Nonce()
	target := req.URL.RequestURI()
	req.Header.Set("X-App-Id", c.AppID)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	if c.MD5 {
		req.Header.Set("X-Sign-Type", "MD5")
	}
	req.Header.Set("X-Signature", Signature(c.Secret, StringToSign(req.Method, target, ts, nonce, body), c.MD5))
}

// Do sends a signed request with in as its JSON body (nil: none) and decodes the answer
// into out (nil: ignore). An API error comes back as *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.Sign(req, body)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error Error `json:"error"`
		}
		json.Unmarshal(raw, &e)
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// VerifyCallback checks a callback the platform sent to this system: the signature over
// the request exactly as received, and a timestamp within five minutes. Deduplicate what
// passes on its event_id.
func (c *Client) VerifyCallback(r *http.Request, body []byte) error {
	ts := r.Header.Get("X-Timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(secs, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("campuspay: callback timestamp out of window")
	}
	if r.Header.Get("X-App-Id") != c.AppID {
		return fmt.Errorf("campuspay: callback for another app id")
	}
	want := Signature(c.Secret, StringToSign(r.Method, r.URL.RequestURI(), ts, r.Header.Get("X-Nonce"), body), false)
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Signature"))) {
		return fmt.Errorf("campuspay: callback signature does not verify")
	}
	return nil
}
