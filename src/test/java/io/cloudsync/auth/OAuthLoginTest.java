package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.handlers.OAuthHandler;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole browser dance against real providers: the mock OpenID Connect server for {@code oidc},
 * a GitHub look-alike for {@code github}. The client follows no redirects, so every hop is seen.
 */
@DisplayName("OAuth and OpenID Connect sign-in")
@ExtendWith(RealServers.class)
class OAuthLoginTest {
  private static final String ISSUER_ID = "cloudsync-oauth";
  private static final String OIDC_CLIENT = "cloudsync-web";
  private static final String GITHUB_CLIENT = "github-client";
  private static final String GITHUB_SECRET = "github-secret";
  private static final String SUCCESS_URL = "https://app.example.com/signed-in";
  private static final String ADMIN_EMAIL = "admin@example.com";

  private static Vertx vertx;
  private static WebClient client;
  private static Api api;
  private static CloudSyncHandle handle;
  private static MockOAuth2Server oidc;
  private static GitHubTestServer github;
  private static String base;
  private static String databaseUrl;
  private static String issuer;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    client = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false));
    oidc = servers.oidc();
    issuer = servers.oidcIssuer(ISSUER_ID);
    github = new GitHubTestServer(GITHUB_CLIENT, GITHUB_SECRET).start(vertx);
    // The redirect URI names our own port, so the port is chosen before the server starts.
    int port = Servers.freePort();
    base = "http://127.0.0.1:" + port;
    JsonObject config = TestCloudSync.config(servers);
    databaseUrl = config.getString("pg.url");
    handle = TestCloudSync.deploy(vertx, config
        .put("http.port", port)
        .put("auth.oauth.redirect_base", base)
        .put("auth.oauth.success_url", SUCCESS_URL)
        .put("auth.admin_emails", new JsonArray().add(ADMIN_EMAIL))
        .put("auth.oidc.issuer", issuer)
        .put("auth.oidc.client_id", OIDC_CLIENT)
        .put("auth.oidc.client_secret", "oidc-secret")
        .put("auth.github.client_id", GITHUB_CLIENT)
        .put("auth.github.client_secret", GITHUB_SECRET)
        .put("auth.github.site", github.url())
        .put("auth.github.api", github.url() + "/api"));
    assertThat(handle.httpPort()).isEqualTo(port);
    api = new Api(vertx, port);
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    github.stop();
    vertx.close().await();
  }

  // --- OpenID Connect ------------------------------------------------------------------------

  @Test
  @DisplayName("signs a new person in through the OpenID Connect provider and hands the tokens over in the URL fragment")
  void fullDance() {
    Browser browser = new Browser();
    HttpResponse<Buffer> start = browser.get(base + "/api/v1/auth/oauth/oidc/start");

    assertThat(start.statusCode()).isEqualTo(302);
    String authorize = start.getHeader("Location");
    assertThat(authorize).startsWith(issuer + "/authorize?");
    Map<String, String> query = query(authorize);
    assertThat(query).containsEntry("response_type", "code")
        .containsEntry("client_id", OIDC_CLIENT)
        .containsEntry("redirect_uri", base + "/api/v1/auth/oauth/oidc/callback")
        .containsEntry("code_challenge_method", "S256")
        .containsKeys("state", "nonce", "code_challenge");
    assertThat(query.get("code_challenge")).matches("[A-Za-z0-9_-]{43}");
    assertThat(query.get("scope").split(" ")).contains("openid", "email");
    String cookie = start.cookies().stream().filter(c -> c.startsWith(OAuthHandler.COOKIE + "=")).findFirst().orElseThrow();
    assertThat(cookie).contains("Path=/api/v1/auth/oauth").contains("Max-Age=600").containsIgnoringCase("HttpOnly").containsIgnoringCase("SameSite=Lax").doesNotContainIgnoringCase("Secure");
    assertThat(start.getHeader("Cache-Control")).isEqualTo("no-store");

    String subject = "oidc-" + UUID.randomUUID();
    String email = subject + "@example.org";
    enqueue(subject, email, true, "Ada Lovelace");
    HttpResponse<Buffer> atProvider = browser.get(authorize);
    assertThat(atProvider.statusCode()).isEqualTo(302);
    String callbackUrl = atProvider.getHeader("Location");
    assertThat(callbackUrl).startsWith(base + "/api/v1/auth/oauth/oidc/callback?");
    assertThat(query(callbackUrl)).containsKey("code").containsEntry("state", query.get("state"));

    HttpResponse<Buffer> callback = browser.get(callbackUrl);
    assertThat(callback.statusCode()).as(callback.bodyAsString()).isEqualTo(302);
    String location = callback.getHeader("Location");
    assertThat(location).startsWith(SUCCESS_URL + "#").doesNotContain("?");
    assertThat(callback.getHeader("Cache-Control")).isEqualTo("no-store");
    Map<String, String> tokens = fragment(callback);
    assertThat(tokens).containsEntry("token_type", "Bearer").containsKeys("access_token", "refresh_token", "expires_in");
    assertThat(Long.parseLong(tokens.get("expires_in"))).isPositive();

    JsonObject me = me(tokens.get("access_token"));
    assertThat(me.getString("email")).isEqualTo(email);
    assertThat(me.getString("display_name")).isEqualTo("Ada Lovelace");

    HttpResponse<Buffer> refreshed = api.post("/api/v1/auth/refresh",
        new JsonObject().put("refresh_token", tokens.get("refresh_token")));
    assertThat(refreshed.statusCode()).isEqualTo(200);
  }

  @Test
  @DisplayName("signs the same provider subject into the same account the second time, even when its email changed")
  void sameSubjectSameAccount() {
    String subject = "oidc-" + UUID.randomUUID();
    String first = me(signInWithOidc(subject, subject + "@example.org", true).get("access_token")).getString("id");
    String second = me(signInWithOidc(subject, "renamed-" + subject + "@example.org", false).get("access_token"))
        .getString("id");
    assertThat(second).isEqualTo(first);
  }

  @Test
  @DisplayName("links a verified email to the existing password account with that email")
  void verifiedEmailLinks() {
    String email = "linked-" + UUID.randomUUID() + "@example.org";
    String userId = api.signup(email, Api.PASSWORD).getString("id");

    Map<String, String> tokens = signInWithOidc("oidc-" + UUID.randomUUID(), email.toUpperCase(), true);

    assertThat(me(tokens.get("access_token")).getString("id")).isEqualTo(userId);
    assertThat(me(api.signIn(email, Api.PASSWORD).getString("access_token")).getString("id"))
        .as("the password still works").isEqualTo(userId);
  }

  @Test
  @DisplayName("refuses an unverified email that matches an existing account, and does not link it")
  void unverifiedEmailRefused() {
    String email = "victim-" + UUID.randomUUID() + "@example.org";
    api.signup(email, Api.PASSWORD);
    String subject = "oidc-" + UUID.randomUUID();

    assertError(oidcCallback(subject, email, false), 403, "oauth_failed", "not verified");
    // Nothing was linked: the same subject is still a stranger, and still refused.
    assertError(oidcCallback(subject, email, false), 403, "oauth_failed", "not verified");
  }

  @Test
  @DisplayName("makes no account from an unverified email")
  void unverifiedEmailCreatesNothing() {
    String email = "unverified-" + UUID.randomUUID() + "@example.org";

    assertError(oidcCallback("oidc-" + UUID.randomUUID(), email, false), 403, "oauth_failed", "not verified");

    assertThat(api.signup(email, Api.PASSWORD).getString("email")).as("the address is still free").isEqualTo(email);
  }

  @Test
  @DisplayName("refuses a disabled account")
  void disabledAccountRefused() {
    String subject = "oidc-" + UUID.randomUUID();
    String userId = me(signInWithOidc(subject, subject + "@example.org", true).get("access_token")).getString("id");
    HttpResponse<Buffer> disabled = api.post("/api/v1/admin/users/" + userId + "/disable", adminToken(), null);
    assertThat(disabled.statusCode()).isEqualTo(200);

    assertError(oidcCallback(subject, subject + "@example.org", true), 403, "account_disabled");
  }

  @Test
  @DisplayName("refuses a callback without the cookie from the start")
  void callbackWithoutCookie() {
    Browser browser = new Browser();
    String callbackUrl = startAndAuthorize(browser, "oidc");
    String cookie = browser.cookie;
    browser.cookie = null;
    enqueueNewPerson();

    assertError(browser.get(callbackUrl), 403, "oauth_failed", "cookie");

    browser.cookie = cookie;
    assertSignedIn(browser.get(callbackUrl), "the browser that started it still can");
  }

  @Test
  @DisplayName("refuses a callback carrying another browser's cookie")
  void callbackWithAnotherBrowsersCookie() {
    Browser victim = new Browser();
    String callbackUrl = startAndAuthorize(victim, "oidc");
    Browser attacker = new Browser();
    startAndAuthorize(attacker, "oidc");
    assertThat(attacker.cookie).isNotEqualTo(victim.cookie);
    enqueueNewPerson();

    assertError(attacker.get(callbackUrl), 403, "oauth_failed", "state");

    assertSignedIn(victim.get(callbackUrl), "the browser that started it still can");
  }

  @Test
  @DisplayName("refuses a state used before")
  void replayedState() {
    Browser browser = new Browser();
    String callbackUrl = startAndAuthorize(browser, "oidc");
    enqueueNewPerson();
    assertSignedIn(browser.get(callbackUrl), "the first use");

    assertError(browser.get(callbackUrl), 403, "oauth_failed", "state");
  }

  @Test
  @DisplayName("refuses a state it never issued, and a callback without one")
  void wrongState() {
    Browser browser = new Browser();
    String callbackUrl = startAndAuthorize(browser, "oidc");
    enqueueNewPerson();

    assertError(browser.get(callbackUrl.replaceFirst("state=[^&]+", "state=" + Secrets.token(32))), 403,
        "oauth_failed", "state");
    assertError(browser.get(callbackUrl.replaceFirst("&?state=[^&]+", "")), 403, "oauth_failed", "state");

    assertSignedIn(browser.get(callbackUrl), "the real state still works");
  }

  @Test
  @DisplayName("keeps only hashes of the state and the cookie, and refuses a state older than ten minutes")
  void stateStorageAndExpiry() {
    Browser browser = new Browser();
    String callbackUrl = startAndAuthorize(browser, "oidc");
    String state = query(callbackUrl).get("state");
    Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(databaseUrl)).using(vertx).build();
    try {
      RowSet<Row> rows = pool.preparedQuery("SELECT state_hash, browser_hash FROM oauth_states WHERE browser_hash = $1")
          .execute(Tuple.of(Secrets.sha256Hex(browser.cookie))).await();
      assertThat(rows.size()).isEqualTo(1);
      assertThat(rows.iterator().next().getString("state_hash")).isEqualTo(Secrets.sha256Hex(state));
      assertThat(pool.preparedQuery("SELECT count(*) FROM oauth_states WHERE state_hash = $1 OR browser_hash = $2")
          .execute(Tuple.of(state, browser.cookie)).await().iterator().next().getLong(0)).isZero();

      pool.preparedQuery("UPDATE oauth_states SET created_at = now() - interval '601 seconds' WHERE state_hash = $1")
          .execute(Tuple.of(Secrets.sha256Hex(state))).await();
      enqueueNewPerson();
      assertError(browser.get(callbackUrl), 403, "oauth_failed", "expired");

      // The next start sweeps the abandoned row.
      assertSignedIn(browser.get(startAndAuthorize(browser, "oidc")), "a fresh start");
      assertThat(pool.preparedQuery("SELECT count(*) FROM oauth_states WHERE state_hash = $1")
          .execute(Tuple.of(Secrets.sha256Hex(state))).await().iterator().next().getLong(0)).isZero();
    } finally {
      pool.close().await();
    }
  }

  @Test
  @DisplayName("refuses the sign-in when the provider reports an error")
  void providerError() {
    Browser browser = new Browser();
    HttpResponse<Buffer> start = browser.get(base + "/api/v1/auth/oauth/oidc/start");
    String state = query(start.getHeader("Location")).get("state");

    assertError(browser.get(base + "/api/v1/auth/oauth/oidc/callback?error=access_denied&state=" + state), 403,
        "oauth_failed");
  }

  @Test
  @DisplayName("refuses an ID token whose nonce is not the one the sign-in sent")
  void wrongNonce() {
    Browser browser = new Browser();
    HttpResponse<Buffer> start = browser.get(base + "/api/v1/auth/oauth/oidc/start");
    String authorize = start.getHeader("Location").replaceFirst("nonce=[^&]+", "nonce=" + Secrets.token(32));
    String subject = "oidc-" + UUID.randomUUID();
    enqueue(subject, subject + "@example.org", true, null);
    String callbackUrl = browser.get(authorize).getHeader("Location");

    assertError(browser.get(callbackUrl), 403, "oauth_failed", "nonce");
  }

  @Test
  @DisplayName("refuses an ID token meant for another client")
  void wrongAudience() {
    String subject = "oidc-" + UUID.randomUUID();
    // The mock puts the callback's audience on the access token only; a claim sets the ID token's.
    oidc.enqueueCallback(new DefaultOAuth2TokenCallback(ISSUER_ID, subject, JOSEObjectType.JWT.getType(),
        List.of("another-client"), Map.of("aud", List.of("another-client"), "email", subject + "@example.org",
        "email_verified", true), 3600));
    Browser browser = new Browser();

    assertError(browser.get(startAndAuthorize(browser, "oidc")), 403, "oauth_failed");
  }

  @Test
  @DisplayName("answers 404 for an unknown provider and for one that is not configured")
  void unknownProvider() {
    Browser browser = new Browser();
    assertError(browser.get(base + "/api/v1/auth/oauth/myspace/start"), 404, "not_found");
    assertError(browser.get(base + "/api/v1/auth/oauth/myspace/callback?code=x&state=y"), 404, "not_found");
    assertError(browser.get(base + "/api/v1/auth/oauth/google/start"), 404, "not_found");
  }

  // --- GitHub --------------------------------------------------------------------------------

  @Test
  @DisplayName("signs a new person in through GitHub with their verified primary email")
  void gitHubFirstLogin() {
    long id = Math.abs(UUID.randomUUID().getMostSignificantBits() % 1_000_000_000L);
    String email = "octo-" + id + "@example.org";
    github.signInNextAs(new GitHubTestServer.Account(id, "octo" + id, "Octo Cat", new JsonArray()
        .add(GitHubTestServer.email("old-" + email, false, true))
        .add(GitHubTestServer.email(email, true, true))));
    Browser browser = new Browser();

    HttpResponse<Buffer> start = browser.get(base + "/api/v1/auth/oauth/github/start");
    assertThat(start.statusCode()).isEqualTo(302);
    Map<String, String> query = query(start.getHeader("Location"));
    assertThat(start.getHeader("Location")).startsWith(github.url() + "/login/oauth/authorize?");
    assertThat(query).containsEntry("code_challenge_method", "S256").containsKeys("state", "code_challenge")
        .doesNotContainKey("nonce");
    String callbackUrl = browser.get(start.getHeader("Location")).getHeader("Location");
    HttpResponse<Buffer> callback = browser.get(callbackUrl);

    assertThat(github.refusals).isEmpty();
    JsonObject me = me(fragment(callback).get("access_token"));
    assertThat(me.getString("email")).isEqualTo(email);
    assertThat(me.getString("display_name")).isEqualTo("Octo Cat");
  }

  @Test
  @DisplayName("makes no GitHub account when the primary email is not verified")
  void gitHubUnverifiedPrimary() {
    long id = Math.abs(UUID.randomUUID().getMostSignificantBits() % 1_000_000_000L);
    github.signInNextAs(new GitHubTestServer.Account(id, "octo" + id, null, new JsonArray()
        .add(GitHubTestServer.email("octo-" + id + "@example.org", true, false))));
    Browser browser = new Browser();

    assertError(browser.get(startAndAuthorize(browser, "github")), 403, "oauth_failed", "not verified");
    assertThat(github.refusals).as("the code exchange itself worked").isEmpty();
  }

  // --- configuration ------------------------------------------------------------------------

  @Test
  @DisplayName("answers 503 for a provider whose discovery failed, and marks the cookie Secure behind https")
  void unreachableProviderAndSecureCookie(Servers servers) {
    Vertx other = Vertx.vertx();
    try {
      int closedPort = Servers.freePort();
      CloudSyncHandle second = TestCloudSync.deploy(other, TestCloudSync.config(servers)
          .put("auth.oauth.redirect_base", "https://sync.example.com")
          .put("auth.oidc.issuer", "http://127.0.0.1:" + closedPort + "/nobody")
          .put("auth.oidc.client_id", OIDC_CLIENT)
          .put("auth.github.client_id", GITHUB_CLIENT)
          .put("auth.github.client_secret", GITHUB_SECRET)
          .put("auth.github.site", github.url())
          .put("auth.github.api", github.url() + "/api"));
      try {
        Api secondApi = new Api(other, second.httpPort());
        HttpResponse<Buffer> oidcStart = secondApi.get("/api/v1/auth/oauth/oidc/start", null);
        assertError(oidcStart, 503, "service_unavailable");
        assertThat(Long.parseLong(oidcStart.getHeader("Retry-After"))).isPositive();

        HttpResponse<Buffer> gitHubStart = secondApi.get("/api/v1/auth/oauth/github/start", null);
        assertThat(gitHubStart.statusCode()).isEqualTo(302);
        assertThat(query(gitHubStart.getHeader("Location")))
            .containsEntry("redirect_uri", "https://sync.example.com/api/v1/auth/oauth/github/callback");
        assertThat(gitHubStart.cookies()).anySatisfy(cookie -> assertThat(cookie)
            .startsWith(OAuthHandler.COOKIE + "=").containsIgnoringCase("; Secure"));
      } finally {
        second.close().await();
      }
    } finally {
      other.close().await();
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  /** One browser: remembers the sign-in cookie and sends it where its path says. */
  private static final class Browser {
    String cookie;

    HttpResponse<Buffer> get(String url) {
      HttpRequest<Buffer> request = client.getAbs(url);
      if (cookie != null && url.startsWith(base + "/api/v1/auth/oauth/")) {
        request.putHeader("Cookie", OAuthHandler.COOKIE + "=" + cookie);
      }
      HttpResponse<Buffer> response = request.send().await();
      for (String set : response.cookies()) {
        if (set.startsWith(OAuthHandler.COOKIE + "=")) {
          int end = set.indexOf(';');
          cookie = set.substring(OAuthHandler.COOKIE.length() + 1, end < 0 ? set.length() : end);
        }
      }
      return response;
    }
  }

  private static void enqueue(String subject, String email, boolean verified, String name) {
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("email", email);
    claims.put("email_verified", verified);
    if (name != null) {
      claims.put("name", name);
    }
    oidc.enqueueCallback(new DefaultOAuth2TokenCallback(ISSUER_ID, subject, JOSEObjectType.JWT.getType(), null,
        claims, 3600));
  }

  /**
   * Queues a verified new person at the provider for the next code exchange. The tests of refusals
   * queue one before the refused callback, so that skipping a check would sign someone in; the
   * rightful callback at the end uses it up, so that none is left for the next test.
   */
  private static void enqueueNewPerson() {
    String subject = "oidc-" + UUID.randomUUID();
    enqueue(subject, subject + "@example.org", true, null);
  }

  private static void assertSignedIn(HttpResponse<Buffer> callback, String why) {
    assertThat(callback.statusCode()).as(why + ": " + callback.bodyAsString()).isEqualTo(302);
    assertThat(me(fragment(callback).get("access_token")).getString("email")).endsWith("@example.org");
  }

  /** Start, then the provider; answers the callback URL the provider sends the browser back to. */
  private static String startAndAuthorize(Browser browser, String provider) {
    HttpResponse<Buffer> start = browser.get(base + "/api/v1/auth/oauth/" + provider + "/start");
    assertThat(start.statusCode()).as(start.bodyAsString()).isEqualTo(302);
    HttpResponse<Buffer> atProvider = browser.get(start.getHeader("Location"));
    assertThat(atProvider.statusCode()).as(atProvider.bodyAsString()).isEqualTo(302);
    return atProvider.getHeader("Location");
  }

  private static HttpResponse<Buffer> oidcCallback(String subject, String email, boolean verified) {
    enqueue(subject, email, verified, null);
    Browser browser = new Browser();
    return browser.get(startAndAuthorize(browser, "oidc"));
  }

  private static Map<String, String> signInWithOidc(String subject, String email, boolean verified) {
    return fragment(oidcCallback(subject, email, verified));
  }

  private static Map<String, String> fragment(HttpResponse<Buffer> callback) {
    assertThat(callback.statusCode()).as(callback.bodyAsString()).isEqualTo(302);
    String location = callback.getHeader("Location");
    assertThat(location).startsWith(SUCCESS_URL + "#");
    return parameters(location.substring(location.indexOf('#') + 1));
  }

  private static Map<String, String> query(String url) {
    return parameters(URI.create(url).getRawQuery());
  }

  private static Map<String, String> parameters(String encoded) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String pair : encoded.split("&")) {
      int eq = pair.indexOf('=');
      out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return out;
  }

  private static JsonObject me(String accessToken) {
    HttpResponse<Buffer> me = api.get("/api/v1/me", accessToken);
    assertThat(me.statusCode()).as(me.bodyAsString()).isEqualTo(200);
    return me.bodyAsJsonObject();
  }

  /** The admin (listed in auth.admin_emails) signs up once and signs in. */
  private static String adminToken() {
    api.post("/api/v1/auth/signup", new JsonObject().put("email", ADMIN_EMAIL).put("password", Api.PASSWORD));
    return api.signIn(ADMIN_EMAIL, Api.PASSWORD).getString("access_token");
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code, String messagePart) {
    assertError(response, status, code);
    assertThat(response.bodyAsJsonObject().getString("message")).containsIgnoringCase(messagePart);
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getInteger("status")).isEqualTo(status);
    assertThat(body.getString("code")).isEqualTo(code);
    assertThat(body.getString("message")).isNotBlank();
    assertThat(response.getHeader("Location")).isNull();
  }
}
