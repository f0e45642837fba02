package recon

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/store"
)

// Statement origins.
const (
	OriginFetch  = "fetch"
	OriginUpload = "upload"
)

// maxStatementBytes bounds one statement file (a day of a million lines is about 100 MB).
const maxStatementBytes = 1 << 30

// lineChunk is how many lines go into one INSERT.
const lineChunk = 2000

// StatementInput says what a statement file is.
type StatementInput struct {
	Source   string    // sandbox | campuscard | bank:<code>
	Day      time.Time // the business day it covers
	Origin   string    // fetch | upload
	FileName string
	Actor    string
}

// StatementResult is what storing a statement did.
type StatementResult struct {
	Statement *store.Statement // the latest version (new or unchanged)
	Changed   bool             // a new version was stored
	Previous  *store.Statement // the version it superseded, if any
}

// FetchStatement downloads a source's statement of one closed business day (a channel
// through its adapter, "bank" through the bank's API) and stores it (ImportStatement).
func (s *Service) FetchStatement(ctx context.Context, source string, day time.Time, actor string) (*StatementResult, error) {
	day = dayOnly(day)
	if !day.Before(s.Today()) {
		return nil, errf(billing.ErrInvalid, "day_open", "%s 尚未结束，对账单须在次日获取", dayText(day))
	}
	var body io.ReadCloser
	var err error
	switch {
	case source == "bank" || strings.HasPrefix(source, bankPrefix):
		if s.Bank == nil {
			return nil, errf(billing.ErrInvalid, "bank_unconfigured", "未配置银行流水接口，请上传银行流水文件")
		}
		source = bankPrefix + s.Bank.Code()
		body, err = s.Bank.Statement(ctx, day)
	default:
		ch, ok := s.Billing.Channels[source]
		if !ok {
			return nil, errf(billing.ErrInvalid, "source_unsupported", "不支持的对账来源：%s", source)
		}
		if _, err := parserOf(source); err != nil {
			return nil, err
		}
		body, err = ch.Statement(ctx, day)
	}
	if err != nil {
		s.log().Warn("recon: statement fetch failed", "source", source, "day", dayText(day), "err", err)
		return nil, errf(billing.ErrConflict, "statement_unavailable", "获取%s %s 的对账单失败，请稍后重试", SourceLabel(source), dayText(day))
	}
	defer body.Close()
	return s.ImportStatement(ctx, StatementInput{Source: source, Day: day, Origin: OriginFetch,
		FileName: strings.ReplaceAll(source, ":", "-") + "-" + dayText(day) + ".csv", Actor: actor}, body)
}

// ImportStatement stores a statement file read from r: the same content as the latest
// version changes nothing; a different content is parsed (streaming, refused whole with
// the line and the reason when anything is wrong or the summary does not equal the lines)
// and stored with its lines as a new version, the old one superseded and a warning audited.
func (s *Service) ImportStatement(ctx context.Context, in StatementInput, r io.Reader) (*StatementResult, error) {
	parse, err := parserOf(in.Source)
	if err != nil {
		return nil, err
	}
	in.Day = dayOnly(in.Day)
	tmp, err := os.CreateTemp("", "campuspay-statement-*")
	if err != nil {
		return nil, fmt.Errorf("recon: statement temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, maxStatementBytes+1))
	if err != nil {
		return nil, fmt.Errorf("recon: read statement: %w", err)
	}
	if n > maxStatementBytes {
		return nil, errf(billing.ErrInvalid, "statement_too_large", "对账单文件过大")
	}
	hash := hex.EncodeToString(h.Sum(nil))
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("recon: rewind statement: %w", err)
	}
	return s.storeStatement(ctx, in, hash, func(emit func(*Line) error) (Summary, error) {
		return parse(tmp, emit)
	})
}

// storeStatement is the versioning and the bulk insert of ImportStatement, for lines that
// produce hands over one by one.
func (s *Service) storeStatement(ctx context.Context, in StatementInput, hash string, produce func(emit func(*Line) error) (Summary, error)) (*StatementResult, error) {
	latest, err := s.LatestStatement(ctx, in.Source, in.Day)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if latest != nil && latest.ContentHash == hash {
		return &StatementResult{Statement: latest}, nil
	}
	now := store.UTC(s.now())
	st := &store.Statement{Source: in.Source, Day: in.Day, Version: 1, ContentHash: hash, Origin: in.Origin,
		FileName: truncate(in.FileName, 200), CreatedBy: in.Actor, CreatedAt: now}
	if latest != nil {
		st.Version = latest.Version + 1
	}
	err = billing.InTx(ctx, s.db(), func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(st).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return errf(billing.ErrConflict, "statement_busy", "该对账单正被另一操作保存，请稍后重试")
			}
			return fmt.Errorf("recon: insert statement: %w", err)
		}
		batch := make([]store.StatementLine, 0, lineChunk)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
				return fmt.Errorf("recon: insert statement lines: %w", err)
			}
			batch = batch[:0]
			return nil
		}
		sum, err := produce(func(l *Line) error {
			batch = append(batch, store.StatementLine{StatementID: st.ID, LineNo: l.LineNo, Kind: l.Kind,
				TradeNo: l.TradeNo, OrderNo: l.OrderNo, RefundNo: l.RefundNo, AmountFen: l.AmountFen, FeeFen: l.FeeFen,
				OccurredAt: store.UTC(l.At), Reference: l.Reference, Counterparty: l.Counterparty, Raw: l.Raw})
			if len(batch) == lineChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return errf(billing.ErrInvalid, "statement_malformed", "%s对账单（%s）无法导入，整份拒收：%s", SourceLabel(in.Source), dayText(in.Day), pe.Error())
			}
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		st.LineCount, st.GrossFen, st.FeeFen, st.RefundFen, st.NetFen = sum.Count, sum.GrossFen, sum.FeeFen, sum.RefundFen, sum.NetFen
		if _, err := tx.NewUpdate().Model(st).Column("line_count", "gross_fen", "fee_fen", "refund_fen", "net_fen").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("recon: statement totals: %w", err)
		}
		detail := fmt.Sprintf("source=%s day=%s version=%d lines=%d gross=%d fees=%d refunds=%d net=%d hash=%s",
			in.Source, dayText(in.Day), st.Version, sum.Count, sum.GrossFen, sum.FeeFen, sum.RefundFen, sum.NetFen, hash[:16])
		action := "statement.stored"
		if latest != nil {
			if _, err := tx.NewUpdate().Model((*store.Statement)(nil)).Set("superseded = ?", true).
				Where("source = ? AND day = ? AND version < ?", in.Source, in.Day, st.Version).Exec(ctx); err != nil {
				return fmt.Errorf("recon: supersede statement: %w", err)
			}
			action = "statement.changed"
			detail = fmt.Sprintf("WARNING content changed: version %d supersedes %d (hash %s → %s); ", st.Version, latest.Version, latest.ContentHash[:16], hash[:16]) + detail
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: in.Actor, Action: action, TargetType: "statement",
			TargetID: fmt.Sprintf("%s/%s/v%d", in.Source, dayText(in.Day), st.Version), Detail: truncate(detail, 1000)})
	})
	if err != nil {
		return nil, err
	}
	if latest != nil {
		s.log().Warn("recon: statement changed", "source", in.Source, "day", dayText(in.Day), "version", st.Version)
	}
	return &StatementResult{Statement: st, Changed: true, Previous: latest}, nil
}

