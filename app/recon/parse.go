package recon

import (
	"io"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/stmtcsv"
)

// Line is one line of a statement as a parser reads it.
type Line struct {
	LineNo   int    // as in the file: the header is line 1
	Kind     string // pay | refund (channels); credit | debit (bank)
	TradeNo  string // the channel's transaction number, or the bank's serial
	OrderNo  string // the platform's order number
	RefundNo string // our refund number, where the line carries it
	// ChannelRefundNo is the channel's refund number, where the line carries it.
	ChannelRefundNo string
	AmountFen       int64 // always positive; Kind says which way the money went
	FeeFen          int64
	At              time.Time
	Reference       string // bank: the memo; card: the card number
	Counterparty    string // bank: who paid or was paid; card: the holder number
	Raw             string
}

// Line kinds.
const (
	KindPay    = "pay"
	KindRefund = "refund"
	KindCredit = "credit"
	KindDebit  = "debit"
)

// Summary is a statement's totals: for a channel, payments (gross), their fees, refunds
// and net = gross - fees - refunds; for the bank, credits (gross), debits (refunds) and
// net = credits - debits.
type Summary struct {
	Count     int
	GrossFen  int64
	FeeFen    int64
	RefundFen int64
	NetFen    int64
}

// add counts a line into the totals.
func (s *Summary) add(l *Line) {
	s.Count++
	switch l.Kind {
	case KindPay, KindCredit:
		s.GrossFen += l.AmountFen
	case KindRefund, KindDebit:
		s.RefundFen += l.AmountFen
	}
	s.FeeFen += l.FeeFen
	s.NetFen = s.GrossFen - s.FeeFen - s.RefundFen
}

// ParseError is why a statement file was refused, whole: the line (1 = the header) and
// the reason, in Chinese. Channel adapters and the bank parser report the same type.
type ParseError = channel.StatementError

// A parser reads a statement file, calls emit for every line in file order, and returns
// the totals, which it has checked against the file's own summary. Any fault is a
// *ParseError and the file is to be refused whole.
type parser func(r io.Reader, emit func(*Line) error) (Summary, error)

// The CSV helpers the bank's statement format shares with the simple channels'.
var (
	csvLines     = stmtcsv.Read
	fen          = stmtcsv.Fen
	instant      = stmtcsv.Instant
	number       = stmtcsv.Number
	clip         = stmtcsv.Clip
	rawOf        = stmtcsv.Raw
	checkSummary = stmtcsv.CheckSummary
	countField   = stmtcsv.CountField
	fenField     = stmtcsv.FenField
)
