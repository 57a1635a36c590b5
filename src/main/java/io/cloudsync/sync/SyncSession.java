package io.cloudsync.sync;

import io.cloudsync.auth.Access;
import io.cloudsync.auth.Principal;
import io.cloudsync.auth.Revocations;
import io.cloudsync.auth.TokenService;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One raw WebSocket client of {@code /api/v1/sync}: authentication (header or first message),
 * subscriptions with cursors, backlog then live changes without gap or duplicate, pings, idle
 * and lifetime limits, and a bounded send queue.
 *
 * <p>Each subscription keeps {@code last}, the newest seq written to the socket. A live change
 * with seq {@code last + 1} is written at once; anything else (a gap, the backlog, a queue that
 * was full) is read from the log after {@code last}, a page at a time. Changes at or below
 * {@code last} are dropped, so the hand-over from backlog to live cannot duplicate, and the log
 * read fills every gap. When the socket's write queue is full nothing more is queued: the session
 * waits for it to drain and reads what it missed from the log, or, if it stays full past the
 * slow-consumer timeout, tells the client its cursors and disconnects it.
 *
 * <p>Runs entirely on the event loop of the WebSocket's gateway verticle.
 */
public final class SyncSession {
  private static final Logger LOG = LoggerFactory.getLogger(SyncSession.class);
  private static final int PAGE = 200;
  private static final long AUTH_DEADLINE_MS = 10_000;
  private static final long RETRY_READ_MS = 1_000;
  private static final long NEW_SUBSCRIPTION_RECHECK_MS = 1_000;

  // WebSocket close codes (RFC 6455 section 7.4.1).
  static final short GOING_AWAY = 1001;
  static final short UNSUPPORTED_DATA = 1003;
  static final short INVALID_PAYLOAD = 1007;
  static final short POLICY_VIOLATION = 1008;
  static final short MESSAGE_TOO_BIG = 1009;
  static final short TRY_AGAIN_LATER = 1013;

  /** What sessions of one event loop share. */
  public record Context(Vertx vertx, SpaceFeed feed, ChangeLog log, Access access, TokenService tokens,
                        CloudSyncConfig.Sync config) {
  }

  private final ServerWebSocket ws;
  private final Context ctx;
  private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
  private final List<Long> timers = new ArrayList<>();
  private Principal principal;
  private SpaceFeed.Registration revocations;
  private long expiryTimer = -1;
  private long slowTimer = -1;
  private long lastHeard = System.currentTimeMillis();
  private boolean closed;

  public SyncSession(ServerWebSocket ws, Context ctx) {
    this.ws = ws;
    this.ctx = ctx;
  }

  /** Starts the session; {@code fromHeader} is the caller when the upgrade carried a valid token. */
  public void start(Principal fromHeader) {
    ws.setWriteQueueMaxSize(ctx.config().sendQueue());
    ws.textMessageHandler(this::onText);
    ws.binaryMessageHandler(data -> close(UNSUPPORTED_DATA, "binary messages are not part of the protocol"));
    ws.pongHandler(pong -> lastHeard = System.currentTimeMillis());
    ws.exceptionHandler(e -> {
      // Vert.x reports a message over the server's aggregation cap this way.
      if (e instanceof IllegalStateException) {
        close(MESSAGE_TOO_BIG, "message too big");
      } else {
        LOG.debug("Sync connection failed: {}", e.getMessage());
      }
    });
    ws.closeHandler(v -> cleanUp());
    ws.drainHandler(v -> drained());
    Vertx vertx = ctx.vertx();
    long pingMillis = ctx.config().pingInterval() * 1000L;
    long idleMillis = ctx.config().idleTimeout() * 1000L;
    timers.add(vertx.setPeriodic(Math.min(pingMillis, Math.max(1000, idleMillis / 2)), id -> {
      if (System.currentTimeMillis() - lastHeard > idleMillis) {
        fail("idle_timeout", "Nothing was heard from this connection for " + ctx.config().idleTimeout() + " s",
            GOING_AWAY);
      } else if (!ws.isClosed()) {
        ws.writePing(Buffer.buffer("cs"));
      }
    }));
    timers.add(vertx.setTimer(ctx.config().maxSession() * 1000L, id -> fail("session_expired",
        "This connection reached its maximum lifetime; reconnect and subscribe with your cursors", GOING_AWAY)));
    if (fromHeader != null) {
      authenticated(fromHeader);
    } else {
      timers.add(vertx.setTimer(AUTH_DEADLINE_MS, id -> {
        if (principal == null) {
          fail(ErrorCode.UNAUTHORIZED.code(), "Authenticate first: send {\"type\":\"auth\",\"token\":...}",
              POLICY_VIOLATION);
        }
      }));
    }
  }

