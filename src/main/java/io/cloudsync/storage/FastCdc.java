package io.cloudsync.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Content-defined chunk boundaries, FastCDC style (Xia et al., "FastCDC: a Fast and Efficient
 * Content-Defined Chunking Approach for Data Deduplication", USENIX ATC 2016). Server and clients
 * must cut the same bytes at the same places, or an edited file no longer shares chunks with its
 * previous version; so everything that decides a boundary is fixed and written down here, and
 * this class depends on nothing but the JDK.
 *
 * <p>The rule, for each chunk, with positions counted from the chunk's first byte:
 * <ul>
 *   <li>the first {@code min} bytes are never a boundary and are not hashed; the Gear hash starts
 *       at 0 on the byte at position {@code min};</li>
 *   <li>each byte {@code b} from there on updates {@code hash = (hash << 1) + GEAR[b & 0xff]}
 *       (64-bit, wrapping);</li>
 *   <li>while the position is below {@code avg} the chunk ends after the byte when
 *       {@code (hash & maskS) == 0}, from {@code avg} on when {@code (hash & maskL) == 0} — the
 *       paper's normalized chunking, level 2: maskS has {@code log2(avg) + 2} bits, maskL
 *       {@code log2(avg) - 2}, both the highest bits of the word, which depend on the last 64
 *       bytes, the widest window a Gear hash has;</li>
 *   <li>a chunk that reaches {@code max} bytes ends there; the last chunk of the input ends with
 *       the input.</li>
 * </ul>
 * With the product bounds (256 KiB, 1 MiB, 4 MiB) the masks are the top 22 and the top 18 bits;
 * chunks of random data average about 1.15 MiB, because the first 256 KiB are never cut.
 *
 * <p>{@code GEAR} is 256 values of SplitMix64 seeded with {@link #GEAR_SEED}: state starts at the
 * seed; each value is {@code state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >>> 30)) *
 * 0xBF58476D1CE4E5B9; z = (z ^ (z >>> 27)) * 0x94D049BB133111EB; z ^ (z >>> 31)}. Changing the
 * seed, the masks or the rule changes every boundary and so defeats deduplication against
 * everything already stored: treat them as a wire format.
 *
 * <p>Streaming: feed the bytes in order, in pieces of any size, to {@link #next}; it reports where
 * the current chunk ends, if it ends inside the piece. Boundaries do not depend on how the input
 * was split. One instance follows one stream and is not thread-safe.
 */
public final class FastCdc {
  /** The SplitMix64 seed of the Gear table: the ASCII bytes of "CSFASTCD". */
  public static final long GEAR_SEED = 0x4353464153544344L;

  private static final long[] GEAR = gearTable(GEAR_SEED);
  private static final int NORMALIZATION = 2;

  private final int min;
  private final int avg;
  private final int max;
  private final long maskS;
  private final long maskL;

  /** Bytes of the current chunk seen so far. */
  private int length;
  private long hash;

  /** The product bounds: {@link ChunkStore#MIN_CHUNK}, {@link ChunkStore#AVERAGE_CHUNK}, {@link ChunkStore#MAX_CHUNK}. */
  public FastCdc() {
    this(ChunkStore.MIN_CHUNK, ChunkStore.AVERAGE_CHUNK, ChunkStore.MAX_CHUNK);
  }

  /** Other bounds, for tests and tools; {@code avg} must be a power of two. */
  public FastCdc(int min, int avg, int max) {
    if (Integer.bitCount(avg) != 1 || avg < 64) {
      throw new IllegalArgumentException("the average chunk size must be a power of two of at least 64");
    }
    if (min < 1 || min > avg || avg > max) {
      throw new IllegalArgumentException("chunk sizes must satisfy 1 <= min <= avg <= max");
    }
    int bits = Integer.numberOfTrailingZeros(avg);
    this.min = min;
    this.avg = avg;
    this.max = max;
    this.maskS = topBits(bits + NORMALIZATION);
    this.maskL = topBits(Math.max(1, bits - NORMALIZATION));
  }

  private static long topBits(int count) {
    return -1L << (64 - count);
  }

  public int minSize() {
    return min;
  }

  public int averageSize() {
    return avg;
  }

  public int maxSize() {
    return max;
  }

  /** Bytes of the current, unfinished chunk. */
  public int pending() {
    return length;
  }

  /**
   * Scans {@code data[offset, offset + count)}, the next bytes of the stream. Returns the index
   * just past the last byte of the current chunk when that chunk ends inside the range (the
   * caller then calls again from that index for the next chunk), or -1 when every byte of the
   * range belongs to the current chunk.
   */
  public int next(byte[] data, int offset, int count) {
    int end = offset + count;
    // base + i is the position, within the current chunk, of data[i].
    int base = length - offset;
    int i = offset;
    if (base + i < min) {
      i = Math.min(end, min - base);
    }
    long h = hash;
    int stopSmall = Math.min(end, avg - base);
    while (i < stopSmall) {
      h = (h << 1) + GEAR[data[i] & 0xff];
      i++;
      if ((h & maskS) == 0) {
        return cut(i);
      }
    }
    int stopLarge = Math.min(end, max - base);
    while (i < stopLarge) {
      h = (h << 1) + GEAR[data[i] & 0xff];
      i++;
      if ((h & maskL) == 0) {
        return cut(i);
      }
    }
    if (base + i >= max) {
      return cut(i);
    }
    length = base + i;
    hash = h;
    return -1;
  }

  private int cut(int index) {
    length = 0;
    hash = 0;
    return index;
  }

  /** Forgets the unfinished chunk: the next byte starts a new one (the stream ended or restarts). */
  public void reset() {
    length = 0;
    hash = 0;
  }

  /** The chunk lengths of a whole byte array, in order; they add up to its length. */
  public List<Integer> chunkLengths(byte[] data) {
    reset();
    List<Integer> lengths = new ArrayList<>();
    int start = 0;
    while (start < data.length) {
      int cut = next(data, start, data.length - start);
      if (cut < 0) {
        lengths.add(data.length - start);
        break;
      }
      lengths.add(cut - start);
      start = cut;
    }
    reset();
    return lengths;
  }

  /** The Gear table for a seed (SplitMix64 outputs); public so other implementations can check theirs. */
  public static long[] gearTable(long seed) {
    long[] table = new long[256];
    long state = seed;
    for (int i = 0; i < table.length; i++) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      table[i] = z ^ (z >>> 31);
    }
    return table;
  }
}
