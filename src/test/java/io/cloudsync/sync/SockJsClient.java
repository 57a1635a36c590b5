package io.cloudsync.sync;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A client of the SockJS event-bus bridge for tests and benchmarks, speaking what the stock
 * {@code @vertx/eventbus-bridge-client.js} on sockjs-client speaks: SockJS framing ({@code o}, {@code h},
 * {@code a[...]}, {@code c[code,"reason"]} from the server; JSON arrays of strings from the client) over the
 * WebSocket transport or the xhr-streaming fallback, and the bridge's JSON messages on top. The bridge's
 * messages land in an {@link Inbox} the caller reads.
 */
public final class SockJsClient implements AutoCloseable {
  /** The SockJS transports this client speaks. */
  public enum Transport {
    /** {@code GET <base>/websocket}, one SockJS frame per text message. */
    WEBSOCKET,
    /** {@code POST <base>/xhr_streaming}, newline-terminated frames after a 2 KiB prelude; sends by {@code POST <base>/xhr_send}. */
    XHR_STREAMING
  }

  /** The server answered the transport's first request with an HTTP error instead of opening a session. */
  public static final class Rejected extends RuntimeException {
    private final int status;

    Rejected(int status, String body) {
      super("SockJS session refused with HTTP " + status + (body == null || body.isEmpty() ? "" : ": " + body));
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private static final long OPEN_TIMEOUT_MILLIS = 20_000;
  private static final long SEND_TIMEOUT_MILLIS = 20_000;

  private final Vertx vertx;
  private final int port;
  private final String base;
  private final String origin;
  private final Transport transport;
  private final Inbox inbox = new Inbox();
  private final CompletableFuture<Void> opened = new CompletableFuture<>();
  private final CompletableFuture<JsonArray> closeFrame = new CompletableFuture<>();
  private final CompletableFuture<Void> disconnected = new CompletableFuture<>();
  private final AtomicInteger heartbeats = new AtomicInteger();
  private WebSocketClient webSocketClient;
  private WebSocket webSocket;
  private HttpClient httpClient;
  /** The xhr_send client, over {@link #httpClient}'s connections. */
  private WebClient webClient;
  private volatile boolean closing;

  private SockJsClient(Vertx vertx, int port, String path, Transport transport, String origin) {
    this.vertx = vertx;
    this.port = port;
    // Server ids and session ids are any strings without dots or slashes; sockjs-client uses 3 digits and 8 characters.
    this.base = path + "/" + ThreadLocalRandom.current().nextInt(1000) + "/" + UUID.randomUUID().toString().replace("-", "");
    this.transport = transport;
    this.origin = origin;
  }

  /** Opens a session at {@code /eventbus} over the transport, with no {@code Origin} header (not a browser). */
  public static SockJsClient connect(Vertx vertx, int port, Transport transport) {
    return connect(vertx, port, "/eventbus", transport, null);
  }

  /**
   * Opens a session and waits for the server's open frame. Throws {@link Rejected} when the server answers the
   * transport's first request with an HTTP error.
   */
  public static SockJsClient connect(Vertx vertx, int port, String path, Transport transport, String origin) {
    SockJsClient client = new SockJsClient(vertx, port, path, transport, origin);
    try {
      switch (transport) {
        case WEBSOCKET -> client.openWebSocket();
        case XHR_STREAMING -> client.openStream().await();
        default -> throw new IllegalArgumentException(transport.name());
      }
      client.opened.get(OPEN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      return client;
    } catch (RuntimeException e) {
      client.close();
      throw e;
    } catch (Exception e) {
      client.close();
      throw new AssertionError("no SockJS open frame within " + OPEN_TIMEOUT_MILLIS + " ms", e);
    }
  }

  public Transport transport() {
    return transport;
  }

  private void openWebSocket() {
    webSocketClient = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxFrameSize(1 << 20)
        .setMaxMessageSize(1 << 20));
    WebSocketConnectOptions connect = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI(base + "/websocket");
    if (origin != null) {
      connect.addHeader("Origin", origin);
    } else {
      // Vert.x sends its own Origin by default; without one this client is a non-browser.
      connect.setAllowOriginHeader(false);
    }
    try {
      // The handlers are set before the handshake, so Vert.x hands them to the socket before it reads the
      // open frame; set after the connect future completed, they could miss it.
      ClientWebSocket socket = webSocketClient.webSocket();
      socket.textMessageHandler(this::frame);
      socket.closeHandler(v -> disconnected.complete(null));
      socket.connect(connect).await();
      webSocket = socket;
    } catch (UpgradeRejectedException e) {
      throw new Rejected(e.getStatus(), e.getBody() == null ? null : e.getBody().toString());
    }
  }

  /**
   * Starts one streaming request. The server ends a stream after a number of bytes and the client opens the next,
   * as sockjs-client does; a stream that ends after a close frame, or when the client closes, ends the session.
   */
  private Future<Void> openStream() {
    if (httpClient == null) {
      httpClient = vertx.createHttpClient();
      webClient = WebClient.wrap(httpClient);
    }
    StringBuilder pending = new StringBuilder();
    return httpClient.request(post("/xhr_streaming"))
        .compose(request -> request.send())
        .compose(response -> {
          if (response.statusCode() != 200) {
            return response.body().compose(body -> Future.failedFuture(new Rejected(response.statusCode(),
                body.toString())));
          }
          response.handler(chunk -> lines(pending, chunk));
          response.exceptionHandler(e -> disconnected.complete(null));
          response.endHandler(v -> {
            if (closing || closeFrame.isDone()) {
              disconnected.complete(null);
            } else {
              openStream().onFailure(e -> disconnected.complete(null));
            }
          });
          return Future.<Void>succeededFuture();
        });
  }

  private RequestOptions post(String suffix) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
        .setURI(base + suffix);
    if (origin != null) {
      options.addHeader("Origin", origin);
    }
    return options;
  }

