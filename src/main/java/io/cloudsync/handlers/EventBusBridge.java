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
import io.cloudsync.sync.SpaceFeed;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 */
public final class EventBusBridge {
  private static final Pattern SPACE_ADDRESS = Pattern.compile(Pattern.quote(Addresses.SYNC_SPACE_PREFIX)
      + "[0-9a-fA-F-]{36}");
  private static final String BEARER = "bearer ";

  private final Vertx vertx;
  private final TokenService tokens;
  private final Access access;
  private final SpaceFeed feed;
  private final CloudSyncConfig.Sync config;
  private final List<String> corsOrigins;
  private final Map<SockJSSocket, Client> clients = new HashMap<>();

  public EventBusBridge(Vertx vertx, TokenService tokens, Access access, SpaceFeed feed, CloudSyncConfig.Sync config,
                        List<String> corsOrigins) {
    this.vertx = vertx;
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
    Principal principal;
    long expiryTimer = -1;
    SpaceFeed.Registration revocations;

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
      closed();
      // Closing a SockJS session drops the writes it has not sent yet, and a write from outside the
      // transport's own context is only sent later: close once the err is out.
      socket.write(new JsonObject().put("type", "err").put("failureCode", 401).put("failureType", code)
          .put("message", message).encode())
          .onComplete(written -> socket.close());
    }

    void closed() {
      clients.remove(socket);
      if (expiryTimer != -1) {
        vertx.cancelTimer(expiryTimer);
      }
      if (revocations != null) {
        revocations.cancel();
      }
    }
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
      case RECEIVE -> event.complete(receive(event, clients.get(socket)));
      case UNREGISTER, REGISTERED, SOCKET_IDLE, SOCKET_PING, SOCKET_ERROR -> event.complete(true);
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
    tokens.verify(authorization.substring(BEARER.length()).trim())
        .compose(caller -> access.require(caller.userId(), space, Access.Action.READ).map(caller))
        .onComplete(checked -> {
          if (checked.succeeded() && clients.get(event.socket()) == client
              && (client.principal == null || client.principal.userId().equals(checked.result().userId()))) {
            client.authenticated(checked.result());
            client.revokedAddresses.remove(address);
            event.complete(true);
          } else {
            event.complete(false);
          }
        });
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

  /** Whether a message may go out to this browser; drops the {@code v} field of the internal envelope. */
  private boolean receive(BridgeEvent event, Client client) {
    JsonObject message = event.getRawMessage();
    String address = message.getString("address", "");
    if (client == null || client.principal == null || client.revokedAddresses.contains(address)) {
      return false;
    }
    if (message.getValue("body") instanceof JsonObject body) {
      JsonObject clean = body.copy();
      clean.remove(Bus.VERSION_FIELD);
      event.setRawMessage(message.copy().put("body", clean));
      boolean removed = ChangeLog.removes(body, client.principal.userId());
      if (removed || ChangeLog.SPACE_DELETED.equals(body.getString("notice"))) {
        client.revokedAddresses.add(address);
        vertx.runOnContext(v -> event.socket().write(new JsonObject().put("type", "err").put("address", address)
            .put("failureCode", 403).put("failureType", "access_revoked")
            .put("message", removed ? "You are no longer a member of this space" : "The space was deleted").encode()));
      }
    }
    return true;
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
