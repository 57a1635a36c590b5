package io.cloudsync.storage;

import java.util.List;

/**
 * What a file version is made of: its size, the SHA-256 of the whole content, and the ordered
 * chunks (hash and plain size of each) that concatenate to it. {@code reused} names the chunks an
 * upload found already stored and did not write: the commit checks they are still there, since
 * the collector may have removed them while the upload ran.
 */
public record Content(long size, String sha256, List<String> chunks, List<Integer> chunkSizes, List<String> reused) {
  public Content {
    chunks = List.copyOf(chunks);
    chunkSizes = List.copyOf(chunkSizes);
    reused = List.copyOf(reused);
    if (chunks.size() != chunkSizes.size()) {
      throw new IllegalArgumentException("one size per chunk");
    }
  }

  public Content(long size, String sha256, List<String> chunks, List<Integer> chunkSizes) {
    this(size, sha256, chunks, chunkSizes, List.of());
  }
}
