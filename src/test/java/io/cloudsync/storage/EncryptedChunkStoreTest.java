package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The encrypted chunk store over both blob backends: a local directory and S3 (s3proxy). */
@DisplayName("The encrypted chunk store")
@ExtendWith(RealServers.class)
class EncryptedChunkStoreTest {
  private static final AtomicLong SEEDS = new AtomicLong(1000);
  private static Vertx vertx;
  private static Path localRoot;
  private static BlobStore local;
  private static BlobStore s3;
  private static MasterKeys keys;

  @BeforeAll
  static void open(Servers servers) {
    vertx = Vertx.vertx();
    localRoot = TestCloudSync.tempDir();
    local = BlobStore.create(vertx, CloudSyncConfig.from(new JsonObject().put("blob.local.dir", localRoot.toString())).blob());
    s3 = BlobStore.create(vertx, CloudSyncConfig.from(TestCloudSync.s3Config(servers)).blob());
    keys = MasterKeys.of("k1", MasterKeys.generate(), Map.of());
  }

  @AfterAll
  static void close() {
    s3.close().await();
    local.close().await();
    vertx.close().await();
  }

  static Stream<Arguments> backends() {
    return Stream.of(Arguments.of("local", local), Arguments.of("s3", s3));
  }

  private static byte[] uniqueRandom(int size) {
    return FastCdcTest.random(SEEDS.incrementAndGet() * 7919 + System.nanoTime(), size);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  @DisplayName("stores a chunk once and gives back its plain bytes, also one hashed beforehand")
  void roundTrip(String name, BlobStore blobs) {
    ChunkStore chunks = new EncryptedChunkStore(vertx, blobs, keys);
    byte[] plain = uniqueRandom(1_500_000);
    String hash = ChunkCodecTest.nameOf(plain);
    assertThat(chunks.exists(hash).await()).isFalse();
    assertThat(chunks.put(hash, Buffer.buffer(plain)).await()).isTrue();
    assertThat(chunks.exists(hash).await()).isTrue();
    assertThat(chunks.get(hash).await().getBytes()).isEqualTo(plain);
    chunks.delete(hash).await();
    assertThat(chunks.exists(hash).await()).isFalse();

    // A chunk hashed when it was cut goes in under that hash without being hashed again.
    PlainChunk chunk = PlainChunk.of(plain.clone());
    assertThat(chunk.sha256()).isEqualTo(hash);
    assertThat(chunks.put(chunk).await()).isTrue();
    assertThat(chunks.get(hash).await().getBytes()).isEqualTo(plain);
    assertThat(chunks.put(PlainChunk.of(plain.clone())).await()).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  @DisplayName("deduplicates: a second put of a stored chunk answers false and writes nothing")
  void dedupe(String name, BlobStore blobs) {
    ChunkStore chunks = new EncryptedChunkStore(vertx, blobs, keys);
    byte[] plain = uniqueRandom(400_000);
    String hash = ChunkCodecTest.nameOf(plain);
    assertThat(chunks.put(hash, Buffer.buffer(plain)).await()).isTrue();
    byte[] stored = blobs.get(hash).await().getBytes();
    // Another user's upload of the same bytes, through another store instance.
    assertThat(new EncryptedChunkStore(vertx, blobs, keys).put(hash, Buffer.buffer(plain.clone())).await()).isFalse();
    // Every encoding has a fresh nonce and data key, so a rewrite would show as different bytes.
    assertThat(blobs.get(hash).await().getBytes()).isEqualTo(stored);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  @DisplayName("keeps neither plain bytes nor plain text in the backend, and compressible chunks take less room")
  void storedEncrypted(String name, BlobStore blobs) {
    ChunkStore chunks = new EncryptedChunkStore(vertx, blobs, keys);
    byte[] plain = ("confidential ledger line " + System.nanoTime() + "\n").repeat(20_000).getBytes(StandardCharsets.US_ASCII);
    String hash = ChunkCodecTest.nameOf(plain);
    chunks.put(hash, Buffer.buffer(plain)).await();
    byte[] stored = blobs.get(hash).await().getBytes();
    assertThat(stored).isNotEqualTo(plain);
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain("confidential");
    assertThat(stored.length).isLessThan(plain.length / 10);
    assertThat(chunks.get(hash).await().getBytes()).isEqualTo(plain);

    byte[] random = uniqueRandom(300_000);
    String randomHash = ChunkCodecTest.nameOf(random);
    chunks.put(randomHash, Buffer.buffer(random)).await();
    byte[] storedRandom = blobs.get(randomHash).await().getBytes();
    assertThat(storedRandom).hasSizeGreaterThan(random.length);
    assertThat(java.util.Arrays.copyOfRange(storedRandom, storedRandom.length - random.length, storedRandom.length))
        .isNotEqualTo(random);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  @DisplayName("refuses bytes that do not hash to the name they are offered under, storing nothing")
  void poisoning(String name, BlobStore blobs) {
    ChunkStore chunks = new EncryptedChunkStore(vertx, blobs, keys);
    byte[] honest = uniqueRandom(1000);
    String hash = ChunkCodecTest.nameOf(honest);
    assertThatThrownBy(() -> chunks.put(hash, Buffer.buffer(uniqueRandom(1000))).await())
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(blobs.exists(hash).await()).isFalse();
    assertThatThrownBy(() -> chunks.put("../../etc/passwd", Buffer.buffer(honest)).await())
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  @DisplayName("fails a read of a missing chunk with BlobNotFoundException, and of an altered blob with a decode error")
  void failures(String name, BlobStore blobs) {
    ChunkStore chunks = new EncryptedChunkStore(vertx, blobs, keys);
    assertThatThrownBy(() -> chunks.get(ChunkCodecTest.nameOf(uniqueRandom(10))).await())
        .isInstanceOf(BlobNotFoundException.class);
    byte[] plain = uniqueRandom(5000);
    String hash = ChunkCodecTest.nameOf(plain);
    chunks.put(hash, Buffer.buffer(plain)).await();
    byte[] stored = blobs.get(hash).await().getBytes();
    stored[stored.length - 100] ^= 1;
    blobs.put(hash, Buffer.buffer(stored)).await();
    assertThatThrownBy(() -> chunks.get(hash).await()).isInstanceOf(ChunkCodec.ChunkDecodeException.class);
  }

  @Test
  @DisplayName("local: a stored chunk's file on disk holds no run of its plain bytes")
  void onDisk() throws Exception {
    ChunkStore chunks = new EncryptedChunkStore(vertx, local, keys);
    byte[] plain = uniqueRandom(200_000);
    String hash = ChunkCodecTest.nameOf(plain);
    chunks.put(hash, Buffer.buffer(plain)).await();
    byte[] file = Files.readAllBytes(localRoot.resolve(hash.substring(0, 2)).resolve(hash.substring(2, 4)).resolve(hash));
    String haystack = new String(file, StandardCharsets.ISO_8859_1);
    for (int offset : new int[] {0, 1000, 100_000, 199_000}) {
      assertThat(haystack).doesNotContain(new String(plain, offset, 32, StandardCharsets.ISO_8859_1));
    }
  }
}
