package cashier

import (
	"html/template"
	"strconv"
	"strings"
)

// billRowsHTML writes a group's bill rows, the bills page's one repeated block, in Go.
//
// The page is the busiest of the first hour of term, and html/template puts an escaper
// into every action: each is a reflective call, and with the field look-ups around them a
// row cost about a dozen. Written here, a row costs a few string appends. Every text is
// escaped with template.HTMLEscapeString, which escapes quotes too, so the same call
// serves element text and quoted attribute values; numbers are written as digits.
// TestBillRowsHTML checks the markup, the flags and the escaping.
func billRowsHTML(rows []billRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 640)
	for i := range rows {
		rows[i].writeHTML(&b)
	}
	return template.HTML(b.String())
}

func (r *billRow) writeHTML(b *strings.Builder) {
	esc := template.HTMLEscapeString
	id := strconv.FormatInt(r.ID, 10)
	b.WriteString("\n      <li class=\"bill")
	if r.Locked {
		b.WriteString(" is-locked")
	}
	b.WriteString("\">\n        <label>\n          <input class=\"bill-check\" type=\"checkbox\" name=\"bill\" value=\"")
	b.WriteString(id)
	b.WriteByte('"')
	switch {
	case r.Locked:
		b.WriteString(" disabled")
	case r.Checked:
		b.WriteString(" checked")
	}
	b.WriteString(">\n          <span class=\"bill-main\">\n            <span class=\"bill-name\">")
	b.WriteString(esc(r.Name))
	b.WriteString("</span>\n            <span class=\"bill-meta\">\n              <span>")
	b.WriteString(esc(r.Dept))
	b.WriteString("</span>")
	if r.Deadline != "" {
		b.WriteString("<span class=\"bill-deadline\">截止 ")
		b.WriteString(esc(r.Deadline))
		b.WriteString("</span>")
	}
	if r.Locked {
		b.WriteString("<span class=\"bill-held\">支付中，见上方订单</span>")
	}
	if r.PartPaid {
		b.WriteString("<span class=\"badge badge-partial\">部分已缴</span>")
	}
	b.WriteString("\n            </span>\n          </span>\n          <span class=\"bill-amounts\">\n            <span class=\"bill-due\">")
	b.WriteString(esc(r.Due))
	b.WriteString("</span>\n            <span class=\"bill-paid\">已缴 ")
	b.WriteString(esc(r.Paid))
	b.WriteString("</span>\n          </span>\n        </label>")
	if r.AmountField {
		b.WriteString("\n        <div class=\"field\">\n          <label class=\"field-label small\" for=\"amount_")
		b.WriteString(id)
		b.WriteString("\">本次缴费金额（元，可分次缴纳，留空为全额）</label>\n" +
			"          <div class=\"input-group\"><span class=\"input-prefix\">¥</span><input class=\"input input-amount\" id=\"amount_")
		b.WriteString(id)
		b.WriteString("\" name=\"amount_")
		b.WriteString(id)
		b.WriteString("\" value=\"")
		b.WriteString(esc(r.Amount))
		b.WriteString("\" inputmode=\"decimal\" placeholder=\"最多 ")
		b.WriteString(esc(r.Max))
		b.WriteString("\"></div>\n        </div>")
	}
	b.WriteString("\n      </li>")
}
