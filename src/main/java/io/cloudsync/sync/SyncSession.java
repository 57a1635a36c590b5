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
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One raw WebSocket client of {@code /api/v1/sync}: authentication (header or first message),
 * subscriptions with cursors, backlog then live changes without gap or duplicate, pings, idle
 * and lifetime limits, and a bounded send queue.
 *
 * <p>Each subscription is an {@link OrderedStream} from its cursor: the log after it up to the
 * end (the backlog), then live changes. When the socket's write queue is full nothing more is
 * queued: the session waits for it to drain and hands on what is left or reads what it missed
 * from the log, or, if it stays full past the slow-consumer timeout, tells the client its cursors
 * and disconnects it.
 *
 * <p>Runs entirely on the event loop of the WebSocket's gateway verticle.
 */
public final class SyncSession implements SyncSocket.Listener {
  private static final long AUTH_DEADLINE_MS = 10_000;
  /** Presence state changes of one subscription go out at most this often; the latest one wins. */
  static final long PRESENCE_UPDATE_MS = 100;

  // WebSocket close codes (RFC 6455 section 7.4.1).
  static final short GOING_AWAY = 1001;
  static final short PROTOCOL_ERROR = 1002;
  static final short UNSUPPORTED_DATA = 1003;
  static final short INVALID_PAYLOAD = 1007;
  static final short POLICY_VIOLATION = 1008;
  static final short MESSAGE_TOO_BIG = 1009;
  static final short TRY_AGAIN_LATER = 1013;

  /** What sessions of one event loop share. */
  public record Context(Vertx vertx, SpaceFeed feed, ChangeLog log, Pool pool, Presence presence, Access access,
                        TokenService tokens, CloudSyncConfig.Sync config) {
  }

  private final SyncSocket ws;
  private final Context ctx;
  private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
  private final List<Long> timers = new ArrayList<>();
  private Principal principal;
  private SpaceFeed.Registration revocations;
  private long expiryTimer = -1;
  private long slowTimer = -1;
  private long lastHeard = System.currentTimeMillis();
  private boolean closed;

  public SyncSession(SyncSocket ws, Context ctx) {
    this.ws = ws;
    this.ctx = ctx;
  }

