package io.cloudsync.storage;

import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.regex.Pattern;

/**
 * Content-addressed object storage for file chunks. Keys are lower-case hex names (the SHA-256
 * of the content); anything else is refused, so no key can point outside the store.
 */
public interface BlobStore {
  Pattern KEY = Pattern.compile("^[0-9a-f]{16,128}$");

  /** Stores the bytes under the key; a reader never sees a partly written object. */
  Future<Void> put(String key, Buffer data);

  /** The bytes under the key; fails with {@link BlobNotFoundException} when there are none. */
  Future<Buffer> get(String key);

  Future<Boolean> exists(String key);

  /** Removes the key; removing a missing key succeeds. */
  Future<Void> delete(String key);

  /** Writes, reads back and removes a probe object: the readiness check. */
  Future<Void> probe();

  Future<Void> close();

  static BlobStore create(Vertx vertx, CloudSyncConfig.Blob config) {
    return config.type().equals("s3") ? S3BlobStore.create(vertx, config.s3()) : new LocalBlobStore(vertx, config.localDir());
  }

  static String checkKey(String key) {
    if (key == null || !KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("invalid blob key");
    }
    return key;
  }
}
