package jobs

import (
	"context"
	"sync/atomic"
	"time"

	"campuspay/app/metrics"
	"campuspay/app/reqlog"
)

type runKey struct{}

// markFailed records that the job run of ctx ended in an error (each job logs its error
// and then calls this), for the failures metric.
func markFailed(ctx context.Context) {
	if failed, ok := ctx.Value(runKey{}).(*atomic.Bool); ok {
		failed.Store(true)
	}
}

// observed runs one run of a job: its log lines carry the job's name and a run id, and
// the run is counted with its duration and whether it failed.
func observed(ctx context.Context, name string, run func(ctx context.Context)) {
	failed := new(atomic.Bool)
	f := reqlog.New("job-" + reqlog.NewID()[:16])
	reqlog.Add(reqlog.With(ctx, f), "job", name)
	ctx = context.WithValue(reqlog.With(ctx, f), runKey{}, failed)
	start := time.Now()
	run(ctx)
	metrics.JobRun(name, time.Since(start), failed.Load())
}
