package console

import "github.com/gofiber/fiber/v2"

// itemProgress is an item's collection: the totals and what came in day by day.
func (h *Handler) itemProgress(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	progress, err := h.Reports.ItemProgress(c.UserContext(), item.ID)
	if err != nil {
		return err
	}
	days, err := h.Reports.ItemProgressDays(c.UserContext(), item.ID, progressDays)
	if err != nil {
		return err
	}
	var daysFen int64
	for _, d := range days {
		daysFen += d.AmountFen
	}
	return h.page(c, "console/items_progress", item.Name+" - 收费进度", fiber.Map{
		"Item": viewItem(item), "Progress": progress, "Days": days, "DaysFen": daysFen, "MaxDays": progressDays,
	})
}

// progressDays is how many days (with money) the progress page lists.
const progressDays = 90
