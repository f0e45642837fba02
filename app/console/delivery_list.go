package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/clients"
	"campuspay/app/web"
	"campuspay/store"
)

// deliveryStatuses are the delivery filter's choices.
var deliveryStatuses = []struct{ Value, Label string }{
	{clients.EventFailed, "失败"}, {clients.EventPending, "待发送"}, {clients.EventDelivered, "已送达"},
}

// deliveryList shows a business system's callbacks, newest first, filtered by status,
// with their attempts, last answer and the buttons to send them again.
func (h *Handler) deliveryList(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	status := c.Query("status")
	rows, total, err := h.Clients.ClientDeliveries(c.UserContext(), cl.AppID, status, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	counts, err := h.Clients.DeliveryCounts(c.UserContext(), cl.AppID)
	if err != nil {
		return err
	}
	return h.page(c, "console/clients_deliveries", cl.Name+" 回调投递", fiber.Map{
		"Client": cl, "Rows": rows, "Pager": pager, "Status": status, "Statuses": deliveryStatuses, "Counts": counts,
		"Undelivered": counts[clients.EventFailed] + counts[clients.EventPending],
		"Tab":         "deliveries", "CanManage": auth.Current(c).Has(store.RoleFinance), "Flash": clientFlash[c.Query("ok")],
	})
}
