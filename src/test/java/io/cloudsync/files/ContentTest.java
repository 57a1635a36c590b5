package io.cloudsync.files;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.storage.ChunkStore;
import io.cloudsync.storage.FastCdc;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.client.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("File content")
@ExtendWith(RealServers.class)
class ContentTest {
  private static FilesFixture files;
  private static JsonObject owner;
  private static String space;
  private static Path blobDir;

  @BeforeAll
  static void start(Servers servers) {
    blobDir = TestCloudSync.tempDir();
    files = FilesFixture.start(servers, new JsonObject().put("blob.local.dir", blobDir.toString())
        .put("files.max_file_size", 16L << 20));
    owner = files.user("owner");
    space = files.space(owner.getString("token"), "Docs", null).getString("id");
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static HttpResponse<Buffer> put(String token, String path, byte[] body) {
    return files.api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/" + path, token)
        .sendBuffer(Buffer.buffer(body)).await();
  }

  private static HttpResponse<Buffer> download(String node, String query, String... headers) {
    var request = files.api.request(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/content" + query,
        owner.getString("token"));
    for (int i = 0; i < headers.length; i += 2) {
      request.putHeader(headers[i], headers[i + 1]);
    }
    return request.send().await();
  }

  static long storedBytes(Path dir) throws Exception {
    try (Stream<Path> walk = Files.walk(dir)) {
      Path temp = dir.resolve("tmp");
      return walk.filter(Files::isRegularFile).filter(p -> !p.startsWith(temp))
          .mapToLong(p -> p.toFile().length()).sum();
    }
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  @DisplayName("PUT by path makes folders, stores a version, and downloads back byte for byte with ETag and RFC 6266 name")
  void putAndDownload() throws Exception {
    byte[] content = random(3 * 1024 * 1024 + 17, 1);
    HttpResponse<Buffer> created = put(owner.getString("token"), "reports/2026/Q3%20r%C3%A9sum%C3%A9.bin", content);
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(200);
    JsonObject node = created.bodyAsJsonObject();
    assertThat(node.getString("name")).isEqualTo("Q3 résumé.bin");
    assertThat(node.getLong("size")).isEqualTo(content.length);
    assertThat(node.getString("sha256")).isEqualTo(sha256(content));

    HttpResponse<Buffer> got = download(node.getString("id"), "");
    assertThat(got.statusCode()).isEqualTo(200);
    assertThat(got.body().getBytes()).isEqualTo(content);
    assertThat(got.getHeader("ETag")).isEqualTo("\"" + sha256(content) + "\"");
    assertThat(got.getHeader("Content-Disposition"))
        .isEqualTo("attachment; filename=\"Q3 r_sum_.bin\"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.bin");
    assertThat(got.getHeader("X-Content-Type-Options")).isEqualTo("nosniff");
    assertThat(got.getHeader("Content-Type")).isEqualTo("application/octet-stream");

    assertThat(download(node.getString("id"), "", "If-None-Match", got.getHeader("ETag")).statusCode()).isEqualTo(304);
  }

  @Test
  @DisplayName("works the same with chunks in an S3-compatible store")
  void s3Backend(Servers servers) throws Exception {
    try (FilesFixture onS3 = FilesFixture.start(servers, TestCloudSync.s3Config(servers))) {
      JsonObject user = onS3.user("s3");
      String s3Space = onS3.space(user.getString("token"), "S3", null).getString("id");
      byte[] content = random(3 * 1024 * 1024 + 5, 11);
      HttpResponse<Buffer> put = onS3.api.request(HttpMethod.PUT, "/api/v1/spaces/" + s3Space + "/files/on-s3.bin",
          user.getString("token")).sendBuffer(Buffer.buffer(content)).await();
      assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
      HttpResponse<Buffer> got = onS3.api.get("/api/v1/spaces/" + s3Space + "/nodes/"
          + put.bodyAsJsonObject().getString("id") + "/content", user.getString("token"));
      assertThat(got.body().getBytes()).isEqualTo(content);
      assertThat(onS3.api.get("/health/ready", null).bodyAsJsonObject().getJsonObject("checks")
          .getJsonObject("blob_store").getString("status")).isEqualTo("up");
    }
  }

  @Test
  @DisplayName("answers Range requests with 206 across chunk boundaries, suffix ranges, and 416 past the end")
  void ranges() throws Exception {
    byte[] content = random(6 * 1024 * 1024, 2);
    String node = put(owner.getString("token"), "ranges.bin", content).bodyAsJsonObject().getString("id");
    long[][] ranges = {{0, 0}, {1_048_570, 2_200_000}, {content.length - 10, content.length - 1}};
    for (long[] range : ranges) {
      HttpResponse<Buffer> part = download(node, "", "Range", "bytes=" + range[0] + "-" + range[1]);
      assertThat(part.statusCode()).isEqualTo(206);
      assertThat(part.getHeader("Content-Range")).isEqualTo("bytes " + range[0] + "-" + range[1] + "/" + content.length);
      assertThat(part.body().getBytes())
          .isEqualTo(java.util.Arrays.copyOfRange(content, (int) range[0], (int) range[1] + 1));
    }
    HttpResponse<Buffer> suffix = download(node, "", "Range", "bytes=-5");
    assertThat(suffix.body().getBytes()).isEqualTo(java.util.Arrays.copyOfRange(content, content.length - 5, content.length));
    HttpResponse<Buffer> beyond = download(node, "", "Range", "bytes=" + content.length + "-");
    assertThat(beyond.statusCode()).isEqualTo(416);
    assertThat(beyond.getHeader("Content-Range")).isEqualTo("bytes */" + content.length);
  }

  @Test
  @DisplayName("keeps every version downloadable and stores no new chunk bytes when the same content comes again")
  void versionsAndDedupe() throws Exception {
    byte[] first = random(2 * 1024 * 1024, 3);
    byte[] second = random(2 * 1024 * 1024, 4);
    String token = owner.getString("token");
    JsonObject v1 = put(token, "dedupe/a.bin", first).bodyAsJsonObject();
    JsonObject v2 = put(token, "dedupe/a.bin", second).bodyAsJsonObject();
    assertThat(v2.getString("id")).isEqualTo(v1.getString("id"));
    assertThat(v2.getLong("version")).isGreaterThan(v1.getLong("version"));
    assertThat(download(v1.getString("id"), "?version=" + v1.getLong("version")).body().getBytes()).isEqualTo(first);
    assertThat(download(v1.getString("id"), "").body().getBytes()).isEqualTo(second);

    long before = storedBytes(blobDir);
    assertThat(put(token, "dedupe/copy-of-a.bin", first).statusCode()).isEqualTo(200);
    assertThat(storedBytes(blobDir)).as("re-uploading known content stores nothing new").isEqualTo(before);
  }

  @Test
  @DisplayName("stores chunks compressed and encrypted: the plain bytes appear nowhere in the blob store")
  void encryptedAtRest() throws Exception {
    byte[] text = ("CloudSync secret line " + "x".repeat(50) + "\n").repeat(20_000).getBytes();
    put(owner.getString("token"), "secret.txt", text);
    byte[] needle = "CloudSync secret line".getBytes();
    try (Stream<Path> walk = Files.walk(blobDir)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        String stored = new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(stored).doesNotContain(new String(needle, java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    assertThat(storedBytes(blobDir)).isPositive();
  }

  @Test
  @DisplayName("refuses bodies over files.max_file_size with 413 before reading, and hostile paths with 400 invalid_name")
  void limitsAndHostilePaths() {
    String token = owner.getString("token");
    // Only the head of a 17 MiB request is sent: the answer must come without the body.
    NetSocket socket = files.vertx.createNetClient().connect(files.handle.httpPort(), "127.0.0.1").await();
    Buffer answer = Buffer.buffer();
    socket.handler(answer::appendBuffer);
    socket.write("PUT /api/v1/spaces/" + space + "/files/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Authorization: Bearer " + token + "\r\nContent-Length: " + (17L << 20) + "\r\n\r\n").await();
    long deadline = System.currentTimeMillis() + 10_000;
    while (!answer.toString().contains("payload_too_large") && System.currentTimeMillis() < deadline) {
      files.vertx.timer(20).await();
    }
    assertThat(answer.toString()).startsWith("HTTP/1.1 413").contains("payload_too_large");
    socket.close();
    HttpResponse<Buffer> streamedBig = put(token, "big2.bin", new byte[(16 << 20) + 1]);
    assertThat(streamedBig.statusCode()).isEqualTo(413);

    for (String path : new String[] {"..%2Fescape.txt", "a/%2e%2e/b.txt", "a%5Cb.txt", "nul%00.txt", "folder/", "x/./y"}) {
      HttpResponse<Buffer> response = put(token, path, "x".getBytes());
      assertThat(response.statusCode()).as(path).isEqualTo(400);
      assertThat(response.bodyAsJsonObject().getString("code")).as(path).isEqualTo("invalid_name");
    }
  }

  @Test
  @DisplayName("hides the space from non-members (404) and refuses viewers' writes (403) before reading the body")
  void authorization() {
    JsonObject stranger = files.user("stranger");
    JsonObject viewer = files.user("viewer");
    files.share(owner.getString("token"), space, viewer.getString("id"), "viewer");
    String node = put(owner.getString("token"), "private.txt", "mine".getBytes()).bodyAsJsonObject().getString("id");

    assertThat(put(stranger.getString("token"), "x.txt", "x".getBytes()).statusCode()).isEqualTo(404);
    assertThat(put(viewer.getString("token"), "x.txt", "x".getBytes()).statusCode()).isEqualTo(403);
    assertThat(files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", stranger.getString("token"))
        .statusCode()).isEqualTo(404);
    assertThat(files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", viewer.getString("token"))
        .bodyAsString()).isEqualTo("mine");
  }

  @Test
  @DisplayName("delta sync uploads only missing chunks, checks their hashes, and never lets a known hash stand in for the bytes")
  void deltaSync() throws Exception {
    String token = owner.getString("token");
    byte[] original = random(5 * 1024 * 1024, 5);
    put(token, "delta.bin", original);
    byte[] edited = original.clone();
    edited[edited.length / 2] ^= 1;

    FastCdc cdc = new FastCdc();
    List<Integer> lengths = cdc.chunkLengths(edited);
    List<String> hashes = new ArrayList<>();
    List<byte[]> pieces = new ArrayList<>();
    int at = 0;
    for (int length : lengths) {
      byte[] piece = java.util.Arrays.copyOfRange(edited, at, at + length);
      pieces.add(piece);
      hashes.add(sha256(piece));
      at += length;
    }
    JsonArray missing = files.api.post("/api/v1/chunks/missing", token, new JsonObject().put("hashes", new JsonArray(hashes)))
        .bodyAsJsonObject().getJsonArray("missing");
    assertThat(missing.size()).isBetween(1, 2);

    HttpResponse<Buffer> wrong = files.api.request(HttpMethod.PUT, "/api/v1/chunks/" + missing.getString(0), token)
        .sendBuffer(Buffer.buffer("not these bytes")).await();
    assertThat(wrong.statusCode()).isEqualTo(400);
    assertThat(wrong.bodyAsJsonObject().getString("code")).isEqualTo("hash_mismatch");

    long uploaded = 0;
    for (Object hash : missing) {
      byte[] piece = pieces.get(hashes.indexOf((String) hash));
      uploaded += piece.length;
      assertThat(files.api.request(HttpMethod.PUT, "/api/v1/chunks/" + hash, token).sendBuffer(Buffer.buffer(piece))
          .await().statusCode()).isEqualTo(201);
    }
    assertThat(uploaded).isLessThanOrEqualTo(ChunkStore.MAX_CHUNK * 2L);

    HttpResponse<Buffer> committed = files.api.post("/api/v1/spaces/" + space + "/commits", token,
        new JsonObject().put("name", "delta-edited.bin").put("chunks", new JsonArray(hashes)).put("size", edited.length));
    assertThat(committed.statusCode()).as(committed.bodyAsString()).isEqualTo(200);
    assertThat(committed.bodyAsJsonObject().getString("sha256")).isEqualTo(sha256(edited));
    assertThat(download(committed.bodyAsJsonObject().getString("id"), "").body().getBytes()).isEqualTo(edited);

    JsonObject thief = files.user("thief");
    String theirSpace = files.space(thief.getString("token"), "Theirs", null).getString("id");
    HttpResponse<Buffer> stolen = files.api.post("/api/v1/spaces/" + theirSpace + "/commits", thief.getString("token"),
        new JsonObject().put("name", "stolen.bin").put("chunks", new JsonArray(hashes)).put("size", edited.length));
    assertThat(stolen.statusCode()).isEqualTo(403);
    JsonArray theirMissing = files.api.post("/api/v1/chunks/missing", thief.getString("token"),
        new JsonObject().put("hashes", new JsonArray(hashes))).bodyAsJsonObject().getJsonArray("missing");
    assertThat(theirMissing.size()).isEqualTo(new java.util.HashSet<>(hashes).size());
  }
}
