package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.storage.TestStreams.GeneratedReadStream;
import io.cloudsync.storage.TestStreams.WatchedChunkStore;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Writing content")
class ContentWriterTest {
  private static final int MIB = 1 << 20;
  private Vertx vertx;
  private Path blobRoot;
  private ChunkStore chunks;

  @BeforeEach
  void open() {
    vertx = Vertx.vertx();
    blobRoot = TestCloudSync.tempDir();
    chunks = new EncryptedChunkStore(vertx, new LocalBlobStore(vertx, blobRoot), MasterKeys.of("k1", MasterKeys.generate(), Map.of()));
  }

  @AfterEach
  void close() {
    vertx.close().await();
  }

  private long storedBlobs() throws Exception {
    try (Stream<Path> files = Files.walk(blobRoot)) {
      return files.filter(Files::isRegularFile).filter(p -> !p.getParent().getFileName().toString().equals("tmp")).count();
    }
  }

  @Test
  @DisplayName("streams a 64 MiB file into chunks cut as FastCDC cuts it, with the right hashes and sizes, and reads it back")
  void bigFile() throws Exception {
    byte[] data = FastCdcTest.random(21, 64 * MIB);
    Path source = blobRoot.resolveSibling(blobRoot.getFileName() + "-source.bin");
    Files.write(source, data);
    AsyncFile file = vertx.fileSystem().open(source.toString(), new OpenOptions().setRead(true)).await();
    file.setReadBufferSize(64 * 1024);

    Content content = new ContentWriter(vertx, chunks).write(file, 100L * MIB).await();

    assertThat(content.size()).isEqualTo(data.length);
    assertThat(content.sha256()).isEqualTo(HexFormat.of().formatHex(ChunkCodec.sha256(data)));
    List<Integer> expectedSizes = new FastCdc().chunkLengths(data);
    assertThat(content.chunkSizes()).isEqualTo(expectedSizes);
    List<String> expectedHashes = new ArrayList<>();
    int offset = 0;
    for (int size : expectedSizes) {
      expectedHashes.add(HexFormat.of().formatHex(ChunkCodec.sha256(data, offset, size)));
      offset += size;
    }
    assertThat(content.chunks()).isEqualTo(expectedHashes);
    assertThat(storedBlobs()).isEqualTo(expectedHashes.size());

    Path copy = blobRoot.resolveSibling(blobRoot.getFileName() + "-copy.bin");
    AsyncFile out = vertx.fileSystem().open(copy.toString(), new OpenOptions().setWrite(true).setCreate(true)).await();
    new ContentReader(chunks).stream(content, out).await();
    out.close().await();
    assertThat(Files.readAllBytes(copy)).isEqualTo(data);
  }

  @Test
  @DisplayName("keeps few bytes between reading and storing: pauses the body while its window of chunk puts is full")
  void backPressure() {
    Context context = vertx.getOrCreateContext();
    WatchedChunkStore slow = new WatchedChunkStore(vertx, chunks, 20);
    AtomicLong mostAhead = new AtomicLong();
    GeneratedReadStream body = new GeneratedReadStream(context, 22, 96L * MIB);
    body.afterEach(emitted -> mostAhead.accumulateAndGet(emitted - slow.bytesStored.get(), Math::max));

    Content content = TestStreams.on(context, () -> new ContentWriter(vertx, slow).write(body, Long.MAX_VALUE));

    assertThat(content.size()).isEqualTo(96L * MIB);
    assertThat(content.sha256()).isEqualTo(body.sha256());
    System.out.printf("Writer back-pressure: at most %.1f MiB read but not yet stored, %d pauses, %d puts at once%n",
        mostAhead.get() / (double) MIB, body.pauses(), slow.maxPutsRunning.get());
    assertThat(slow.maxPutsRunning.get()).isLessThanOrEqualTo(ContentWriter.PUT_WINDOW);
    assertThat(body.pauses()).isPositive();
    // Queued input, the chunk being assembled, chunks waiting and chunks being put: a fixed bound, not the body size.
    assertThat(mostAhead.get()).isLessThan(24L * MIB);
  }

  @Test
  @DisplayName("streams a 1 GiB body holding only a bounded amount of it at any time")
  void gibibyte() {
    Context context = vertx.getOrCreateContext();
    ChunkStore discarding = new ChunkStore() {
      @Override
      public io.vertx.core.Future<Boolean> put(String sha256, Buffer plain) {
        return vertx.executeBlocking(() -> plain.length() > 0, false);
      }

      @Override
      public io.vertx.core.Future<Buffer> get(String sha256) {
        return io.vertx.core.Future.failedFuture(new BlobNotFoundException(sha256));
      }

      @Override
      public io.vertx.core.Future<Boolean> exists(String sha256) {
        return io.vertx.core.Future.succeededFuture(false);
      }

      @Override
      public io.vertx.core.Future<Void> delete(String sha256) {
        return io.vertx.core.Future.succeededFuture();
      }
    };
    WatchedChunkStore watched = new WatchedChunkStore(vertx, discarding, 0);
    AtomicLong mostAhead = new AtomicLong();
    AtomicLong mostHeap = new AtomicLong();
    Runtime runtime = Runtime.getRuntime();
    GeneratedReadStream body = new GeneratedReadStream(context, 28, 1L << 30);
    body.afterEach(emitted -> {
      mostAhead.accumulateAndGet(emitted - watched.bytesStored.get(), Math::max);
      if (emitted % (128 * MIB) == 0) {
        // Collect first, so the figure is what the upload keeps alive rather than garbage not yet collected.
        System.gc();
        mostHeap.accumulateAndGet(runtime.totalMemory() - runtime.freeMemory(), Math::max);
      }
    });
    long start = System.nanoTime();
    Content content = TestStreams.on(context, () -> new ContentWriter(vertx, watched).write(body, Long.MAX_VALUE));
    assertThat(content.size()).isEqualTo(1L << 30);
    assertThat(content.sha256()).isEqualTo(body.sha256());
    // Printed, not asserted: heap figures depend on the collector and on what else runs.
    System.out.printf("1 GiB upload: %d chunks in %.1f s, at most %.1f MiB read but not stored, live heap after a collection at most %d MiB%n",
        content.chunks().size(), (System.nanoTime() - start) / 1e9, mostAhead.get() / (double) MIB, mostHeap.get() / MIB);
    assertThat(mostAhead.get()).isLessThan(24L * MIB);
  }

