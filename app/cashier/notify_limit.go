package cashier

// NotifyBodyLimit is the most a channel's notification may carry. The largest real one is
// UnionPay's form post with its signing certificate (signPubKeyCert) inline, about 5 KB;
// Alipay's form and WeChat Pay's encrypted JSON are 1–3 KB, the sandbox's under 1 KB.
// 64 KB is ten times the largest with room for fields a company adds, and small enough
// that a flood of forged posts cannot fill the notifications table.
const NotifyBodyLimit = 64 << 10
