package io.cloudsync.files;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.errors.ApiException;
import io.cloudsync.test.Api;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/** One CloudSync on the real test servers, with the calls the files tests make over HTTP and the bus. */
public final class FilesFixture implements AutoCloseable {
  private static final AtomicInteger USERS = new AtomicInteger();

  public final Vertx vertx;
  public final CloudSyncHandle handle;
  public final Api api;
  public final Pool db;
  /** The server's database, for tests that open connections of their own. */
  public final String dbUrl;

  private FilesFixture(Vertx vertx, CloudSyncHandle handle, String dbUrl) {
    this.vertx = vertx;
    this.handle = handle;
    this.dbUrl = dbUrl;
    this.api = new Api(vertx, handle.httpPort());
    this.db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(dbUrl)).using(vertx).build();
  }

  public static FilesFixture start(Servers servers, JsonObject overrides) {
    Vertx vertx = Vertx.vertx();
    JsonObject config = TestCloudSync.config(servers).mergeIn(overrides);
    return new FilesFixture(vertx, TestCloudSync.deploy(vertx, config), config.getString("pg.url"));
  }

  @Override
  public void close() {
    db.close().await();
    handle.close().await();
    vertx.close().await();
  }

  /** A new signed-in user: {token, id, email}. */
  public JsonObject user(String name) {
    String email = name + "-" + USERS.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 8) + "@example.com";
    String token = api.newUser(email);
    String id = api.get("/api/v1/me", token).bodyAsJsonObject().getString("id");
    return new JsonObject().put("token", token).put("id", id).put("email", email);
  }

  public HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body, String ifMatch) {
    HttpRequest<Buffer> request = api.request(method, path, token);
    if (ifMatch != null) {
      request.putHeader("If-Match", ifMatch);
    }
    return body == null ? request.send().await() : request.sendJsonObject(body).await();
  }

  public HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body) {
    return send(method, path, token, body, null);
  }

  /** Asserts the status and answers the JSON body (null for an empty body). */
  public static JsonObject expect(HttpResponse<Buffer> response, int status) {
    if (response.statusCode() != status) {
      throw new AssertionError("expected " + status + " but got " + response.statusCode() + ": " + response.bodyAsString());
    }
    return response.body() == null || response.body().length() == 0 ? null : response.bodyAsJsonObject();
  }

  public JsonObject space(String token, String name, String policy) {
    JsonObject body = new JsonObject().put("name", name);
    if (policy != null) {
      body.put("conflict_policy", policy);
    }
    return expect(send(HttpMethod.POST, "/api/v1/spaces", token, body), 201);
  }

  public JsonObject folder(String token, String space, String parent, String name) {
    return expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
        new JsonObject().put("name", name).put("parent_id", parent)), 201);
  }

  public void share(String ownerToken, String space, String userId, String role) {
    expect(send(HttpMethod.PUT, "/api/v1/spaces/" + space + "/members/" + userId, ownerToken,
        new JsonObject().put("role", role)), 200);
  }

  public JsonArray changes(String token, String space) {
    return expect(send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=0&limit=1000", token, null), 200)
        .getJsonArray("changes");
  }

  // --- the bus operations the upload code calls ------------------------------------------------

  public JsonObject bus(String address, JsonObject request) {
    return Bus.request(vertx, address, request).await();
  }

  /** The catalogue code a bus call fails with. */
  public ApiException busFailure(String address, JsonObject request) {
    try {
      Bus.request(vertx, address, request).await();
    } catch (Exception e) {
      return ApiException.from(e);
    }
    throw new AssertionError("expected " + address + " to fail");
  }

  /** A commit request for content made of the given chunks (each chunk's text is its content). */
  public static JsonObject commit(String actor, String space, String... chunkTexts) {
    JsonArray chunks = new JsonArray();
    JsonArray sizes = new JsonArray();
    StringBuilder whole = new StringBuilder();
    for (String text : chunkTexts) {
      chunks.add(sha256(text));
      sizes.add(text.getBytes(StandardCharsets.UTF_8).length);
      whole.append(text);
    }
    return new JsonObject().put("actor", actor).put("space", space).put("chunks", chunks).put("chunk_sizes", sizes)
        .put("size", (long) whole.toString().getBytes(StandardCharsets.UTF_8).length).put("sha256", sha256(whole.toString()));
  }

  public JsonObject commitFile(String actor, String space, String parent, String name, String... chunkTexts) {
    return bus(Addresses.METADATA_COMMIT, commit(actor, space, chunkTexts).put("parent_id", parent).put("name", name));
  }

  public static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Unique text, so tests never share chunks by accident. */
  public static String unique(String label) {
    return label + "-" + UUID.randomUUID();
  }

  public static List<Long> seqs(JsonArray changes) {
    return changes.stream().map(change -> ((JsonObject) change).getLong("seq")).toList();
  }

  public long count(String sql, Object... params) {
    return db.preparedQuery(sql).execute(io.vertx.sqlclient.Tuple.from(params)).await().iterator().next().getLong(0);
  }
}
