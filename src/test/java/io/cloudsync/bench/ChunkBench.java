package io.cloudsync.bench;

import io.cloudsync.storage.ChunkCodec;
import io.cloudsync.storage.ChunkStore;
import io.cloudsync.storage.Content;
import io.cloudsync.storage.ContentWriter;
import io.cloudsync.storage.EncryptedChunkStore;
import io.cloudsync.storage.FastCdc;
import io.cloudsync.storage.LocalBlobStore;
import io.cloudsync.storage.MasterKeys;
import io.cloudsync.storage.PlainChunk;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Throughput of each stage of storing content, printed, never asserted: SHA-256, FastCDC, chunk
 * encoding (compression probe or compression, AES-GCM) and AES-GCM alone, the whole
 * {@link ContentWriter} into a {@link LocalBlobStore}, and the disk itself with fsync. Run from
 * the project directory:
 *
 * <pre>
 * mvn -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -Xmx3g -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.ChunkBench [MiB] [dir]
 * </pre>
 * MiB defaults to 512 (random, incompressible data); dir, where files are written, to the system
 * temp directory. Every figure is the best of three runs after a warm-up; on a machine shared
 * with other work they vary by a factor of two, so compare figures from one run.
 */
public final class ChunkBench {
  private static final int MIB = 1 << 20;

  private ChunkBench() {
  }

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 512;
    Path base = args.length > 1 ? Path.of(args[1]) : Path.of(System.getProperty("java.io.tmpdir"));
    byte[] data = new byte[mib * MIB];
    new SplittableRandom(1).nextBytes(data);
    byte[] text = text(Math.min(mib, 128) * MIB);
    MasterKeys keys = MasterKeys.of("bench", MasterKeys.generate(), Map.of());
    Vertx vertx = Vertx.vertx();
    ChunkCodec codec = new ChunkCodec(keys);
    List<Integer> chunks = new FastCdc().chunkLengths(data);
    System.out.printf("ChunkBench: %d MiB of random data (%d chunks, average %.2f MiB), %d CPUs, files in %s%n",
        mib, chunks.size(), mib / (double) chunks.size(), Runtime.getRuntime().availableProcessors(), base);

    warmUp(vertx, base, codec);
    // The whole writer takes the JIT a few hundred MiB more than the stages alone to settle.
    for (int run = 0; run < 2; run++) {
      contentWriter(vertx, base, data);
    }
    // First, while the disk has no writeback of earlier stages pending.
    double writer = best(data.length, () -> contentWriter(vertx, base, data));
    double sha = best(data.length, () -> sha256(data));
    double cdc = best(data.length, () -> new FastCdc().chunkLengths(data));
    List<PlainChunk> hashed = hashAll(data, chunks);
    double encode = best(data.length, () -> encodeAll(codec, hashed));
    double gcm = best(data.length, () -> gcmAll(data, chunks));
    List<PlainChunk> hashedText = hashAll(text, new FastCdc().chunkLengths(text));
    double encodeText = best(text.length, () -> encodeAll(codec, hashedText));
    double decode = decodeAll(codec, data, chunks);
    double diskOneFile = best(data.length, () -> writeOneFile(base, data));
    double diskPerChunk = best(data.length, () -> writePerChunk(base, data, chunks));
    double blobPuts = bestTimed(data.length, () -> blobPuts(vertx, base, codec, data, chunks));
    double writerDiscard = best(data.length, () -> contentWriterDiscarding(vertx, data));

