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
import java.util.List;

/**
 * JSON documents: nodes of type {@code document} whose content is a JSON object, kept in
 * PostgreSQL as {@code jsonb}. They live in folders, go to the trash and come back, and are shared
 * like files; every write locks the space and appends its change in the same transaction.
 *
 * <p>Conflicts are settled per field ({@link MergePatch} defines fields). A write names the version
 * it was made from ({@code If-Match}). When the document changed since, the fields the write
 * touches are compared with the fields changed since that version: apart, the write applies on top
 * of the current content and both changes stay; overlapping, the {@code manual} policy answers 409
 * {@code version_conflict} with the current document, and {@code last_writer_wins} applies the write
 * and records the values it overwrote in a {@code conflict} change. A replacement (PUT) from a stale
 * version counts as the merge patch from that version to what it sends.
 *
 * <p>Each change carries the document data a subscriber needs to follow without a re-read (see
 * {@link #docChange}).
 */
public final class Documents {
  public static final String TYPE = "document";
  private static final int MAX_WHERE = 8;
  private static final int MAX_WHERE_FIELD = 255;
  /** A query page stops early once it holds this much content (always at least one document). */
  static final long PAGE_BYTES = 4L << 20;
  /** Up to this many documents below a path_prefix, the query reads them by folder rather than by index. */
  private static final int SMALL_SUBTREE = 20_000;

  private final Pool pool;
  private final Access access;
  private final ChangeLog log;
  private final Nodes nodes;
  private final CloudSyncConfig.Files files;
  private final CloudSyncConfig.Docs limits;

  public Documents(Pool pool, Access access, ChangeLog log, Nodes nodes, CloudSyncConfig.Files files,
                   CloudSyncConfig.Docs limits) {
    this.pool = pool;
    this.access = access;
    this.log = log;
    this.nodes = nodes;
    this.files = files;
    this.limits = limits;
  }

  // --- requests ----------------------------------------------------------------------------------

