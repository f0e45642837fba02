package clients

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/fault"
	"campuspay/store"
)

// The database inbox (API.md, "Other ways in"): rows business systems insert into
// inbox_bills become bills exactly as POST /api/v1/bills would make them.
const (
	// InboxBatch is how many rows one round reads.
	InboxBatch = 100
	// InboxStale is how long a row may stay importing (claimed by a run that then stopped)
	// before a later run takes it again. Importing twice is harmless: bill creation is
	// idempotent on (app_id, bill_no).
	InboxStale = 10 * time.Minute
)

// InboxResult counts what one import run did.
type InboxResult struct {
	Imported, Rejected int
}

// ImportInbox imports the inbox's new rows in id order, a batch at a time, until none is
// left. Each row is first claimed (new -> importing), so that two runs never import one
// row twice, then finished imported or rejected with its reason. A failure that is not the
// row's fault (the database) hands the row back and ends the run with the error.
func (s *Service) ImportInbox(ctx context.Context) (InboxResult, error) {
	var res InboxResult
	self, err := store.DBUser(ctx, s.DB)
	if err != nil {
		return res, err
	}
	imp := &inboxImporter{s: s, self: self, clients: map[string]*store.Client{}}
	for ctx.Err() == nil {
		now := time.Now()
		rows, err := store.PendingInbox(ctx, s.DB, now.Add(-InboxStale), InboxBatch)
		if err != nil {
			return res, err
		}
		for _, row := range rows {
			claimed, err := store.ClaimInbox(ctx, s.DB, row.ID, now, now.Add(-InboxStale))
			if err != nil {
				return res, err
			}
			if !claimed {
				continue // another run has it
			}
			reason, err := imp.importRow(ctx, row)
			if err != nil {
				if rerr := store.ReleaseInbox(context.WithoutCancel(ctx), s.DB, row.ID); rerr != nil {
					err = errors.Join(err, rerr)
				}
				return res, fmt.Errorf("clients: import inbox row %d: %w", row.ID, err)
			}
			state := store.InboxImported
			if reason != "" {
				state = store.InboxRejected
				res.Rejected++
			} else {
				res.Imported++
			}
			if err := store.FinishInbox(ctx, s.DB, row.ID, state, reason, time.Now()); err != nil {
				return res, err
			}
		}
		if len(rows) < InboxBatch {
			break
		}
	}
	return res, nil
}

type inboxImporter struct {
	s       *Service
	self    string                   // the platform's own database account
	clients map[string]*store.Client // by app id, for this run
}

// importRow creates the row's bill. It returns why the row is rejected ("" when it was
// imported), or an error when the row could not be judged.
func (imp *inboxImporter) importRow(ctx context.Context, row *store.InboxBill) (string, error) {
	if row.DBUser != "" && row.DBUser != row.AppID && row.DBUser != imp.self {
		return inboxReason("forbidden", fmt.Sprintf("本行由数据库账号 %s 写入，与 app_id %s 不符：接入系统只能以自己的 app_id 写入", row.DBUser, row.AppID)), nil
	}
	client, err := imp.client(ctx, row.AppID)
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) {
			return inboxReason("unauthorized", fmt.Sprintf("app_id %s 不是已登记的接入系统", row.AppID)), nil
		}
		return "", err
	}
	if client.Disabled {
		return inboxReason("unauthorized", fmt.Sprintf("接入系统 %s 已停用", row.AppID)), nil
	}
	_, _, err = imp.s.Bills.CreateClientBill(ctx, client, inboxRequest(row), bills.SourceInbox)
	if err != nil {
		var be *fault.Error
		if !errors.As(err, &be) {
			return "", err
		}
		r, _ := fault.Status(err) // the API's code and message, as POST /api/v1/bills answers
		return inboxReason(r.Code, r.Message), nil
	}
	return "", nil
}

func (imp *inboxImporter) client(ctx context.Context, appID string) (*store.Client, error) {
	if c, ok := imp.clients[appID]; ok {
		return c, nil
	}
	c, err := imp.s.Client(ctx, appID)
	if err != nil {
		return nil, err
	}
	imp.clients[appID] = c
	return c, nil
}

// inboxRequest reads a row as the request the JSON API would have received.
func inboxRequest(row *store.InboxBill) bills.ClientBillRequest {
	req := bills.ClientBillRequest{
		BillNo: row.BillNo, ItemCode: row.ItemCode, Amount: row.Amount, Description: inboxText(row.Description),
		Payer: billing.APIPayer{Type: row.PayerType, ID: inboxText(row.PayerID), Name: inboxText(row.PayerName), Phone: inboxText(row.PayerPhone)},
	}
	if row.DueDate != nil {
		req.DueDate = row.DueDate.Format("2006-01-02")
	}
	if m := inboxText(row.Metadata); m != "" {
		req.Metadata = json.RawMessage(m)
	}
	return req
}

// inboxReason is the error written back on a rejected row: the API's code and its message,
// at most 500 characters.
func inboxReason(code, msg string) string {
	s := code + ": " + msg
	if utf8.RuneCountInString(s) <= 500 {
		return s
	}
	r := []rune(s)
	return string(r[:497]) + "..."
}

// InboxColumns are the inbox_bills columns a business system writes (README, "Database
// inbox"); the others are the platform's.
var InboxColumns = []string{"app_id", "bill_no", "item_code", "payer_type", "payer_id", "payer_name",
	"payer_phone", "amount", "description", "due_date", "metadata", "created_at"}

// InboxGrants returns the MySQL statements that confine a business system's database
// account — named exactly after its app id, connecting from host (e.g. 10.%) — to the
// inbox: insert rows (into the columns it owns) and read their status through the view,
// which shows the account its own rows only. The account needs no other grant.
func InboxGrants(schema, appID, host string) []string {
	account := sqlString(appID) + "@" + sqlString(host)
	db := "`" + strings.ReplaceAll(schema, "`", "``") + "`"
	return []string{
		"GRANT INSERT (" + strings.Join(InboxColumns, ", ") + ") ON " + db + ".inbox_bills TO " + account,
		"GRANT SELECT ON " + db + ".inbox_bill_status TO " + account,
	}
}

func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
}

func inboxText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
