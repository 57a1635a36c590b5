package io.cloudsync.auth;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.oauth2.OAuth2Auth;
import io.vertx.ext.auth.oauth2.OAuth2AuthorizationURL;
import io.vertx.ext.auth.oauth2.OAuth2FlowType;
import io.vertx.ext.auth.oauth2.OAuth2Options;
import io.vertx.ext.auth.oauth2.Oauth2Credentials;
import io.vertx.ext.auth.oauth2.providers.OpenIDConnectAuth;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sign-in through OAuth 2.0 and OpenID Connect providers: {@code google} and {@code oidc} by
 * discovery, {@code github} by its OAuth app and user API.
 *
 * <p>{@link #begin} makes a state, a PKCE verifier (S256) and, for OpenID Connect, a nonce; it stores
 * the state's hash with the hash of the browser cookie that started the sign-in and answers the
 * provider's authorization URL. {@link #complete} takes the state row once (it is deleted as it is
 * read, so it works only for that browser, only within {@link #STATE_TTL_SECONDS}, and only once),
 * exchanges the code with the verifier and the exact redirect URI, checks the ID token, and signs
 * the person in.
 *
 * <p>Who they are: an identity (provider, subject) already linked signs in its account. Otherwise
 * only an email the provider says is verified is used: it links to the account with that email, or
 * creates one without a password. An unverified email neither links nor creates, since the account
 * could later be linked by the real owner of the address (pre-account takeover).
 */
public final class OAuthLogins {
  private static final Logger LOG = LoggerFactory.getLogger(OAuthLogins.class);
  /** How long a browser has between the start and the callback. */
  public static final long STATE_TTL_SECONDS = 600;
  /** A provider whose discovery failed is tried again on demand, at most this often. */
  static final long DISCOVERY_RETRY_SECONDS = 30;
  static final String GOOGLE_ISSUER = "https://accounts.google.com";
  private static final String USER_AGENT = "CloudSync";
  private static final Pattern HEX_SHA256 = Pattern.compile("^[0-9a-f]{64}$");
  private static final Pattern PROVIDER_ERROR = Pattern.compile("^[A-Za-z0-9_.\\-]{1,64}$");
  private static final int MAX_PARAMETER = 2048;
  private static final String USER_COLUMNS = "id::text AS id, email, role, disabled_at";

  /** Makes an account: {@code AuthVerticle.createUser}. */
  @FunctionalInterface
  public interface CreateUser {
    Future<JsonObject> create(String email, String displayName, String passwordHash);
  }

  /** Starts a sign-in and answers the token pair: {@code AuthVerticle.startSession}. */
  @FunctionalInterface
  public interface StartSession {
    Future<JsonObject> start(String userId, String email, String role);
  }

  /** Who the provider says signed in. */
  record Identity(String subject, String email, boolean emailVerified, String displayName) {
  }

  private final Vertx vertx;
  private final Pool pool;
  private final CloudSyncConfig.Auth config;
  private final CreateUser createUser;
  private final StartSession startSession;
  private final WebClient web;
  private final Map<String, Provider> providers = new LinkedHashMap<>();

  public OAuthLogins(Vertx vertx, Pool pool, CloudSyncConfig.Auth config, CreateUser createUser,
                     StartSession startSession) {
    this.vertx = vertx;
    this.pool = pool;
    this.config = config;
    this.createUser = createUser;
    this.startSession = startSession;
    this.web = WebClient.create(vertx, new WebClientOptions(httpOptions()).setUserAgent(USER_AGENT)
        .setFollowRedirects(false));
    if (config.google().enabled()) {
      providers.put("google", new Provider("google", true, GOOGLE_ISSUER, config.google()));
    }
    if (config.oidc().enabled()) {
      providers.put("oidc", new Provider("oidc", true, withoutTrailingSlash(config.oidcIssuer()), config.oidc()));
    }
    if (config.github().enabled()) {
      providers.put("github", new Provider("github", false, withoutTrailingSlash(config.githubSite()), config.github()));
    }
  }

  /**
   * Creates the provider clients, discovering the OpenID Connect ones. It does not wait for them:
   * the server starts even when a provider is unreachable; requests for a provider wait for its
   * discovery, and get 503 while it is failing (see {@link Provider#client()}).
   */
  public void connect() {
    providers.values().forEach(Provider::client);
  }

  public Future<Void> close() {
    providers.values().forEach(Provider::close);
    web.close();
    return Future.succeededFuture();
  }

  private static HttpClientOptions httpOptions() {
    // A provider that hangs must not hold a sign-in (or a retry) for long.
    return new HttpClientOptions().setConnectTimeout(5_000).setIdleTimeout(15);
  }

  private static String withoutTrailingSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  // --- start ---------------------------------------------------------------------------------

  /**
   * {@code {provider, browser_hash}} → {@code {authorize_url}}. The browser hash is the SHA-256 of the
   * cookie the gateway sets; the raw cookie never leaves the gateway.
   */
  public Future<JsonObject> begin(JsonObject request) {
    Provider provider;
    try {
      provider = provider(request.getString("provider"));
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    String browserHash = request.getString("browser_hash");
    if (browserHash == null || !HEX_SHA256.matcher(browserHash).matches()) {
      return Future.failedFuture(new ApiException(ErrorCode.BAD_REQUEST, "The browser binding is missing"));
    }
    return provider.client().compose(client -> {
      String state = Secrets.token(32);
      String verifier = Secrets.token(32);
      String nonce = provider.openId ? Secrets.token(32) : "";
      OAuth2AuthorizationURL url = new OAuth2AuthorizationURL()
          .setRedirectUri(redirectUri(provider))
          .setState(state)
          .setScopes(provider.openId ? List.of("openid", "email", "profile") : List.of("read:user", "user:email"))
          .setCodeChallenge(Secrets.base64Url(Secrets.sha256(verifier.getBytes(StandardCharsets.US_ASCII))))
          .setCodeChallengeMethod("S256");
      if (provider.openId) {
        url.putAdditionalParameter("nonce", nonce);
      }
      String authorizeUrl = client.authorizeURL(url);
      // Abandoned sign-ins are swept here; the table only ever holds the last few minutes.
      return pool.preparedQuery("DELETE FROM oauth_states WHERE created_at < now() - make_interval(secs => $1)")
          .execute(Tuple.of(STATE_TTL_SECONDS))
          .compose(swept -> pool.preparedQuery("INSERT INTO oauth_states "
                  + "(state_hash, provider, code_verifier, nonce, browser_hash) VALUES ($1, $2, $3, $4, $5)")
              .execute(Tuple.of(Secrets.sha256Hex(state), provider.name, verifier, nonce, browserHash)))
          .map(done -> new JsonObject().put("authorize_url", authorizeUrl));
    });
  }

  private String redirectUri(Provider provider) {
    return config.redirectBase() + "/api/v1/auth/oauth/" + provider.name + "/callback";
  }

  private Provider provider(String name) {
    Provider provider = name == null ? null : providers.get(name);
    if (provider == null) {
      throw new ApiException(ErrorCode.NOT_FOUND, "No sign-in provider '" + (name == null ? "" : printable(name))
          + "' is configured");
    }
    return provider;
  }

  private static String printable(String text) {
    String cut = text.length() > 40 ? text.substring(0, 40) : text;
    return cut.replaceAll("[^A-Za-z0-9_.\\-]", "?");
  }

  // --- callback ------------------------------------------------------------------------------

  /**
   * {@code {provider, code, state, error, browser_hash}} → the token pair of the signed-in account.
   * Everything that makes the sign-in untrustworthy fails with 403 {@code oauth_failed}.
   */
  public Future<JsonObject> complete(JsonObject request) {
    Provider provider;
    try {
      provider = provider(request.getString("provider"));
    } catch (ApiException e) {
      return Future.failedFuture(e);
    }
    String error = request.getString("error");
    if (error != null) {
      return failed("The provider did not sign you in ("
          + (PROVIDER_ERROR.matcher(error).matches() ? error : "error") + ")");
    }
    String code = request.getString("code");
    String state = request.getString("state");
    String browserHash = request.getString("browser_hash");
    if (state == null || state.isEmpty() || state.length() > MAX_PARAMETER) {
      return failed("The sign-in state is missing; start again");
    }
    if (browserHash == null || !HEX_SHA256.matcher(browserHash).matches()) {
      return failed("This browser did not start the sign-in (its cookie is missing); start again");
    }
    if (code == null || code.isEmpty() || code.length() > MAX_PARAMETER) {
      return failed("The provider sent no authorization code");
    }
    return provider.client().compose(client -> takeState(provider, state, browserHash)
        .compose(row -> exchange(provider, client, code, row.getString("code_verifier"), row.getString("nonce"))))
        .compose(identity -> signIn(provider, identity));
  }

  /**
   * Deletes and answers the state row when it belongs to this provider and browser and is fresh;
   * the delete makes it single-use even when two callbacks race.
   */
  private Future<Row> takeState(Provider provider, String state, String browserHash) {
    return pool.preparedQuery("DELETE FROM oauth_states WHERE state_hash = $1 AND provider = $2 AND browser_hash = $3 "
            + "AND created_at >= now() - make_interval(secs => $4) RETURNING code_verifier, nonce")
        .execute(Tuple.of(Secrets.sha256Hex(state), provider.name, browserHash, STATE_TTL_SECONDS))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(rows.iterator().next())
            : failed("The sign-in state is unknown, expired, used, or was started in another browser; start again"));
  }

  private Future<Identity> exchange(Provider provider, OAuth2Auth client, String code, String verifier, String nonce) {
    Oauth2Credentials credentials = new Oauth2Credentials()
        .setFlow(OAuth2FlowType.AUTH_CODE)
        .setCode(code)
        .setRedirectUri(redirectUri(provider))
        .setCodeVerifier(verifier);
    return client.authenticate(credentials)
        .recover(e -> {
          LOG.warn("The {} token endpoint refused the code: {}", provider.name, e.getMessage());
          return failed("The provider did not accept the sign-in code; start again");
        })
        .compose(user -> provider.openId ? openIdIdentity(provider, client, user, nonce) : gitHubIdentity(user));
  }

  // --- OpenID Connect ------------------------------------------------------------------------

  /**
   * Vert.x has verified the ID token's signature against the provider's JWKS (refusing "none"),
   * its {@code iss} against the discovered issuer, its {@code aud} (when present) against our
   * client id and its {@code azp}; an ID token failing those is dropped silently, so its absence
   * is a failure here. Vert.x checks neither {@code exp} nor {@code iat} of the ID token (only the
   * access token's expiry), nor the nonce, nor that {@code aud} is there at all: those are checked
   * here, and {@code iss} once more in case discovery named no issuer.
   */
  private Future<Identity> openIdIdentity(Provider provider, OAuth2Auth client, User user, String nonce) {
    JsonObject claims = user.attributes().getJsonObject("idToken");
    if (claims == null) {
      if (user.principal().getString("id_token") == null) {
        return failed("The provider answered without an ID token");
      }
      LOG.warn("An ID token from {} failed signature, issuer or audience checks{}", provider.name,
          user.attributes().containsKey("missing-kid") ? " (unknown signing key; reloading the JWKS)" : "");
      return failed("The provider's ID token is not valid");
    }
    String problem = idTokenProblem(claims, provider.issuer, provider.client.clientId(), nonce,
        System.currentTimeMillis() / 1000);
    if (problem != null) {
      LOG.warn("Refused an ID token from {}: {}", provider.name, problem);
      return failed("The provider's ID token is not valid: " + problem);
    }
    String subject = claims.getString("sub");
    Future<JsonObject> profile = Future.succeededFuture(claims);
    if (stringClaim(claims, "email") == null) {
      // Some providers put the email only into the userinfo answer; it must describe the same subject.
      profile = client.userInfo(user)
          .map(info -> subject.equals(info.getValue("sub")) ? info.copy().put("sub", subject) : claims)
          .otherwise(claims);
    }
    return profile.map(info -> new Identity(subject, stringClaim(info, "email"), isTrue(info.getValue("email_verified")),
        firstNonBlank(stringClaim(info, "name"), stringClaim(info, "preferred_username"))));
  }

  /** Why an ID token (already signature-checked) must be refused, or null when it is fine. */
  static String idTokenProblem(JsonObject claims, String issuer, String clientId, String nonce, long now) {
    if (issuer != null && !issuer.equals(claims.getValue("iss"))) {
      return "it was issued by another issuer";
    }
    Object aud = claims.getValue("aud");
    boolean audienceOk = clientId.equals(aud) || (aud instanceof JsonArray list && list.contains(clientId));
    if (!audienceOk) {
      return "it is not meant for this client";
    }
    Object azp = claims.getValue("azp");
    if (azp != null && !clientId.equals(azp)) {
      return "it was requested by another client";
    }
    if (!(claims.getValue("exp") instanceof Number exp) || exp.longValue() <= now - TokenService.LEEWAY_SECONDS) {
      return "it has expired";
    }
    if (claims.getValue("iat") instanceof Number iat && iat.longValue() > now + TokenService.LEEWAY_SECONDS) {
      return "it was issued in the future";
    }
    Object presented = claims.getValue("nonce");
    if (!(presented instanceof String text) || nonce == null || nonce.isEmpty()
        || !MessageDigest.isEqual(text.getBytes(StandardCharsets.UTF_8), nonce.getBytes(StandardCharsets.UTF_8))) {
      return "its nonce is not the one this sign-in sent";
    }
    Object sub = claims.getValue("sub");
    if (!(sub instanceof String subject) || subject.isEmpty() || subject.length() > 255) {
      return "it names no subject";
    }
    return null;
  }

  /** {@code email_verified} is a boolean in the standard; some providers send the string "true". */
  private static boolean isTrue(Object value) {
    return Boolean.TRUE.equals(value) || "true".equals(value);
  }

  private static String stringClaim(JsonObject claims, String name) {
    return claims.getValue(name) instanceof String text ? text : null;
  }

  // --- GitHub --------------------------------------------------------------------------------

  /** GitHub has no ID token: the account comes from {@code /user}, the email from {@code /user/emails}. */
  private Future<Identity> gitHubIdentity(User user) {
    String token = user.principal().getString("access_token");
    if (token == null) {
      return failed("GitHub answered without an access token");
    }
    String api = withoutTrailingSlash(config.githubApi());
    return gitHubGet(api + "/user", token)
        .compose(profile -> gitHubGet(api + "/user/emails", token).compose(emails -> {
          if (!(profile instanceof JsonObject body) || !(body.getValue("id") instanceof Number id)
              || !(emails instanceof JsonArray addresses)) {
            return Future.failedFuture(new ApiException(ErrorCode.BAD_GATEWAY,
                "GitHub's user API answered in an unexpected shape"));
          }
          String email = null;
          boolean verified = false;
          for (Object entry : addresses) {
            if (entry instanceof JsonObject address && Boolean.TRUE.equals(address.getValue("primary"))) {
              email = stringClaim(address, "email");
              verified = Boolean.TRUE.equals(address.getValue("verified"));
            }
          }
          // The numeric id is the stable subject; logins can be renamed and then taken by someone else.
          return Future.succeededFuture(new Identity(String.valueOf(id.longValue()), email, verified,
              firstNonBlank(stringClaim(body, "name"), stringClaim(body, "login"))));
        }));
  }

  /** The decoded JSON of a GitHub API answer; anything but a 200 with JSON is a bad gateway. */
  private Future<Object> gitHubGet(String url, String token) {
    return web.getAbs(url)
        .bearerTokenAuthentication(token)
        .putHeader("Accept", "application/vnd.github+json")
        .putHeader("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .recover(e -> {
          LOG.warn("GitHub's API at {} did not answer: {}", url, e.getMessage());
          return Future.failedFuture(new ApiException(ErrorCode.BAD_GATEWAY, "GitHub's API did not answer"));
        })
        .compose(response -> {
          if (response.statusCode() != 200) {
            LOG.warn("GitHub answered {} to {}", response.statusCode(), url);
            return Future.failedFuture(new ApiException(ErrorCode.BAD_GATEWAY,
                "GitHub's API answered " + response.statusCode()));
          }
          try {
            return Future.succeededFuture(Json.decodeValue(response.bodyAsBuffer()));
          } catch (RuntimeException e) {
            return Future.failedFuture(new ApiException(ErrorCode.BAD_GATEWAY, "GitHub's API did not answer JSON"));
          }
        });
  }

  // --- accounts ------------------------------------------------------------------------------

  private Future<JsonObject> signIn(Provider provider, Identity identity) {
    return linkedUser(provider, identity.subject()).compose(linked -> {
      if (linked != null) {
        return session(linked);
      }
      String email = Emails.normalize(identity.email());
      if (email == null) {
        return failed("The provider did not share an email address");
      }
      if (!identity.emailVerified()) {
        return failed("The provider has not verified the email address " + email
            + "; verify it there, or sign in with a password");
      }
      return userByEmail(email).compose(existing -> existing != null
          ? link(provider, identity, existing)
          : createUser.create(email, displayName(identity, email), null)
              .compose(created -> userByEmail(email))
              // Another sign-up or sign-in with this email won the race: link to that account.
              .recover(e -> ApiException.from(e).code() == ErrorCode.EMAIL_TAKEN ? userByEmail(email) : Future.failedFuture(e))
              .compose(user -> user == null ? failed("The account could not be made; start again")
                  : link(provider, identity, user)));
    });
  }

  /** Links the identity unless the account is disabled; a concurrent link of the same identity wins. */
  private Future<JsonObject> link(Provider provider, Identity identity, Row user) {
    if (user.getValue("disabled_at") != null) {
      return disabled();
    }
    return pool.preparedQuery("INSERT INTO user_identities (provider, subject, user_id, email) "
            + "VALUES ($1, $2, $3::uuid, $4) ON CONFLICT (provider, subject) DO NOTHING")
        .execute(Tuple.of(provider.name, identity.subject(), user.getString("id"), Emails.normalize(identity.email())))
        .compose(inserted -> {
          if (inserted.rowCount() == 1) {
            LOG.info("Linked a {} identity to account {}", provider.name, user.getString("id"));
          }
          return linkedUser(provider, identity.subject());
        })
        .compose(linked -> linked == null ? failed("The identity could not be linked; start again") : session(linked));
  }

  private Future<JsonObject> session(Row user) {
    if (user.getValue("disabled_at") != null) {
      return disabled();
    }
    return startSession.start(user.getString("id"), user.getString("email"), user.getString("role"));
  }

  private Future<Row> linkedUser(Provider provider, String subject) {
    return pool.preparedQuery("SELECT u.id::text AS id, u.email, u.role, u.disabled_at FROM user_identities i "
            + "JOIN users u ON u.id = i.user_id WHERE i.provider = $1 AND i.subject = $2")
        .execute(Tuple.of(provider.name, subject))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next());
  }

  private Future<Row> userByEmail(String email) {
    return pool.preparedQuery("SELECT " + USER_COLUMNS + " FROM users WHERE email = $1").execute(Tuple.of(email))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next());
  }

  /** The provider's name for the person, made to fit the rules of sign-up; else the email's local part. */
  static String displayName(Identity identity, String email) {
    String name = identity.displayName();
    if (name != null) {
      name = name.codePoints().filter(c -> !Character.isISOControl(c))
          .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString().strip();
      if (name.codePointCount(0, name.length()) > 200) {
        name = name.substring(0, name.offsetByCodePoints(0, 200)).strip();
      }
    }
    return name == null || name.isEmpty() ? email.substring(0, email.indexOf('@')) : name;
  }

  private static String firstNonBlank(String first, String second) {
    return first != null && !first.isBlank() ? first : second;
  }

  private static <T> Future<T> failed(String message) {
    return Future.failedFuture(new ApiException(ErrorCode.OAUTH_FAILED, message));
  }

  private static <T> Future<T> disabled() {
    return Future.failedFuture(new ApiException(ErrorCode.ACCOUNT_DISABLED, "This account is disabled"));
  }

  // --- providers -----------------------------------------------------------------------------

  /**
   * A configured provider and its client. Used on the auth verticle's context only. An OpenID
   * Connect client comes from discovery; while discovery fails, requests get 503 with Retry-After,
   * and the first request after {@link #DISCOVERY_RETRY_SECONDS} tries again (requests arriving
   * meanwhile wait for that attempt rather than starting their own).
   */
  private final class Provider {
    final String name;
    final boolean openId;
    /** OpenID Connect: the issuer URL to discover; GitHub: its web URL. */
    final String site;
    final CloudSyncConfig.OAuthClient client;
    /** The issuer ID tokens must name, as discovery reported it. */
    String issuer;
    private Future<OAuth2Auth> current;
    private long failedAtMillis;

    Provider(String name, boolean openId, String site, CloudSyncConfig.OAuthClient client) {
      this.name = name;
      this.openId = openId;
      this.site = site;
      this.client = client;
      this.issuer = site;
    }

    Future<OAuth2Auth> client() {
      if (current != null && current.failed()) {
        long waited = (System.currentTimeMillis() - failedAtMillis) / 1000;
        if (waited < DISCOVERY_RETRY_SECONDS) {
          return Future.failedFuture(unavailable(DISCOVERY_RETRY_SECONDS - waited));
        }
        current = null;
      }
      if (current == null) {
        current = openId ? discover() : gitHub();
      }
      return current;
    }

    private ApiException unavailable(long retryAfter) {
      return new ApiException(ErrorCode.UNAVAILABLE,
          "Sign-in with " + name + " is unavailable: its provider could not be reached", retryAfter);
    }

    private Future<OAuth2Auth> discover() {
      OAuth2Options options = new OAuth2Options()
          .setSite(site)
          .setClientId(client.clientId())
          .setClientSecret(client.clientSecret())
          .setUserAgent(USER_AGENT)
          .setHttpClientOptions(httpOptions())
          .setJWTOptions(new JWTOptions().setLeeway(TokenService.LEEWAY_SECONDS));
      return OpenIDConnectAuth.discover(vertx, options)
          .onSuccess(auth -> {
            // Discovery checked that the document's issuer is the configured one and put it here.
            String discovered = options.getJWTOptions().getIssuer();
            issuer = discovered != null ? discovered : site;
            // A key the provider rotated in is fetched at once; the sign-in that met it is refused.
            auth.missingKeyHandler(kid -> auth.jWKSet().onFailure(e ->
                LOG.warn("Reloading the signing keys of {} failed: {}", name, e.getMessage())));
            LOG.info("Sign-in with {} is ready (issuer {})", name, issuer);
          })
          .recover(e -> {
            failedAtMillis = System.currentTimeMillis();
            LOG.warn("Discovery of {} at {} failed; its sign-in answers 503 and is retried on use after {} s: {}",
                name, site, DISCOVERY_RETRY_SECONDS, e.getMessage());
            return Future.failedFuture(unavailable(DISCOVERY_RETRY_SECONDS));
          });
    }

    private Future<OAuth2Auth> gitHub() {
      try {
        return Future.succeededFuture(OAuth2Auth.create(vertx, new OAuth2Options()
            .setSite(site)
            .setAuthorizationPath("/login/oauth/authorize")
            .setTokenPath("/login/oauth/access_token")
            .setClientId(client.clientId())
            .setClientSecret(client.clientSecret())
            .setScopeSeparator(" ")
            .setUserAgent(USER_AGENT)
            .setHttpClientOptions(httpOptions())));
      } catch (RuntimeException e) {
        failedAtMillis = System.currentTimeMillis();
        LOG.warn("The GitHub client could not be made: {}", e.getMessage());
        return Future.failedFuture(unavailable(DISCOVERY_RETRY_SECONDS));
      }
    }

    void close() {
      if (current != null && current.succeeded()) {
        current.result().close();
      }
    }
  }
}
