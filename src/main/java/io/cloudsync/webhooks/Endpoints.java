package io.cloudsync.webhooks;

import io.cloudsync.audit.AuditLog;
import io.cloudsync.auth.Access;
import io.cloudsync.auth.Secrets;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Webhook endpoints of a space and their delivery log, as the API shows them. Owners and editors
 * manage them ({@link Access.Action#MANAGE_WEBHOOKS}); a secret is shown only when it is made.
 */
public final class Endpoints {
  public static final String SECRET_PREFIX = "whsec_";
  static final int MAX_PAGE = 100;
  private static final String COLUMNS = "id::text AS id, space_id::text AS space_id, url, events, enabled, "
      + "disabled_reason, created_at, updated_at, previous_secret_until";
  private static final String DELIVERY_COLUMNS = "id::text AS id, seq, kind, message_id, status, attempts, "
      + "next_attempt_at, last_attempt_at, last_status, last_error, last_latency_ms, created_at";

  private final Vertx vertx;
  private final Pool pool;
  private final Access access;
  private final Destinations destinations;
  private final CloudSyncConfig.Webhooks config;
  private final SecretBox secrets;

  public Endpoints(Vertx vertx, Pool pool, Access access, Destinations destinations, CloudSyncConfig.Webhooks config,
                   SecretBox secrets) {
    this.vertx = vertx;
    this.pool = pool;
    this.access = access;
    this.destinations = destinations;
    this.config = config;
    this.secrets = secrets;
  }

  /**
   * Seals every stored secret that is plaintext (a row from before secrets were encrypted) or
   * encrypted under an earlier master key, under the current one; answers how many rows changed.
   * Each row is compared and set, so a rotation racing it is never overwritten.
   */
  public Future<Integer> sealStoredSecrets() {
    return pool.query("SELECT id::text AS id, secret, previous_secret FROM webhook_endpoints").execute()
        .compose(rows -> {
          List<Tuple> updates = new ArrayList<>();
          for (Row row : rows) {
            String id = row.getString("id");
            String secret = row.getString("secret");
            String previous = row.getString("previous_secret");
            if (secrets.current(secret) && (previous == null || secrets.current(previous))) {
              continue;
            }
            try {
              String sealed = secrets.current(secret) ? secret : secrets.seal(id, secrets.open(id, secret));
              String sealedPrevious = previous == null || secrets.current(previous) ? previous
                  : secrets.seal(id, secrets.open(id, previous));
              updates.add(Tuple.of(id, secret, previous, sealed, sealedPrevious));
            } catch (SecretBox.Unreadable e) {
              // Left as it is: its deliveries fail with this reason until the key is configured again.
              org.slf4j.LoggerFactory.getLogger(Endpoints.class).error("Webhook endpoint {}: {}", id, e.getMessage());
            }
          }
          if (updates.isEmpty()) {
            return Future.succeededFuture(0);
          }
          return pool.preparedQuery("UPDATE webhook_endpoints SET secret = $4, previous_secret = $5 WHERE id = $1::uuid "
                  + "AND secret = $2 AND previous_secret IS NOT DISTINCT FROM $3")
              .executeBatch(updates)
              .map(v -> updates.size());
        });
  }

  /** {@code whsec_} and the base64 of 24 random bytes. */
  static String newSecret() {
    return SECRET_PREFIX + Base64.getEncoder().encodeToString(Secrets.randomBytes(24));
  }

  public Future<JsonObject> create(JsonObject request) {
    String space = request.getString("space");
    String actor = request.getString("actor");
    List<String> events;
    try {
      events = events(request.getValue("events"));
      bool(request, "enabled");
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    boolean enabled = request.getBoolean("enabled", true);
    String secret = newSecret();
    String id = UUID.randomUUID().toString();
    return access.require(actor, space, Access.Action.MANAGE_WEBHOOKS)
        .compose(role -> checkUrl(request.getString("url")))
        .compose(url -> pool.withTransaction(conn -> conn
            // The space row's lock orders this with the writers of its log: from_seq is exactly the
            // last change before the endpoint, and the count cannot be raced past the limit.
            .preparedQuery("SELECT next_seq, (SELECT count(*) FROM webhook_endpoints WHERE space_id = $1::uuid) AS endpoints "
                + "FROM spaces WHERE id = $1::uuid FOR UPDATE")
            .execute(Tuple.of(space))
            .compose(rows -> {
              Row row = rows.iterator().next();
              if (row.getLong("endpoints") >= config.maxEndpoints()) {
                return Future.failedFuture(new ApiException(ErrorCode.WEBHOOK_LIMIT_REACHED,
                    "This space has " + config.maxEndpoints() + " webhook endpoints, the most it may have"));
              }
              return conn.preparedQuery("INSERT INTO webhook_endpoints (id, space_id, url, events, enabled, secret, "
                      + "from_seq, created_by) VALUES ($1::uuid, $2::uuid, $3, $4::text[], $5, $6, $7, $8::uuid) RETURNING " + COLUMNS)
                  .execute(Tuple.tuple().addString(id).addString(space).addString(url)
                      .addArrayOfString(events.toArray(String[]::new)).addBoolean(enabled).addString(secrets.seal(id, secret))
                      .addLong(row.getLong("next_seq")).addString(actor))
                  .compose(inserted -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.WEBHOOK_CREATED, actor, space, id,
                      null, new JsonObject().put("url", url).put("events", new JsonArray(events)).put("enabled", enabled)))
                      .map(inserted));
            })))
        .map(rows -> toJson(rows.iterator().next()).put("secret", secret));
  }

  public Future<JsonObject> list(JsonObject request) {
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.MANAGE_WEBHOOKS)
        .compose(role -> pool.preparedQuery("SELECT " + COLUMNS + " FROM webhook_endpoints WHERE space_id = $1::uuid "
            + "ORDER BY created_at, id").execute(Tuple.of(space)))
        .map(rows -> {
          JsonArray out = new JsonArray();
          rows.forEach(row -> out.add(toJson(row)));
          return new JsonObject().put("webhooks", out);
        });
  }

  public Future<JsonObject> get(JsonObject request) {
    return endpoint(request).map(Endpoints::toJson);
  }

  public Future<JsonObject> update(JsonObject request) {
    List<String> events;
    try {
      events = request.containsKey("events") ? events(request.getValue("events")) : null;
      bool(request, "enabled");
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    Boolean enabled = request.getBoolean("enabled");
    String url = request.getString("url");
    return endpoint(request)
        .compose(row -> url == null ? Future.succeededFuture((String) null) : checkUrl(url))
        .compose(checked -> pool.withTransaction(conn -> conn.preparedQuery("UPDATE webhook_endpoints SET url = coalesce($3, url), "
                + "events = coalesce($4::text[], events), enabled = coalesce($5, enabled), "
                // Enabling again starts afresh: no disable reason, a closed circuit.
                + "disabled_reason = CASE WHEN $5 THEN NULL WHEN $5 = false THEN 'disabled by a user' ELSE disabled_reason END, "
                + "failures_in_row = CASE WHEN $5 THEN 0 ELSE failures_in_row END, "
                + "circuit_until = CASE WHEN $5 THEN '-infinity' ELSE circuit_until END, "
                + "failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END, updated_at = now() "
                + "WHERE id = $1::uuid AND space_id = $2::uuid RETURNING " + COLUMNS)
            .execute(Tuple.tuple().addString(request.getString("id")).addString(request.getString("space"))
                .addString(checked).addArrayOfString(events == null ? null : events.toArray(String[]::new))
                .addBoolean(enabled))
            .compose(rows -> rows.size() == 0 ? Future.succeededFuture(rows)
                : AuditLog.append(conn, new AuditLog.Entry(Boolean.FALSE.equals(enabled) ? AuditLog.WEBHOOK_DISABLED
                    : AuditLog.WEBHOOK_UPDATED, request.getString("actor"), request.getString("space"), request.getString("id"),
                    null, changed(checked, events, enabled))).map(rows))))
        .compose(rows -> rows.size() == 0 ? noSuchEndpoint() : Future.succeededFuture(toJson(rows.iterator().next())));
  }

  public Future<JsonObject> delete(JsonObject request) {
    return endpoint(request)
        .compose(row -> pool.withTransaction(conn -> conn.preparedQuery("DELETE FROM webhook_endpoints WHERE id = $1::uuid")
            .execute(Tuple.of(request.getString("id")))
            .compose(deleted -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.WEBHOOK_DELETED, request.getString("actor"),
                request.getString("space"), request.getString("id"), null, new JsonObject().put("url", row.getString("url")))))))
        .map(new JsonObject());
  }

  /** A new secret; the one it replaces keeps signing too for {@code webhooks.secret_overlap}. */
  public Future<JsonObject> rotateSecret(JsonObject request) {
    String secret = newSecret();
    return endpoint(request)
        .compose(row -> pool.withTransaction(conn -> conn.preparedQuery("UPDATE webhook_endpoints SET previous_secret = secret, "
                + "previous_secret_until = now() + $2 * interval '1 second', secret = $3, updated_at = now() "
                + "WHERE id = $1::uuid RETURNING previous_secret_until")
            .execute(Tuple.of(request.getString("id"), config.secretOverlap().toSeconds(),
                secrets.seal(request.getString("id"), secret)))
            .compose(rows -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.WEBHOOK_SECRET_ROTATED,
                request.getString("actor"), request.getString("space"), request.getString("id"), null,
                new JsonObject().put("previous_secret_expires_at",
                    instant(rows.iterator().next().getOffsetDateTime("previous_secret_until"))))).map(rows))))
        .map(rows -> new JsonObject().put("id", request.getString("id")).put("secret", secret)
            .put("previous_secret_expires_at", instant(rows.iterator().next().getOffsetDateTime("previous_secret_until"))));
  }

  /** The delivery log of an endpoint, newest change first, by pages: {@code cursor} is the seq to go on below. */
  public Future<JsonObject> deliveries(JsonObject request) {
    String status = request.getString("status");
    if (status != null && !List.of("pending", "succeeded", "dead").contains(status)) {
      return Future.failedFuture(ApiException.of(ErrorCode.VALIDATION_FAILED, "status must be pending, succeeded or dead"));
    }
    long limit = request.getLong("limit") == null ? 50 : request.getLong("limit");
    Long cursor = request.getLong("cursor");
    if (limit < 1 || limit > MAX_PAGE || (cursor != null && cursor < 0)) {
      return Future.failedFuture(ApiException.of(ErrorCode.VALIDATION_FAILED,
          "limit must be 1 to " + MAX_PAGE + " and cursor must not be negative"));
    }
    return endpoint(request)
        .compose(row -> pool.preparedQuery("SELECT " + DELIVERY_COLUMNS + " FROM webhook_deliveries "
                + "WHERE endpoint_id = $1::uuid AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR seq < $3) "
                + "ORDER BY seq DESC LIMIT $4")
            .execute(Tuple.of(request.getString("id"), status, cursor, limit + 1)))
        .map(rows -> {
          JsonArray out = new JsonArray();
          Long last = null;
          for (Row row : rows) {
            if (out.size() == limit) {
              break;
            }
            out.add(delivery(row));
            last = row.getLong("seq");
          }
          return new JsonObject().put("deliveries", out).put("cursor", last).put("has_more", rows.size() > limit);
        });
  }

  /** Sends a delivery again now, with the same webhook-id and a fresh ladder of attempts. */
  public Future<JsonObject> replay(JsonObject request) {
    String delivery = request.getString("delivery");
    if (!Access.isUuid(delivery)) {
      return Future.failedFuture(ApiException.of(ErrorCode.NOT_FOUND, "No such delivery"));
    }
    return endpoint(request)
        .compose(row -> pool.preparedQuery("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                + "next_attempt_at = now() WHERE id = $1::uuid AND endpoint_id = $2::uuid RETURNING " + DELIVERY_COLUMNS)
            .execute(Tuple.of(delivery, request.getString("id"))))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(ApiException.of(ErrorCode.NOT_FOUND, "No such delivery"))
            : Future.succeededFuture(delivery(rows.iterator().next())));
  }

  /** The endpoint named by {@code id} in {@code space}, once the caller may manage the space's webhooks. */
  private Future<Row> endpoint(JsonObject request) {
    String space = request.getString("space");
    String id = request.getString("id");
    return access.require(request.getString("actor"), space, Access.Action.MANAGE_WEBHOOKS)
        .compose(role -> Access.isUuid(id)
            ? pool.preparedQuery("SELECT " + COLUMNS + " FROM webhook_endpoints WHERE id = $1::uuid AND space_id = $2::uuid")
                .execute(Tuple.of(id, space))
            : noSuchEndpoint())
        .compose(rows -> rows.size() == 0 ? noSuchEndpoint() : Future.succeededFuture(rows.iterator().next()));
  }

  /** What an update asked to change, for its audit entry. */
  private static JsonObject changed(String url, List<String> events, Boolean enabled) {
    JsonObject out = new JsonObject();
    if (url != null) {
      out.put("url", url);
    }
    if (events != null) {
      out.put("events", new JsonArray(events));
    }
    if (enabled != null) {
      out.put("enabled", enabled);
    }
    return out;
  }

  private static <T> Future<T> noSuchEndpoint() {
    return Future.failedFuture(ApiException.of(ErrorCode.NOT_FOUND, "No such webhook endpoint"));
  }

  /** The URL once its form and the addresses it reaches pass the SSRF guard. */
  private Future<String> checkUrl(String url) {
    try {
      Destinations.parse(url);
    } catch (Destinations.Refused e) {
      return Future.failedFuture(ApiException.of(ErrorCode.VALIDATION_FAILED, e.getMessage()));
    }
    return destinations.check(vertx, url)
        .transform(checked -> checked.succeeded() ? Future.succeededFuture(url)
            : Future.failedFuture(ApiException.of(ErrorCode.URL_NOT_ALLOWED, checked.cause().getMessage())));
  }

  private static List<String> events(Object value) {
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw ApiException.of(ErrorCode.VALIDATION_FAILED, "events must be a list of change kinds");
    }
    Set<String> out = new LinkedHashSet<>();
    for (Object each : array) {
      if (!(each instanceof String kind) || !ChangeLog.KINDS.contains(kind)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "events must be change kinds from "
            + String.join(", ", ChangeLog.KINDS.stream().sorted().toList()) + "; got " + each);
      }
      out.add(kind);
    }
    return new ArrayList<>(out);
  }

  private static void bool(JsonObject request, String field) {
    Object value = request.getValue(field);
    if (value != null && !(value instanceof Boolean)) {
      throw ApiException.of(ErrorCode.VALIDATION_FAILED, field + " must be true or false");
    }
  }

  static JsonObject toJson(Row row) {
    JsonArray events = new JsonArray();
    String[] kinds = row.getArrayOfStrings("events");
    if (kinds != null) {
      for (String kind : kinds) {
        events.add(kind);
      }
    }
    OffsetDateTime previousUntil = row.getOffsetDateTime("previous_secret_until");
    return new JsonObject()
        .put("id", row.getString("id"))
        .put("space", row.getString("space_id"))
        .put("url", row.getString("url"))
        .put("events", events)
        .put("enabled", row.getBoolean("enabled"))
        .put("disabled_reason", row.getString("disabled_reason"))
        .put("created_at", instant(row.getOffsetDateTime("created_at")))
        .put("updated_at", instant(row.getOffsetDateTime("updated_at")))
        .put("previous_secret_expires_at", previousUntil == null || previousUntil.toInstant().isBefore(java.time.Instant.now())
            ? null : instant(previousUntil));
  }

  static JsonObject delivery(Row row) {
    String status = row.getString("status");
    return new JsonObject()
        .put("id", row.getString("id"))
        .put("webhook_id", row.getString("message_id"))
        .put("seq", row.getLong("seq"))
        .put("kind", row.getString("kind"))
        .put("type", Signatures.type(row.getString("kind")))
        .put("status", status)
        .put("dead", status.equals("dead"))
        .put("attempts", row.getInteger("attempts"))
        .put("last_status", row.getInteger("last_status"))
        .put("last_error", row.getString("last_error"))
        .put("last_latency_ms", row.getInteger("last_latency_ms"))
        .put("last_attempt_at", instant(row.getOffsetDateTime("last_attempt_at")))
        .put("next_attempt_at", status.equals("pending") ? instant(row.getOffsetDateTime("next_attempt_at")) : null)
        .put("created_at", instant(row.getOffsetDateTime("created_at")));
  }

  private static String instant(OffsetDateTime at) {
    return at == null ? null : at.toInstant().toString();
  }
}
