package recon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/sheet"
	"campuspay/app/sign"
	"campuspay/store"
)

// Bank statement sources are "bank:<code>": the bank API's code (SimBankCode for the
// simulated bank) or the code finance gives an uploaded bank's files.
const bankPrefix = "bank:"

// SimBankCode is the simulated bank's code.
const SimBankCode = "SIM"

func bankCode(source string) (string, bool) {
	if strings.HasPrefix(source, bankPrefix) {
		return source[len(bankPrefix):], true
	}
	return "", false
}

// BankSource serves the school account's daily statement (the ParseBank format).
type BankSource interface {
	Code() string
	Statement(ctx context.Context, day time.Time) (io.ReadCloser, error)
}

// ErrBankNotReady: the bank has no statement of that day yet.
var ErrBankNotReady = errors.New("recon: bank statement not ready")

// BankClient fetches statements from the (simulated) bank's API: GET
// {BaseURL}/api/statements/{YYYY-MM-DD} signed with the shared key (see app/sim/bank).
type BankClient struct {
	BaseURL string
	Account string
	Key     string
	BankID  string // the code statements are stored under; "" is SimBankCode
	HTTP    *http.Client
	Now     func() time.Time
}

func (b *BankClient) Code() string {
	if b.BankID == "" {
		return SimBankCode
	}
	return b.BankID
}

