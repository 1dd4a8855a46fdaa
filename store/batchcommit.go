package store

import (
	"context"
	"fmt"
	"sync"
)

// batchCommit runs the batches of concurrent callers in one transaction:
// a caller that finds no commit running leads: it takes every batch queued
// and commits them together. Batches that arrive meanwhile wait; when the
// commit ends, the first of them leads the next group (so no caller
// commits others' batches for longer than one round). Each caller returns
// after the commit that held its batch, with that commit's error. A
// sequential client's batch is its own group; many concurrent clients
// share one transaction and one fsync.
type batchCommit[T any] struct {
	mu      sync.Mutex
	queue   []*batchItem[T]
	running bool
}

type batchItem[T any] struct {
	batch T
	done  chan error    // the result of the commit that held batch
	lead  chan struct{} // this caller leads the next group
}

// do queues batch and returns the error of the commit that held it. commit
// runs on the leader's goroutine with a context that is not cancelled with
// the leader's request, since it carries the other callers' batches too.
func (g *batchCommit[T]) do(ctx context.Context, batch T, commit func(ctx context.Context, batches []T) error) error {
	me := &batchItem[T]{batch: batch, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, me)
	if g.running {
		g.mu.Unlock()
		select {
		case err := <-me.done:
			return err
		case <-me.lead:
		}
		g.mu.Lock()
	}
	g.running = true
	group := g.queue
	g.queue = nil
	g.mu.Unlock()
	batches := make([]T, len(group))
	for i, it := range group {
		batches[i] = it.batch
	}
	var panicked any
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				panicked, err = p, fmt.Errorf("store: group commit: %v", p)
			}
		}()
		return commit(context.WithoutCancel(ctx), batches)
	}()
	for _, it := range group {
		it.done <- err
	}
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].lead <- struct{}{}
	} else {
		g.running = false
	}
	g.mu.Unlock()
	if panicked != nil {
		panic(panicked) // the others were answered; this request fails as any panic does
	}
	return <-me.done
}
