package io.cloudsync.notify;

import io.cloudsync.db.LogWindows;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.OffsetDateTime;

/**
 * One round of turning the change log into e-mail: a {@code shared} change becomes a mail to the
 * member it names; a new file becomes a line of a digest for each member who opted in to new-file
 * mail and was shared the space (not its owner of record, not the one who added the file). A digest
 * is due {@code notifications.batch_interval} after its first file and gathers every file added
 * until then, so a member gets at most one such mail per space per interval. The mails, the digests
 * and the relay's position move in one transaction: each change is told exactly once. Runs on the
 * connection holding the webhook relay's lock, so on one node of a cluster at a time.
 */
public final class NotificationRelay {
  /** File names listed in one digest; the rest are counted. */
  public static final int NAMES_PER_DIGEST = 20;

  private final Duration batchInterval;
  private final LogWindows.Lap lap = new LogWindows.Lap();
  private OffsetDateTime since;

  public NotificationRelay(Duration batchInterval) {
    this.batchInterval = batchInterval;
  }

  /** Answers whether more work may be waiting right away. */
  public Future<Boolean> round(SqlConnection conn) {
    return LogWindows.inTransaction(conn, () -> work(conn));
  }

  private Future<OffsetDateTime> since(SqlConnection conn) {
    if (since != null) {
      return Future.succeededFuture(since);
    }
    return conn.query("INSERT INTO notification_state DEFAULT VALUES ON CONFLICT (id) DO NOTHING").execute()
        .compose(v -> conn.query("SELECT since FROM notification_state").execute())
        .map(rows -> since = rows.iterator().next().getOffsetDateTime("since"));
  }

  private Future<Boolean> work(SqlConnection conn) {
    return since(conn).compose(start -> conn.preparedQuery("SELECT s.id::text AS id, coalesce(p.seq, 0) AS done, "
            + "s.next_seq AS head FROM spaces s LEFT JOIN notification_positions p ON p.space_id = s.id "
            + "WHERE s.next_seq > coalesce(p.seq, 0) AND s.id > $2::uuid ORDER BY s.id LIMIT $1")
        .execute(Tuple.of(LogWindows.SPACES_PER_ROUND, lap.after()))
        .compose(rows -> {
          LogWindows windows = LogWindows.of(rows, lap);
          if (windows.isEmpty()) {
            return Future.succeededFuture(windows.more());
          }
          String window = LogWindows.FROM_CHANGES + "AND c.at >= $4 "
              + "JOIN spaces s ON s.id = c.space_id AND s.deleted_at IS NULL ";
          return conn.preparedQuery("INSERT INTO mail_outbox (kind, recipient, subject, body) "
                  + "SELECT 'space_shared', u.email, coalesce(a.display_name, 'Someone') || ' shared \"' || s.name || '\" with you', "
                  + "format(E'%s shared the space \"%s\" with you as %s on CloudSync.\\n\\n'"
                  + " || E'It is listed by GET /api/v1/spaces; its id is %s.\\n', "
                  + "coalesce(a.display_name, 'Someone'), s.name, c.payload ->> 'role', s.id) " + window
                  + "JOIN users u ON u.id = (c.payload ->> 'user_id')::uuid AND u.disabled_at IS NULL "
                  + "LEFT JOIN users a ON a.id = c.actor "
                  + "WHERE c.kind = 'shared' AND c.actor IS DISTINCT FROM u.id")
              .execute(windows.tuple().addOffsetDateTime(start))
              .compose(v -> conn.preparedQuery("INSERT INTO notification_digests (user_id, space_id, files, names, due_at) "
                  + "SELECT m.user_id, c.space_id, count(*), (array_agg(c.payload ->> 'name' ORDER BY c.seq))[1:$5], "
                  + "now() + $6 * interval '1 millisecond' " + window
                  + "JOIN space_members m ON m.space_id = c.space_id AND m.user_id IS DISTINCT FROM c.actor "
                  + "AND m.user_id <> s.owner_id "
                  + "JOIN notification_preferences n ON n.user_id = m.user_id AND n.new_files "
                  + "WHERE c.kind = 'created' AND c.payload ->> 'type' = 'file' GROUP BY m.user_id, c.space_id "
                  + "ON CONFLICT (user_id, space_id) DO UPDATE SET files = notification_digests.files + excluded.files, "
                  + "names = (notification_digests.names || excluded.names)[1:$5]")
                  .execute(windows.tuple().addOffsetDateTime(start).addInteger(NAMES_PER_DIGEST)
                      .addLong(batchInterval.toMillis())))
              .compose(v -> windows.advance(conn, "notification_positions"))
              .map(v -> windows.more());
        }));
  }
}
