package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pollInterval is how often the waits check their condition.
const pollInterval = 250 * time.Millisecond

// WaitFor polls cond every 250ms until it reports done, returns an error, or
// timeout passes (or ctx ends). what names the awaited state in the timeout
// error, which also carries cond's last progress note: cond returns
// (done, note, err), with note saying what is still missing. An error from
// cond ends the wait at once.
func WaitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (done bool, note string, err error)) error {
	return waitFor(ctx, timeout, what, nil, cond)
}

// waitFor is WaitFor that also gives up as soon as one of procs exits.
func waitFor(ctx context.Context, timeout time.Duration, what string, procs []*process, cond func(context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var note string
	for {
		for _, p := range procs {
			if gone, err := p.exited(); gone {
				return fmt.Errorf("%s exited (%v) while waiting for %s; its log ends:\n%s", p.name, err, what, p.tail(30))
			}
		}
		done, n, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		note = n
		select {
		case <-ctx.Done():
			if note == "" {
				note = "no detail"
			}
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("waiting for %s: %w (%s)", what, ctx.Err(), note)
			}
			return fmt.Errorf("timed out after %s waiting for %s: %s", timeout, what, note)
		case <-ticker.C:
		}
	}
}
