package io.cloudsync.webhooks;

import io.cloudsync.audit.AuditLog;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.notify.MailOutbox;
import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends due deliveries; every node running the webhooks role does, and PostgreSQL decides who sends
 * what. A claim locks due endpoints with {@code FOR UPDATE SKIP LOCKED}, takes the oldest due
 * delivery (lowest seq) of each, counts the attempt and marks the endpoint busy for a lease longer
 * than the send timeout — all in one transaction — so exactly one node sends each attempt, and one
 * attempt per endpoint is in flight cluster-wide. A node that dies mid-send leaves the lease to
 * run out; the delivery is then due again (the attempt it had counted stays counted).
 *
 * <p>Ordering: per endpoint, due deliveries are attempted one at a time in seq order. A delivery
 * waiting for its retry does not hold back later ones, so after a failure a receiver may see
 * changes out of order; {@code data.seq} lets it tell.
 */
public final class Sender {
  private static final Logger LOG = LoggerFactory.getLogger(Sender.class);
  /** How much longer than the send timeout a claim holds an endpoint, for the result to be written. */
  private static final Duration LEASE_MARGIN = Duration.ofSeconds(30);
  private static final int MAX_ERROR = 500;

  /** A claimed attempt: the delivery, its change as the API shows it, and where it goes. */
  record Claim(String deliveryId, String endpointId, String messageId, int attempt, String kind, String url,
               List<String> secrets, String unreadableSecret, JsonObject change) {
  }

  /** How an attempt went: the status code (0 when no answer), the failure text, and Retry-After. */
  public record Result(int status, String error, long latencyMs, Duration retryAfter) {
    public boolean succeeded() {
      return status >= 200 && status < 300;
    }
  }

  private final Vertx vertx;
  private final Pool pool;
  private final CloudSyncConfig.Webhooks config;
  private final Destinations destinations;
  private final HttpClient client;
  private final Consumer<Result> observer;
  private final MailOutbox mail;
  private final SecretBox secretBox;
  private int inFlight;
  private boolean claiming;
  private boolean again;
  private boolean stopped;

  public Sender(Vertx vertx, Pool pool, CloudSyncConfig.Webhooks config, Destinations destinations,
                HttpClient client, MailOutbox mail, SecretBox secretBox, Consumer<Result> observer) {
    this.vertx = vertx;
    this.pool = pool;
    this.config = config;
    this.destinations = destinations;
    this.client = client;
    this.observer = observer;
    this.mail = mail;
    this.secretBox = secretBox;
  }

  /**
   * Stops claiming; completes once the attempts in flight are recorded, or after {@code graceMs}
   * (those still out then are sent again when their lease runs out).
   */
  public Future<Void> stop(long graceMs) {
    stopped = true;
    io.vertx.core.Promise<Void> drained = io.vertx.core.Promise.promise();
    long deadline = System.nanoTime() + graceMs * 1_000_000;
    vertx.setPeriodic(1, 20, id -> {
      if (inFlight == 0 || System.nanoTime() > deadline) {
        vertx.cancelTimer(id);
        drained.tryComplete();
      }
    });
    return drained.future();
  }

  /** Claims and starts what is due, up to the free places; runs one claim at a time. */
  public void tick() {
    if (stopped) {
      return;
    }
    if (claiming) {
      again = true;
      return;
    }
    int free = config.concurrency() - inFlight;
    if (free <= 0) {
      return;
    }
    claiming = true;
    claim(free).onComplete(claimed -> {
      claiming = false;
      if (claimed.failed()) {
        LOG.warn("Claiming webhook deliveries failed: {}", claimed.cause().getMessage());
      } else {
        for (Claim claim : claimed.result()) {
          inFlight++;
          attempt(claim).compose(result -> record(claim, result))
              .onFailure(e -> LOG.warn("Recording webhook delivery {} failed: {}", claim.deliveryId(), e.getMessage()))
              .onComplete(done -> {
                inFlight--;
                tick();
              });
        }
      }
      if (again) {
        again = false;
        tick();
      }
    });
  }

