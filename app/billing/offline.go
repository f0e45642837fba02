package billing

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/money"
	"campuspay/app/sheet"
	"campuspay/store"
)

// Offline collections (其它途径收费): money the school took by cash at a counter, by POS
// card terminal or by bank deduction, reported in a spreadsheet and imported here so that
// each bill is settled like any other payment — an order and a payment of channel
// "offline", the bill's amounts and status, a receipt, the business system's callback and
// the audit log.
//
// The rules a file must keep (every row is checked; one bad row and nothing is imported,
// with every bad row's line and reason):
//
//   - 方式 is 现金, POS or 代扣 (cash, pos, deduction);
//   - the bill is named by 账单号, or by 学号/工号 with 项目编码 (then the payer's one
//     payable bill under that item);
//   - the bill is unpaid or partly paid, and no live online order holds it (a payer paying
//     it online right now: import again once that order is paid or has closed);
//   - its item has been approved (it may be suspended or closed since), and the collection
//     date falls inside the item's payment window: money a counter took before the window
//     closed is imported even after it closed, since it was really collected then; a date
//     after the close (or before the opening) is refused;
//   - 金额 is more than zero and no more than what the bill still owes — counting the rows
//     of the same file before it — and, for an item that takes no partial payment, exactly
//     what it still owes;
//   - 收款日期 is a valid date, not after today (Asia/bizday.Shanghai);
//   - 凭证号/参考号 (the receipt book number, POS trace number or deduction serial) is
//     given, appears once per method in the file, and was never imported for that method
//     before. The payment's trade number is method + ":" + reference, so the unique key on
//     (channel, trade number) — and the one on offline_collections (method, reference) —
//     keep the same collection from ever being applied twice, whatever races.
//
// An offline payment's paid_at is the collection day at 00:00 Asia/bizday.Shanghai (the file
// gives a date, not a time), so it counts on that business day in statistics and vouchers.

// Offline collection methods.
const (
	OfflineCash      = "cash"
	OfflinePOS       = "pos"
	OfflineDeduction = "deduction"
)

// ChannelOffline is the channel of the orders and payments of offline collections. It is
// not a channel payers can choose: it is never in Service.Channels and never enabled.
const ChannelOffline = "offline"

// ImportKindOffline is the import job kind of an offline collection file.
const ImportKindOffline = "offline"

// OfflineMethods lists the methods in the order pages show them.
var OfflineMethods = []string{OfflineCash, OfflinePOS, OfflineDeduction}

// OfflineMethodLabel is a method as finance calls it.
func OfflineMethodLabel(method string) string {
	switch method {
	case OfflineCash:
		return "现金"
	case OfflinePOS:
		return "POS"
	case OfflineDeduction:
		return "代扣"
	}
	return method
}

// offlineMethodWords maps what a file may say (lower case) to a method.
var offlineMethodWords = map[string]string{
	"现金": OfflineCash, "cash": OfflineCash,
	"pos": OfflinePOS, "pos机": OfflinePOS, "刷卡": OfflinePOS,
	"代扣": OfflineDeduction, "银行代扣": OfflineDeduction, "deduction": OfflineDeduction,
}

// Offline file columns, each with the header names accepted for it.
const (
	colOfflineMethod = "方式|收款方式|method"
	colOfflineItem   = "项目编码|收费项目编码|item_code"
	colOfflineAmount = "金额|金额（元）|金额(元)|收款金额|amount"
	colOfflineDate   = "收款日期|日期|collected_on"
	colOfflineRef    = "凭证号/参考号|凭证号|参考号|流水号|reference"
	colOfflineNote   = "备注|说明|note"
)

// OfflineTemplateHeader is the header row of the offline collection template.
var OfflineTemplateHeader = []string{"方式", "学号/工号", "项目编码", "账单号", "金额", "收款日期", "凭证号/参考号", "备注"}

// OfflineTemplateExample is the template's example rows.
var OfflineTemplateExample = [][]any{
	{"现金", "2026000001", "DORM-2026", "", "1200.00", "2026-11-20", "XJ-000123", "示例：按学号/工号和项目编码找账单"},
	{"POS", "", "", "DEMO-CET-2026-12-2026000002", "30.00", "2026-11-20", "POS-884512", "示例：直接填写账单号"},
	{"代扣", "2026000003", "TUITION-2026", "", "2000.00", "2026-11-21", "DK20261121-0001", "示例：银行代扣流水号"},
}

// MaxOfflineReference is the longest reference accepted: method + ":" + reference must fit
// a payment's 64-character trade number.
const MaxOfflineReference = 50

var offlineRefRE = regexp.MustCompile(`^[\x21-\x7e]{1,50}$`)

// OfflineRecord is one row of an offline collection file, read and checked on its own.
type OfflineRecord struct {
	Line        int
	Method      string // cash | pos | deduction
	PayerNo     string
	ItemCode    string
	BillNo      string
	AmountFen   int64
	CollectedOn time.Time // the business day, 00:00 UTC
	Reference   string
	Note        string

	problems []string
	billID   int64 // the bill the row settles, once found
}

// TradeNo is the payment trade number of the record: method + ":" + reference.
func (r *OfflineRecord) TradeNo() string { return r.Method + ":" + r.Reference }

