package io.cloudsync.storage;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Chunks in a local directory, fanned out by the first two pairs of hex digits
 * ({@code ab/cd/abcd...}). Writes go to a temp file that is fsynced and then renamed into
 * place, so a crash never leaves a half-written chunk under its name.
 */
public final class LocalBlobStore implements BlobStore {
  private final Vertx vertx;
  private final Path root;
  private final Path tmp;

  public LocalBlobStore(Vertx vertx, Path root) {
    this.vertx = vertx;
    this.root = root.toAbsolutePath().normalize();
    this.tmp = this.root.resolve("tmp");
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
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          ByteBuffer bytes = Buffers.view(data);
          while (bytes.hasRemaining()) {
            channel.write(bytes);
          }
          channel.force(true);
        }
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
