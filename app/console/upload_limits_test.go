package console_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"campuspay/app/server/servertest"
)

// TestBillImportRefusesOversizedFile: a bill import over 15 MB is refused with a message
// that says so, like the roster and offline imports, and starts no import.
func TestBillImportRefusesOversizedFile(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		dept := p.NewBrowser(t)
		dept.Login("dept_jwc", "dept123456")
		id := createItem(t, dept, trainingForm("TRAIN-2026"))
		before, err := p.DB.NewSelect().Table("import_jobs").Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		file := bytes.Repeat([]byte("学号/工号,金额\n"), (15<<20)/20+1024)
		code, frag := upload(t, dept, itemPath(id, "/import"), "bills.csv", file)
		if code != http.StatusOK || !strings.Contains(frag, "文件过大") {
			t.Errorf("upload of %d bytes: %d %q, want the alert that the file is too large", len(file), code, frag)
		}
		if after, _ := p.DB.NewSelect().Table("import_jobs").Count(t.Context()); after != before {
			t.Errorf("import jobs %d → %d, want no import started", before, after)
		}
	})
}
