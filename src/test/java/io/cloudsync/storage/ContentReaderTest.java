package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.storage.TestStreams.CollectingWriteStream;
import io.cloudsync.storage.TestStreams.WatchedChunkStore;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Reading content")
class ContentReaderTest {
  private static Vertx vertx;
  private static ChunkStore chunks;
  private static byte[] data;
  private static Content content;

  @BeforeAll
  static void store() {
    vertx = Vertx.vertx();
    chunks = new EncryptedChunkStore(vertx, new LocalBlobStore(vertx, TestCloudSync.tempDir()),
        MasterKeys.of("k1", MasterKeys.generate(), Map.of()));
    data = FastCdcTest.random(31, 1 << 20);
    // Small chunks, so that a megabyte has hundreds of boundaries to cross.
    content = new ContentWriter(vertx, chunks, 1024, 4096, 16384).write(Buffer.buffer(data), Long.MAX_VALUE).await();
  }

  @AfterAll
  static void close() {
    vertx.close().await();
  }

  private static byte[] read(long start, long endInclusive) {
    CollectingWriteStream out = new CollectingWriteStream(vertx, 0);
    new ContentReader(chunks).stream(content, start, endInclusive, out).await();
    return out.bytes();
  }

  private static byte[] source(long start, long endInclusive) {
    return Arrays.copyOfRange(data, (int) start, (int) endInclusive + 1);
  }

  @Test
  @DisplayName("gives the first byte, the last byte and the whole content exactly")
  void edges() {
    assertThat(content.chunks()).hasSizeGreaterThan(100);
    assertThat(read(0, 0)).isEqualTo(source(0, 0));
    assertThat(read(data.length - 1, data.length - 1)).isEqualTo(source(data.length - 1, data.length - 1));
    assertThat(read(0, data.length - 1)).isEqualTo(data);
  }

  @Test
  @DisplayName("gives ranges that end on, start on, cross and stay inside chunk boundaries exactly")
  void boundaries() {
    List<Integer> sizes = content.chunkSizes();
    long boundary = sizes.get(0);
    long second = boundary + sizes.get(1);
    long[][] ranges = {
        {boundary - 1, boundary},           // the last byte of chunk 0 and the first of chunk 1
        {0, boundary - 1},                  // exactly chunk 0
        {boundary, second - 1},             // exactly chunk 1
        {boundary + 5, boundary + 10},      // inside chunk 1
        {boundary - 100, second + 100},     // across two boundaries
        {1234, data.length - 4321},         // across hundreds of chunks, starting and ending mid-chunk
        {second, data.length - 1},          // from a boundary to the end
    };
    for (long[] range : ranges) {
      assertThat(read(range[0], range[1])).as("bytes %d-%d", range[0], range[1]).isEqualTo(source(range[0], range[1]));
    }
  }

  @Test
  @DisplayName("fetches at most two chunks ahead of a slow writer and touches only the chunks of the range")
  void boundedFetching() {
    WatchedChunkStore watched = new WatchedChunkStore(vertx, chunks, 0);
    AtomicInteger mostAhead = new AtomicInteger();
    CollectingWriteStream slow = new CollectingWriteStream(vertx, 3) {
      @Override
      public io.vertx.core.Future<Void> write(Buffer chunk) {
        io.vertx.core.Future<Void> written = super.write(chunk);
        mostAhead.accumulateAndGet(watched.getsStarted.get() - writes(), Math::max);
        return written;
      }
    };
    int from = content.chunkSizes().get(0) + content.chunkSizes().get(1) + 10;
    new ContentReader(watched).stream(content, from, 200_000, slow).await();
    assertThat(slow.bytes()).isEqualTo(source(from, 200_000));
    assertThat(mostAhead.get()).isLessThanOrEqualTo(ContentReader.AHEAD);
    assertThat(watched.getsStarted.get()).isEqualTo(slow.writes());
  }

  @Test
  @DisplayName("refuses a range outside the content, and writes nothing for an empty file")
  void badRanges() {
    CollectingWriteStream out = new CollectingWriteStream(vertx, 0);
    ContentReader reader = new ContentReader(chunks);
    assertThatThrownBy(() -> reader.stream(content, -1, 10, out).await()).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> reader.stream(content, 0, data.length, out).await()).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> reader.stream(content, 10, 9, out).await()).isInstanceOf(IllegalArgumentException.class);
    reader.stream(new Content(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", List.of(), List.of()), out)
        .await();
    assertThat(out.writes()).isZero();
  }

  @Test
  @DisplayName("fails when a chunk of the manifest is missing from the store")
  void missingChunk() {
    Content broken = new Content(content.size(), content.sha256(),
        replaceThird(content.chunks(), ChunkCodecTest.nameOf(new byte[] {9, 9, 9})), content.chunkSizes());
    CollectingWriteStream out = new CollectingWriteStream(vertx, 0);
    assertThatThrownBy(() -> new ContentReader(chunks).stream(broken, 0, data.length - 1, out).await())
        .isInstanceOf(BlobNotFoundException.class);
  }

  private static List<String> replaceThird(List<String> hashes, String replacement) {
    String[] copy = hashes.toArray(new String[0]);
    copy[2] = replacement;
    return List.of(copy);
  }
}