  /** {@code {path, content, if_match?}}: creates the document (and missing folders) or replaces it. */
  public Future<JsonObject> put(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    List<String> segments = Names.path(Requests.string(request, "path"));
    JsonObject content = object(request, "content", ErrorCode.DOCUMENT_NOT_OBJECT, "A document must be a JSON object");
    Long base = Requests.optionalLong(request, "if_match");
    checkSize(content);
    String name = segments.get(segments.size() - 1);
    List<String> parents = segments.subList(0, segments.size() - 1);
    return log.write(space, actor, Access.Action.WRITE, (tx, locked) -> nodes.folderPath(tx, space, null, parents, actor)
            .compose(folder -> Tree.placement(tx.conn(), space, folder, name)
                .compose(place -> place.requireFolder().compose(ok -> {
                  Row existing = place.existing();
                  if (existing == null) {
                    if (base != null && base != 0) {
                      return Future.failedFuture(new ApiException(ErrorCode.PRECONDITION_FAILED,
                          "There is no document at this path, so it cannot be at version " + base));
                    }
                    return place.requireRoom(tx.conn(), files.folderEntryLimit())
                        .compose(v -> create(tx, locked, folder, name, content, actor));
                  }
                  if (!TYPE.equals(existing.getString("type"))) {
                    return Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "A "
                        + existing.getString("type") + " named '" + existing.getString("name") + "' exists here"));
                  }
                  return write(tx, locked, existing, base, null, content, actor);
                }))))
        .recover(Tree::nameTaken);
  }

  /** {@code {node, patch, if_match?}}: applies an RFC 7396 merge patch. */
  public Future<JsonObject> patch(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String nodeId = request.getString("node");
    JsonObject patch = object(request, "patch", ErrorCode.INVALID_PATCH,
        "A merge patch for a document must be a JSON object (any other patch would replace the whole document)");
    Long base = Requests.optionalLong(request, "if_match");
    return log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.liveNode(tx.conn(), space, nodeId)
        .compose(node -> TYPE.equals(node.getString("type"))
            ? write(tx, locked, node, base, patch, null, actor)
            : Future.failedFuture(new ApiException(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "A merge patch applies to documents; this node is a " + node.getString("type")
                    + " (rename and move take application/json)"))));
  }

  /** {@code {path | node, version?}} → {@code {node, content}}; by id also from the trash. */
  public Future<JsonObject> get(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String path = Requests.string(request, "path");
    Long version = Requests.optionalLong(request, "version");
    return access.require(actor, space, Access.Action.READ)
        .compose(role -> path != null ? atPath(space, Names.path(path)) : Tree.node(pool, space, request.getString("node")))
        .compose(node -> TYPE.equals(node.getString("type")) ? Future.succeededFuture(node)
            : Tree.<Row>notFound("This node is a " + node.getString("type") + ", not a document"))
        .compose(node -> pool.preparedQuery(version == null
                ? "SELECT content FROM documents WHERE node_id = $1::uuid"
                : "SELECT content FROM document_versions WHERE node_id = $1::uuid AND version = $2")
            .execute(version == null ? Tuple.of(node.getString("id")) : Tuple.of(node.getString("id"), version))
            .compose(rows -> rows.size() == 0 ? Tree.<JsonObject>notFound("No such version")
                : Future.succeededFuture(new JsonObject().put("node", Tree.toJson(node))
                    .put("version", version == null ? node.getLong("version") : version)
                    .put("content", json(rows.iterator().next().getValue(0))))));
  }

  /** The versions of a document, newest first; other nodes go to {@link Nodes#versions}. */
  public Future<JsonObject> versions(JsonObject request) {
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .compose(node -> !TYPE.equals(node.getString("type")) ? nodes.versions(request)
            : pool.preparedQuery("SELECT version, size, author::text AS author, created_at FROM document_versions "
                    + "WHERE node_id = $1::uuid ORDER BY version DESC")
                .execute(Tuple.of(node.getString("id")))
                .map(Tree::versions));
  }

  /** Makes an earlier version of a document the newest; other nodes go to {@link Nodes#restoreVersion}. */
  public Future<JsonObject> restoreVersion(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String nodeId = request.getString("node");
    long version = Requests.requiredLong(request, "version");
    Long expected = Requests.optionalLong(request, "if_match");
    // A node's type never changes, so looking before the transaction is safe.
    return access.require(actor, space, Access.Action.WRITE)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .compose(peek -> !TYPE.equals(peek.getString("type")) ? nodes.restoreVersion(request)
            : log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.liveNode(tx.conn(), space, nodeId)
                    .compose(node -> Tree.ifMatch(node, expected)
                        .compose(ok -> tx.conn().preparedQuery("SELECT content FROM document_versions "
                                + "WHERE node_id = $1::uuid AND version = $2").execute(Tuple.of(node.getString("id"), version)))
                        .compose(rows -> rows.size() == 0 ? Tree.<JsonObject>notFound("No such version")
                            : write(tx, locked, node, null, null, json(rows.iterator().next().getValue(0)), actor))))
                .map(answer -> answer.getJsonObject("node")));
  }

  /** A new document with the same content, like a file copy; other nodes go to {@link Nodes#copy}. */
  public Future<JsonObject> copy(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String nodeId = request.getString("node");
    boolean targeted = request.containsKey("parent_id");
    String targetParent = Requests.string(request, "parent_id");
    String rawName = Requests.string(request, "name");
    String givenName = rawName == null ? null : Names.require(rawName);
    return access.require(actor, space, Access.Action.WRITE)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .compose(peek -> !TYPE.equals(peek.getString("type")) ? nodes.copy(request)
            : log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.liveNode(tx.conn(), space, nodeId)
                .compose(source -> {
                  SqlClient conn = tx.conn();
                  String parent = targeted ? targetParent : source.getString("parent_id");
                  return Tree.requireFolder(conn, space, parent)
                      .compose(v -> givenName == null
                          ? Nodes.freeName(conn, space, parent, source.getString("name"), "copy")
                          : Tree.liveChild(conn, space, parent, givenName).compose(existing -> existing == null
                              ? Future.succeededFuture(givenName)
                              : Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "'" + givenName + "' exists there"))))
                      .compose(name -> contentAt(conn, source.getString("id"), source.getLong("version"))
                          .compose(content -> Tree.checkRoom(conn, space, parent, files.folderEntryLimit())
                              .compose(v -> create(tx, locked, parent, name, content, actor))));
                }))
                .map(answer -> answer.getJsonObject("node")))
        .recover(Tree::nameTaken);
  }

  /**
   * {@code {path_prefix?, where: {field: value}, limit?, cursor?}}: live documents in the folder's
   * subtree (the whole space without one) whose top-level fields equal the values, in id order.
   */
  public Future<JsonObject> query(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String prefix = Requests.string(request, "path_prefix");
    JsonObject where = where(request.getValue("where"));
    int limit = Requests.limit(request, 50, 200);
    String after = Requests.string(request, "cursor");
    if (after != null && !Access.isUuid(after)) {
      return Future.failedFuture(Requests.bad("cursor is not one this server handed out"));
    }
    String trimmed = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    return access.require(actor, space, Access.Action.READ)
        .compose(role -> trimmed.isEmpty() ? Future.<String>succeededFuture(null) : atPath(space, Names.path(trimmed))
            .compose(folder -> "folder".equals(folder.getString("type")) ? Future.succeededFuture(folder.getString("id"))
                : Tree.<String>notFound("path_prefix names a " + folder.getString("type") + ", not a folder")))
        .compose(folder -> folder == null ? Future.succeededFuture((String[]) null) : subtreeFolders(space, folder))
        .compose(folders -> (folders == null ? Future.succeededFuture(false) : isSmall(folders))
            .compose(small -> pool.withTransaction(conn -> conn
                // A cached generic plan cannot see how common the value or how big the subtree is
                // and walks the whole space in id order: plan each query for its own parameters.
                .query("SET LOCAL plan_cache_mode = force_custom_plan").execute()
                .compose(v -> conn.preparedQuery(querySql(folders != null, small))
                    .execute(Tuple.of(space, where, after, limit + 1).addValue(folders))))))
        .map(rows -> {
          JsonArray documents = new JsonArray();
          String cursor = null;
          long bytes = 0;
          boolean more = false;
          for (Row row : rows) {
            if (documents.size() == limit || (bytes >= PAGE_BYTES && !documents.isEmpty())) {
              more = true;
              break;
            }
            JsonObject content = json(row.getValue("content"));
            bytes += row.getLong("size");
            documents.add(Tree.toJson(row).put("content", content));
            cursor = row.getString("id");
          }
          return new JsonObject().put("documents", documents).put("cursor", more ? cursor : null).put("has_more", more);
        });
  }

  /**
   * The query, three ways. PostgreSQL cannot estimate how many documents a {@code @>} condition
   * matches, so the plan is chosen here: in a small subtree the documents there are read by folder
   * and filtered (cost bounded by the subtree); otherwise the GIN index finds the matches, or, for a
   * value so common that the index gives no edge, the walk in id order stops after one page.
   */
  private static String querySql(boolean inFolders, boolean small) {
    String select = "SELECT " + Tree.COLUMNS + ", d.content FROM ";
    String conditions = "d.space_id = $1::uuid AND d.content @> $2::jsonb AND n.deleted_at IS NULL "
        + "AND ($3::uuid IS NULL OR d.node_id > $3::uuid) ";
    if (inFolders && small) {
      // The node rows come from the folder scan itself; only the documents are looked up by id.
      return "WITH n AS MATERIALIZED (SELECT * FROM nodes WHERE parent_id = ANY($5::text[]::uuid[]) AND type = 'document' "
          + "AND deleted_at IS NULL) " + select + "n JOIN documents d ON d.node_id = n.id WHERE " + conditions
          + "ORDER BY d.node_id LIMIT $4";
    }
    return select + "documents d JOIN nodes n ON n.id = d.node_id WHERE " + conditions
        + (inFolders ? "AND n.parent_id = ANY($5::text[]::uuid[]) " : "AND $5::text[] IS NULL ") + "ORDER BY d.node_id LIMIT $4";
  }

  /** The live folders of a subtree, its root included. */
  private Future<String[]> subtreeFolders(String space, String root) {
    return pool.preparedQuery("WITH RECURSIVE sub AS (SELECT $2::uuid AS id UNION ALL SELECT n.id FROM nodes n "
            + "JOIN sub ON n.parent_id = sub.id WHERE n.type = 'folder' AND n.deleted_at IS NULL) "
            + "SELECT array_agg(sub.id::text) FROM sub JOIN nodes f ON f.id = sub.id AND f.space_id = $1::uuid")
        .execute(Tuple.of(space, root))
        .map(rows -> rows.iterator().next().getArrayOfStrings(0));
  }

  /** Whether the folders hold at most {@link #SMALL_SUBTREE} live documents (counting stops there). */
  private Future<Boolean> isSmall(String[] folders) {
    return pool.preparedQuery("SELECT count(*) FROM (SELECT 1 FROM nodes WHERE parent_id = ANY($1::text[]::uuid[]) "
            + "AND type = 'document' AND deleted_at IS NULL LIMIT $2) counted")
        .execute(Tuple.tuple().addValue(folders).addValue(SMALL_SUBTREE + 1))
        .map(rows -> rows.iterator().next().getLong(0) <= SMALL_SUBTREE);
  }

  // --- writing -----------------------------------------------------------------------------------

  /** A new document in a folder with room for it (the caller checked). */
  private Future<JsonObject> create(ChangeLog.Tx tx, Tree.Space locked, String folder, String name, JsonObject content,
                                    String actor) {
    SqlClient conn = tx.conn();
    String space = locked.id();
    long size = size(content);
    return conn.preparedQuery("INSERT INTO nodes AS n (space_id, parent_id, name, type, size, created_by, modified_by) "
            + "VALUES ($1::uuid, $2::uuid, $3, 'document', $4, $5::uuid, $5::uuid) RETURNING " + Tree.COLUMNS)
        .execute(Tuple.of(space, folder, name, size, actor))
        .compose(rows -> {
          JsonObject node = Tree.toJson(rows.iterator().next());
          String id = node.getString("id");
          return conn.preparedQuery("INSERT INTO documents (node_id, space_id, content) VALUES ($1::uuid, $2::uuid, $3::jsonb)")
              .execute(Tuple.of(id, space, content))
              .compose(v -> insertVersion(conn, locked.ownerId(), id, 1, size, content, actor))
              .compose(v -> log.append(tx, space, id, "created", 1L, actor,
                  node.copy().put("doc", docChange(0, null, content, size))))
              .map(v -> new JsonObject().put("node", node).put("content", content).put("created", true));
        });
  }

  /**
   * Writes a patch or a replacement to a live document in the locked space, settling a stale base
   * field by field: {@code {node, content, created: false}}.
   */
  private Future<JsonObject> write(ChangeLog.Tx tx, Tree.Space locked, Row node, Long base, JsonObject patch,
                                   JsonObject replacement, String actor) {
    SqlClient conn = tx.conn();
    String id = node.getString("id");
    long current = node.getLong("version");
    if (base != null && base > current) {
      return Future.failedFuture(ApiException.withDetails(ErrorCode.PRECONDITION_FAILED,
          "The document is at version " + current + "; version " + base + " does not exist yet",
          new JsonObject().put("current", Tree.toJson(node))));
    }
    boolean stale = base != null && base < current;
    return contentAt(conn, id, current).compose(now -> (stale ? contentAt(conn, id, base) : Future.<JsonObject>succeededFuture(now))
        .compose(then -> {
          // A replacement from an older version counts as the patch from there to what it sends.
          JsonObject applied = patch != null ? patch : stale && then != null ? MergePatch.diff(then, replacement) : null;
          List<String> conflicting = List.of();
          if (stale) {
            List<String> touched = patch != null ? MergePatch.touched(then == null ? now : then, patch)
                : applied == null ? List.of("") : MergePatch.touched(then, applied);
            List<String> changed = then == null ? List.of("") : MergePatch.changed(then, now);
            conflicting = MergePatch.overlapping(touched, changed);
          }
          if (!conflicting.isEmpty() && "manual".equals(locked.conflictPolicy())) {
            return Future.failedFuture(ApiException.withDetails(ErrorCode.VERSION_CONFLICT,
                "The document changed since version " + base + " in fields this write touches: "
                    + String.join(", ", conflicting.stream().map(f -> f.isEmpty() ? "(the whole document)" : f).toList()),
                new JsonObject().put("current", Tree.toJson(node).put("content", now))
                    .put("conflicting_fields", new JsonArray(conflicting))));
          }
          JsonObject result = applied == null ? replacement : (JsonObject) MergePatch.apply(now, applied);
          long size = checkSize(result);
          if (result.equals(now)) {
            return Future.succeededFuture(new JsonObject().put("node", Tree.toJson(node)).put("content", now)
                .put("created", false));
          }
          long version = current + 1;
          List<String> overwritten = conflicting;
          return conn.preparedQuery("UPDATE nodes AS n SET version = $2, size = $3, modified_at = now(), "
                  + "modified_by = $4::uuid WHERE id = $1::uuid RETURNING " + Tree.COLUMNS)
              .execute(Tuple.of(id, version, size, actor))
              .compose(rows -> {
                JsonObject updated = Tree.toJson(rows.iterator().next());
                return conn.preparedQuery("UPDATE documents SET content = $2::jsonb WHERE node_id = $1::uuid")
                    .execute(Tuple.of(id, result))
                    .compose(v -> insertVersion(conn, locked.ownerId(), id, version, size, result, actor))
                    .compose(v -> log.append(tx, locked.id(), id, "updated", version, actor,
                        updated.copy().put("doc", docChange(current, MergePatch.diff(now, result), result, size))))
                    .compose(v -> overwritten.isEmpty() ? Future.succeededFuture()
                        : log.append(tx, locked.id(), id, "conflict", version, actor,
                            updated.copy().put("conflict", conflict(base, current, overwritten, now))))
                    .map(v -> new JsonObject().put("node", updated).put("content", result).put("created", false));
              });
        }));
  }

  /**
   * What a change tells of the document, so a subscriber can follow without a re-read: the
   * version it applies to ({@code base_version}) and whichever is smaller of {@code patch} (RFC 7396,
   * from that version) and {@code content} (the whole new document), as long as it is at most
   * {@code docs.change_inline_max} bytes; otherwise {@code omitted: true} and the client reads the
   * document. A create has no patch; a replacement that no merge patch can express (a member set
   * to null) neither.
   */
  JsonObject docChange(long baseVersion, JsonObject patch, JsonObject content, long contentSize) {
    JsonObject doc = new JsonObject().put("base_version", baseVersion);
    long patchSize = patch == null ? Long.MAX_VALUE : size(patch);
    if (patchSize <= contentSize && patchSize <= limits.changeInlineMax()) {
      return doc.put("patch", patch);
    }
    if (contentSize <= limits.changeInlineMax()) {
      return doc.put("content", content);
    }
    return doc.put("omitted", true);
  }

  /** The conflict record: the fields both writes touched and the values the later one overwrote. */
  private JsonObject conflict(Long base, long overwrittenVersion, List<String> fields, JsonObject before) {
    JsonObject conflict = new JsonObject().put("base_version", base).put("overwritten_version", overwrittenVersion)
        .put("fields", new JsonArray(fields));
    JsonArray values = new JsonArray();
    fields.forEach(field -> values.add(MergePatch.valueAt(before, field)));
    if (values.toBuffer().length() <= limits.changeInlineMax()) {
      conflict.put("overwritten", values);
    } else {
      // Too big to carry: the whole overwritten document stays readable as that version.
      conflict.put("overwritten_omitted", true);
    }
    return conflict;
  }

  /**
   * Keeps a document's new content as a version, within the space owner's quota (documents count
   * toward files.user_quota with every kept version, as files do), and drops versions past
   * docs.max_versions.
   */
  private Future<Void> insertVersion(SqlClient conn, String ownerId, String id, long version, long size,
                                     JsonObject content, String actor) {
    return Tree.checkQuota(conn, ownerId, size, files.userQuota()).compose(ok -> conn.preparedQuery("INSERT INTO document_versions (node_id, version, size, content, author) "
            + "VALUES ($1::uuid, $2, $3, $4::jsonb, $5::uuid)")
        .execute(Tuple.of(id, version, size, content, actor))
        .compose(v -> conn.preparedQuery("DELETE FROM document_versions WHERE node_id = $1::uuid AND version < "
                + "(SELECT min(version) FROM (SELECT version FROM document_versions WHERE node_id = $1::uuid "
                + "ORDER BY version DESC LIMIT $2) kept)")
            .execute(Tuple.of(id, limits.maxVersions()))))
        .mapEmpty();
  }

  /** The content as of a node version; null when that version is no longer kept (or never existed). */
  private static Future<JsonObject> contentAt(SqlClient conn, String id, long version) {
    return conn.preparedQuery("SELECT content FROM document_versions WHERE node_id = $1::uuid AND version <= $2 "
            + "ORDER BY version DESC LIMIT 1")
        .execute(Tuple.of(id, version))
        .map(rows -> rows.size() == 0 ? null : json(rows.iterator().next().getValue(0)));
  }

  // --- paths -------------------------------------------------------------------------------------

  /** The live node at a path; 404 when any part is missing. */
  private Future<Row> atPath(String space, List<String> segments) {
    Future<Row> at = Future.succeededFuture(null);
    for (String segment : segments) {
      at = at.compose(parent -> {
        if (parent != null && !"folder".equals(parent.getString("type"))) {
          return Tree.<Row>notFound("'" + parent.getString("name") + "' on the path is not a folder");
        }
        return Tree.liveChild(pool, space, parent == null ? null : parent.getString("id"), segment)
            .compose(row -> row == null ? Tree.<Row>notFound("Nothing at this path") : Future.succeededFuture(row));
      });
    }
    return at;
  }

  // --- values ------------------------------------------------------------------------------------

  /** The document's size; 413 {@code document_too_large} past {@code docs.max_size}. */
  private long checkSize(JsonObject content) {
    long size = size(content);
    if (size > limits.maxSize()) {
      throw new ApiException(ErrorCode.DOCUMENT_TOO_LARGE, "A document can be at most " + limits.maxSize()
          + " bytes as compact JSON; this one would be " + size);
    }
    return size;
  }

  /** The size of a document as stored and counted: compact JSON in UTF-8. */
  static long size(JsonObject value) {
    return value.toBuffer().length();
  }

  private static JsonObject object(JsonObject request, String field, ErrorCode code, String message) {
    Object value = request.getValue(field);
    if (!(value instanceof JsonObject object)) {
      throw new ApiException(code, message);
    }
    return object;
  }

  /** The top-level equality conditions: at most eight fields, each a string, number, boolean or null. */
  private static JsonObject where(Object value) {
    if (value == null) {
      return new JsonObject();
    }
    if (!(value instanceof JsonObject where) || where.size() > MAX_WHERE) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "where takes at most " + MAX_WHERE + " field=value conditions");
    }
    for (String field : where.fieldNames()) {
      Object each = where.getValue(field);
      if (field.isEmpty() || field.length() > MAX_WHERE_FIELD) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "A where field is 1 to " + MAX_WHERE_FIELD + " characters");
      }
      if (each instanceof JsonObject || each instanceof JsonArray) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "where compares with strings, numbers, true, false or null");
      }
    }
    return where;
  }

  private static JsonObject json(Object value) {
    return value instanceof JsonObject object ? object : new JsonObject(String.valueOf(value));
  }
}
