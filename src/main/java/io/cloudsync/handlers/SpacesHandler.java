package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code /api/v1/spaces}, their members and their change log. */
public final class SpacesHandler {
  private final Vertx vertx;

  public SpacesHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  public void create(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("name", Bodies.string(body, "name"))
        .put("conflict_policy", Bodies.string(body, "conflict_policy"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_CREATE, request), ctx, 201);
  }

  public void list(RoutingContext ctx) {
    JsonObject request = new JsonObject()
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("offset", Calls.longParam(ctx, "offset"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_LIST, request), ctx, 200);
  }

  public void get(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_GET, new JsonObject()), ctx, 200);
  }

  public void update(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("name", Bodies.string(body, "name"))
        .put("conflict_policy", Bodies.string(body, "conflict_policy"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_UPDATE, request), ctx, 200);
  }

  public void delete(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_DELETE, new JsonObject()), ctx, 204);
  }

  public void members(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_MEMBERS, new JsonObject()), ctx, 200);
  }

  /** PUT {@code …/members/{user}} {@code {role}}. */
  public void putMember(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("user", ctx.pathParam("user"))
        .put("role", Bodies.string(body, "role"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_SHARE, request), ctx, 200);
  }

  /** POST {@code …/members} {@code {email | user_id, role}}: sharing by email address. */
  public void addMember(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("user", Bodies.string(body, "user_id"))
        .put("email", Bodies.string(body, "email"))
        .put("role", Bodies.string(body, "role"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_SHARE, request), ctx, 200);
  }

  public void removeMember(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.SPACES_UNSHARE, new JsonObject().put("user", ctx.pathParam("user"))),
        ctx, 204);
  }
}
