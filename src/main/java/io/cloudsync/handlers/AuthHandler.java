package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.auth.TokenService;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code /api/v1/auth/*}, {@code /api/v1/me}, {@code /api/v1/admin/*} and the JWKS document. */
public final class AuthHandler {
  private final Vertx vertx;
  private final TokenService tokens;
  private final ClientAddress clientAddress;

  public AuthHandler(Vertx vertx, TokenService tokens, ClientAddress clientAddress) {
    this.vertx = vertx;
    this.tokens = tokens;
    this.clientAddress = clientAddress;
  }

  public void signup(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("email", Bodies.string(body, "email"))
        .put("password", Bodies.string(body, "password"))
        .put("display_name", Bodies.string(body, "display_name"));
    Bus.request(vertx, Addresses.AUTH_SIGNUP, request)
        .onSuccess(user -> Responses.json(ctx, 201, new JsonObject().put("user", user)))
        .onFailure(ctx::fail);
  }

  public void token(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("email", Bodies.string(body, "email"))
        .put("password", Bodies.string(body, "password"))
        .put("totp", Bodies.string(body, "totp"))
        .put("client_ip", clientAddress.of(ctx.request()));
    Bus.request(vertx, Addresses.AUTH_TOKEN, request)
        .onSuccess(pair -> tokenAnswer(ctx, pair))
        .onFailure(ctx::fail);
  }

  public void refresh(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    Bus.request(vertx, Addresses.AUTH_REFRESH, new JsonObject().put("refresh_token", Bodies.string(body, "refresh_token")))
        .onSuccess(pair -> tokenAnswer(ctx, pair))
        .onFailure(ctx::fail);
  }

  public void logout(RoutingContext ctx) {
    Principal caller = Principal.of(ctx);
    Bus.request(vertx, Addresses.AUTH_LOGOUT, new JsonObject().put("jti", caller.tokenId()).put("sid", caller.sessionId())
            .put("client_ip", clientAddress.of(ctx.request())))
        .onSuccess(done -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  public void me(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_ME, new JsonObject());
  }

  public void mfaSetup(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_MFA_SETUP, new JsonObject());
  }

  public void mfaVerify(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    forCaller(ctx, Addresses.AUTH_MFA_VERIFY, new JsonObject().put("code", Bodies.string(body, "code")));
  }

  public void adminUsers(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_ADMIN_USERS, new JsonObject()
        .put("limit", intParam(ctx, "limit", 100)).put("offset", intParam(ctx, "offset", 0)));
  }

  public void adminDisable(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_ADMIN_SET_DISABLED,
        new JsonObject().put("target_id", ctx.pathParam("user")).put("disabled", true));
  }

  public void adminEnable(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_ADMIN_SET_DISABLED,
        new JsonObject().put("target_id", ctx.pathParam("user")).put("disabled", false));
  }

  public void adminRotateKeys(RoutingContext ctx) {
    forCaller(ctx, Addresses.AUTH_ADMIN_ROTATE_KEYS, new JsonObject());
  }

  public void jwks(RoutingContext ctx) {
    ctx.response().putHeader("Cache-Control", "public, max-age=300");
    Responses.ok(ctx, tokens.jwks());
  }

  private void forCaller(RoutingContext ctx, String address, JsonObject request) {
    Bus.request(vertx, address, request.put("user_id", Principal.of(ctx).userId()))
        .onSuccess(answer -> Responses.ok(ctx, answer))
        .onFailure(ctx::fail);
  }

  private static int intParam(RoutingContext ctx, String name, int fallback) {
    String value = ctx.queryParams().get(name);
    if (value == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new io.cloudsync.errors.ApiException(io.cloudsync.errors.ErrorCode.VALIDATION_FAILED, name + " must be a number");
    }
  }

  /** Token answers must not be cached by browsers or proxies (RFC 6749 §5.1). */
  private static void tokenAnswer(RoutingContext ctx, JsonObject pair) {
    ctx.response().putHeader("Cache-Control", "no-store").putHeader("Pragma", "no-cache");
    Responses.ok(ctx, pair);
  }
}
