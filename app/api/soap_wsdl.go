package api

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Namespaces of the SOAP 1.1 web service.
const (
	soapEnvNS  = "http://schemas.xmlsoap.org/soap/envelope/"
	soap12NS   = "http://www.w3.org/2003/05/soap-envelope"
	soapBillNS = "urn:campuspay:bills:v1" // the service's own: every element it defines
	soapPath   = "/ws/bills"
)

// soapWSDL answers GET /ws/bills?wsdl with the service description; any other GET says
// where it is.
func (h *Handler) soapWSDL(c *fiber.Ctx) error {
	if !c.Context().QueryArgs().Has("wsdl") && !c.Context().QueryArgs().Has("WSDL") {
		return c.Status(fiber.StatusNotFound).SendString("CampusPay SOAP 1.1 web service; WSDL: " + soapPath + "?wsdl\n")
	}
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.SendString(WSDL(h.soapAddress(c)))
}

// soapAddress is the service's public address, for the WSDL's soap:address.
func (h *Handler) soapAddress(c *fiber.Ctx) string {
	return strings.TrimRight(c.BaseURL(), "/") + soapPath
}

// WSDL returns the service description with location as the soap:address.
func WSDL(location string) string {
	var loc bytes.Buffer
	xml.EscapeText(&loc, []byte(location))
	return strings.NewReplacer("{{LOCATION}}", loc.String(), "{{NS}}", soapBillNS).Replace(wsdlTemplate)
}

// wsdlTemplate is WSDL 1.1, document/literal wrapped, one port type with three operations.
// The signing rule in its documentation is the one docs/api-soap.md gives.
const wsdlTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="CampusPayBills"
    targetNamespace="{{NS}}"
    xmlns:tns="{{NS}}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <wsdl:documentation>
CampusPay (统一支付平台) bill web service, SOAP 1.1, document/literal. The same bills, fields,
rules and error codes as the JSON integration API (API.md); amounts are integers in fen (分).

Signing. Every request carries the header element tns:Auth with AppId, Timestamp (Unix
seconds), Nonce (16-64 characters of [0-9A-Za-z], new for every request), Signature, and
optionally SignType (MD5, only for clients finance enabled the legacy scheme for).
Signature = lowercase hex HMAC-SHA256(secret, string-to-sign), where string-to-sign is these
five lines joined by "\n" (no trailing newline):
  POST
  /ws/bills
  the Timestamp value
  the Nonce value
  lowercase hex SHA-256 of the HTTP request body exactly as sent, except that the text of
  the Signature element is empty: write the element as a start and an end tag with nothing
  between them (e.g. &lt;cp:Signature&gt;&lt;/cp:Signature&gt;), hash those bytes, then put the
  signature between the tags and send. Nothing else may change after hashing.
