package io.cloudsync.storage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** Streams and stores that watch how they are used, for the writer and reader tests. */
final class TestStreams {
  private TestStreams() {
  }

  /** Runs the call on the context and waits for its result (so streams made on that context stay on it). */
  static <T> T on(Context context, Supplier<Future<T>> call) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(promise));
    return promise.future().await();
  }

  /**
   * Random bytes generated as they are read, a 64 KiB buffer per event-loop turn while flowing, like
   * a socket; remembers how much it emitted, how often it was paused, and the SHA-256 of its bytes.
   */
  static final class GeneratedReadStream implements ReadStream<Buffer> {
    private static final int PIECE = 64 * 1024;
    private final Context context;
    private final long size;
    private final SplittableRandom random;
    private final MessageDigest digest = ChunkCodec.newSha256();
    private long emitted;
    private int pauses;
    private boolean paused = true;
    private boolean scheduled;
    private boolean ended;
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;
    /** Called after each buffer is handed over, with the total emitted so far. */
    private java.util.function.LongConsumer afterEach = n -> { };

    GeneratedReadStream(Context context, long seed, long size) {
      this.context = context;
      this.size = size;
      this.random = new SplittableRandom(seed);
    }

    GeneratedReadStream afterEach(java.util.function.LongConsumer afterEach) {
      this.afterEach = afterEach;
      return this;
    }

    long emitted() {
      return emitted;
    }

    int pauses() {
      return pauses;
    }

    String sha256() {
      return HexFormat.of().formatHex(digest.digest());
    }

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> handler) {
      this.handler = handler;
      return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
      if (!paused) {
        pauses++;
      }
      paused = true;
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      paused = false;
      schedule();
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return resume();
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      this.endHandler = endHandler;
      return this;
    }

    private void schedule() {
      if (!scheduled && !ended) {
        scheduled = true;
        context.runOnContext(v -> emitOne());
      }
    }

    private void emitOne() {
      scheduled = false;
      if (paused || ended) {
        return;
      }
      if (emitted == size) {
        ended = true;
        endHandler.handle(null);
        return;
      }
      byte[] piece = new byte[(int) Math.min(PIECE, size - emitted)];
      random.nextBytes(piece);
      digest.update(piece);
      emitted += piece.length;
      handler.handle(Buffer.buffer(piece));
      afterEach.accept(emitted);
      schedule();
    }
  }

  /** Collects what is written; each write is accepted after {@code delayMs} (0: at once). */
  static class CollectingWriteStream implements WriteStream<Buffer> {
    private final Vertx vertx;
    private final long delayMs;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final AtomicInteger writes = new AtomicInteger();

    CollectingWriteStream(Vertx vertx, long delayMs) {
      this.vertx = vertx;
      this.delayMs = delayMs;
    }

    byte[] bytes() {
      synchronized (bytes) {
        return bytes.toByteArray();
      }
    }

    int writes() {
      return writes.get();
    }

    @Override
    public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public Future<Void> write(Buffer data) {
      synchronized (bytes) {
        bytes.writeBytes(data.getBytes());
      }
      writes.incrementAndGet();
      return delayMs == 0 ? Future.succeededFuture() : vertx.timer(delayMs).mapEmpty();
    }

    @Override
    public Future<Void> end() {
      return Future.succeededFuture();
    }

    @Override
    public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
      return this;
    }

    @Override
    public boolean writeQueueFull() {
      return false;
    }

    @Override
    public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
      return this;
    }
  }

  /** A chunk store around another, optionally slow, counting puts and gets and how many run at once. */
  static class WatchedChunkStore implements ChunkStore {
    private final Vertx vertx;
    private final ChunkStore delegate;
    private final long putDelayMs;
    final AtomicInteger putsRunning = new AtomicInteger();
    final AtomicInteger maxPutsRunning = new AtomicInteger();
    final AtomicInteger puts = new AtomicInteger();
    final AtomicInteger newChunks = new AtomicInteger();
    final AtomicLong bytesStored = new AtomicLong();
    final AtomicInteger getsStarted = new AtomicInteger();

    WatchedChunkStore(Vertx vertx, ChunkStore delegate, long putDelayMs) {
      this.vertx = vertx;
      this.delegate = delegate;
      this.putDelayMs = putDelayMs;
    }

    @Override
    public Future<Boolean> put(String sha256, Buffer plain) {
      puts.incrementAndGet();
      maxPutsRunning.accumulateAndGet(putsRunning.incrementAndGet(), Math::max);
      Future<Void> delay = putDelayMs == 0 ? Future.succeededFuture() : vertx.timer(putDelayMs).mapEmpty();
      return delay.compose(v -> delegate.put(sha256, plain)).onComplete(done -> {
        putsRunning.decrementAndGet();
        if (done.succeeded()) {
          bytesStored.addAndGet(plain.length());
          if (done.result()) {
            newChunks.incrementAndGet();
          }
        }
      });
    }

    @Override
    public Future<Buffer> get(String sha256) {
      getsStarted.incrementAndGet();
      return delegate.get(sha256);
    }

    @Override
    public Future<Boolean> exists(String sha256) {
      return delegate.exists(sha256);
    }

    @Override
    public Future<Void> delete(String sha256) {
      return delegate.delete(sha256);
    }
  }
}
