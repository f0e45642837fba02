package api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/store"
)

// SOAPRoutes serves the SOAP 1.1 web service (API.md, "Other ways in"): the WSDL at
// GET /ws/bills?wsdl and the operations at POST /ws/bills.
func (h *Handler) SOAPRoutes(app fiber.Router) {
	app.Get(soapPath, h.soapWSDL)
	app.Post(soapPath, h.soapServe)
}

// soapServe answers one SOAP request: read the envelope, verify the Auth header, run the
// operation, answer its response or a fault, and log the request for the client.
func (h *Handler) soapServe(c *fiber.Ctx) error {
	start := time.Now()
	// Not c.UserContext(): fasthttp's RequestCtx as a context races with server shutdown.
	ctx := c.UserContext()
	var client *store.Client
	var answer any
	call, err := parseSOAP(c.Body())
	if err == nil {
		client, err = h.soapVerify(ctx, call)
	}
	if err == nil {
		answer, err = h.soapRun(ctx, client, call)
	}
	status, code, msg := fiber.StatusOK, "", ""
	if err != nil {
		e := h.soapError(c, err)
		status, code, msg = e.Status, e.Code, e.Message
	} else if err := soapOK(c, answer); err != nil {
		return err
	}
	op := ""
	if call != nil {
		op = call.Op
	}
	// The status is the one the JSON API would have answered (the fault itself travels as HTTP 500).
	h.logCall(ctx, c, client, "POST", soapPath+"#"+op, status, code, msg, start)
	return nil
}

// soapRun calls billing for the operation, as the client.
func (h *Handler) soapRun(ctx context.Context, client *store.Client, call *soapCall) (any, error) {
	body := call.Env.Body
	switch {
	case body.CreateBill != nil:
		req, err := body.CreateBill.request()
		if err != nil {
			return nil, err
		}
		bill, created, err := h.Bills.CreateClientBill(ctx, client, req, bills.SourceSOAP)
		if err != nil {
			return nil, err
		}
		return &soapCreateBillResponse{Created: created, Bill: bill}, nil
	case body.QueryBill != nil:
		no, err := requiredBillNo(body.QueryBill)
		if err != nil {
			return nil, err
		}
		bill, err := h.Bills.ClientBill(ctx, client, no)
		if err != nil {
			return nil, err
		}
		return &soapQueryBillResponse{Bill: bill}, nil
	case body.CancelBill != nil:
		no, err := requiredBillNo(body.CancelBill)
		if err != nil {
			return nil, err
		}
		bill, err := h.Bills.CancelClientBill(ctx, client, no)
		if err != nil {
			return nil, err
		}
		return &soapCancelBillResponse{Bill: bill}, nil
	}
	return nil, clientFault("the SOAP Body holds no operation: CreateBill, QueryBill or CancelBill")
}

// request turns the CreateBill element into billing's request; billing validates it
// exactly as it does a JSON one.
func (in *soapCreateBill) request() (bills.ClientBillRequest, error) {
	req := bills.ClientBillRequest{
		BillNo: strings.TrimSpace(in.BillNo), ItemCode: strings.TrimSpace(in.ItemCode),
		Payer: billing.APIPayer{Type: strings.TrimSpace(in.Payer.Type), ID: strings.TrimSpace(in.Payer.ID),
			Name: strings.TrimSpace(in.Payer.Name), Phone: strings.TrimSpace(in.Payer.Phone)},
		Description: in.Description, DueDate: xsdDate(in.DueDate),
	}
	if in.Amount != nil {
		n, err := strconv.ParseInt(strings.TrimSpace(*in.Amount), 10, 64)
		if err != nil {
			return req, badRequest("amount must be an integer number of fen")
		}
		req.Amount = &n
	}
	if m := strings.TrimSpace(in.Metadata); m != "" {
		req.Metadata = json.RawMessage(m)
	}
	return req, nil
}

// xsdDate drops the time zone an xsd:date may carry (2026-12-31+08:00, 2026-12-31Z):
// a due date is a day in Asia/Shanghai.
func xsdDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && strings.ContainsRune("+-Z", rune(s[10])) {
		return s[:10]
	}
	return s
}

func requiredBillNo(in *soapBillNo) (string, error) {
	no := strings.TrimSpace(in.BillNo)
	if no == "" {
		return "", badRequest("bill_no is required")
	}
	return no, nil
}

// Answers, in the element order the WSDL's sequences give.
type soapCreateBillResponse struct {
	XMLName xml.Name         `xml:"urn:campuspay:bills:v1 CreateBillResponse"`
	Created bool             `xml:"created"`
	Bill    *billing.APIBill `xml:"bill"`
}

type soapQueryBillResponse struct {
	XMLName xml.Name         `xml:"urn:campuspay:bills:v1 QueryBillResponse"`
	Bill    *billing.APIBill `xml:"bill"`
}

type soapCancelBillResponse struct {
	XMLName xml.Name         `xml:"urn:campuspay:bills:v1 CancelBillResponse"`
	Bill    *billing.APIBill `xml:"bill"`
}
