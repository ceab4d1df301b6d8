package dialplan

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// pruneBatch bounds the rows one DELETE removes, so that the retention job
// never holds the write lock for long (a call's PIN check may be waiting).
const pruneBatch = 5000

// pruneRuns bounds the batches of one retention run; what is left goes
// at the next run.
const pruneRuns = 200

// PruneOld deletes the audit entries and PIN failure records older than
// keep (failure records only once their lockout is over), in bounded
// batches. It returns how many of each went.
func (s *Store) PruneOld(ctx context.Context, now time.Time, keep time.Duration) (audit, failures int64, err error) {
	before := now.Add(-keep).UnixMilli()
	batch := func(q string, args ...any) (int64, error) {
		var total int64
		for range pruneRuns {
			res, err := s.db.ExecContext(ctx, q, append(args, pruneBatch)...)
			if err != nil {
				return total, err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, err
			}
			total += n
			if n < pruneBatch {
				break
			}
		}
		return total, nil
	}
	audit, err = batch(`DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? LIMIT ?)`, before)
	if err != nil {
		return audit, 0, fmt.Errorf("dialplan: retention: audit: %w", err)
	}
	failures, err = batch(`DELETE FROM pin_failures WHERE rowid IN
		(SELECT rowid FROM pin_failures WHERE last_fail < ? AND locked_until <= ? LIMIT ?)`, before, now.UnixMilli())
	if err != nil {
		return audit, failures, fmt.Errorf("dialplan: retention: pin failures: %w", err)
	}
	return audit, failures, nil
}

// RunRetention prunes records older than keep (PruneOld) once at start
// and then at every tick, until ctx is done. The server passes an hourly
// ticker; tests pass their own ticks and clock.
func (s *Store) RunRetention(ctx context.Context, keep time.Duration, ticks <-chan time.Time, now func() time.Time, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	run := func() {
		a, f, err := s.PruneOld(ctx, now(), keep)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention: deleting old records failed", "err", err)
		case a+f > 0:
			log.Info("retention: deleted old records", "audit", a, "pin_failures", f)
		}
	}
	run()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			run()
		}
	}
}
