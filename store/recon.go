package store

import (
	"time"

	"github.com/uptrace/bun"
)

// Statement is one source's statement file for one business day (sql/*/0012_recon.sql).
type Statement struct {
	bun.BaseModel `bun:"table:statements"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Source      string    `bun:"source"` // sandbox | campuscard | bank:<code>
	Day         time.Time `bun:"day,type:date"`
	Version     int       `bun:"version"`
	ContentHash string    `bun:"content_hash"`
	Origin      string    `bun:"origin"` // fetch | upload
	FileName    string    `bun:"file_name"`
	LineCount   int       `bun:"line_count"`
	GrossFen    int64     `bun:"gross_fen"`
	FeeFen      int64     `bun:"fee_fen"`
	RefundFen   int64     `bun:"refund_fen"`
	NetFen      int64     `bun:"net_fen"`
	Superseded  bool      `bun:"superseded"`
	CreatedBy   string    `bun:"created_by"`
	CreatedAt   time.Time `bun:"created_at"`
}

// StatementLine is one line of a statement.
type StatementLine struct {
	bun.BaseModel `bun:"table:statement_lines"`

	ID          int64  `bun:"id,pk,autoincrement"`
	StatementID int64  `bun:"statement_id"`
	LineNo      int    `bun:"line_no"`
	Kind        string `bun:"kind"` // pay | refund | credit | debit
	TradeNo     string `bun:"trade_no"`
	OrderNo     string `bun:"order_no"`
	RefundNo    string `bun:"refund_no"` // our refund number, where the line carries it
	// ChannelRefundNo is the company's refund number, where the line carries it.
	ChannelRefundNo string    `bun:"channel_refund_no"`
	AmountFen       int64     `bun:"amount_fen"`
	FeeFen          int64     `bun:"fee_fen"`
	OccurredAt      time.Time `bun:"occurred_at"`
	Reference       string    `bun:"reference"`
	Counterparty    string    `bun:"counterparty"`
	Raw             string    `bun:"raw"`
}

// StatementFile is one part (≤ 1 MiB) of the file a channel's statement came in.
type StatementFile struct {
	bun.BaseModel `bun:"table:statement_files"`

	StatementID int64  `bun:"statement_id,pk"`
	Part        int    `bun:"part,pk"`
	Data        []byte `bun:"data"`
}

// ReconRun is one reconciliation of one day.
type ReconRun struct {
	bun.BaseModel `bun:"table:recon_runs"`

	ID               int64      `bun:"id,pk,autoincrement"`
	Kind             string     `bun:"kind"` // channel | bank
	Source           string     `bun:"source"`
	Day              time.Time  `bun:"day,type:date"`
	Status           string     `bun:"status"` // running | done | failed
	StatementID      *int64     `bun:"statement_id"`
	MatchedCount     int        `bun:"matched_count"`
	MatchedFen       int64      `bun:"matched_fen"`
	RepairedCount    int        `bun:"repaired_count"`
	DiscrepancyCount int        `bun:"discrepancy_count"`
	Message          string     `bun:"message"`
	RunBy            string     `bun:"run_by"`
	StartedAt        time.Time  `bun:"started_at"`
	FinishedAt       *time.Time `bun:"finished_at"`
}

// Discrepancy types.
const (
	DiscMissingPlatform     = "missing_platform" // the channel has it, the platform does not
	DiscMissingChannel      = "missing_channel"  // the platform has it, the channel does not
	DiscAmountDiffers       = "amount_differs"
	DiscStatusDiffers       = "status_differs"
	DiscSettlementUnmatched = "settlement_unmatched" // a channel's settlement never reached the bank
	DiscBankUnexplained     = "bank_unexplained"     // a bank credit no settlement explains
)

// Discrepancy is a difference a run found, and its resolution.
type Discrepancy struct {
	bun.BaseModel `bun:"table:discrepancies"`

	ID              int64      `bun:"id,pk,autoincrement"`
	Kind            string     `bun:"kind"`
	Source          string     `bun:"source"`
	Day             time.Time  `bun:"day,type:date"`
	Type            string     `bun:"type"`
	ItemKey         string     `bun:"item_key"`
	OrderNo         string     `bun:"order_no"`
	RefundNo        string     `bun:"refund_no"`
	TradeNo         string     `bun:"trade_no"`
	PlatformFen     int64      `bun:"platform_fen"`
	ChannelFen      int64      `bun:"channel_fen"`
	StatementLineID *int64     `bun:"statement_line_id"`
	BankLineID      *int64     `bun:"bank_line_id"`
	Status          string     `bun:"status"` // open | resolved | cleared
	Note            string     `bun:"note"`
	ResolvedBy      string     `bun:"resolved_by"`
	ResolvedAt      *time.Time `bun:"resolved_at"`
	FirstRunID      int64      `bun:"first_run_id"`
	LastRunID       int64      `bun:"last_run_id"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
}

// BankMapping says which columns of one bank's export hold what.
type BankMapping struct {
	bun.BaseModel `bun:"table:bank_mappings"`

	BankCode  string    `bun:"bank_code,pk"`
	Name      string    `bun:"name"`
	Mapping   string    `bun:"mapping"` // JSON
	UpdatedBy string    `bun:"updated_by"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// OfflineCollection is money collected by cash, POS or bank deduction, applied to a bill.
type OfflineCollection struct {
	bun.BaseModel `bun:"table:offline_collections"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Method      string    `bun:"method"` // cash | pos | deduction
	Reference   string    `bun:"reference"`
	BillID      int64     `bun:"bill_id"`
	OrderID     int64     `bun:"order_id"`
	PaymentID   int64     `bun:"payment_id"`
	AmountFen   int64     `bun:"amount_fen"`
	CollectedOn time.Time `bun:"collected_on,type:date"`
	Note        string    `bun:"note"`
	ImportJobID *int64    `bun:"import_job_id"`
	CreatedBy   string    `bun:"created_by"`
	CreatedAt   time.Time `bun:"created_at"`
}
