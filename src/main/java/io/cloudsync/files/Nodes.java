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
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Folders and the operations on any node: list, make a folder, read, rename or move, trash,
 * restore, purge, copy a file, versions, search. Every write locks its space, checks the version
 * the client saw ({@code If-Match}) and appends its change in the same transaction.
 *
 * <p>Restore puts a node back where it was. When its folder is gone (purged, trashed, or it was
 * trashed together with a folder that stays in the trash) it goes to the top level; when its name
 * is taken there it becomes "name (restored)", "name (restored 2)", ... Copies without a name
 * given become "name (copy)" the same way; a name given explicitly that is taken is a 409.
 */
public final class Nodes {
  /** Folders first, then by name; keyset paging over the same key. */
  private static final String SORT_KEY = "(CASE WHEN n.type = 'folder' THEN 0 ELSE 1 END), lower(n.name) COLLATE \"C\", n.id";
  private static final int MAX_VARIANTS = 100;
  /** Deeper pages of a search cost a walk past every earlier match; past this, narrow the query. */
  static final int MAX_SEARCH_OFFSET = 10_000;

  private final Pool pool;
  private final Access access;
  private final ChangeLog log;
  private final Trash trash;
  private final CloudSyncConfig.Files limits;

  public Nodes(Pool pool, Access access, ChangeLog log, Trash trash, CloudSyncConfig.Files limits) {
    this.pool = pool;
    this.access = access;
    this.log = log;
    this.trash = trash;
    this.limits = limits;
  }

  private static String actor(JsonObject request) {
    return request.getString("actor");
  }

  private static String space(JsonObject request) {
    return request.getString("space");
  }

  // --- reading -------------------------------------------------------------------------------

  /** A folder's live entries (the top level without a parent): {@code {nodes, cursor, has_more}}. */
  public Future<JsonObject> list(JsonObject request) {
    String space = space(request);
    String parent = Requests.string(request, "parent");
    int limit = Requests.limit(request, 200, 1000);
    Object[] after = decodeCursor(Requests.string(request, "cursor"));
    return access.require(actor(request), space, Access.Action.READ)
        .compose(role -> Tree.requireFolder(pool, space, parent))
        .compose(ok -> pool.preparedQuery("SELECT " + Tree.COLUMNS + ", lower(n.name) AS sort_name FROM nodes n "
                + "WHERE n.space_id = $1::uuid AND " + Tree.SAME_FOLDER + " AND n.deleted_at IS NULL AND ($3::int IS NULL OR (" + SORT_KEY
                + ") > ($3::int, $4::text COLLATE \"C\", $5::uuid)) ORDER BY " + SORT_KEY + " LIMIT $6")
            .execute(Tuple.of(space, parent, after[0], after[1], after[2], limit + 1)))
        .map(rows -> {
          JsonArray nodes = new JsonArray();
          String cursor = null;
          for (Row row : rows) {
            if (nodes.size() == limit) {
              break;
            }
            nodes.add(Tree.toJson(row));
            cursor = encodeCursor(row);
          }
          boolean more = rows.size() > limit;
          return new JsonObject().put("nodes", nodes).put("cursor", more ? cursor : null).put("has_more", more);
        });
  }

  private static String encodeCursor(Row row) {
    String key = ("folder".equals(row.getString("type")) ? "0" : "1") + "/" + row.getString("id") + "/"
        + row.getString("sort_name");
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  private static Object[] decodeCursor(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return new Object[] {null, null, null};
    }
    try {
      String key = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      String[] parts = key.split("/", 3);
      if (parts.length == 3 && (parts[0].equals("0") || parts[0].equals("1")) && Access.isUuid(parts[1])) {
        return new Object[] {Integer.parseInt(parts[0]), parts[2], parts[1]};
      }
    } catch (IllegalArgumentException e) {
      // Falls through to the 400 below.
    }
    throw Requests.bad("cursor is not one this server handed out");
  }

  public Future<JsonObject> get(JsonObject request) {
    String space = space(request);
    return access.require(actor(request), space, Access.Action.READ)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .map(this::withPurgeDate);
  }

  private JsonObject withPurgeDate(Row row) {
    JsonObject node = Tree.toJson(row);
    if (row.getValue("deleted_at") != null) {
      node.put("purge_at", row.getOffsetDateTime("deleted_at").plusDays(limits.trashRetentionDays()).toInstant().toString());
    }
    return node;
  }

