package console

import (
	"encoding/base64"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
)

// bankfileMapping edits a bank's saved column mapping ("new" starts an empty one).
func (h *Handler) bankfileMapping(c *fiber.Ctx) error {
	code := c.Params("code")
	if code == "new" {
		return h.mappingPage(c, "", "", recon.Mapping{}, "", nil)
	}
	row, m, err := h.Recon.BankMapping(c.UserContext(), code)
	if err != nil {
		return err
	}
	return h.mappingPage(c, row.BankCode, row.Name, m, "", nil)
}

// mappingField is one row of the mapping form.
type mappingField struct{ Key, Label, Help, Value string }

// mappingPage renders the mapping form; with a file, the columns are chosen from its
// header and the file goes along (base64) to be imported once the mapping is saved.
func (h *Handler) mappingPage(c *fiber.Ctx, code, name string, m recon.Mapping, fileName string, data []byte) error {
	page := fiber.Map{"Code": code, "Name": name, "FileName": fileName, "New": code == "" || data != nil}
	if data != nil {
		header, err := recon.SheetHeader(fileName, data)
		if err != nil {
			return err
		}
		page["Header"], page["FileData"] = header, base64.StdEncoding.EncodeToString(data)
		m = guessMapping(header, m)
	}
	var fields []mappingField
	for _, f := range recon.MappingFields {
		fields = append(fields, mappingField{f.Key, f.Label, f.Help, m.Get(f.Key)})
	}
	page["Fields"] = fields
	return h.page(c, "console/recon_mapping", "银行流水列映射", page)
}

// guessMapping fills what it can from the usual column names of Chinese banks' exports.
func guessMapping(header []string, m recon.Mapping) recon.Mapping {
	guesses := map[string][]string{
		"date": {"交易日期", "记账日期", "日期", "交易时间"}, "time": {"交易时间", "时间"},
		"amount": {"交易金额", "金额", "发生额"}, "direction": {"借贷标志", "借贷方向", "收支方向", "方向"},
		"credit": {"贷方金额", "收入金额", "收入"}, "debit": {"借方金额", "支出金额", "支出"},
		"reference": {"摘要", "附言", "用途", "备注"}, "counterparty": {"对方户名", "对方账户名称", "对方名称"},
		"serial": {"流水号", "交易流水号", "凭证号"},
	}
	has := map[string]bool{}
	for _, h := range header {
		has[h] = true
	}
	values := map[string]string{}
	used := map[string]bool{}
	for _, f := range recon.MappingFields {
		if v := m.Get(f.Key); v != "" {
			values[f.Key] = v
			continue
		}
		for _, g := range guesses[f.Key] {
			if has[g] && !used[g] {
				values[f.Key], used[g] = g, true
				break
			}
		}
	}
	if values["credit"] != "" && values["debit"] != "" {
		values["amount"], values["direction"] = "", ""
	} else {
		values["credit"], values["debit"] = "", ""
	}
	return recon.MappingFrom(func(k string) string { return values[k] })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
