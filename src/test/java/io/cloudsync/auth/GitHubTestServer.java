package io.cloudsync.auth;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Speaks the parts of GitHub that sign-in uses, in GitHub's shapes: the OAuth app's authorize
 * redirect and code exchange (at {@code /login/oauth/...} of the "site"), and {@code /user} and
 * {@code /user/emails} of the API (under {@code /api}). The exchange is strict the way GitHub is:
 * right client secret, the same redirect URI, a code used once, and a PKCE verifier that matches
 * the S256 challenge. Failures answer 200 with an {@code error} field, as GitHub does.
 */
final class GitHubTestServer {
  /** The GitHub account the next authorization signs in as. */
  record Account(long id, String login, String name, JsonArray emails) {
  }

  private record Grant(String redirectUri, String challenge, Account account) {
  }

  private final String clientId;
  private final String clientSecret;
  private final Map<String, Grant> codes = new ConcurrentHashMap<>();
  private final Map<String, Account> tokens = new ConcurrentHashMap<>();
  /** Every refusal of the token endpoint, so a test can say why an exchange failed. */
  final List<String> refusals = new CopyOnWriteArrayList<>();
  private volatile Account next;
  private HttpServer server;

  GitHubTestServer(String clientId, String clientSecret) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
  }

  GitHubTestServer start(Vertx vertx) {
    Router router = Router.router(vertx);
    router.get("/login/oauth/authorize").handler(this::authorize);
    router.post("/login/oauth/access_token").handler(BodyHandler.create(false)).handler(this::accessToken);
    router.get("/api/user").handler(ctx -> withAccount(ctx, account -> new JsonObject()
        .put("id", account.id()).put("login", account.login()).put("name", account.name()).putNull("email")));
    router.get("/api/user/emails").handler(ctx -> withAccount(ctx, Account::emails));
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
    return this;
  }

  void stop() {
    server.close().await();
  }

  String url() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  void signInNextAs(Account account) {
    next = account;
  }

  static JsonObject email(String address, boolean primary, boolean verified) {
    return new JsonObject().put("email", address).put("primary", primary).put("verified", verified)
        .put("visibility", primary ? "private" : null);
  }

  private void authorize(RoutingContext ctx) {
    var query = ctx.queryParams();
    if (!clientId.equals(query.get("client_id")) || !"S256".equals(query.get("code_challenge_method"))
        || query.get("code_challenge") == null || query.get("redirect_uri") == null || next == null) {
      ctx.response().setStatusCode(400).end("bad authorization request");
      return;
    }
    String code = UUID.randomUUID().toString();
    codes.put(code, new Grant(query.get("redirect_uri"), query.get("code_challenge"), next));
    ctx.response().setStatusCode(302).putHeader("Location", query.get("redirect_uri")
        + "?code=" + code + "&state=" + URLEncoder.encode(query.get("state"), StandardCharsets.UTF_8)).end();
  }

  private void accessToken(RoutingContext ctx) {
    var form = ctx.request().formAttributes();
    String id = form.get("client_id");
    String secret = form.get("client_secret");
    String basic = ctx.request().getHeader("Authorization");
    if (basic != null && basic.startsWith("Basic ")) {
      String[] pair = new String(Base64.getDecoder().decode(basic.substring(6)), StandardCharsets.UTF_8).split(":", 2);
      id = pair[0];
      secret = pair.length > 1 ? pair[1] : null;
    }
    Grant grant = form.get("code") == null ? null : codes.remove(form.get("code"));
    String verifier = form.get("code_verifier");
    String refusal = null;
    if (!clientId.equals(id) || !clientSecret.equals(secret)) {
      refusal = "incorrect_client_credentials";
    } else if (grant == null) {
      refusal = "bad_verification_code";
    } else if (!grant.redirectUri().equals(form.get("redirect_uri"))) {
      refusal = "redirect_uri_mismatch";
    } else if (verifier == null || !grant.challenge().equals(Secrets.base64Url(
        Secrets.sha256(verifier.getBytes(StandardCharsets.US_ASCII))))) {
      refusal = "invalid_code_verifier";
    }
    JsonObject answer;
    if (refusal != null) {
      refusals.add(refusal);
      answer = new JsonObject().put("error", refusal).put("error_description", refusal);
    } else {
      String token = "gho_" + UUID.randomUUID().toString().replace("-", "");
      tokens.put(token, grant.account());
      answer = new JsonObject().put("access_token", token).put("token_type", "bearer").put("scope", "read:user,user:email");
    }
    ctx.response().putHeader("Content-Type", "application/json").end(answer.encode());
  }

  private void withAccount(RoutingContext ctx, java.util.function.Function<Account, Object> answer) {
    String header = ctx.request().getHeader("Authorization");
    Account account = header == null ? null : tokens.get(header.replaceFirst("(?i)^(bearer|token) ", ""));
    if (account == null || ctx.request().getHeader("User-Agent") == null) {
      ctx.response().setStatusCode(401).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("message", "Requires authentication").encode());
      return;
    }
    Object body = answer.apply(account);
    ctx.response().putHeader("Content-Type", "application/json")
        .end(body instanceof JsonArray array ? array.encode() : ((JsonObject) body).encode());
  }
}
