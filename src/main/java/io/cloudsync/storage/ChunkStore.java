package io.cloudsync.storage;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/**
 * File content as deduplicated chunks, named by the SHA-256 (lower-case hex) of their plain
 * bytes and stored once across all files and users. What the blob store holds is compressed
 * (when that saves at least 10%) and encrypted; callers only ever see plain bytes.
 */
public interface ChunkStore {
  /** Content-defined chunk sizes: FastCDC-style with these bounds. */
  int MIN_CHUNK = 256 * 1024;
  int AVERAGE_CHUNK = 1024 * 1024;
  int MAX_CHUNK = 4 * 1024 * 1024;

  /**
   * Stores the chunk unless it is there already; true when new bytes were written. Refuses bytes
   * whose SHA-256 is not {@code sha256}, so nobody can store content under another content's name.
   */
  Future<Boolean> put(String sha256, Buffer plain);

  /**
   * The same for a chunk already hashed, whose name is its hash by construction: stores that check
   * names by hashing can skip that here.
   */
  default Future<Boolean> put(PlainChunk chunk) {
    return put(chunk.sha256(), Buffers.wrap(chunk.bytes()));
  }

  /** The plain bytes; fails with {@link BlobNotFoundException} when the chunk is not stored. */
  Future<Buffer> get(String sha256);

  Future<Boolean> exists(String sha256);

  Future<Void> delete(String sha256);
}
