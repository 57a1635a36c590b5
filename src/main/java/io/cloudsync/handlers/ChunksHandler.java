package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.storage.ChunkStore;
import io.cloudsync.storage.PlainChunk;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Delta sync: a client chunks a file the same way the server does (FastCDC), asks which chunks
 * the server lacks for it, uploads only those, and commits the manifest. Knowing a hash grants
 * nothing: a chunk counts as the caller's only once they uploaded its bytes or can already read a
 * file that contains it.
 */
public final class ChunksHandler {
  private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
  /** Hashes one request may ask about: 10,000 chunks cover about 10 GiB of content. */
  static final int MAX_HASHES = 10_000;

  private final Vertx vertx;
  private final ChunkStore chunks;

  public ChunksHandler(Vertx vertx, ChunkStore chunks) {
    this.vertx = vertx;
    this.chunks = chunks;
  }

  /** The sizes of the chunks and the SHA-256 of their concatenation, read from the store. */
  private record Described(List<Integer> sizes, String sha256, long size) {
  }

  private Future<Described> describe(JsonArray hashes) {
    MessageDigest digest = newSha256();
    List<Integer> sizes = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (Object hash : hashes) {
      chain = chain.compose(v -> chunks.get((String) hash))
          .compose(bytes -> vertx.executeBlocking(() -> {
            digest.update(bytes.getBytes());
            sizes.add(bytes.length());
            return null;
          }, true));
    }
    return chain.map(v -> new Described(sizes, HexFormat.of().formatHex(digest.digest()),
        sizes.stream().mapToLong(Integer::longValue).sum()));
  }

  /** {@code POST /api/v1/chunks/missing {hashes}} → {@code {missing}}. */
  public void missing(RoutingContext ctx) {
    JsonArray hashes = hashes(Bodies.json(ctx), "hashes");
    Bus.request(vertx, Addresses.METADATA_MISSING_CHUNKS,
            new JsonObject().put("actor", Principal.of(ctx).userId()).put("hashes", hashes))
        .onSuccess(answer -> Responses.ok(ctx, answer))
        .onFailure(ctx::fail);
  }

  /** {@code PUT /api/v1/chunks/{sha256}}: the bytes must hash to the name. */
  public void put(RoutingContext ctx) {
    String hash = ctx.pathParam("sha256");
    HttpServerRequest request = ctx.request();
    if (hash == null || !SHA256.matcher(hash).matches()) {
      request.resume();
      ctx.fail(new ApiException(ErrorCode.VALIDATION_FAILED, "A chunk is named by its SHA-256 in lower-case hex"));
      return;
    }
    try {
      ContentHandler.checkDeclaredLength(ctx, ChunkStore.MAX_CHUNK);
    } catch (ApiException e) {
      request.resume();
      ctx.fail(e);
      return;
    }
    readAtMost(request, ChunkStore.MAX_CHUNK)
        .compose(body -> vertx.executeBlocking(() -> PlainChunk.of(body.getBytes()), false))
        .compose(chunk -> chunk.sha256().equals(hash)
            ? Future.succeededFuture(chunk)
            : Future.failedFuture(new ApiException(ErrorCode.HASH_MISMATCH, "The bytes do not hash to " + hash)))
        .compose(chunk -> chunks.put(chunk).map(chunk.length()))
        .compose(size -> Bus.request(vertx, Addresses.METADATA_GRANT_CHUNKS, new JsonObject()
                .put("actor", Principal.of(ctx).userId())
                .put("hashes", new JsonArray().add(hash)).put("sizes", new JsonArray().add(size)))
            .map(size))
        .onSuccess(size -> Responses.json(ctx, 201, new JsonObject().put("hash", hash).put("size", size)))
        .onFailure(ctx::fail);
  }

  /** {@code POST /api/v1/spaces/{space}/commits}: a new file version from chunks the caller may use. */
  public void commit(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = new JsonObject()
        .put("actor", Principal.of(ctx).userId())
        .put("space", ctx.pathParam("space"))
        .put("chunks", hashes(body, "chunks"))
        .put("check_chunk_access", true);
    for (String field : new String[] {"node_id", "parent_id", "name", "sha256"}) {
      String value = Bodies.string(body, field);
      if (value != null) {
        request.put(field, value);
      }
    }
    Object size = body.getValue("size");
    if (!(size instanceof Number number) || number.longValue() < 0) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "size must be the file's length in bytes");
    }
    request.put("size", number.longValue());
    Object base = body.getValue("base_version");
    if (base != null) {
      if (!(base instanceof Number baseNumber)) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "base_version must be a number");
      }
      request.put("base_version", baseNumber.longValue());
    }
    JsonArray clientSizes = body.getValue("chunk_sizes") instanceof JsonArray sizes ? sizes : null;
    String clientSha = request.getString("sha256");
    JsonArray hashes = request.getJsonArray("chunks");
    String actor = request.getString("actor");
    // Only chunks the caller may use are read; then the server, not the client, says what the file is.
    Bus.request(vertx, Addresses.METADATA_MISSING_CHUNKS, new JsonObject().put("actor", actor).put("hashes", hashes))
        .compose(answer -> answer.getJsonArray("missing").isEmpty() ? describe(hashes)
            : Future.failedFuture(new ApiException(ErrorCode.FORBIDDEN, answer.getJsonArray("missing").size()
                + " of the chunks are not available to you; upload them before committing")))
        .compose(described -> {
          if (described.size() != request.getLong("size")
              || (clientSha != null && !clientSha.equals(described.sha256()))
              || (clientSizes != null && !clientSizes.getList().equals(new ArrayList<Object>(described.sizes())))) {
            return Future.failedFuture(new ApiException(ErrorCode.VALIDATION_FAILED,
                "size, sha256 or chunk_sizes do not match the chunks (" + described.size() + " bytes)"));
          }
          return Bus.request(vertx, Addresses.METADATA_COMMIT, request.put("sha256", described.sha256())
              .put("chunk_sizes", new JsonArray(new ArrayList<Object>(described.sizes()))));
        })
        .onSuccess(node -> Responses.ok(ctx, node))
        .onFailure(ctx::fail);
  }

  private static JsonArray hashes(JsonObject body, String field) {
    if (!(body.getValue(field) instanceof JsonArray array)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, field + " must be an array of SHA-256 hashes");
    }
    if (array.size() > MAX_HASHES) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, field + " may hold at most " + MAX_HASHES + " hashes");
    }
    for (Object item : array) {
      if (!(item instanceof String hash) || !SHA256.matcher(hash).matches()) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, field + " must hold lower-case hex SHA-256 hashes");
      }
    }
    return array;
  }

  /** The whole body, failing with 413 as soon as it grows past {@code max}. */
  static Future<Buffer> readAtMost(HttpServerRequest request, int max) {
    Promise<Buffer> done = Promise.promise();
    Buffer body = Buffer.buffer();
    request.handler(data -> {
      if (body.length() + data.length() > max) {
        request.pause();
        done.tryFail(new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "A chunk may have at most " + max + " bytes"));
        return;
      }
      body.appendBuffer(data);
    });
    request.exceptionHandler(done::tryFail);
    request.endHandler(v -> done.tryComplete(body));
    request.resume();
    return done.future();
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
