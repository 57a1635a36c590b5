package io.cloudsync.bench;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.storage.FastCdc;
import io.cloudsync.test.Api;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.WriteStream;
import io.vertx.ext.web.client.HttpResponse;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * End-to-end file throughput over HTTP against an in-process CloudSync on its embedded defaults,
 * printed, never asserted: PUT upload, download, tus upload (of other bytes, so nothing is found
 * already stored), a re-upload of the same bytes and a one-byte edit committed through the
 * delta-sync endpoints, next to the disk with fsync and SHA-256 measured in the same run, and the
 * CPU time the uploads took. Run from the project directory:
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -Xmx2g -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.FilesBench [MiB=1024] [dir]
 * </pre>
 */
public final class FilesBench {
  private static final int MIB = 1 << 20;

  private FilesBench() {
  }

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
    Path base = Files.createTempDirectory(args.length > 1 ? Path.of(args[1]) : Path.of(System.getProperty("java.io.tmpdir")),
        "files-bench");
    Path source = base.resolve("source.bin");
    long bytes = (long) mib * MIB;

    writeRandom(source, bytes, 42);
    double disk = diskWithFsync(base.resolve("disk-check.bin"), bytes);
    double diskDirect = diskDirectWithFsync(base.resolve("disk-check.bin"), bytes);
    double sha = sha256Speed(source);
    Vertx vertx = Vertx.vertx();
    Path blobs = base.resolve("data").resolve("blobs");
    CloudSyncHandle handle = CloudSync.deploy(vertx, new JsonObject()
        .put("data_dir", base.resolve("data").toString()).put("http.port", 0).put("http.host", "127.0.0.1")
        .put("ratelimit.enabled", false).put("files.max_file_size", bytes * 2)).await();
    Api api = new Api(vertx, handle.httpPort());
    String token = api.newUser("bench@example.com");
    String space = api.post("/api/v1/spaces", token, new JsonObject().put("name", "bench")).bodyAsJsonObject().getString("id");
    // A server runs warm: let the JIT compile the upload and download paths (and swap in the AES-GCM
    // intrinsics, which it does only after many calls) before anything is measured. On two busy cores
    // the compiler was still taking a second of CPU per GiB uploaded after the first two or three.
    Path warmUp = base.resolve("warm-up.bin");
    for (int round = 0; round < 4; round++) {
      // New content each round: a repeated file would only be found already stored, and leave the
      // compression, encryption and writing of chunks cold.
      writeRandom(warmUp, Math.min(bytes, 512L * MIB), 99 + round);
      JsonObject warm = putFile(vertx, api, token, space, "warm-up-" + round + ".bin", warmUp);
      download(vertx, api, token, space, warm.getString("id"));
    }
    Files.delete(warmUp);
    MemorySampler memory = new MemorySampler();

    long start = System.nanoTime();
    long cpu = cpuNanos();
    JsonObject node = putFile(vertx, api, token, space, "one.bin", source);
    double put = rate(bytes, start);
    double putCpu = (cpuNanos() - cpu) / 1e9;
    long peakPut = memory.peakAndReset();
    long storedAfterFirst = stored(blobs);

    start = System.nanoTime();
    long downloaded = download(vertx, api, token, space, node.getString("id"));
    double get = rate(downloaded, start);

    putFile(vertx, api, token, space, "again.bin", source);
    long newBytesOnReupload = stored(blobs) - storedAfterFirst;

    // Other bytes than the PUT's: those would only be found already stored.
    Path tusSource = base.resolve("tus-source.bin");
    writeRandom(tusSource, bytes, 43);
    memory.peakAndReset();
    start = System.nanoTime();
    cpu = cpuNanos();
    tusUpload(vertx, api, token, space, tusSource, bytes);
    double tus = rate(bytes, start);
    double tusCpu = (cpuNanos() - cpu) / 1e9;
    Files.delete(tusSource);
    long peakTus = memory.peakAndReset();

    long deltaUploaded = deltaEdit(api, token, space, source);
    memory.stop();
    handle.close().await();
    vertx.close().await();

