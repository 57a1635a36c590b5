package io.cloudsync.auth;

import io.cloudsync.bus.Addresses;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issues and verifies access tokens: ES256 JWTs with {@code iss, aud, sub, exp, iat, nbf, jti,
 * sid} and {@code token_use: access}. Keys live in PostgreSQL so every node signs and verifies
 * with the same set; the newest unretired key signs, and a retired key keeps verifying until the
 * last token it signed has expired. A key configured as a PEM file is imported at start and, when
 * new, retires the others: replacing the file is how an operator rotates.
 */
public final class TokenService {
  private static final Logger LOG = LoggerFactory.getLogger(TokenService.class);
  public static final String ALGORITHM = "ES256";
  /** Clock skew tolerated on exp, nbf and iat. */
  public static final int LEEWAY_SECONDS = 30;
  private static final long KEYS_ADVISORY_LOCK = 0x436c6f75644b6579L;

  private record KeySet(String activeKid, JWTAuth signer, JWTAuth verifier, Set<String> kids, JsonObject jwks) {
  }

  /** How many tokens whose signature was checked are remembered (see {@link #verify}). */
  private static final int CHECKED_TOKENS = 4096;

  private final Vertx vertx;
  private final Pool pool;
  private final CloudSyncConfig.Auth config;
  private final Revocations revocations;
  private volatile KeySet keys;
  private volatile long lastReload;
  private MessageConsumer<Object> keysChanged;
  /**
   * Tokens whose signature this node already checked, with their payload. Checking an ES256
   * signature costs about a millisecond of CPU, most of an authenticated write's own work; a
   * client sends the same token with every request until it refreshes. Only the signature is
   * remembered: the key must still be known, and the dates, claims and revocations are checked
   * on every use.
   */
  private final Map<String, JsonObject> checked = java.util.Collections.synchronizedMap(
      new java.util.LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JsonObject> eldest) {
          return size() > CHECKED_TOKENS;
        }
      });
  private long periodicReload = -1;

  public TokenService(Vertx vertx, Pool pool, CloudSyncConfig.Auth config, Revocations revocations) {
    this.vertx = vertx;
    this.pool = pool;
    this.config = config;
    this.revocations = revocations;
  }

  public Revocations revocations() {
    return revocations;
  }

  public Future<Void> start() {
    keysChanged = vertx.eventBus().consumer(Addresses.AUTH_KEYS_CHANGED, message -> reload());
    periodicReload = vertx.setPeriodic(60_000, id -> reload());
    return keysChanged.completion()
        .compose(v -> config.signingKey().isEmpty() ? Future.succeededFuture((EcKeys.SigningKey) null) : readConfiguredKey())
        .compose(this::ensureActiveKey)
        .compose(v -> reload());
  }

  public Future<Void> close() {
    if (periodicReload >= 0) {
      vertx.cancelTimer(periodicReload);
    }
    return keysChanged == null ? Future.succeededFuture() : keysChanged.unregister();
  }

  private Future<EcKeys.SigningKey> readConfiguredKey() {
    return vertx.executeBlocking(() -> EcKeys.fromPem(Files.readString(Path.of(config.signingKey()))), false);
  }

  /**
   * Under an advisory lock, so nodes starting together agree: imports the configured key when it
   * is new (retiring the others), or generates a key when none signs yet.
   */
  private Future<Void> ensureActiveKey(EcKeys.SigningKey configured) {
    return pool.withTransaction(conn -> conn.query("SELECT pg_advisory_xact_lock(" + KEYS_ADVISORY_LOCK + ")").execute()
        .compose(locked -> conn.query("SELECT kid FROM signing_keys WHERE retired_at IS NULL").execute())
        .compose(rows -> {
          List<String> active = new ArrayList<>();
          rows.forEach(row -> active.add(row.getString("kid")));
          if (configured != null) {
            if (active.size() == 1 && active.get(0).equals(configured.kid())) {
              return Future.succeededFuture();
            }
            return insertActive(conn, configured);
          }
          return active.isEmpty() ? insertActive(conn, EcKeys.generate()) : Future.succeededFuture();
        }));
  }

  private Future<Void> insertActive(SqlConnection conn, EcKeys.SigningKey key) {
    LOG.info("Signing access tokens with new key {}", key.kid());
    return conn.preparedQuery("UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> $1")
        .execute(Tuple.of(key.kid()))
        .compose(v -> conn.preparedQuery("INSERT INTO signing_keys (kid, algorithm, private_pem, public_jwk) "
                + "VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO UPDATE SET retired_at = NULL")
            .execute(Tuple.of(key.kid(), ALGORITHM, key.privatePem(), key.publicJwk())))
        .mapEmpty();
  }

  /**
   * A new key signs from now on; the previous ones keep verifying until their tokens expire.
   * {@code alsoInTransaction} gets the transaction's connection and the new key's id, and runs in
   * that transaction (the rotation's audit entry): both commit together or neither does.
   */
  public Future<String> rotate(BiFunction<SqlConnection, String, Future<Void>> alsoInTransaction) {
    EcKeys.SigningKey key = EcKeys.generate();
    return pool.withTransaction(conn -> conn.query("SELECT pg_advisory_xact_lock(" + KEYS_ADVISORY_LOCK + ")").execute()
            .compose(locked -> insertActive(conn, key))
            .compose(v -> alsoInTransaction.apply(conn, key.kid())))
        .compose(v -> reload())
        .onSuccess(v -> vertx.eventBus().publish(Addresses.AUTH_KEYS_CHANGED, key.kid()))
        .map(key.kid());
  }

  /** Reads the keys that may still verify a live token. */
  public Future<Void> reload() {
    lastReload = System.currentTimeMillis();
    long verifyWindow = config.accessTokenTtl() + LEEWAY_SECONDS + 60L;
    return pool.preparedQuery("SELECT kid, private_pem, public_jwk, retired_at FROM signing_keys "
            + "WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1) ORDER BY created_at DESC")
        .execute(Tuple.of(verifyWindow))
        .map(rows -> {
          JWTAuthOptions verifyOptions = new JWTAuthOptions();
          JsonArray published = new JsonArray();
          Set<String> kids = new HashSet<>();
          JWTAuth signer = null;
          String activeKid = null;
          for (Row row : rows) {
            JsonObject jwk = (JsonObject) row.getJson("public_jwk");
            kids.add(row.getString("kid"));
            published.add(jwk);
            // Vert.x files a JWK by its "use": without one it goes to the verifying keys as well.
            JsonObject verifying = jwk.copy();
            verifying.remove("use");
            verifyOptions.addJwk(verifying);
            if (signer == null && row.getValue("retired_at") == null) {
              EcKeys.SigningKey key = EcKeys.fromPem(row.getString("private_pem"));
              signer = JWTAuth.create(vertx, new JWTAuthOptions().addJwk(key.privateJwk()));
              activeKid = key.kid();
            }
          }
          if (signer == null) {
            throw new IllegalStateException("no active signing key");
          }
          keys = new KeySet(activeKid, signer, JWTAuth.create(vertx, verifyOptions), Set.copyOf(kids),
              new JsonObject().put("keys", published));
          return null;
        });
  }

  /** The public keys for {@code /.well-known/jwks.json}. */
  public JsonObject jwks() {
    return keys.jwks().copy();
  }

  public record Issued(String token, String jti, long expiresIn) {
  }

  public Issued issue(String userId, String email, String role, String sessionId) {
    String jti = UUID.randomUUID().toString();
    long now = System.currentTimeMillis() / 1000;
    JsonObject claims = new JsonObject()
        .put("jti", jti).put("sid", sessionId).put("email", email).put("role", role)
        .put("token_use", "access").put("nbf", now).put("iat", now);
    JWTOptions options = new JWTOptions().setAlgorithm(ALGORITHM).setIssuer(config.issuer())
        .setAudience(List.of(config.audience())).setSubject(userId).setExpiresInSeconds(config.accessTokenTtl());
    return new Issued(keys.signer().generateToken(claims, options), jti, config.accessTokenTtl());
  }

  /**
   * The principal of a valid access token. Everything else — malformed, unsigned, another
   * algorithm, unknown key, bad signature, expired, not yet valid, another issuer or audience, a
   * refresh or ID token, revoked — fails with {@code invalid_token}.
   */
  public Future<Principal> verify(String token) {
    JsonObject header;
    try {
      header = header(token);
    } catch (RuntimeException e) {
      return invalid("The access token is malformed");
    }
    if (!ALGORITHM.equals(header.getString("alg"))) {
      return invalid("The access token is not signed with " + ALGORITHM);
    }
    String kid = header.getString("kid");
    if (kid == null) {
      return invalid("The access token names no key");
    }
    Future<Void> ready = Future.succeededFuture();
    if (!keys.kids().contains(kid) && System.currentTimeMillis() - lastReload > 5_000) {
      // A key made by another node since this one last read them.
      ready = reload();
    }
    return ready.compose(v -> {
      KeySet current = keys;
      if (!current.kids().contains(kid)) {
        return invalid("The access token was signed by an unknown key");
      }
      JsonObject known = checked.get(token);
      if (known != null) {
        return checkClaims(known);
      }
      return current.verifier().authenticate(new TokenCredentials(token))
          .recover(e -> invalid("The access token's signature or dates are not valid"))
          // Vert.x moves some claims off the principal: check the signed payload itself.
          .compose(user -> {
            JsonObject claims = payload(token);
            checked.put(token, claims);
            return checkClaims(claims);
          });
    });
  }

  private Future<Principal> checkClaims(JsonObject claims) {
    long now = System.currentTimeMillis() / 1000;
    Object aud = claims.getValue("aud");
    boolean audienceOk = config.audience().equals(aud)
        || (aud instanceof JsonArray list && list.contains(config.audience()));
    if (!config.issuer().equals(claims.getString("iss")) || !audienceOk) {
      return invalid("The access token is for another issuer or audience");
    }
    if (!"access".equals(claims.getString("token_use"))) {
      return invalid("This is not an access token");
    }
    Long exp = longClaim(claims, "exp");
    Long nbf = longClaim(claims, "nbf");
    Long iat = longClaim(claims, "iat");
    if (exp == null || iat == null || now - LEEWAY_SECONDS >= exp || (nbf != null && nbf > now + LEEWAY_SECONDS)
        || iat > now + LEEWAY_SECONDS) {
      return invalid("The access token has expired or is not valid yet");
    }
    String sub = claims.getString("sub");
    String jti = claims.getString("jti");
    String sid = claims.getString("sid");
    if (sub == null || jti == null || sid == null) {
      return invalid("The access token lacks required claims");
    }
    return revocations.isRevoked(jti, sid, sub, iat).compose(revoked -> revoked
        ? invalid("The access token has been revoked")
        : Future.succeededFuture(new Principal(sub, claims.getString("email"), claims.getString("role"), jti, sid, exp, iat)));
  }

  private static Long longClaim(JsonObject claims, String name) {
    Object value = claims.getValue(name);
    return value instanceof Number n ? n.longValue() : null;
  }

  private static JsonObject payload(String token) {
    String[] parts = token.split("\\.");
    return new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
  }

  private static JsonObject header(String token) {
    int dot = token.indexOf('.');
    if (dot <= 0 || token.length() > 8192) {
      throw new IllegalArgumentException("not a JWT");
    }
    return new JsonObject(new String(Base64.getUrlDecoder().decode(token.substring(0, dot)), StandardCharsets.UTF_8));
  }

  private static <T> Future<T> invalid(String message) {
    return Future.failedFuture(new ApiException(ErrorCode.INVALID_TOKEN, message));
  }
}
