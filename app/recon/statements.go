package recon

import (
	"bytes"
	"compress/gzip"
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

	"campuspay/app/channel"
	"campuspay/app/channel/stmtcsv"
	"campuspay/app/fault"
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
	Source   string    // a registered channel's name, or bank:<code>
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
// through its adapter, "bank" through the bank's API) and stores it.
func (s *Service) FetchStatement(ctx context.Context, source string, day time.Time, actor string) (*StatementResult, error) {
	day = dayOnly(day)
	if !day.Before(s.Today()) {
		return nil, errf(fault.ErrInvalid, "day_open", "%s 尚未结束，对账单须在次日获取", dayText(day))
	}
	if source == "bank" || strings.HasPrefix(source, bankPrefix) {
		if s.Bank == nil {
			return nil, errf(fault.ErrInvalid, "bank_unconfigured", "未配置银行流水接口，请上传银行流水文件")
		}
		source = bankPrefix + s.Bank.Code()
		body, err := s.Bank.Statement(ctx, day)
		if err != nil {
			s.log().Warn("recon: statement fetch failed", "source", source, "day", dayText(day), "err", err)
			return nil, errf(fault.ErrConflict, "statement_unavailable", "获取%s %s 的对账单失败，请稍后重试", SourceLabel(source), dayText(day))
		}
		defer body.Close()
		return s.ImportStatement(ctx, StatementInput{Source: source, Day: day, Origin: OriginFetch,
			FileName: strings.ReplaceAll(source, ":", "-") + "-" + dayText(day) + ".csv", Actor: actor}, body)
	}
	src, err := s.statementSource(source)
	if err != nil {
		return nil, err
	}
	in := StatementInput{Source: source, Day: day, Origin: OriginFetch, Actor: actor}
	st, err := src.Statement(ctx, day)
	if err != nil {
		if refused := s.refused(in, err); refused != nil {
			return nil, refused
		}
		s.log().Warn("recon: statement fetch failed", "source", source, "day", dayText(day), "err", err)
		return nil, errf(fault.ErrConflict, "statement_unavailable", "获取%s %s 的对账单失败，请稍后重试", SourceLabel(source), dayText(day))
	}
	in.FileName = st.FileName
	if in.FileName == "" {
		in.FileName = source + "-" + dayText(day)
	}
	return s.StoreStatement(ctx, in, st)
}

// statementSource is the registered channel of that name, if it has statements.
func (s *Service) statementSource(name string) (channel.StatementSource, error) {
	if src, ok := s.Billing.StatementSource(name); ok {
		return src, nil
	}
	return nil, errf(fault.ErrInvalid, "source_unsupported", "不支持的对账来源：%s", name)
}

// refused is the error finance reads for a statement file the adapter refused as
// malformed (nil for any other failure).
func (s *Service) refused(in StatementInput, err error) error {
	var pe *ParseError
	switch {
	case errors.As(err, &pe):
		return errf(fault.ErrInvalid, "statement_malformed", "%s对账单（%s）无法导入，整份拒收：%s", SourceLabel(in.Source), dayText(in.Day), pe.Error())
	case errors.Is(err, channel.ErrMalformed):
		s.log().Warn("recon: statement refused", "source", in.Source, "day", dayText(in.Day), "err", err)
		return errf(fault.ErrInvalid, "statement_malformed", "%s对账单（%s）无法导入，整份拒收：文件格式有误或明细与汇总不符", SourceLabel(in.Source), dayText(in.Day))
	}
	return nil
}

// ImportStatement stores a statement file read from r. A bank's file is read here; a
// channel's goes through its adapter's parser (channel.StatementParser), so it is checked
// exactly as a fetched one. The same content as the latest version changes nothing; a
// different content is stored with its lines as a new version, the old one superseded and
// a warning audited; anything wrong refuses the file whole with the line and the reason.
func (s *Service) ImportStatement(ctx context.Context, in StatementInput, r io.Reader) (*StatementResult, error) {
	in.Day = dayOnly(in.Day)
	if !strings.HasPrefix(in.Source, bankPrefix) {
		p, ok := s.Billing.Channels[in.Source].(channel.StatementParser)
		if !ok {
			return nil, errf(fault.ErrInvalid, "source_unsupported", "暂不支持「%s」的对账单", in.Source)
		}
		raw, err := io.ReadAll(io.LimitReader(r, maxStatementBytes+1))
		if err != nil {
			return nil, fmt.Errorf("recon: read statement: %w", err)
		}
		if len(raw) > maxStatementBytes {
			return nil, errf(fault.ErrInvalid, "statement_too_large", "对账单文件过大")
		}
		st, err := p.ParseStatement(raw)
		if err != nil {
			if refused := s.refused(in, err); refused != nil {
				return nil, refused
			}
			return nil, err
		}
		return s.StoreStatement(ctx, in, st)
	}
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
		return nil, errf(fault.ErrInvalid, "statement_too_large", "对账单文件过大")
	}
	hash := hex.EncodeToString(h.Sum(nil))
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("recon: rewind statement: %w", err)
	}
	return s.storeStatement(ctx, in, hash, nil, func(emit func(*Line) error) (Summary, error) {
		return ParseBank(tmp, emit)
	})
}

