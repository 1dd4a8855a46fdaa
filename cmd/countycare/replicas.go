package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"countycare/account"
	"countycare/store"
)

// schedulerLease is the lease whose holder runs serve's scheduled duties.
const schedulerLease = "scheduler"

// leaseStore is the storage of the scheduler's lease and of the periodic
// jobs' last runs (store.Store).
type leaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	DutyLastRun(ctx context.Context, name string) (time.Time, error)
	SetDutyRun(ctx context.Context, name string, t time.Time) error
}

// scheduler runs the scheduled duties of serve — consultation, reading
// and critical-value escalation, the outbox, housekeeping — on exactly one
// of the replicas sharing a database (issue 15): the one holding the
// scheduler lease (store.AcquireLease, by the database's clock). Every
// replica tries to take or renew the lease every ttl/4; the holder runs
// the duties, each in its own goroutine until the lease is lost or serve
// stops. A replica that dies stops renewing and another takes the lease
// within ttl (+ ttl/4); one that cannot renew (the database is
// unreachable) stops its duties before its lease can have expired, so two
// replicas never run them at once. Each duty's write is also conditional
// (an escalation updates only a case still due at the version it read; a
// message is claimed before it is sent), so even a paused holder that
// wakes up after losing its lease changes nothing twice.
type scheduler struct {
	st     leaseStore
	holder string        // this replica: host/pid/random
	ttl    time.Duration // lease time
	log    *slog.Logger
	duties []func(ctx context.Context) // each runs until its ctx ends
}

// replicaID names this process in the lease table: host, process ID and
// a random part (a restarted process with a reused PID is another holder).
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

// run takes part in the lease until ctx ends, then stops the duties and
// releases the lease so another replica takes over at once.
func (s *scheduler) run(ctx context.Context) {
	every := s.ttl / 4
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		stop  context.CancelFunc
		wg    sync.WaitGroup
		valid time.Time // local time until which the lease is surely ours
	)
	halt := func(why string, attrs ...any) {
		if stop == nil {
			return
		}
		stop()
		wg.Wait()
		stop = nil
		s.log.Warn("scheduler: "+why+"; duties stopped", append(attrs, "holder", s.holder)...)
	}
	for {
		asked := time.Now() // the database's expiry is ttl after a moment no earlier than this
		ok, err := s.st.AcquireLease(ctx, schedulerLease, s.holder, s.ttl)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			s.log.Error("scheduler: lease", "err", err)
			if stop != nil && time.Now().After(valid) {
				halt("lease not renewed in time")
			}
		case ok:
			valid = asked.Add(s.ttl - every) // stop a renewal period before it can expire
			if stop == nil {
				var dctx context.Context
				dctx, stop = context.WithCancel(ctx)
				for _, d := range s.duties {
					wg.Add(1)
					go func() { defer wg.Done(); d(dctx) }()
				}
				s.log.Info("scheduler: lease taken; this replica runs the scheduled duties", "holder", s.holder, "lease", s.ttl.String())
			}
		default:
			halt("lease held by another replica")
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop()
				wg.Wait()
				rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := s.st.ReleaseLease(rctx, schedulerLease, s.holder); err != nil {
					s.log.Error("scheduler: release lease", "err", err)
				}
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

// liveChannel is the PostgreSQL notification channel of live events.
const liveChannel = "countycare_live"

// liveRelay passes the web broker's live events to the other replicas
// through the database (web.Relay over store.Store.Notify).
type liveRelay struct{ st *store.Store }

// Notify sends payload to every replica's listener.
func (r liveRelay) Notify(ctx context.Context, payload string) error {
	return r.st.Notify(ctx, liveChannel, payload)
}

// sessionsChannel is the PostgreSQL notification channel of accounts whose
// sessions were ended (account.Service.Revoked): the other replicas drop
// them from their session caches.
const sessionsChannel = "countycare_sessions"

// shareRevocations tells the other replicas of every account whose
// sessions end here, and drops those they tell of from this replica's
// session cache (all of it after the listener's connection was lost).
func shareRevocations(ctx context.Context, st *store.Store, accounts *account.Service, log *slog.Logger) {
	accounts.Revoked = func(id int64) {
		nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := st.Notify(nctx, sessionsChannel, strconv.FormatInt(id, 10)); err != nil {
			log.Error("sessions: tell the other replicas", "account", id, "err", err)
		}
	}
	go st.Listen(ctx, sessionsChannel, func(p string) {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			accounts.Forget(id)
		}
	}, accounts.ForgetAll, func(err error) {
		log.Warn("sessions: listener connection lost; reconnecting", "err", err)
	})
}
