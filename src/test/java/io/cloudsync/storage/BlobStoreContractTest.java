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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One contract, both backends: the local directory and S3 (s3proxy). */
@DisplayName("Every blob store")
@ExtendWith(RealServers.class)
class BlobStoreContractTest {
  private static Vertx vertx;
  private static Path localRoot;
  private static BlobStore local;
  private static BlobStore localBuffered;
  private static BlobStore s3;

  @BeforeAll
  static void open(Servers servers) {
    vertx = Vertx.vertx();
    localRoot = TestCloudSync.tempDir();
    local = BlobStore.create(vertx, CloudSyncConfig.from(new JsonObject().put("blob.local.dir", localRoot.toString())).blob());
    localBuffered = new LocalBlobStore(vertx, TestCloudSync.tempDir(), null);
    s3 = BlobStore.create(vertx, CloudSyncConfig.from(TestCloudSync.s3Config(servers)).blob());
  }

  @AfterAll
  static void close() {
    s3.close().await();
    localBuffered.close().await();
    local.close().await();
    vertx.close().await();
  }

  static Stream<Arguments> stores() {
    return Stream.of(Arguments.of("local", local), Arguments.of("local, buffered writes", localBuffered),
        Arguments.of("s3", s3));
  }

  private static String randomKey() {
    byte[] bytes = new byte[32];
    ThreadLocalRandom.current().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  @DisplayName("stores, reads back, tells existence of and deletes an object")
  void roundTrip(String name, BlobStore store) {
    String key = randomKey();
    byte[] content = new byte[300_000];
    ThreadLocalRandom.current().nextBytes(content);

    assertThat(store.exists(key).await()).isFalse();
    store.put(key, Buffer.buffer(content)).await();
    assertThat(store.exists(key).await()).isTrue();
    assertThat(store.get(key).await().getBytes()).isEqualTo(content);

    store.put(key, Buffer.buffer(content)).await();
    assertThat(store.get(key).await().length()).isEqualTo(content.length);

    store.delete(key).await();
    assertThat(store.exists(key).await()).isFalse();
    store.delete(key).await();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  @DisplayName("fails a read of a missing object with BlobNotFoundException")
  void missing(String name, BlobStore store) {
    assertThatThrownBy(() -> store.get(randomKey()).await()).isInstanceOf(BlobNotFoundException.class);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  @DisplayName("refuses keys that are not plain lower-case hex, so no key can reach outside the store")
  void hostileKeys(String name, BlobStore store) {
    for (String key : new String[] {"../../etc/passwd", "ABCDEF0123456789", "0123456789abcdef/..", "", "0123"}) {
      assertThatThrownBy(() -> store.put(key, Buffer.buffer("x")).await()).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  @DisplayName("passes its readiness probe")
  void probe(String name, BlobStore store) {
    store.probe().await();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stores")
  @DisplayName("keeps the exact length of objects of any size, from none to over the largest chunk")
  void lengths(String name, BlobStore store) {
    for (int length : new int[] {0, 1, 4095, 4096, 4097, 1_234_567, ChunkStore.MAX_CHUNK + 200, ChunkStore.MAX_CHUNK + 200_000}) {
      String key = randomKey();
      byte[] content = new byte[length];
      ThreadLocalRandom.current().nextBytes(content);
      store.put(key, Buffer.buffer(content)).await();
      assertThat(store.get(key).await().getBytes()).as("%d bytes", length).isEqualTo(content);
      store.delete(key).await();
    }
  }

  @org.junit.jupiter.api.Test
  @DisplayName("local: where the file system refuses direct I/O, writes through the page cache instead, from then on")
  void localWithoutDirectIo() throws Exception {
    // What tmpfs on older kernels, or a network file system, answers to O_DIRECT.
    java.nio.file.OpenOption refused = new java.nio.file.OpenOption() {
      @Override
      public String toString() {
        return "an option this file system refuses";
      }
    };
    Path root = TestCloudSync.tempDir();
    LocalBlobStore refusing = new LocalBlobStore(vertx, root, refused);
    assertThat(refusing.writesDirectly()).isTrue();
    for (int i = 0; i < 3; i++) {
      String key = randomKey();
      byte[] content = new byte[100_000 + i];
      ThreadLocalRandom.current().nextBytes(content);
      refusing.put(key, Buffer.buffer(content)).await();
      assertThat(refusing.get(key).await().getBytes()).isEqualTo(content);
    }
    assertThat(refusing.writesDirectly()).isFalse();
    try (Stream<Path> temps = Files.list(root.resolve("tmp"))) {
      assertThat(temps).isEmpty();
    }
  }

  @org.junit.jupiter.api.Test
  @DisplayName("local: writes objects under fanned-out directories inside its root and leaves no temp files")
  void localLayout() throws Exception {
    String key = randomKey();
    local.put(key, Buffer.buffer("hello")).await();
    Path expected = localRoot.resolve(key.substring(0, 2)).resolve(key.substring(2, 4)).resolve(key);
    assertThat(Files.readString(expected)).isEqualTo("hello");
    try (Stream<Path> temps = Files.list(localRoot.resolve("tmp"))) {
      assertThat(temps).isEmpty();
    }
  }
}
