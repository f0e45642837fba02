package api

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// soapMaxBody caps a SOAP request.
const soapMaxBody = 1 << 20

// soapFault is a fault about the message itself (not about a bill): wrong SOAP version,
// a header the service must understand but does not, or a body it cannot read.
type soapFault struct {
	FaultCode string // soap:VersionMismatch, soap:MustUnderstand, soap:Client
	Message   string
}

func (e *soapFault) Error() string { return e.FaultCode + ": " + e.Message }

func clientFault(msg string) error { return &soapFault{FaultCode: "soap:Client", Message: msg} }

// soapAuth is the tns:Auth header: the signature, carried in the message.
type soapAuth struct {
	AppID     string `xml:"AppId"`
	Timestamp string `xml:"Timestamp"`
	Nonce     string `xml:"Nonce"`
	Signature string `xml:"Signature"`
	SignType  string `xml:"SignType"`
}

// soapPayer is a bill's payer in requests and answers.
type soapPayer struct {
	Type  string `xml:"type"`
	ID    string `xml:"id,omitempty"`
	Name  string `xml:"name,omitempty"`
	Phone string `xml:"phone,omitempty"`
}

// soapCreateBill is the CreateBill element. Numbers and dates are read as text so that a
// malformed one gets a message naming the field.
type soapCreateBill struct {
	BillNo      string    `xml:"bill_no"`
	ItemCode    string    `xml:"item_code"`
	Payer       soapPayer `xml:"payer"`
	Amount      *string   `xml:"amount"`
	Description string    `xml:"description"`
	DueDate     string    `xml:"due_date"`
	Metadata    string    `xml:"metadata"`
}

// soapBillNo is the QueryBill and CancelBill element.
type soapBillNo struct {
	BillNo string `xml:"bill_no"`
}

// soapEnvelope is what the service reads of a request. Elements inside the operation are
// matched by local name, so a client that leaves them unqualified is understood too.
type soapEnvelope struct {
	Header struct {
		Auth []soapAuth `xml:"urn:campuspay:bills:v1 Auth"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		CreateBill *soapCreateBill `xml:"urn:campuspay:bills:v1 CreateBill"`
		QueryBill  *soapBillNo     `xml:"urn:campuspay:bills:v1 QueryBill"`
		CancelBill *soapBillNo     `xml:"urn:campuspay:bills:v1 CancelBill"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// soapCall is a parsed request: the operation, its envelope, and the bytes that are signed
// (the body with the Signature element's text cut out).
type soapCall struct {
	Op     string
	Env    soapEnvelope
	Signed []byte
}

// parseSOAP reads a SOAP 1.1 request. It refuses DTDs (and so every entity declaration),
// bodies over 1 MB, other SOAP versions, headers marked mustUnderstand that it does not know,
// and anything but one of the three operations.
func parseSOAP(raw []byte) (*soapCall, error) {
	if len(raw) > soapMaxBody {
		return nil, clientFault("request body exceeds 1 MB")
	}
	if bytes.Contains(bytes.ToUpper(raw), []byte("<!DOCTYPE")) {
		return nil, clientFault("DTDs are not accepted (found <!DOCTYPE)")
	}
	call := &soapCall{}
	sigStart, sigEnd, err := scanEnvelope(raw, call)
	if err != nil {
		return nil, err
	}
	if err := xml.Unmarshal(raw, &call.Env); err != nil {
		return nil, clientFault("malformed XML: " + err.Error())
	}
	if len(call.Env.Header.Auth) != 1 {
		return nil, errUnauthorized("the SOAP header must carry exactly one Auth element (AppId, Timestamp, Nonce, Signature)")
	}
	if sigStart < 0 {
		return nil, errUnauthorized("the Auth header has no Signature element")
	}
	call.Signed = append(append(make([]byte, 0, len(raw)-(sigEnd-sigStart)), raw[:sigStart]...), raw[sigEnd:]...)
	return call, nil
}

// scanEnvelope walks the tokens once: it checks the envelope's namespace, the header blocks'
// mustUnderstand, which operation the Body holds, and where the Signature's text lies in
// raw (sigStart = -1 when there is none).
func scanEnvelope(raw []byte, call *soapCall) (sigStart, sigEnd int, err error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	sigStart, sigEnd = -1, -1
	var path []xml.Name // the open elements
	prev := int64(0)    // where the current token starts
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, clientFault("malformed XML: " + err.Error())
		}
		switch t := tok.(type) {
		case xml.Directive:
			return 0, 0, clientFault("DTDs and other XML directives are not accepted")
		case xml.StartElement:
			if err := checkElement(t, path, call); err != nil {
				return 0, 0, err
			}
			path = append(path, t.Name)
			if isSignature(path) {
				if sigStart >= 0 {
					return 0, 0, errUnauthorized("the Auth header carries more than one Signature")
				}
				sigStart = int(d.InputOffset())
			}
		case xml.EndElement:
			if isSignature(path) {
				sigEnd = int(prev)
			}
			path = path[:len(path)-1]
		}
		prev = d.InputOffset()
	}
	if len(path) != 0 {
		return 0, 0, clientFault("malformed XML: unexpected end")
	}
	if call.Op == "" {
		return 0, 0, clientFault("the SOAP Body holds no operation: CreateBill, QueryBill or CancelBill")
	}
	return sigStart, sigEnd, nil
}

