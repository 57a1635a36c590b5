package io.cloudsync.auth;

import io.cloudsync.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * Access tokens that stop working before they expire: one token ({@code jti}), every token of a
 * sign-in ({@code sid}: logout, reuse of a refresh token), or all of a user's tokens issued up to
 * a moment (disabling). Entries live
 * only as long as an access token can, so the list stays small.
 *
 * <p>With Redis every node reads the same entries. Without it each node keeps its own. Either
 * way a revocation is also published on the (clustered) event bus: nodes without Redis learn it
 * at once, and live connections it covers are closed.
 */
public final class Revocations {
  private final Vertx vertx;
  private final ExpiringStore store;
  private final boolean local;
  private final long ttlSeconds;
  private MessageConsumer<JsonObject> consumer;

  public Revocations(Vertx vertx, ExpiringStore store, boolean local, int accessTokenTtlSeconds) {
    this.vertx = vertx;
    this.store = store;
    this.local = local;
    // Leeway included: a token is accepted up to 60 s past its exp at most.
    this.ttlSeconds = accessTokenTtlSeconds + 120L;
  }

  public Future<Void> start() {
    if (!local) {
      return Future.succeededFuture();
    }
    consumer = vertx.eventBus().consumer(Addresses.AUTH_REVOKED, message -> apply(message.body()));
    return consumer.completion();
  }

  public Future<Void> close() {
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }

  private static String tokenKey(String jti) {
    return "revoked:jti:" + jti;
  }

  private static String sessionKey(String sid) {
    return "revoked:sid:" + sid;
  }

  private static String userKey(String userId) {
    return "revoked:user:" + userId;
  }

  private Future<Void> apply(JsonObject revocation) {
    if (revocation.containsKey("jti")) {
      return store.put(tokenKey(revocation.getString("jti")), "1", ttlSeconds);
    }
    if (revocation.containsKey("sid")) {
      return store.put(sessionKey(revocation.getString("sid")), "1", ttlSeconds);
    }
    return store.put(userKey(revocation.getString("user")), String.valueOf(revocation.getLong("before")), ttlSeconds);
  }

  private Future<Void> revoke(JsonObject revocation) {
    // Published in every mode: nodes without Redis apply it to their own list, and every node's
    // live connections (/api/v1/sync, /eventbus) end the sessions it covers.
    return apply(revocation).onSuccess(v -> vertx.eventBus().publish(Addresses.AUTH_REVOKED, revocation));
  }

  /** Whether a published revocation covers this caller's token. */
  public static boolean covers(JsonObject revocation, Principal principal) {
    if (revocation.containsKey("jti")) {
      return revocation.getString("jti").equals(principal.tokenId());
    }
    if (revocation.containsKey("sid")) {
      return revocation.getString("sid").equals(principal.sessionId());
    }
    Long before = revocation.getLong("before");
    return principal.userId().equals(revocation.getString("user")) && before != null && principal.issuedAt() <= before;
  }

  /** The token with this id stops working. */
  public Future<Void> revokeToken(String jti) {
    return revoke(new JsonObject().put("jti", jti));
  }

  /** Every token issued for this sign-in (refresh-token family) stops working. */
  public Future<Void> revokeSession(String sid) {
    return revoke(new JsonObject().put("sid", sid));
  }

  /** Every token of the user issued at or before {@code epochSeconds} stops working. */
  public Future<Void> revokeUser(String userId, long epochSeconds) {
    return revoke(new JsonObject().put("user", userId).put("before", epochSeconds));
  }

  public Future<Boolean> isRevoked(String jti, String sid, String userId, long issuedAt) {
    return store.getAll(List.of(tokenKey(jti), sessionKey(sid), userKey(userId))).map(values -> {
      if (values.get(0) != null || values.get(1) != null) {
        return true;
      }
      String before = values.get(2);
      return before != null && issuedAt <= Long.parseLong(before);
    });
  }
}
