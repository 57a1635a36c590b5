package io.cloudsync.handlers;

import io.cloudsync.auth.Access;
import io.cloudsync.auth.Principal;
import io.cloudsync.auth.Revocations;
import io.cloudsync.auth.TokenService;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.ChangeLog;
import io.cloudsync.sync.ChangeFilter;
import io.cloudsync.sync.Filter;
import io.cloudsync.sync.OrderedStream;
import io.cloudsync.sync.Presence;
import io.cloudsync.sync.PresenceRequest;
import io.cloudsync.sync.SpaceFeed;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSHandlerOptions;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;
import io.vertx.sqlclient.Pool;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The SockJS event-bus bridge at {@code /eventbus} for browsers using the stock
 * {@code @vertx/eventbus-bridge-client.js}. The only thing a client may do is register
 * {@code cloudsync.sync.space.<space>} with {@code {"authorization": "Bearer <access token>"}} in the
 * message headers, for a space it can read; every other address, and every send or publish, is
 * refused. WebSocket and polling transports alike must come from an allowed origin.
 *
 * <p>Access stays live: when the token's sign-in ends or its account is disabled the socket is
 * closed; when the member is removed from a space (the {@code unshared} change names them) or the
 * space is deleted, deliveries for that space stop and the client gets an {@code err} message
 * with {@code access_revoked}; when the token expires the socket is closed with
 * {@code token_expired} and the client reconnects with a fresh one.
 *
 * <p>A register may also carry {@code path_prefix}, {@code types} and {@code snapshot} headers.
 * Every registration is served in seq order by this class from the event loop's {@link SpaceFeed},
 * rather than by the bridge's own delivery: a publish that arrives out of turn sends it to the log
 * for what came before, skipped changes move a cursor the client is told about, and a snapshot goes
 * out before the first change after it. The bridge itself keeps only a placeholder registration
 * (see {@link Client#placeholder}), so a change costs one event-bus message per event loop, not one
 * per browser.
 */
public final class EventBusBridge {
  private static final Pattern SPACE_ADDRESS = Pattern.compile(Pattern.quote(Addresses.SYNC_SPACE_PREFIX)
      + "[0-9a-fA-F-]{36}");
  private static final String BEARER = "bearer ";
  /** How long an ending client's last err may take to go out before its socket is closed anyway. */
  private static final long CLOSE_WAIT_MS = 1_000;
  /** Separates the node types of a {@code types} header. */
  private static final Pattern LIST_SEPARATOR = Pattern.compile("\\s*,\\s*");

  private final Vertx vertx;
  private final TokenService tokens;
  private final Access access;
  private final SpaceFeed feed;
  private final CloudSyncConfig.Sync config;
  private final List<String> corsOrigins;
  private final Map<SockJSSocket, Client> clients = new HashMap<>();
  private final Pool pool;
  private final ChangeLog log;
  private final Presence presence;
  /**
   * The newest change sent on each address, as the {@code rec} text every browser registered there
   * gets unchanged: encoded for the first and reused for the others. Bounded: an address that falls
   * out is only encoded again.
   */
  private final Map<String, Rec> lastRec = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Rec> eldest) {
      return size() > 1024;
    }
  };

  private record Rec(long seq, String text) {
  }

  public EventBusBridge(Vertx vertx, Pool pool, ChangeLog log, Presence presence, TokenService tokens, Access access, SpaceFeed feed,
                        CloudSyncConfig.Sync config, List<String> corsOrigins) {
    this.vertx = vertx;
    this.pool = pool;
    this.presence = presence;
    this.log = log;
    this.tokens = tokens;
    this.access = access;
    this.feed = feed;
    this.config = config;
    this.corsOrigins = corsOrigins;
  }

  /**
   * The router to mount at {@code /eventbus/*}. Every request of every transport (WebSocket handshakes, xhr
   * streams and sends, polls) passes the origin check before SockJS sees it, so a refused page gets a 403 and
   * no session at all.
   */
  public Router router() {
    SockJSBridgeOptions options = new SockJSBridgeOptions()
        .addOutboundPermitted(new PermittedOptions().setAddressRegex(SPACE_ADDRESS.pattern()))
        .setPingTimeout(config.idleTimeout() * 1000L)
        .setMaxAddressLength(Addresses.SYNC_SPACE_PREFIX.length() + 36)
        .setMaxHandlersPerSocket(config.maxSubscriptions());
    SockJSHandler handler = SockJSHandler.create(vertx, new SockJSHandlerOptions()
        .setHeartbeatInterval(config.pingInterval() * 1000L)
        .setRegisterWriteHandler(false)
        .setLocalWriteHandler(false));
    Router router = Router.router(vertx);
    router.route().handler(this::checkOrigin);
    // The HTTP transports' sends (xhr_send, jsonp_send) read their body from the routing context; a send
    // carries client messages, bounded like a WebSocket message.
    router.post().handler(BodyHandler.create(false).setBodyLimit(config.maxMessage()));
    router.route("/*").subRouter(handler.bridge(options, this::handle));
    return router;
  }

  private void checkOrigin(RoutingContext ctx) {
    if (Origins.allowed(ctx.request().getHeader(HttpHeaders.ORIGIN), ctx.request().getHeader(HttpHeaders.HOST),
        corsOrigins)) {
      ctx.next();
    } else {
      ctx.fail(new ApiException(ErrorCode.FORBIDDEN, "Event-bus connections from this origin are not allowed"));
    }
  }

  /** One browser connection: who it is, and the spaces whose deliveries stopped. */
  private final class Client {
    final SockJSSocket socket;
    final Set<String> revokedAddresses = new HashSet<>();
    /** Registrations, by address. */
    final Map<String, Stream> streams = new HashMap<>();
    /** The bridge's placeholder address of each registration, by address. */
    final Map<String, String> placeholders = new HashMap<>();
    long placeholderCount;
    /** Filtered or snapshot registrations still being checked: they hold a slot of sync.max_filtered_subscriptions. */
    int pendingStreams;
    /** Presence entries, by address. */
    final Map<String, Presence.Member> present = new HashMap<>();
    Principal principal;
    long expiryTimer = -1;
    SpaceFeed.Registration revocations;
    /**
     * Characters written to the socket and not yet handed to the network: every transport hands its writes
     * on at once, so the socket's own write queue never fills and this is what bounds a client that stops
     * reading, at sync.send_queue.
     */
    long queued;
    long slowTimer = -1;

    Client(SockJSSocket socket) {
      this.socket = socket;
    }

    void authenticated(Principal caller) {
      if (principal != null && !principal.userId().equals(caller.userId())) {
        return;
      }
      principal = caller;
      if (revocations == null) {
        revocations = feed.onRevocation(revocation -> {
          if (principal != null && Revocations.covers(revocation, principal)) {
            if (revocation.containsKey("user")) {
              end("account_disabled", "The account was disabled or all its sign-ins were ended");
            } else {
              end("token_revoked", "This sign-in was ended (logout)");
            }
          }
        });
      }
      if (expiryTimer != -1) {
        vertx.cancelTimer(expiryTimer);
      }
      expiryTimer = vertx.setTimer(caller.millisUntilExpiry(), id -> end("token_expired",
          "The access token expired; reconnect and register with a fresh one"));
    }

    void end(String code, String message) {
      end(401, code, message, null);
    }

    void end(int status, String code, String message, JsonObject cursors) {
      closed();
      JsonObject err = new JsonObject().put("type", "err").put("failureCode", status).put("failureType", code)
          .put("message", message);
      if (cursors != null) {
        err.put("cursors", cursors);
      }
      // Closing a SockJS session drops the writes it has not sent yet, and a write from outside the
      // transport's own context is only sent later: close once the err is out, or after a moment for a
      // client that does not read.
      socket.write(err.encode()).timeout(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)
          .onComplete(written -> socket.close());
    }

    boolean full() {
      return queued >= config.sendQueue();
    }

    /** Writes one message, counted against the queue until the transport has sent it. */
    Future<Void> write(String text) {
      int size = text.length();
      queued += size;
      Future<Void> written = socket.write(text);
      written.onComplete(w -> {
        queued -= size;
        if (slowTimer != -1 && !full()) {
          drained();
        }
      });
      if (full()) {
        awaitDrain();
      }
      return written;
    }

    /** The queue is full: unless it drains within sync.slow_consumer_timeout, the client is ended. */
    void awaitDrain() {
      if (slowTimer != -1 || clients.get(socket) != this) {
        return;
      }
      slowTimer = vertx.setTimer(config.slowConsumerTimeout() * 1000L, id -> {
        slowTimer = -1;
        slow();
      });
    }

    void drained() {
      vertx.cancelTimer(slowTimer);
      slowTimer = -1;
      List.copyOf(streams.values()).forEach(Stream::pull);
    }

    /**
     * The address the bridge registers instead of {@code address}: a space id no space has (space ids
     * are random version-4 UUIDs), so nothing is ever published to it. The bridge keeps its own
     * books of the registration (handler limit, unregister) on it, while the stream delivers.
     */
    String placeholder(String address) {
      return placeholders.computeIfAbsent(address, a -> Addresses.SYNC_SPACE_PREFIX + "00000000-0000-0000-0000-"
          + String.format("%012x", ++placeholderCount));
    }

    /** Ends a client that did not read, with the cursors of its registrations (not those mid-snapshot). */
    void slow() {
      JsonObject cursors = new JsonObject();
      streams.forEach((address, stream) -> {
        if (!stream.snapshotting()) {
          cursors.put(stream.space(), stream.cursor());
        }
      });
      end(503, "slow_consumer", "This connection did not read its messages; reconnect, and read the changes "
          + "after the last ones you have", cursors);
    }

    void leavePresence(String address) {
      Presence.Member member = present.remove(address);
      if (member != null) {
        member.leave();
      }
    }

    void closed() {
      clients.remove(socket);
      streams.values().forEach(Stream::end);
      streams.clear();
      List.copyOf(present.keySet()).forEach(this::leavePresence);
      if (expiryTimer != -1) {
        vertx.cancelTimer(expiryTimer);
      }
      if (slowTimer != -1) {
        vertx.cancelTimer(slowTimer);
        slowTimer = -1;
      }
      if (revocations != null) {
        revocations.cancel();
      }
    }
  }

  /** Presence events of one registration, written as bodies of its address. */
  private record PresenceWatcher(Client client, String address, String space) implements Presence.Watcher {
    @Override
    public void joined(JsonObject member) {
      write("presence_join", member, null);
    }

    @Override
    public void updated(JsonObject member) {
      write("presence_update", member, null);
    }

    @Override
    public void left(JsonObject member, String reason) {
      write("presence_leave", member, reason);
    }

    private void write(String type, JsonObject member, String reason) {
      JsonObject body = new JsonObject().put("type", type).put("space", space).put("member", member);
      if (reason != null) {
        body.put("reason", reason);
      }
      client.write(new JsonObject().put("type", "rec").put("address", address).put("body", body).encode());
    }
  }

  private void enterPresence(Client client, String address, String space, PresenceRequest request) {
    client.leavePresence(address);
    presence.join(space, client.principal.userId(), request.device(), request.state(),
        new PresenceWatcher(client, address, space)).onComplete(joined -> {
          if (joined.failed()) {
            client.socket.write(new JsonObject().put("type", "err").put("address", address).put("failureCode", 400)
                .put("failureType", ErrorCode.VALIDATION_FAILED.code()).put("message", joined.cause().getMessage()).encode());
            return;
          }
          Presence.Member member = joined.result();
          if (clients.get(client.socket) != client || client.revokedAddresses.contains(address)) {
            member.leave();
            return;
          }
          Presence.Member previous = client.present.put(address, member);
          if (previous != null) {
            previous.leave();
          }
          client.write(new JsonObject().put("type", "rec").put("address", address).put("body", new JsonObject()
              .put("type", "presence").put("space", space).put("you", member.json().getString("id"))
              .put("members", member.members())).encode());
        });
  }

  private void handle(BridgeEvent event) {
    SockJSSocket socket = event.socket();
    switch (event.type()) {
      case SOCKET_CREATED -> {
        clients.put(socket, new Client(socket));
        event.complete(true);
      }
      case SOCKET_CLOSED -> {
        Client client = clients.get(socket);
        if (client != null) {
          client.closed();
        }
        event.complete(true);
      }
      case REGISTER -> register(event, clients.get(socket));
      // Nothing is published to a placeholder; whatever else would reach a browser stays out.
      case RECEIVE -> event.complete(false);
      case UNREGISTER -> {
        Client client = clients.get(socket);
        String address = event.getRawMessage().getString("address", "");
        if (client != null) {
          Stream stream = client.streams.remove(address);
          if (stream != null) {
            stream.end();
          }
          client.leavePresence(address);
          String placeholder = client.placeholders.remove(address);
          if (placeholder != null) {
            event.setRawMessage(event.getRawMessage().copy().put("address", placeholder));
          }
        }
        event.complete(true);
      }
      case REGISTERED, SOCKET_IDLE, SOCKET_PING, SOCKET_ERROR -> event.complete(true);
      // Browsers only listen: nothing they send reaches the event bus.
      case SEND, PUBLISH -> event.complete(false);
      default -> event.complete(false);
    }
  }

  private void register(BridgeEvent event, Client client) {
    JsonObject message = event.getRawMessage();
    String address = message.getValue("address") instanceof String text ? text : "";
    String authorization = authorization(message);
    if (client == null || !SPACE_ADDRESS.matcher(address).matches() || authorization == null
        || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      event.complete(false);
      return;
    }
    String space = address.substring(Addresses.SYNC_SPACE_PREFIX.length());
    JsonObject headers = message.getJsonObject("headers");
    Filter filter;
    PresenceRequest presenceRequest;
    boolean snapshot = "true".equals(String.valueOf(headers.getValue("snapshot")));
    try {
      Object presenceValue = headers.getValue("presence");
      presenceRequest = PresenceRequest.parse("true".equals(presenceValue) ? Boolean.TRUE : presenceValue,
          config.presenceMaxState());
      Object types = headers.getValue("types");
      filter = Filter.parse(headers.getValue("path_prefix"), types instanceof String list
          ? new JsonArray(List.of(LIST_SEPARATOR.split(list))) : types, config.maxPrefixLength());
    } catch (ApiException e) {
      refuse(event, address, e);
      return;
    }
    boolean ordered = filter.filters() || snapshot;
    Stream replaced = client.streams.get(address);
    if (ordered && client.streams.values().stream().filter(Stream::filtered).count() + client.pendingStreams
        >= config.maxFilteredSubscriptions() && (replaced == null || !replaced.filtered())) {
      refuse(event, address, new ApiException(ErrorCode.VALIDATION_FAILED, "At most "
          + config.maxFilteredSubscriptions() + " registrations per connection may use path_prefix, types or snapshot"));
      return;
    }
    // The checks below are asynchronous: reserve the slot now, so registers sent together cannot all pass.
    if (ordered) {
      client.pendingStreams++;
    }
    tokens.verify(authorization.substring(BEARER.length()).trim())
        .compose(caller -> access.require(caller.userId(), space, Access.Action.READ).map(caller))
        .compose(caller -> feed.head(space).compose(head -> ChangeFilter.at(filter, snapshot, pool, space, head,
                config.maxTrackedFolders()).map(decider -> new Stream(client, address, space, decider, head, ordered,
                snapshot)))
            .compose(stream -> feed.listen(space, stream).map(registration -> {
              stream.listening(registration);
              return new Admitted(caller, stream);
            })))
        .onComplete(checked -> {
          if (ordered) {
            client.pendingStreams--;
          }
          Principal caller = checked.succeeded() ? checked.result().caller() : null;
          Stream stream = checked.succeeded() ? checked.result().stream() : null;
          if (caller != null && clients.get(event.socket()) == client
              && (client.principal == null || client.principal.userId().equals(caller.userId()))) {
            client.authenticated(caller);
            client.revokedAddresses.remove(address);
            Stream previous = client.streams.put(address, stream);
            if (previous != null) {
              previous.end();
            }
            event.setRawMessage(message.copy().put("address", client.placeholder(address)));
            event.complete(true);
            stream.started();
            if (presenceRequest != null) {
              enterPresence(client, address, space, presenceRequest);
            }
          } else {
            if (checked.succeeded() && checked.result().stream() != null) {
              checked.result().stream().end();
            }
            if (checked.failed() && ApiException.from(checked.cause()).code() == ErrorCode.VALIDATION_FAILED) {
              refuse(event, address, ApiException.from(checked.cause()));
              return;
            }
            event.complete(false);
          }
        });
  }

  /** A register that passed: who, and its stream. */
  private record Admitted(Principal caller, Stream stream) {
  }

  /** Refuses a register and says why (the bridge's own answer is only "rejected"). */
  private void refuse(BridgeEvent event, String address, ApiException why) {
    event.socket().write(new JsonObject().put("type", "err").put("address", address)
        .put("failureCode", why.code().httpStatus()).put("failureType", why.code().code())
        .put("message", why.getMessage()).encode());
    event.complete(false);
  }

  /**
   * The {@code authorization} header of a register message, or null. Read by type: the message is the
   * browser's JSON, and a getter that throws would leave the event unanswered, the client without its err.
   */
  private static String authorization(JsonObject message) {
    if (!(message.getValue("headers") instanceof JsonObject headers)) {
      return null;
    }
    Object value = headers.containsKey("authorization") ? headers.getValue("authorization")
        : headers.getValue("Authorization");
    return value instanceof String text ? text : null;
  }

  /** The {@code rec} text of a change for {@code address}, without the internal {@code v} field. */
  private String rec(String address, JsonObject change) {
    long seq = change.getLong("seq");
    Rec cached = lastRec.get(address);
    if (cached != null && cached.seq() == seq) {
      return cached.text();
    }
    JsonObject body = change.copy();
    body.remove(Bus.VERSION_FIELD);
    String text = new JsonObject().put("type", "rec").put("address", address).put("body", body).encode();
    lastRec.put(address, new Rec(seq, text));
    return text;
  }

  /**
   * A registration: its changes in seq order from the head, decided by its filter (if any),
   * written to the socket as {@code rec} messages of its address.
   */
  private final class Stream extends OrderedStream {
    final Client client;
    final String address;

    Stream(Client client, String address, String space, ChangeFilter decider, long head, boolean heavy,
           boolean snapshot) {
      super(vertx, log, pool, space, head, decider, heavy, snapshot, false);
      this.client = client;
      this.address = address;
    }

    /** Once the bridge took the registration: the snapshot, or the changes after the head. */
    void started() {
      pull();
    }

    @Override
    protected void writeChange(JsonObject change, SpaceFeed.LiveChange live) {
      client.write(rec(address, change));
    }

    @Override
    protected void writeCopy(JsonObject copy) {
      copy.remove(Bus.VERSION_FIELD);
      write(copy);
    }

    @Override
    protected boolean full() {
      return client.full();
    }

    @Override
    protected void awaitDrain() {
      client.awaitDrain();
    }

    /** A due cursor goes out even when the queue is full: it is small, and the changes are what the queue bounds. */
    @Override
    protected boolean cursorWaits() {
      return false;
    }

    @Override
    protected String userId() {
      return client.principal.userId();
    }

    @Override
    protected void failed(ApiException failure) {
      stop(failure.code().httpStatus(), failure.code().code(), failure.getMessage());
    }

    @Override
    protected void spaceDeleted() {
      write(new JsonObject().put("notice", ChangeLog.SPACE_DELETED).put("space", space()));
      revoke("The space was deleted");
    }

    @Override
    protected Future<Void> write(JsonObject body) {
      return client.write(new JsonObject().put("type", "rec").put("address", address).put("body", body).encode());
    }

    @Override
    protected void revoke(String message) {
      client.revokedAddresses.add(address);
      stop(403, "access_revoked", message);
    }

    /** Ends the stream and tells the client; its address stays registered but gets nothing more. */
    void stop(int status, String code, String message) {
      if (ended) {
        return;
      }
      end();
      client.streams.remove(address, this);
      client.revokedAddresses.add(address);
      client.leavePresence(address);
      client.socket.write(new JsonObject().put("type", "err").put("address", address).put("failureCode", status)
          .put("failureType", code).put("message", message).encode());
    }
  }

  /** Closes every bridge socket (on undeploy). */
  public Future<Void> close() {
    List.copyOf(clients.values()).forEach(client -> {
      client.socket.close();
      client.closed();
    });
    return Future.succeededFuture();
  }
}
