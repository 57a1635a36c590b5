package io.cloudsync.files;

import io.cloudsync.auth.Access;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.List;

/** The node-tree queries the file operations share, and the node JSON. */
final class Tree {
  static final String COLUMNS = "n.id::text AS id, n.space_id::text AS space_id, n.parent_id::text AS parent_id, "
      + "n.name, n.type, n.version, n.size, n.sha256, n.created_by::text AS created_by, "
      + "n.modified_by::text AS modified_by, n.created_at, n.modified_at, n.deleted_at, "
      + "n.trashed_with::text AS trashed_with, n.original_parent_id::text AS original_parent_id, n.original_name";
  /** Matches the unique index on live names: top-level nodes have no parent. */
  static final String SAME_FOLDER = "coalesce(n.parent_id, '00000000-0000-0000-0000-000000000000'::uuid) "
      + "= coalesce($2::uuid, '00000000-0000-0000-0000-000000000000'::uuid)";

  /**
   * The space row of a write, locked for the transaction; {@code now} is the transaction's time, the
   * {@code now()} of every row it writes.
   */
  record Space(String id, String ownerId, String conflictPolicy, OffsetDateTime now) {
  }

  private Tree() {
  }

  static JsonObject toJson(Row row) {
    return toJson(row.getString("id"), row.getString("space_id"), row.getString("parent_id"), row.getString("name"),
        row.getString("type"), row.getLong("version"), row.getLong("size"), row.getString("sha256"),
        row.getString("created_by"), row.getString("modified_by"), row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("modified_at"), row.getOffsetDateTime("deleted_at"));
  }

  /** A node as the API shows it, from its columns. */
  static JsonObject toJson(String id, String spaceId, String parentId, String name, String type, Long version,
                           Long size, String sha256, String createdBy, String modifiedBy, OffsetDateTime createdAt,
                           OffsetDateTime modifiedAt, OffsetDateTime deletedAt) {
    boolean file = "file".equals(type);
    boolean sized = file || "document".equals(type);
    return new JsonObject()
        .put("id", id)
        .put("space_id", spaceId)
        .put("parent_id", parentId)
        .put("name", name)
        .put("type", type)
        .put("version", version)
        .put("size", sized ? size : null)
        .put("sha256", file ? sha256 : null)
        .put("created_by", createdBy)
        .put("modified_by", modifiedBy)
        .put("created_at", instant(createdAt))
        .put("modified_at", instant(modifiedAt))
        .put("deleted_at", instant(deletedAt));
  }

