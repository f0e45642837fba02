package console

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/bills"
	"campuspay/app/fault"
	"campuspay/app/web"
)

// billCreate adds one bill under the item from the form on the bill list. A form with
// mistakes comes back with the message beside each field.
func (h *Handler) billCreate(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	in := bills.BillInput{
		PayerNo: c.FormValue("payer_no"), Name: c.FormValue("name"), Phone: c.FormValue("phone"),
		Amount: c.FormValue("amount"), Description: c.FormValue("description"), DueDate: c.FormValue("due_date"),
	}
	_, err = h.Bills.AddBill(c.UserContext(), item.ID, in, deptScope(auth.Current(c)), actor(c))
	var errs fault.FormErrors
	if errors.As(err, &errs) {
		if c.Get(web.HeaderHXRequest) != "true" {
			c.Status(fiber.StatusUnprocessableEntity)
		}
		return h.billPage(c, item, in, errs)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/items/"+strconv.FormatInt(item.ID, 10)+"/bills?done=added")
}