// Statement fetches the statement of a business day and checks the answer's signature.
func (b *BankClient) Statement(ctx context.Context, day time.Time) (io.ReadCloser, error) {
	path := strings.TrimRight(b.BaseURL, "/") + "/api/statements/" + day.Format(time.DateOnly)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("bank: build request: %w", err)
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("X-Bank-Account", b.Account)
	req.Header.Set("X-Bank-Timestamp", ts)
	req.Header.Set("X-Bank-Signature", sign.HMAC(b.Key, "GET\n"+req.URL.EscapedPath()+"\n"+ts))
	client := b.HTTP
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bank: statement %s: %w", day.Format(time.DateOnly), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatementBytes))
	if err != nil {
		return nil, fmt.Errorf("bank: read statement: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrBankNotReady
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bank: statement %s: HTTP %d", day.Format(time.DateOnly), resp.StatusCode)
	}
	sum := sha256.Sum256(body)
	want := sign.HMAC(b.Key, resp.Header.Get("X-Bank-Timestamp")+"\n"+hex.EncodeToString(sum[:]))
	if !hmac.Equal([]byte(want), []byte(resp.Header.Get("X-Bank-Signature"))) {
		return nil, fmt.Errorf("bank: statement %s: answer signature does not verify", day.Format(time.DateOnly))
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// ---------- uploaded bank files ----------

var bankCodeRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,24}$`)

// NormalizeBankCode checks and upper-cases a bank's code.
func NormalizeBankCode(code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if !bankCodeRe.MatchString(code) {
		return "", errf(fault.ErrInvalid, "bank_code_invalid", "银行代码须为 1–24 位字母、数字、下划线或连字符，如 ICBC")
	}
	if code == SimBankCode {
		return "", errf(fault.ErrInvalid, "bank_code_reserved", "SIM 是模拟银行接口的代码，请换一个")
	}
	return code, nil
}

// BankMapping is the saved column mapping of a bank; ErrNotFound when there is none.
func (s *Service) BankMapping(ctx context.Context, code string) (*store.BankMapping, Mapping, error) {
	row := new(store.BankMapping)
	err := s.db().NewSelect().Model(row).Where("bank_code = ?", code).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Mapping{}, errf(fault.ErrNotFound, "mapping_not_found", "银行 %s 尚未设置列映射", code)
	}
	if err != nil {
		return nil, Mapping{}, fmt.Errorf("recon: bank mapping: %w", err)
	}
	var m Mapping
	if err := json.Unmarshal([]byte(row.Mapping), &m); err != nil {
		return nil, Mapping{}, fmt.Errorf("recon: bank mapping %s: %w", code, err)
	}
	return row, m, nil
}

// BankMappings lists the saved mappings.
func (s *Service) BankMappings(ctx context.Context) ([]*store.BankMapping, error) {
	var rows []*store.BankMapping
	if err := s.db().NewSelect().Model(&rows).OrderExpr("bank_code").Scan(ctx); err != nil {
		return nil, fmt.Errorf("recon: bank mappings: %w", err)
	}
	return rows, nil
}

// SaveBankMapping creates or replaces a bank's column mapping.
func (s *Service) SaveBankMapping(ctx context.Context, code, name string, m Mapping, actor string) error {
	code, err := NormalizeBankCode(code)
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 50 {
		return errf(fault.ErrInvalid, "bank_name_invalid", "请填写银行名称（50 字以内）")
	}
	if err := m.Validate(); err != nil {
		return err
	}
	raw, _ := json.Marshal(m)
	now := store.UTC(s.now())
	row := &store.BankMapping{BankCode: code, Name: name, Mapping: string(raw), UpdatedBy: actor, UpdatedAt: now}
	return store.InTx(ctx, s.db(), func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(row).WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("recon: save bank mapping: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
				return fmt.Errorf("recon: save bank mapping: %w", err)
			}
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "bank_mapping.saved",
			TargetType: "bank_mapping", TargetID: code, Detail: truncate(name+" "+string(raw), 1000)})
	})
}

// UploadBankFile stores an uploaded bank export (CSV or .xlsx) read with the bank's saved
// mapping: its lines, grouped by business day, become that day's statement of source
// "bank:<code>" (versioned like any statement: the same lines again change nothing).
func (s *Service) UploadBankFile(ctx context.Context, code, fileName string, data []byte, actor string) ([]*StatementResult, error) {
	code, err := NormalizeBankCode(code)
	if err != nil {
		return nil, err
	}
	_, m, err := s.BankMapping(ctx, code)
	if err != nil {
		return nil, err
	}
	t, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return nil, errf(fault.ErrInvalid, "bank_file_unreadable", "%s", strings.TrimPrefix(err.Error(), sheet.ErrFormat.Error()+": "))
	}
	lines, err := ParseBankTable(t, m)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, errf(fault.ErrInvalid, "bank_file_malformed", "银行流水文件无法导入，整份拒收：%s", pe.Error())
		}
		return nil, err
	}
	byDay := map[time.Time][]*Line{}
	for _, l := range lines {
		d := bizday.DayOf(l.At)
		byDay[d] = append(byDay[d], l)
	}
	days := make([]time.Time, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	if len(days) > 62 {
		return nil, errf(fault.ErrInvalid, "bank_file_span", "一个文件最多包含 62 天的流水，请分开上传")
	}
	var out []*StatementResult
	for _, d := range days {
		dayLines := byDay[d]
		h := sha256.New()
		for _, l := range dayLines {
			fmt.Fprintf(h, "%s|%s|%d|%s|%s|%s\n", l.Kind, l.At.UTC().Format(time.RFC3339), l.AmountFen, l.TradeNo, l.Reference, l.Counterparty)
		}
		in := StatementInput{Source: bankPrefix + code, Day: d, Origin: OriginUpload, FileName: fileName, Actor: actor}
		res, err := s.storeStatement(ctx, in, hex.EncodeToString(h.Sum(nil)), nil, func(emit func(*Line) error) (Summary, error) {
			var sum Summary
			for _, l := range dayLines {
				sum.add(l)
				if err := emit(l); err != nil {
					return sum, err
				}
			}
			return sum, nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// SheetHeader reads just the header of an uploaded file, for the mapping form.
func SheetHeader(fileName string, data []byte) ([]string, error) {
	t, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return nil, errf(fault.ErrInvalid, "bank_file_unreadable", "%s", strings.TrimPrefix(err.Error(), sheet.ErrFormat.Error()+": "))
	}
	var out []string
	for _, h := range t.Header {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out, nil
}
