package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/uptrace/bun"

	"campuspay/app/metrics"
	"campuspay/store"
)

// Job is one scheduled function.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context)
}

// Scheduler runs jobs with gocron. When several instances share a database, only the
// one holding the "scheduler" lease runs them: gocron asks the elector before every run.
type Scheduler struct {
	s   gocron.Scheduler
	el  *elector
	log *slog.Logger
}

// leaseTTL is how long a leader holds the lease without renewing it; a leader that dies is
// replaced within this time.
const leaseTTL = 30 * time.Second

// elector is a gocron.Elector over a lease row in the database.
type elector struct {
	db    *bun.DB
	owner string
}

var errNotLeader = errors.New("jobs: another instance runs the jobs")

func (e *elector) IsLeader(ctx context.Context) error {
	ok, err := store.AcquireLease(ctx, e.db, "scheduler", e.owner, time.Now(), leaseTTL)
	metrics.Lease("scheduler", e.owner, ok && err == nil)
	if err != nil {
		return err
	}
	if !ok {
		return errNotLeader
	}
	return nil
}

// NewScheduler prepares jobs; Start runs them.
func NewScheduler(db *bun.DB, log *slog.Logger, list []Job) (*Scheduler, error) {
	b := make([]byte, 8)
	rand.Read(b)
	el := &elector{db: db, owner: hex.EncodeToString(b)}
	s, err := gocron.NewScheduler(gocron.WithDistributedElector(el), gocron.WithLocation(time.UTC))
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduler: %w", err)
	}
	for _, j := range list {
		run := j.Run
		_, err := s.NewJob(gocron.DurationJob(j.Every),
			gocron.NewTask(func() {
				ctx, cancel := context.WithTimeout(context.Background(), j.Every*4)
				defer cancel()
				observed(ctx, j.Name, run)
			}),
			gocron.WithName(j.Name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		)
		if err != nil {
			return nil, fmt.Errorf("jobs: add %s: %w", j.Name, err)
		}
	}
	return &Scheduler{s: s, el: el, log: log}, nil
}

// Start starts running jobs.
func (s *Scheduler) Start() { s.s.Start() }

// Stop stops the jobs and gives up the lease so that another instance takes over at once.
func (s *Scheduler) Stop() error {
	err := s.s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store.ReleaseLease(ctx, s.el.db, "scheduler", s.el.owner)
	return err
}