// StoreStatement stores a channel's statement as its adapter returned it: the file (kept,
// and versioned by its content hash) and its normalised lines. The totals are what the
// lines add up to (the adapter has checked them against the file's own).
func (s *Service) StoreStatement(ctx context.Context, in StatementInput, st channel.Statement) (*StatementResult, error) {
	in.Day = dayOnly(in.Day)
	if len(st.Raw) > maxStatementBytes {
		return nil, errf(fault.ErrInvalid, "statement_too_large", "对账单文件过大")
	}
	// The file is kept compressed, and only the compressed copy is held while the lines
	// are written: a large day does not hold its file twice over.
	raw, lines := st.Raw, st.Lines
	st = channel.Statement{}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	if latest, err := s.LatestStatement(ctx, in.Source, in.Day); err == nil && latest.ContentHash == hash {
		return &StatementResult{Statement: latest}, nil
	}
	var file bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&file, gzip.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("recon: compress statement file: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("recon: compress statement file: %w", err)
	}
	raw = nil
	return s.storeStatement(ctx, in, hash, file.Bytes(), func(emit func(*Line) error) (Summary, error) {
		var total Summary
		var l Line
		for i := range lines {
			if err := lineOf(&l, &lines[i], i); err != nil {
				return total, err
			}
			total.add(&l)
			if err := emit(&l); err != nil {
				return total, err
			}
		}
		return total, nil
	})
}

// lineOf fills l with a normalised statement line as recon keeps it (the i-th of its
// statement). A line that cannot be matched is refused, whichever adapter sent it.
func lineOf(l *Line, c *channel.StatementLine, i int) error {
	*l = Line{LineNo: c.Line, TradeNo: c.TradeNo, OrderNo: c.AttemptNo, RefundNo: c.RefundNo,
		ChannelRefundNo: c.ChannelRefundNo, AmountFen: c.AmountFen, FeeFen: c.FeeFen, At: c.At}
	if l.LineNo <= 0 {
		l.LineNo = i + 1
	}
	switch c.Kind {
	case channel.StatementPayment:
		l.Kind = KindPay
		if l.OrderNo == "" || l.TradeNo == "" {
			return &ParseError{Line: l.LineNo, Reason: "支付记录缺少商户订单号或渠道交易号"}
		}
	case channel.StatementRefund:
		l.Kind = KindRefund
		if l.RefundNo == "" && l.ChannelRefundNo == "" {
			return &ParseError{Line: l.LineNo, Reason: "退款记录缺少退款号"}
		}
	default:
		return &ParseError{Line: l.LineNo, Reason: "无法识别的记录类型"}
	}
	switch {
	case l.AmountFen <= 0 || l.AmountFen > stmtcsv.MaxLineFen:
		return &ParseError{Line: l.LineNo, Reason: "金额必须大于 0 且不超过上限"}
	case l.FeeFen > stmtcsv.MaxLineFen || l.FeeFen < -stmtcsv.MaxLineFen:
		return &ParseError{Line: l.LineNo, Reason: "手续费超出上限"}
	case l.At.IsZero():
		return &ParseError{Line: l.LineNo, Reason: "缺少交易时间"}
	case len(l.OrderNo) > 64 || len(l.TradeNo) > 64 || len(l.RefundNo) > 64 || len(l.ChannelRefundNo) > 64:
		return &ParseError{Line: l.LineNo, Reason: "订单号、交易号或退款号过长"}
	}
	return nil
}

