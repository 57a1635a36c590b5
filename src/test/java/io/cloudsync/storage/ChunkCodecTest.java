package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.storage.ChunkCodec.ChunkDecodeException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The chunk codec")
class ChunkCodecTest {
  private static final byte[] K1 = MasterKeys.generate();
  private static final byte[] K2 = MasterKeys.generate();
  private final ChunkCodec codec = new ChunkCodec(MasterKeys.of("k1", K1, Map.of()));

  static String nameOf(byte[] plain) {
    return HexFormat.of().formatHex(ChunkCodec.sha256(plain));
  }

  static byte[] text(int size) {
    StringBuilder text = new StringBuilder();
    for (int line = 0; text.length() < size; line++) {
      text.append("line ").append(line).append(": the quick brown fox jumps over the lazy dog\n");
    }
    return text.substring(0, size).getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  @DisplayName("gives back the exact bytes for random, compressible, empty and maximum-size chunks")
  void roundTrip() {
    for (byte[] plain : new byte[][] {FastCdcTest.random(1, 1 << 20), text(700_000), new byte[0], new byte[] {42},
        FastCdcTest.random(2, ChunkStore.MAX_CHUNK), new byte[ChunkStore.MAX_CHUNK]}) {
      String name = nameOf(plain);
      assertThat(codec.decode(name, codec.encode(name, plain))).isEqualTo(plain);
    }
  }

  @Test
  @DisplayName("stores compressible chunks compressed and smaller, and random chunks uncompressed with only a small header")
  void compression() {
    byte[] text = text(1 << 20);
    byte[] encodedText = codec.encode(nameOf(text), text);
    assertThat(ChunkCodec.flags(encodedText) & ChunkCodec.FLAG_DEFLATED).isEqualTo(ChunkCodec.FLAG_DEFLATED);
    assertThat(encodedText.length).isLessThan(text.length / 5);

    byte[] random = FastCdcTest.random(3, 1 << 20);
    byte[] encodedRandom = codec.encode(nameOf(random), random);
    assertThat(ChunkCodec.flags(encodedRandom) & ChunkCodec.FLAG_DEFLATED).isZero();
    // magic 4 + version 1 + flags 1 + id length 1 + "k1" 2 + wrapped length 1 + wrapped key 40 + nonce 12 + tag 16
    assertThat(encodedRandom.length).isEqualTo(random.length + 78);
  }

  @Test
  @DisplayName("keeps compression only when it saves at least 10%")
  void tenPercentRule() {
    // Half text, half random: deflate saves well under 10% of the random half, about 45% overall.
    byte[] mixed = new byte[600_000];
    System.arraycopy(text(300_000), 0, mixed, 0, 300_000);
    System.arraycopy(FastCdcTest.random(4, 300_000), 0, mixed, 300_000, 300_000);
    assertThat(ChunkCodec.flags(codec.encode(nameOf(mixed), mixed)) & ChunkCodec.FLAG_DEFLATED).isEqualTo(1);
    // Random with a little text: deflate saves about 5%, which is not worth keeping.
    byte[] mostlyRandom = FastCdcTest.random(5, 100_000);
    System.arraycopy(text(5_000), 0, mostlyRandom, 0, 5_000);
    assertThat(ChunkCodec.flags(codec.encode(nameOf(mostlyRandom), mostlyRandom)) & ChunkCodec.FLAG_DEFLATED).isZero();
  }

  @Test
  @DisplayName("finds compressible content anywhere in a chunk, not only at its start")
  void compressibleTail() {
    // Random for three quarters, then text: deflate saves about a fifth, which is worth keeping.
    byte[] chunk = FastCdcTest.random(6, 1 << 20);
    System.arraycopy(text(1 << 18), 0, chunk, 3 << 18, 1 << 18);
    byte[] encoded = codec.encode(nameOf(chunk), chunk);
    assertThat(ChunkCodec.flags(encoded) & ChunkCodec.FLAG_DEFLATED).isEqualTo(ChunkCodec.FLAG_DEFLATED);
    assertThat(encoded.length).isLessThan((int) (chunk.length * 0.9));
    assertThat(codec.decode(nameOf(chunk), encoded)).isEqualTo(chunk);
  }

  @Test
  @DisplayName("encrypts: the same chunk encodes differently each time and no plain text shows")
  void encrypts() {
    byte[] plain = "top secret plan, top secret plan, top secret plan".repeat(1000).getBytes(StandardCharsets.UTF_8);
    String name = nameOf(plain);
    byte[] first = codec.encode(name, plain);
    byte[] second = codec.encode(name, plain);
    assertThat(first).isNotEqualTo(second);
    assertThat(new String(first, StandardCharsets.ISO_8859_1)).doesNotContain("secret");
  }

  @Test
  @DisplayName("refuses a blob with any byte altered, in the header or the ciphertext")
  void tampering() {
    byte[] plain = FastCdcTest.random(6, 300_000);
    String name = nameOf(plain);
    byte[] encoded = codec.encode(name, plain);
    for (int position : new int[] {5, 20, 60, encoded.length / 2, encoded.length - 1}) {
      byte[] altered = encoded.clone();
      altered[position] ^= 1;
      assertThatThrownBy(() -> codec.decode(name, altered)).isInstanceOf(ChunkDecodeException.class);
    }
    assertThatThrownBy(() -> codec.decode(name, java.util.Arrays.copyOf(encoded, 40)))
        .isInstanceOf(ChunkDecodeException.class).hasMessageContaining("truncated");
  }

  @Test
  @DisplayName("refuses a valid blob presented under another chunk's name")
  void wrongName() {
    byte[] plain = FastCdcTest.random(7, 1000);
    byte[] encoded = codec.encode(nameOf(plain), plain);
    String other = nameOf(new byte[] {1});
    assertThatThrownBy(() -> codec.decode(other, encoded))
        .isInstanceOf(ChunkDecodeException.class).hasMessageContaining("failed authentication");
  }

  @Test
  @DisplayName("refuses to encode bytes under a name that is not their hash, or more than the maximum chunk")
  void refusesWrongInput() {
    byte[] plain = FastCdcTest.random(8, 1000);
    assertThatThrownBy(() -> codec.encode(nameOf(new byte[] {2}), plain)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.encode(nameOf(plain).toUpperCase(), plain)).isInstanceOf(IllegalArgumentException.class);
    byte[] tooBig = new byte[ChunkStore.MAX_CHUNK + 1];
    assertThatThrownBy(() -> codec.encode(nameOf(tooBig), tooBig)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("names a missing master key id clearly, and refuses another key under a known id")
  void unknownKey() {
    byte[] plain = FastCdcTest.random(9, 1000);
    String name = nameOf(plain);
    byte[] encoded = codec.encode(name, plain);
    assertThat(ChunkCodec.keyId(encoded)).isEqualTo("k1");
    ChunkCodec other = new ChunkCodec(MasterKeys.of("k2", K2, Map.of()));
    assertThatThrownBy(() -> other.decode(name, encoded))
        .isInstanceOf(ChunkDecodeException.class).hasMessageContaining("master key 'k1'").hasMessageContaining("not configured");
    ChunkCodec impostor = new ChunkCodec(MasterKeys.of("k1", K2, Map.of()));
    assertThatThrownBy(() -> impostor.decode(name, encoded))
        .isInstanceOf(ChunkDecodeException.class).hasMessageContaining("does not unwrap");
  }

  @Test
  @DisplayName("reads chunks written under an earlier master key after a rotation, and writes new ones under the new key")
  void rotation() {
    byte[] plain = text(200_000);
    String name = nameOf(plain);
    byte[] underK1 = codec.encode(name, plain);
    ChunkCodec rotated = new ChunkCodec(MasterKeys.of("k2", K2, Map.of("k1", K1)));
    assertThat(rotated.decode(name, underK1)).isEqualTo(plain);
    byte[] underK2 = rotated.encode(name, plain);
    assertThat(ChunkCodec.keyId(underK2)).isEqualTo("k2");
    assertThat(rotated.decode(name, underK2)).isEqualTo(plain);
  }

  @Test
  @DisplayName("refuses a chunk that inflates beyond the maximum chunk size (a decompression bomb)")
  void bomb() {
    MasterKeys keys = MasterKeys.of("k1", K1, Map.of());
    byte[] zeros = new byte[1 << 20];
    String name = nameOf(zeros);
    byte[] encoded = new ChunkCodec(keys, 1 << 20).encode(name, zeros);
    assertThat(encoded.length).isLessThan(10_000);
    assertThatThrownBy(() -> new ChunkCodec(keys, 64 * 1024).decode(name, encoded))
        .isInstanceOf(ChunkDecodeException.class).hasMessageContaining("inflates beyond");
  }
}