  private void lines(StringBuilder pending, Buffer chunk) {
    pending.append(chunk.toString());
    int end;
    while ((end = pending.indexOf("\n")) >= 0) {
      String line = pending.substring(0, end);
      pending.delete(0, end + 1);
      // The prelude of 2048 'h' lets old browsers start delivering the stream; it is no frame.
      if (!(line.length() > 1 && line.chars().allMatch(c -> c == 'h'))) {
        frame(line);
      }
    }
  }

  /** One SockJS frame from the server. */
  private void frame(String frame) {
    if (frame.isEmpty()) {
      return;
    }
    switch (frame.charAt(0)) {
      case 'o' -> opened.complete(null);
      case 'h' -> heartbeats.incrementAndGet();
      case 'a' -> {
        for (Object message : new JsonArray(frame.substring(1))) {
          inbox.add(new JsonObject((String) message));
        }
      }
      case 'c' -> closeFrame.complete(new JsonArray(frame.substring(1)));
      default -> throw new IllegalStateException("not a SockJS frame: " + frame);
    }
  }

  // --- the event-bus bridge protocol ----------------------------------------------------------------

  /**
   * Sends one bridge message, framed as SockJS wants: a JSON array of JSON-encoded strings. A send
   * that fails or times out says over which transport, of what type and to which address.
   */
  public void send(JsonObject message) {
    try {
      sendFrame(new JsonArray().add(message.encode()).encode());
    } catch (Exception e) {
      // Exception, not RuntimeException: await() rethrows a timeout, a checked TimeoutException, as it is.
      throw new AssertionError("sending a " + message.getString("type") + " to " + message.getString("address")
          + " over " + transport + " failed", e);
    }
  }

  private void sendFrame(String frame) {
    switch (transport) {
      case WEBSOCKET -> webSocket.writeTextMessage(frame).timeout(SEND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).await();
      case XHR_STREAMING -> {
        // WebClient reads the answer whole: it holds the response from the moment it arrives. (Asked for in a
        // callback of HttpClient's send, body() could come after Vert.x had handled the answer's end, and
        // never complete.)
        HttpResponse<Buffer> answer = webClient.request(HttpMethod.POST, post("/xhr_send"))
            .putHeader("Content-Type", "text/plain")
            .sendBuffer(Buffer.buffer(frame)).timeout(SEND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).await();
        if (answer.statusCode() != 204) {
          throw new AssertionError("xhr_send answered " + answer.statusCode() + ": " + answer.bodyAsString());
        }
      }
      default -> throw new IllegalStateException(transport.name());
    }
  }

