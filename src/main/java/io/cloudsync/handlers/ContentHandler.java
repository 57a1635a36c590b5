package io.cloudsync.handlers;

import io.cloudsync.auth.Access;
import io.cloudsync.auth.Principal;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.storage.Content;
import io.cloudsync.storage.ContentReader;
import io.cloudsync.storage.ContentWriter;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * File bytes over HTTP: {@code PUT /api/v1/spaces/{space}/files/{path…}} streams the body
 * through chunking into the chunk store and then commits the new version;
 * {@code GET …/nodes/{node}/content} streams a version back with Range, ETag and
 * If-None-Match. Bodies never cross the event bus; only the manifest does.
 */
public final class ContentHandler {
  private static final Pattern RANGE = Pattern.compile("^bytes=(\\d*)-(\\d*)$");
  private static final String FILES_PREFIX = "/files/";

  private final Vertx vertx;
  private final Access access;
  private final ContentWriter writer;
  private final ContentReader reader;
  private final long maxFileSize;

  public ContentHandler(Vertx vertx, Access access, ContentWriter writer, ContentReader reader, long maxFileSize) {
    this.vertx = vertx;
    this.access = access;
    this.writer = writer;
    this.reader = reader;
    this.maxFileSize = maxFileSize;
  }

  /** The manifest of a commit request, as the metadata role takes it. */
  public static JsonObject manifest(Content content) {
    return new JsonObject().put("size", content.size()).put("sha256", content.sha256())
        .put("chunks", new JsonArray(new ArrayList<>(content.chunks())))
        .put("chunk_sizes", new JsonArray(new ArrayList<>(content.chunkSizes())))
        .put("reused", new JsonArray(new ArrayList<>(content.reused())));
  }

  /** {@code PUT /api/v1/spaces/{space}/files/{path…}}: create or replace the file at a path. */
  public void put(RoutingContext ctx) {
    Principal caller = Principal.of(ctx);
    String space = ctx.pathParam("space");
    String path;
    Long baseVersion;
    try {
      path = filePath(ctx);
      baseVersion = ifMatch(ctx);
      checkDeclaredLength(ctx, maxFileSize);
    } catch (ApiException e) {
      ctx.request().resume();
      ctx.fail(e);
      return;
    }
    // Ask before reading the body: a caller who may not write here does not get to upload.
    access.require(caller.userId(), space, Access.Action.WRITE)
        .compose(ok -> writer.write(ctx.request(), maxFileSize))
        .compose(content -> Bus.request(vertx, Addresses.METADATA_COMMIT, manifest(content)
            .put("actor", caller.userId()).put("space", space).put("path", path).put("base_version", baseVersion)))
        .onSuccess(node -> {
          ctx.response().putHeader("ETag", "\"" + node.getLong("version") + "\"");
          Responses.ok(ctx, node);
        })
        .onFailure(failure -> {
          ctx.request().resume();
          ctx.fail(failure);
        });
  }

  /** {@code GET /api/v1/spaces/{space}/nodes/{node}/content[?version=n]}. */
  public void download(RoutingContext ctx) {
    Principal caller = Principal.of(ctx);
    JsonObject request = new JsonObject().put("actor", caller.userId()).put("space", ctx.pathParam("space"))
        .put("node", ctx.pathParam("node"));
    String version = ctx.queryParams().get("version");
    if (version != null) {
      try {
        request.put("version", Long.parseLong(version));
      } catch (NumberFormatException e) {
        ctx.fail(new ApiException(ErrorCode.VALIDATION_FAILED, "version must be a number"));
        return;
      }
    }
    Bus.request(vertx, Addresses.METADATA_CONTENT, request)
        .onSuccess(file -> send(ctx, file))
        .onFailure(ctx::fail);
  }