  static String instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant().toString();
  }

  /**
   * {@link #instant} in SQL, for a {@code timestamptz} expression: the same text {@link
   * java.time.Instant#toString} gives, its fraction of a second in groups of three digits and none
   * when it is zero. PostgreSQL keeps microseconds, so nine digits never occur.
   */
  static String instantSql(String time) {
    String utc = "(" + time + " AT TIME ZONE 'UTC')";
    String micros = "(extract(microseconds FROM " + utc + ")::bigint % 1000000)";
    return "(to_char(" + utc + ", 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN " + micros + " = 0 THEN '' WHEN "
        + micros + " % 1000 = 0 THEN to_char(" + utc + ", '.MS') ELSE to_char(" + utc + ", '.US') END || 'Z')";
  }

  /** {@link #toJson(Row)} in SQL, as {@code jsonb}, for the {@code nodes} row {@code n}. */
  static final String JSON_SQL = "jsonb_build_object('id', n.id::text, 'space_id', n.space_id::text, "
      + "'parent_id', n.parent_id::text, 'name', n.name, 'type', n.type, 'version', n.version, "
      + "'size', CASE WHEN n.type IN ('file', 'document') THEN n.size END, "
      + "'sha256', CASE WHEN n.type = 'file' THEN n.sha256 END, "
      + "'created_by', n.created_by::text, 'modified_by', n.modified_by::text, "
      + "'created_at', " + instantSql("n.created_at") + ", 'modified_at', " + instantSql("n.modified_at") + ", "
      + "'deleted_at', " + instantSql("n.deleted_at") + ")";

  /**
   * Locks the space for this write, once the caller's role there allows the action: 404 for a
   * space that does not exist or is not theirs, 403 for a role too low, as {@link Access#require}
   * answers. All writes of a space take this lock first, then the change numbers, so they run one
   * after another and never deadlock on each other.
   *
   * <p>The role is read by a statement of its own, sent with the lock without waiting for it: it
   * runs once the lock is granted, in a snapshot taken then, so it sees any membership change the
   * previous holder of the lock committed. (Read in the locking statement itself it would come from
   * that statement's snapshot, taken before the wait, and a member removed meanwhile could still
   * write.) The lock is only taken for a member, so someone who is not one never holds up the
   * writers of a space.
   *
   * <p>Both are sent at once, behind the BEGIN that {@link ChangeLog} sends ahead of them: with the
   * pool's statements kept prepared, the three travel in one round trip.
   */
  static Future<Space> lockSpace(SqlClient conn, String spaceId, String userId, Access.Action action) {
    Tuple ids = Tuple.of(spaceId, userId);
    Future<RowSet<Row>> lock = conn.preparedQuery("SELECT s.id::text, s.owner_id::text, s.conflict_policy, now() "
            + "FROM spaces s WHERE s.id = $1::uuid AND s.deleted_at IS NULL AND EXISTS (SELECT 1 FROM space_members m "
            + "WHERE m.space_id = s.id AND m.user_id = $2::uuid) FOR UPDATE")
        .execute(ids);
    Future<RowSet<Row>> member = conn.preparedQuery("SELECT role FROM space_members WHERE space_id = $1::uuid "
            + "AND user_id = $2::uuid")
        .execute(ids);
    return Future.join(lock, member).transform(done -> {
      if (lock.failed() || member.failed()) {
        return Future.failedFuture(lock.failed() ? lock.cause() : member.cause());
      }
      if (lock.result().size() == 0) {
        return Access.noSuchSpace();
      }
      Row row = lock.result().iterator().next();
      Row role = member.result().size() == 0 ? null : member.result().iterator().next();
      return Access.decide(role == null ? null : role.getString(0), action)
          .map(allowed -> new Space(row.getString(0), row.getString(1), row.getString(2),
              row.getOffsetDateTime(3)));
    });
  }

  /** The node in this space, live or in the trash. */
  static Future<Row> node(SqlClient conn, String spaceId, String nodeId) {
    if (!Access.isUuid(nodeId)) {
      return notFound("No such node");
    }
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM nodes n WHERE n.id = $1::uuid AND n.space_id = $2::uuid")
        .execute(Tuple.of(nodeId, spaceId))
        .compose(rows -> rows.size() == 0 ? notFound("No such node") : Future.succeededFuture(rows.iterator().next()));
  }

  static Future<Row> liveNode(SqlClient conn, String spaceId, String nodeId) {
    return node(conn, spaceId, nodeId).compose(row -> row.getValue("deleted_at") == null
        ? Future.succeededFuture(row) : notFound("No such node (it is in the trash)"));
  }

  static Future<Row> liveFile(SqlClient conn, String spaceId, String nodeId) {
    return liveNode(conn, spaceId, nodeId).compose(row -> "file".equals(row.getString("type"))
        ? Future.succeededFuture(row) : Future.failedFuture(new ApiException(ErrorCode.CONFLICT,
            "This node is a " + row.getString("type") + ", not a file")));
  }

  /** Fails with 404 unless the parent is null (top level) or a live folder of the space. */
  static Future<Void> requireFolder(SqlClient conn, String spaceId, String parentId) {
    if (parentId == null) {
      return Future.succeededFuture();
    }
    return isLiveFolder(conn, spaceId, parentId).compose(folder -> folder
        ? Future.succeededFuture() : notFound("No such folder"));
  }

  static Future<Boolean> isLiveFolder(SqlClient conn, String spaceId, String nodeId) {
    if (!Access.isUuid(nodeId)) {
      return Future.succeededFuture(false);
    }
    return conn.preparedQuery("SELECT 1 FROM nodes WHERE id = $1::uuid AND space_id = $2::uuid AND type = 'folder' "
            + "AND deleted_at IS NULL")
        .execute(Tuple.of(nodeId, spaceId))
        .map(rows -> rows.size() > 0);
  }

  /** The live node of this name (any case) in the folder, or null. */
  static Future<Row> liveChild(SqlClient conn, String spaceId, String parentId, String name) {
    return conn.preparedQuery("SELECT " + COLUMNS + " FROM nodes n WHERE n.space_id = $1::uuid AND " + SAME_FOLDER
            + " AND lower(n.name) = lower($3) AND n.deleted_at IS NULL")
        .execute(Tuple.of(spaceId, parentId, name))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next());
  }

  /** Fails with 507 {@code folder_full} when the folder holds its configured number of live entries. */
  static Future<Void> checkRoom(SqlClient conn, String spaceId, String parentId, int limit) {
    return conn.preparedQuery("SELECT count(*) FROM nodes n WHERE n.space_id = $1::uuid AND " + SAME_FOLDER
            + " AND n.deleted_at IS NULL")
        .execute(Tuple.of(spaceId, parentId))
        .compose(rows -> room(rows.iterator().next().getLong(0), limit));
  }

  private static Future<Void> room(long entries, int limit) {
    return entries >= limit
        ? Future.failedFuture(new ApiException(ErrorCode.FOLDER_FULL,
            "This folder already holds the most entries allowed (" + limit + ")"))
        : Future.succeededFuture();
  }

  /**
   * Where a new entry of some name would go, read by one statement instead of the three of
   * {@link #requireFolder}, {@link #liveChild} and {@link #checkRoom}: whether the folder is a live
   * folder of the space (the top level always is), the live node of that name in it, if any, and
   * how many live entries it holds. The entries are counted only when the name is free; when it is
   * taken, {@link #requireRoom} counts them itself (only a move checks room before the name, and
   * that move fails either way).
   */
  record Placement(String spaceId, String parentId, boolean folderLive, Row existing, Long entries) {
    /** 404 unless the folder is live, as {@link #requireFolder} answers; ask before using the rest. */
    Future<Void> requireFolder() {
      return folderLive ? Future.succeededFuture() : notFound("No such folder");
    }

    /** 507 {@code folder_full} as {@link #checkRoom} answers. */
    Future<Void> requireRoom(SqlClient conn, int limit) {
      return entries == null ? checkRoom(conn, spaceId, parentId, limit) : room(entries, limit);
    }
  }

  /**
   * The query {@link #placement} runs, for space {@code $1}, folder {@code $2} (a uuid or null) and
   * name {@code $3}; one row. The count is a subquery of its own (its n is the folder's entries, not
   * the node named), run only when the CASE needs it.
   */
  static final String PLACEMENT_SQL = "SELECT " + COLUMNS + ", ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM nodes f "
      + "WHERE f.id = $2::uuid AND f.space_id = $1::uuid AND f.type = 'folder' AND f.deleted_at IS NULL)) "
      + "AS folder_live, CASE WHEN n.id IS NULL THEN (SELECT count(*) FROM nodes n "
      + "WHERE n.space_id = $1::uuid AND " + SAME_FOLDER + " AND n.deleted_at IS NULL) END AS entries "
      + "FROM (SELECT 1) AS here LEFT JOIN nodes n ON n.space_id = $1::uuid AND " + SAME_FOLDER
      + " AND lower(n.name) = lower($3) AND n.deleted_at IS NULL";

  /** The {@link Placement} of a name in a folder of the space (null: the top level). */
  static Future<Placement> placement(SqlClient conn, String spaceId, String parentId, String name) {
    if (parentId != null && !Access.isUuid(parentId)) {
      // No id names no folder; the caller's requireFolder() answers 404 before the rest is read.
      return Future.succeededFuture(new Placement(spaceId, parentId, false, null, null));
    }
    return conn.preparedQuery(PLACEMENT_SQL)
        .execute(Tuple.of(spaceId, parentId, name))
        .map(rows -> placement(rows.iterator().next(), spaceId, parentId));
  }

  /** The {@link Placement} in a row of {@link #PLACEMENT_SQL}'s columns. */
  static Placement placement(Row row, String spaceId, String parentId) {
    return new Placement(spaceId, parentId, row.getBoolean("folder_live"),
        row.getString("id") == null ? null : row, row.getLong("entries"));
  }

  /** True when {@code candidate} is {@code folder} itself or lies anywhere below it. */
  static Future<Boolean> isWithin(SqlClient conn, String candidate, String folder) {
    if (candidate == null) {
      return Future.succeededFuture(false);
    }
    return conn.preparedQuery("WITH RECURSIVE up AS (SELECT id, parent_id FROM nodes WHERE id = $1::uuid "
            + "UNION ALL SELECT n.id, n.parent_id FROM nodes n JOIN up ON n.id = up.parent_id) "
            + "SELECT 1 FROM up WHERE id = $2::uuid")
        .execute(Tuple.of(candidate, folder))
        .map(rows -> rows.size() > 0);
  }

  /** 412 unless the node is at the version the client saw; no expectation means unconditional. */
  static Future<Void> ifMatch(Row node, Long expected) {
    long current = node.getLong("version");
    if (expected != null && expected != current) {
      return Future.failedFuture(ApiException.withDetails(ErrorCode.PRECONDITION_FAILED,
          "The node changed: its version is " + current + ", not " + expected,
          new JsonObject().put("current", toJson(node))));
    }
    return Future.succeededFuture();
  }

  /**
   * Fails with 507 {@code quota_exceeded} when adding the bytes would take the space owner over
   * the per-user quota. Usage is every kept version of every file and document, trash included, in
   * the live spaces the owner owns. The advisory lock on the owner keeps two commits into different spaces of one
   * owner from both passing the check.
   */
  static Future<Void> checkQuota(SqlClient conn, String ownerId, long addBytes, long quota) {
    if (quota <= 0) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("SELECT pg_advisory_xact_lock(hashtext('cloudsync.quota:' || $1))").execute(Tuple.of(ownerId))
        .compose(locked -> conn.preparedQuery("SELECT (SELECT coalesce(sum(fv.size), 0) FROM file_versions fv "
                + "JOIN nodes n ON n.id = fv.node_id JOIN spaces s ON s.id = n.space_id "
                + "WHERE s.owner_id = $1::uuid AND s.deleted_at IS NULL)::bigint "
                + "+ (SELECT coalesce(sum(dv.size), 0) FROM document_versions dv "
                + "JOIN nodes n ON n.id = dv.node_id JOIN spaces s ON s.id = n.space_id "
                + "WHERE s.owner_id = $1::uuid AND s.deleted_at IS NULL)::bigint")
            .execute(Tuple.of(ownerId)))
        .compose(rows -> {
          long used = rows.iterator().next().getLong(0);
          return used + addBytes > quota
              ? Future.failedFuture(new ApiException(ErrorCode.QUOTA_EXCEEDED, "The space owner's storage quota of "
                  + quota + " bytes would be exceeded (" + used + " bytes in use, " + addBytes + " more needed)"))
              : Future.succeededFuture();
        });
  }

  /**
   * {@code {versions:[{version, size, sha256?, author, created_at, current}]}} from rows newest
   * first; {@code sha256} where the rows have it (files, not documents).
   */
  static JsonObject versions(RowSet<Row> rows) {
    boolean hashed = rows.columnsNames().contains("sha256");
    JsonArray versions = new JsonArray();
    for (Row row : rows) {
      JsonObject version = new JsonObject()
          .put("version", row.getLong("version"))
          .put("size", row.getLong("size"));
      if (hashed) {
        version.put("sha256", row.getString("sha256"));
      }
      versions.add(version
          .put("author", row.getString("author"))
          .put("created_at", instant(row.getOffsetDateTime("created_at")))
          .put("current", versions.isEmpty()));
    }
    return new JsonObject().put("versions", versions);
  }

  /** Records a file version and the chunks it references. */
  static Future<Void> insertVersion(SqlClient conn, String nodeId, long version, long size, String sha256,
                                    List<String> chunks, List<Integer> chunkSizes, String author) {
    String[] hashes = chunks.toArray(new String[0]);
    Integer[] sizes = chunkSizes.toArray(new Integer[0]);
    return conn.preparedQuery("INSERT INTO file_versions (node_id, version, size, sha256, chunks, chunk_sizes, author) "
            + "VALUES ($1::uuid, $2, $3, $4, $5::text[], $6::int[], $7::uuid)")
        .execute(Tuple.of(nodeId, version, size, sha256, hashes, sizes).addValue(author))
        .compose(v -> conn.preparedQuery("INSERT INTO chunks (hash, size) SELECT * FROM unnest($1::text[], $2::int[]) "
                + "ON CONFLICT DO NOTHING")
            .execute(Tuple.tuple().addValue(hashes).addValue(sizes)))
        .mapEmpty();
  }

  /** A unique-index violation on live names means a concurrent writer took the name first. */
  static <T> Future<T> nameTaken(Throwable failure) {
    if (failure instanceof PgException pg && "23505".equals(pg.getSqlState())) {
      return Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "A node of this name exists in the folder"));
    }
    return Future.failedFuture(failure);
  }

  static <T> Future<T> notFound(String message) {
    return Future.failedFuture(new ApiException(ErrorCode.NOT_FOUND, message));
  }

  static ApiException bad(String message) {
    return new ApiException(ErrorCode.VALIDATION_FAILED, message);
  }
}
