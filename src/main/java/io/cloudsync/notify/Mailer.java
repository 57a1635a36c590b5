package io.cloudsync.notify;

import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.ext.mail.LoginOption;
import io.vertx.ext.mail.MailClient;
import io.vertx.ext.mail.MailConfig;
import io.vertx.ext.mail.MailMessage;
import io.vertx.ext.mail.StartTLSOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the mail in {@code mail_outbox}; every node running the webhooks role does, and PostgreSQL
 * decides who sends what. Due digests of new files become outbox rows first (one node moves each,
 * {@code FOR UPDATE SKIP LOCKED}); then a claim marks due rows with a lease, so one node sends each
 * mail, and a node that dies mid-send leaves its rows to be sent again when the lease runs out (a
 * mail may then arrive twice; none is lost). A sent row is deleted; a row whose attempts ran out stays
 * as {@code failed} with its last error, and is logged, until {@link #FAILED_KEPT} after it was queued.
 */
public final class Mailer {
  private static final Logger LOG = LoggerFactory.getLogger(Mailer.class);
  static final int BATCH = 20;
  private static final Duration LEASE = Duration.ofMinutes(2);
  private static final Duration FIRST_RETRY = Duration.ofMinutes(1);
  private static final Duration LAST_RETRY = Duration.ofHours(1);
  private static final int MAX_ERROR = 500;
  /** How long mails that could not be sent stay in the outbox for an operator to look at. */
  static final Duration FAILED_KEPT = Duration.ofDays(30);
  private static final long SWEEP_EVERY_MS = Duration.ofMinutes(10).toMillis();

  private final Pool pool;
  private final CloudSyncConfig.Mail config;
  private final MailClient client;
  private boolean running;
  private boolean again;
  private boolean stopped;
  private Future<Void> current = Future.succeededFuture();
  private long lastSweep;

  public Mailer(Vertx vertx, Pool pool, CloudSyncConfig.Mail config) {
    this.pool = pool;
    this.config = config;
    MailConfig mail = new MailConfig()
        .setHostname(config.host())
        .setPort(config.port())
        .setSsl(config.ssl())
        .setStarttls(StartTLSOptions.valueOf(config.starttls().toUpperCase(java.util.Locale.ROOT)))
        .setConnectTimeout(15_000)
        .setKeepAlive(true)
        .setMaxPoolSize(4);
    if (config.username().isEmpty()) {
      mail.setLogin(LoginOption.DISABLED);
    } else {
      mail.setLogin(LoginOption.REQUIRED).setUsername(config.username()).setPassword(config.password());
    }
    this.client = MailClient.create(vertx, mail);
  }

  /** Moves due digests to the outbox and sends what is due; one pass at a time. */
  public void tick() {
    if (stopped) {
      return;
    }
    if (running) {
      again = true;
      return;
    }
    running = true;
    Promise<Void> pass = Promise.promise();
    current = pass.future();
    sweep()
        .compose(v -> promoteDigests())
        .compose(v -> claim())
        .compose(this::sendAll)
        .onFailure(e -> LOG.warn("Sending e-mail failed: {}", e.getMessage()))
        .onComplete(done -> {
          running = false;
          pass.complete();
          if (again) {
            again = false;
            tick();
          }
        });
  }

  /** Stops claiming; completes once the pass in progress has recorded its results. */
  /**
   * Stops sending; a pass still running after {@code graceMs} is cut, and a mail it had claimed is
   * sent again once its lease runs out (at worst twice, as after a node's death).
   */
  public Future<Void> stop(long graceMs) {
    stopped = true;
    return current.timeout(graceMs, TimeUnit.MILLISECONDS).<Void>mapEmpty().recover(e -> Future.succeededFuture())
        .eventually(() -> client.close().recover(e -> Future.succeededFuture()));
  }

  /** Drops failed mails older than {@link #FAILED_KEPT}, every ten minutes at most, so the outbox stays bounded. */
  private Future<Void> sweep() {
    long now = System.currentTimeMillis();
    if (now - lastSweep < SWEEP_EVERY_MS) {
      return Future.succeededFuture();
    }
    lastSweep = now;
    return pool.preparedQuery("DELETE FROM mail_outbox WHERE status = 'failed' AND created_at < now() - $1 * interval '1 second'")
        .execute(Tuple.of(FAILED_KEPT.toSeconds()))
        .mapEmpty();
  }

  private Future<Void> promoteDigests() {
    return pool.preparedQuery("WITH due AS (DELETE FROM notification_digests d WHERE (d.user_id, d.space_id) IN "
            + "(SELECT user_id, space_id FROM notification_digests WHERE due_at <= now() ORDER BY due_at LIMIT $1 "
            + "FOR UPDATE SKIP LOCKED) RETURNING d.user_id, d.space_id, d.files, d.names) "
            + "INSERT INTO mail_outbox (kind, recipient, subject, body) "
            + "SELECT 'new_files', u.email, "
            + "CASE WHEN due.files = 1 THEN 'A new file in \"' ELSE due.files || ' new files in \"' END || s.name || '\"', "
            + "format(E'New in the space \"%s\" on CloudSync:\\n\\n- %s\\n%s\\n'"
            + " || E'You get this because you asked for mail about new files (PUT /api/v1/me/notifications).\\n', "
            + "s.name, array_to_string(due.names, E'\\n- '), "
            + "CASE WHEN due.files > cardinality(due.names) THEN format(E'and %s more\\n', due.files - cardinality(due.names)) "
            + "ELSE '' END) "
            + "FROM due JOIN users u ON u.id = due.user_id AND u.disabled_at IS NULL "
            + "JOIN spaces s ON s.id = due.space_id AND s.deleted_at IS NULL "
            // Someone removed from the space since, or who opted out since, is not told of it.
            + "JOIN space_members m ON m.space_id = due.space_id AND m.user_id = due.user_id "
            + "JOIN notification_preferences n ON n.user_id = due.user_id AND n.new_files")
        .execute(Tuple.of(BATCH))
        .mapEmpty();
  }

  private record Claimed(String id, String recipient, String subject, String body, int attempts) {
  }

  private Future<List<Claimed>> claim() {
    return pool.preparedQuery("UPDATE mail_outbox SET claimed_until = now() + $2 * interval '1 millisecond', "
            + "attempts = attempts + 1 WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' "
            + "AND next_attempt_at <= now() AND claimed_until < now() ORDER BY next_attempt_at LIMIT $1 "
            + "FOR UPDATE SKIP LOCKED) RETURNING id::text AS id, recipient, subject, body, attempts")
        .execute(Tuple.of(BATCH, LEASE.toMillis()))
        .map(rows -> {
          List<Claimed> out = new ArrayList<>();
          for (Row row : rows) {
            out.add(new Claimed(row.getString("id"), row.getString("recipient"), row.getString("subject"),
                row.getString("body"), row.getInteger("attempts")));
          }
          return out;
        });
  }

  private Future<Void> sendAll(List<Claimed> claimed) {
    List<Future<Void>> sends = new ArrayList<>();
    for (Claimed mail : claimed) {
      sends.add(send(mail));
    }
    return Future.join(sends).mapEmpty();
  }

  private Future<Void> send(Claimed mail) {
    MailMessage message = new MailMessage()
        .setFrom(config.from())
        .setTo(mail.recipient())
        // A subject is one line, whatever a space name holds.
        .setSubject(mail.subject().replaceAll("\\p{Cntrl}", " "))
        .setText(mail.body());
    return client.sendMail(message)
        .compose(sent -> pool.preparedQuery("DELETE FROM mail_outbox WHERE id = $1::uuid AND attempts = $2")
            .execute(Tuple.of(mail.id(), mail.attempts())).<Void>mapEmpty())
        .recover(e -> failed(mail, e));
  }

  private Future<Void> failed(Claimed mail, Throwable cause) {
    String error = String.valueOf(cause.getMessage());
    error = error.length() > MAX_ERROR ? error.substring(0, MAX_ERROR) : error;
    boolean last = mail.attempts() >= config.maxAttempts();
    long wait = Math.min(LAST_RETRY.toMillis(), FIRST_RETRY.toMillis() << Math.min(20, mail.attempts() - 1));
    if (last) {
      LOG.error("Gave up sending a {} mail to {} after {} attempts: {}", mail.subject(), mail.recipient(),
          mail.attempts(), error);
    } else {
      LOG.warn("Sending a mail to {} failed (attempt {}): {}", mail.recipient(), mail.attempts(), error);
    }
    return pool.preparedQuery("UPDATE mail_outbox SET status = CASE WHEN $3 THEN 'failed' ELSE 'pending' END, "
            + "last_error = $4, claimed_until = '-infinity', next_attempt_at = now() + $5 * interval '1 millisecond' "
            + "WHERE id = $1::uuid AND attempts = $2")
        .execute(Tuple.of(mail.id(), mail.attempts(), last, error, wait))
        .mapEmpty();
  }
}
