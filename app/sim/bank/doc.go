// Package bank is the simulated bank (模拟银行) that keeps the school's basic account: it
// serves the account's daily statement, which is what the platform reconciles the payment
// channels' settlements against. Like the other simulators it is "the outside world",
// shipped in the binary and reached only over HTTP; mount it with Sim.Routes on a prefix
// such as /sim/bank (paths below are relative to it).
//
// The bank knows what the payment companies sent: it computes each channel's settlement of
// a day from the simulators' own books (sim_sandbox_trades and sim_sandbox_refunds for the
// sandbox merchant, sim_card_txns for the campus card system), exactly as the channels'
// statements do, and credits the net amount on the next day (T+1). It never reads the
// platform's tables.
//
// # Signing
//
// A request carries
//
//	X-Bank-Account    the school's account number
//	X-Bank-Timestamp  unix seconds, within 300 s of the bank's clock
//	X-Bank-Signature  lowercase hex HMAC-SHA256(key, "GET\n" + PATH + "\n" + TIMESTAMP)
//
// where PATH is the escaped request path without the query (e.g.
// /sim/bank/api/statements/2026-11-27). A request that fails is answered 401
// {"code":"BAD_SIGNATURE"}. The answer carries X-Bank-Timestamp and X-Bank-Signature =
// hex HMAC-SHA256(key, TIMESTAMP + "\n" + hex(sha256(body))).
//
// # Statement
//
//	GET /api/statements/{YYYY-MM-DD}
//	  200 text/csv; 400 {"code":"INVALID_DATE"}; 404 {"code":"STATEMENT_NOT_READY"} until the
//	  business day (Asia/Shanghai) has ended.
//
// UTF-8 CSV, "\n" line ends, ordered by time then serial:
//
//	serial,time,direction,amount_fen,counterparty,reference
//	B20261127C01,2026-11-27T09:15:00+08:00,C,650000,王**,学费 2026000042 家长汇款
//	B20261127S01,2026-11-27T10:00:00+08:00,C,1240560,沙箱支付科技有限公司,SANDBOX SETTLE 2026-11-26
//	B20261127S02,2026-11-27T10:05:00+08:00,C,36000,校园一卡通管理中心,CAMPUSCARD SETTLE 2026-11-26
//	B20261127D01,2026-11-27T14:00:00+08:00,D,1203456,国网某某供电公司,电费 2026-11
//	SUMMARY,<credit_count>,<credit_fen>,<debit_count>,<debit_fen>
//
// direction C is money in, D money out; amount_fen is positive. A channel's settlement of
// day D is gross - fees - refunds of its statement of D (the campus card charges no fee);
// a positive net is a credit on D+1 at 10:00 (sandbox) or 10:05 (campus card), a negative
// one a debit, zero nothing. Besides settlements the account sees, generated
// deterministically from the date (so a statement fetched twice is the same file): a
// parent's tuition transfer every day, a utility bill debit on some days, and the
// quarterly interest credit on the 21st of March, June, September and December.
//
// # Switches
//
//	GET  /switches  → {"settlements":{"sandbox/2026-11-26":"delay", …}}
//	POST /switches  {"channel":"sandbox","day":"2026-11-26","action":"delay"|"drop"|"normal"}
//
// delay moves that settlement to D+2; drop never pays it. Tests use them (or Sim.Set).
package bank
