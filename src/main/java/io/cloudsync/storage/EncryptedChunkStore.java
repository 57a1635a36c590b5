package io.cloudsync.storage;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

/**
 * Chunks compressed where worthwhile and encrypted (see {@link ChunkCodec}) in a {@link BlobStore}
 * under their SHA-256. Encoding and decoding are CPU work on up to 4 MiB, so they run on worker
 * threads; the blob store does its own I/O without blocking.
 */
public final class EncryptedChunkStore implements ChunkStore {
  private final Vertx vertx;
  private final BlobStore blobs;
  private final ChunkCodec codec;

  public EncryptedChunkStore(Vertx vertx, BlobStore blobs, MasterKeys keys) {
    this(vertx, blobs, new ChunkCodec(keys));
  }

  EncryptedChunkStore(Vertx vertx, BlobStore blobs, ChunkCodec codec) {
    this.vertx = vertx;
    this.blobs = blobs;
    this.codec = codec;
  }

  /**
   * Two writers racing on the same new chunk may both write it; each writes a complete, valid
   * encoding of the same bytes, and the blob store's atomic put keeps one of them.
   */
  @Override
  public Future<Boolean> put(String sha256, Buffer plain) {
    if (plain.length() > ChunkStore.MAX_CHUNK) {
      return Future.failedFuture(tooLarge());
    }
    return named(sha256)
        .compose(name -> vertx.executeBlocking(() -> PlainChunk.of(plain.getBytes()), false))
        .compose(chunk -> chunk.sha256().equals(sha256) ? put(chunk)
            : Future.failedFuture(new IllegalArgumentException("the bytes do not hash to " + sha256)));
  }

  @Override
  public Future<Boolean> put(PlainChunk chunk) {
    if (chunk.length() > ChunkStore.MAX_CHUNK) {
      return Future.failedFuture(tooLarge());
    }
    String sha256 = chunk.sha256();
    return blobs.exists(sha256).compose(present -> present
        ? Future.succeededFuture(false)
        : vertx.executeBlocking(() -> Buffers.wrap(codec.encode(chunk)), false)
            .compose(encoded -> blobs.put(sha256, encoded))
            .map(true));
  }

  private static IllegalArgumentException tooLarge() {
    return new IllegalArgumentException("a chunk holds at most " + ChunkStore.MAX_CHUNK + " bytes");
  }

  @Override
  public Future<Buffer> get(String sha256) {
    return named(sha256).compose(blobs::get)
        .compose(blob -> vertx.executeBlocking(() -> Buffer.buffer(codec.decode(sha256, blob.getBytes())), false));
  }

  @Override
  public Future<Boolean> exists(String sha256) {
    return named(sha256).compose(blobs::exists);
  }

  @Override
  public Future<Void> delete(String sha256) {
    return named(sha256).compose(blobs::delete);
  }

  /** The name when it is a SHA-256 in lower-case hex, as a future so a bad name fails like any other error. */
  private static Future<String> named(String sha256) {
    return ChunkCodec.isName(sha256) ? Future.succeededFuture(sha256)
        : Future.failedFuture(new IllegalArgumentException("a chunk name is the SHA-256 of its bytes in 64 lower-case hex digits"));
  }
}