  /** The trash of a space: the nodes deleted directly (not those that went with a folder), newest first. */
  public Future<JsonObject> trash(JsonObject request) {
    String space = space(request);
    int limit = Requests.limit(request, 200, 1000);
    int offset = Requests.offset(request);
    return access.require(actor(request), space, Access.Action.READ)
        .compose(role -> pool.preparedQuery("SELECT " + Tree.COLUMNS + " FROM nodes n WHERE n.space_id = $1::uuid "
                + "AND n.deleted_at IS NOT NULL AND n.trashed_with = n.id ORDER BY n.deleted_at DESC, n.id LIMIT $2 OFFSET $3")
            .execute(Tuple.of(space, limit + 1, offset)))
        .map(rows -> {
          JsonArray nodes = new JsonArray();
          for (Row row : rows) {
            if (nodes.size() < limit) {
              nodes.add(withPurgeDate(row).put("original_parent_id", row.getString("original_parent_id"))
                  .put("original_name", row.getString("original_name")));
            }
          }
          return new JsonObject().put("nodes", nodes).put("retention_days", limits.trashRetentionDays())
              .put("has_more", rows.size() > limit);
        });
  }

  public Future<JsonObject> versions(JsonObject request) {
    String space = space(request);
    return access.require(actor(request), space, Access.Action.READ)
        .compose(role -> Tree.node(pool, space, request.getString("node")))
        .compose(node -> pool.preparedQuery("SELECT version, size, sha256, author::text AS author, created_at "
                + "FROM file_versions WHERE node_id = $1::uuid ORDER BY version DESC")
            .execute(Tuple.of(node.getString("id"))))
        .map(Tree::versions);
  }

  /**
   * Live nodes whose name matches the text, in the spaces the caller can read (or the one named),
   * by name in the order folders are listed. A query with three letters or digits in a row
   * matches names containing it, through the trigram index on (space, name); a shorter one, which
   * trigrams cannot narrow, matches names that start with it, through the ordered name index.
   */
  public Future<JsonObject> search(JsonObject request) {
    String actor = actor(request);
    String query = Requests.string(request, "q");
    if (query == null || query.isBlank() || query.length() > 255) {
      return Future.failedFuture(Requests.bad("q must be 1 to 255 characters"));
    }
    String text = Normalizer.normalize(query.strip(), Normalizer.Form.NFC);
    String space = Requests.string(request, "space");
    int limit = Requests.limit(request, 50, 500);
    int offset = Requests.offset(request);
    if (offset > MAX_SEARCH_OFFSET) {
      return Future.failedFuture(Requests.bad("offset must be at most " + MAX_SEARCH_OFFSET + "; narrow the query"));
    }
    Future<UUID[]> spaces = space == null ? readableSpaces(actor)
        : access.require(actor, space, Access.Action.READ).map(role -> new UUID[] {UUID.fromString(space)});
    return spaces
        .compose(ids -> ids.length == 0 ? Future.<Iterable<Row>>succeededFuture(List.of())
            : hasTrigram(text) ? containing(ids, text, limit, offset) : startingWith(ids, text, limit, offset))
        .map(rows -> {
          JsonArray nodes = new JsonArray();
          boolean more = false;
          for (Row row : rows) {
            if (nodes.size() < limit) {
              nodes.add(Tree.toJson(row));
            } else {
              more = true;
            }
          }
          return new JsonObject().put("nodes", nodes).put("has_more", more);
        });
  }

  private Future<UUID[]> readableSpaces(String actor) {
    return pool.preparedQuery("SELECT m.space_id AS id FROM space_members m "
            + "JOIN spaces s ON s.id = m.space_id AND s.deleted_at IS NULL WHERE m.user_id = $1::uuid")
        .execute(Tuple.of(actor))
        .map(rows -> {
          UUID[] ids = new UUID[rows.size()];
          int i = 0;
          for (Row row : rows) {
            ids[i++] = row.getUUID("id");
          }
          return ids;
        });
  }

