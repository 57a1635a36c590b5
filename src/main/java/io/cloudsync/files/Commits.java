package io.cloudsync.files;

import io.cloudsync.auth.Access;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * File versions arriving from uploads and delta sync, the manifests downloads read, and which
 * chunks a user may reference.
 *
 * <p>A commit names its file by id, by folder and name, or by path (missing folders are made).
 * The base version is the version the client saw; 0 means "I expect no file here". A stale base
 * under the {@code manual} policy fails with 409 {@code version_conflict} carrying the current
 * version; under {@code last_writer_wins} the write applies, the overwritten content stays in the
 * history and a {@code conflict} change follows the {@code updated} one. No base = unconditional.
 *
 * <p>A delta-sync client could name any chunk hash it has heard of; with {@code check_chunk_access}
 * each chunk must have been uploaded by the actor (a grant) or be part of a version the actor can
 * read, so knowing a hash never gives access to its bytes.
 */
public final class Commits {
  private static final int MAX_HASHES = 10_000;

  /** Where a commit goes: the folder, the name, the live file there if any, and (by name) the folder's placement. */
  private record Target(String parentId, String name, Row existing, Tree.Placement placement) {
  }

  private final Pool pool;
  private final Access access;
  private final ChangeLog log;
  private final Nodes nodes;
  private final CloudSyncConfig.Files limits;
  private final java.util.function.Function<String, Future<Boolean>> chunkExists;

  /** @param chunkExists whether the store holds a chunk's bytes; null skips the check (rows only) */
  public Commits(Pool pool, Access access, ChangeLog log, Nodes nodes, CloudSyncConfig.Files limits,
                 java.util.function.Function<String, Future<Boolean>> chunkExists) {
    this.pool = pool;
    this.access = access;
    this.log = log;
    this.nodes = nodes;
    this.limits = limits;
    this.chunkExists = chunkExists;
  }

  /**
   * Chunks an upload reused rather than wrote may have been collected while it ran. Under the
   * collector's lock, taken shared, any reused chunk that has no row any more must still have its
   * bytes; otherwise the commit fails and the client uploads again, instead of a version pointing
   * at nothing.
   */
  private Future<Void> checkReused(SqlClient conn, List<String> reused) {
    if (reused.isEmpty() || chunkExists == null) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("SELECT pg_advisory_xact_lock_shared($1)").execute(Tuple.of(Trash.COLLECT_LOCK))
        .compose(locked -> conn.preparedQuery("SELECT h FROM unnest($1::text[]) AS h "
                + "WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = h)")
            .execute(Tuple.tuple().addValue(reused.toArray(new String[0]))))
        .compose(rows -> {
          Future<Void> chain = Future.succeededFuture();
          for (Row row : rows) {
            String hash = row.getString(0);
            chain = chain.compose(v -> chunkExists.apply(hash).compose(present -> present
                ? Future.<Void>succeededFuture()
                : Future.failedFuture(new ApiException(ErrorCode.CONFLICT,
                    "Some of this file's content was removed from the store while it was uploaded; upload it again"))));
          }
          return chain;
        });
  }

  public Future<JsonObject> commit(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    long size = Requests.requiredLong(request, "size");
    String sha256 = Requests.string(request, "sha256");
    List<String> chunks = Requests.hashes(request, "chunks", MAX_HASHES);
    List<Integer> chunkSizes = chunkSizes(request, chunks.size());
    Long base = Requests.optionalLong(request, "base_version");
    boolean checkChunks = Boolean.TRUE.equals(request.getBoolean("check_chunk_access"));
    List<String> reused = request.containsKey("reused") ? Requests.hashes(request, "reused", MAX_HASHES) : List.of();
    if (!Requests.sha256(sha256)) {
      return Future.failedFuture(Requests.bad("sha256 must be a lower-case hex SHA-256"));
    }
    if (size < 0 || chunkSizes.stream().mapToLong(Integer::longValue).sum() != size) {
      return Future.failedFuture(Requests.bad("size must be the sum of chunk_sizes"));
    }
    if (size > limits.maxFileSize()) {
      return Future.failedFuture(new ApiException(ErrorCode.PAYLOAD_TOO_LARGE,
          "Files can be at most " + limits.maxFileSize() + " bytes"));
    }
    // Which chunks the actor may not use is asked before the transaction, so the space is not held
    // for it, and told only once the role check under the lock has passed, as before it.
    Future<Void> chunkAccess = checkChunks ? requireChunkAccess(actor, chunks) : Future.succeededFuture();
    return chunkAccess.transform(checked -> log.write(space, actor, Access.Action.WRITE, (tx, locked) -> chunkAccess
            .compose(ok -> checkReused(tx.conn(), reused))
            .compose(ok -> target(tx, space, request, actor))
            .compose(target -> {
              SqlClient conn = tx.conn();
              long current = target.existing() == null ? 0 : target.existing().getLong("version");
              boolean stale = base != null && base != current;
              if (stale && "manual".equals(locked.conflictPolicy())) {
                return Future.failedFuture(ApiException.withDetails(ErrorCode.VERSION_CONFLICT,
                    "The file changed since version " + base + ": the current version is " + current,
                    new JsonObject().put("current", Tree.toJson(target.existing()))));
              }
              Future<JsonObject> written = Tree.checkQuota(conn, locked.ownerId(), size, limits.userQuota())
                  .compose(v -> target.existing() == null
                      ? create(tx, space, target, size, sha256, chunks, chunkSizes, actor)
                      : replace(tx, target.existing(), size, sha256, chunks, chunkSizes, actor));
              if (!stale) {
                return written;
              }
              return written.compose(node -> log.append(tx, space, node.getString("id"), "conflict", node.getLong("version"),
                  actor, node.copy().put("conflict", new JsonObject().put("base_version", base)
                      .put("overwritten_version", current))).map(node));
            })))
        .recover(Tree::nameTaken);
  }

