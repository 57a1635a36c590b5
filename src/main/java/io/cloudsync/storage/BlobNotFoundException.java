package io.cloudsync.storage;

/** The store has no object under the key. */
public final class BlobNotFoundException extends RuntimeException {
  public BlobNotFoundException(String key) {
    super("no blob " + key, null, false, false);
  }
}
