package io.cloudsync.files;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusURLMemoryStore;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import java.io.ByteArrayInputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Resumable uploads (tus 1.0)")
@ExtendWith(RealServers.class)
class TusTest {
  private static String meta(String space, String filename) {
    Base64.Encoder b64 = Base64.getEncoder();
    return "space " + b64.encodeToString(space.getBytes(StandardCharsets.UTF_8))
        + ",filename " + b64.encodeToString(filename.getBytes(StandardCharsets.UTF_8));
  }

  private static HttpRequest<Buffer> tus(Api api, HttpMethod method, String path, String token) {
    return api.request(method, path, token).putHeader("Tus-Resumable", "1.0.0");
  }

  @Test
  @DisplayName("a stock tus client uploads in pieces, resumes with a new client after a break, and the file is committed")
  void stockClient(Servers servers) throws Exception {
    try (FilesFixture files = FilesFixture.start(servers, new JsonObject())) {
      JsonObject owner = files.user("tus");
      String space = files.space(owner.getString("token"), "Uploads", null).getString("id");
      byte[] content = ContentTest.random(5 * 1024 * 1024 + 123, 7);
      TusURLMemoryStore store = new TusURLMemoryStore();

      TusUpload upload = new TusUpload();
      upload.setInputStream(new ByteArrayInputStream(content));
      upload.setSize(content.length);
      upload.setFingerprint("tus-test-file");
      upload.setMetadata(Map.of("space", space, "filename", "movie.bin"));

      TusClient first = new TusClient();
      first.setUploadCreationURL(new URL("http://127.0.0.1:" + files.handle.httpPort() + "/api/v1/uploads"));
      first.setHeaders(Map.of("Authorization", "Bearer " + owner.getString("token")));
      first.enableResuming(store);
      TusUploader uploader = first.resumeOrCreateUpload(upload);
      uploader.setChunkSize(1024 * 1024);
      uploader.setRequestPayloadSize(1024 * 1024);
      assertThat(uploader.uploadChunk()).isPositive();
      assertThat(uploader.uploadChunk()).isPositive();
      uploader.finish();
      long sent = uploader.getOffset();
      assertThat(sent).isEqualTo(2L * 1024 * 1024);

      TusUpload again = new TusUpload();
      again.setInputStream(new ByteArrayInputStream(content));
      again.setSize(content.length);
      again.setFingerprint("tus-test-file");
      again.setMetadata(Map.of("space", space, "filename", "movie.bin"));
      TusClient second = new TusClient();
      second.setUploadCreationURL(first.getUploadCreationURL());
      second.setHeaders(Map.of("Authorization", "Bearer " + owner.getString("token")));
      second.enableResuming(store);
      TusUploader resumed = second.resumeOrCreateUpload(again);
      assertThat(resumed.getOffset()).as("resumes where the server says it stopped").isEqualTo(sent);
      resumed.setChunkSize(1024 * 1024);
      while (resumed.uploadChunk() > -1) {
        // keep sending
      }
      resumed.finish();

      String location = resumed.getUploadURL().getPath();
      HttpResponse<Buffer> head = tus(files.api, HttpMethod.HEAD, location, owner.getString("token")).send().await();
      assertThat(head.getHeader("Upload-Offset")).isEqualTo(String.valueOf(content.length));
      String node = head.getHeader("CloudSync-Node");
      assertThat(node).isNotBlank();
      HttpResponse<Buffer> got = files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content",
          owner.getString("token"));
      assertThat(got.body().getBytes()).isEqualTo(content);
    }
  }

  @Test
  @DisplayName("refuses wrong offsets (409), bad checksums (460, bytes discarded), missing Tus-Resumable (412) and excess bytes")
  void protocolErrors(Servers servers) throws Exception {
    try (FilesFixture files = FilesFixture.start(servers, new JsonObject())) {
      JsonObject owner = files.user("tus");
      String token = owner.getString("token");
      String space = files.space(token, "Uploads", null).getString("id");

      HttpResponse<Buffer> options = files.api.request(HttpMethod.OPTIONS, "/api/v1/uploads", null).send().await();
      assertThat(options.getHeader("Tus-Version")).isEqualTo("1.0.0");
      assertThat(options.getHeader("Tus-Extension")).contains("creation", "termination", "checksum");

      assertThat(files.api.request(HttpMethod.POST, "/api/v1/uploads", token).putHeader("Upload-Length", "10")
          .putHeader("Upload-Metadata", meta(space, "x.txt")).send().await().statusCode()).isEqualTo(412);

      HttpResponse<Buffer> created = tus(files.api, HttpMethod.POST, "/api/v1/uploads", token)
          .putHeader("Upload-Length", "10").putHeader("Upload-Metadata", meta(space, "ten.txt")).send().await();
      assertThat(created.statusCode()).isEqualTo(201);
      String location = created.getHeader("Location");

      HttpResponse<Buffer> gap = tus(files.api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "3")
          .putHeader("Content-Type", "application/offset+octet-stream").sendBuffer(Buffer.buffer("abc")).await();
      assertThat(gap.statusCode()).isEqualTo(409);

      String sha1 = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest("other".getBytes()));
      HttpResponse<Buffer> badSum = tus(files.api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "0")
          .putHeader("Upload-Checksum", "sha1 " + sha1)
          .putHeader("Content-Type", "application/offset+octet-stream").sendBuffer(Buffer.buffer("abcde")).await();
      assertThat(badSum.statusCode()).isEqualTo(460);
      HttpResponse<Buffer> head = tus(files.api, HttpMethod.HEAD, location, token).send().await();
      assertThat(head.getHeader("Upload-Offset")).isEqualTo("0");

      String goodSum = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest("abcde".getBytes()));
      HttpResponse<Buffer> ok = tus(files.api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "0")
          .putHeader("Upload-Checksum", "sha1 " + goodSum)
          .putHeader("Content-Type", "application/offset+octet-stream").sendBuffer(Buffer.buffer("abcde")).await();
      assertThat(ok.statusCode()).isEqualTo(204);
      assertThat(ok.getHeader("Upload-Offset")).isEqualTo("5");

      HttpResponse<Buffer> tooMuch = tus(files.api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "5")
          .putHeader("Content-Type", "application/offset+octet-stream").sendBuffer(Buffer.buffer("0123456789")).await();
      assertThat(tooMuch.statusCode()).isEqualTo(413);

      assertThat(tus(files.api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "5")
          .putHeader("Content-Type", "text/plain").sendBuffer(Buffer.buffer("fghij")).await().statusCode()).isEqualTo(415);

      JsonObject other = files.user("other");
      assertThat(tus(files.api, HttpMethod.HEAD, location, other.getString("token")).send().await().statusCode())
          .as("another user's upload is not found").isEqualTo(404);

      assertThat(tus(files.api, HttpMethod.DELETE, location, token).send().await().statusCode()).isEqualTo(204);
      assertThat(tus(files.api, HttpMethod.HEAD, location, token).send().await().statusCode()).isEqualTo(404);

      assertThat(tus(files.api, HttpMethod.POST, "/api/v1/uploads", other.getString("token"))
          .putHeader("Upload-Length", "10").putHeader("Upload-Metadata", meta(space, "x.txt")).send().await()
          .statusCode()).as("non-members cannot upload into the space").isEqualTo(404);
    }
  }

  private static String create(Api api, String token, String space, String name, long length) {
    HttpResponse<Buffer> created = tus(api, HttpMethod.POST, "/api/v1/uploads", token)
        .putHeader("Upload-Length", String.valueOf(length)).putHeader("Upload-Metadata", meta(space, name)).send().await();
    assertThat(created.statusCode()).isEqualTo(201);
    return created.getHeader("Location");
  }

  private static HttpResponse<Buffer> patch(Api api, String location, String token, long offset, byte[] bytes,
                                            String checksum) {
    HttpRequest<Buffer> request = tus(api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", String.valueOf(offset))
        .putHeader("Content-Type", "application/offset+octet-stream");
    if (checksum != null) {
      request.putHeader("Upload-Checksum", checksum);
    }
    return request.sendBuffer(Buffer.buffer(bytes)).await();
  }

  private static String offset(Api api, String location, String token) {
    return tus(api, HttpMethod.HEAD, location, token).send().await().getHeader("Upload-Offset");
  }

  private static String sha256Checksum(byte[] bytes) throws Exception {
    return "sha256 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  @DisplayName("a PATCH that completes the upload is committed in the same request, or with a bad checksum discarded whole")
  void completingPatch(Servers servers) throws Exception {
    try (FilesFixture files = FilesFixture.start(servers, new JsonObject())) {
      String token = files.user("tus").getString("token");
      String space = files.space(token, "Uploads", null).getString("id");
      byte[] content = ContentTest.random(6 * 1024 * 1024 + 5, 11);
      String location = create(files.api, token, space, "whole.bin", content.length);

      HttpResponse<Buffer> badSum = patch(files.api, location, token, 0, content, sha256Checksum("other".getBytes()));
      assertThat(badSum.statusCode()).isEqualTo(460);
      assertThat(offset(files.api, location, token)).isEqualTo("0");

      HttpResponse<Buffer> done = patch(files.api, location, token, 0, content, sha256Checksum(content));
      assertThat(done.statusCode()).isEqualTo(204);
      assertThat(done.getHeader("Upload-Offset")).isEqualTo(String.valueOf(content.length));
      String node = done.getHeader("CloudSync-Node");
      assertThat(node).isNotBlank();
      assertThat(files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", token).body().getBytes())
          .isEqualTo(content);
      assertThat(patch(files.api, location, token, content.length, new byte[0], null).statusCode())
          .as("a finished upload takes no more PATCHes").isEqualTo(409);
    }
  }

  @Test
  @DisplayName("when the completing PATCH cannot be committed its bytes stay received, and an empty PATCH commits them later")
  void completingPatchNotCommitted(Servers servers) throws Exception {
    int mib = 1024 * 1024;
    try (FilesFixture files = FilesFixture.start(servers, new JsonObject().put("files.user_quota", 8 * mib))) {
      String token = files.user("tus").getString("token");
      String space = files.space(token, "Uploads", null).getString("id");
      HttpResponse<Buffer> first = files.api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/first.bin", token)
          .sendBuffer(Buffer.buffer(ContentTest.random(5 * mib, 12))).await();
      assertThat(first.statusCode()).isEqualTo(200);
      byte[] content = ContentTest.random(5 * mib, 13);
      String location = create(files.api, token, space, "second.bin", content.length);

      HttpResponse<Buffer> full = patch(files.api, location, token, 0, content, null);
      assertThat(full.statusCode()).isEqualTo(507);
      assertThat(full.bodyAsJsonObject().getString("code")).isEqualTo("quota_exceeded");
      HttpResponse<Buffer> head = tus(files.api, HttpMethod.HEAD, location, token).send().await();
      assertThat(head.getHeader("Upload-Offset")).isEqualTo(String.valueOf(content.length));
      assertThat(head.getHeader("CloudSync-Node")).isNull();

      String firstId = first.bodyAsJsonObject().getString("id");
      assertThat(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + firstId + "?purge=true", token, null)
          .statusCode()).isEqualTo(204);
      HttpResponse<Buffer> done = patch(files.api, location, token, content.length, new byte[0], null);
      assertThat(done.statusCode()).isEqualTo(204);
      String node = done.getHeader("CloudSync-Node");
      assertThat(files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", token).body().getBytes())
          .isEqualTo(content);
    }
  }

  @Test
  @DisplayName("when the connection drops during the completing PATCH, what arrived stays received and the upload resumes after it")
  void completingPatchInterrupted(Servers servers) throws Exception {
    int mib = 1024 * 1024;
    try (FilesFixture files = FilesFixture.start(servers, new JsonObject())) {
      String token = files.user("tus").getString("token");
      String space = files.space(token, "Uploads", null).getString("id");
      byte[] content = ContentTest.random(8 * mib, 14);
      String location = create(files.api, token, space, "dropped.bin", content.length);
      assertThat(patch(files.api, location, token, 0, Arrays.copyOfRange(content, 0, mib), null).getHeader("Upload-Offset"))
          .isEqualTo(String.valueOf(mib));

      // The rest is announced but only 3 MiB of it are sent before the connection closes.
      HttpClient client = files.vertx.createHttpClient();
      HttpClientRequest request = client.request(HttpMethod.PATCH, files.handle.httpPort(), "127.0.0.1", location).await()
          .putHeader("Authorization", "Bearer " + token).putHeader("Tus-Resumable", "1.0.0")
          .putHeader("Upload-Offset", String.valueOf(mib)).putHeader("Content-Type", "application/offset+octet-stream")
          .putHeader("Content-Length", String.valueOf(content.length - mib));
      request.exceptionHandler(dropped -> { });
      request.write(Buffer.buffer(Arrays.copyOfRange(content, mib, 4 * mib))).await();
      request.connection().close().await();

      // The server settles the dropped PATCH on its own time; until then the upload answers 409 to another one.
      HttpResponse<Buffer> rest = null;
      for (int attempt = 0; attempt < 100 && (rest == null || rest.statusCode() == 409); attempt++) {
        files.vertx.timer(100).await();
        long received = Long.parseLong(offset(files.api, location, token));
        if (received > mib) {
          assertThat(received).isLessThanOrEqualTo(4L * mib);
          rest = patch(files.api, location, token, received, Arrays.copyOfRange(content, (int) received, content.length), null);
        }
      }
      assertThat(rest).as("the bytes sent before the drop were kept").isNotNull();
      assertThat(rest.statusCode()).isEqualTo(204);
      String node = rest.getHeader("CloudSync-Node");
      assertThat(files.api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", token).body().getBytes())
          .isEqualTo(content);
      client.close().await();
    }
  }

  @Test
  @DisplayName("an upload survives a server restart in the middle and completes afterwards")
  void survivesRestart(Servers servers) throws Exception {
    JsonObject config = TestCloudSync.config(servers);
    byte[] content = ContentTest.random(3 * 1024 * 1024, 9);
    Vertx vertx = Vertx.vertx();
    String location;
    String token;
    String space;
    try {
      CloudSyncHandle before = TestCloudSync.deploy(vertx, config);
      Api api = new Api(vertx, before.httpPort());
      token = api.newUser("restart@example.com");
      space = api.post("/api/v1/spaces", token, new JsonObject().put("name", "R")).bodyAsJsonObject().getString("id");
      location = tus(api, HttpMethod.POST, "/api/v1/uploads", token).putHeader("Upload-Length", String.valueOf(content.length))
          .putHeader("Upload-Metadata", meta(space, "r.bin")).send().await().getHeader("Location");
      HttpResponse<Buffer> half = tus(api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "0")
          .putHeader("Content-Type", "application/offset+octet-stream")
          .sendBuffer(Buffer.buffer(Arrays.copyOfRange(content, 0, 1_000_000))).await();
      assertThat(half.getHeader("Upload-Offset")).isEqualTo("1000000");
      before.close().await();
    } finally {
      vertx.close().await();
    }

    Vertx again = Vertx.vertx();
    try {
      CloudSyncHandle after = TestCloudSync.deploy(again, config);
      Api api = new Api(again, after.httpPort());
      assertThat(tus(api, HttpMethod.HEAD, location, token).send().await().getHeader("Upload-Offset")).isEqualTo("1000000");
      HttpResponse<Buffer> rest = tus(api, HttpMethod.PATCH, location, token).putHeader("Upload-Offset", "1000000")
          .putHeader("Content-Type", "application/offset+octet-stream")
          .sendBuffer(Buffer.buffer(Arrays.copyOfRange(content, 1_000_000, content.length))).await();
      assertThat(rest.statusCode()).isEqualTo(204);
      String node = rest.getHeader("CloudSync-Node");
      assertThat(api.get("/api/v1/spaces/" + space + "/nodes/" + node + "/content", token).body().getBytes())
          .isEqualTo(content);
      after.close().await();
    } finally {
      again.close().await();
    }
  }
}
