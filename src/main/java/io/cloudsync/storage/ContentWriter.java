package io.cloudsync.storage;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Streams file content into the chunk store: cuts it with {@link FastCdc}, names each chunk by its
 * SHA-256, stores the chunks not stored yet, and answers the {@link Content} manifest with the
 * SHA-256 of the whole.
 *
 * <p>Three stages, each bounded, each pushing back on the one before:
 * <ol>
 *   <li>the event loop copies arriving buffers into batches of {@link #BATCH} bytes and pauses
 *       the body once {@link #QUEUED_INPUT_LIMIT} bytes wait to be scanned or hashed;</li>
 *   <li>two sequences of worker tasks, one task at a time each, go over the queued batches in
 *       stream order (CPU work, so off the event loop): the scan finds the chunk boundaries, and
 *       beside it the hasher computes the hash of the whole content. Apart, each is half the
 *       work that has to keep up with the body alone. No scan starts while {@link #CUT_AHEAD} or
 *       more cut chunks wait for a place in the next stage;</li>
 *   <li>at most {@link #PUT_WINDOW} chunks are stored at once: each is hashed on a worker (in
 *       parallel, unlike the scan), then put, which encodes on a worker and writes to the blob
 *       store. Most of a put's time is the blob store waiting (file creation, fsync, rename), so
 *       several run at once, or the CPU work of the other stages would wait behind them.</li>
 * </ol>
 * So memory per upload stays at a few times {@link ChunkStore#MAX_CHUNK} whatever the body's size
 * or the store's speed.
 */
public final class ContentWriter {
  /**
   * Input batches stay under half a G1 region of the smallest heaps (1 MiB regions up to 2 GiB):
   * larger arrays are "humongous", and a steady stream of them kept the collector marking.
   */
  static final int BATCH = 256 * 1024;
  static final int QUEUED_INPUT_LIMIT = 2 << 20;
  static final int PUT_WINDOW = 6;
  static final int CUT_AHEAD = 2;
  /** Slices a whole in-memory buffer is fed in by {@link #write(Buffer, long)}. */
  private static final int SLICE = 64 * 1024;
  private static final HexFormat HEX = HexFormat.of();

  private final Vertx vertx;
  private final ChunkStore store;
  private final int minChunk;
  private final int averageChunk;
  private final int maxChunk;

  public ContentWriter(Vertx vertx, ChunkStore store) {
    this(vertx, store, ChunkStore.MIN_CHUNK, ChunkStore.AVERAGE_CHUNK, ChunkStore.MAX_CHUNK);
  }

  /** Other chunk bounds, for tests. */
  ContentWriter(Vertx vertx, ChunkStore store, int minChunk, int averageChunk, int maxChunk) {
    new FastCdc(minChunk, averageChunk, maxChunk); // refuses impossible bounds now rather than on the first upload
    this.vertx = vertx;
    this.store = store;
    this.minChunk = minChunk;
    this.averageChunk = averageChunk;
    this.maxChunk = maxChunk;
  }

  /**
   * Reads the body to its end (it is taken over: handlers set, resumed) and stores it. Fails with
   * {@link ErrorCode#PAYLOAD_TOO_LARGE} as soon as more than {@code maxSize} bytes arrived, leaving
   * the body paused; the caller answers and closes the connection. An empty body is an empty file.
   * Chunks stored before a failure stay; they are unreferenced until a manifest names them.
   */
  public Future<Content> write(ReadStream<Buffer> body, long maxSize) {
    return new Upload(vertx.getOrCreateContext(), body, maxSize).start();
  }

  /** The same for content already in memory. */
  public Future<Content> write(Buffer whole, long maxSize) {
    if (whole.length() > maxSize) {
      return Future.failedFuture(tooLarge(maxSize));
    }
    Context context = vertx.getOrCreateContext();
    return new Upload(context, new BufferReadStream(context, whole), maxSize).start();
  }

  private static ApiException tooLarge(long maxSize) {
    return new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "The content is larger than the limit of " + maxSize + " bytes");
  }

  /**
   * A filled input batch. The scan and the whole-content hash each read it once, in their own
   * time; its array goes back to the spares when both are done ({@code holders}, context only).
   */
  private static final class Batch {
    private final byte[] bytes;
    private final int length;
    private int holders = 2;

    Batch(byte[] bytes, int length) {
      this.bytes = bytes;
      this.length = length;
    }
  }

  /** A cut chunk and its place in the manifest; its name is filled in there once it is hashed. */
  private record Chunk(int index, byte[] bytes) {
  }

  /** One body being stored. Fields marked "context" are only touched on {@link #context}. */
  private final class Upload {
    private final Context context;
    private final ReadStream<Buffer> body;
    private final long maxSize;
    private final Promise<Content> result = Promise.promise();

    // Scanner: touched by one worker task at a time, each started after the previous one finished.
    private final FastCdc cdc = new FastCdc(minChunk, averageChunk, maxChunk);
    private final byte[] assembly = new byte[maxChunk];
    private int assembled;
    private int chunksCut;

    // Hasher: the same, for the hash of the whole content; digested on the context after its last task.
    private final MessageDigest whole = ChunkCodec.newSha256();

    // Context.
    private long received;
    private byte[] filling;
    private int filled;
    private final ArrayDeque<Batch> queued = new ArrayDeque<>();
    private final ArrayDeque<Batch> toHash = new ArrayDeque<>();
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
    private long queuedBytes;
    private boolean scanning;
    private boolean hashing;
    private boolean ended;
    private boolean scannedAll;
    private boolean paused;
    private boolean done;
    private final ArrayDeque<Chunk> ready = new ArrayDeque<>();
    private int putsInFlight;
    private final Set<String> putThisUpload = new HashSet<>();
    /** Chunks the store held before this upload, and so not written by it. */
    private final Set<String> reused = new java.util.LinkedHashSet<>();
    private final List<String> hashes = new ArrayList<>();
    private final List<Integer> sizes = new ArrayList<>();
    private String wholeSha256;

    Upload(Context context, ReadStream<Buffer> body, long maxSize) {
      this.context = context;
      this.body = body;
      this.maxSize = maxSize;
    }

    Future<Content> start() {
      onContext(() -> {
        body.exceptionHandler(failure -> onContext(() -> fail(failure)));
        body.endHandler(v -> onContext(this::onEnd));
        body.handler(buffer -> onContext(() -> onData(buffer)));
        body.resume();
      });
      return result.future();
    }

    /** Stream callbacks arrive on the stream's context; all state changes happen on ours. */
    private void onContext(Runnable action) {
      if (Vertx.currentContext() == context) {
        action.run();
      } else {
        context.runOnContext(v -> action.run());
      }
    }

    private void onData(Buffer buffer) {
      if (done) {
        return;
      }
      received += buffer.length();
      if (received > maxSize) {
        fail(tooLarge(maxSize));
        return;
      }
      int position = 0;
      while (position < buffer.length()) {
        if (filling == null) {
          filling = spare.isEmpty() ? new byte[BATCH] : spare.poll();
          filled = 0;
        }
        int count = Math.min(buffer.length() - position, BATCH - filled);
        buffer.getBytes(position, position + count, filling, filled);
        filled += count;
        position += count;
        if (filled == BATCH) {
          queueFilling();
        }
      }
      scanNext();
      hashNext();
      updateFlow();
    }

    private void queueFilling() {
      if (filling != null && filled > 0) {
        Batch batch = new Batch(filling, filled);
        queued.add(batch);
        toHash.add(batch);
        queuedBytes += filled;
        filling = null;
        filled = 0;
      }
    }

    private void onEnd() {
      if (done) {
        return;
      }
      ended = true;
      queueFilling();
      scanNext();
      hashNext();
      finishIfDone();
    }

    private void release(Batch batch) {
      if (--batch.holders == 0) {
        queuedBytes -= batch.length;
        if (spare.size() < QUEUED_INPUT_LIMIT / BATCH) {
          spare.add(batch.bytes);
        }
      }
    }

    private void scanNext() {
      if (done || scanning || scannedAll || ready.size() >= CUT_AHEAD) {
        return;
      }
      if (queued.isEmpty() && !ended) {
        return;
      }
      List<Batch> batches = new ArrayList<>(queued);
      queued.clear();
      boolean last = ended;
      scanning = true;
      overBatches(batches, () -> scan(batches, last), chunks -> {
        scanning = false;
        for (Chunk chunk : chunks) {
          hashes.add(null);
          sizes.add(chunk.bytes().length);
          ready.add(chunk);
        }
        scannedAll = last;
        putNext();
        scanNext();
        updateFlow();
        finishIfDone();
      });
    }

    /**
     * Runs work over batches taken from the queue on a worker, gives the batches back, and hands
     * the result to {@code then} on the context, unless the upload has ended or the work failed.
     */
    private <T> void overBatches(List<Batch> batches, Callable<T> work, Handler<T> then) {
      context.executeBlocking(work, false).onComplete(result -> {
        batches.forEach(this::release);
        if (done) {
          return;
        }
        if (result.failed()) {
          fail(result.cause());
          return;
        }
        then.handle(result.result());
      });
    }

    /** Worker side: cut the batches into chunks, in stream order. */
    private List<Chunk> scan(List<Batch> batches, boolean last) {
      List<Chunk> chunks = new ArrayList<>();
      for (Batch batch : batches) {
        byte[] bytes = batch.bytes;
        int length = batch.length;
        int offset = 0;
        while (offset < length) {
          int cut = cdc.next(bytes, offset, length - offset);
          int end = cut < 0 ? length : cut;
          System.arraycopy(bytes, offset, assembly, assembled, end - offset);
          assembled += end - offset;
          if (cut >= 0) {
            chunks.add(takeChunk());
          }
          offset = end;
        }
      }
      if (last && assembled > 0) {
        chunks.add(takeChunk());
      }
      return chunks;
    }

    /**
     * The hash of the whole content, one worker task at a time over the batches in order: a second
     * sequential pass beside the scan, rather than inside it, so that neither waits for the other.
     */
    private void hashNext() {
      if (done || hashing) {
        return;
      }
      if (toHash.isEmpty()) {
        if (ended && wholeSha256 == null) {
          wholeSha256 = HEX.formatHex(whole.digest());
        }
        return;
      }
      List<Batch> batches = new ArrayList<>(toHash);
      toHash.clear();
      hashing = true;
      overBatches(batches, () -> {
        for (Batch batch : batches) {
          whole.update(batch.bytes, 0, batch.length);
        }
        return null;
      }, hashed -> {
        hashing = false;
        hashNext();
        updateFlow();
        finishIfDone();
      });
    }

    private Chunk takeChunk() {
      byte[] bytes = Arrays.copyOf(assembly, assembled);
      assembled = 0;
      return new Chunk(chunksCut++, bytes);
    }

    private void putNext() {
      while (!done && putsInFlight < PUT_WINDOW && !ready.isEmpty()) {
        Chunk chunk = ready.poll();
        putsInFlight++;
        String[] name = new String[1];
        context.executeBlocking(() -> PlainChunk.of(chunk.bytes()), false).compose(plain -> {
          String sha256 = plain.sha256();
          hashes.set(chunk.index(), sha256);
          name[0] = sha256;
          // A chunk repeated inside one file (runs of zeros, say) is stored once. The repeat counts
          // as this upload's own bytes: reused is only what the store held before (and the first
          // occurrence says so when it did), which the commit checks again under the collector's lock.
          return putThisUpload.add(sha256) ? store.put(plain) : Future.succeededFuture(true);
        }).onComplete(put -> onContext(() -> {
          putsInFlight--;
          if (put.failed()) {
            fail(put.cause());
            return;
          }
          if (!put.result()) {
            reused.add(name[0]);
          }
          putNext();
          scanNext();
          updateFlow();
          finishIfDone();
        }));
      }
    }

    private void updateFlow() {
      if (done) {
        return;
      }
      boolean full = queuedBytes >= QUEUED_INPUT_LIMIT;
      if (full && !paused) {
        paused = true;
        body.pause();
      } else if (!full && paused) {
        paused = false;
        body.resume();
      }
    }

    private void finishIfDone() {
      if (!done && scannedAll && wholeSha256 != null && ready.isEmpty() && putsInFlight == 0) {
        done = true;
        result.complete(new Content(received, wholeSha256, hashes, sizes, new java.util.ArrayList<>(reused)));
      }
    }

    private void fail(Throwable failure) {
      if (done) {
        return;
      }
      done = true;
      body.pause();
      queued.clear();
      toHash.clear();
      ready.clear();
      filling = null;
      result.fail(failure);
    }
  }

  /** A buffer already in memory as a stream of slices, so it takes the same path as a body. */
  private static final class BufferReadStream implements ReadStream<Buffer> {
    private final Context context;
    private final Buffer data;
    private int position;
    private boolean paused = true;
    private boolean scheduled;
    private boolean ended;
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;

    BufferReadStream(Context context, Buffer data) {
      this.context = context;
      this.data = data;
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
      paused = true;
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      paused = false;
      if (!scheduled) {
        scheduled = true;
        context.runOnContext(v -> emit());
      }
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

    private void emit() {
      scheduled = false;
      while (!paused && position < data.length()) {
        int end = Math.min(data.length(), position + SLICE);
        Buffer slice = data.slice(position, end);
        position = end;
        handler.handle(slice);
      }
      if (!paused && !ended && position >= data.length()) {
        ended = true;
        endHandler.handle(null);
      }
    }
  }
}
