package io.cloudsync.uploads;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;

/**
 * The PATCH that completes a tus upload, as one stream of the whole content for a reader (the
 * content writer): first the bytes received before it, read back from the part file, then its
 * body, which is appended to the part file as it passes. So the upload is chunked while it arrives
 * instead of after, and the part file still holds every byte tus counts as received, should the
 * connection drop, the checksum fail or the reader fail.
 *
 * <p>The body flows only while the reader wants data and the part file keeps up. Once the reader
 * has failed ({@link #detach}) the body goes on into the part file alone. All calls happen on the
 * request's event loop.
 */
final class PartFileTee implements ReadStream<Buffer> {
  /**
   * The body arrives in pieces of some KiB; each write to an AsyncFile is a task on a worker thread,
   * and one per piece cost more in thread hand-overs than the copying itself. So pieces are gathered
   * into arrays of this size, small enough that the collector does not treat them as humongous
   * objects, and each array is used again once its write is done.
   */
  private static final int PART_WRITE = 256 * 1024;
  private static final int SPARE_ARRAYS = 4;

  /** What the body added to the part file: its byte count, whether it matched the checksum, why it stopped early. */
  record Appended(long bytes, boolean matches, Throwable failure) {
  }

  private final AsyncFile earlier;
  private final ReadStream<Buffer> body;
  private final AsyncFile part;
  private final TusUploads.Checksum checksum;
  private final MessageDigest digest;
  private final long room;
  private final Promise<Appended> appended = Promise.promise();

  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private boolean readerPaused = true;
  private boolean readerGone;
  private boolean inBody;
  private boolean bodyFlowing;
  private boolean partFull;
  private boolean finished;
  private long count;
  private byte[] gathering;
  private int gathered;
  private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
  private Throwable failure;

  /**
   * {@code earlier} reads the part file up to where this PATCH starts (null when it starts at 0);
   * {@code part} is open for writing at that offset; {@code room} is what the upload still lacks.
   */
  PartFileTee(AsyncFile earlier, ReadStream<Buffer> body, AsyncFile part, TusUploads.Checksum checksum, long room) {
    this.earlier = earlier;
    this.body = body;
    this.part = part;
    this.checksum = checksum;
    this.digest = checksum == null ? null : checksum.newDigest();
    this.room = room;
    body.pause();
    body.handler(this::onBody);
    body.endHandler(v -> onBodyEnd());
    body.exceptionHandler(e -> stop(new ApiException(ErrorCode.BAD_REQUEST, "The upload connection was interrupted")));
    part.exceptionHandler(this::stop);
    part.setWriteQueueMaxSize(4 * PART_WRITE);
    if (earlier == null) {
      inBody = true;
    } else {
      earlier.pause();
      earlier.handler(this::deliver);
      earlier.exceptionHandler(this::stop);
      earlier.endHandler(v -> startBody());
    }
  }

  /** Completes once the body has ended or stopped and what it brought is in the part file (not synced). */
  Future<Appended> appended() {
    return appended.future();
  }

  /** The reader failed: it gets nothing more, and the body goes on into the part file. */
  void detach() {
    readerGone = true;
    if (!inBody) {
      startBody();
    } else {
      updateFlow();
    }
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    this.handler = handler;
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    readerPaused = true;
    updateFlow();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    readerPaused = false;
    updateFlow();
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    return resume();
  }

  private void updateFlow() {
    if (finished) {
      return;
    }
    if (!inBody) {
      if (readerPaused) {
        earlier.pause();
      } else {
        earlier.resume();
      }
      return;
    }
    boolean flow = failure == null && !partFull && (readerGone || !readerPaused);
    if (flow != bodyFlowing) {
      bodyFlowing = flow;
      if (flow) {
        body.resume();
      } else {
        body.pause();
      }
    }
  }

  private void deliver(Buffer buffer) {
    if (!readerGone && handler != null) {
      handler.handle(buffer);
    }
  }

  private void startBody() {
    if (inBody) {
      return;
    }
    inBody = true;
    earlier.handler(null);
    earlier.close();
    updateFlow();
  }

  private void onBody(Buffer buffer) {
    if (failure != null || finished) {
      return;
    }
    if (count + buffer.length() > room) {
      stop(new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "The PATCH goes past Upload-Length"));
      return;
    }
    count += buffer.length();
    if (digest != null) {
      digest.update(buffer.getBytes());
    }
    for (int at = 0; at < buffer.length(); ) {
      if (gathering == null) {
        gathering = spare.isEmpty() ? new byte[PART_WRITE] : spare.poll();
      }
      int piece = Math.min(buffer.length() - at, PART_WRITE - gathered);
      buffer.getBytes(at, at + piece, gathering, gathered);
      gathered += piece;
      at += piece;
      if (gathered == PART_WRITE) {
        writeGathered();
      }
    }
    if (part.writeQueueFull()) {
      partFull = true;
      part.drainHandler(v -> {
        partFull = false;
        updateFlow();
      });
    }
    deliver(buffer);
    updateFlow();
  }

  private void onBodyEnd() {
    if (failure != null || finished) {
      return;
    }
    if (!readerGone && endHandler != null) {
      endHandler.handle(null);
    }
    finish();
  }

  /** The body, the part file or the earlier bytes failed: tell the reader, keep what arrived. */
  private void stop(Throwable cause) {
    if (failure != null || finished) {
      return;
    }
    failure = cause;
    body.pause();
    bodyFlowing = false;
    if (!readerGone && exceptionHandler != null) {
      exceptionHandler.handle(cause);
    }
    if (!inBody) {
      earlier.close();
    }
    finish();
  }

  private void writeGathered() {
    if (gathered > 0) {
      byte[] written = gathering;
      part.write(BufferInternal.buffer(Unpooled.wrappedBuffer(written, 0, gathered))).onComplete(done -> {
        if (spare.size() < SPARE_ARRAYS) {
          spare.add(written);
        }
      });
      gathering = null;
      gathered = 0;
    }
  }

  private void finish() {
    if (finished) {
      return;
    }
    finished = true;
    writeGathered();
    // Closing waits for the queued writes; it does not fsync: the caller does that only where the
    // part file is still needed afterwards.
    part.close().onComplete(closed -> appended.complete(new Appended(count,
        digest == null || MessageDigest.isEqual(digest.digest(), checksum.expected()),
        failure != null ? failure : closed.cause())));
  }
}
