package io.cloudsync.handlers;

import io.cloudsync.auth.OAuthLogins;
import io.cloudsync.auth.Secrets;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * {@code /api/v1/auth/oauth/{provider}/start} and {@code .../callback}: the browser side of OAuth
 * sign-in. The start binds the sign-in to the browser with a cookie holding a random value (only
 * its SHA-256 reaches the auth verticle and the database); the callback hands the CloudSync tokens
 * to the web app in the URL fragment, which browsers never send to a server or put in a Referer.
 */
public final class OAuthHandler {
  public static final String COOKIE = "cloudsync_oauth";
  static final String COOKIE_PATH = "/api/v1/auth/oauth";
  private static final Pattern COOKIE_VALUE = Pattern.compile("^[A-Za-z0-9_\\-]{43}$");

  private final Vertx vertx;
  private final CloudSyncConfig.Auth config;
  private final boolean secureCookie;

  public OAuthHandler(Vertx vertx, CloudSyncConfig.Auth config) {
    this.vertx = vertx;
    this.config = config;
    this.secureCookie = config.redirectBase().startsWith("https://");
  }

  public void start(RoutingContext ctx) {
    // A browser that has a binding keeps it, so two tabs signing in at once do not undo each other.
    String browser = cookieValue(ctx);
    String binding = browser != null ? browser : Secrets.token(32);
    JsonObject request = new JsonObject()
        .put("provider", ctx.pathParam("provider"))
        .put("browser_hash", Secrets.sha256Hex(binding));
    Bus.request(vertx, Addresses.AUTH_OAUTH_START, request)
        .onSuccess(answer -> {
          ctx.response().addCookie(Cookie.cookie(COOKIE, binding)
              .setPath(COOKIE_PATH)
              .setMaxAge(OAuthLogins.STATE_TTL_SECONDS)
              .setHttpOnly(true)
              .setSecure(secureCookie)
              .setSameSite(CookieSameSite.LAX));
          redirect(ctx, answer.getString("authorize_url"));
        })
        .onFailure(ctx::fail);
  }

  public void callback(RoutingContext ctx) {
    String browser = cookieValue(ctx);
    JsonObject request = new JsonObject()
        .put("provider", ctx.pathParam("provider"))
        .put("code", ctx.queryParams().get("code"))
        .put("state", ctx.queryParams().get("state"))
        .put("error", ctx.queryParams().get("error"))
        .put("browser_hash", browser == null ? null : Secrets.sha256Hex(browser));
    Bus.request(vertx, Addresses.AUTH_OAUTH_CALLBACK, request)
        .onSuccess(pair -> redirect(ctx, successUrl(pair)))
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /api/v1/auth/providers}: the providers this installation is configured for, so a sign-in page
   * shows only the buttons that work. A provider needs its client id and {@code auth.oauth.redirect_base}.
   */
  public void providers(RoutingContext ctx) {
    JsonArray names = new JsonArray();
    if (!config.redirectBase().isEmpty()) {
      if (config.google().enabled()) {
        names.add("google");
      }
      if (config.github().enabled()) {
        names.add("github");
      }
      if (!config.oidcIssuer().isEmpty() && config.oidc().enabled()) {
        names.add("oidc");
      }
    }
    Responses.ok(ctx, new JsonObject().put("providers", names));
  }

  private static String cookieValue(RoutingContext ctx) {
    Cookie cookie = ctx.request().getCookie(COOKIE);
    return cookie != null && COOKIE_VALUE.matcher(cookie.getValue()).matches() ? cookie.getValue() : null;
  }

  /** The web app's URL with the token pair in the fragment (never the query: that reaches servers and logs). */
  private String successUrl(JsonObject pair) {
    String base = config.successUrl();
    int hash = base.indexOf('#');
    if (hash >= 0) {
      base = base.substring(0, hash);
    }
    return base + "#access_token=" + encode(pair.getString("access_token"))
        + "&refresh_token=" + encode(pair.getString("refresh_token"))
        + "&token_type=Bearer"
        + "&expires_in=" + pair.getValue("expires_in");
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static void redirect(RoutingContext ctx, String location) {
    ctx.response()
        .setStatusCode(302)
        .putHeader(HttpHeaders.LOCATION, location)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader("Pragma", "no-cache")
        .end();
  }
}
