package sheet_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"campuspay/app/sheet"
)

// smallWorkbook is a valid .xlsx with one shared string, to be rebuilt with a bomb inside.
func smallWorkbook(t *testing.T) []byte {
	t.Helper()
	x := excelize.NewFile()
	x.SetSheetRow("Sheet1", "A1", &[]any{"学号", "金额"})
	x.SetSheetRow("Sheet1", "A2", &[]any{"20260001", "100"})
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// repeated yields left bytes of 'A'.
type repeated struct{ left int64 }

func (r *repeated) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for i := range n {
		p[i] = 'A'
	}
	r.left -= int64(n)
	return n, nil
}

// bomb rebuilds a small workbook with xl/sharedStrings.xml expanding to size bytes (one
// shared string of size letters). When
// lie is set, the zip directory declares the part as 1 KB (a forged header).
func bomb(t *testing.T, size int64, lie bool) []byte {
	t.Helper()
	src := smallWorkbook(t)
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, f := range zr.File {
		if f.Name != "xl/sharedStrings.xml" {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		body := io.MultiReader(strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>`),
			&repeated{left: size}, strings.NewReader(`</t></si></sst>`))
		if !lie {
			w, err := zw.Create(f.Name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, body); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var packed bytes.Buffer
		fw, _ := flate.NewWriter(&packed, flate.BestCompression)
		crc := crc32.NewIEEE()
		if _, err := io.Copy(io.MultiWriter(fw, crc), body); err != nil {
			t.Fatal(err)
		}
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc.Sum32(),
			CompressedSize64: uint64(packed.Len()), UncompressedSize64: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(packed.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestReadRefusesZipBomb uploads a ~300 KB .xlsx whose shared strings unzip to 300 MB: it
// is refused with a message a person understands, and reading it allocates far less than
// the bomb would need (every byte allocated while reading is counted, so this bounds the
// peak too).
func TestReadRefusesZipBomb(t *testing.T) {
	const unzipped = 300 << 20
	for _, lie := range []bool{false, true} {
		file := bomb(t, unzipped, lie)
		if len(file) > 1<<20 {
			t.Fatalf("bomb is %d bytes, want a small file", len(file))
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := sheet.Read("bomb.xlsx", bytes.NewReader(file))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, sheet.ErrFormat) {
			t.Fatalf("lie=%v: err = %v, want the file refused", lie, err)
		}
		if !lie && !strings.Contains(err.Error(), "解压后超过 64 MB") {
			t.Errorf("err = %v, want it to say the file unzips to too much", err)
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("lie=%v: %d KB file, %d MB allocated while refusing it: %v", lie, len(file)>>10, allocated>>20, err)
		if allocated > 300<<20 {
			t.Errorf("lie=%v: reading the bomb allocated %d MB, want under 300 MB", lie, allocated>>20)
		}
	}
}

// TestReadTakesNumbersAsStored: numeric cells are read as the value stored, not as their
// number format displays it; dates keep their display.
func TestReadTakesNumbersAsStored(t *testing.T) {
	x := excelize.NewFile()
	style := func(fmt int) int {
		id, err := x.NewStyle(&excelize.Style{NumFmt: fmt})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	x.SetSheetRow("Sheet1", "A1", &[]any{"金额", "说明"})
	cases := []struct {
		value  any
		numFmt int // excelize built-in: 1 "0", 2 "0.00", 4 "#,##0.00", 10 "0.00%", 14 a date
		want   string
	}{
		{1200.50, 1, "1200.5"},
		{1200.505, 2, "1200.505"},
		{1234567.8, 4, "1234567.8"},
		{0.29, 2, "0.29"},
		{12, 1, "12"},
		{0.125, 10, "0.125"},
		{"012.50", 1, "012.50"}, // text stays text
	}
	for i, c := range cases {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		x.SetCellValue("Sheet1", cell, c.value)
		x.SetCellStyle("Sheet1", cell, cell, style(c.numFmt))
	}
	x.SetCellValue("Sheet1", "B2", 46295) // 2026-09-30 as a date serial
	x.SetCellStyle("Sheet1", "B2", "B2", style(14))
	var buf bytes.Buffer
	x.Write(&buf)
	tab, err := sheet.Read("amounts.xlsx", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got := tab.Rows[i].Cell(0); got != c.want {
			t.Errorf("row %d: %v formatted %d reads %q, want %q", i+2, c.value, c.numFmt, got, c.want)
		}
	}
	if got := tab.Rows[0].Cell(1); got == "46295" || !strings.ContainsAny(got, "-/") {
		t.Errorf("date cell reads %q, want the date as displayed", got)
	}
}

func TestPlainNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1200.5": "1200.5", "1200.505": "1200.505", "1.2005E3": "1200.5", "-3E-2": "-0.03",
		"0.28999999999999998": "0.29", "1200.5049999999999": "1200.505", "0": "0", "100": "100",
		"1E+2": "100", "99999999999999999": "100000000000000000", "0.000": "0", "12.30": "12.3",
	} {
		if got, ok := sheet.PlainNumber(in); !ok || got != want {
			t.Errorf("PlainNumber(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "1.2.3", "1E", "E5", "1,200", "--1"} {
		if got, ok := sheet.PlainNumber(in); ok {
			t.Errorf("PlainNumber(%q) = %q, want not a number", in, got)
		}
	}
}

// TestReadRefusesTooManyColumns: a row reaching column XFD would make every row 16,384
// cells; it is refused instead.
func TestReadRefusesTooManyColumns(t *testing.T) {
	x := excelize.NewFile()
	x.SetSheetRow("Sheet1", "A1", &[]any{"学号", "金额"})
	x.SetCellValue("Sheet1", "A2", "20260001")
	x.SetCellValue("Sheet1", "XFD2", "x")
	var buf bytes.Buffer
	x.Write(&buf)
	if _, err := sheet.Read("wide.xlsx", bytes.NewReader(buf.Bytes())); !errors.Is(err, sheet.ErrFormat) || !strings.Contains(err.Error(), "第 2 行超过") {
		t.Errorf("err = %v, want row 2 refused for too many columns", err)
	}
}