  private void send(RoutingContext ctx, JsonObject file) {
    Content content = new Content(file.getLong("size"), file.getString("sha256"),
        strings(file.getJsonArray("chunks")), integers(file.getJsonArray("chunk_sizes")));
    String etag = "\"" + (content.sha256() != null ? content.sha256() : file.getString("node_id") + "-"
        + file.getLong("version")) + "\"";
    HttpServerResponse response = ctx.response();
    response.putHeader("ETag", etag)
        .putHeader("Accept-Ranges", "bytes")
        .putHeader("Cache-Control", "private, no-cache")
        .putHeader("Content-Disposition", contentDisposition(file.getString("name")));
    if (matches(ctx.request().getHeader("If-None-Match"), etag)) {
      response.setStatusCode(304).end();
      return;
    }
    long size = content.size();
    long start = 0;
    long end = size - 1;
    String range = ctx.request().getHeader("Range");
    String ifRange = ctx.request().getHeader("If-Range");
    if (range != null && (ifRange == null || ifRange.equals(etag))) {
      Matcher m = RANGE.matcher(range.trim());
      if (m.matches() && !(m.group(1).isEmpty() && m.group(2).isEmpty())) {
        if (m.group(1).isEmpty()) {
          start = Math.max(0, size - Long.parseLong(m.group(2)));
        } else {
          start = Long.parseLong(m.group(1));
          end = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
        }
        if (start >= size || start > end) {
          response.putHeader("Content-Range", "bytes */" + size);
          ctx.fail(new ApiException(ErrorCode.RANGE_NOT_SATISFIABLE, "The range lies outside the file's " + size + " bytes"));
          return;
        }
        response.setStatusCode(206).putHeader("Content-Range", "bytes " + start + "-" + end + "/" + size);
      }
      // Several ranges or an unreadable one: the whole file, which RFC 9110 allows.
    }
    long length = size == 0 ? 0 : end - start + 1;
    response.putHeader("Content-Type", "application/octet-stream")
        .putHeader("Content-Length", String.valueOf(length));
    if (length == 0) {
      response.end();
      return;
    }
    reader.stream(content, start, end, response)
        .onSuccess(v -> response.end())
        .onFailure(failure -> response.reset());
  }

  /** RFC 6266: a plain ASCII fallback and the exact UTF-8 name. */
  static String contentDisposition(String name) {
    String ascii = name.replaceAll("[^\\x20-\\x7e]", "_").replace("\\", "_").replace("\"", "_");
    String encoded = URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
  }

  /** Whether {@code If-None-Match} names the tag (weakly or strongly) or is {@code *}: then 304. */
  static boolean matches(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null) {
      return false;
    }
    for (String candidate : ifNoneMatch.split(",")) {
      String value = candidate.trim();
      if (value.equals("*") || value.equals(etag) || value.equals("W/" + etag)) {
        return true;
      }
    }
    return false;
  }

  /** The path after {@code /files/}, percent-decoded; traversal and empty segments are refused. */
  static String filePath(RoutingContext ctx) {
    return pathAfter(ctx, FILES_PREFIX, "file");
  }

  /**
   * The path after {@code prefix} ({@code /files/}, {@code /docs/}), percent-decoded; an encoded
   * slash or backslash, traversal, empty segments and control characters are refused, so is a path
   * that does not end in a name of the {@code noun}.
   */
  static String pathAfter(RoutingContext ctx, String prefix, String noun) {
    String raw = ctx.request().path();
    int at = raw.indexOf(prefix);
    String encoded = at < 0 ? "" : raw.substring(at + prefix.length());
    if (encoded.contains("%2f") || encoded.contains("%2F") || encoded.contains("%5c") || encoded.contains("%5C")) {
      throw new ApiException(ErrorCode.INVALID_NAME, "A name may not contain / or \\");
    }
    String decoded;
    try {
      decoded = URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.INVALID_NAME, "The path is not valid percent-encoding");
    }
    if (decoded.isEmpty() || decoded.endsWith("/")) {
      throw new ApiException(ErrorCode.INVALID_NAME, "The path must end in a " + noun + " name");
    }
    for (String segment : decoded.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..") || segment.contains("\\")
          || segment.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        throw new ApiException(ErrorCode.INVALID_NAME, "The path has an empty, relative or invalid segment");
      }
    }
    return decoded;
  }

  /** {@code If-Match: "3"} → 3; absent → null (an unconditional write). */
  static Long ifMatch(RoutingContext ctx) {
    String header = ctx.request().getHeader("If-Match");
    if (header == null || header.isBlank() || header.trim().equals("*")) {
      return null;
    }
    String value = header.trim();
    if (value.startsWith("W/")) {
      value = value.substring(2);
    }
    value = value.replace("\"", "");
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new ApiException(ErrorCode.PRECONDITION_FAILED, "If-Match must be a node version such as \"3\"");
    }
  }

  /** Refuses a declared body over the limit before a byte of it is read. */
  static void checkDeclaredLength(RoutingContext ctx, long max) {
    String length = ctx.request().getHeader("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > max) {
          throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "Files may have at most " + max + " bytes");
        }
      } catch (NumberFormatException e) {
        throw new ApiException(ErrorCode.BAD_REQUEST, "Content-Length is not a number");
      }
    }
  }

  static List<String> strings(JsonArray array) {
    List<String> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      out.add(array.getString(i));
    }
    return out;
  }

  static List<Integer> integers(JsonArray array) {
    List<Integer> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      out.add(array.getInteger(i));
    }
    return out;
  }

}
