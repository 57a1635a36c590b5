package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionEncoder;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.http.HttpServerRequestInternal;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.net.impl.ShutdownEvent;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.VertxHandler;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.TCPMetrics;
import io.vertx.core.spi.observability.HttpResponse;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The raw WebSocket of one sync session, spoken directly on the connection's Netty channel.
 *
 * <p>An idle sync connection should cost the server as little as possible. Vert.x 5 gives every
 * WebSocket two connection objects, each with a message queue whose first chunk alone is a
 * 1,025-slot array, and keeps the upgrade request's headers and routing context; that is more
 * than half of what an idle connection holds. So the upgrade is answered here: once the request
 * has passed the gateway's checks, its channel leaves Vert.x's HTTP handling, Netty's handshaker
 * answers 101, and this handler, one small object, becomes the connection. Everything still runs
 * on the request's event loop, and every callback into the session runs on its Vert.x context.
 *
 * <p>What the socket does itself: fragmented messages are assembled up to {@code maxMessage}
 * bytes (beyond that the session is told, and closes with 1009), text must be valid UTF-8 (else
 * 1007), pings are answered, a close is echoed, and the send queue is bounded by the channel's
 * write-buffer water mark. permessage-deflate is negotiated by the server's extension handler as
 * for any Vert.x WebSocket.
 */
