package io.cloudsync.storage;

import java.util.HexFormat;

/**
 * A chunk's plain bytes with their name, the SHA-256 of the bytes, which only {@link #of} computes:
 * a chunk cannot exist under another content's name, so whoever stores one need not hash it again.
 * The array is taken over, not copied; nobody may change it afterwards.
 */
public final class PlainChunk {
  private static final HexFormat HEX = HexFormat.of();

  private final byte[] bytes;
  private final byte[] hash;
  private final String sha256;

  private PlainChunk(byte[] bytes, byte[] hash) {
    this.bytes = bytes;
    this.hash = hash;
    this.sha256 = HEX.formatHex(hash);
  }

  /** Hashes the bytes: CPU work on up to {@link ChunkStore#MAX_CHUNK} bytes, so off the event loop. */
  public static PlainChunk of(byte[] bytes) {
    return new PlainChunk(bytes, ChunkCodec.sha256(bytes));
  }

  /** The name: the SHA-256 of the bytes in lower-case hex. */
  public String sha256() {
    return sha256;
  }

  public int length() {
    return bytes.length;
  }

  byte[] bytes() {
    return bytes;
  }

  byte[] hash() {
    return hash;
  }
}
