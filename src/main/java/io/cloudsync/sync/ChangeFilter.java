package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;

/**
 * One subscription's filter at its position in the log: decides change by change, in seq order,
 * whether the client gets it. Paths are judged as they were at that change (see {@link TreeView}),
 * so a node moved out of the prefix is sent once more, marked {@code "subtree":"left"}, and one
 * moved (or renamed, or restored) into it is marked {@code "subtree":"entered"}. Membership changes
 * (shared, unshared) always pass.
 *
 * <p>Not thread-safe: one subscription, one event loop.
 */
public final class ChangeFilter {
  private final Filter filter;
  private final Pool pool;
  private final String space;
  /** The folders as of the position; only while a prefix or a snapshot needs paths. */
  private TreeView view;

  private ChangeFilter(Filter filter, Pool pool, String space, TreeView view) {
    this.filter = filter;
    this.pool = pool;
    this.space = space;
    this.view = view;
  }

  /** The filter positioned at {@code seq}; reads the folder tree when a prefix or a snapshot needs it. */
  public static Future<ChangeFilter> at(Filter filter, boolean snapshot, Pool pool, String space, long seq,
                                        int maxFolders) {
    if (filter.prefix() == null && !snapshot) {
      return Future.succeededFuture(new ChangeFilter(filter, pool, space, null));
    }
    return TreeView.load(pool, space, seq, maxFolders).map(view -> new ChangeFilter(filter, pool, space, view));
  }

  /**
   * The next change (the one after the previous decision) as the client gets it: the change itself,
   * a marked copy when it crossed the prefix, or null to skip it. Completes at once unless it must
   * look up where a moved file was. Fails with 400 when the space outgrew {@code sync.max_tracked_folders}.
   */
  public Future<JsonObject> decide(JsonObject change) {
    JsonObject node = change.getValue("node") instanceof JsonObject json ? json : null;
    if (node == null || !filter.filters() && view == null) {
      return Future.succeededFuture(change);
    }
    if (view == null) {
      return Future.succeededFuture(conclude(change, true, true));
    }
    String id = node.getString("id");
    boolean folder = "folder".equals(node.getString("type"));
    String before = folder && view.isFolder(id) ? view.folderPath(id) : null;
    try {
      view.apply(change);
    } catch (ApiException tooBig) {
      return Future.failedFuture(tooBig);
    }
    if (filter.prefix() == null) {
      return Future.succeededFuture(conclude(change, true, true));
    }
    boolean inside = filter.pathMatches(view.pathOf(node.getString("parent_id"), node.getString("name")));
    String kind = change.getString("kind");
    if (folder || !filter.typeMatches(node.getString("type")) || !("moved".equals(kind) || "renamed".equals(kind))) {
      return Future.succeededFuture(conclude(change, inside, folder ? filter.pathMatches(before) : inside));
    }
    // A file or document moved or renamed: whether it crossed the prefix depends on where it was.
    // Only this change lies between that and now, so the view still has the folders it was in.
    TreeView atChange = view;
    return TreeView.previous(pool, space, id, change.getLong("seq"))
        .map(previous -> previous != null && filter.pathMatches(
            atChange.pathOf(previous.getString("parent_id"), previous.getString("name"))))
        // Unknown (the read failed): say it crossed, which a client that already had it, or never did, can ignore.
        .recover(failure -> Future.succeededFuture(!inside))
        .map(was -> conclude(change, inside, was));
  }

  private JsonObject conclude(JsonObject change, boolean inside, boolean was) {
    if (!filter.typeMatches(change.getJsonObject("node").getString("type")) || !inside && !was) {
      return null;
    }
    if (inside != was && !"created".equals(change.getString("kind"))) {
      return change.copy().put("subtree", inside ? "entered" : "left");
    }
    return change;
  }

  /**
   * The snapshot's part of one page of {@link TreeView#nodesPage}: the live nodes that match, as
   * their newest change had them.
   */
  public JsonArray snapshot(JsonArray rows) {
    JsonArray nodes = new JsonArray();
    for (Object each : rows) {
      JsonObject row = (JsonObject) each;
      JsonObject node = row.getJsonObject("node");
      String parent = node.getString("parent_id");
      if (!"purged".equals(row.getString("kind")) && node.getValue("deleted_at") == null
          && filter.typeMatches(node.getString("type")) && (parent == null || view.liveChain(parent))
          && filter.pathMatches(view.pathOf(parent, node.getString("name")))) {
        // What the change said beside the node (a conflict's loser, a document's patch) is about that change;
        // a document's snapshot carries its content instead, or says to read it.
        node.remove("conflict");
        node.remove("doc");
        if ("document".equals(node.getString("type"))) {
          JsonObject content = row.getJsonObject("content");
          node.put("doc", content == null ? new JsonObject().put("omitted", true) : new JsonObject().put("content", content));
        }
        nodes.add(node);
      }
    }
    return nodes;
  }

  /** After a snapshot: the folder tree is kept only when the prefix needs it. */
  public void snapshotDone() {
    if (filter.prefix() == null) {
      view = null;
    }
  }
}
