package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
)

// itemShow is an item's page: details, the actions the principal may take now, its
// collection so far, and its timeline.
func (h *Handler) itemShow(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	progress, err := h.Reports.ItemProgress(c.UserContext(), item.ID)
	if err != nil {
		return err
	}
	days, err := h.Reports.ItemProgressDays(c.UserContext(), item.ID, 7)
	if err != nil {
		return err
	}
	history, err := h.Catalog.ItemTimeline(c.UserContext(), item.ID)
	if err != nil {
		return err
	}
	merchant, err := h.Catalog.ItemMerchant(c.UserContext(), item)
	if err != nil {
		return err
	}
	p := auth.Current(c)
	return h.page(c, "console/items_show", item.Name, fiber.Map{
		"Item": viewItem(item), "Actions": itemActions(p, item), "Progress": progress, "Days": days,
		"Timeline": itemTimeline(history), "CanReject": p.Has(finance...) && item.Status == "pending",
		"CanPublish": p.Has(publishers...), "Flash": itemFlashes[c.Query("done")],
		"Merchant": merchant, "MerchantLink": p.Has(keepers...),
	})
}
