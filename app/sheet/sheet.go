// Package sheet reads the spreadsheets people upload (.xlsx or .csv) as rows of text, and
// writes .xlsx exports. Imports validate every row against these plain strings; nothing
// here knows what a bill or a payer is.
package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// MaxRows is the most data rows one upload may carry.
const MaxRows = 200_000

// Limits on an .xlsx, which is a zip of XML parts. A bill import of 100,000 rows (seven
// columns, a 30-character description on every row, as Excel writes it: strings shared,
// numbers inline) is a 4 MB zip that unzips to 38 MB (26.6 MB worksheet, 11.7 MB shared
// strings). MaxUnzipped leaves 1.7 times that; an upload that unzips to more is refused
// before anything is decompressed, so a small "zip bomb" costs nothing. Parts over
// MaxXMLInMemory (the worksheet of a large file) are streamed from a temporary file by
// excelize instead of held in memory.
const (
	MaxXLSXBytes   = 32 << 20 // the .xlsx file itself (uploads are capped lower still)
	MaxUnzipped    = 64 << 20 // all parts, unzipped
	MaxXMLInMemory = 16 << 20 // one worksheet or the shared strings, unzipped, in memory
	MaxColumns     = 64       // the widest row kept (an import needs a dozen columns)
)

// ErrFormat is wrapped by every error about the file itself (not a row's content).
var ErrFormat = errors.New("sheet: unreadable file")

// Table is an uploaded sheet: its header cells and its data rows (line numbers as a person
// sees them in Excel: the header is line 1).
type Table struct {
	Header []string
	Rows   []Row
}

// Row is one data row.
type Row struct {
	Line  int
	Cells []string
}

// Cell returns the row's cell in column i, trimmed, or "".
func (r Row) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return strings.TrimSpace(r.Cells[i])
}

// Columns maps each wanted column name to its index in the header. Names match after
// trimming; each name may list alternatives separated by "|" (e.g. "学号|工号|payer_no").
// It returns an error naming the missing required columns.
func (t *Table) Columns(required, optional []string) (map[string]int, error) {
	idx := map[string]int{}
	find := func(name string) (int, bool) {
		for _, alt := range strings.Split(name, "|") {
			for i, h := range t.Header {
				if strings.EqualFold(strings.TrimSpace(h), alt) {
					return i, true
				}
			}
		}
		return -1, false
	}
	var missing []string
	for _, name := range required {
		if i, ok := find(name); ok {
			idx[name] = i
		} else {
			missing = append(missing, strings.Split(name, "|")[0])
		}
	}
	for _, name := range optional {
		if i, ok := find(name); ok {
			idx[name] = i
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: 缺少列：%s（第 1 行应为表头）", ErrFormat, strings.Join(missing, "、"))
	}
	return idx, nil
}

// Read reads an upload by its file name's extension: .xlsx (the first sheet) or .csv
// (UTF-8, with or without BOM; GBK-encoded files, as older Excel saves them, are refused
// with a message saying how to save as UTF-8). Empty rows are skipped.
func Read(filename string, r io.Reader) (*Table, error) {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".xlsx":
		return readXLSX(r)
	case ".csv":
		return readCSV(r)
	}
	return nil, fmt.Errorf("%w: 只支持 .xlsx 或 .csv 文件", ErrFormat)
}

var errTooLarge = fmt.Errorf("%w: 文件解压后超过 %d MB（约 10 万行以内才能一次导入），请分成几个文件上传", ErrFormat, MaxUnzipped>>20)

// checkZip refuses an .xlsx whose parts, by the sizes its zip directory declares, unzip to
// more than MaxUnzipped. The declared sizes bind: archive/zip fails a part that inflates
// past its declared size.
func checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: 不是有效的 Excel (.xlsx) 文件", ErrFormat)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if f.UncompressedSize64 > MaxUnzipped || total > MaxUnzipped {
			return errTooLarge
		}
	}
	return nil
}