  @Test
  @DisplayName("fails with 413 payload_too_large as soon as the body passes the limit, without reading the rest")
  void tooLarge() {
    Context context = vertx.getOrCreateContext();
    GeneratedReadStream body = new GeneratedReadStream(context, 23, 1L << 30);
    assertThatThrownBy(() -> TestStreams.on(context, () -> new ContentWriter(vertx, chunks).write(body, 8L * MIB)))
        .isInstanceOfSatisfying(ApiException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
          assertThat(e.code().httpStatus()).isEqualTo(413);
        });
    vertx.timer(50).await();
    assertThat(body.emitted()).isBetween(8L * MIB + 1, 8L * MIB + 64 * 1024);
  }

  @Test
  @DisplayName("accepts a body of exactly the limit")
  void exactlyTheLimit() {
    byte[] data = FastCdcTest.random(24, 3 * MIB + 17);
    Content content = new ContentWriter(vertx, chunks).write(Buffer.buffer(data), data.length).await();
    assertThat(content.size()).isEqualTo(data.length);
    assertThatThrownBy(() -> new ContentWriter(vertx, chunks).write(Buffer.buffer(data), data.length - 1).await())
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE));
  }

  @Test
  @DisplayName("stores an empty body as an empty file: no chunks, the SHA-256 of nothing")
  void empty() throws Exception {
    Context context = vertx.getOrCreateContext();
    Content content = TestStreams.on(context,
        () -> new ContentWriter(vertx, chunks).write(new GeneratedReadStream(context, 25, 0), 10));
    assertThat(content).isEqualTo(new Content(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        List.of(), List.of()));
    assertThat(new ContentWriter(vertx, chunks).write(Buffer.buffer(), 10).await()).isEqualTo(content);
    assertThat(storedBlobs()).isZero();
  }

  @Test
  @DisplayName("stores nothing new for content already stored, and only the changed chunks of an edited file")
  void deduplication() throws Exception {
    byte[] data = FastCdcTest.random(26, 24 * MIB);
    WatchedChunkStore watched = new WatchedChunkStore(vertx, chunks, 0);
    ContentWriter writer = new ContentWriter(vertx, watched);
    Content first = writer.write(Buffer.buffer(data), Long.MAX_VALUE).await();
    long blobs = storedBlobs();
    assertThat(blobs).isEqualTo(first.chunks().size());

    Content again = writer.write(Buffer.buffer(data), Long.MAX_VALUE).await();
    assertThat(new Content(again.size(), again.sha256(), again.chunks(), again.chunkSizes())).isEqualTo(first);
    assertThat(again.reused()).as("every chunk was found stored, none written").containsExactlyInAnyOrderElementsOf(
        new java.util.LinkedHashSet<>(first.chunks()));
    assertThat(storedBlobs()).isEqualTo(blobs);

    byte[] edited = data.clone();
    edited[12 * MIB] ^= 1;
    int newBefore = watched.newChunks.get();
    Content changed = writer.write(Buffer.buffer(edited), Long.MAX_VALUE).await();
    assertThat(changed.sha256()).isNotEqualTo(first.sha256());
    assertThat(watched.newChunks.get() - newBefore).isBetween(1, 2);
    assertThat(storedBlobs() - blobs).isBetween(1L, 2L);
  }

  @Test
  @DisplayName("stores a chunk repeated inside one file once, and the manifest still lists every occurrence")
  void repeatedChunks() throws Exception {
    WatchedChunkStore watched = new WatchedChunkStore(vertx, chunks, 0);
    Content content = new ContentWriter(vertx, watched).write(Buffer.buffer(new byte[10 * MIB]), Long.MAX_VALUE).await();
    assertThat(content.chunkSizes()).containsExactly(4 * MIB, 4 * MIB, 2 * MIB);
    assertThat(content.chunks().get(0)).isEqualTo(content.chunks().get(1));
    assertThat(watched.puts.get()).isEqualTo(2);
    assertThat(storedBlobs()).isEqualTo(2);
  }

  @Test
  @DisplayName("fails the upload when the store fails, and stops reading")
  void storeFailure() {
    Context context = vertx.getOrCreateContext();
    ChunkStore broken = new WatchedChunkStore(vertx, chunks, 0) {
      @Override
      public io.vertx.core.Future<Boolean> put(String sha256, Buffer plain) {
        return io.vertx.core.Future.failedFuture(new IllegalStateException("disk full"));
      }
    };
    GeneratedReadStream body = new GeneratedReadStream(context, 27, 1L << 30);
    assertThatThrownBy(() -> TestStreams.on(context, () -> new ContentWriter(vertx, broken).write(body, Long.MAX_VALUE)))
        .hasMessageContaining("disk full");
    vertx.timer(50).await();
    assertThat(body.emitted()).isLessThan(32L * MIB);
  }
}