public final class SyncSocket extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(SyncSocket.class);
  /** How long a close waits for the client's close before the connection is dropped. */
  private static final long CLOSE_WAIT_MS = 5_000;
  /** The server's ping payload; only read, so every ping can wrap the same bytes. */
  private static final byte[] PING = {'c', 's'};

  /** What the session hears from its socket; each call runs on the session's Vert.x context. */
  public interface Listener {
    void onText(String text);

    void onBinary();

    void onPong();

    /** A message over the size limit arrived. */
    void onTooBig();

    /** The send queue, full before, has room again. */
    void onDrained();

    /** The server is shutting down. */
    void onShutdown();

    void onClosed();
  }

  private final Channel channel;
  private final ContextInternal context;
  private final int maxMessage;
  private Listener listener;
  /** A text message arriving in fragments, until its last one. */
  private ByteBuf partial;
  private boolean closeSent;
  /** The frame decoder stopped reading after a broken frame: no close answer can arrive. */
  private boolean deaf;
  /** The handshake is done and negotiated no extension: a frame goes out as it is written. */
  private boolean plainFrames;

  private SyncSocket(Channel channel, ContextInternal context, int maxMessage) {
    this.channel = channel;
    this.context = context;
    this.maxMessage = maxMessage;
  }

  /**
   * Answers the WebSocket upgrade of {@code request} and takes its connection over; the caller
   * sets the {@link #listener} at once, before anything can arrive. Call it on the request's own
   * context. Throws 400 when the request cannot be upgraded (no HTTP/1.1, no key, another protocol
   * version): the request is still Vert.x's then, to be answered as usual. A handshake that cannot
   * be written closes the connection, which the listener hears as {@link Listener#onClosed}.
   *
   * @param maxMessage the largest message, in bytes, a client may send
   * @param sendQueue the channel's write-buffer water mark: past its high mark the queue is full
   */
  public static SyncSocket accept(HttpServerRequest request, int maxMessage, WriteBufferWaterMark sendQueue) {
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_1_1
        || !(request.connection() instanceof ConnectionBase connection)) {
      throw new ApiException(ErrorCode.BAD_REQUEST, "A WebSocket needs an HTTP/1.1 connection");
    }
    if (!"13".equals(request.getHeader("Sec-WebSocket-Version"))) {
      request.response().putHeader("Sec-WebSocket-Version", "13");
      throw new ApiException(ErrorCode.BAD_REQUEST, "Only WebSocket version 13 is spoken here");
    }
    if (request.getHeader("Sec-WebSocket-Key") == null) {
      throw new ApiException(ErrorCode.BAD_REQUEST, "A WebSocket upgrade needs Sec-WebSocket-Key");
    }
    ContextInternal context = (ContextInternal) Vertx.currentContext();
    Channel channel = connection.channelHandlerContext().channel();
    if (context == null || !channel.eventLoop().inEventLoop()) {
      throw new IllegalStateException("a WebSocket is accepted on its connection's event loop");
    }
    FullHttpRequest upgrade = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, request.uri(),
        Unpooled.EMPTY_BUFFER);
    for (Map.Entry<String, String> header : request.headers()) {
      upgrade.headers().add(header.getKey(), header.getValue());
    }
    WebSocketDecoderConfig frames = WebSocketDecoderConfig.newBuilder()
        .maxFramePayloadLength(maxMessage)
        .allowExtensions(true)
        // Answered by exceptionCaught: the decoder's own close frame would pass the encoder by.
        .closeOnProtocolViolation(false)
        .build();
    String location = (request.isSSL() ? "wss://" : "ws://") + request.authority() + request.path();
    WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(location, null, frames)
        .newHandshaker(upgrade);
    if (handshaker == null) {
      throw new ApiException(ErrorCode.BAD_REQUEST, "Only WebSocket version 13 is spoken here");
    }

    // From here on the connection is this socket's: what Vert.x kept for HTTP leaves the pipeline.
    SyncSocket socket = new SyncSocket(channel, context, maxMessage);
    socket.reportUpgrade(request, connection);
    ChannelPipeline pipeline = channel.pipeline();
    for (String name : new String[] {"chunkedWriter", "idle"}) {
      if (pipeline.get(name) != null) {
        pipeline.remove(name);
      }
    }
    if (pipeline.get(HttpContentCompressor.class) != null) {
      pipeline.remove(HttpContentCompressor.class);
    }
    pipeline.replace(VertxHandler.class, "sync", socket);
    channel.config().setWriteBufferWaterMark(sendQueue);
    handshaker.handshake(channel, upgrade, null, channel.newPromise()).addListener(done -> {
      if (!done.isSuccess()) {
        LOG.debug("The WebSocket handshake failed: {}", done.cause().getMessage());
        channel.close();
      } else {
        // permessage-deflate, when negotiated, put its encoder in the pipeline with the 101 answer.
        socket.plainFrames = pipeline.get(WebSocketExtensionEncoder.class) == null;
      }
    });
    // A paused request may have stopped reading; frames must flow now.
    channel.config().setAutoRead(true);
    return socket;
  }

  /**
   * Reports to the server's metrics what Vert.x reports for its own WebSocket upgrades: the request
   * answered 101 now, and the connection closed when this socket closes (else the gauges of open
   * connections and requests would count every sync connection forever).
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private void reportUpgrade(HttpServerRequest request, ConnectionBase connection) {
    if (!(connection.metrics() instanceof TCPMetrics tcp)) {
      return;
    }
    if (tcp instanceof HttpServerMetrics http && request instanceof HttpServerRequestInternal vertxRequest
        && vertxRequest.metric() != null) {
      request.response().setStatusCode(101);
      if (request.response() instanceof HttpResponse response) {
        http.responseBegin(vertxRequest.metric(), response);
        http.responseEnd(vertxRequest.metric(), response, 0);
      }
    }
    Object connectionMetric = connection.metric();
    SocketAddress remote = connection.remoteAddress();
    channel.closeFuture().addListener(closed -> tcp.disconnected(connectionMetric, remote));
  }

  /** Where this socket's events go; set once, before the first event can arrive. */
  public void listener(Listener listener) {
    this.listener = listener;
  }

  /** Sends one text message, unless a close was sent. */
  public void writeTextMessage(String text) {
    if (closeSent) {
      return;
    }
    channel.writeAndFlush(new TextWebSocketFrame(ByteBufUtil.writeUtf8(channel.alloc(), text)), channel.voidPromise());
  }

  /** Sends one text message already in UTF-8. */
  public void writeTextMessage(byte[] utf8) {
    if (!closeSent) {
      channel.writeAndFlush(new TextWebSocketFrame(Unpooled.wrappedBuffer(utf8)), channel.voidPromise());
    }
  }

  /**
   * Sends one text message made by {@link #textFrame}: as it is where no extension rewrites frames,
   * else its text in a frame of its own (to compress). The bytes are only read, so one array may
   * serve many sockets.
   */
  public void writeTextFrame(byte[] frame) {
    if (closeSent) {
      return;
    }
    int header = headerLength(frame[1] & 0x7F);
    Object message = plainFrames ? Unpooled.wrappedBuffer(frame)
        : new TextWebSocketFrame(Unpooled.wrappedBuffer(frame, header, frame.length - header));
    channel.writeAndFlush(message, channel.voidPromise());
  }

  /** The header length of a server's frame whose 7-bit length field is {@code lengthField}. */
  private static int headerLength(int lengthField) {
    return lengthField < 126 ? 2 : lengthField == 126 ? 4 : 10;
  }

  /** A text message as one final, unmasked WebSocket frame (RFC 6455 section 5.2), as a server sends it. */
  public static byte[] textFrame(byte[] utf8) {
    int length = utf8.length;
    int header = headerLength(length < 126 ? length : length <= 0xFFFF ? 126 : 127);
    byte[] frame = new byte[header + length];
    frame[0] = (byte) 0x81;
    if (length < 126) {
      frame[1] = (byte) length;
    } else if (length <= 0xFFFF) {
      frame[1] = 126;
      frame[2] = (byte) (length >>> 8);
      frame[3] = (byte) length;
    } else {
      frame[1] = 127;
      for (int i = 0; i < 8; i++) {
        frame[2 + i] = (byte) ((long) length >>> (56 - 8 * i));
      }
    }
    System.arraycopy(utf8, 0, frame, header, length);
    return frame;
  }

  public void writePing() {
    if (!closeSent) {
      channel.writeAndFlush(new PingWebSocketFrame(Unpooled.wrappedBuffer(PING)),
          channel.voidPromise());
    }
  }

  /** Whether what is written and not yet sent passed the send queue's high mark. */
  public boolean writeQueueFull() {
    return !channel.isWritable();
  }

  public boolean isClosed() {
    return closeSent || !channel.isActive();
  }

  /** Sends a close frame and drops the connection when the client answers it, or after a wait. */
  public void close(short code, String reason) {
    if (closeSent) {
      return;
    }
    closeSent = true;
    if (!channel.isActive()) {
      return;
    }
    channel.writeAndFlush(new CloseWebSocketFrame(code, reason)).addListener((ChannelFutureListener) written -> {
      if (!written.isSuccess() || deaf) {
        channel.close();
      } else {
        channel.eventLoop().schedule(() -> { channel.close(); }, CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
      }
    });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame
          || msg instanceof ContinuationWebSocketFrame) {
        data((WebSocketFrame) msg);
      } else if (msg instanceof PingWebSocketFrame ping) {
        if (!closeSent) {
          channel.writeAndFlush(new PongWebSocketFrame(ping.content().retain()), channel.voidPromise());
        }
      } else if (msg instanceof PongWebSocketFrame) {
        emit(null, v -> listener.onPong());
      } else if (msg instanceof CloseWebSocketFrame close) {
        closeReceived(close);
      }
      // Anything else is what the HTTP decoder still passed on after the upgrade request (its empty end).
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void data(WebSocketFrame frame) {
    if (closeSent) {
      return;
    }
    boolean continuation = frame instanceof ContinuationWebSocketFrame;
    if (continuation != (partial != null)) {
      protocolError(continuation ? "a continuation frame without a message to continue"
          : "a new message before the last one ended");
      return;
    }
    if (frame instanceof BinaryWebSocketFrame) {
      emit(null, v -> listener.onBinary());
      return;
    }
    ByteBuf content = frame.content();
    if (frame.isFinalFragment() && partial == null) {
      deliver(content);
      return;
    }
    int size = (partial == null ? 0 : partial.readableBytes()) + content.readableBytes();
    if (size > maxMessage) {
      releasePartial();
      emit(null, v -> listener.onTooBig());
      return;
    }
    if (partial == null) {
      partial = channel.alloc().heapBuffer(size, maxMessage);
    }
    partial.writeBytes(content);
    if (frame.isFinalFragment()) {
      try {
        deliver(partial);
      } finally {
        releasePartial();
      }
    }
  }

  /** A whole text message: the frame decoder and {@link #data} keep it within {@code maxMessage}. */
  private void deliver(ByteBuf bytes) {
    String text;
    try {
      // A strict decoder: text frames must be valid UTF-8 (RFC 6455 section 8.1).
      text = StandardCharsets.UTF_8.newDecoder().decode(bytes.nioBuffer()).toString();
    } catch (CharacterCodingException e) {
      close(SyncSession.INVALID_PAYLOAD, "text must be UTF-8");
      return;
    }
    emit(text, listener::onText);
  }

  private void closeReceived(CloseWebSocketFrame close) {
    if (closeSent) {
      channel.close();
      return;
    }
    closeSent = true;
    int code = close.statusCode();
    CloseWebSocketFrame echo = code < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, "");
    channel.writeAndFlush(echo).addListener(ChannelFutureListener.CLOSE);
  }

  private void protocolError(String reason) {
    releasePartial();
    close(SyncSession.PROTOCOL_ERROR, reason);
  }

  private void releasePartial() {
    if (partial != null) {
      partial.release();
      partial = null;
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (channel.isWritable()) {
      emit(null, v -> listener.onDrained());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ShutdownEvent) {
      emit(null, v -> listener.onShutdown());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releasePartial();
    closeSent = true;
    emit(null, v -> listener.onClosed());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof CorruptedWebSocketFrameException broken) {
      deaf = true;
      releasePartial();
      if (broken.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code()) {
        emit(null, v -> listener.onTooBig());
      } else {
        close((short) broken.closeStatus().code(), broken.closeStatus().reasonText());
      }
      return;
    }
    LOG.debug("Sync connection failed: {}", cause.getMessage());
    channel.close();
  }

  private <E> void emit(E event, Handler<E> handler) {
    if (listener != null) {
      context.dispatch(event, handler);
    }
  }
}
