package io.cloudsync.storage;

import java.util.List;

/**
 * What a file version is made of: its size, the SHA-256 of the whole content, and the ordered
 * chunks (hash and plain size of each) that concatenate to it.
 */
public record Content(long size, String sha256, List<String> chunks, List<Integer> chunkSizes) {
  public Content {
    chunks = List.copyOf(chunks);
    chunkSizes = List.copyOf(chunkSizes);
    if (chunks.size() != chunkSizes.size()) {
      throw new IllegalArgumentException("one size per chunk");
    }
  }
}