Legacy MD5: signature = lowercase hex MD5(string-to-sign followed by the secret).
The timestamp must be within 300 seconds of the platform's clock; a nonce may not be reused
within 15 minutes. Errors are SOAP faults (HTTP 500): faultcode soap:Client or soap:Server,
faultstring the message, detail/tns:Error with the API's code (e.g. bill_conflict) and the
HTTP status the JSON API would have answered.
  </wsdl:documentation>

  <wsdl:types>
    <xsd:schema targetNamespace="{{NS}}" elementFormDefault="qualified">

      <xsd:complexType name="Payer">
        <xsd:sequence>
          <xsd:element name="type" type="xsd:string"/>
          <xsd:element name="id" type="xsd:string" minOccurs="0"/>
          <xsd:element name="name" type="xsd:string" minOccurs="0"/>
          <xsd:element name="phone" type="xsd:string" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>

      <xsd:complexType name="Payment">
        <xsd:sequence>
          <xsd:element name="order_no" type="xsd:string"/>
          <xsd:element name="channel" type="xsd:string"/>
          <xsd:element name="amount" type="xsd:long"/>
          <xsd:element name="paid_at" type="xsd:dateTime"/>
        </xsd:sequence>
      </xsd:complexType>

      <xsd:complexType name="Refund">
        <xsd:sequence>
          <xsd:element name="refund_no" type="xsd:string"/>
          <xsd:element name="amount" type="xsd:long"/>
          <xsd:element name="status" type="xsd:string"/>
        </xsd:sequence>
      </xsd:complexType>

      <xsd:complexType name="Bill">
        <xsd:sequence>
          <xsd:element name="bill_no" type="xsd:string"/>
          <xsd:element name="item_code" type="xsd:string"/>
          <xsd:element name="payer" type="tns:Payer"/>
          <xsd:element name="amount" type="xsd:long"/>
          <xsd:element name="amount_paid" type="xsd:long"/>
          <xsd:element name="amount_refunded" type="xsd:long"/>
          <xsd:element name="status" type="xsd:string"/>
          <xsd:element name="description" type="xsd:string"/>
          <xsd:element name="due_date" type="xsd:date" minOccurs="0"/>
          <xsd:element name="created_at" type="xsd:dateTime"/>
          <xsd:element name="paid_at" type="xsd:dateTime" minOccurs="0"/>
          <xsd:element name="pay_url" type="xsd:string" minOccurs="0"/>
          <xsd:element name="payment" type="tns:Payment" minOccurs="0" maxOccurs="unbounded"/>
          <xsd:element name="refund" type="tns:Refund" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>

      <xsd:element name="Auth">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="AppId" type="xsd:string"/>
            <xsd:element name="Timestamp" type="xsd:string"/>
            <xsd:element name="Nonce" type="xsd:string"/>
            <xsd:element name="Signature" type="xsd:string"/>
            <xsd:element name="SignType" type="xsd:string" minOccurs="0"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>

      <xsd:element name="CreateBill">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="bill_no" type="xsd:string"/>
            <xsd:element name="item_code" type="xsd:string"/>
            <xsd:element name="payer" type="tns:Payer"/>
            <xsd:element name="amount" type="xsd:long" minOccurs="0"/>
            <xsd:element name="description" type="xsd:string" minOccurs="0"/>
            <xsd:element name="due_date" type="xsd:date" minOccurs="0"/>
            <xsd:element name="metadata" type="xsd:string" minOccurs="0"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="CreateBillResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="created" type="xsd:boolean"/>
            <xsd:element name="bill" type="tns:Bill"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>

      <xsd:element name="QueryBill">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="bill_no" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="QueryBillResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="bill" type="tns:Bill"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>

      <xsd:element name="CancelBill">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="bill_no" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="CancelBillResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="bill" type="tns:Bill"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>

      <xsd:element name="Error">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="code" type="xsd:string"/>
            <xsd:element name="message" type="xsd:string"/>
            <xsd:element name="status" type="xsd:int"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>

  <wsdl:message name="AuthHeader"><wsdl:part name="auth" element="tns:Auth"/></wsdl:message>
  <wsdl:message name="ApiError"><wsdl:part name="error" element="tns:Error"/></wsdl:message>
  <wsdl:message name="CreateBillRequest"><wsdl:part name="parameters" element="tns:CreateBill"/></wsdl:message>
  <wsdl:message name="CreateBillResponse"><wsdl:part name="parameters" element="tns:CreateBillResponse"/></wsdl:message>
  <wsdl:message name="QueryBillRequest"><wsdl:part name="parameters" element="tns:QueryBill"/></wsdl:message>
  <wsdl:message name="QueryBillResponse"><wsdl:part name="parameters" element="tns:QueryBillResponse"/></wsdl:message>
  <wsdl:message name="CancelBillRequest"><wsdl:part name="parameters" element="tns:CancelBill"/></wsdl:message>
  <wsdl:message name="CancelBillResponse"><wsdl:part name="parameters" element="tns:CancelBillResponse"/></wsdl:message>

  <wsdl:portType name="BillsPortType">
    <wsdl:operation name="CreateBill">
      <wsdl:documentation>Create a bill; the same bill_no with the same content again answers the bill as it stands (created=false); with different content, fault bill_conflict.</wsdl:documentation>
      <wsdl:input message="tns:CreateBillRequest"/>
      <wsdl:output message="tns:CreateBillResponse"/>
      <wsdl:fault name="ApiError" message="tns:ApiError"/>
    </wsdl:operation>
    <wsdl:operation name="QueryBill">
      <wsdl:documentation>The bill with this bill_no, as it stands.</wsdl:documentation>
      <wsdl:input message="tns:QueryBillRequest"/>
      <wsdl:output message="tns:QueryBillResponse"/>
      <wsdl:fault name="ApiError" message="tns:ApiError"/>
    </wsdl:operation>
    <wsdl:operation name="CancelBill">
      <wsdl:documentation>Cancel an unpaid bill that is in no open order; otherwise fault bill_not_cancellable.</wsdl:documentation>
      <wsdl:input message="tns:CancelBillRequest"/>
      <wsdl:output message="tns:CancelBillResponse"/>
      <wsdl:fault name="ApiError" message="tns:ApiError"/>
    </wsdl:operation>
  </wsdl:portType>

  <wsdl:binding name="BillsBinding" type="tns:BillsPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="CreateBill">
      <soap:operation soapAction="{{NS}}:CreateBill" style="document"/>
      <wsdl:input>
        <soap:header message="tns:AuthHeader" part="auth" use="literal"/>
        <soap:body use="literal" parts="parameters"/>
      </wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="ApiError"><soap:fault name="ApiError" use="literal"/></wsdl:fault>
    </wsdl:operation>
    <wsdl:operation name="QueryBill">
      <soap:operation soapAction="{{NS}}:QueryBill" style="document"/>
      <wsdl:input>
        <soap:header message="tns:AuthHeader" part="auth" use="literal"/>
        <soap:body use="literal" parts="parameters"/>
      </wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="ApiError"><soap:fault name="ApiError" use="literal"/></wsdl:fault>
    </wsdl:operation>
    <wsdl:operation name="CancelBill">
      <soap:operation soapAction="{{NS}}:CancelBill" style="document"/>
      <wsdl:input>
        <soap:header message="tns:AuthHeader" part="auth" use="literal"/>
        <soap:body use="literal" parts="parameters"/>
      </wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="ApiError"><soap:fault name="ApiError" use="literal"/></wsdl:fault>
    </wsdl:operation>
  </wsdl:binding>

  <wsdl:service name="CampusPayBills">
    <wsdl:documentation>统一支付平台 应缴款项 Web 服务</wsdl:documentation>
    <wsdl:port name="BillsPort" binding="tns:BillsBinding">
      <soap:address location="{{LOCATION}}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`
