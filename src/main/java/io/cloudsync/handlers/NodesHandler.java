package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** The node tree of a space: folders, rename and move, trash, versions, copies, and name search. */
public final class NodesHandler {
  private final Vertx vertx;

  public NodesHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  private Future<JsonObject> call(RoutingContext ctx, String address, JsonObject request) {
    String node = ctx.pathParam("node");
    if (node != null) {
      request.put("node", node);
    }
    return Calls.call(vertx, ctx, address, request);
  }

  /** Node answers carry the version as the ETag, for the next If-Match. */
  private static void withEtag(Future<JsonObject> call, RoutingContext ctx, int status) {
    Calls.answer(call.onSuccess(node -> ctx.response().putHeader("ETag", "\"" + node.getLong("version") + "\"")), ctx, status);
  }

  public void list(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("parent", emptyToNull(ctx.queryParams().get("parent")))
        .put("cursor", emptyToNull(ctx.queryParams().get("cursor")))
        .put("limit", Calls.longParam(ctx, "limit"));
    Calls.answer(call(ctx, Addresses.NODES_LIST, request), ctx, 200);
  }

  public void create(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("parent_id", Bodies.string(body, "parent_id"))
        .put("name", Bodies.string(body, "name"))
        .put("type", Bodies.string(body, "type"));
    withEtag(call(ctx, Addresses.NODES_CREATE_FOLDER, request), ctx, 201);
  }

  public void get(RoutingContext ctx) {
    withEtag(call(ctx, Addresses.NODES_GET, new JsonObject()), ctx, 200);
  }

  /** {@code {name?, parent_id?}}; {@code "parent_id": null} moves to the top level. */
  public void update(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("name", Bodies.string(body, "name"))
        .put("if_match", Calls.ifMatch(ctx));
    if (body.containsKey("parent_id")) {
      request.put("parent_id", Bodies.string(body, "parent_id"));
    }
    withEtag(call(ctx, Addresses.NODES_UPDATE, request), ctx, 200);
  }

  public void delete(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("if_match", Calls.ifMatch(ctx))
        .put("purge", "true".equalsIgnoreCase(ctx.queryParams().get("purge")));
    Calls.answer(call(ctx, Addresses.NODES_DELETE, request), ctx, 204);
  }

  public void restore(RoutingContext ctx) {
    withEtag(call(ctx, Addresses.NODES_RESTORE, new JsonObject()), ctx, 200);
  }

  /** {@code {parent_id?, name?}}: without a parent, next to the original. */
  public void copy(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject().put("name", Bodies.string(body, "name"));
    if (body.containsKey("parent_id")) {
      request.put("parent_id", Bodies.string(body, "parent_id"));
    }
    withEtag(call(ctx, Addresses.NODES_COPY, request), ctx, 201);
  }

  public void trash(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("offset", Calls.longParam(ctx, "offset"));
    Calls.answer(call(ctx, Addresses.NODES_TRASH, request), ctx, 200);
  }

  public void versions(RoutingContext ctx) {
    Calls.answer(call(ctx, Addresses.NODES_VERSIONS, new JsonObject()), ctx, 200);
  }

  public void restoreVersion(RoutingContext ctx) {
    long version;
    try {
      version = Long.parseLong(ctx.pathParam("version"));
    } catch (NumberFormatException e) {
      throw new ApiException(ErrorCode.NOT_FOUND, "No such version");
    }
    JsonObject request = new JsonObject().put("version", version).put("if_match", Calls.ifMatch(ctx));
    withEtag(call(ctx, Addresses.NODES_RESTORE_VERSION, request), ctx, 200);
  }

  /** {@code GET /api/v1/search?q=…[&space=…][&limit=…][&offset=…]}. */
  public void search(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("q", ctx.queryParams().get("q"))
        .put("space", emptyToNull(ctx.queryParams().get("space")))
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("offset", Calls.longParam(ctx, "offset"));
    Calls.answer(call(ctx, Addresses.NODES_SEARCH, request), ctx, 200);
  }

  private static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
