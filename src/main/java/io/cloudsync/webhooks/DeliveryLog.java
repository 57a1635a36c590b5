package io.cloudsync.webhooks;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the delivery log bounded: succeeded and dead deliveries whose last attempt is older than
 * {@code webhooks.log_retention} are deleted; pending ones are never. Every node of the webhooks
 * role sweeps, every ten minutes at most (or once per retention, when that is shorter), in batches
 * of {@link #BATCH} rows, each its own short statement, so a large backlog does not hold one long
 * transaction; rows another node is deleting are skipped.
 */
public final class DeliveryLog {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryLog.class);
  static final int BATCH = 1000;
  private static final long SWEEP_EVERY_MS = Duration.ofMinutes(10).toMillis();

  private final Pool pool;
  private final Duration retention;
  private boolean sweeping;
  private boolean stopped;
  private long lastSweep;

  public DeliveryLog(Pool pool, Duration retention) {
    this.pool = pool;
    this.retention = retention;
  }

  /** Starts a sweep when one is due and none is running. */
  public void tick() {
    long now = System.currentTimeMillis();
    if (stopped || sweeping || now - lastSweep < Math.min(SWEEP_EVERY_MS, retention.toMillis())) {
      return;
    }
    lastSweep = now;
    sweeping = true;
    sweep().onComplete(done -> {
      sweeping = false;
      if (done.failed() && !stopped) {
        LOG.warn("Deleting old webhook deliveries failed: {}", done.cause().getMessage());
      } else if (done.succeeded() && done.result() > 0) {
        LOG.info("Deleted {} webhook deliveries older than {}", done.result(), retention);
      }
    });
  }

  public void stop() {
    stopped = true;
  }

  /** Deletes batch after batch until one comes back short; answers how many rows went. */
  private Future<Long> sweep() {
    return pool.preparedQuery("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries "
            + "WHERE status IN ('succeeded', 'dead') AND last_attempt_at < now() - $1 * interval '1 millisecond' "
            + "LIMIT $2 FOR UPDATE SKIP LOCKED)")
        .execute(Tuple.of(retention.toMillis(), BATCH))
        .compose(rows -> rows.rowCount() < BATCH || stopped ? Future.succeededFuture((long) rows.rowCount())
            : sweep().map(more -> more + rows.rowCount()));
  }
}