  /** Registers for an address, with the access token as the stock client sends it (no header without a token). */
  public void register(String address, String token) {
    JsonObject message = new JsonObject().put("type", "register").put("address", address);
    if (token != null) {
      message.put("headers", new JsonObject().put("authorization", "Bearer " + token));
    }
    send(message);
  }

  /**
   * Registers for {@code address} with {@code headers} and waits until the registration is live: the bridge
   * answers nothing to a register, so {@code probe} makes a node in the space (and answers its name) until the
   * change of one comes through, then the one made last is waited for (from its first change on, a registration
   * gets every later one, in order). Fails at once if the bridge refuses.
   */
  public void listen(String address, JsonObject headers, Supplier<String> probe) {
    send(new JsonObject().put("type", "register").put("address", address).put("headers", headers));
    long deadline = System.currentTimeMillis() + 5000;
    Set<String> made = new HashSet<>();
    String last = null;
    boolean live = false;
    while (System.currentTimeMillis() < deadline) {
      if (!live) {
        last = probe.get();
        made.add(last);
      }
      JsonObject message = inbox.poll(live ? 500 : 100);
      if (message != null && "err".equals(message.getString("type"))) {
        throw new AssertionError("registering " + address + " was refused: " + message);
      }
      if (message != null && address.equals(message.getString("address"))
          && message.getValue("body") instanceof JsonObject body && body.getValue("node") instanceof JsonObject node
          && made.contains(node.getString("name"))) {
        live = true;
        if (node.getString("name").equals(last)) {
          return;
        }
      }
    }
    throw new AssertionError(address + " delivered " + (live ? "not every probe" : "nothing") + " within 5 s of registering");
  }

  /** {@link #listen(String, JsonObject, Supplier)} with the access token as {@link #register} sends it. */
  public void listen(String address, String token, Supplier<String> probe) {
    listen(address, new JsonObject().put("authorization", "Bearer " + token), probe);
  }

  public void unregister(String address) {
    send(new JsonObject().put("type", "unregister").put("address", address));
  }

  /** Asks the server to send a body to one consumer of the address, with a reply address as the stock client's {@code send} with a callback does. */
  public void sendTo(String address, JsonObject body) {
    send(new JsonObject().put("type", "send").put("address", address).put("body", body)
        .put("replyAddress", UUID.randomUUID().toString()));
  }

  public void publish(String address, JsonObject body) {
    send(new JsonObject().put("type", "publish").put("address", address).put("body", body));
  }

  /** The bridge's keep-alive; the stock client sends one every 5 s. */
  public void ping() {
    send(new JsonObject().put("type", "ping"));
  }

  // --- what arrived ---------------------------------------------------------------------------------

  /** The bridge messages received so far ({@code rec} and {@code err}), for the caller to read. */
  public Inbox inbox() {
    return inbox;
  }

  /** The server's close frame {@code [code, reason]}, waiting up to the timeout. */
  public JsonArray closeFrame(long millis) {
    try {
      return closeFrame.get(millis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("no SockJS close frame within " + millis + " ms", e);
    }
  }

  /** Waits until the transport's connection has ended. */
  public void awaitDisconnected(long millis) {
    try {
      disconnected.get(millis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("the transport was not closed within " + millis + " ms", e);
    }
  }

  /** Whether the server has closed the session (a close frame arrived) or the transport ended. */
  public boolean isClosed() {
    return closeFrame.isDone() || disconnected.isDone();
  }

  /** Stops reading the WebSocket transport, as a browser tab that hangs does; {@link #resume} reads on. */
  public void pause() {
    webSocket.pause();
  }

  public void resume() {
    webSocket.resume();
  }

  public int heartbeats() {
    return heartbeats.get();
  }

  @Override
  public void close() {
    closing = true;
    if (webSocket != null && !webSocket.isClosed()) {
      webSocket.close().await();
    }
    if (webSocketClient != null) {
      webSocketClient.close().await();
    }
    if (httpClient != null) {
      httpClient.close().await();
    }
  }
}
