package unionpay_test

import (
	"errors"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/unionpay"
	upsim "campuspay/app/sim/unionpay"
)

func TestOpenNamesTheFieldAtFault(t *testing.T) {
	e := newEnv(t)
	other, err := upsim.New("/x", e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ov := other.MerchantValues("http://unused")
	for _, tc := range []struct {
		name  string
		field string
		set   map[string]string
		later bool // open 30 years on
	}{
		{"merId short", unionpay.FieldMerID, map[string]string{unionpay.FieldMerID: "12345"}, false},
		{"pfx not base64", unionpay.FieldSignPFX, map[string]string{unionpay.FieldSignPFX: "not base64!"}, false},
		{"pfx not pkcs12", unionpay.FieldSignPFX, map[string]string{unionpay.FieldSignPFX: "aGVsbG8="}, false},
		{"wrong password", unionpay.FieldSignPass, map[string]string{unionpay.FieldSignPass: "wrong"}, false},
		{"root garbage", unionpay.FieldRootCert, map[string]string{unionpay.FieldRootCert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, false},
		{"root missing", unionpay.FieldRootCert, map[string]string{unionpay.FieldRootCert: ""}, false},
		{"middle of another chain", unionpay.FieldMiddleCert, map[string]string{unionpay.FieldMiddleCert: ov[unionpay.FieldMiddleCert]}, false},
		{"root of another chain", unionpay.FieldMiddleCert, map[string]string{unionpay.FieldRootCert: ov[unionpay.FieldRootCert]}, false},
		{"gateway not http", unionpay.FieldGatewayURL, map[string]string{unionpay.FieldGatewayURL: "ftp://gateway.95516.com"}, false},
		{"gateway with credentials", unionpay.FieldGatewayURL, map[string]string{unionpay.FieldGatewayURL: "https://u:p@gateway.95516.com"}, false},
		{"file url relative", unionpay.FieldFileURL, map[string]string{unionpay.FieldFileURL: "/filedownload"}, false},
		{"expired", unionpay.FieldSignPFX, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := copyValues(e.values)
			for k, x := range tc.set {
				v[k] = x
			}
			now := e.clock.Now
			if tc.later {
				at := e.clock.Now().AddDate(30, 0, 0)
				now = func() time.Time { return at }
			}
			_, err := unionpay.Driver{}.Open(channel.MerchantConfig{MerchantID: 1, Values: v, Now: now})
			var fe *unionpay.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Message == "" {
				t.Fatalf("Open = %v; want a FieldError naming %s", err, tc.field)
			}
		})
	}
}

func TestDriverDescribesItself(t *testing.T) {
	d := unionpay.Driver{}
	c := d.Capabilities()
	if d.Name() != "unionpay" || len(c.Ways) != 2 || c.Ways[0] != channel.WayUpPC || c.Ways[1] != channel.WayUpWAP ||
		c.Synchronous || !c.PartialRefund {
		t.Errorf("Name %q, Capabilities %+v", d.Name(), c)
	}
	secret := map[string]bool{}
	for _, f := range d.Fields() {
		secret[f.Key] = f.Secret
	}
	if !secret[unionpay.FieldSignPFX] || !secret[unionpay.FieldSignPass] || secret[unionpay.FieldMerID] {
		t.Errorf("secrets: %v", secret)
	}
}
