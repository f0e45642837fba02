package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/clients"
)

// ImportInbox imports the bills business systems wrote into the database inbox.
func ImportInbox(c *clients.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		res, err := c.ImportInbox(ctx)
		if err != nil {
			log.Error("job import-inbox", "err", err, "imported", res.Imported, "rejected", res.Rejected)
			markFailed(ctx)
			return
		}
		if res.Imported+res.Rejected > 0 {
			log.Info("job import-inbox", "imported", res.Imported, "rejected", res.Rejected)
		}
	}
}
