package io.cloudsync.audit;

import io.cloudsync.auth.Access;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.function.Function;

/**
 * The two audit views. A space's audit is its change log, filtered (members only). The admin audit
 * is {@code audit_events}: sign-ins, failed sign-ins, MFA changes, revoked tokens, share changes,
 * webhook endpoint changes and admin actions (installation admins only). Both are newest first and
 * paged by a cursor: the {@code seq} or {@code id} to continue below.
 */
public final class AuditQueries {
  public static final int MAX_PAGE = 100;
  static final int DEFAULT_PAGE = 50;
  private static final int MAX_KIND = 64;

  private final Pool pool;
  private final Access access;
  private final Function<String, Future<Void>> requireAdmin;

  /** @param requireAdmin succeeds when the user id is an active admin's, else fails as the API answers */
  public AuditQueries(Pool pool, Access access, Function<String, Future<Void>> requireAdmin) {
    this.pool = pool;
    this.access = access;
    this.requireAdmin = requireAdmin;
  }

  /** {@code {actor, space, by?, kind?, from?, to?, limit?, cursor?}} → {@code {entries, cursor, has_more}}. */
  public Future<JsonObject> space(JsonObject request) {
    Filter filter;
    try {
      filter = Filter.of(request);
      if (filter.kind() != null && !ChangeLog.KINDS.contains(filter.kind())) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "kind must be a change kind: "
            + String.join(", ", ChangeLog.KINDS.stream().sorted().toList()));
      }
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> pool.preparedQuery("SELECT " + ChangeLog.COLUMNS + " FROM changes WHERE space_id = $1::uuid "
                + "AND ($2::uuid IS NULL OR actor = $2::uuid) AND ($3::text IS NULL OR kind = $3) "
                + "AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5) "
                + "AND ($6::bigint IS NULL OR seq < $6) ORDER BY seq DESC LIMIT $7")
            .execute(Tuple.tuple().addString(space).addString(filter.by()).addString(filter.kind())
                .addOffsetDateTime(filter.from()).addOffsetDateTime(filter.to()).addLong(filter.cursor())
                .addInteger(filter.limit() + 1)))
        .map(rows -> page(rows, filter.limit(), ChangeLog::toJson, row -> row.getLong("seq")));
  }

  /** {@code {actor, by?, kind?, space?, from?, to?, limit?, cursor?}} → {@code {entries, cursor, has_more}}. */
  public Future<JsonObject> admin(JsonObject request) {
    Filter filter;
    String space = request.getString("filter_space");
    try {
      filter = Filter.of(request);
      if (space != null && !Access.isUuid(space)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "space must be a space id");
      }
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    return requireAdmin.apply(request.getString("actor"))
        .compose(v -> pool.preparedQuery("SELECT id, at, kind, actor::text AS actor, space_id::text AS space_id, target, "
                + "ip, details FROM audit_events WHERE ($1::uuid IS NULL OR actor = $1::uuid) "
                + "AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR space_id = $3::uuid) "
                + "AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5) "
                + "AND ($6::bigint IS NULL OR id < $6) ORDER BY id DESC LIMIT $7")
            .execute(Tuple.tuple().addString(filter.by()).addString(filter.kind()).addString(space)
                .addOffsetDateTime(filter.from()).addOffsetDateTime(filter.to()).addLong(filter.cursor())
                .addInteger(filter.limit() + 1)))
        .map(rows -> page(rows, filter.limit(), AuditQueries::entry, row -> row.getLong("id")));
  }

  private static JsonObject page(RowSet<Row> rows, int limit, Function<Row, JsonObject> render,
                                 Function<Row, Long> position) {
    JsonArray entries = new JsonArray();
    Long last = null;
    for (Row row : rows) {
      if (entries.size() == limit) {
        break;
      }
      entries.add(render.apply(row));
      last = position.apply(row);
    }
    return new JsonObject().put("entries", entries).put("cursor", last).put("has_more", rows.size() > limit);
  }

  static JsonObject entry(Row row) {
    Object details = row.getValue("details");
    OffsetDateTime at = row.getOffsetDateTime("at");
    return new JsonObject()
        .put("id", row.getLong("id"))
        .put("at", at.toInstant().toString())
        .put("kind", row.getString("kind"))
        .put("actor", row.getString("actor"))
        .put("space", row.getString("space_id"))
        .put("target", row.getString("target"))
        .put("ip", row.getString("ip"))
        .put("details", details instanceof JsonObject json ? json : new JsonObject(String.valueOf(details)));
  }

  /** The filters and page of a request, checked. */
  private record Filter(String by, String kind, OffsetDateTime from, OffsetDateTime to, Long cursor, int limit) {
    static Filter of(JsonObject request) {
      String by = request.getString("by");
      if (by != null && !Access.isUuid(by)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "actor must be a user id");
      }
      String kind = request.getString("kind");
      if (kind != null && (kind.isEmpty() || kind.length() > MAX_KIND)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "kind must be 1 to " + MAX_KIND + " characters");
      }
      Long limit = request.getLong("limit");
      Long cursor = request.getLong("cursor");
      if (limit != null && (limit < 1 || limit > MAX_PAGE)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "limit must be 1 to " + MAX_PAGE);
      }
      if (cursor != null && cursor < 0) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "cursor must not be negative");
      }
      OffsetDateTime from = time(request.getString("from"), "from");
      OffsetDateTime to = time(request.getString("to"), "to");
      if (from != null && to != null && !from.isBefore(to)) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, "from must be before to");
      }
      return new Filter(by, kind, from, to, cursor, limit == null ? DEFAULT_PAGE : limit.intValue());
    }

    private static OffsetDateTime time(String text, String name) {
      if (text == null) {
        return null;
      }
      try {
        return Instant.parse(text).atOffset(ZoneOffset.UTC);
      } catch (DateTimeParseException e) {
        throw ApiException.of(ErrorCode.VALIDATION_FAILED, name + " must be an ISO-8601 instant such as 2026-11-22T10:00:00Z");
      }
    }
  }
}
