package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
	"campuspay/app/web"
)

// reconRun fetches a day's statement again and reconciles it: one channel against the
// platform (source = the channel), or the channels' settlements against the bank
// (source = "bank"). Rerunning a day gives the same result.
func (h *Handler) reconRun(c *fiber.Ctx) error {
	day, err := recon.ParseDay(c.FormValue("day"))
	if err != nil {
		return err
	}
	source := c.FormValue("source")
	var out *recon.Outcome
	if source == "bank" {
		out, err = h.Recon.ReconcileBank(c.UserContext(), day, actor(c))
	} else {
		out, err = h.Recon.ReconcileChannel(c.UserContext(), source, day, actor(c))
	}
	if err != nil {
		return err
	}
	q := url.Values{"day": {day.Format("2006-01-02")}, "ran": {source}}
	if source == "bank" {
		q.Set("ran", "bank:"+recon.SimBankCode)
	}
	if out.Changed() {
		q.Set("changed", "1")
	}
	return web.Redirect(c, "/console/recon?"+q.Encode())
}
