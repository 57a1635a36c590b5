package io.cloudsync.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns a chunk's plain bytes into what the blob store holds, and back. Encoding compresses
 * (raw deflate) when that saves at least 10%, then encrypts with AES-256-GCM under a fresh random
 * data key, which is itself wrapped (AES key wrap, RFC 3394) by the current master key. The blob
 * names the master key by id, so keys can rotate while old chunks stay readable.
 *
 * <p>Layout of an encoded chunk, format version 1 (all lengths are single unsigned bytes):
 * <pre>
 *   offset      size  field
 *   0           4     magic "CSCK"
 *   4           1     format version (1)
 *   5           1     flags: bit 0 = the plaintext is raw-deflate compressed; other bits 0
 *   6           1     key id length k (1..64)
 *   7           k     master key id, ASCII
 *   7+k         1     wrapped data key length w (40: AES-KW of a 32-byte key)
 *   8+k         w     wrapped data key
 *   8+k+w       12    GCM nonce (random)
 *   20+k+w      ...   AES-256-GCM ciphertext of the (compressed) chunk, then the 16-byte tag
 * </pre>
 * The GCM additional data is the whole header (bytes 0 to the end of the nonce) followed by the
 * 32-byte SHA-256 of the plain chunk: a blob cannot be moved to another name, nor its flags,
 * version or key id edited, without failing authentication.
 *
 * <p>Decoding refuses anything it cannot prove: unknown version or flags, an unknown key id, a
 * failed tag, a decompressed size above {@link ChunkStore#MAX_CHUNK} (a decompression bomb), or
 * plain bytes whose SHA-256 is not the name asked for. Thread-safe; every call is CPU work on
 * up to a few MiB, so callers run it off the event loop.
 */
public final class ChunkCodec {
  public static final int FORMAT_VERSION = 1;
  private static final int GCM_SLICE = 16 * 1024;
  public static final int FLAG_DEFLATED = 1;

  private static final byte[] MAGIC = {'C', 'S', 'C', 'K'};
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final int DATA_KEY_BYTES = 32;
  private static final int DEFLATE_LEVEL = Deflater.BEST_SPEED;
  /** Compressed output is kept only at or below this share of the plain size. */
  private static final double KEEP_RATIO = 0.90;
  /**
   * Larger chunks are first probed by deflating a few evenly spread slices: deflating a whole
   * MiB of incompressible data (media, archives, already-encrypted files: most bytes people sync)
   * costs more than encrypting and hashing it together, and would be thrown away. Even the probe
   * is not free: zlib deflates random bytes at well under 100 MB/s, so four slices of 8 KiB cost
   * about 0.5 ms a chunk, a tenth of the CPU a whole upload takes; four of 2 KiB cost a fifth of that
   * and still tell text from noise.
   */
  private static final int PROBE_SLICE = 2 * 1024;
  private static final int PROBE_SLICES = 4;
  private static final double PROBE_GIVE_UP_RATIO = 0.95;

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();
  private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("^[0-9a-f]{64}$");

  private final MasterKeys keys;
  private final int maxPlainSize;

  public ChunkCodec(MasterKeys keys) {
    this(keys, ChunkStore.MAX_CHUNK);
  }

  ChunkCodec(MasterKeys keys, int maxPlainSize) {
    this.keys = keys;
    this.maxPlainSize = maxPlainSize;
  }

  /**
   * Encodes the plain bytes of the chunk named {@code sha256}; refuses bytes whose hash is not that
   * name, so nobody can store content under another content's name.
   */
  public byte[] encode(String sha256, byte[] plain) {
    checkSize(plain);
    hashBytes(sha256);
    PlainChunk chunk = PlainChunk.of(plain);
    if (!chunk.sha256().equals(sha256)) {
      throw new IllegalArgumentException("the bytes do not hash to " + sha256);
    }
    return encode(chunk);
  }

  /** Encodes a chunk, whose name was computed from its bytes when it was made, without hashing it again. */
  public byte[] encode(PlainChunk chunk) {
    byte[] plain = chunk.bytes();
    checkSize(plain);
    byte[] hash = chunk.hash();
    byte[] deflated = compressWorthwhile(plain);
    byte[] body = deflated != null ? deflated : plain;
    try {
      byte[] dataKey = new byte[DATA_KEY_BYTES];
      RANDOM.nextBytes(dataKey);
      SecretKey dataSecret = new SecretKeySpec(dataKey, "AES");
      Cipher wrap = Cipher.getInstance("AESWrap");
      wrap.init(Cipher.WRAP_MODE, keys.current());
      byte[] wrapped = wrap.wrap(dataSecret);
      byte[] nonce = new byte[NONCE_BYTES];
      RANDOM.nextBytes(nonce);

      byte[] keyId = keys.currentId().getBytes(StandardCharsets.US_ASCII);
      int headerLength = 4 + 1 + 1 + 1 + keyId.length + 1 + wrapped.length + NONCE_BYTES;
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.ENCRYPT_MODE, dataSecret, new GCMParameterSpec(TAG_BITS, nonce));
      byte[] out = new byte[headerLength + gcm.getOutputSize(body.length)];
      ByteBuffer header = ByteBuffer.wrap(out);
      header.put(MAGIC).put((byte) FORMAT_VERSION).put((byte) (deflated != null ? FLAG_DEFLATED : 0))
          .put((byte) keyId.length).put(keyId).put((byte) wrapped.length).put(wrapped).put(nonce);
      gcm.updateAAD(out, 0, headerLength);
      gcm.updateAAD(hash);
      // Slices, not one call: HotSpot swaps in its AES-GCM intrinsics only once the cipher's inner
      // methods have been called many times; a few large calls stay on the slow Java path.
      int written = 0;
      int at = 0;
      while (body.length - at > GCM_SLICE) {
        written += gcm.update(body, at, GCM_SLICE, out, headerLength + written);
        at += GCM_SLICE;
      }
      written += gcm.doFinal(body, at, body.length - at, out, headerLength + written);
      Arrays.fill(dataKey, (byte) 0);
      return written == out.length - headerLength ? out : Arrays.copyOf(out, headerLength + written);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("chunk encryption is unavailable in this JVM", e);
    }
  }

  private void checkSize(byte[] plain) {
    if (plain.length > maxPlainSize) {
      throw new IllegalArgumentException("a chunk holds at most " + maxPlainSize + " bytes, not " + plain.length);
    }
  }

  /** The plain bytes of the chunk named {@code sha256} from its encoded blob. */
  public byte[] decode(String sha256, byte[] blob) {
    byte[] hash = hashBytes(sha256);
    ByteBuffer in = ByteBuffer.wrap(blob);
    try {
      byte[] magic = new byte[MAGIC.length];
      in.get(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new ChunkDecodeException("chunk " + sha256 + " is not an encoded chunk (bad magic)");
      }
      int version = in.get() & 0xff;
      if (version != FORMAT_VERSION) {
        throw new ChunkDecodeException("chunk " + sha256 + " has format version " + version
            + ", which this server does not read");
      }
      int flags = in.get() & 0xff;
      if ((flags & ~FLAG_DEFLATED) != 0) {
        throw new ChunkDecodeException("chunk " + sha256 + " has unknown flags " + flags);
      }
      byte[] keyIdBytes = new byte[in.get() & 0xff];
      in.get(keyIdBytes);
      String keyId = new String(keyIdBytes, StandardCharsets.US_ASCII);
      byte[] wrapped = new byte[in.get() & 0xff];
      in.get(wrapped);
      byte[] nonce = new byte[NONCE_BYTES];
      in.get(nonce);
      int headerLength = in.position();

      Key master = keys.find(keyId);
      if (master == null) {
        throw new ChunkDecodeException("chunk " + sha256 + " is encrypted under master key '" + keyId
            + "', which is not configured (keep retired keys in storage.previous_master_keys)");
      }
      Cipher unwrap = Cipher.getInstance("AESWrap");
      unwrap.init(Cipher.UNWRAP_MODE, master);
      Key dataKey;
      try {
        dataKey = unwrap.unwrap(wrapped, "AES", Cipher.SECRET_KEY);
      } catch (InvalidKeyException e) {
        throw new ChunkDecodeException("chunk " + sha256 + ": its data key does not unwrap under master key '"
            + keyId + "' (wrong key for that id, or the blob was altered)", e);
      }
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.DECRYPT_MODE, dataKey, new GCMParameterSpec(TAG_BITS, nonce));
      gcm.updateAAD(blob, 0, headerLength);
      gcm.updateAAD(hash);
      byte[] body;
      try {
        body = gcm.doFinal(blob, headerLength, blob.length - headerLength);
      } catch (AEADBadTagException e) {
        throw new ChunkDecodeException("chunk " + sha256 + " failed authentication: the blob was altered or "
            + "stored under another name", e);
      }
      byte[] plain = (flags & FLAG_DEFLATED) != 0 ? inflate(sha256, body) : body;
      if (!MessageDigest.isEqual(hash, sha256(plain))) {
        throw new ChunkDecodeException("chunk " + sha256 + " decodes to bytes with another hash");
      }
      return plain;
    } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
      throw new ChunkDecodeException("chunk " + sha256 + " is truncated", e);
    } catch (ChunkDecodeException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new ChunkDecodeException("chunk " + sha256 + " cannot be decrypted: " + e.getMessage(), e);
    }
  }

  /** The deflated bytes when they are at most 90% of the plain size; otherwise null. */
  private byte[] compressWorthwhile(byte[] plain) {
    if (plain.length == 0) {
      return null;
    }
    Deflater deflater = new Deflater(DEFLATE_LEVEL, true);
    try {
      if (plain.length > 2 * PROBE_SLICE * PROBE_SLICES && !probeCompresses(deflater, plain)) {
        return null;
      }
      deflater.reset();
      int limit = (int) (plain.length * KEEP_RATIO);
      // One byte more than the limit: producing it proves the result is not worth keeping.
      byte[] out = new byte[limit + 1];
      deflater.setInput(plain);
      deflater.finish();
      int produced = 0;
      while (!deflater.finished() && produced < out.length) {
        produced += deflater.deflate(out, produced, out.length - produced);
      }
      return deflater.finished() && produced <= limit ? Arrays.copyOf(out, produced) : null;
    } finally {
      deflater.end();
    }
  }

  private static boolean probeCompresses(Deflater deflater, byte[] plain) {
    int stride = (plain.length - PROBE_SLICE) / (PROBE_SLICES - 1);
    byte[] out = new byte[PROBE_SLICE * PROBE_SLICES + 1024];
    int produced = 0;
    for (int i = 0; i < PROBE_SLICES; i++) {
      deflater.setInput(plain, i * stride, PROBE_SLICE);
      while (!deflater.needsInput()) {
        produced += deflater.deflate(out, produced, out.length - produced, Deflater.NO_FLUSH);
      }
    }
    deflater.finish();
    while (!deflater.finished()) {
      produced += deflater.deflate(out, produced, out.length - produced);
    }
    return produced <= PROBE_SLICE * PROBE_SLICES * PROBE_GIVE_UP_RATIO;
  }

  private byte[] inflate(String sha256, byte[] deflated) {
    Inflater inflater = new Inflater(true);
    try {
      inflater.setInput(deflated);
      // One byte over the bound is enough to know the bound was crossed.
      byte[] out = new byte[Math.min(maxPlainSize + 1, Math.max(64 * 1024, deflated.length * 4))];
      int produced = 0;
      while (!inflater.finished()) {
        if (produced == out.length) {
          if (out.length > maxPlainSize) {
            throw new ChunkDecodeException("chunk " + sha256 + " inflates beyond " + maxPlainSize + " bytes");
          }
          out = Arrays.copyOf(out, (int) Math.min(maxPlainSize + 1L, out.length * 2L));
        }
        int n = inflater.inflate(out, produced, out.length - produced);
        if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
          throw new ChunkDecodeException("chunk " + sha256 + " holds truncated compressed data");
        }
        produced += n;
      }
      if (produced > maxPlainSize) {
        throw new ChunkDecodeException("chunk " + sha256 + " inflates beyond " + maxPlainSize + " bytes");
      }
      return Arrays.copyOf(out, produced);
    } catch (DataFormatException e) {
      throw new ChunkDecodeException("chunk " + sha256 + " holds corrupt compressed data", e);
    } finally {
      inflater.end();
    }
  }

  /** The flags byte of an encoded chunk: lets tests and tools see whether it was stored compressed. */
  public static int flags(byte[] blob) {
    return blob[5] & 0xff;
  }

  /** The master key id an encoded chunk names. */
  public static String keyId(byte[] blob) {
    return new String(blob, 7, blob[6] & 0xff, StandardCharsets.US_ASCII);
  }

  public static byte[] sha256(byte[] data) {
    return sha256(data, 0, data.length);
  }

  public static byte[] sha256(byte[] data, int offset, int length) {
    MessageDigest digest = newSha256();
    digest.update(data, offset, length);
    return digest.digest();
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether the text is a chunk name: a SHA-256 in 64 lower-case hex digits. */
  public static boolean isName(String sha256) {
    return sha256 != null && NAME.matcher(sha256).matches();
  }

  private static byte[] hashBytes(String sha256) {
    if (!isName(sha256)) {
      throw new IllegalArgumentException("a chunk name is the SHA-256 of its bytes in 64 lower-case hex digits");
    }
    return HEX.parseHex(sha256);
  }

  /** The encoded bytes cannot be turned back into the chunk: altered, truncated, or under an unknown key. */
  public static final class ChunkDecodeException extends RuntimeException {
    ChunkDecodeException(String message) {
      super(message);
    }

    ChunkDecodeException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