  /**
   * Substring match, one trigram index scan per space: with the space fixed, the scan narrows to
   * the space and the text at once. (Given the whole array, the planner may leave the space out
   * of the index condition, read every node with the text in anyone's space and drop the rest.)
   */
  private Future<Iterable<Row>> containing(UUID[] spaces, String text, int limit, int offset) {
    String pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
    return pool.preparedQuery("SELECT x.* FROM unnest($1::uuid[]) s (id) CROSS JOIN LATERAL ("
            + "SELECT " + Tree.COLUMNS + ", lower(n.name) COLLATE \"C\" AS sort_name, n.id AS sort_id FROM nodes n "
            + "WHERE n.space_id = s.id AND n.deleted_at IS NULL AND lower(n.name) LIKE '%' || lower($2) || '%') x "
            + "ORDER BY x.sort_name, x.sort_id LIMIT $3 OFFSET $4")
        .execute(Tuple.of(spaces, pattern, limit + 1, offset))
        .map(rows -> rows);
  }

  /**
   * Prefix match: each space's ordered name index is walked from the prefix for just the rows the
   * page needs, and the spaces' walks merged. Bitmap scans are off for the statement: the planner
   * cannot tell how many names share a one- or two-letter prefix, and when it guesses few it
   * collects and sorts every one of them, which for a common prefix is most of the space.
   */
  private Future<Iterable<Row>> startingWith(UUID[] spaces, String text, int limit, int offset) {
    String from = text.toLowerCase(Locale.ROOT);
    String to = nextPrefix(from);
    // A prefix of nothing but the last code point has no upper bound; $3 then repeats the lower one.
    String below = to == null ? "AND lower(n.name) COLLATE \"C\" >= $3 " : "AND lower(n.name) COLLATE \"C\" < $3 ";
    return pool.withTransaction(conn -> conn.query("SET LOCAL enable_bitmapscan = off").execute()
        .compose(off -> conn.preparedQuery("SELECT x.* FROM unnest($1::uuid[]) s (id) CROSS JOIN LATERAL ("
                + "SELECT " + Tree.COLUMNS + ", lower(n.name) COLLATE \"C\" AS sort_name, n.id AS sort_id FROM nodes n "
                + "WHERE n.space_id = s.id AND n.deleted_at IS NULL AND lower(n.name) COLLATE \"C\" >= $2 "
                + below
                + "ORDER BY lower(n.name) COLLATE \"C\", n.id LIMIT $4) x "
                + "ORDER BY x.sort_name, x.sort_id LIMIT $5 OFFSET $6")
            .execute(Tuple.from(new Object[] {spaces, from, to == null ? from : to, offset + limit + 1, limit + 1, offset}))))
        .map(rows -> rows);
  }

  /** Whether trigrams can narrow the text: it holds three letters or digits in a row. */
  static boolean hasTrigram(String text) {
    int run = 0;
    for (int i = 0; i < text.length(); i = text.offsetByCodePoints(i, 1)) {
      run = Character.isLetterOrDigit(text.codePointAt(i)) ? run + 1 : 0;
      if (run == 3) {
        return true;
      }
    }
    return false;
  }

  /** The least string after every string that starts with the prefix, in code point order; null if none. */
  static String nextPrefix(String prefix) {
    int end = prefix.length();
    while (end > 0) {
      int last = prefix.codePointBefore(end);
      int start = end - Character.charCount(last);
      if (last < Character.MAX_CODE_POINT) {
        int next = last + 1 == Character.MIN_SURROGATE ? Character.MAX_SURROGATE + 1 : last + 1;
        return prefix.substring(0, start) + Character.toString(next);
      }
      end = start;
    }
    return null;
  }

  // --- writing -------------------------------------------------------------------------------

