package roster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/store"
)

// MaxPayerSync is how many payers one roster sync may carry.
const MaxPayerSync = 1000

// APIPayerRow is one payer as the school's data platform syncs it (API.md,
// PUT /api/v1/payers). A field left out (null) keeps what the payer has.
type APIPayerRow struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Unit   *string `json:"unit"`
	Class  *string `json:"class"`
	Phone  *string `json:"phone"`
	Status *string `json:"status"`
}

// PayerSyncResult is what became of one payer: created (201), updated or unchanged (200),
// or refused with Err (400).
type PayerSyncResult struct {
	ID      string
	Created bool
	Err     error
}

// SyncClientPayers brings the roster up to date with rows sent by a client holding the
// roster permission, each payer on its own: the rows are checked with the console
// import's rules (UpsertPayers: payer number, name, phone, status, no number twice, no
// number that is another account's login), the bad ones get their reason, and the good
// ones are written together by UpsertPayers.
func (s *Service) SyncClientPayers(ctx context.Context, client *store.Client, rows []APIPayerRow, ip string) ([]PayerSyncResult, error) {
	if !client.Roster {
		return nil, fault.New(fault.ErrForbidden, "forbidden", "本接入系统没有同步缴费人名册的权限（roster）")
	}
	if len(rows) == 0 {
		return nil, fault.BadField("payers", "至少要有 1 名缴费人")
	}
	if len(rows) > MaxPayerSync {
		return nil, fault.BadField("payers", "一次最多 %d 名缴费人，本次 %d 名", MaxPayerSync, len(rows))
	}
	results := make([]PayerSyncResult, len(rows))
	good := make([]PayerRow, 0, len(rows))
	seen := map[string]int{}
	for i, r := range rows {
		results[i].ID = r.ID
		row := PayerRow{Line: i + 1, PayerNo: r.ID, Name: r.Name, Unit: r.Unit, Class: r.Class, Phone: r.Phone, Status: r.Status}
		if msg := checkPayerRow(&row); msg != "" {
			results[i].Err = fault.BadField(fmt.Sprintf("payers[%d]", i), "%s", msg)
			continue
		}
		key := strings.ToLower(row.PayerNo)
		if at, dup := seen[key]; dup {
			results[i].Err = fault.BadField(fmt.Sprintf("payers[%d].id", i), "学号/工号 %s 与 payers[%d] 重复", row.PayerNo, at)
			continue
		}
		seen[key] = i
		good = append(good, row)
	}
	if len(good) == 0 {
		return results, nil
	}
	actor := "client:" + client.AppID
	for attempt := 0; len(good) > 0; attempt++ {
		known, err := s.knownPayerNos(ctx, good)
		if err != nil {
			return nil, err
		}
		_, err = s.upsertPayers(ctx, good, actor, ip, "api:"+client.AppID, nil)
		var bad *imports.RowErrors
		var be *fault.Error
		switch {
		case err == nil:
			for _, r := range good {
				results[r.Line-1].Created = !known[strings.ToLower(r.PayerNo)]
			}
			return results, nil
		case errors.As(err, &bad) && len(bad.Rows) > 0 && attempt < 3:
			// A row only the roster can refuse (a number that is another account's login):
			// mark it and write the rest.
			refused := map[int]bool{}
			for _, re := range bad.Rows {
				refused[re.Line] = true
				results[re.Line-1].Err = fault.BadField(fmt.Sprintf("payers[%d]", re.Line-1), "%s", re.Message)
			}
			rest := good[:0]
			for _, r := range good {
				if !refused[r.Line] {
					rest = append(rest, r)
				}
			}
			good = rest
		case errors.As(err, &be) && be.Code == "roster_conflict" && attempt < 3:
			continue // created meanwhile by another sync: read again
		default:
			return nil, err
		}
	}
	return results, nil
}

// knownPayerNos reads which of the rows' payer numbers are on the roster already.
func (s *Service) knownPayerNos(ctx context.Context, rows []PayerRow) (map[string]bool, error) {
	nos := make([]string, 0, len(rows))
	for _, r := range rows {
		nos = append(nos, r.PayerNo)
	}
	known := make(map[string]bool, len(rows))
	var found []string
	if err := s.DB.NewSelect().Model((*store.User)(nil)).Column("payer_no").Where("payer_no IN (?)", bun.In(nos)).Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("roster: known payers: %w", err)
	}
	for _, no := range found {
		known[strings.ToLower(no)] = true
	}
	return known, nil
}
