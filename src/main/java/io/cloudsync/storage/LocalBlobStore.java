package io.cloudsync.storage;

import com.sun.nio.file.ExtendedOpenOption;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chunks in a local directory, fanned out by the first two pairs of hex digits
 * ({@code ab/cd/abcd...}). Writes go to a temp file that is fsynced and then renamed into
 * place, so a crash never leaves a half-written chunk under its name.
 *
 * <p>Where the file system allows it, the temp file is written with direct I/O (O_DIRECT) from an
 * aligned buffer, padded to whole blocks and then truncated to its length. A chunk is written
 * once and fsynced at once, so the page cache buys nothing here, and going through it costs more
 * CPU than anything else in storing a chunk: copying every byte into the cache and then, at the
 * fsync, writing the pages back one file at a time. Where direct I/O is refused (tmpfs, some
 * network file systems) or no aligned buffer is free, the write is an ordinary buffered one.
 */
public final class LocalBlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(LocalBlobStore.class);
  /** Room for the largest encoded chunk (a few hundred bytes of header and tag over the plain maximum). */
  private static final int DIRECT_BUFFER_BYTES = ChunkStore.MAX_CHUNK + 64 * 1024;
  /** Aligned buffers kept for direct writes; each is held only while its write runs. */
  private static final int DIRECT_BUFFERS = 4;

  private final Vertx vertx;
  private final Path root;
  private final Path tmp;
  private final OpenOption directOption;
  private volatile boolean direct;
  private final BlockingQueue<ByteBuffer> directBuffers = new ArrayBlockingQueue<>(DIRECT_BUFFERS);
  private final AtomicInteger directBuffersMade = new AtomicInteger();
  private volatile int blockSize;

  public LocalBlobStore(Vertx vertx, Path root) {
    this(vertx, root, ExtendedOpenOption.DIRECT);
  }

  /** Another option asks for direct I/O (tests pass one the file system refuses); null writes buffered. */
  LocalBlobStore(Vertx vertx, Path root, OpenOption directOption) {
    this.vertx = vertx;
    this.root = root.toAbsolutePath().normalize();
    this.tmp = this.root.resolve("tmp");
    this.directOption = directOption;
    this.direct = directOption != null;
  }

  /** Whether writes still go around the page cache: false once the file system refused that. */
  boolean writesDirectly() {
    return direct;
  }

  public Path root() {
    return root;
  }

  Path pathOf(String key) {
    BlobStore.checkKey(key);
    return root.resolve(key.substring(0, 2)).resolve(key.substring(2, 4)).resolve(key);
  }

  @Override
  public Future<Void> put(String key, Buffer data) {
    return vertx.executeBlocking(() -> {
      Path target = pathOf(key);
      Files.createDirectories(tmp);
      Path temp = tmp.resolve(UUID.randomUUID() + ".part");
      try {
        writeTemp(temp, Buffers.view(data));
        Files.createDirectories(target.getParent());
        try {
          Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory(target.getParent());
      } finally {
        Files.deleteIfExists(temp);
      }
      return null;
    }, false);
  }

  /** Writes and fsyncs the temp file: directly where this store can, else through the page cache. */
  private void writeTemp(Path temp, ByteBuffer bytes) throws IOException {
    Exception directFailure = null;
    try {
      if (writeDirect(temp, bytes)) {
        return;
      }
    } catch (IOException | UnsupportedOperationException e) {
      directFailure = e;
      Files.deleteIfExists(temp);
    }
    writeBuffered(temp, bytes);
    if (directFailure != null) {
      // A direct write failed where a buffered one did not: this file system refuses direct I/O
      // (EINVAL on tmpfs, say). A failing disk would have failed both, and been reported.
      direct = false;
      LOG.info("Direct I/O is refused in {} ({}); chunks are written through the page cache", root, directFailure.toString());
    }
  }

  private static void writeBuffered(Path temp, ByteBuffer bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      channel.force(true);
    }
  }

  /**
   * Writes and fsyncs the temp file with direct I/O; false, with no file made, when this store does
   * not (direct I/O off, the data too large, or no aligned buffer free).
   */
  private boolean writeDirect(Path temp, ByteBuffer bytes) throws IOException {
    if (!direct || bytes.remaining() > DIRECT_BUFFER_BYTES) {
      return false;
    }
    ByteBuffer aligned = takeDirectBuffer();
    if (aligned == null) {
      return false;
    }
    int length = bytes.remaining();
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, directOption)) {
      // Direct I/O moves whole blocks from aligned memory: pad with zeros, then cut the file back.
      int padded = (length + blockSize - 1) / blockSize * blockSize;
      aligned.clear();
      aligned.put(bytes.duplicate());
      while (aligned.position() < padded) {
        aligned.put((byte) 0);
      }
      aligned.flip();
      while (aligned.hasRemaining()) {
        channel.write(aligned);
      }
      directBuffers.offer(aligned);
      aligned = null;
      channel.truncate(length);
      channel.force(true);
      return true;
    } finally {
      if (aligned != null) {
        directBuffers.offer(aligned);
      }
    }
  }

  /** A free aligned buffer, made on first need up to {@link #DIRECT_BUFFERS}; null when all are in use. */
  private ByteBuffer takeDirectBuffer() throws IOException {
    ByteBuffer free = directBuffers.poll();
    if (free != null) {
      return free;
    }
    if (directBuffersMade.incrementAndGet() > DIRECT_BUFFERS) {
      directBuffersMade.decrementAndGet();
      return null;
    }
    try {
      if (blockSize == 0) {
        blockSize = (int) Files.getFileStore(tmp).getBlockSize();
      }
      // Aligned at both ends, which leaves at least DIRECT_BUFFER_BYTES + blockSize of room.
      return ByteBuffer.allocateDirect(DIRECT_BUFFER_BYTES + 2 * blockSize).alignedSlice(blockSize);
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      directBuffersMade.decrementAndGet();
      throw e;
    }
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems do not allow syncing a directory; the rename itself is still atomic.
    }
  }

  @Override
  public Future<Buffer> get(String key) {
    return vertx.executeBlocking(() -> {
      try {
        return Buffer.buffer(Files.readAllBytes(pathOf(key)));
      } catch (NoSuchFileException e) {
        throw new BlobNotFoundException(key);
      }
    }, false);
  }

  @Override
  public Future<Boolean> exists(String key) {
    return vertx.executeBlocking(() -> Files.isRegularFile(pathOf(key)), false);
  }

  @Override
  public Future<Void> delete(String key) {
    return vertx.executeBlocking(() -> {
      Files.deleteIfExists(pathOf(key));
      return null;
    }, false);
  }

  @Override
  public Future<Void> probe() {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(tmp);
      Path probe = tmp.resolve("probe-" + UUID.randomUUID());
      Files.write(probe, new byte[] {1});
      Files.delete(probe);
      return null;
    }, false);
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}
