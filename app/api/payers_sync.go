package api

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/roster"
)

// syncResult is one payer's line in a roster sync answer.
type syncResult struct {
	ID     string     `json:"id"`
	Status int        `json:"status"`
	Error  *errorBody `json:"error,omitempty"`
}

// payersSync is PUT /api/v1/payers: the school's data platform creates (201) or updates
// (200) up to 1,000 payers by id, each on its own, with the console import's rules. It
// needs the client's roster permission (403 otherwise).
func (h *Handler) payersSync(c *fiber.Ctx) error {
	client := CurrentClient(c)
	if !client.Roster {
		return &apiError{Status: fiber.StatusForbidden, Code: "forbidden", Message: "this client lacks the roster permission"}
	}
	var body struct {
		Payers []json.RawMessage `json:"payers"`
	}
	if err := decodeJSON(c, limitSync, &body); err != nil {
		return err
	}
	if len(body.Payers) == 0 || len(body.Payers) > roster.MaxPayerSync {
		return badRequest(fmt.Sprintf("payers: a list of 1 to %d payers, got %d", roster.MaxPayerSync, len(body.Payers)))
	}
	out := make([]syncResult, len(body.Payers))
	rows := make([]roster.APIPayerRow, 0, len(body.Payers))
	at := make([]int, 0, len(body.Payers))
	for i, raw := range body.Payers {
		var row roster.APIPayerRow
		if err := unmarshal(raw, &row); err != nil {
			var peek struct {
				ID any `json:"id"`
			}
			json.Unmarshal(raw, &peek)
			id, _ := peek.ID.(string)
			e := toAPIError(within(err, fmt.Sprintf("payers[%d]", i)), h.Log)
			out[i] = syncResult{ID: id, Status: e.Status, Error: &errorBody{Code: e.Code, Message: e.Message}}
			continue
		}
		rows, at = append(rows, row), append(at, i)
	}
	if len(rows) > 0 {
		res, err := h.Roster.SyncClientPayers(c.UserContext(), client, rows, c.IP())
		if err != nil {
			return err
		}
		for k, r := range res {
			switch {
			case r.Err != nil:
				e := toAPIError(r.Err, h.Log)
				out[at[k]] = syncResult{ID: r.ID, Status: e.Status, Error: &errorBody{Code: e.Code, Message: e.Message}}
			case r.Created:
				out[at[k]] = syncResult{ID: r.ID, Status: fiber.StatusCreated}
			default:
				out[at[k]] = syncResult{ID: r.ID, Status: fiber.StatusOK}
			}
		}
	}
	return c.JSON(fiber.Map{"results": out})
}