  private static List<Integer> chunkSizes(JsonObject request, int count) {
    JsonArray array;
    try {
      array = request.getJsonArray("chunk_sizes");
    } catch (ClassCastException e) {
      throw Requests.bad("chunk_sizes must be an array of sizes");
    }
    if (array == null || array.size() != count) {
      throw Requests.bad("chunk_sizes must give one size per chunk");
    }
    List<Integer> sizes = new ArrayList<>();
    for (Object each : array) {
      if (!(each instanceof Integer || each instanceof Long) || ((Number) each).longValue() <= 0
          || ((Number) each).longValue() > Integer.MAX_VALUE) {
        throw Requests.bad("chunk_sizes must hold positive whole numbers");
      }
      sizes.add(((Number) each).intValue());
    }
    return sizes;
  }

  /** Resolves the node id, folder + name, or path (making missing folders) in the locked space. */
  private Future<Target> target(ChangeLog.Tx tx, String space, JsonObject request, String actor) {
    SqlClient conn = tx.conn();
    String nodeId = Requests.string(request, "node_id");
    if (nodeId != null) {
      return Tree.liveFile(conn, space, nodeId)
          .map(row -> new Target(row.getString("parent_id"), row.getString("name"), row, null));
    }
    String parent = Requests.string(request, "parent_id");
    String path = Requests.string(request, "path");
    List<String> segments = path != null ? Names.path(path) : List.of(Names.require(Requests.string(request, "name")));
    List<String> folders = segments.subList(0, segments.size() - 1);
    // With no folders on the way, the placement of the name checks the parent.
    Future<String> folder = folders.isEmpty() ? Future.succeededFuture(parent)
        : Tree.requireFolder(conn, space, parent).compose(ok -> nodes.folderPath(tx, space, parent, folders, actor));
    String name = segments.get(segments.size() - 1);
    return folder.compose(at -> Tree.placement(conn, space, at, name))
        .compose(place -> place.requireFolder().compose(ok -> {
          Row existing = place.existing();
          if (existing != null && !"file".equals(existing.getString("type"))) {
            return Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "A " + existing.getString("type")
                + " named '" + existing.getString("name") + "' exists here"));
          }
          return Future.succeededFuture(new Target(place.parentId(), name, existing, place));
        }));
  }

  private Future<JsonObject> create(ChangeLog.Tx tx, String space, Target target, long size, String sha256,
                                    List<String> chunks, List<Integer> chunkSizes, String actor) {
    SqlClient conn = tx.conn();
    return target.placement().requireRoom(conn, limits.folderEntryLimit())
        .compose(v -> conn.preparedQuery("INSERT INTO nodes AS n (space_id, parent_id, name, type, size, sha256, "
                + "created_by, modified_by) VALUES ($1::uuid, $2::uuid, $3, 'file', $4, $5, $6::uuid, $6::uuid) RETURNING "
                + Tree.COLUMNS)
            .execute(Tuple.of(space, target.parentId(), target.name(), size, sha256, actor)))
        .compose(rows -> {
          JsonObject node = Tree.toJson(rows.iterator().next());
          return Tree.insertVersion(conn, node.getString("id"), 1, size, sha256, chunks, chunkSizes, actor)
              .compose(v -> log.node(tx, "created", node, actor)).map(node);
        });
  }

  private Future<JsonObject> replace(ChangeLog.Tx tx, Row existing, long size, String sha256, List<String> chunks,
                                     List<Integer> chunkSizes, String actor) {
    SqlClient conn = tx.conn();
    String id = existing.getString("id");
    long version = existing.getLong("version") + 1;
    return Tree.insertVersion(conn, id, version, size, sha256, chunks, chunkSizes, actor)
        .compose(v -> conn.preparedQuery("UPDATE nodes AS n SET version = $2, size = $3, sha256 = $4, modified_at = now(), "
                + "modified_by = $5::uuid WHERE id = $1::uuid RETURNING " + Tree.COLUMNS)
            .execute(Tuple.of(id, version, size, sha256, actor)))
        .compose(rows -> {
          JsonObject node = Tree.toJson(rows.iterator().next());
          return log.node(tx, "updated", node, actor).map(node);
        });
  }

  /** The manifest of the current version, or of {@code version}; 404 for folders and unknown versions. */
  public Future<JsonObject> content(JsonObject request) {
    String space = request.getString("space");
    Long version = Requests.optionalLong(request, "version");
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .compose(node -> "file".equals(node.getString("type")) ? Future.succeededFuture(node)
            : Tree.<Row>notFound("A " + node.getString("type") + " has no file content"
                + ("document".equals(node.getString("type")) ? "; read it at .../nodes/{node}/document" : "")))
        .compose(node -> pool.preparedQuery("SELECT version, size, sha256, chunks, chunk_sizes, created_at "
                + "FROM file_versions WHERE node_id = $1::uuid AND ($2::bigint IS NULL OR version = $2) "
                + "ORDER BY version DESC LIMIT 1")
            .execute(Tuple.of(node.getString("id"), version))
            .compose(rows -> {
              if (rows.size() == 0) {
                return Tree.<JsonObject>notFound("No such version");
              }
              Row row = rows.iterator().next();
              return Future.succeededFuture(new JsonObject()
                  .put("node_id", node.getString("id"))
                  .put("name", node.getString("name"))
                  .put("version", row.getLong("version"))
                  .put("size", row.getLong("size"))
                  .put("sha256", row.getString("sha256"))
                  .put("chunks", new JsonArray(List.of((Object[]) row.getArrayOfStrings("chunks"))))
                  .put("chunk_sizes", new JsonArray(List.of((Object[]) row.getArrayOfIntegers("chunk_sizes"))))
                  .put("modified_at", Tree.instant(row.getOffsetDateTime("created_at"))));
            }));
  }

  /** {@code {missing}}: the hashes the actor has neither uploaded nor can read in a version. */
  public Future<JsonObject> missingChunks(JsonObject request) {
    List<String> hashes = List.copyOf(new LinkedHashSet<>(Requests.hashes(request, "hashes", MAX_HASHES)));
    return inaccessible(request.getString("actor"), hashes)
        .map(missing -> new JsonObject().put("missing", new JsonArray(missing)));
  }

  /** Records that the actor uploaded these chunks; a later grant refreshes the collection grace period. */
  public Future<JsonObject> grantChunks(JsonObject request) {
    String actor = request.getString("actor");
    List<String> hashes = List.copyOf(new LinkedHashSet<>(Requests.hashes(request, "hashes", MAX_HASHES)));
    if (!Access.isUuid(actor)) {
      return Future.failedFuture(Requests.bad("actor must be a user id"));
    }
    return pool.preparedQuery("INSERT INTO chunk_grants (hash, user_id) SELECT h, $2::uuid FROM unnest($1::text[]) AS h "
            + "ON CONFLICT (hash, user_id) DO UPDATE SET created_at = now()")
        .execute(Tuple.tuple().addValue(hashes.toArray(new String[0])).addValue(actor))
        .map(new JsonObject());
  }

  private Future<Void> requireChunkAccess(String actor, List<String> chunks) {
    return inaccessible(actor, List.copyOf(new LinkedHashSet<>(chunks))).compose(missing -> missing.isEmpty()
        ? Future.succeededFuture()
        : Future.failedFuture(new ApiException(ErrorCode.FORBIDDEN, missing.size() + " of the chunks are not available "
            + "to you; upload them before committing")));
  }

  private Future<List<String>> inaccessible(String actor, List<String> hashes) {
    if (hashes.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    if (!Access.isUuid(actor)) {
      return Future.succeededFuture(hashes);
    }
    return pool.preparedQuery("SELECT h FROM unnest($2::text[]) WITH ORDINALITY AS u(h, i) "
            + "WHERE NOT EXISTS (SELECT 1 FROM chunk_grants g WHERE g.hash = u.h AND g.user_id = $1::uuid) "
            + "AND NOT EXISTS (SELECT 1 FROM file_versions fv JOIN nodes n ON n.id = fv.node_id "
            + "JOIN space_members m ON m.space_id = n.space_id AND m.user_id = $1::uuid "
            + "JOIN spaces s ON s.id = n.space_id AND s.deleted_at IS NULL WHERE fv.chunks @> ARRAY[u.h]) ORDER BY u.i")
        .execute(Tuple.tuple().addValue(actor).addValue(hashes.toArray(new String[0])))
        .map(rows -> {
          List<String> out = new ArrayList<>();
          rows.forEach(row -> out.add(row.getString(0)));
          return out;
        });
  }
}
