package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;

/**
 * JSON documents over HTTP: {@code PUT}/{@code GET …/docs/{path…}}, the equality query
 * {@code GET …/docs}, a document by id ({@code GET …/nodes/{node}/document}) and merge patches
 * ({@code PATCH …/nodes/{node}} with {@code application/merge-patch+json}).
 */
public final class DocsHandler {
  public static final String MERGE_PATCH = "application/merge-patch+json";
  private static final String DOCS_PREFIX = "/docs/";

  private final Vertx vertx;

  public DocsHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Whether the request's body is an RFC 7396 merge patch. */
  public static boolean isMergePatch(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    return type != null && type.toLowerCase(Locale.ROOT).split(";", 2)[0].strip().equals(MERGE_PATCH);
  }

  private Future<JsonObject> call(RoutingContext ctx, String address, JsonObject request) {
    String node = ctx.pathParam("node");
    if (node != null) {
      request.put("node", node);
    }
    return Calls.call(vertx, ctx, address, request);
  }

  /** {@code PUT …/docs/{path…}}: the body is the document; 201 when made, 200 when replaced. */
  public void put(RoutingContext ctx) {
    JsonObject request = new JsonObject().put("path", docPath(ctx))
        .put("content", body(ctx, ErrorCode.DOCUMENT_NOT_OBJECT, "A document must be a JSON object"))
        .put("if_match", Calls.ifMatch(ctx));
    call(ctx, Addresses.DOCS_PUT, request)
        .onSuccess(answer -> {
          etag(ctx, answer.getJsonObject("node"));
          Responses.json(ctx, answer.getBoolean("created") ? 201 : 200, nodeWithContent(answer));
        })
        .onFailure(ctx::fail);
  }

  /** {@code GET …/docs/{path…}}: the document itself, with its version as the ETag. */
  public void get(RoutingContext ctx) {
    read(ctx, new JsonObject().put("path", docPath(ctx)));
  }

  /** {@code GET …/nodes/{node}/document[?version=n]}: the document (or one of its versions) by id. */
  public void getById(RoutingContext ctx) {
    read(ctx, new JsonObject().put("version", Calls.longParam(ctx, "version")));
  }

  private void read(RoutingContext ctx, JsonObject request) {
    boolean current = request.getValue("version") == null;
    call(ctx, Addresses.DOCS_GET, request)
        .onSuccess(answer -> {
          JsonObject node = answer.getJsonObject("node");
          ctx.response().putHeader("CloudSync-Node", node.getString("id"))
              .putHeader("Cache-Control", "private, no-cache");
          if (current) {
            String tag = etag(ctx, node);
            if (ContentHandler.matches(ctx.request().getHeader("If-None-Match"), tag)) {
              ctx.response().setStatusCode(304).end();
              return;
            }
          }
          Responses.json(ctx, 200, answer.getJsonObject("content"));
        })
        .onFailure(ctx::fail);
  }

  /** {@code PATCH …/nodes/{node}} with a merge patch: the node with its new {@code content}. */
  public void patch(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("patch", body(ctx, ErrorCode.INVALID_PATCH,
            "A merge patch for a document must be a JSON object (any other would replace the whole document)"))
        .put("if_match", Calls.ifMatch(ctx));
    call(ctx, Addresses.DOCS_PATCH, request)
        .onSuccess(answer -> {
          etag(ctx, answer.getJsonObject("node"));
          Responses.json(ctx, 200, nodeWithContent(answer));
        })
        .onFailure(ctx::fail);
  }

  /** {@code GET …/docs?path_prefix=…&where=field=value&…&limit=…&cursor=…}. */
  public void query(RoutingContext ctx) {
    JsonObject where = new JsonObject();
    for (String clause : ctx.queryParams().getAll("where")) {
      int eq = clause.indexOf('=');
      if (eq <= 0) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "where must be field=value, such as where=status=open");
      }
      String field = clause.substring(0, eq);
      if (where.containsKey(field)) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "where names " + field + " twice");
      }
      where.put(field, whereValue(clause.substring(eq + 1)));
    }
    JsonObject request = new JsonObject()
        .put("path_prefix", ctx.queryParams().get("path_prefix"))
        .put("where", where)
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("cursor", emptyToNull(ctx.queryParams().get("cursor")));
    Calls.answer(call(ctx, Addresses.DOCS_QUERY, request), ctx, 200);
  }

  /** A JSON number, true, false, null or "quoted string" is that value; anything else is the text as written. */
  static Object whereValue(String text) {
    try {
      Object value = Json.decodeValue(text);
      if (!(value instanceof JsonObject) && !(value instanceof JsonArray)) {
        return value;
      }
    } catch (DecodeException e) {
      // Plain text: compared as a string.
    }
    return text;
  }

  private static JsonObject nodeWithContent(JsonObject answer) {
    return answer.getJsonObject("node").copy().put("content", answer.getJsonObject("content"));
  }

  private static String etag(RoutingContext ctx, JsonObject node) {
    String tag = "\"" + node.getLong("version") + "\"";
    ctx.response().putHeader("ETag", tag);
    return tag;
  }


  /** The body as a JSON object: 400 invalid_json when it is not JSON, the given code when it is JSON but no object. */
  private static JsonObject body(RoutingContext ctx, ErrorCode notObject, String message) {
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw new ApiException(ErrorCode.INVALID_JSON, "The request body is empty; send a JSON object");
    }
    Object value;
    try {
      value = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw new ApiException(ErrorCode.INVALID_JSON, "The request body is not valid JSON");
    }
    if (!(value instanceof JsonObject object)) {
      throw new ApiException(notObject, message);
    }
    return object;
  }

  /** The path after {@code /docs/}, percent-decoded, refused as file paths are. */
  private static String docPath(RoutingContext ctx) {
    return ContentHandler.pathAfter(ctx, DOCS_PREFIX, "document");
  }

  private static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