    double slowest = Math.min(disk, sha);
    System.out.printf("%nFilesBench: %d MiB, %d CPUs, data in %s%n", mib, Runtime.getRuntime().availableProcessors(), base);
    System.out.printf("  disk write + fsync        %8.0f MB/s%n", disk);
    System.out.printf("  SHA-256                   %8.0f MB/s%n", sha);
    System.out.printf("  PUT upload                %8.0f MB/s  (%.2f x the slower of disk and SHA-256; target 0.80)  CPU %.1f s%n",
        put, put / slowest, putCpu);
    System.out.printf("  tus upload (one PATCH)    %8.0f MB/s  (%.2f x)  CPU %.1f s%n", tus, tus / slowest, tusCpu);
    System.out.printf("  download                  %8.0f MB/s  (%.2f x)%n", get, get / slowest);
    System.out.printf("  re-upload, new bytes      %8d%n", newBytesOnReupload);
    System.out.printf("  1-byte edit, delta bytes  %8d  (target <= %d)%n", deltaUploaded, 4 * MIB);
    System.out.printf("  disk, direct I/O + fsync  %8.0f MB/s  (for comparison: what the disk takes without the page cache)%n",
        diskDirect);
    System.out.printf("  CPU: seconds of CPU time the whole process (server and in-process client) used, %d CPUs%n",
        Runtime.getRuntime().availableProcessors());
    System.out.printf("  heap in use, peak         %8d MiB during PUT, %d MiB during tus (-Xmx %d MiB)%n",
        peakPut / MIB, peakTus / MIB, Runtime.getRuntime().maxMemory() / MIB);
    try (Stream<Path> walk = Files.walk(base)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static double rate(long bytes, long startNanos) {
    return bytes / 1e6 / ((System.nanoTime() - startNanos) / 1e9);
  }

  /** The upload source: random, so no chunk repeats. */
  private static void writeRandom(Path file, long bytes, long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] block = new byte[4 * MIB];
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long written = 0; written < bytes; written += block.length) {
        random.nextBytes(block);
        channel.write(ByteBuffer.wrap(block, 0, (int) Math.min(block.length, bytes - written)));
      }
    }
  }

  /** The disk alone: the same number of bytes written from memory, then one fsync. */
  private static double diskWithFsync(Path file, long bytes) throws Exception {
    byte[] block = new byte[4 * MIB];
    new SplittableRandom(7).nextBytes(block);
    long start = System.nanoTime();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long written = 0; written < bytes; written += block.length) {
        channel.write(ByteBuffer.wrap(block, 0, (int) Math.min(block.length, bytes - written)));
      }
      channel.force(true);
    }
    double rate = rate(bytes, start);
    Files.delete(file);
    return rate;
  }

  /**
   * The same with direct I/O (O_DIRECT, from an aligned buffer), which the local blob store uses
   * where it can: the disk without the page cache's copying and writeback.
   */
  private static double diskDirectWithFsync(Path file, long bytes) throws Exception {
    int block = (int) Files.getFileStore(file.getParent()).getBlockSize();
    ByteBuffer aligned = ByteBuffer.allocateDirect(4 * MIB + block).alignedSlice(block);
    byte[] random = new byte[4 * MIB];
    new SplittableRandom(7).nextBytes(random);
    aligned.put(random).flip();
    long start = System.nanoTime();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING, com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
      for (long written = 0; written < bytes; written += 4 * MIB) {
        aligned.limit((int) Math.min(4 * MIB, bytes - written)).position(0);
        while (aligned.hasRemaining()) {
          channel.write(aligned);
        }
      }
      channel.force(true);
    } catch (UnsupportedOperationException | java.io.IOException e) {
      Files.deleteIfExists(file);
      return Double.NaN;
    }
    double rate = rate(bytes, start);
    Files.delete(file);
    return rate;
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static double sha256Speed(Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    byte[] block = new byte[4 * MIB];
    long total = 0;
    long start = System.nanoTime();
    try (InputStream in = Files.newInputStream(file)) {
      for (int n = in.read(block); n > 0; n = in.read(block)) {
        digest.update(block, 0, n);
        total += n;
      }
    }
    digest.digest();
    return rate(total, start);
  }

  private static long stored(Path dir) throws Exception {
    if (!Files.exists(dir)) {
      return 0;
    }
    Path temp = dir.resolve("tmp");
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile).filter(p -> !p.startsWith(temp)).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static JsonObject putFile(Vertx vertx, Api api, String token, String space, String name, Path file) {
    AsyncFile in = openSource(vertx, file);
    HttpResponse<Buffer> response = api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/" + name, token)
        .putHeader("Content-Length", String.valueOf(file.toFile().length()))
        .sendStream(in).await();
    if (response.statusCode() != 200) {
      throw new IllegalStateException("PUT failed: " + response.bodyAsString());
    }
    return response.bodyAsJsonObject();
  }

  /**
   * The file a client uploads, read in 256 KiB blocks. The client shares the machine's CPUs and
   * this JVM with the server: AsyncFile's default of 8 KiB reads costs so many thread hand-overs
   * that it alone cannot send more than about 250 MB/s to a server that discards everything, and
   * reads of 1 MiB, humongous objects for G1 in a 2 GiB heap, kept the server's collector marking
   * (0.3-0.8 CPU seconds per GiB) where a client in another process would cost it nothing.
   */
  private static AsyncFile openSource(Vertx vertx, Path file) {
    AsyncFile in = vertx.fileSystem().open(file.toString(), new OpenOptions().setRead(true)).await();
    in.setReadBufferSize(256 * 1024);
    return in;
  }

  private static long download(Vertx vertx, Api api, String token, String space, String node) {
    AtomicLong count = new AtomicLong();
    WriteStream<Buffer> sink = new Discard(count);
    api.request(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/content", token)
        .as(io.vertx.ext.web.codec.BodyCodec.pipe(sink)).send().await();
    return count.get();
  }

  private static void tusUpload(Vertx vertx, Api api, String token, String space, Path file, long length) {
    String metadata = "space " + java.util.Base64.getEncoder().encodeToString(space.getBytes())
        + ",filename " + java.util.Base64.getEncoder().encodeToString("tus.bin".getBytes());
    String location = api.request(HttpMethod.POST, "/api/v1/uploads", token).putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Upload-Length", String.valueOf(length)).putHeader("Upload-Metadata", metadata).send().await()
        .getHeader("Location");
    AsyncFile in = openSource(vertx, file);
    HttpResponse<Buffer> done = api.request(HttpMethod.PATCH, location, token).putHeader("Tus-Resumable", "1.0.0")
        .putHeader("Upload-Offset", "0").putHeader("Content-Type", "application/offset+octet-stream")
        .putHeader("Content-Length", String.valueOf(length)).sendStream(in).await();
    if (done.statusCode() != 204 || done.getHeader("CloudSync-Node") == null) {
      throw new IllegalStateException("tus upload failed: " + done.statusCode() + " " + done.bodyAsString());
    }
  }

  /** Flips one byte in the middle, chunks like a client would, and uploads only what is missing. */
  private static long deltaEdit(Api api, String token, String space, Path file) throws Exception {
    long size = file.toFile().length();
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(size / 2);
      int b = raf.read();
      raf.seek(size / 2);
      raf.write(b ^ 1);
    }
    FastCdc cdc = new FastCdc();
    List<String> hashes = new ArrayList<>();
    List<long[]> spans = new ArrayList<>();
    byte[] block = new byte[4 * MIB];
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    long offset = 0;
    long chunkStart = 0;
    try (InputStream in = Files.newInputStream(file)) {
      for (int n = in.read(block); n > 0; n = in.read(block)) {
        int at = 0;
        while (at < n) {
          int cut = cdc.next(block, at, n - at);
          int used = cut < 0 ? n - at : cut - at;
          digest.update(block, at, used);
          at += used;
          offset += used;
          if (cut >= 0) {
            hashes.add(HexFormat.of().formatHex(digest.digest()));
            spans.add(new long[] {chunkStart, offset - chunkStart});
            chunkStart = offset;
          }
        }
      }
    }
    if (offset > chunkStart) {
      hashes.add(HexFormat.of().formatHex(digest.digest()));
      spans.add(new long[] {chunkStart, offset - chunkStart});
    }
    JsonArray missing = api.post("/api/v1/chunks/missing", token, new JsonObject().put("hashes", new JsonArray(hashes)))
        .bodyAsJsonObject().getJsonArray("missing");
    long uploaded = 0;
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      for (Object hash : missing) {
        long[] span = spans.get(hashes.indexOf((String) hash));
        byte[] bytes = new byte[(int) span[1]];
        raf.seek(span[0]);
        raf.readFully(bytes);
        api.request(HttpMethod.PUT, "/api/v1/chunks/" + hash, token).sendBuffer(Buffer.buffer(bytes)).await();
        uploaded += bytes.length;
      }
    }
    HttpResponse<Buffer> commit = api.post("/api/v1/spaces/" + space + "/commits", token, new JsonObject()
        .put("name", "one.bin").put("chunks", new JsonArray(hashes)).put("size", size));
    if (commit.statusCode() != 200) {
      throw new IllegalStateException("delta commit failed: " + commit.bodyAsString());
    }
    return uploaded;
  }

  /** Counts and drops what it is given. */
  private record Discard(AtomicLong count) implements WriteStream<Buffer> {
    @Override
    public WriteStream<Buffer> exceptionHandler(io.vertx.core.Handler<Throwable> handler) {
      return this;
    }

    @Override
    public Future<Void> write(Buffer data) {
      count.addAndGet(data.length());
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> end() {
      return Future.succeededFuture();
    }

    @Override
    public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
      return this;
    }

    @Override
    public boolean writeQueueFull() {
      return false;
    }

    @Override
    public WriteStream<Buffer> drainHandler(io.vertx.core.Handler<Void> handler) {
      return this;
    }
  }

  /** Samples heap in use every 50 ms. */
  private static final class MemorySampler {
    private final MemoryMXBean bean = ManagementFactory.getMemoryMXBean();
    private final AtomicLong peak = new AtomicLong();
    private final Thread thread;

    MemorySampler() {
      thread = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          peak.accumulateAndGet(bean.getHeapMemoryUsage().getUsed(), Math::max);
          try {
            Thread.sleep(50);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "memory-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    long peakAndReset() {
      return peak.getAndSet(0);
    }

    void stop() {
      thread.interrupt();
    }
  }
}
