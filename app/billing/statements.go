package billing

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"time"

	"campuspay/app/channel"
	"campuspay/store"
)

// StatementSource is where reconciliation fetches a channel's statement of a business day:
// a one-merchant adapter's own, or, for a payment company, every merchant account's at it
// taken together (one day, one channel: the lines of all of them). ok is false for a
// channel that has no statements.
func (s *Service) StatementSource(name string) (src channel.StatementSource, ok bool) {
	if ch, found := s.Channels[name]; found {
		src, ok = ch.(channel.StatementSource)
		return src, ok
	}
	if s.Merchants.Driver(name) == nil {
		return nil, false
	}
	return accountsStatement{s: s, name: name}, true
}

// HasStatements reports whether reconciliation should fetch the channel's statements: a
// one-merchant adapter that has them, or a company some merchant has an account at.
func (s *Service) HasStatements(ctx context.Context, name string) bool {
	if _, ok := s.Channels[name]; ok {
		_, ok := s.StatementSource(name)
		return ok
	}
	if s.Merchants.Driver(name) == nil {
		return false
	}
	n, err := s.DB.NewSelect().Model((*store.MerchantAccount)(nil)).Where("channel = ?", name).Count(ctx)
	return err == nil && n > 0
}

// StatementChannels are the channels reconciliation knows by name: the one-merchant
// adapters and the companies' drivers.
func (s *Service) StatementChannels() []string {
	var out []string
	for name := range s.Channels {
		out = append(out, name)
	}
	return append(out, s.Merchants.DriverNames()...)
}

type accountsStatement struct {
	s    *Service
	name string
}

// Statement fetches each account's statement of the day. The file kept is the one
// account's as downloaded, or, for several, a zip holding each under its merchant's number.
// Any account's failure fails the whole: a day is reconciled on all of it or not at all.
func (a accountsStatement) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	var accounts []*store.MerchantAccount
	if err := a.s.DB.NewSelect().Model(&accounts).Where("channel = ?", a.name).OrderExpr("merchant_id").Scan(ctx); err != nil {
		return channel.Statement{}, fmt.Errorf("billing: accounts of %s: %w", a.name, err)
	}
	var out channel.Statement
	var files []channel.Statement
	ids := make([]int64, 0, len(accounts))
	for _, acc := range accounts {
		p, _, err := a.s.Merchants.Provider(ctx, acc.MerchantID, a.name)
		if err != nil {
			return channel.Statement{}, fmt.Errorf("billing: %s account of merchant %d: %v: %w", a.name, acc.MerchantID, err, channel.ErrUnavailable)
		}
		st, err := p.Statement(ctx, day)
		if err != nil {
			a.s.Merchants.RecordError(ctx, acc.ID, "对账单获取失败："+err.Error())
			return channel.Statement{}, err
		}
		out.Lines = append(out.Lines, st.Lines...)
		files = append(files, st)
		ids = append(ids, acc.MerchantID)
	}
	switch len(files) {
	case 0:
		out.FileName = a.name + "-" + day.Format("2006-01-02") + ".empty"
	case 1:
		out.FileName, out.Raw = files[0].FileName, files[0].Raw
	default:
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i, f := range files {
			w, err := zw.Create(fmt.Sprintf("merchant-%d/%s", ids[i], f.FileName))
			if err == nil {
				_, err = w.Write(f.Raw)
			}
			if err != nil {
				return channel.Statement{}, fmt.Errorf("billing: bundle statements: %w", err)
			}
		}
		if err := zw.Close(); err != nil {
			return channel.Statement{}, fmt.Errorf("billing: bundle statements: %w", err)
		}
		out.FileName, out.Raw = a.name+"-"+day.Format("2006-01-02")+".zip", buf.Bytes()
	}
	return out, nil
}