  /** Starts the session; {@code fromHeader} is the caller when the upgrade carried a valid token. */
  public void start(Principal fromHeader) {
    ws.listener(this);
    Vertx vertx = ctx.vertx();
    long pingMillis = ctx.config().pingInterval() * 1000L;
    long idleMillis = ctx.config().idleTimeout() * 1000L;
    timers.add(vertx.setPeriodic(Math.min(pingMillis, Math.max(1000, idleMillis / 2)), id -> {
      if (System.currentTimeMillis() - lastHeard > idleMillis) {
        fail("idle_timeout", "Nothing was heard from this connection for " + ctx.config().idleTimeout() + " s",
            GOING_AWAY);
      } else if (!ws.isClosed()) {
        ws.writePing();
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

  @Override
  public void onText(String text) {
    lastHeard = System.currentTimeMillis();
    if (closed) {
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
      case "presence" -> presence(message);
      case "ping" -> send(new JsonObject().put("type", "pong"));
      default -> close(POLICY_VIOLATION, "unknown message type");
    }
  }

  @Override
  public void onBinary() {
    close(UNSUPPORTED_DATA, "binary messages are not part of the protocol");
  }

  @Override
  public void onPong() {
    lastHeard = System.currentTimeMillis();
  }

  @Override
  public void onTooBig() {
    close(MESSAGE_TOO_BIG, "messages may be " + ctx.config().maxMessage() + " bytes at most");
  }

  @Override
  public void onShutdown() {
    fail("shutting_down", "This server is shutting down; reconnect and subscribe with your cursors", GOING_AWAY);
  }

  @Override
  public void onClosed() {
    cleanUp();
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
    Object snapshotValue = message.getValue("snapshot");
    if (!(spaceValue instanceof String space)) {
      close(POLICY_VIOLATION, "subscribe needs a string \"space\"");
      return;
    }
    if (cursorValue != null && !(cursorValue instanceof Number)) {
      close(POLICY_VIOLATION, "\"cursor\" must be a number");
      return;
    }
    if (snapshotValue != null && !(snapshotValue instanceof Boolean)) {
      close(POLICY_VIOLATION, "\"snapshot\" must be true or false");
      return;
    }
    boolean snapshot = Boolean.TRUE.equals(snapshotValue);
    long cursor = cursorValue == null ? 0 : ((Number) cursorValue).longValue();
    if (cursor < 0) {
      sendError(ErrorCode.VALIDATION_FAILED.code(), "cursor must not be negative", space);
      return;
    }
    Filter filter;
    PresenceRequest presence;
    try {
      filter = Filter.parse(message.getValue("path_prefix"), message.getValue("types"), ctx.config().maxPrefixLength());
      presence = PresenceRequest.parse(message.getValue("presence"), ctx.config().presenceMaxState());
      if (snapshot && cursorValue != null) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED,
            "A snapshot starts at the space's newest change: send \"snapshot\" or \"cursor\", not both");
      }
    } catch (ApiException e) {
      sendError(e.code().code(), e.getMessage(), space);
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
    boolean heavy = filter.filters() || snapshot;
    if (heavy && subscriptions.values().stream().filter(s -> s.heavy).count()
        >= ctx.config().maxFilteredSubscriptions()) {
      sendError(ErrorCode.VALIDATION_FAILED.code(), "At most " + ctx.config().maxFilteredSubscriptions()
          + " subscriptions per connection may use path_prefix, types or snapshot", space);
      return;
    }
    Subscription subscription = new Subscription(space, cursor, filter, snapshot);
    subscriptions.put(space, subscription);
    ctx.access().require(principal.userId(), space, Access.Action.READ)
        .compose(role -> snapshot ? ctx.feed().head(space) : Future.succeededFuture(cursor))
        .compose(start -> {
          subscription.last = start;
          subscription.seen = start;
          subscription.told = start;
          return ChangeFilter.at(filter, snapshot, ctx.pool(), space, start, ctx.config().maxTrackedFolders())
              .map(decider -> subscription.decider = decider);
        })
        .compose(v -> subscription.ended ? Future.failedFuture("unsubscribed") : ctx.feed().listen(space, subscription))
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
          subscription.listening(listening.result());
          JsonObject subscribed = new JsonObject().put("type", "subscribed").put("space", space)
              .put("cursor", subscription.cursor());
          if (snapshot) {
            subscribed.put("snapshot", true);
          }
          subscribed.mergeIn(filter.toJson(message.getValue("path_prefix") instanceof String raw ? raw : null));
          send(subscribed);
          if (presence != null) {
            subscription.enterPresence(presence);
          }
          subscription.pull();
        });
  }

  /** {@code {"type":"presence","space","state"}}: sets this connection's presence state in a space. */
  private void presence(JsonObject message) {
    if (!(message.getValue("space") instanceof String space)) {
      close(POLICY_VIOLATION, "presence needs a string \"space\"");
      return;
    }
    Subscription subscription = subscriptions.get(space);
    if (subscription == null || subscription.member == null) {
      sendError(ErrorCode.NOT_FOUND.code(), "Subscribe to the space with \"presence\" first", space);
      return;
    }
    try {
      subscription.setState(PresenceRequest.state(message.getValue("state"), ctx.config().presenceMaxState()));
    } catch (ApiException e) {
      sendError(e.code().code(), e.getMessage(), space);
    }
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

  /** One space of this connection: its ordered stream, written as frames, and its presence. */
  private final class Subscription extends OrderedStream implements Presence.Watcher {
    Presence.Member member;
    boolean presenceStale;
    JsonObject pendingState;
    boolean statePending;
    long stateTimer = -1;

    Subscription(String space, long cursor, Filter filter, boolean snapshot) {
      super(ctx.vertx(), ctx.log(), ctx.pool(), space, cursor, null, filter.filters() || snapshot, snapshot, true);
    }

    @Override
    protected void writeChange(JsonObject change, SpaceFeed.LiveChange live) {
      if (live != null) {
        ws.writeTextFrame(live.frame());
      } else {
        ws.writeTextMessage(SpaceFeed.frameOf(change));
      }
    }

    @Override
    protected void writeCopy(JsonObject copy) {
      ws.writeTextMessage(SpaceFeed.frameOf(copy));
    }

    @Override
    protected Future<Void> write(JsonObject message) {
      ws.writeTextMessage(message.encode());
      return Future.succeededFuture();
    }

    @Override
    protected boolean full() {
      return ws.writeQueueFull();
    }

    @Override
    protected void awaitDrain() {
      SyncSession.this.awaitDrain();
    }

    @Override
    protected String userId() {
      return principal.userId();
    }

    @Override
    protected void failed(ApiException failure) {
      endWithError(failure.code().code(), failure.getMessage());
    }

    @Override
    protected void revoke(String message) {
      endWithError("access_revoked", message);
    }

    @Override
    protected void spaceDeleted() {
      endWithError(ErrorCode.NOT_FOUND.code(), "The space was deleted");
    }

    /** When a read reaches the end of the log (the backlog's end first), the client hears of its cursor at once. */
    @Override
    protected void caughtUp() {
      tellCursor();
    }

    void enterPresence(PresenceRequest request) {
      ctx.presence().join(space, principal.userId(), request.device(), request.state(), this).onComplete(joined -> {
        if (joined.failed()) {
          if (!ended) {
            sendError(ErrorCode.VALIDATION_FAILED.code(), joined.cause().getMessage(), space);
          }
          return;
        }
        if (ended || closed) {
          joined.result().leave();
          return;
        }
        member = joined.result();
        sendPresence();
      });
    }

    void sendPresence() {
      presenceStale = false;
      send(new JsonObject().put("type", "presence").put("space", space).put("you", member.json().getString("id"))
          .put("members", member.members()));
    }

    void setState(JsonObject state) {
      pendingState = state;
      statePending = true;
      if (stateTimer == -1) {
        flushState();
      }
    }

    /** Sends the newest state, then lets another through only after {@link #PRESENCE_UPDATE_MS}. */
    void flushState() {
      if (!statePending || member == null || ended) {
        return;
      }
      statePending = false;
      member.update(pendingState);
      stateTimer = ctx.vertx().setTimer(PRESENCE_UPDATE_MS, id -> {
        stateTimer = -1;
        flushState();
      });
    }

    @Override
    public void joined(JsonObject other) {
      presenceEvent("presence_join", other, null);
    }

    @Override
    public void updated(JsonObject other) {
      presenceEvent("presence_update", other, null);
    }

    @Override
    public void left(JsonObject other, String reason) {
      presenceEvent("presence_leave", other, reason);
    }

    /** A presence event, unless the socket is backed up: then the whole list follows the drain. */
    private void presenceEvent(String type, JsonObject other, String reason) {
      if (ended || closed || member == null) {
        return;
      }
      if (ws.writeQueueFull() || presenceStale) {
        presenceStale = true;
        awaitDrain();
        return;
      }
      JsonObject event = new JsonObject().put("type", type).put("space", space).put("member", other);
      if (reason != null) {
        event.put("reason", reason);
      }
      send(event);
    }

    void endWithError(String code, String message) {
      subscriptions.remove(space, this);
      end();
      sendError(code, message, space);
    }

    @Override
    public void end() {
      super.end();
      if (stateTimer != -1) {
        ctx.vertx().cancelTimer(stateTimer);
      }
      if (member != null) {
        member.leave();
        member = null;
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
      // A space whose snapshot did not finish is left out: the client subscribes to it with a snapshot again.
      subscriptions.values().stream().filter(s -> !s.snapshotting()).forEach(s -> cursors.put(s.space(), s.cursor()));
      if (!closed) {
        ws.writeTextMessage(new JsonObject().put("type", "error").put("code", "slow_consumer")
            .put("message", "This connection did not read its changes; reconnect and subscribe from these cursors")
            .put("cursors", cursors).encode());
      }
      close(TRY_AGAIN_LATER, "slow consumer");
    });
  }

  @Override
  public void onDrained() {
    if (slowTimer != -1) {
      ctx.vertx().cancelTimer(slowTimer);
      slowTimer = -1;
    }
    for (Subscription subscription : List.copyOf(subscriptions.values())) {
      if (subscription.presenceStale && subscription.member != null && !subscription.ended) {
        subscription.sendPresence();
      }
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
