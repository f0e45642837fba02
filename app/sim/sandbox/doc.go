// Package sandbox is a simulated third-party payment company ("沙箱支付"), shipped in the
// binary so that the platform runs and is tested with no outside service. It keeps its own
// books (tables sim_sandbox_trades, sim_sandbox_refunds) and is reached only over HTTP: the
// platform's adapter (app/channel/sandbox) speaks the protocol below, exactly as it would
// speak to a real provider. Mount it with Sim.Routes on a router prefix such as
// /sim/sandbox; every path below is relative to that prefix.
//
// # Signatures
//
// Every gateway request carries three headers:
//
//	X-Sandbox-Merchant:  the merchant code
//	X-Sandbox-Timestamp: unix seconds
//	X-Sandbox-Signature: lowercase hex HMAC-SHA256(key, METHOD+"\n"+PATH+"\n"+TIMESTAMP+"\n"+hex(sha256(body)))
//
// PATH is the URL path exactly as sent on the request line, prefix included and without
// the query string (for example /sim/sandbox/api/trades); body is the raw request body
// (empty for GET). A request whose merchant is unknown, whose signature does not verify or
// whose timestamp is more than 300 s away from the gateway's clock is refused with
// 401 {"code":"BAD_SIGNATURE","message":…}. Every response to a known merchant is signed the
// same way, with the method and path of the request and the response body, in the
// X-Sandbox-Timestamp and X-Sandbox-Signature headers, so that the merchant can tell the
// gateway's answers from anybody else's.
//
// Errors are JSON {"code","message"} (message in Chinese, for people): 400 INVALID_PARAM,
// 401 BAD_SIGNATURE, 404 TRADE_NOT_EXIST / REFUND_NOT_EXIST / STATEMENT_NOT_READY,
// 409 TRADE_CONFLICT / TRADE_PAID / REFUND_CONFLICT, 422 REFUND_EXCEEDS / TRADE_NOT_PAID,
// 500 SYSTEM_ERROR.
//
// # Gateway API (JSON in and out)
//
//	POST /api/trades   {"out_trade_no","amount_fen","subject","notify_url","return_url","expires_at"}
//	     → 200 {"trade_no","pay_url","status":"WAIT_PAY"}
//	     out_trade_no ≤ 32 of [0-9A-Za-z]; 0 < amount_fen ≤ 100000000; notify_url an absolute
//	     http(s) URL; return_url empty or absolute http(s); subject ≤ 200 characters;
//	     expires_at RFC3339 in the future, or empty for two hours from now. Idempotent on
//	     merchant+out_trade_no: the same amount again returns the same trade (whatever its
//	     status now), a different amount is 409 TRADE_CONFLICT. pay_url is
//	     PublicURL+"/pay/"+trade_no; trade_no is "SB" followed by 20 digits.
//	GET  /api/trades/{out_trade_no}
//	     → 200 {"trade_no","out_trade_no","amount_fen","status","paid_at"}
//	     status WAIT_PAY | SUCCESS | CLOSED (a trade past its expiry is closed); paid_at RFC3339
//	     (+08:00) or null; 404 TRADE_NOT_EXIST.
//	POST /api/trades/{out_trade_no}/close  (empty body)
//	     → 200 {"out_trade_no","status":"CLOSED"} for a waiting, closed or unknown trade;
//	     409 TRADE_PAID for a paid one.
//	POST /api/refunds  {"out_trade_no","out_refund_no","amount_fen","reason"}
//	     → 200 {"refund_no","out_refund_no","amount_fen","status":"SUCCESS"}, synchronously.
//	     out_refund_no ≤ 64 of [0-9A-Za-z]; idempotent on out_refund_no per trade (a different
//	     amount is 409 REFUND_CONFLICT); 404 TRADE_NOT_EXIST; 422 TRADE_NOT_PAID; 422
//	     REFUND_EXCEEDS when the refunds of the trade would total more than it was paid.
//	     refund_no is "SR" followed by 20 digits.
//	GET  /api/refunds/{out_trade_no}/{out_refund_no}
//	     → 200 as above; 404 TRADE_NOT_EXIST or REFUND_NOT_EXIST.
//	GET  /api/statements/{YYYY-MM-DD}
//	     → 200 text/csv, the statement below; 400 for a malformed date; 404
//	     STATEMENT_NOT_READY for a business day that has not ended yet.
//
// # Statement
//
// One business day in Asia/Shanghai (00:00 to 24:00 +08:00), UTF-8 CSV, "\n" line ends:
//
//	type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time
//	PAY,SB20240901083000123456,A1001,,12345,74,2024-09-01T08:30:00+08:00
//	REFUND,SB20240901083000123456,A1001,SR20240901100000654321,2000,0,2024-09-01T10:00:00+08:00
//	SUMMARY,2,12345,74,2000,10271
//
// A PAY line for every trade of the merchant paid that day (time = paid_at), a REFUND line
// for every successful refund made that day (time = refund time; trade_no and out_trade_no
// are the refunded trade's, refund_no is the gateway's refund number, which the merchant
// got back as refund_no when it asked for the refund). Lines are in time
// order. amount_fen is always positive; the type says which way the money went. fee_fen is
// 0.6% of a payment rounded half up to the fen, (amount*6+500)/1000; refunds carry no fee
// and the fee of a refunded payment is not returned. The last line is
//
//	SUMMARY,<count>,<gross_fen>,<fees_fen>,<refunds_fen>,<net_fen>
//
// (six fields where the others have seven: read with csv.Reader.FieldsPerRecord = -1),
// where count is the number of PAY and REFUND lines, gross the sum of payments, fees the sum
// of their fees, refunds the sum of refunds and net = gross - fees - refunds (it may be
// negative). A day with nothing has the header and SUMMARY,0,0,0,0,0.
//
// # Hosted pay page
//
//	GET  /pay/{trade_no}          the wallet's checkout page (Simplified Chinese)
//	POST /pay/{trade_no}/confirm  pay: → 303 to return_url (or a success page)
//	POST /pay/{trade_no}/cancel   cancel: closes the trade, → 303 to return_url
//
// A trade past its expires_at cannot be paid: it is closed and the page says so.
//
// # Notifications
//
// When a trade is paid, the gateway POSTs to its notify_url
//
//	{"merchant","out_trade_no","trade_no","amount_fen","status":"SUCCESS","paid_at"}
//
// with headers X-Sandbox-Timestamp (unix seconds, fresh on every attempt) and
// X-Sandbox-Signature = lowercase hex HMAC-SHA256(key, "NOTIFY\n"+TIMESTAMP+"\n"+hex(sha256(body))).
// The merchant must answer 200 with the body "success" (surrounding white space ignored);
// anything else is retried after 1 s, 3 s, 10 s, 30 s and 60 s, then abandoned (logged).
//
// # Switches
//
//	GET  /switches  → {"notify_delay_ms","drop_notify","duplicate_notify","out_of_order","amount_delta_fen","held"}
//	POST /switches  a JSON object with any of those fields (held excepted); the fields given
//	                replace the current values, the others stay.
//
// They make the gateway misbehave like real providers do: delay the first notification,
// drop notifications, send each one duplicate_notify extra times at once, hold
// notifications while out_of_order is on and send them newest first when it is turned off,
// and report amount_fen+amount_delta_fen in notifications (correctly signed).
package sandbox