func readXLSX(r io.Reader) (*Table, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxXLSXBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(data) > MaxXLSXBytes {
		return nil, fmt.Errorf("%w: 文件超过 %d MB，请分成几个文件上传", ErrFormat, MaxXLSXBytes>>20)
	}
	if err := checkZip(data); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit: MaxUnzipped, UnzipXMLSizeLimit: MaxXMLInMemory})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("%w: 不是有效的 Excel (.xlsx) 文件", ErrFormat)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%w: 文件中没有工作表", ErrFormat)
	}
	// Each row is read twice, in step: as stored (RawCellValue) and as displayed. A number
	// is taken as stored, so that 1200.50 formatted "0" is 1200.5 and not "1201"; anything
	// whose display is not a number (a date, a time, TRUE) is taken as displayed.
	stored, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("%w: 读取工作表失败", ErrFormat)
	}
	defer stored.Close()
	shown, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("%w: 读取工作表失败", ErrFormat)
	}
	defer shown.Close()
	t := &Table{}
	line := 0
	for stored.Next() && shown.Next() {
		line++
		raw, err := stored.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("%w: 第 %d 行无法读取", ErrFormat, line)
		}
		cells, err := shown.Columns()
		if err != nil {
			return nil, fmt.Errorf("%w: 第 %d 行无法读取", ErrFormat, line)
		}
		for i := range min(len(raw), len(cells)) {
			if raw[i] == cells[i] || !looksNumeric(cells[i]) {
				continue
			}
			if exact, ok := PlainNumber(raw[i]); ok {
				cells[i] = exact
			}
		}
		if err := t.add(line, cells); err != nil {
			return nil, err
		}
	}
	if err := stored.Error(); err != nil {
		return nil, fmt.Errorf("%w: 读取工作表失败", ErrFormat)
	}
	return t.done()
}

func readCSV(r io.Reader) (*Table, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	t := &Table{}
	for {
		cells, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%w: 第 %d 行格式错误（引号不匹配或分隔符有误）", ErrFormat, pe.Line)
			}
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		line, _ := cr.FieldPos(0)
		for _, c := range cells {
			if !utf8.ValidString(c) {
				return nil, fmt.Errorf("%w: 第 %d 行不是 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或直接上传 .xlsx", ErrFormat, line)
			}
		}
		if err := t.add(line, cells); err != nil {
			return nil, err
		}
	}
	return t.done()
}

func (t *Table) add(line int, cells []string) error {
	blank := true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			blank = false
			break
		}
	}
	if blank {
		return nil
	}
	for len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	if len(cells) > MaxColumns {
		return fmt.Errorf("%w: 第 %d 行超过 %d 列", ErrFormat, line, MaxColumns)
	}
	if t.Header == nil {
		t.Header = cells
		return nil
	}
	if len(t.Rows) >= MaxRows {
		return fmt.Errorf("%w: 一次最多导入 %d 行", ErrFormat, MaxRows)
	}
	t.Rows = append(t.Rows, Row{Line: line, Cells: cells})
	return nil
}

func (t *Table) done() (*Table, error) {
	if t.Header == nil {
		return nil, fmt.Errorf("%w: 文件是空的", ErrFormat)
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("%w: 除表头外没有数据行", ErrFormat)
	}
	return t, nil
}

// WriteXLSX writes one sheet named name with a bold, frozen header row and the rows, using
// excelize's streaming writer so that exports of hundreds of thousands of rows stay small
// in memory. Cells may be string, int, int64 or float64 (never for money: write money as
// a yuan string from money.Plain, or as fen).
func WriteXLSX(w io.Writer, name string, header []string, rows func(yield func([]any) error) error) error {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", name)
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEF2F8"}}})
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = excelize.Cell{StyleID: bold, Value: h}
		sw.SetColWidth(i+1, i+1, float64(max(10, utf8.RuneCountInString(h)*2+4)))
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	line := 1
	err = rows(func(cells []any) error {
		line++
		cell, _ := excelize.CoordinatesToCellName(1, line)
		return sw.SetRow(cell, cells)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}
