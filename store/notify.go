package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify sends payload to every session listening on channel (PostgreSQL
// NOTIFY; payloads under 8,000 bytes). It is how the replicas sharing a
// database pass live events to each other; on SQLite, one process, there
// is no one else to tell and it does nothing.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return wrap("store.Notify", err)
}

// Listen hands every payload sent on channel (Notify, from any replica,
// this one included) to deliver until ctx ends, on a connection of its
// own (PostgreSQL LISTEN). A lost connection is made again (after 0.2 s,
// doubling to 5 s) and then resync is called: notifications sent while it
// was down are lost, so the listeners re-read the database. onErr is told
// of each lost or refused connection. On SQLite it returns at once.
func (s *Store) Listen(ctx context.Context, channel string, deliver func(payload string), resync func(), onErr func(error)) {
	if s.dialect != Postgres {
		return
	}
	wait, first := 200*time.Millisecond, true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, deliver, func() {
			if !first {
				resync()
			}
			first, wait = false, 200*time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		onErr(wrap("store.Listen", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// listenOnce listens on one connection until it fails; listening is
// called once the LISTEN is in place.
func (s *Store) listenOnce(ctx context.Context, channel string, deliver func(string), listening func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, s.url)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		deliver(n.Payload)
	}
}
