package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.audit.AuditLog;
import io.cloudsync.audit.AuditQueries;
import io.cloudsync.auth.Access;
import io.cloudsync.auth.Emails;
import io.cloudsync.auth.LoginThrottle;
import io.cloudsync.auth.OAuthLogins;
import io.cloudsync.auth.Passwords;
import io.cloudsync.auth.Secrets;
import io.cloudsync.auth.TokenService;
import io.cloudsync.auth.Totp;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accounts and sign-in: sign-up, password and TOTP sign-in, OAuth and OpenID Connect sign-in
 * ({@link OAuthLogins}), refresh-token rotation with reuse detection, logout, MFA set-up, and the
 * admin's user list. Passwords and tokens never appear in
 * logs or replies other than the one that hands a token out.
 */
public final class AuthVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(AuthVerticle.class);
  /**
   * A refresh token presented again this soon after it was used is taken for two tabs or retries
   * racing, not theft: the late one gets 401 but the sign-in survives.
   */
  static final int REFRESH_RACE_SECONDS = 10;
  private static final int RECOVERY_CODES = 10;
  private static final String USER_COLUMNS =
      "id::text AS id, email, display_name, role, mfa_enabled, disabled_at, created_at";

  private final Services services;
  private final CloudSyncConfig.Auth config;
  private final TokenService tokens;
  private final LoginThrottle throttle;
  private OAuthLogins oauth;
  private Counter auditFailures;

  public AuthVerticle(Services services) {
    this.services = services;
    this.config = services.config().auth();
    this.tokens = services.tokens();
    this.throttle = new LoginThrottle(services.expiringStore());
  }

  @Override
  public Future<?> start() {
    oauth = new OAuthLogins(vertx, services.pool(), config, this::createUser, this::startSession);
    oauth.connect();
    auditFailures = Counter.builder("cloudsync.audit.write.failures")
        .description("Audit entries of failed sign-ins that could not be written (each is logged at ERROR)")
        .register(services.metrics());
    AuditQueries audit = new AuditQueries(services.pool(), new Access(services.pool()), this::requireAdmin);
    return Future.all(List.of(
        Bus.serve(vertx, Addresses.AUDIT_SPACE, audit::space),
        Bus.serve(vertx, Addresses.AUDIT_ADMIN, audit::admin),
        Bus.serve(vertx, Addresses.AUTH_SIGNUP, this::signup),
        Bus.serve(vertx, Addresses.AUTH_TOKEN, this::signIn),
        Bus.serve(vertx, Addresses.AUTH_REFRESH, this::refresh),
        Bus.serve(vertx, Addresses.AUTH_LOGOUT, this::logout),
        Bus.serve(vertx, Addresses.AUTH_ME, this::me),
        Bus.serve(vertx, Addresses.AUTH_MFA_SETUP, this::mfaSetup),
        Bus.serve(vertx, Addresses.AUTH_MFA_VERIFY, this::mfaVerify),
        Bus.serve(vertx, Addresses.AUTH_ADMIN_USERS, this::adminUsers),
        Bus.serve(vertx, Addresses.AUTH_ADMIN_SET_DISABLED, this::adminSetDisabled),
        Bus.serve(vertx, Addresses.AUTH_ADMIN_ROTATE_KEYS, this::adminRotateKeys),
        Bus.serve(vertx, Addresses.AUTH_OAUTH_START, oauth::begin),
        Bus.serve(vertx, Addresses.AUTH_OAUTH_CALLBACK, oauth::complete)));
  }

  @Override
  public Future<?> stop() {
    return oauth == null ? Future.succeededFuture() : oauth.close();
  }

  static JsonObject userJson(Row row) {
    OffsetDateTime created = row.getOffsetDateTime("created_at");
    return new JsonObject()
        .put("id", row.getString("id"))
        .put("email", row.getString("email"))
        .put("display_name", row.getString("display_name"))
        .put("role", row.getString("role"))
        .put("mfa_enabled", row.getBoolean("mfa_enabled"))
        .put("disabled", row.getValue("disabled_at") != null)
        .put("created_at", created == null ? null : created.toInstant().toString());
  }

  private static ApiException bad(String message) {
    return new ApiException(ErrorCode.VALIDATION_FAILED, message);
  }

  // --- sign-up -------------------------------------------------------------------------------

  private Future<JsonObject> signup(JsonObject request) {
    String email = Emails.normalize(request.getString("email"));
    if (email == null) {
      return Future.failedFuture(bad("email must be an email address"));
    }
    String password = request.getString("password");
    String weakness = Passwords.weakness(password, email);
    if (weakness != null) {
      return Future.failedFuture(new ApiException(ErrorCode.WEAK_PASSWORD, weakness));
    }
    String displayName = request.getString("display_name");
    if (displayName == null || displayName.isBlank()) {
      displayName = email.substring(0, email.indexOf('@'));
    }
    if (displayName.length() > 200 || displayName.codePoints().anyMatch(Character::isISOControl)) {
      return Future.failedFuture(bad("display_name must be at most 200 characters without control characters"));
    }
    String name = displayName.strip();
    return vertx.executeBlocking(() -> Passwords.hash(password), false)
        .compose(hash -> createUser(email, name, hash))
        .onSuccess(user -> LOG.info("Account {} created", user.getString("id")));
  }

  /**
   * Inserts a user; the first account of the installation, and any in {@code auth.admin_emails},
   * is an admin. The advisory lock makes "first" exact when two sign-ups race. OAuth sign-in makes
   * accounts through it too, with a null password hash.
   */
  Future<JsonObject> createUser(String email, String displayName, String passwordHash) {
    boolean listedAdmin = config.adminEmails().contains(email);
    return services.pool().withTransaction(conn -> conn.query("SELECT pg_advisory_xact_lock(4242)").execute()
        .compose(locked -> conn.preparedQuery("INSERT INTO users (email, display_name, password_hash, role) "
                + "SELECT $1, $2, $3, CASE WHEN $4 OR NOT EXISTS (SELECT 1 FROM users) THEN 'admin' ELSE 'user' END "
                + "ON CONFLICT (email) DO NOTHING RETURNING " + USER_COLUMNS)
            .execute(Tuple.of(email, displayName, passwordHash, listedAdmin))))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(new ApiException(ErrorCode.EMAIL_TAKEN, "An account with this email exists"))
            : Future.succeededFuture(userJson(rows.iterator().next())));
  }

  // --- sign-in -------------------------------------------------------------------------------

  private Future<JsonObject> signIn(JsonObject request) {
    String email = Emails.normalize(request.getString("email"));
    String password = request.getString("password");
    String address = request.getString("client_ip", "unknown");
    if (email == null || password == null) {
      return Future.failedFuture(new ApiException(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password"));
    }
    String code = request.getString("totp");
    // Only the first refused attempt of an account and address per throttle window is audited: the
    // audit trail is append-only, and a guesser would otherwise add a row per request for free.
    return throttle.check(email, address)
        .recover(e -> e instanceof ApiException refused && refused.code() == ErrorCode.RATE_LIMITED
            ? throttle.firstRefusal(email, address, refused.retryAfterSeconds())
                .compose(first -> first ? loginFailed(null, email, address, "throttled") : Future.<Void>succeededFuture())
                .transform(x -> Future.failedFuture(e))
            : Future.failedFuture(e))
        .compose(v -> services.pool().preparedQuery("SELECT " + USER_COLUMNS
            + ", password_hash, mfa_secret, mfa_last_step FROM users WHERE email = $1").execute(Tuple.of(email)))
        .compose(rows -> {
          Row row = rows.size() == 0 ? null : rows.iterator().next();
          String hash = row == null ? null : row.getString("password_hash");
          return vertx.executeBlocking(() -> Passwords.verify(password, hash), false).compose(ok -> {
            String userId = row == null ? null : row.getString("id");
            if (!ok) {
              return throttle.failed(email, address)
                  .transform(x -> loginFailed(userId, email, address, "password"))
                  .transform(x -> Future.<JsonObject>failedFuture(
                      new ApiException(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password")));
            }
            if (row.getValue("disabled_at") != null) {
              return loginFailed(userId, email, address, "account disabled").transform(x -> Future.failedFuture(
                  new ApiException(ErrorCode.ACCOUNT_DISABLED, "This account is disabled")));
            }
            Future<Void> second = Future.succeededFuture();
            if (row.getBoolean("mfa_enabled")) {
              if (code == null || code.isBlank()) {
                return Future.failedFuture(new ApiException(ErrorCode.MFA_REQUIRED,
                    "This account needs a TOTP or recovery code in the totp field"));
              }
              second = secondFactor(row, code.strip()).recover(e -> throttle.failed(email, address)
                  .transform(x -> loginFailed(userId, email, address, "second factor"))
                  .transform(x -> Future.failedFuture(e)));
            }
            boolean mfa = row.getBoolean("mfa_enabled");
            return second
                .compose(x -> throttle.succeeded(email, address))
                .compose(x -> startSession(row.getString("id"), row.getString("email"), row.getString("role"),
                    address, new JsonObject().put("method", "password").put("mfa", mfa)));
          });
        });
  }

  /** A current TOTP code (each time step once), or an unused recovery code. */
  private Future<Void> secondFactor(Row user, String code) {
    String id = user.getString("id");
    if (code.matches("\\d{6}")) {
      long step = Totp.matchingStep(user.getString("mfa_secret"), code, System.currentTimeMillis() / 1000,
          user.getLong("mfa_last_step"));
      if (step < 0) {
        return Future.failedFuture(new ApiException(ErrorCode.INVALID_MFA_CODE, "The code is wrong or was used already"));
      }
      return services.pool().preparedQuery("UPDATE users SET mfa_last_step = $2 WHERE id = $1::uuid AND mfa_last_step < $2")
          .execute(Tuple.of(id, step))
          .compose(rows -> rows.rowCount() == 1 ? Future.<Void>succeededFuture() : Future.failedFuture(
              new ApiException(ErrorCode.INVALID_MFA_CODE, "The code is wrong or was used already")));
    }
    return services.pool().preparedQuery("UPDATE recovery_codes SET used_at = now() "
            + "WHERE user_id = $1::uuid AND code_hash = $2 AND used_at IS NULL")
        .execute(Tuple.of(id, Secrets.sha256Hex(normalizeRecoveryCode(code))))
        .compose(rows -> rows.rowCount() == 1 ? Future.<Void>succeededFuture() : Future.failedFuture(
            new ApiException(ErrorCode.INVALID_MFA_CODE, "The code is wrong or was used already")));
  }

  private static String normalizeRecoveryCode(String code) {
    return code.replace("-", "").replace(" ", "").toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Records a failed sign-in. The answer does not wait on more than the one insert, and a failure to
   * write is never silent: it is logged at ERROR and counted ({@code cloudsync_audit_write_failures_total}).
   */
  private Future<Void> loginFailed(String userId, String email, String address, String reason) {
    return AuditLog.append(services.pool(), new AuditLog.Entry(AuditLog.LOGIN_FAILED, userId, null, userId, address,
            new JsonObject().put("email", email).put("reason", reason)))
        .recover(e -> {
          auditFailures.increment();
          LOG.error("Could not write the audit entry of a failed sign-in for {} from {}: {}", email, address, e.getMessage());
          return Future.succeededFuture();
        });
  }

  /** A sign-in by OAuth or OpenID Connect. */
  public Future<JsonObject> startSession(String userId, String email, String role) {
    return startSession(userId, email, role, null, new JsonObject().put("method", "oauth"));
  }

  /**
   * A new refresh-token family (one sign-in) and the first token pair in it. Its audit entry is
   * written in the same transaction: there is no sign-in without its entry.
   */
  public Future<JsonObject> startSession(String userId, String email, String role, String address, JsonObject how) {
    String refresh = Secrets.token(32);
    return services.pool().withTransaction(conn -> conn.preparedQuery("INSERT INTO token_families (user_id, expires_at) "
                + "VALUES ($1::uuid, now() + make_interval(secs => $2)) RETURNING id::text")
            .execute(Tuple.of(userId, config.refreshTokenTtl()))
            .compose(rows -> {
              String family = rows.iterator().next().getString(0);
              return conn.preparedQuery("INSERT INTO refresh_tokens (token_hash, family_id) VALUES ($1, $2::uuid)")
                  .execute(Tuple.of(Secrets.sha256Hex(refresh), family))
                  .compose(v -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.LOGIN, userId, null, family, address,
                      how.copy().put("email", email))))
                  .map(family);
            }))
        .map(family -> tokenPair(userId, email, role, family, refresh));
  }

  private JsonObject tokenPair(String userId, String email, String role, String family, String refresh) {
    TokenService.Issued access = tokens.issue(userId, email, role, family);
    return new JsonObject()
        .put("access_token", access.token())
        .put("refresh_token", refresh)
        .put("token_type", "Bearer")
        .put("expires_in", access.expiresIn());
  }

  // --- refresh -------------------------------------------------------------------------------

  private Future<JsonObject> refresh(JsonObject request) {
    String presented = request.getString("refresh_token");
    if (presented == null || presented.isBlank() || presented.length() > 200) {
      return Future.failedFuture(new ApiException(ErrorCode.INVALID_TOKEN, "A refresh_token is required"));
    }
    String hash = Secrets.sha256Hex(presented);
    String next = Secrets.token(32);
    return services.pool().withTransaction(conn -> conn.preparedQuery("UPDATE refresh_tokens r SET used_at = now() "
                + "FROM token_families f, users u WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.family_id = f.id "
                + "AND f.revoked_at IS NULL AND f.expires_at > now() AND u.id = f.user_id AND u.disabled_at IS NULL "
                + "RETURNING f.id::text AS family, u.id::text AS user_id, u.email, u.role")
            .execute(Tuple.of(hash))
            .compose(rows -> {
              if (rows.size() == 0) {
                return Future.succeededFuture((Row) null);
              }
              Row row = rows.iterator().next();
              return conn.preparedQuery("INSERT INTO refresh_tokens (token_hash, family_id) VALUES ($1, $2::uuid)")
                  .execute(Tuple.of(Secrets.sha256Hex(next), row.getString("family"))).map(row);
            }))
        .compose(row -> row != null
            ? Future.succeededFuture(tokenPair(row.getString("user_id"), row.getString("email"), row.getString("role"),
                row.getString("family"), next))
            : refusedRefresh(hash));
  }

  /** Why a refresh token did not work; a token used earlier than the race window means theft. */
  private Future<JsonObject> refusedRefresh(String hash) {
    return services.pool().preparedQuery("SELECT f.id::text AS family, f.revoked_at, "
            + "extract(epoch FROM now() - r.used_at) AS used_seconds_ago "
            + "FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.token_hash = $1")
        .execute(Tuple.of(hash))
        .compose(rows -> {
          if (rows.size() == 0) {
            return invalidToken("The refresh token is not valid");
          }
          Row row = rows.iterator().next();
          Number ago = (Number) row.getValue("used_seconds_ago");
          if (row.getValue("revoked_at") != null || ago == null) {
            return invalidToken("The refresh token is no longer valid");
          }
          if (ago.doubleValue() < REFRESH_RACE_SECONDS) {
            return invalidToken("The refresh token was just used by another request");
          }
          String family = row.getString("family");
          LOG.warn("Refresh token reused long after rotation; revoking sign-in {}", family);
          return revokeFamily(family, "reuse").transform(x -> invalidToken("The refresh token was reused; "
              + "this sign-in has been revoked"));
        });
  }

  /** Revokes a sign-in; the revocation and its audit entry commit together. */
  private Future<Void> revokeFamily(String family, String reason) {
    return revokeFamily(family, reason, null);
  }

  private Future<Void> revokeFamily(String family, String reason, String address) {
    return services.pool().withTransaction(conn -> conn.preparedQuery("UPDATE token_families SET revoked_at = now(), "
                + "revoked_reason = $2 WHERE id = $1::uuid AND revoked_at IS NULL RETURNING user_id::text AS user_id")
            .execute(Tuple.of(family, reason))
            .compose(rows -> rows.size() == 0 ? Future.<Void>succeededFuture()
                : AuditLog.append(conn, new AuditLog.Entry(AuditLog.TOKEN_REVOKED, rows.iterator().next().getString("user_id"),
                    null, family, address, new JsonObject().put("reason", reason)))))
        .compose(v -> tokens.revocations().revokeSession(family));
  }

  private static <T> Future<T> invalidToken(String message) {
    return Future.failedFuture(new ApiException(ErrorCode.INVALID_TOKEN, message));
  }

  // --- logout, me ----------------------------------------------------------------------------

  private Future<JsonObject> logout(JsonObject request) {
    return revokeFamily(request.getString("sid"), "logout", request.getString("client_ip"))
        .compose(v -> tokens.revocations().revokeToken(request.getString("jti")))
        .map(new JsonObject());
  }

  private Future<Row> activeUser(SqlClient client, String userId) {
    return client.preparedQuery("SELECT " + USER_COLUMNS + ", mfa_secret FROM users WHERE id = $1::uuid")
        .execute(Tuple.of(userId))
        .compose(rows -> {
          if (rows.size() == 0 || rows.iterator().next().getValue("disabled_at") != null) {
            return invalidToken("The account behind this token no longer exists or is disabled");
          }
          return Future.succeededFuture(rows.iterator().next());
        });
  }

  private Future<JsonObject> me(JsonObject request) {
    return activeUser(services.pool(), request.getString("user_id")).map(AuthVerticle::userJson);
  }

  // --- MFA -----------------------------------------------------------------------------------

  private Future<JsonObject> mfaSetup(JsonObject request) {
    String userId = request.getString("user_id");
    return activeUser(services.pool(), userId).compose(user -> {
      if (user.getBoolean("mfa_enabled")) {
        return Future.failedFuture(new ApiException(ErrorCode.CONFLICT, "MFA is already on for this account"));
      }
      String secret = Totp.newSecret();
      return services.pool().withTransaction(conn -> conn.preparedQuery("UPDATE users SET mfa_secret = $2 WHERE id = $1::uuid")
              .execute(Tuple.of(userId, secret))
              .compose(v -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.MFA_SETUP, userId, null, userId, null, null))))
          .map(v -> new JsonObject().put("secret", secret)
              .put("otpauth_uri", Totp.uri("CloudSync", user.getString("email"), secret)));
    });
  }

  private Future<JsonObject> mfaVerify(JsonObject request) {
    String userId = request.getString("user_id");
    String code = request.getString("code", "").strip();
    return activeUser(services.pool(), userId).compose(user -> {
      String secret = user.getString("mfa_secret");
      if (secret == null || user.getBoolean("mfa_enabled")) {
        return Future.failedFuture(new ApiException(ErrorCode.CONFLICT,
            "Call /api/v1/auth/mfa/setup first; MFA is on once verified"));
      }
      long step = Totp.matchingStep(secret, code, System.currentTimeMillis() / 1000, 0);
      if (step < 0) {
        return Future.failedFuture(new ApiException(ErrorCode.INVALID_MFA_CODE, "The code does not match the secret"));
      }
      List<String> codes = new ArrayList<>();
      List<Tuple> rows = new ArrayList<>();
      for (int i = 0; i < RECOVERY_CODES; i++) {
        String raw = Secrets.token(8).replace("-", "x").replace("_", "y").toLowerCase(java.util.Locale.ROOT).substring(0, 10);
        codes.add(raw.substring(0, 5) + "-" + raw.substring(5));
        rows.add(Tuple.of(userId, Secrets.sha256Hex(raw)));
      }
      return services.pool().withTransaction(conn -> conn.preparedQuery("UPDATE users SET mfa_enabled = true, "
                  + "mfa_last_step = $2 WHERE id = $1::uuid AND NOT mfa_enabled")
              .execute(Tuple.of(userId, step))
              .compose(v -> conn.preparedQuery("DELETE FROM recovery_codes WHERE user_id = $1::uuid").execute(Tuple.of(userId)))
              .compose(v -> conn.preparedQuery("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1::uuid, $2)")
                  .executeBatch(rows))
              .compose(v -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.MFA_ENABLED, userId, null, userId, null,
                  new JsonObject().put("recovery_codes", RECOVERY_CODES)))))
          .map(v -> new JsonObject().put("mfa_enabled", true).put("recovery_codes", new JsonArray(codes)));
    });
  }

  // --- admin ---------------------------------------------------------------------------------

  /** The caller's role is read from the database, not trusted from the token. */
  private Future<Void> requireAdmin(String callerId) {
    return activeUser(services.pool(), callerId).compose(row -> "admin".equals(row.getString("role"))
        ? Future.succeededFuture()
        : Future.failedFuture(new ApiException(ErrorCode.FORBIDDEN, "Only admins may do this")));
  }

  private Future<JsonObject> adminUsers(JsonObject request) {
    int limit = Math.max(1, Math.min(500, request.getInteger("limit", 100)));
    int offset = Math.max(0, request.getInteger("offset", 0));
    return requireAdmin(request.getString("user_id"))
        .compose(v -> services.pool().preparedQuery("SELECT " + USER_COLUMNS
            + " FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2").execute(Tuple.of(limit + 1, offset)))
        .map(rows -> {
          JsonArray users = new JsonArray();
          int count = 0;
          for (Row row : rows) {
            if (count++ < limit) {
              users.add(userJson(row));
            }
          }
          return new JsonObject().put("users", users).put("has_more", rows.size() > limit);
        });
  }

  /** Disabling signs the user out everywhere at once: sign-ins revoked, live access tokens denied. */
  private Future<JsonObject> adminSetDisabled(JsonObject request) {
    String target = request.getString("target_id");
    boolean disabled = request.getBoolean("disabled", true);
    if (!Access.isUuid(target)) {
      return Future.failedFuture(new ApiException(ErrorCode.NOT_FOUND, "No such user"));
    }
    long now = System.currentTimeMillis() / 1000;
    return requireAdmin(request.getString("user_id"))
        .compose(v -> target.equals(request.getString("user_id")) && disabled
            ? Future.failedFuture(new ApiException(ErrorCode.CONFLICT, "Admins cannot disable themselves"))
            : Future.<Void>succeededFuture())
        .compose(v -> services.pool().withTransaction(conn -> conn.preparedQuery("UPDATE users SET disabled_at = "
                    + "CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END WHERE id = $1::uuid RETURNING "
                    + USER_COLUMNS)
                .execute(Tuple.of(target, disabled))
                .compose(rows -> disabled
                    ? conn.preparedQuery("UPDATE token_families SET revoked_at = now(), revoked_reason = 'disabled' "
                        + "WHERE user_id = $1::uuid AND revoked_at IS NULL").execute(Tuple.of(target)).map(rows)
                    : Future.succeededFuture(rows))
                .compose(rows -> rows.size() == 0 ? Future.succeededFuture(rows)
                    : AuditLog.append(conn, new AuditLog.Entry(disabled ? AuditLog.USER_DISABLED : AuditLog.USER_ENABLED,
                        request.getString("user_id"), null, target, null, null)).map(rows))))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(new ApiException(ErrorCode.NOT_FOUND, "No such user"));
          }
          JsonObject user = userJson(rows.iterator().next());
          return (disabled ? tokens.revocations().revokeUser(target, now) : Future.<Void>succeededFuture()).map(user);
        });
  }

  private Future<JsonObject> adminRotateKeys(JsonObject request) {
    return requireAdmin(request.getString("user_id"))
        .compose(v -> tokens.rotate((conn, kid) -> AuditLog.append(conn, new AuditLog.Entry(AuditLog.KEYS_ROTATED,
            request.getString("user_id"), null, kid, null, null))))
        .map(kid -> new JsonObject().put("kid", kid));
  }
}
