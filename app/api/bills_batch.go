package api

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/bills"
)

// batchResult is one bill's line in a batch answer: its status, and the bill or the error.
type batchResult struct {
	BillNo string           `json:"bill_no"`
	Status int              `json:"status"`
	Bill   *billing.APIBill `json:"bill,omitempty"`
	Error  *errorBody       `json:"error,omitempty"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// billBatch is POST /api/v1/bills/batch: up to 1,000 bills, each on its own; 200 with one
// result per bill, in the order sent.
func (h *Handler) billBatch(c *fiber.Ctx) error {
	var body struct {
		Bills []json.RawMessage `json:"bills"`
	}
	if err := decodeJSON(c, limitBatch, &body); err != nil {
		return err
	}
	if len(body.Bills) == 0 {
		return badRequest("bills: required, a list of 1 to 1000 bills")
	}
	if len(body.Bills) > bills.MaxBatchBills {
		return badRequest(fmt.Sprintf("bills: at most %d bills in one batch, got %d", bills.MaxBatchBills, len(body.Bills)))
	}
	out := make([]batchResult, len(body.Bills))
	reqs := make([]bills.ClientBillRequest, 0, len(body.Bills))
	at := make([]int, 0, len(body.Bills)) // reqs[k] is bill at[k] of the batch
	for i, raw := range body.Bills {
		var req bills.ClientBillRequest
		if err := unmarshal(raw, &req); err != nil {
			var peek struct {
				BillNo any `json:"bill_no"`
			}
			json.Unmarshal(raw, &peek)
			no, _ := peek.BillNo.(string)
			out[i] = h.batchError(no, within(err, fmt.Sprintf("bills[%d]", i)))
			continue
		}
		reqs, at = append(reqs, req), append(at, i)
	}
	if len(reqs) > 0 {
		res, err := h.Bills.CreateClientBills(c.UserContext(), CurrentClient(c), reqs, bills.SourceAPI)
		if err != nil {
			return err
		}
		for k, r := range res {
			switch {
			case r.Err != nil:
				out[at[k]] = h.batchError(r.BillNo, r.Err)
			case r.Created:
				out[at[k]] = batchResult{BillNo: r.BillNo, Status: fiber.StatusCreated, Bill: r.Bill}
			default:
				out[at[k]] = batchResult{BillNo: r.BillNo, Status: fiber.StatusOK, Bill: r.Bill}
			}
		}
	}
	return c.JSON(fiber.Map{"results": out})
}

func (h *Handler) batchError(billNo string, err error) batchResult {
	e := toAPIError(err, h.Log)
	return batchResult{BillNo: billNo, Status: e.Status, Error: &errorBody{Code: e.Code, Message: e.Message}}
}

// within puts where in the body an error was found before its message.
func within(err error, where string) error {
	if ae, ok := err.(*apiError); ok {
		return &apiError{Status: ae.Status, Code: ae.Code, Message: where + ": " + ae.Message}
	}
	return err
}