  public Future<JsonObject> createFolder(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    String type = Requests.string(request, "type");
    if (type != null && !type.equals("folder")) {
      return Future.failedFuture(Requests.bad("Only folders are made here; files arrive through uploads"));
    }
    String parent = Requests.string(request, "parent_id");
    String name = Names.require(Requests.string(request, "name"));
    if (parent != null && !Access.isUuid(parent)) {
      // No id names no folder: 404, once the lock and the role were checked as for any write.
      return log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.notFound("No such folder"));
    }
    return log.writeAtOnce(space, actor, Access.Action.WRITE, tx -> {
      String id = UUID.randomUUID().toString();
      Future<Row> placed = tx.conn().preparedQuery(MAKE_FOLDER)
          .execute(Tuple.of(space, parent, name, id, actor, limits.folderEntryLimit(), WRITERS))
          .map(rows -> rows.iterator().next());
      Future<JsonObject> change = log.appendCreated(tx, space, id, actor);
      return Future.join(placed, change).transform(done -> {
        if (placed.failed() || change.failed()) {
          return Future.failedFuture(placed.failed() ? placed.cause() : change.cause());
        }
        if (change.result() != null) {
          return Future.succeededFuture(change.result().getJsonObject("node").copy());
        }
        // Nothing was made: why, unless the lock or the role explains it (see writeAtOnce).
        return checkPlace(Tree.placement(placed.result(), space, parent), tx.conn())
            .compose(ok -> Future.failedFuture(new IllegalStateException("folder " + name + " was not made in space "
                + space + ", though its place allowed it")));
      });
    }).recover(Tree::nameTaken);
  }

  /**
   * {@link Tree#PLACEMENT_SQL} for {@code $1..$3}, and with it the folder {@code $4} made there, by
   * {@code $5}, when the checks {@link #makeFolder} makes pass (the folder is live, the name free,
   * fewer than {@code $6} entries) and {@code $5} may write in the space ({@code $7}: the roles that
   * may). Writes nothing otherwise. For {@link ChangeLog#writeAtOnce}: it runs behind the space's
   * lock, so it sees what the lock holder sees.
   */
  private static final String MAKE_FOLDER = "WITH place AS (" + Tree.PLACEMENT_SQL + "), made AS ("
      + "INSERT INTO nodes (id, space_id, parent_id, name, type, created_by, modified_by, created_at, modified_at) "
      + "SELECT $4::uuid, $1::uuid, $2::uuid, $3, 'folder', $5::uuid, $5::uuid, now(), now() FROM place "
      + "WHERE place.folder_live AND place.id IS NULL AND place.entries < $6 AND EXISTS (SELECT 1 FROM spaces s "
      + "JOIN space_members m ON m.space_id = s.id WHERE s.id = $1::uuid AND s.deleted_at IS NULL "
      + "AND m.user_id = $5::uuid AND m.role = ANY($7::text[])) RETURNING id) "
      + "SELECT * FROM place";
  private static final String[] WRITERS = Access.rolesAllowing(Access.Action.WRITE);

  /** 404 unless the folder is live, 409 when the name is taken, 507 when the folder is full. */
  private Future<Void> checkPlace(Tree.Placement place, SqlClient conn) {
    return place.requireFolder()
        .compose(ok -> place.existing() == null
            ? place.requireRoom(conn, limits.folderEntryLimit())
            : Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "A " + place.existing().getString("type")
                + " named '" + place.existing().getString("name") + "' exists here")));
  }

  /**
   * Walks the folders of a path from {@code from} (null: the top level) in the locked space, making
   * the missing ones, and answers the last one's id; 409 when a name on the way is not a folder.
   * Shared by file commits and document writes by path.
   */
  Future<String> folderPath(ChangeLog.Tx tx, String space, String from, List<String> segments, String actor) {
    Future<String> folder = Future.succeededFuture(from);
    for (String segment : segments) {
      folder = folder.compose(at -> Tree.placement(tx.conn(), space, at, segment).compose(place -> {
        Row existing = place.existing();
        if (existing == null) {
          return makeFolder(tx, place, space, at, segment, actor).map(made -> made.getString("id"));
        }
        return "folder".equals(existing.getString("type")) ? Future.succeededFuture(existing.getString("id"))
            : Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "'" + existing.getString("name")
                + "' on the path is a " + existing.getString("type") + ", not a folder"));
      }));
    }
    return folder;
  }

  /**
   * A new folder where {@code place} says, on a path of a write already under way. The folder is
   * inserted and its change appended in one flight: the folder's id is chosen here and its times are
   * the transaction's, so the change is known without the insert's answer. Should the insert fail,
   * the append behind it fails too and the transaction rolls back; the insert's failure is the
   * answer. A folder made on its own ({@link #createFolder}) goes out with its transaction at once.
   */
  private Future<JsonObject> makeFolder(ChangeLog.Tx tx, Tree.Placement place, String space, String parent,
                                        String name, String actor) {
    SqlClient conn = tx.conn();
    return checkPlace(place, conn)
        .compose(ok -> {
          OffsetDateTime now = tx.locked().now();
          JsonObject node = Tree.toJson(UUID.randomUUID().toString(), space, parent, name, "folder", 1L, null, null,
              actor, actor, now, now, null);
          Future<RowSet<Row>> inserted = conn.preparedQuery("INSERT INTO nodes (id, space_id, parent_id, name, type, "
                  + "created_by, modified_by, created_at, modified_at) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, "
                  + "'folder', $5::uuid, $5::uuid, $6, $6)")
              .execute(Tuple.of(node.getString("id"), space, parent, name, actor, now));
          Future<JsonObject> change = log.node(tx, "created", node, actor);
          return Future.join(inserted, change).transform(done -> inserted.failed() ? Future.failedFuture(inserted.cause())
              : change.failed() ? Future.failedFuture(change.cause()) : Future.succeededFuture(node));
        });
  }

  /** Rename and/or move: {@code name?}, {@code parent_id?} (present and null: to the top level), {@code if_match?}. */
  public Future<JsonObject> update(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    String nodeId = request.getString("node");
    String rawName = Requests.string(request, "name");
    String newName = rawName == null ? null : Names.require(rawName);
    boolean moving = request.containsKey("parent_id");
    String newParent = Requests.string(request, "parent_id");
    Long expected = Requests.optionalLong(request, "if_match");
    return log.write(space, actor, Access.Action.WRITE, conn -> Tree.liveNode(conn, space, nodeId),
            (tx, locked, node) -> Tree.ifMatch(node, expected).compose(ok -> {
              String id = node.getString("id");
              String parent = moving ? newParent : node.getString("parent_id");
              String name = newName == null ? node.getString("name") : newName;
              boolean moved = !java.util.Objects.equals(parent, node.getString("parent_id"));
              if (!moved && name.equals(node.getString("name"))) {
                return Future.succeededFuture(Tree.toJson(node));
              }
              SqlClient conn = tx.conn();
              Future<Row> taken = !moved ? Tree.liveChild(conn, space, parent, name)
                  : Tree.placement(conn, space, parent, name).compose(place -> place.requireFolder()
                      .compose(v -> "folder".equals(node.getString("type")) ? Tree.isWithin(conn, parent, id)
                          : Future.succeededFuture(false))
                      .compose(cycle -> cycle ? Future.failedFuture(new ApiException(ErrorCode.CONFLICT,
                          "A folder cannot be moved into itself or one of its subfolders"))
                          : Future.<Void>succeededFuture())
                      .compose(v -> place.requireRoom(conn, limits.folderEntryLimit()))
                      .map(v -> place.existing()));
              return taken
                  .compose(existing -> existing != null && !existing.getString("id").equals(id)
                      ? Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN,
                          "A " + existing.getString("type") + " named '" + existing.getString("name") + "' exists there"))
                      : Future.succeededFuture())
                  .compose(v -> conn.preparedQuery("UPDATE nodes AS n SET name = $2, parent_id = $3::uuid, "
                          + "version = version + 1, modified_at = now(), modified_by = $4::uuid WHERE id = $1::uuid RETURNING "
                          + Tree.COLUMNS)
                      .execute(Tuple.of(id, name, parent, actor)))
                  .compose(rows -> {
                    JsonObject updated = Tree.toJson(rows.iterator().next());
                    return log.lastNode(tx, moved ? "moved" : "renamed", updated, actor).map(updated);
                  });
            }))
        .recover(Tree::nameTaken);
  }

  /** To the trash with its subtree, or with {@code purge} removed for good (from the trash too). */
  public Future<JsonObject> delete(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    boolean purge = Boolean.TRUE.equals(request.getBoolean("purge"));
    Long expected = Requests.optionalLong(request, "if_match");
    String nodeId = request.getString("node");
    Future<JsonObject> done = log.write(space, actor, Access.Action.WRITE,
        conn -> purge ? Tree.node(conn, space, nodeId) : Tree.liveNode(conn, space, nodeId),
        (tx, locked, node) -> Tree.ifMatch(node, expected).compose(ok -> purge
            ? trash.purge(tx, node, actor)
            : trashNode(tx, node, actor)));
    return purge ? done.compose(node -> trash.collectChunks().map(node)) : done;
  }

  private Future<JsonObject> trashNode(ChangeLog.Tx tx, Row node, String actor) {
    String id = node.getString("id");
    return tx.conn().preparedQuery("WITH RECURSIVE sub AS (SELECT id FROM nodes WHERE parent_id = $1::uuid AND deleted_at IS NULL "
            + "UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id WHERE n.deleted_at IS NULL) "
            + "UPDATE nodes SET deleted_at = now(), trashed_with = $1::uuid WHERE id IN (SELECT id FROM sub)")
        .execute(Tuple.of(id))
        .compose(v -> tx.conn().preparedQuery("UPDATE nodes AS n SET deleted_at = now(), trashed_with = id, "
                + "original_parent_id = parent_id, original_name = name, version = version + 1, modified_by = $2::uuid "
                + "WHERE id = $1::uuid RETURNING " + Tree.COLUMNS)
            .execute(Tuple.of(id, actor)))
        .compose(rows -> {
          JsonObject trashed = withPurgeDate(rows.iterator().next());
          return log.lastNode(tx, "deleted", trashed, actor).map(trashed);
        });
  }

  /** Out of the trash, with everything that was trashed together with it below it. */
  public Future<JsonObject> restore(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    String nodeId = request.getString("node");
    return log.write(space, actor, Access.Action.WRITE, conn -> Tree.node(conn, space, nodeId),
            (tx, locked, node) -> {
              if (node.getValue("deleted_at") == null) {
                return Future.failedFuture(new ApiException(ErrorCode.CONFLICT, "This node is not in the trash"));
              }
              SqlClient conn = tx.conn();
              String id = node.getString("id");
              boolean root = id.equals(node.getString("trashed_with"));
              String wantedParent = root ? node.getString("original_parent_id") : node.getString("parent_id");
              String wantedName = root && node.getString("original_name") != null ? node.getString("original_name")
                  : node.getString("name");
              return Tree.isLiveFolder(conn, space, wantedParent)
                  .map(live -> live ? wantedParent : null)
                  .compose(parent -> Tree.checkRoom(conn, space, parent, limits.folderEntryLimit())
                      .compose(v -> freeName(conn, space, parent, wantedName, "restored"))
                      .compose(name -> conn.preparedQuery("WITH RECURSIVE sub AS (SELECT id FROM nodes WHERE parent_id = $1::uuid "
                              + "AND trashed_with = $2::uuid UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id "
                              + "WHERE n.trashed_with = $2::uuid) "
                              + "UPDATE nodes SET deleted_at = NULL, trashed_with = NULL WHERE id IN (SELECT id FROM sub)")
                          .execute(Tuple.of(id, node.getString("trashed_with")))
                          .compose(v -> conn.preparedQuery("UPDATE nodes AS n SET deleted_at = NULL, trashed_with = NULL, "
                                  + "original_parent_id = NULL, original_name = NULL, parent_id = $2::uuid, name = $3, "
                                  + "version = version + 1, modified_at = now(), modified_by = $4::uuid WHERE id = $1::uuid "
                                  + "RETURNING " + Tree.COLUMNS)
                              .execute(Tuple.of(id, parent, name, actor)))))
                  .compose(rows -> {
                    JsonObject restored = Tree.toJson(rows.iterator().next());
                    return log.lastNode(tx, "restored", restored, actor).map(restored);
                  });
            })
        .recover(Tree::nameTaken);
  }

  /** The name, or its first free variant, in the folder. */
  static Future<String> freeName(SqlClient conn, String space, String parent, String name, String label) {
    return freeName(conn, space, parent, name, label, 0);
  }

  private static Future<String> freeName(SqlClient conn, String space, String parent, String name, String label, int n) {
    if (n > MAX_VARIANTS) {
      return Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "No free name like '" + name + "' is left here"));
    }
    String candidate = n == 0 ? name : Names.variant(name, label, n);
    return Tree.liveChild(conn, space, parent, candidate)
        .compose(existing -> existing == null ? Future.succeededFuture(candidate)
            : freeName(conn, space, parent, name, label, n + 1));
  }

  /** A new file with the same content: the version row references the same chunks, no bytes are copied. */
  public Future<JsonObject> copy(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    String nodeId = request.getString("node");
    boolean targeted = request.containsKey("parent_id");
    String targetParent = Requests.string(request, "parent_id");
    String rawName = Requests.string(request, "name");
    String givenName = rawName == null ? null : Names.require(rawName);
    return log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.liveFile(tx.conn(), space, nodeId)
                .compose(source -> {
                  SqlClient conn = tx.conn();
                  String parent = targeted ? targetParent : source.getString("parent_id");
                  Future<String> name = givenName == null
                      ? freeName(conn, space, parent, source.getString("name"), "copy")
                      : Tree.liveChild(conn, space, parent, givenName).compose(existing -> existing == null
                          ? Future.succeededFuture(givenName)
                          : Future.failedFuture(new ApiException(ErrorCode.NAME_TAKEN, "'" + givenName + "' exists there")));
                  return Tree.requireFolder(conn, space, parent)
                      .compose(v -> Tree.checkRoom(conn, space, parent, limits.folderEntryLimit()))
                      .compose(v -> Tree.checkQuota(conn, locked.ownerId(), source.getLong("size"), limits.userQuota()))
                      .compose(v -> name)
                      .compose(chosen -> conn.preparedQuery("INSERT INTO nodes AS n (space_id, parent_id, name, type, "
                              + "size, sha256, created_by, modified_by) SELECT $1::uuid, $2::uuid, $3, 'file', size, sha256, "
                              + "$4::uuid, $4::uuid FROM nodes WHERE id = $5::uuid RETURNING " + Tree.COLUMNS)
                          .execute(Tuple.of(space, parent, chosen, actor, source.getString("id"))))
                      .compose(rows -> {
                        JsonObject copy = Tree.toJson(rows.iterator().next());
                        return conn.preparedQuery("INSERT INTO file_versions (node_id, version, size, sha256, chunks, "
                                + "chunk_sizes, author) SELECT $1::uuid, 1, size, sha256, chunks, chunk_sizes, $2::uuid "
                                + "FROM file_versions WHERE node_id = $3::uuid ORDER BY version DESC LIMIT 1")
                            .execute(Tuple.of(copy.getString("id"), actor, source.getString("id")))
                            .compose(v -> log.node(tx, "created", copy, actor)).map(copy);
                      });
                }))
        .recover(Tree::nameTaken);
  }

  /** Makes an earlier version the newest: a new version with that content; the history stays. */
  public Future<JsonObject> restoreVersion(JsonObject request) {
    String actor = actor(request);
    String space = space(request);
    String nodeId = request.getString("node");
    long version = Requests.requiredLong(request, "version");
    Long expected = Requests.optionalLong(request, "if_match");
    return log.write(space, actor, Access.Action.WRITE, (tx, locked) -> Tree.liveFile(tx.conn(), space, nodeId)
                .compose(node -> Tree.ifMatch(node, expected)
                    .compose(ok -> tx.conn().preparedQuery("SELECT size FROM file_versions WHERE node_id = $1::uuid "
                            + "AND version = $2").execute(Tuple.of(node.getString("id"), version)))
                    .compose(rows -> rows.size() == 0 ? Tree.<Void>notFound("No such version")
                        : Tree.checkQuota(tx.conn(), locked.ownerId(), rows.iterator().next().getLong(0), limits.userQuota()))
                    .compose(ok -> tx.conn().preparedQuery("INSERT INTO file_versions (node_id, version, size, sha256, chunks, "
                            + "chunk_sizes, author) SELECT node_id, $3, size, sha256, chunks, chunk_sizes, $4::uuid "
                            + "FROM file_versions WHERE node_id = $1::uuid AND version = $2")
                        .execute(Tuple.of(node.getString("id"), version, node.getLong("version") + 1, actor)))
                    .compose(ok -> tx.conn().preparedQuery("UPDATE nodes AS n SET version = n.version + 1, size = fv.size, "
                            + "sha256 = fv.sha256, modified_at = now(), modified_by = $3::uuid FROM file_versions fv "
                            + "WHERE n.id = $1::uuid AND fv.node_id = n.id AND fv.version = $2 RETURNING " + Tree.COLUMNS)
                        .execute(Tuple.of(node.getString("id"), node.getLong("version") + 1, actor)))
                    .compose(rows -> {
                      JsonObject updated = Tree.toJson(rows.iterator().next());
                      return log.node(tx, "updated", updated, actor).map(updated);
                    })));
  }
}