// LatestStatement is the current version of a source's statement of a day.
func (s *Service) LatestStatement(ctx context.Context, source string, day time.Time) (*store.Statement, error) {
	st := new(store.Statement)
	err := s.db().NewSelect().Model(st).Where("source = ? AND day = ?", source, dayOnly(day)).
		OrderExpr("version DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errf(billing.ErrNotFound, "statement_not_found", "%s %s 的对账单尚未获取", SourceLabel(source), dayText(dayOnly(day)))
	}
	if err != nil {
		return nil, fmt.Errorf("recon: latest statement: %w", err)
	}
	return st, nil
}

// StatementByID is one stored statement version.
func (s *Service) StatementByID(ctx context.Context, id int64) (*store.Statement, error) {
	st := new(store.Statement)
	err := s.db().NewSelect().Model(st).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errf(billing.ErrNotFound, "statement_not_found", "对账单不存在")
	}
	if err != nil {
		return nil, fmt.Errorf("recon: statement: %w", err)
	}
	return st, nil
}

// StatementFilter narrows the statement list.
type StatementFilter struct {
	Source string
	Day    time.Time // zero: any
}

// Statements lists stored statement versions, newest day first.
func (s *Service) Statements(ctx context.Context, f StatementFilter, offset, limit int) ([]*store.Statement, int, error) {
	var rows []*store.Statement
	q := s.db().NewSelect().Model(&rows)
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	if !f.Day.IsZero() {
		q = q.Where("day = ?", dayOnly(f.Day))
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("day DESC, source, version DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("recon: statements: %w", err)
	}
	return rows, int(n), nil
}

// StatementSources are the sources that have statements, for filters.
func (s *Service) StatementSources(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db().NewSelect().Model((*store.Statement)(nil)).Distinct().Column("source").OrderExpr("source").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("recon: statement sources: %w", err)
	}
	return out, nil
}

// StatementLines is one page of a statement's lines in file order; kind "" is every kind.
func (s *Service) StatementLines(ctx context.Context, statementID int64, kind string, offset, limit int) ([]*store.StatementLine, int, error) {
	var rows []*store.StatementLine
	q := s.db().NewSelect().Model(&rows).Where("statement_id = ?", statementID)
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("line_no").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("recon: statement lines: %w", err)
	}
	return rows, int(n), nil
}

// LineLocation is where a statement line is shown: its statement and the page (of size
// lines) it falls on.
func (s *Service) LineLocation(ctx context.Context, lineID int64, size int) (*store.StatementLine, int, error) {
	l := new(store.StatementLine)
	err := s.db().NewSelect().Model(l).Where("id = ?", lineID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, errf(billing.ErrNotFound, "line_not_found", "对账单明细不存在")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("recon: statement line: %w", err)
	}
	before, err := s.db().NewSelect().Model((*store.StatementLine)(nil)).
		Where("statement_id = ? AND line_no < ?", l.StatementID, l.LineNo).Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("recon: statement line page: %w", err)
	}
	return l, int(before)/size + 1, nil
}

func isNotFound(err error) bool {
	var be *billing.Error
	return errors.As(err, &be) && errors.Is(be.Kind, billing.ErrNotFound)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
