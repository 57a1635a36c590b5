package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("FastCDC chunking")
class FastCdcTest {
  private static final int MIB = 1 << 20;

  static byte[] random(long seed, int size) {
    byte[] data = new byte[size];
    new SplittableRandom(seed).nextBytes(data);
    return data;
  }

  /** Feeds the data in pieces of random sizes up to {@code maxPiece} and collects the chunk lengths. */
  static List<Integer> chunkInPieces(FastCdc cdc, byte[] data, long seed, int maxPiece) {
    SplittableRandom pieces = new SplittableRandom(seed);
    List<Integer> lengths = new ArrayList<>();
    int chunkStart = 0;
    int position = 0;
    while (position < data.length) {
      int piece = Math.min(data.length - position, 1 + pieces.nextInt(maxPiece));
      int offset = position;
      int end = position + piece;
      while (offset < end) {
        int cut = cdc.next(data, offset, end - offset);
        if (cut < 0) {
          break;
        }
        lengths.add(cut - chunkStart);
        chunkStart = cut;
        offset = cut;
      }
      position = end;
    }
    if (chunkStart < data.length) {
      lengths.add(data.length - chunkStart);
    }
    return lengths;
  }

  @Test
  @DisplayName("never cuts a chunk below the minimum or above the maximum")
  void bounds() {
    List<Integer> lengths = new FastCdc().chunkLengths(random(1, 64 * MIB));
    assertThat(lengths.stream().mapToLong(Integer::longValue).sum()).isEqualTo(64L * MIB);
    for (int length : lengths.subList(0, lengths.size() - 1)) {
      assertThat(length).isBetween(ChunkStore.MIN_CHUNK, ChunkStore.MAX_CHUNK);
    }
    assertThat(lengths.get(lengths.size() - 1)).isBetween(1, ChunkStore.MAX_CHUNK);
  }

  @Test
  @DisplayName("cuts data without content boundaries (all zeros) at exactly the maximum size")
  void zeros() {
    List<Integer> lengths = new FastCdc().chunkLengths(new byte[10 * MIB]);
    assertThat(lengths).containsExactly(ChunkStore.MAX_CHUNK, ChunkStore.MAX_CHUNK, 2 * MIB);
  }

  @Test
  @DisplayName("averages about 1 MiB per chunk on random data")
  void average() {
    List<Integer> lengths = new FastCdc().chunkLengths(random(2, 128 * MIB));
    double averageMib = 128.0 / lengths.size();
    System.out.printf("FastCDC on 128 MiB of random data: %d chunks, average %.3f MiB%n", lengths.size(), averageMib);
    assertThat(averageMib).isBetween(0.9, 1.4);
  }

  @Test
  @DisplayName("finds the same boundaries whatever sizes the input arrives in")
  void independentOfPieces() {
    byte[] data = random(3, 24 * MIB);
    List<Integer> whole = new FastCdc().chunkLengths(data);
    assertThat(whole).hasSizeGreaterThan(10);
    assertThat(chunkInPieces(new FastCdc(), data, 10, 1)).isEqualTo(whole);
    assertThat(chunkInPieces(new FastCdc(), data, 11, 7)).isEqualTo(whole);
    assertThat(chunkInPieces(new FastCdc(), data, 12, 64 * 1024)).isEqualTo(whole);
    assertThat(chunkInPieces(new FastCdc(), data, 13, 5 * MIB)).isEqualTo(whole);
  }

  @Test
  @DisplayName("a one-byte edit in the middle of a large file changes at most the two chunks around it")
  void editLocality() {
    byte[] original = random(4, 64 * MIB);
    byte[] edited = original.clone();
    edited[edited.length / 2] ^= 0x5a;
    Set<String> before = new HashSet<>(chunkHashes(original));
    List<String> after = chunkHashes(edited);
    long changed = after.stream().filter(hash -> !before.contains(hash)).count();
    assertThat(changed).isBetween(1L, 2L);
    assertThat(after.size()).isGreaterThan(40);
  }

  @Test
  @DisplayName("an insertion near the start shifts content without changing the chunks after it")
  void insertionLocality() {
    byte[] original = random(5, 32 * MIB);
    byte[] inserted = new byte[original.length + 100];
    System.arraycopy(original, 0, inserted, 0, 3 * MIB);
    System.arraycopy(original, 3 * MIB, inserted, 3 * MIB + 100, original.length - 3 * MIB);
    Set<String> before = new HashSet<>(chunkHashes(original));
    long changed = chunkHashes(inserted).stream().filter(hash -> !before.contains(hash)).count();
    assertThat(changed).isBetween(1L, 2L);
  }

  @Test
  @DisplayName("cuts a fixed input at fixed places on every run and every JVM: the Gear table and rule are pinned")
  void pinned() {
    long[] gear = FastCdc.gearTable(FastCdc.GEAR_SEED);
    assertThat(gear[0]).isEqualTo(0x066c1a2cc8886948L);
    assertThat(gear[255]).isEqualTo(0x03e91b10ee491771L);
    byte[] data = new byte[8 * MIB];
    new Random(42).nextBytes(data);
    assertThat(new FastCdc().chunkLengths(data))
        .containsExactly(1297683, 1617204, 1348581, 1196058, 1070171, 1163369, 695542);
  }

  @Test
  @DisplayName("takes smaller bounds for tests and refuses impossible ones")
  void configurable() {
    List<Integer> lengths = new FastCdc(1024, 4096, 16384).chunkLengths(random(6, MIB));
    assertThat(lengths.subList(0, lengths.size() - 1)).allSatisfy(n -> assertThat(n).isBetween(1024, 16384));
    assertThat(MIB / (double) lengths.size()).isBetween(3000.0, 7000.0);
    assertThatThrownBy(() -> new FastCdc(1024, 3000, 16384)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FastCdc(8192, 4096, 16384)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FastCdc(1024, 4096, 2048)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("gives an empty input no chunks and a tiny input one")
  void tiny() {
    assertThat(new FastCdc().chunkLengths(new byte[0])).isEmpty();
    assertThat(new FastCdc().chunkLengths(new byte[] {7})).containsExactly(1);
  }

  private static List<String> chunkHashes(byte[] data) {
    List<String> hashes = new ArrayList<>();
    int offset = 0;
    for (int length : new FastCdc().chunkLengths(data)) {
      hashes.add(HexFormat.of().formatHex(ChunkCodec.sha256(data, offset, length)));
      offset += length;
    }
    return hashes;
  }
}
