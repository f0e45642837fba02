package cashier

import (
	"strings"
	"testing"
)

// The rows the bills page shows: each flag shows as the payer sees it, and whatever a
// business system put into an item's or department's name reaches the page as text.
func TestBillRowsHTML(t *testing.T) {
	rows := []billRow{
		{ID: 101, Name: `学费 <script>alert("x")</script>`, Dept: `教务处 & "招生办"`, Deadline: "2026-09-30",
			Due: "¥5,500.00", Paid: "¥0.00", Max: "5500.00", Checked: true},
		{ID: 102, Name: "住宿费", Dept: "后勤管理处", Due: "¥700.00", Paid: "¥500.00", Max: "700.00",
			PartPaid: true, PartialAllowed: true, AmountField: true, Amount: `1"><b>`},
		{ID: 103, Name: "教材费", Dept: "图书馆", Due: "¥386.50", Paid: "¥0.00", Max: "386.50", Locked: true, Checked: true},
	}
	page := string(billRowsHTML(rows))
	parts := strings.Split(page, "<li ")
	if len(parts) != 4 {
		t.Fatalf("want 3 rows, got %d:\n%s", len(parts)-1, page)
	}
	first, second, third := parts[1], parts[2], parts[3]

	for _, want := range []string{
		`<input class="bill-check" type="checkbox" name="bill" value="101" checked>`,
		`<span class="bill-name">学费 &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</span>`,
		`<span>教务处 &amp; &#34;招生办&#34;</span>`,
		`<span class="bill-deadline">截止 2026-09-30</span>`,
		`<span class="bill-due">¥5,500.00</span>`,
		`<span class="bill-paid">已缴 ¥0.00</span>`,
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first row lacks %s:\n%s", want, first)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>") {
		t.Errorf("a name or a typed amount reached the page as markup:\n%s", page)
	}
	for _, no := range []string{"is-locked", "bill-held", "badge-partial", "input-amount"} {
		if strings.Contains(first, no) {
			t.Errorf("first row (unpaid, free, whole amount) shows %s:\n%s", no, first)
		}
	}

	for _, want := range []string{
		`value="102">`, // not ticked
		`<span class="badge badge-partial">部分已缴</span>`,
		`<label class="field-label small" for="amount_102">`,
		`id="amount_102" name="amount_102" value="1&#34;&gt;&lt;b&gt;" inputmode="decimal" placeholder="最多 700.00">`,
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second row lacks %s:\n%s", want, second)
		}
	}
	if strings.Contains(second, "bill-deadline") {
		t.Errorf("second row has no deadline but shows one:\n%s", second)
	}

	// A held bill can't be ticked, even when the form had it ticked.
	for _, want := range []string{`class="bill is-locked"`, `value="103" disabled>`, `<span class="bill-held">支付中，见上方订单</span>`} {
		if !strings.Contains(third, want) {
			t.Errorf("held row lacks %s:\n%s", want, third)
		}
	}
	if strings.Contains(third, "checked") {
		t.Errorf("held row is ticked:\n%s", third)
	}

	if got := billRowsHTML(nil); got != "" {
		t.Errorf("no rows gave %q", got)
	}
}

// BenchmarkBillRowsHTML is the bills page's rows: three bills, as most payers have.
func BenchmarkBillRowsHTML(b *testing.B) {
	rows := []billRow{
		{ID: 101, Name: "2026学年学费", Dept: "教务处", Deadline: "2026-09-30", Due: "¥5,500.00", Paid: "¥0.00", Max: "5500.00"},
		{ID: 102, Name: "2026学年住宿费", Dept: "后勤管理处", Deadline: "2026-09-30", Due: "¥1,200.00", Paid: "¥0.00", Max: "1200.00",
			PartialAllowed: true, AmountField: true},
		{ID: 103, Name: "2026秋季教材费", Dept: "图书馆", Deadline: "2026-09-30", Due: "¥386.50", Paid: "¥0.00", Max: "386.50"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if billRowsHTML(rows) == "" {
			b.Fatal("no rows")
		}
	}
}
