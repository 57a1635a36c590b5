package io.cloudsync.sync;

import io.vertx.core.Vertx;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A raw WebSocket client of /api/v1/sync for tests: messages land in a queue the test reads. */
public final class LiveClient implements AutoCloseable {
  private final WebSocketClient client;
  private final Inbox inbox = new Inbox();
  private final CompletableFuture<Short> closed = new CompletableFuture<>();
  private final ClientWebSocket ws;

  /**
   * The handlers are set before the handshake: Vert.x hands them to the socket before it reads the
   * first frame. Set from the caller's thread after the connect future completed, they could come
   * after the server's first message, which would then be dropped.
   */
  private LiveClient(WebSocketClient client) {
    this.client = client;
    this.ws = client.webSocket();
    ws.textMessageHandler(text -> inbox.add(new JsonObject(text)));
    ws.closeHandler(v -> closed.complete(ws.closeStatusCode() == null ? -1 : ws.closeStatusCode()));
  }

  /** Connects; with a token it goes in the Authorization header. */
  public static LiveClient connect(Vertx vertx, int port, String token) {
    return connect(vertx, port, token, new WebSocketClientOptions(), null);
  }

  public static LiveClient connect(Vertx vertx, int port, String token, WebSocketClientOptions options, String origin) {
    WebSocketClient client = vertx.createWebSocketClient(options.setMaxFrameSize(1 << 20).setMaxMessageSize(1 << 20));
    WebSocketConnectOptions connect = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI("/api/v1/sync");
    if (token != null) {
      connect.addHeader("Authorization", "Bearer " + token);
    }
    if (origin != null) {
      connect.addHeader("Origin", origin);
    }
    LiveClient live = new LiveClient(client);
    try {
      live.ws.connect(connect).await();
      return live;
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  public WebSocket socket() {
    return ws;
  }

  public void send(JsonObject message) {
    ws.writeTextMessage(message.encode()).await();
  }

  public void subscribe(String space, long cursor) {
    send(new JsonObject().put("type", "subscribe").put("space", space).put("cursor", cursor));
  }

  /** The next message, failing after the timeout. */
  public JsonObject next(long millis) {
    return inbox.next(millis);
  }

  /** The next message of the type, skipping others. */
  public JsonObject nextOfType(String type, long millis) {
    return inbox.nextOfType(type, millis);
  }

  /** Reads until a message matches; answers the matching message first, then the ones skipped before it. */
  public List<JsonObject> until(Predicate<JsonObject> match, long millis) {
    return inbox.until(match, millis);
  }

  /** The changes of a space until the one with seq {@code last}; fails on anything out of order. */
  public List<Long> changesUntil(String space, long last, long millis) {
    List<Long> seqs = new ArrayList<>();
    long deadline = System.currentTimeMillis() + millis;
    while (seqs.isEmpty() || seqs.get(seqs.size() - 1) < last) {
      JsonObject message = next(Math.max(1, deadline - System.currentTimeMillis()));
      if ("change".equals(message.getString("type")) && space.equals(message.getString("space"))) {
        seqs.add(message.getLong("seq"));
      }
    }
    return seqs;
  }

  /** Messages already received, without waiting. */
  public List<JsonObject> drain() {
    return inbox.drain();
  }

  /** The close code the server sent, waiting up to the timeout. */
  public short closeCode(long millis) {
    try {
      return closed.get(millis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("the connection was not closed within " + millis + " ms", e);
    }
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  @Override
  public void close() {
    if (!ws.isClosed()) {
      ws.close().await();
    }
    client.close().await();
  }
}
