package io.cloudsync.db;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL session-level advisory lock on a connection of its own, so that one node of a
 * cluster does a job at a time: the holder runs the job's statements on {@link #connection()}, the
 * only connection the job uses. When the holder stops or its connection drops, the session ends,
 * the lock frees, and another node's next {@link #tryAcquire()} takes it. A node whose connection
 * closed loses the lock before it could write anything more with it.
 *
 * <p>Not thread-safe: use it from one verticle's context.
 */
public final class AdvisoryLock {
  private static final Logger LOG = LoggerFactory.getLogger(AdvisoryLock.class);

  private final Vertx vertx;
  private final PgConnectOptions options;
  private final long key;
  private final String job;
  /** The connection holding (or trying for) the lock; null when there is none. */
  private PgConnection connection;
  private boolean held;
  private boolean closed;
  private boolean unreachable;

  /** @param job what the lock guards, for the logs, such as "the change feed" */
  public AdvisoryLock(Vertx vertx, PgConnectOptions options, long key, String job) {
    this.vertx = vertx;
    this.options = options;
    this.key = key;
    this.job = job;
  }

  /** Whether this node holds the lock now; never fails (an unreachable database answers false). */
  public Future<Boolean> tryAcquire() {
    if (held && connection != null) {
      return Future.succeededFuture(true);
    }
    return connect()
        .compose(conn -> conn.query("SELECT pg_try_advisory_lock(" + key + ") AS locked").execute())
        .map(rows -> {
          unreachable = false;
          held = rows.iterator().next().getBoolean("locked");
          return held;
        })
        .recover(e -> {
          if (!unreachable) {
            LOG.warn("{} cannot reach PostgreSQL to take its lock: {}", capitalized(), e.getMessage());
          }
          unreachable = true;
          return release().map(false);
        });
  }

  /** The connection holding the lock; null when this node does not hold it (any more). */
  public PgConnection connection() {
    return held ? connection : null;
  }

  /** Ends the lock's session, which frees the lock whether or not the unlock gets through. */
  public Future<Void> release() {
    PgConnection conn = connection;
    connection = null;
    held = false;
    if (conn == null) {
      return Future.succeededFuture();
    }
    return conn.query("SELECT pg_advisory_unlock_all()").execute()
        .transform(unlocked -> conn.close())
        .recover(e -> Future.succeededFuture());
  }

  /** Releases the lock and takes it no more. */
  public Future<Void> close() {
    closed = true;
    return release();
  }

  private Future<PgConnection> connect() {
    if (connection != null) {
      return Future.succeededFuture(connection);
    }
    return PgConnection.connect(vertx, new PgConnectOptions(options)).compose(conn -> {
      if (closed) {
        return conn.close().transform(v -> Future.failedFuture(job + " is stopping"));
      }
      connection = conn;
      conn.closeHandler(v -> connectionClosed(conn));
      return Future.succeededFuture(conn);
    });
  }

  private void connectionClosed(PgConnection conn) {
    if (connection != conn) {
      return;
    }
    connection = null;
    if (held) {
      held = false;
      LOG.warn("The connection holding the lock of {} closed; this node stopped running it", job);
    }
  }

  private String capitalized() {
    return job.isEmpty() ? job : Character.toUpperCase(job.charAt(0)) + job.substring(1);
  }
}
