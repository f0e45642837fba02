package store

import (
	"time"

	"github.com/uptrace/bun"
)

// The books of the simulated outside world. Their tables are not in the platform's schema:
// app/sim/simdb creates them where the simulators run.

type SandboxTrade struct {
	bun.BaseModel `bun:"table:sim_sandbox_trades"`

	ID          int64      `bun:"id,pk,autoincrement"`
	TradeNo     string     `bun:"trade_no"`
	OutTradeNo  string     `bun:"out_trade_no"`
	Merchant    string     `bun:"merchant"`
	Subject     string     `bun:"subject"`
	AmountFen   int64      `bun:"amount_fen"`
	NotifyURL   string     `bun:"notify_url"`
	ReturnURL   string     `bun:"return_url"`
	Status      string     `bun:"status"`
	RefundedFen int64      `bun:"refunded_fen"`
	CreatedAt   time.Time  `bun:"created_at"`
	PaidAt      *time.Time `bun:"paid_at"`
	ExpiresAt   *time.Time `bun:"expires_at"`
}

type SandboxRefund struct {
	bun.BaseModel `bun:"table:sim_sandbox_refunds"`

	ID          int64     `bun:"id,pk,autoincrement"`
	RefundNo    string    `bun:"refund_no"`
	OutRefundNo string    `bun:"out_refund_no"`
	TradeNo     string    `bun:"trade_no"`
	AmountFen   int64     `bun:"amount_fen"`
	Status      string    `bun:"status"`
	CreatedAt   time.Time `bun:"created_at"`
}

type CardAccount struct {
	bun.BaseModel `bun:"table:sim_card_accounts"`

	CardNo       string    `bun:"card_no,pk"`
	HolderNo     string    `bun:"holder_no"`
	HolderName   string    `bun:"holder_name"`
	PasswordHash string    `bun:"password_hash"`
	BalanceFen   int64     `bun:"balance_fen"`
	Frozen       bool      `bun:"frozen"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

type CardTxn struct {
	bun.BaseModel `bun:"table:sim_card_txns"`

	ID           int64     `bun:"id,pk,autoincrement"`
	TxnNo        string    `bun:"txn_no"`
	CardNo       string    `bun:"card_no"`
	Kind         string    `bun:"kind"`
	OutNo        string    `bun:"out_no"`
	DebitTxnNo   string    `bun:"debit_txn_no"` // a refund's debit
	AmountFen    int64     `bun:"amount_fen"`
	BalanceAfter int64     `bun:"balance_after"`
	CreatedAt    time.Time `bun:"created_at"`
}
