package io.cloudsync.webhooks;

import io.cloudsync.db.LogWindows;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/**
 * One round of turning the change log into webhook deliveries: for spaces that have endpoints and
 * whose log is ahead of the stored position, add one delivery row per (endpoint, change) the
 * endpoint asked for, and move the position — in one transaction, so a change becomes its
 * deliveries exactly once, whatever fails. Runs on the connection holding the relay lock.
 */
public final class DeliveryRelay {
  private final LogWindows.Lap lap = new LogWindows.Lap();

  /** What a round did: {@code created} delivery rows; {@code more} when work may be waiting right away. */
  public record Outcome(int created, boolean more) {
  }

  public Future<Outcome> round(SqlConnection conn) {
    return LogWindows.inTransaction(conn, () -> work(conn));
  }

  private Future<Outcome> work(SqlConnection conn) {
    // A space's position starts at its oldest endpoint's registration: nothing before it is wanted.
    // Driven by the endpoints, not the spaces: a space without endpoints costs nothing here.
    return conn.preparedQuery("SELECT s.id::text AS id, greatest(coalesce(p.seq, 0), e.from_seq) AS done, "
            + "s.next_seq AS head FROM (SELECT space_id, min(from_seq) AS from_seq FROM webhook_endpoints GROUP BY space_id) e "
            + "JOIN spaces s ON s.id = e.space_id LEFT JOIN webhook_positions p ON p.space_id = s.id "
            + "WHERE s.next_seq > greatest(coalesce(p.seq, 0), e.from_seq) AND s.id > $2::uuid ORDER BY s.id LIMIT $1")
        .execute(Tuple.of(LogWindows.SPACES_PER_ROUND, lap.after()))
        .compose(rows -> {
          LogWindows windows = LogWindows.of(rows, lap);
          if (windows.isEmpty()) {
            return Future.succeededFuture(new Outcome(0, windows.more()));
          }
          // A delivery made while its endpoint's circuit is open is due when the circuit closes, as the
          // ones already waiting are, so the delivery log shows when it will be tried.
          return conn.preparedQuery("INSERT INTO webhook_deliveries (id, endpoint_id, space_id, seq, kind, message_id, "
                  + "next_attempt_at) "
                  + "SELECT x.id, x.endpoint_id, x.space_id, x.seq, x.kind, 'msg_' || replace(x.id::text, '-', ''), "
                  + "greatest(now(), x.circuit_until) FROM ("
                  + "SELECT gen_random_uuid() AS id, e.id AS endpoint_id, c.space_id, c.seq, c.kind, e.circuit_until "
                  + LogWindows.FROM_CHANGES
                  + "JOIN webhook_endpoints e ON e.space_id = c.space_id AND c.seq > e.from_seq AND e.enabled "
                  + "AND (cardinality(e.events) = 0 OR c.kind = ANY (e.events))) x "
                  + "ON CONFLICT (endpoint_id, seq) DO NOTHING")
              .execute(windows.tuple())
              .compose(inserted -> windows.advance(conn, "webhook_positions")
                  .map(v -> new Outcome(inserted.rowCount(), windows.more())));
        });
  }
}
