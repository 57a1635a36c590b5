package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.HashMap;
import java.util.Map;

/**
 * The folders of one space as of one change number, rebuilt from the change log (the newest change
 * of each folder at or before it) and moved forward change by change. It answers where a node is
 * — its path — at exactly the point of the log a subscription has reached, which the current tree
 * cannot: a subscription reading its backlog is behind it.
 *
 * <p>Only folders are held (a path needs only the folders above a node); their number is bounded
 * by {@code sync.max_tracked_folders}. Paths are lower case and NFC, as {@link Filter} compares them.
 * A folder's own trash state is kept too, so a snapshot can tell live nodes from trashed ones:
 * trashing a folder logs one change for the folder, none for what is inside it.
 */
public final class TreeView {
  /** Characters of document content one snapshot page carries at most (documents are up to docs.max_size each). */
  static final long SNAPSHOT_CONTENT_BUDGET = 4L * 1024 * 1024;

  /** The lowest uuid: snapshot pages start after it. */
  public static final String FIRST_ID = "00000000-0000-0000-0000-000000000000";
  private static final int MAX_DEPTH = 10_000;

  private record Folder(String parentId, String key, boolean live) {
  }

  private final Map<String, Folder> folders = new HashMap<>();
  private final int maxFolders;

  private TreeView(int maxFolders) {
    this.maxFolders = maxFolders;
  }

  /** The folder tree of the space as of {@code seq}; 400 when it has more than {@code maxFolders} folders. */
  public static Future<TreeView> load(Pool pool, String space, long seq, int maxFolders) {
    return pool.preparedQuery("SELECT DISTINCT ON (node_id) node_id::text AS id, kind, payload->>'parent_id' AS parent_id, "
            + "payload->>'name' AS name, payload->>'deleted_at' AS deleted_at FROM changes "
            + "WHERE space_id = $1::uuid AND node_id IS NOT NULL AND seq <= $2 AND payload->>'type' = 'folder' "
            + "ORDER BY node_id, seq DESC LIMIT $3")
        .execute(Tuple.of(space, seq, maxFolders + 1))
        .map(rows -> {
          if (rows.size() > maxFolders) {
            throw tooMany(maxFolders);
          }
          TreeView view = new TreeView(maxFolders);
          for (Row row : rows) {
            if (!"purged".equals(row.getString("kind"))) {
              view.folders.put(row.getString("id"), new Folder(row.getString("parent_id"),
                  Filter.key(row.getString("name")), row.getValue("deleted_at") == null));
            }
          }
          return view;
        });
  }

  /**
   * Where the node was just before change {@code seq} (its parent and name), or null when that is
   * its first change: what a move or rename left.
   */
  public static Future<JsonObject> previous(Pool pool, String space, String nodeId, long seq) {
    return pool.preparedQuery("SELECT payload->>'parent_id' AS parent_id, payload->>'name' AS name FROM changes "
            + "WHERE space_id = $1::uuid AND node_id = $2::uuid AND seq < $3 ORDER BY seq DESC LIMIT 1")
        .execute(Tuple.of(space, nodeId, seq))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          Row row = rows.iterator().next();
          return new JsonObject().put("parent_id", row.getString("parent_id")).put("name", row.getString("name"));
        });
  }

  /**
   * One page of the nodes of the space as of {@code seq}, in id order after {@code afterId}: each
   * node's newest change at or before it. {@code {nodes:[{kind, node, content?}], next}}; next is
   * null at the end. A document comes with its content at that version while the page's contents
   * stay within {@link #SNAPSHOT_CONTENT_BUDGET} characters; past that, and when the version is no
   * longer kept, without it, and the client reads the document.
   */
  public static Future<JsonObject> nodesPage(Pool pool, String space, long seq, String afterId, int limit) {
    return pool.preparedQuery("SELECT c.id, c.kind, c.payload, v.content, length(v.content::text) AS content_length "
            + "FROM (SELECT DISTINCT ON (node_id) node_id, node_id::text AS id, kind, payload FROM changes "
            + "WHERE space_id = $1::uuid AND node_id IS NOT NULL AND seq <= $2 AND node_id > $3::uuid "
            + "ORDER BY node_id, seq DESC LIMIT $4) c "
            + "LEFT JOIN LATERAL (SELECT d.content FROM document_versions d WHERE c.payload->>'type' = 'document' "
            + "AND d.node_id = c.node_id AND d.version <= (c.payload->>'version')::bigint "
            + "ORDER BY d.version DESC LIMIT 1) v ON true ORDER BY c.node_id")
        .execute(Tuple.of(space, seq, afterId, limit))
        .map(rows -> {
          JsonArray nodes = new JsonArray();
          String last = null;
          long budget = SNAPSHOT_CONTENT_BUDGET;
          for (Row row : rows) {
            JsonObject node = json(row.getValue("payload"));
            JsonObject entry = new JsonObject().put("kind", row.getString("kind")).put("node", node);
            Object content = row.getValue("content");
            if (content != null && row.getLong("content_length") <= budget) {
              budget -= row.getLong("content_length");
              entry.put("content", json(content));
            }
            nodes.add(entry);
            last = row.getString("id");
          }
          return new JsonObject().put("nodes", nodes).put("next", rows.size() < limit ? null : last);
        });
  }

  private static JsonObject json(Object value) {
    return value instanceof JsonObject json ? json : new JsonObject(String.valueOf(value));
  }

  /** Moves the view past one change; fails when the space now has more folders than allowed. */
  public void apply(JsonObject change) {
    JsonObject node = change.getValue("node") instanceof JsonObject json ? json : null;
    if (node == null || !"folder".equals(node.getString("type"))) {
      return;
    }
    String id = node.getString("id");
    if ("purged".equals(change.getString("kind"))) {
      folders.remove(id);
      return;
    }
    folders.put(id, new Folder(node.getString("parent_id"), Filter.key(node.getString("name")),
        node.getValue("deleted_at") == null));
    if (folders.size() > maxFolders) {
      throw tooMany(maxFolders);
    }
  }

  /** The path of a node in {@code parentId} named {@code name}; null when an ancestor is unknown (purged). */
  public String pathOf(String parentId, String name) {
    String parent = folderPath(parentId);
    return parent == null || name == null ? null : parent + "/" + Filter.key(name);
  }

  /** The path of a folder as the view has it ("" for the top level, null when unknown). */
  public String folderPath(String folderId) {
    StringBuilder path = new StringBuilder();
    String id = folderId;
    for (int depth = 0; id != null; depth++) {
      Folder folder = folders.get(id);
      if (folder == null || depth > MAX_DEPTH) {
        return null;
      }
      path.insert(0, "/" + folder.key());
      id = folder.parentId();
    }
    return path.toString();
  }

  /** Whether the folder is known to the view (false for ids that are not folders). */
  public boolean isFolder(String id) {
    return id != null && folders.containsKey(id);
  }

  /** Whether every folder from this one up to the top is out of the trash. */
  public boolean liveChain(String folderId) {
    String id = folderId;
    for (int depth = 0; id != null; depth++) {
      Folder folder = folders.get(id);
      if (folder == null || !folder.live() || depth > MAX_DEPTH) {
        return false;
      }
      id = folder.parentId();
    }
    return true;
  }

  private static ApiException tooMany(int maxFolders) {
    return new ApiException(ErrorCode.VALIDATION_FAILED, "This space has more than " + maxFolders
        + " folders (sync.max_tracked_folders): subscribe without path_prefix and snapshot");
  }
}