  private void onText(String text) {
    lastHeard = System.currentTimeMillis();
    if (closed) {
      return;
    }
    if (text.length() > ctx.config().maxMessage()) {
      close(MESSAGE_TOO_BIG, "messages may be " + ctx.config().maxMessage() + " bytes at most");
      return;
    }
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      close(INVALID_PAYLOAD, "messages must be JSON objects");
      return;
    }
    String type = message.getValue("type") instanceof String s ? s : null;
    if (type == null) {
      close(POLICY_VIOLATION, "a message needs a string \"type\"");
      return;
    }
    if (principal == null && !type.equals("auth") && !type.equals("ping")) {
      fail(ErrorCode.UNAUTHORIZED.code(), "Authenticate first: send {\"type\":\"auth\",\"token\":...}", POLICY_VIOLATION);
      return;
    }
    switch (type) {
      case "auth" -> auth(message);
      case "subscribe" -> subscribe(message);
      case "unsubscribe" -> unsubscribe(message);
      case "ping" -> send(new JsonObject().put("type", "pong"));
      default -> close(POLICY_VIOLATION, "unknown message type");
    }
  }

  private void auth(JsonObject message) {
    if (!(message.getValue("token") instanceof String token) || token.isBlank()) {
      close(POLICY_VIOLATION, "auth needs a string \"token\"");
      return;
    }
    ctx.tokens().verify(token).onComplete(verified -> {
      if (closed) {
        return;
      }
      if (verified.failed()) {
        ApiException failure = ApiException.from(verified.cause());
        fail(failure.code().code(), failure.getMessage(), POLICY_VIOLATION);
      } else if (principal != null && !principal.userId().equals(verified.result().userId())) {
        fail(ErrorCode.FORBIDDEN.code(), "A connection stays with the user it was opened for", POLICY_VIOLATION);
      } else {
        authenticated(verified.result());
      }
    });
  }

  /** Takes a (new) token: its expiry ends the session unless the client sends a fresher one. */
  private void authenticated(Principal caller) {
    boolean first = principal == null;
    principal = caller;
    if (revocations == null) {
      revocations = ctx.feed().onRevocation(this::revoked);
    }
    if (expiryTimer != -1) {
      ctx.vertx().cancelTimer(expiryTimer);
    }
    expiryTimer = ctx.vertx().setTimer(caller.millisUntilExpiry(), id -> fail("token_expired",
        "The access token expired; send {\"type\":\"auth\",\"token\":...} with a fresh one before it does",
        POLICY_VIOLATION));
    send(new JsonObject().put("type", first ? "authenticated" : "reauthenticated").put("user_id", caller.userId())
        .put("expires_at", caller.expiresAt()));
  }

  private void revoked(JsonObject revocation) {
    if (principal != null && Revocations.covers(revocation, principal)) {
      boolean disabled = revocation.containsKey("user");
      fail(disabled ? ErrorCode.ACCOUNT_DISABLED.code() : "token_revoked", disabled
          ? "The account was disabled or all its sign-ins were ended" : "This sign-in was ended (logout)",
          POLICY_VIOLATION);
    }
  }

  private void subscribe(JsonObject message) {
    Object spaceValue = message.getValue("space");
    Object cursorValue = message.getValue("cursor");
    if (!(spaceValue instanceof String space)) {
      close(POLICY_VIOLATION, "subscribe needs a string \"space\"");
      return;
    }
    if (cursorValue != null && !(cursorValue instanceof Number)) {
      close(POLICY_VIOLATION, "\"cursor\" must be a number");
      return;
    }
    long cursor = cursorValue == null ? 0 : ((Number) cursorValue).longValue();
    if (cursor < 0) {
      sendError(ErrorCode.VALIDATION_FAILED.code(), "cursor must not be negative", space);
      return;
    }
    Subscription existing = subscriptions.remove(space);
    if (existing != null) {
      existing.end();
    }
    if (subscriptions.size() >= ctx.config().maxSubscriptions()) {
      sendError(ErrorCode.VALIDATION_FAILED.code(), "At most " + ctx.config().maxSubscriptions()
          + " subscriptions per connection", space);
      return;
    }
    Subscription subscription = new Subscription(space, cursor);
    subscriptions.put(space, subscription);
    ctx.access().require(principal.userId(), space, Access.Action.READ)
        .compose(role -> subscription.ended ? Future.failedFuture("unsubscribed")
            : ctx.feed().listen(space, subscription))
        .onComplete(listening -> {
          if (listening.failed()) {
            if (!subscription.ended) {
              subscription.end();
              subscriptions.remove(space, subscription);
              ApiException failure = ApiException.from(listening.cause());
              sendError(failure.code().code(), failure.getMessage(), space);
            }
            return;
          }
          if (subscription.ended || closed) {
            listening.result().cancel();
            return;
          }
          subscription.registration = listening.result();
          send(new JsonObject().put("type", "subscribed").put("space", space).put("cursor", cursor));
          subscription.pull();
          // Other cluster nodes may publish a change before they learn of the new consumer.
          ctx.vertx().setTimer(NEW_SUBSCRIPTION_RECHECK_MS, id -> {
            if (!subscription.ended && !closed) {
              ctx.feed().head(space).onSuccess(subscription::head);
            }
          });
        });
  }

  private void unsubscribe(JsonObject message) {
    if (!(message.getValue("space") instanceof String space)) {
      close(POLICY_VIOLATION, "unsubscribe needs a string \"space\"");
      return;
    }
    Subscription subscription = subscriptions.remove(space);
    if (subscription != null) {
      subscription.end();
    }
    send(new JsonObject().put("type", "unsubscribed").put("space", space));
  }

  /** One space of this connection. */
  private final class Subscription implements SpaceFeed.Listener {
    final String space;
    long last;
    long seen;
    boolean backlog = true;
    boolean reading;
    boolean ended;
    SpaceFeed.Registration registration;

    Subscription(String space, long cursor) {
      this.space = space;
      this.last = cursor;
      this.seen = cursor;
    }

    @Override
    public void change(SpaceFeed.LiveChange change) {
      long seq = change.seq();
      if (ended || seq <= last) {
        return;
      }
      seen = Math.max(seen, seq);
      if (seq == last + 1 && !reading && !backlog && !ws.writeQueueFull()) {
        deliver(change.change(), change.frame());
      } else {
        pull();
      }
    }

    @Override
    public void head(long seq) {
      if (!ended && seq > seen) {
        seen = seq;
        pull();
      }
    }

    @Override
    public void notice(String type) {
      if (!ended && ChangeLog.SPACE_DELETED.equals(type)) {
        endWithError(ErrorCode.NOT_FOUND.code(), "The space was deleted");
      }
    }

    /** Reads the log after {@code last} while there is more to send and room to send it. */
    void pull() {
      if (ended || closed || reading || registration == null || (!backlog && seen <= last)) {
        return;
      }
      if (ws.writeQueueFull()) {
        awaitDrain();
        return;
      }
      reading = true;
      ctx.log().read(space, last, PAGE).onComplete(read -> {
        reading = false;
        if (ended || closed) {
          return;
        }
        if (read.failed()) {
          LOG.debug("Reading the changes of space {} failed: {}", space, read.cause().getMessage());
          ctx.vertx().setTimer(RETRY_READ_MS, id -> pull());
          return;
        }
        JsonObject page = read.result();
        for (Object each : page.getJsonArray("changes")) {
          JsonObject change = (JsonObject) each;
          if (ended) {
            return;
          }
          if (change.getLong("seq") > last) {
            deliver(change, SpaceFeed.frameOf(change));
          }
        }
        if (!page.getBoolean("has_more")) {
          backlog = false;
        }
        seen = Math.max(seen, last);
        pull();
      });
    }

    void deliver(JsonObject change, String frame) {
      ws.writeTextMessage(frame);
      last = change.getLong("seq");
      if (ChangeLog.removes(change, principal.userId())) {
        endWithError("access_revoked", "You are no longer a member of this space");
      }
    }

    void endWithError(String code, String message) {
      subscriptions.remove(space, this);
      end();
      sendError(code, message, space);
    }

    void end() {
      ended = true;
      if (registration != null) {
        registration.cancel();
        registration = null;
      }
    }
  }

  private void awaitDrain() {
    if (slowTimer != -1 || closed) {
      return;
    }
    slowTimer = ctx.vertx().setTimer(ctx.config().slowConsumerTimeout() * 1000L, id -> {
      slowTimer = -1;
      JsonObject cursors = new JsonObject();
      subscriptions.values().forEach(s -> cursors.put(s.space, s.last));
      if (!closed) {
        ws.writeTextMessage(new JsonObject().put("type", "error").put("code", "slow_consumer")
            .put("message", "This connection did not read its changes; reconnect and subscribe from these cursors")
            .put("cursors", cursors).encode());
      }
      close(TRY_AGAIN_LATER, "slow consumer");
    });
  }

  private void drained() {
    if (slowTimer != -1) {
      ctx.vertx().cancelTimer(slowTimer);
      slowTimer = -1;
    }
    for (Subscription subscription : List.copyOf(subscriptions.values())) {
      subscription.pull();
    }
  }

  private void send(JsonObject message) {
    if (!closed) {
      ws.writeTextMessage(message.encode());
    }
  }

  private void sendError(String code, String message, String space) {
    JsonObject error = new JsonObject().put("type", "error").put("code", code).put("message", message);
    if (space != null) {
      error.put("space", space);
    }
    send(error);
  }

  /** Tells the client why, then closes. */
  private void fail(String code, String message, short closeCode) {
    if (closed) {
      return;
    }
    sendError(code, message, null);
    close(closeCode, code);
  }

  private void close(short code, String reason) {
    if (closed) {
      return;
    }
    String shortReason = reason.length() > 120 ? reason.substring(0, 120) : reason;
    cleanUp();
    ws.close(code, shortReason);
  }

  private void cleanUp() {
    if (closed) {
      return;
    }
    closed = true;
    timers.forEach(ctx.vertx()::cancelTimer);
    for (long timer : new long[] {expiryTimer, slowTimer}) {
      if (timer != -1) {
        ctx.vertx().cancelTimer(timer);
      }
    }
    subscriptions.values().forEach(Subscription::end);
    subscriptions.clear();
    if (revocations != null) {
      revocations.cancel();
    }
  }
}