func (r *OfflineRecord) bad(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// ParseOffline reads an offline collection file (.xlsx or .csv) and checks each row on its
// own — method, amount, date (not after today, a business day), reference (unique per
// method in the file), note — without the database. A file it can't read is an *fault.Error; bad
// rows are *imports.RowErrors listing every one, in line order.
func ParseOffline(fileName string, data []byte, today time.Time) ([]*OfflineRecord, error) {
	recs, err := readOffline(fileName, data, today)
	if err != nil {
		return nil, err
	}
	if bad := offlineProblems(recs); bad != nil {
		return nil, bad
	}
	return recs, nil
}

// readOffline reads the file into records, each carrying its own problems.
func readOffline(fileName string, data []byte, today time.Time) ([]*OfflineRecord, error) {
	table, err := sheet.Read(fileName, bytes.NewReader(data))
	if err != nil {
		return nil, imports.FileError(err)
	}
	cols, err := table.Columns([]string{colOfflineMethod, colOfflineAmount, colOfflineDate, colOfflineRef},
		[]string{imports.ColPayerNo, colOfflineItem, imports.ColBillNo, colOfflineNote})
	if err != nil {
		return nil, imports.FileError(err)
	}
	_, hasBill := cols[imports.ColBillNo]
	_, hasPayer := cols[imports.ColPayerNo]
	_, hasItem := cols[colOfflineItem]
	if !hasBill && !(hasPayer && hasItem) {
		return nil, fault.New(fault.ErrInvalid, "columns_missing", "缺少列：账单号（或学号/工号和项目编码）（第 1 行应为表头）")
	}
	cell := func(r sheet.Row, name string) string {
		if i, ok := cols[name]; ok {
			return r.Cell(i)
		}
		return ""
	}
	recs := make([]*OfflineRecord, 0, len(table.Rows))
	seen := make(map[string]int, len(table.Rows)) // method:reference → line
	for _, row := range table.Rows {
		r := &OfflineRecord{Line: row.Line, PayerNo: cell(row, imports.ColPayerNo), ItemCode: cell(row, colOfflineItem),
			BillNo: cell(row, imports.ColBillNo), Reference: cell(row, colOfflineRef), Note: cell(row, colOfflineNote)}
		method := cell(row, colOfflineMethod)
		r.Method = offlineMethodWords[strings.ToLower(method)]
		if r.Method == "" {
			if method == "" {
				r.bad("请填写收款方式（现金、POS 或 代扣）")
			} else {
				r.bad("收款方式「%s」无效，应为 现金、POS 或 代扣", store.Clip(method, 20))
			}
		}
		if r.BillNo == "" && (r.PayerNo == "" || r.ItemCode == "") {
			r.bad("请填写账单号，或同时填写学号/工号和项目编码")
		}
		r.AmountFen = offlineAmount(r, cell(row, colOfflineAmount))
		r.CollectedOn = offlineDate(r, cell(row, colOfflineDate), today)
		switch {
		case r.Reference == "":
			r.bad("请填写凭证号/参考号")
		case !offlineRefRE.MatchString(r.Reference):
			r.bad("凭证号/参考号只能由字母、数字和符号组成（不含空格），不超过 %d 位", MaxOfflineReference)
		case r.Method != "":
			if at, dup := seen[r.TradeNo()]; dup {
				r.bad("%s凭证号 %s 与第 %d 行重复", OfflineMethodLabel(r.Method), r.Reference, at)
			} else {
				seen[r.TradeNo()] = r.Line
			}
		}
		if utf8.RuneCountInString(r.Note) > 200 {
			r.bad("备注不能超过 200 个字")
		}
		recs = append(recs, r)
	}
	return recs, nil
}

func offlineAmount(r *OfflineRecord, raw string) int64 {
	if raw == "" {
		r.bad("请填写金额")
		return 0
	}
	fen, err := money.ParseYuan(raw)
	var pe *money.ParseError
	switch {
	case errors.As(err, &pe):
		r.bad("金额「%s」：%s", store.Clip(raw, 30), pe.Message)
	case err != nil:
		r.bad("金额格式不正确")
	case fen <= 0:
		r.bad("金额须大于 0")
	case fen > MaxAmountFen:
		r.bad("金额不能超过 %s", money.Format(MaxAmountFen))
	default:
		return fen
	}
	return 0
}

func offlineDate(r *OfflineRecord, raw string, today time.Time) time.Time {
	if raw == "" {
		r.bad("请填写收款日期")
		return time.Time{}
	}
	day, ok := imports.ParseDate(raw)
	switch {
	case !ok || day.Year() < 2000:
		r.bad("收款日期「%s」格式不正确，如 2026-11-20", store.Clip(raw, 30))
	case day.After(today):
		r.bad("收款日期 %s 晚于今天（%s）", day.Format("2006-01-02"), today.Format("2006-01-02"))
	default:
		return day
	}
	return time.Time{}
}

// offlineProblems gathers the records' problems in line order, or nil when there are none.
func offlineProblems(recs []*OfflineRecord) *imports.RowErrors {
	var badRecs []*OfflineRecord
	for _, r := range recs {
		if len(r.problems) > 0 {
			badRecs = append(badRecs, r)
		}
	}
	if len(badRecs) == 0 {
		return nil
	}
	sort.SliceStable(badRecs, func(i, j int) bool { return badRecs[i].Line < badRecs[j].Line })
	out := &imports.RowErrors{}
	for _, r := range badRecs {
		out.Add(r.Line, strings.Join(r.problems, "；"))
	}
	return out
}

// offlineDay is the day of a record as people write it.
func offlineDay(d time.Time) string { return d.Format("2006-01-02") }
