package unionpay

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The ZM file layout the fake writes: field widths in bytes, one space between fields.
// The adapter documents the same layout; this is a separate copy on purpose, so a slip in
// one shows up against the other.
var zmWidths = []int{3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98}

// Indexes into zmWidths of the fields the fake fills.
const (
	zTxnCode    = 0
	zTransTime  = 4
	zAccount    = 5
	zAmount     = 6
	zQueryID    = 9
	zOrderID    = 11
	zFee        = 15
	zSettleAmt  = 16
	zTxnType    = 19
	zTxnSubType = 20
	zBizType    = 21
	zOrigQryID  = 26
	zMerID      = 27
	zNet        = 32
	zOrigOrder  = 40
)

// feeFen is the fake's merchant fee: 0.55 %, rounded half up, in whole fen.
func feeFen(amount int64) int64 { return (amount*55 + 5000) / 10000 }

func signed(n int64) string {
	if n < 0 {
		return fmt.Sprintf("D%012d", -n)
	}
	return fmt.Sprintf("C%012d", n)
}

func zmLine(t *txn, merID string) string {
	f := make([]string, len(zmWidths))
	f[zTransTime] = t.traceTime
	f[zAccount] = "6216***********0018"
	f[zAmount] = fmt.Sprintf("%012d", t.amount)
	f[zQueryID] = t.queryID
	f[zOrderID] = t.orderID
	f[zTxnType] = t.txnType
	f[zBizType] = "000201"
	f[zMerID] = merID
	dir := int64(1)
	switch t.txnType {
	case "01":
		f[zTxnCode], f[zTxnSubType] = "S22", "01"
	case "04":
		f[zTxnCode], f[zTxnSubType], dir = "S30", "00", -1
	case "31":
		f[zTxnCode], f[zTxnSubType], dir = "S31", "00", -1
	}
	fee := -dir * feeFen(t.amount) // charged on a consume (debit), returned on a refund (credit)
	f[zFee] = signed(fee)
	f[zSettleAmt] = signed(dir * t.amount)
	f[zNet] = signed(dir*t.amount + fee)
	if t.orig != nil {
		f[zOrigQryID], f[zOrigOrder] = t.orig.queryID, t.orig.orderID
	}
	var b strings.Builder
	for i, w := range zmWidths {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f[i])
		b.WriteString(strings.Repeat(" ", w-len(f[i])))
	}
	return b.String()
}

// file answers the file transfer (txnType 76, fileType 00) for settleDate MMDD: the zip of
// the clearing day, deflated and base64-encoded into fileContent.
func (s *Sim) file(w http.ResponseWriter, r *http.Request) {
	f, code, msg := s.readRequest(w, r)
	if code != "" {
		s.refuse(w, code, msg)
		return
	}
	if f["txnType"] != "76" || f["fileType"] != "00" || len(f["settleDate"]) != 4 {
		s.refuse(w, "10", "报文格式错误")
		return
	}
	today := businessDay(s.now())
	day, err := time.ParseInLocation("20060102", fmt.Sprint(today.Year())+f["settleDate"], beijing)
	if err != nil {
		s.refuse(w, "10", "报文格式错误[settleDate]")
		return
	}
	if day.After(today) {
		day = day.AddDate(-1, 0, 0)
	}
	a := map[string]string{"txnType": "76", "txnSubType": "01", "bizType": "000000", "accessType": "0",
		"merId": s.merID, "settleDate": f["settleDate"], "txnTime": f["txnTime"], "fileType": "00"}
	if !day.Before(today) {
		a["respCode"], a["respMsg"] = "98", "文件不存在"
		s.answer(w, a)
		return
	}
	s.mu.Lock()
	var txns []*txn
	for _, t := range s.txns {
		if t.queryID != "" && t.settleDay.Equal(day) && (t.state == statePaid || t.state == stateSucceeded) {
			txns = append(txns, t)
		}
	}
	sort.Slice(txns, func(i, j int) bool { return txns[i].queryID < txns[j].queryID })
	var b strings.Builder
	for _, t := range txns {
		b.WriteString(zmLine(t, s.merID))
		b.WriteString("\r\n")
	}
	tamper := s.switches.TamperStatement
	merID := s.merID
	s.mu.Unlock()

	content := []byte(b.String())
	if tamper == "totals" && len(txns) > 0 {
		content = bumpNet(content)
	}
	zipped, err := zipDay(day, merID, content, tamper == "crc")
	if err != nil {
		s.refuse(w, "99", "系统错误")
		return
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(zipped)
	_ = zw.Close()
	a["respCode"], a["respMsg"] = "00", "成功[0000000]"
	a["fileName"] = merID + "_" + day.Format("20060102") + ".zip"
	a["fileContent"] = base64.StdEncoding.EncodeToString(z.Bytes())
	s.answer(w, a)
}

// bumpNet adds one fen to the first line's 清算净额.
func bumpNet(content []byte) []byte {
	at := 0
	for i := 0; i < zNet; i++ {
		at += zmWidths[i] + 1
	}
	out := append([]byte(nil), content...)
	for i := at + zmWidths[zNet] - 1; i > at; i-- {
		if out[i] < '9' {
			out[i]++
			break
		}
		out[i] = '0'
	}
	return out
}

// zipDay packs the day's ZM file (and an empty ZME error file) as UnionPay names them.
// tamperCRC stores the entry with one byte changed under the original CRC-32.
func zipDay(day time.Time, merID string, content []byte, tamperCRC bool) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	name := "INN" + day.Format("060102") + "88ZM_" + merID
	if tamperCRC {
		body := append([]byte(nil), content...)
		if len(body) == 0 {
			body = []byte(" ")
		}
		body[0] ^= 0x01
		hdr := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(content),
			CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}
		hdr.Modified = day
		w, err := zw.CreateRaw(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(body); err != nil {
			return nil, err
		}
	} else {
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(content); err != nil {
			return nil, err
		}
	}
	if _, err := zw.Create("INN" + day.Format("060102") + "88ZME_" + merID); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
