package console

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/clients"
	"campuspay/app/web"
	"campuspay/store"
)

// requestRow is a line of a client's request log, with the colour of its status.
type requestRow struct{ *store.APIRequest }

// Badge is the badge class of the HTTP status: green for 2xx, red otherwise.
func (r requestRow) Badge() string {
	switch {
	case r.Status >= 200 && r.Status < 300:
		return "succeeded"
	case r.Status >= 500:
		return "failed"
	}
	return "rejected"
}

// clientRequests is a business system's request log, newest first: filter by status class
// (2xx, 4xx, 5xx) and by error code.
func (h *Handler) clientRequests(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	class, _ := strconv.Atoi(strings.TrimSuffix(c.Query("class"), "xx"))
	f := clients.RequestFilter{Class: class, ErrorCode: c.Query("code")}
	reqs, total, err := h.Clients.ClientRequests(c.UserContext(), cl.AppID, f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	rows := make([]requestRow, len(reqs))
	for i, r := range reqs {
		rows[i] = requestRow{r}
	}
	return h.page(c, "console/clients_requests", cl.Name+" 请求日志", fiber.Map{
		"Client": cl, "Rows": rows, "Pager": pager, "Class": c.Query("class"), "Code": f.ErrorCode,
		"Codes": clients.RequestErrorCodes, "Tab": "requests",
	})
}