    System.out.printf("%-58s %8s %8s%n", "stage", "MB/s", "x disk");
    row("SHA-256, one thread", sha, diskPerChunk);
    row("FastCDC boundaries, one thread", cdc, diskPerChunk);
    row("encode random chunks (deflate probe, AES-GCM)", encode, diskPerChunk);
    row("AES-256-GCM alone, JDK provider, 16 KiB updates", gcm, diskPerChunk);
    row("encode text chunks (deflate, AES-GCM)", encodeText, diskPerChunk);
    row("decode random chunks (AES-GCM, hash check)", decode, diskPerChunk);
    row("disk: one file, 1 MiB writes, one fsync", diskOneFile, diskPerChunk);
    row("disk: a file per chunk, buffered, fsync + rename", diskPerChunk, diskPerChunk);
    row("LocalBlobStore.put, encoded chunks, direct I/O, 6 at once", blobPuts, diskPerChunk);
    row("ContentWriter -> a store that discards (scan, hashes)", writerDiscard, diskPerChunk);
    row("ContentWriter -> EncryptedChunkStore -> LocalBlobStore", writer, diskPerChunk);
    vertx.close().await();
    System.out.printf("ContentWriter runs at %.0f%% of the per-chunk disk rate and %.0f%% of the SHA-256 rate%n",
        100 * writer / diskPerChunk, 100 * writer / sha);
  }

  private interface Task {
    void run() throws Exception;
  }

  private static void row(String name, double mbPerSecond, double disk) {
    System.out.printf("%-58s %8.0f %8.2f%n", name, mbPerSecond, mbPerSecond / disk);
  }

  /** A run that times only its own measured part and answers the nanoseconds it took. */
  private interface Timed {
    long run() throws Exception;
  }

  private static double bestTimed(long bytes, Timed task) throws Exception {
    long fastest = Long.MAX_VALUE;
    for (int run = 0; run < 3; run++) {
      fastest = Math.min(fastest, task.run());
    }
    return bytes / (fastest / 1e9) / 1e6;
  }

  /** MB/s (10^6 bytes per second) of the fastest of three runs. */
  private static double best(long bytes, Task task) throws Exception {
    long fastest = Long.MAX_VALUE;
    for (int run = 0; run < 3; run++) {
      long start = System.nanoTime();
      task.run();
      fastest = Math.min(fastest, System.nanoTime() - start);
    }
    return bytes / (fastest / 1e9) / 1e6;
  }

  private static void warmUp(Vertx vertx, Path base, ChunkCodec codec) throws Exception {
    byte[] small = new byte[64 * MIB];
    new SplittableRandom(2).nextBytes(small);
    List<Integer> lengths = new FastCdc().chunkLengths(small);
    for (int i = 0; i < 3; i++) {
      sha256(small);
      encodeAll(codec, hashAll(small, lengths));
      gcmAll(small, lengths);
      decodeAll(codec, small, lengths);
      contentWriter(vertx, base, small);
    }
  }

  private static byte[] sha256(byte[] data) {
    MessageDigest digest = ChunkCodec.newSha256();
    digest.update(data);
    return digest.digest();
  }

  /** The chunks as the writer hands them to the store: cut and hashed (not timed). */
  private static List<PlainChunk> hashAll(byte[] data, List<Integer> lengths) {
    List<PlainChunk> chunks = new ArrayList<>();
    int offset = 0;
    for (int length : lengths) {
      chunks.add(PlainChunk.of(Arrays.copyOfRange(data, offset, offset + length)));
      offset += length;
    }
    return chunks;
  }

  private static void encodeAll(ChunkCodec codec, List<PlainChunk> chunks) {
    for (PlainChunk chunk : chunks) {
      codec.encode(chunk);
    }
  }

  /** AES-256-GCM over each chunk as the codec runs it, without the rest of encoding. */
  private static void gcmAll(byte[] data, List<Integer> lengths) throws Exception {
    byte[] key = new byte[32];
    byte[] nonce = new byte[12];
    java.security.SecureRandom random = new java.security.SecureRandom();
    byte[] out = new byte[ChunkStore.MAX_CHUNK + 16];
    int offset = 0;
    for (int length : lengths) {
      random.nextBytes(key);
      random.nextBytes(nonce);
      javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "AES"),
          new javax.crypto.spec.GCMParameterSpec(128, nonce));
      int written = 0;
      int at = offset;
      int end = offset + length;
      while (end - at > 16 * 1024) {
        written += gcm.update(data, at, 16 * 1024, out, written);
        at += 16 * 1024;
      }
      gcm.doFinal(data, at, end - at, out, written);
      offset = end;
    }
  }

  private static double decodeAll(ChunkCodec codec, byte[] data, List<Integer> lengths) {
    int offset = 0;
    long elapsed = 0;
    for (int length : lengths) {
      byte[] chunk = Arrays.copyOfRange(data, offset, offset + length);
      String name = HexFormat.of().formatHex(ChunkCodec.sha256(chunk));
      byte[] encoded = codec.encode(name, chunk);
      long start = System.nanoTime();
      codec.decode(name, encoded);
      elapsed += System.nanoTime() - start;
      offset += length;
    }
    return data.length / (elapsed / 1e9) / 1e6;
  }

  private static void writeOneFile(Path base, byte[] data) throws IOException {
    Path file = Files.createTempFile(base, "chunkbench", ".bin");
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      for (int offset = 0; offset < data.length; offset += MIB) {
        ByteBuffer piece = ByteBuffer.wrap(data, offset, Math.min(MIB, data.length - offset));
        while (piece.hasRemaining()) {
          channel.write(piece);
        }
      }
      channel.force(true);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** What LocalBlobStore does for each chunk, without encoding: temp file, write, fsync, rename. */
  private static void writePerChunk(Path base, byte[] data, List<Integer> lengths) throws IOException {
    Path dir = Files.createTempDirectory(base, "chunkbench");
    try {
      int offset = 0;
      int index = 0;
      for (int length : lengths) {
        Path temp = dir.resolve("part-" + index);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          ByteBuffer piece = ByteBuffer.wrap(data, offset, length);
          while (piece.hasRemaining()) {
            channel.write(piece);
          }
          channel.force(true);
        }
        Files.move(temp, dir.resolve("chunk-" + index), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        offset += length;
        index++;
      }
    } finally {
      delete(dir);
    }
  }

  /** The blob store alone: chunks encoded beforehand (not timed), then put with the writer's window. */
  private static long blobPuts(Vertx vertx, Path base, ChunkCodec codec, byte[] data, List<Integer> lengths) throws IOException {
    Path dir = Files.createTempDirectory(base, "chunkbench");
    try {
      LocalBlobStore blobs = new LocalBlobStore(vertx, dir);
      List<String> names = new ArrayList<>();
      List<Buffer> encoded = new ArrayList<>();
      int offset = 0;
      for (int length : lengths) {
        byte[] chunk = Arrays.copyOfRange(data, offset, offset + length);
        names.add(HexFormat.of().formatHex(ChunkCodec.sha256(chunk)));
        encoded.add(Buffer.buffer(codec.encode(names.get(names.size() - 1), chunk)));
        offset += length;
      }
      long start = System.nanoTime();
      AtomicInteger next = new AtomicInteger();
      // As many at once as the writer's window of chunk puts.
      List<Future<Void>> puts = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        puts.add(putFrom(blobs, names, encoded, next));
      }
      Future.all(puts).await();
      return System.nanoTime() - start;
    } finally {
      delete(dir);
    }
  }

  private static Future<Void> putFrom(LocalBlobStore blobs, List<String> names, List<Buffer> encoded,
                                                   AtomicInteger next) {
    int index = next.getAndIncrement();
    if (index >= names.size()) {
      return Future.succeededFuture();
    }
    return blobs.put(names.get(index), encoded.get(index)).compose(v -> putFrom(blobs, names, encoded, next));
  }

  private static void contentWriterDiscarding(Vertx vertx, byte[] data) {
    ChunkStore discard = new ChunkStore() {
      @Override
      public Future<Boolean> put(String sha256, Buffer plain) {
        return Future.succeededFuture(true);
      }

      @Override
      public Future<Buffer> get(String sha256) {
        return Future.failedFuture("discarded");
      }

      @Override
      public Future<Boolean> exists(String sha256) {
        return Future.succeededFuture(false);
      }

      @Override
      public Future<Void> delete(String sha256) {
        return Future.succeededFuture();
      }
    };
    new ContentWriter(vertx, discard).write(Buffer.buffer(data), Long.MAX_VALUE).await();
  }

  private static void contentWriter(Vertx vertx, Path base, byte[] data) throws IOException {
    Path dir = Files.createTempDirectory(base, "chunkbench");
    try {
      EncryptedChunkStore store = new EncryptedChunkStore(vertx, new LocalBlobStore(vertx, dir),
          MasterKeys.of("bench", MasterKeys.generate(), Map.of()));
      Content content = new ContentWriter(vertx, store).write(Buffer.buffer(data), Long.MAX_VALUE).await();
      if (content.size() != data.length) {
        throw new IllegalStateException("wrote " + content.size() + " bytes of " + data.length);
      }
    } finally {
      delete(dir);
    }
  }

  private static byte[] text(int size) {
    StringBuilder text = new StringBuilder(size + 100);
    SplittableRandom random = new SplittableRandom(3);
    String[] words = {"sync", "chunk", "space", "file", "version", "change", "log", "cursor", "client", "server"};
    while (text.length() < size) {
      text.append(words[random.nextInt(words.length)]).append(random.nextInt(1000)).append(random.nextInt(8) == 0 ? '\n' : ' ');
    }
    return text.substring(0, size).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path path : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(path);
      }
    }
  }
}