// filePart is how much of a statement's file goes into one statement_files row.
const filePart = 1 << 20

// StatementFile is the file a channel's statement came in, as its adapter handed it over
// (nil for a statement kept line by line only: the bank's, or one stored before files
// were kept).
func (s *Service) StatementFile(ctx context.Context, statementID int64) ([]byte, error) {
	var parts []*store.StatementFile
	if err := s.db().NewSelect().Model(&parts).Where("statement_id = ?", statementID).OrderExpr("part").Scan(ctx); err != nil {
		return nil, fmt.Errorf("recon: statement file: %w", err)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	var file bytes.Buffer
	for _, p := range parts {
		file.Write(p.Data)
	}
	zr, err := gzip.NewReader(&file)
	if err != nil {
		return nil, fmt.Errorf("recon: statement file %d: %w", statementID, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxStatementBytes+1))
	if err != nil || len(out) > maxStatementBytes {
		return nil, fmt.Errorf("recon: statement file %d: unreadable or too large (%v)", statementID, err)
	}
	return out, nil
}

// storeStatement is the versioning and the bulk insert of ImportStatement, for lines that
// produce hands over one by one.
// file, when not nil, is the statement's file gzip-compressed, kept with the version.
func (s *Service) storeStatement(ctx context.Context, in StatementInput, hash string, file []byte, produce func(emit func(*Line) error) (Summary, error)) (*StatementResult, error) {
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
	err = store.InTx(ctx, s.db(), func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(st).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return errf(fault.ErrConflict, "statement_busy", "该对账单正被另一操作保存，请稍后重试")
			}
			return fmt.Errorf("recon: insert statement: %w", err)
		}
		for part := 0; part*filePart < len(file); part++ {
			data := file[part*filePart : min((part+1)*filePart, len(file))]
			if _, err := tx.NewInsert().Model(&store.StatementFile{StatementID: st.ID, Part: part, Data: data}).Exec(ctx); err != nil {
				return fmt.Errorf("recon: keep statement file: %w", err)
			}
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
				TradeNo: l.TradeNo, OrderNo: l.OrderNo, RefundNo: l.RefundNo, ChannelRefundNo: l.ChannelRefundNo, AmountFen: l.AmountFen, FeeFen: l.FeeFen,
				OccurredAt: store.UTC(l.At), Reference: l.Reference, Counterparty: l.Counterparty, Raw: l.Raw})
			if len(batch) == lineChunk {
				return flush()
			}
			return nil
		})
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return errf(fault.ErrInvalid, "statement_malformed", "%s对账单（%s）无法导入，整份拒收：%s", SourceLabel(in.Source), dayText(in.Day), pe.Error())
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
		return nil, errf(fault.ErrNotFound, "statement_not_found", "%s %s 的对账单尚未获取", SourceLabel(source), dayText(dayOnly(day)))
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
		return nil, errf(fault.ErrNotFound, "statement_not_found", "对账单不存在")
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
		return nil, 0, errf(fault.ErrNotFound, "line_not_found", "对账单明细不存在")
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
	var be *fault.Error
	return errors.As(err, &be) && errors.Is(be.Kind, fault.ErrNotFound)
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