  private Future<List<Claim>> claim(int limit) {
    long leaseMs = config.timeoutMs() + LEASE_MARGIN.toMillis();
    return pool.withTransaction(conn -> conn
        .preparedQuery("SELECT e.id FROM webhook_endpoints e WHERE e.enabled AND e.busy_until < now() "
            + "AND e.circuit_until <= now() AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id "
            + "AND d.status = 'pending' AND d.next_attempt_at <= now()) "
            + "ORDER BY e.busy_until LIMIT $1 FOR UPDATE SKIP LOCKED")
        .execute(Tuple.of(limit))
        .compose(rows -> {
          List<UUID> endpoints = new ArrayList<>();
          rows.forEach(row -> endpoints.add(row.getUUID("id")));
          if (endpoints.isEmpty()) {
            return Future.succeededFuture(List.<Claim>of());
          }
          UUID[] ids = endpoints.toArray(UUID[]::new);
          return conn.preparedQuery("UPDATE webhook_endpoints SET busy_until = now() + $2 * interval '1 millisecond' "
                  + "WHERE id = ANY ($1::uuid[]) RETURNING id::text AS id, url, secret, "
                  + "CASE WHEN previous_secret_until > now() THEN previous_secret END AS previous_secret")
              .execute(Tuple.tuple().addArrayOfUUID(ids).addLong(leaseMs))
              .compose(targets -> conn.preparedQuery("UPDATE webhook_deliveries d SET attempts = d.attempts + 1, "
                      + "last_attempt_at = now(), next_attempt_at = now() + $2 * interval '1 millisecond' "
                      + "FROM (SELECT DISTINCT ON (endpoint_id) id FROM webhook_deliveries WHERE endpoint_id = ANY ($1::uuid[]) "
                      + "AND status = 'pending' AND next_attempt_at <= now() ORDER BY endpoint_id, seq) pick "
                      + "WHERE d.id = pick.id RETURNING d.id::text AS id, d.endpoint_id::text AS endpoint_id, d.space_id, "
                      + "d.seq, d.kind, d.message_id, d.attempts")
                  .execute(Tuple.tuple().addArrayOfUUID(ids).addLong(leaseMs))
                  .compose(deliveries -> changes(conn, deliveries).map(changes -> {
                    Map<String, Row> byEndpoint = new HashMap<>();
                    targets.forEach(row -> byEndpoint.put(row.getString("id"), row));
                    List<Claim> claims = new ArrayList<>();
                    for (Row delivery : deliveries) {
                      Row target = byEndpoint.get(delivery.getString("endpoint_id"));
                      String endpointId = delivery.getString("endpoint_id");
                      List<String> secrets = new ArrayList<>();
                      String unreadable = null;
                      try {
                        secrets.add(secretBox.open(endpointId, target.getString("secret")));
                        if (target.getString("previous_secret") != null) {
                          secrets.add(secretBox.open(endpointId, target.getString("previous_secret")));
                        }
                      } catch (SecretBox.Unreadable e) {
                        unreadable = e.getMessage();
                      }
                      claims.add(new Claim(delivery.getString("id"), delivery.getString("endpoint_id"),
                          delivery.getString("message_id"), delivery.getInteger("attempts"), delivery.getString("kind"),
                          target.getString("url"), secrets, unreadable,
                          changes.get(delivery.getUUID("space_id") + ":" + delivery.getLong("seq"))));
                    }
                    return claims;
                  })));
        }));
  }

