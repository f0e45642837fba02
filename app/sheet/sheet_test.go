package sheet_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"campuspay/app/sheet"
)

func TestReadCSV(t *testing.T) {
	in := "\xEF\xBB\xBF学号,姓名,金额\n20260001,张三,5000.00\n\n20260002,\"李,四\",12\n"
	tab, err := sheet.Read("bills.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 2 || tab.Rows[1].Line != 4 || tab.Rows[1].Cell(1) != "李,四" {
		t.Fatalf("rows = %+v, want 2 rows, the second on line 4 named 李,四", tab.Rows)
	}
	cols, err := tab.Columns([]string{"学号|payer_no", "金额"}, []string{"备注"})
	if err != nil || cols["学号|payer_no"] != 0 || cols["金额"] != 2 {
		t.Errorf("Columns = %v, %v", cols, err)
	}
	if _, err := tab.Columns([]string{"学号", "项目编码"}, nil); err == nil || !strings.Contains(err.Error(), "项目编码") {
		t.Errorf("missing column error = %v, want it to name 项目编码", err)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, file, body, want string
	}{
		{"unknown type", "a.txt", "x", ".xlsx"},
		{"empty", "a.csv", "", "空"},
		{"header only", "a.csv", "学号,金额\n", "没有数据"},
		{"broken quotes", "a.csv", "a,b\n\"x,y\n", "格式错误"},
		{"GBK", "a.csv", "\xd1\xa7\xba\xc5,b\n1,2\n", "UTF-8"},
		{"not xlsx", "a.xlsx", "PK not really", "Excel"},
	}
	for _, tt := range tests {
		_, err := sheet.Read(tt.file, strings.NewReader(tt.body))
		if !errors.Is(err, sheet.ErrFormat) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrFormat mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteThenReadXLSX(t *testing.T) {
	var buf bytes.Buffer
	err := sheet.WriteXLSX(&buf, "未缴名单", []string{"学号", "姓名", "金额（元）"}, func(yield func([]any) error) error {
		for _, r := range [][]any{{"20260001", "张三", "5000.00"}, {"20260002", "李四", "12.50"}} {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "未缴名单" {
		t.Errorf("sheets = %v, want [未缴名单]", got)
	}
	tab, err := sheet.Read("x.xlsx", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Header[2] != "金额（元）" || len(tab.Rows) != 2 || tab.Rows[1].Cell(1) != "李四" || tab.Rows[1].Cell(2) != "12.50" {
		t.Errorf("read back %+v", tab)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("a,b\n1,2\n")
	f.Add("\"x\ny\",z\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := sheet.Read("f.csv", strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, sheet.ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if tab.Header == nil || len(tab.Rows) == 0 {
			t.Fatal("no error but no rows")
		}
		for i := 1; i < len(tab.Rows); i++ {
			if tab.Rows[i].Line <= tab.Rows[i-1].Line {
				t.Fatalf("line numbers not increasing: %d then %d", tab.Rows[i-1].Line, tab.Rows[i].Line)
			}
		}
	})
}
