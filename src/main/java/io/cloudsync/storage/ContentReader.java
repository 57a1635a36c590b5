package io.cloudsync.storage;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;
import java.util.ArrayDeque;

/**
 * Streams a byte range of stored content, chunk by chunk, to a write stream (an HTTP response, a
 * file). It fetches at most {@link #AHEAD} chunks beyond the one being written and waits for each
 * write to be accepted before the next, so a slow reader holds only a few chunks in memory.
 */
public final class ContentReader {
  static final int AHEAD = 2;

  private final ChunkStore store;

  public ContentReader(ChunkStore store) {
    this.store = store;
  }

  /** The whole content. */
  public Future<Void> stream(Content content, WriteStream<Buffer> out) {
    return content.size() == 0 ? Future.succeededFuture() : stream(content, 0, content.size() - 1, out);
  }

  /**
   * Writes bytes {@code start} to {@code endInclusive} of the content (an HTTP range's numbers).
   * Does not end the stream: the caller does, or sends a trailer, or reports a failure its way.
   * Fails when a chunk is missing, does not decode, or has another size than the manifest says.
   */
  public Future<Void> stream(Content content, long start, long endInclusive, WriteStream<Buffer> out) {
    if (start < 0 || endInclusive >= content.size() || start > endInclusive) {
      return Future.failedFuture(new IllegalArgumentException("range " + start + "-" + endInclusive
          + " is not inside content of " + content.size() + " bytes"));
    }
    // Find the chunk holding the first byte.
    int first = 0;
    long chunkStart = 0;
    while (chunkStart + content.chunkSizes().get(first) <= start) {
      chunkStart += content.chunkSizes().get(first);
      first++;
    }
    return new Transfer(content, start, endInclusive, out, first, chunkStart).run();
  }

  /**
   * One range being written. Steps follow each other through callbacks rather than nested
   * futures, so a file of thousands of chunks builds no deep chain; when a step completes at once
   * (a chunk already fetched, a write accepted synchronously), the loop in {@link #advance} takes
   * the next one instead of recursing.
   */
  private final class Transfer {
    private final Content content;
    private final long start;
    private final long endInclusive;
    private final WriteStream<Buffer> out;
    private final Promise<Void> done = Promise.promise();
    private final ArrayDeque<Future<Buffer>> fetching = new ArrayDeque<>();
    private int index;
    private long chunkStart;
    private int nextToFetch;
    private long nextToFetchStart;
    private boolean stepping;
    private boolean again;

    Transfer(Content content, long start, long endInclusive, WriteStream<Buffer> out, int first, long firstStart) {
      this.content = content;
      this.start = start;
      this.endInclusive = endInclusive;
      this.out = out;
      this.index = first;
      this.chunkStart = firstStart;
      this.nextToFetch = first;
      this.nextToFetchStart = firstStart;
    }

    Future<Void> run() {
      advance();
      return done.future();
    }

    private void advance() {
      if (stepping) {
        again = true;
        return;
      }
      stepping = true;
      do {
        again = false;
        step();
      } while (again);
      stepping = false;
    }

    private void step() {
      while (nextToFetch <= index + AHEAD && nextToFetch < content.chunks().size() && nextToFetchStart <= endInclusive) {
        fetching.add(fetch(nextToFetch));
        nextToFetchStart += content.chunkSizes().get(nextToFetch);
        nextToFetch++;
      }
      int size = content.chunkSizes().get(index);
      long from = Math.max(start, chunkStart) - chunkStart;
      long to = Math.min(endInclusive + 1, chunkStart + size) - chunkStart;
      fetching.poll()
          .compose(chunk -> out.write(from == 0 && to == size ? chunk : chunk.slice((int) from, (int) to)))
          .onComplete(written -> {
            if (written.failed()) {
              done.tryFail(written.cause());
              return;
            }
            chunkStart += size;
            index++;
            if (chunkStart > endInclusive) {
              done.tryComplete();
            } else {
              advance();
            }
          });
    }

    private Future<Buffer> fetch(int chunk) {
      String sha256 = content.chunks().get(chunk);
      int expected = content.chunkSizes().get(chunk);
      return store.get(sha256).compose(bytes -> bytes.length() == expected ? Future.succeededFuture(bytes)
          : Future.failedFuture(new IllegalStateException("chunk " + sha256 + " holds " + bytes.length()
              + " bytes where the manifest says " + expected)));
    }
  }
}