  private static Future<Map<String, JsonObject>> changes(SqlConnection conn, io.vertx.sqlclient.RowSet<Row> deliveries) {
    List<UUID> spaces = new ArrayList<>();
    List<Long> seqs = new ArrayList<>();
    deliveries.forEach(row -> {
      spaces.add(row.getUUID("space_id"));
      seqs.add(row.getLong("seq"));
    });
    if (spaces.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    return conn.preparedQuery("SELECT " + ChangeLog.COLUMNS + " FROM changes WHERE (space_id, seq) IN "
            + "(SELECT * FROM unnest($1::uuid[], $2::bigint[]))")
        .execute(Tuple.tuple().addArrayOfUUID(spaces.toArray(UUID[]::new)).addArrayOfLong(seqs.toArray(Long[]::new)))
        .map(rows -> {
          Map<String, JsonObject> out = new HashMap<>();
          rows.forEach(row -> {
            JsonObject change = ChangeLog.toJson(row);
            out.put(change.getString("space") + ":" + change.getLong("seq"), change);
          });
          return out;
        });
  }

  /** The body of a delivery: the same for every attempt of it. */
  static String body(String kind, JsonObject change) {
    return new JsonObject().put("type", Signatures.type(kind)).put("timestamp", change.getString("at"))
        .put("data", change).encode();
  }

  /** Sends one attempt; never fails: a failure is a {@link Result} without a 2xx status. */
  Future<Result> attempt(Claim claim) {
    long started = System.nanoTime();
    if (claim.change() == null) {
      return Future.succeededFuture(new Result(0, "the change is gone from the log", 0, null));
    }
    if (claim.unreadableSecret() != null) {
      return Future.succeededFuture(new Result(0, "not sent: " + claim.unreadableSecret(), 0, null));
    }
    String body = body(claim.kind(), claim.change());
    HttpClientRequest[] sent = new HttpClientRequest[1];
    // The address is checked again at connect time and the connection goes to exactly that address.
    return destinations.check(vertx, claim.url())
        .compose(target -> {
          long timestamp = Instant.now().getEpochSecond();
          RequestOptions options = new RequestOptions()
              .setMethod(HttpMethod.POST)
              .setHost(target.host())
              .setPort(target.port())
              .setSsl(target.tls())
              .setServer(SocketAddress.inetSocketAddress(target.port(), target.address().getHostAddress()))
              .setURI(target.pathAndQuery())
              .setFollowRedirects(false)
              .setConnectTimeout(config.timeoutMs())
              .setIdleTimeout(config.timeoutMs())
              .putHeader("content-type", "application/json")
              .putHeader("user-agent", "CloudSync-Webhooks")
              .putHeader("webhook-id", claim.messageId())
              .putHeader("webhook-timestamp", String.valueOf(timestamp))
              .putHeader("webhook-signature", Signatures.header(claim.messageId(), timestamp, body, claim.secrets()));
          return client.request(options)
              .compose(request -> {
                sent[0] = request;
                return request.send(Buffer.buffer(body));
              })
              .compose(response -> drain(response).map(response));
        })
        .timeout(config.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(response -> {
          int status = response.statusCode();
          long latency = (System.nanoTime() - started) / 1_000_000;
          String error = status >= 200 && status < 300 ? null
              : status >= 300 && status < 400 ? "redirect (" + status + ") not followed" : "answered " + status;
          Duration retryAfter = status == 429 || status == 503 ? retryAfter(response.getHeader("retry-after")) : null;
          return new Result(status, error, latency, retryAfter);
        })
        .recover(e -> {
          if (sent[0] != null) {
            sent[0].reset();
          }
          long latency = (System.nanoTime() - started) / 1_000_000;
          String error = e instanceof Destinations.Refused ? "url not allowed: " + e.getMessage()
              : e instanceof java.util.concurrent.TimeoutException || e instanceof io.vertx.core.http.StreamResetException
                  ? "no answer within " + config.timeoutMs() + " ms"
                  : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
          return Future.succeededFuture(new Result(0, error, latency, null));
        });
  }

  /** Reads and drops the answer's body, so the connection can be used again. */
  private static Future<Void> drain(HttpClientResponse response) {
    response.handler(chunk -> {
    });
    return response.end();
  }

  /** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
  static Duration retryAfter(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String text = header.trim();
    if (text.matches("\\d{1,10}")) {
      return Duration.ofSeconds(Long.parseLong(text));
    }
    try {
      Duration until = Duration.between(Instant.now(), ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
      return until.isNegative() ? Duration.ZERO : until;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** The wait before attempt {@code next} (1-based) of the schedule, jittered by up to 10% either way. */
  Duration delayBefore(int next) {
    Duration step = config.retrySchedule().get(next - 1);
    double jitter = 0.9 + 0.2 * ThreadLocalRandom.current().nextDouble();
    return Duration.ofMillis(Math.round(step.toMillis() * jitter));
  }

  private Future<Void> record(Claim claim, Result result) {
    observer.accept(result);
    String error = result.error() == null ? null
        : result.error().length() > MAX_ERROR ? result.error().substring(0, MAX_ERROR) : result.error();
    Integer status = result.status() == 0 ? null : result.status();
    if (result.succeeded()) {
      return pool.preparedQuery("UPDATE webhook_deliveries SET status = 'succeeded', last_status = $3, last_error = NULL, "
              + "last_latency_ms = $4 WHERE id = $1::uuid AND attempts = $2 AND status = 'pending'")
          .execute(Tuple.of(claim.deliveryId(), claim.attempt(), status, (int) result.latencyMs()))
          .compose(v -> pool.preparedQuery("UPDATE webhook_endpoints SET busy_until = '-infinity', failures_in_row = 0, "
              + "circuit_until = '-infinity', failing_since = NULL WHERE id = $1::uuid").execute(Tuple.of(claim.endpointId())))
          .mapEmpty();
    }
    boolean dead = claim.attempt() >= config.retrySchedule().size();
    Duration wait = dead ? Duration.ZERO : delayBefore(claim.attempt() + 1);
    if (result.retryAfter() != null) {
      wait = result.retryAfter().compareTo(config.retryAfterMax()) > 0 ? config.retryAfterMax() : result.retryAfter();
    }
    boolean gone = result.status() == 410;
    return pool.preparedQuery("UPDATE webhook_deliveries SET status = CASE WHEN $5 THEN 'dead' ELSE 'pending' END, "
            + "last_status = $3, last_error = $6, last_latency_ms = $4, next_attempt_at = now() + $7 * interval '1 millisecond' "
            + "WHERE id = $1::uuid AND attempts = $2 AND status = 'pending'")
        .execute(Tuple.tuple().addString(claim.deliveryId()).addInteger(claim.attempt()).addInteger(status)
            .addInteger((int) result.latencyMs()).addBoolean(dead).addString(error).addLong(wait.toMillis()))
        .compose(v -> pool.withTransaction(conn -> conn.preparedQuery("WITH old AS (SELECT id, enabled, "
                    + "coalesce(failing_since, now()) <= now() - $5 * interval '1 millisecond' AS too_long "
                    + "FROM webhook_endpoints WHERE id = $1::uuid FOR UPDATE) "
                    + "UPDATE webhook_endpoints e SET busy_until = '-infinity', failures_in_row = e.failures_in_row + 1, "
                    + "failing_since = coalesce(e.failing_since, now()), "
                    + "circuit_until = CASE WHEN e.failures_in_row + 1 >= $2 THEN now() + $3 * interval '1 millisecond' "
                    + "ELSE e.circuit_until END, "
                    + "enabled = e.enabled AND NOT ($4 OR old.too_long), "
                    + "disabled_reason = CASE WHEN NOT e.enabled THEN e.disabled_reason "
                    + "WHEN $4 THEN 'the receiver answered 410 Gone' "
                    + "WHEN old.too_long THEN 'every attempt failed since ' || to_char(e.failing_since AT TIME ZONE 'UTC', "
                    + "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE e.disabled_reason END "
                    + "FROM old WHERE e.id = old.id "
                    + "RETURNING e.circuit_until, old.enabled AND NOT e.enabled AS just_disabled, e.disabled_reason, "
                    + "e.space_id::text AS space_id, e.url")
                .execute(Tuple.of(claim.endpointId(), config.circuitFailures(), config.circuitCooldown().toMillis(), gone,
                    config.disableAfter().toMillis()))
                .compose(rows -> {
                  if (rows.size() == 0 || !rows.iterator().next().getBoolean("just_disabled")) {
                    return Future.succeededFuture(rows);
                  }
                  Row row = rows.iterator().next();
                  String reason = row.getString("disabled_reason");
                  LOG.warn("Disabled webhook endpoint {}: {}", claim.endpointId(), reason);
                  return AuditLog.append(conn, new AuditLog.Entry(AuditLog.WEBHOOK_DISABLED, null, row.getString("space_id"),
                          claim.endpointId(), null, new JsonObject().put("reason", reason).put("url", row.getString("url"))))
                      .compose(x -> mail.endpointDisabled(conn, claim.endpointId(), reason))
                      .map(rows);
                })))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture();
          }
          // An open circuit postpones what is due, so the log shows when it is tried next.
          return pool.preparedQuery("UPDATE webhook_deliveries SET next_attempt_at = greatest(next_attempt_at, e.circuit_until) "
                  + "FROM webhook_endpoints e WHERE e.id = $1::uuid AND webhook_deliveries.endpoint_id = e.id "
                  + "AND webhook_deliveries.status = 'pending' AND e.circuit_until > now()")
              .execute(Tuple.of(claim.endpointId())).mapEmpty();
        });
  }
}