// checkElement checks one start tag at its place in the envelope.
func checkElement(t xml.StartElement, path []xml.Name, call *soapCall) error {
	switch len(path) {
	case 0:
		if t.Name.Local == "Envelope" && t.Name.Space == soap12NS {
			return &soapFault{FaultCode: "soap:VersionMismatch", Message: "this service speaks SOAP 1.1 (" + soapEnvNS + ")"}
		}
		if t.Name.Local != "Envelope" {
			return clientFault("not a SOAP message: the root element must be the SOAP 1.1 Envelope")
		}
		if t.Name.Space != soapEnvNS {
			return &soapFault{FaultCode: "soap:VersionMismatch", Message: "the Envelope must be in the SOAP 1.1 namespace " + soapEnvNS}
		}
	case 2:
		if path[1] == (xml.Name{Space: soapEnvNS, Local: "Header"}) && t.Name != (xml.Name{Space: soapBillNS, Local: "Auth"}) {
			for _, a := range t.Attr {
				if a.Name == (xml.Name{Space: soapEnvNS, Local: "mustUnderstand"}) && (a.Value == "1" || a.Value == "true") {
					return &soapFault{FaultCode: "soap:MustUnderstand", Message: "header " + t.Name.Local + " is not understood"}
				}
			}
		}
		if path[1] == (xml.Name{Space: soapEnvNS, Local: "Body"}) && call.Op == "" {
			if t.Name.Space != soapBillNS || (t.Name.Local != "CreateBill" && t.Name.Local != "QueryBill" && t.Name.Local != "CancelBill") {
				return clientFault("unknown operation {" + t.Name.Space + "}" + t.Name.Local + ": this service has CreateBill, QueryBill and CancelBill in " + soapBillNS)
			}
			call.Op = t.Name.Local
		}
	}
	return nil
}

// isSignature reports whether path is Envelope/Header/Auth/Signature.
func isSignature(path []xml.Name) bool {
	return len(path) == 4 && path[1].Local == "Header" && path[1].Space == soapEnvNS &&
		path[2] == (xml.Name{Space: soapBillNS, Local: "Auth"}) && path[3].Local == "Signature"
}

// soapOK writes a response envelope around the operation's answer.
func soapOK(c *fiber.Ctx, answer any) error {
	inner, err := xml.Marshal(answer)
	if err != nil {
		return err
	}
	return soapWrite(c, fiber.StatusOK, inner)
}

// soapError writes a SOAP 1.1 fault: HTTP 500, faultcode soap:Client (the request is at
// fault: every 4xx of the JSON API) or soap:Server, faultstring the message, and tns:Error
// with the API's error code and status in detail.
func (h *Handler) soapError(c *fiber.Ctx, err error) *apiError {
	faultCode := "soap:Client"
	var e *apiError
	var sf *soapFault
	if errors.As(err, &sf) {
		faultCode = sf.FaultCode
		e = &apiError{Status: fiber.StatusBadRequest, Code: "bad_request", Message: sf.Message}
	} else {
		e = toAPIError(err, h.Log)
		if e.Status >= 500 {
			faultCode = "soap:Server"
		}
	}
	setRetryAfter(c, e)
	detail, _ := xml.Marshal(soapErrorDetail{Code: e.Code, Message: e.Message, Status: e.Status})
	var b bytes.Buffer
	b.WriteString(`<soap:Fault><faultcode>` + faultCode + `</faultcode><faultstring>`)
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString(`</faultstring><detail>`)
	b.Write(detail)
	b.WriteString(`</detail></soap:Fault>`)
	soapWrite(c, fiber.StatusInternalServerError, b.Bytes())
	return e
}

type soapErrorDetail struct {
	XMLName xml.Name `xml:"urn:campuspay:bills:v1 Error"`
	Code    string   `xml:"code"`
	Message string   `xml:"message"`
	Status  int      `xml:"status"`
}

func soapWrite(c *fiber.Ctx, status int, body []byte) error {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<soap:Envelope xmlns:soap="` + soapEnvNS + `"><soap:Body>`)
	b.Write(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.Status(status).SendString(b.String())
}
