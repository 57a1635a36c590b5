package io.cloudsync.handlers;

import io.cloudsync.auth.Access;
import io.cloudsync.auth.Principal;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.storage.Content;
import io.cloudsync.storage.ContentWriter;
import io.cloudsync.uploads.TusUploads;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * tus 1.0 resumable uploads at {@code /api/v1/uploads}: core, creation, termination and checksum.
 * Upload-Metadata names the target: {@code space} and {@code filename} (required),
 * {@code parent_id} and {@code if_match} (optional). When the last byte lands the file is chunked
 * into the store and committed, and the PATCH answer carries {@code CloudSync-Node}.
 */
public final class TusHandler {
  public static final String VERSION = "1.0.0";
  public static final String EXTENSIONS = "creation,termination,checksum";
  private static final String OFFSET_TYPE = "application/offset+octet-stream";

  private final Vertx vertx;
  private final Access access;
  private final TusUploads uploads;
  private final ContentWriter writer;
  private final long maxFileSize;

  public TusHandler(Vertx vertx, Access access, TusUploads uploads, ContentWriter writer, long maxFileSize) {
    this.vertx = vertx;
    this.access = access;
    this.uploads = uploads;
    this.writer = writer;
    this.maxFileSize = maxFileSize;
  }

  private static HttpServerResponse tus(RoutingContext ctx) {
    return ctx.response().putHeader("Tus-Resumable", VERSION).putHeader("Cache-Control", "no-store");
  }

  /** Fails requests that do not speak tus 1.0.0, before their body is read. */
  private static boolean speaksTus(RoutingContext ctx) {
    String version = ctx.request().getHeader("Tus-Resumable");
    if (!VERSION.equals(version)) {
      tus(ctx).putHeader("Tus-Version", VERSION);
      ctx.request().resume();
      ctx.fail(new ApiException(ErrorCode.PRECONDITION_FAILED, "Tus-Resumable: " + VERSION + " is required"));
      return false;
    }
    return true;
  }

  public void options(RoutingContext ctx) {
    tus(ctx).putHeader("Tus-Version", VERSION)
        .putHeader("Tus-Extension", EXTENSIONS)
        .putHeader("Tus-Max-Size", String.valueOf(maxFileSize))
        .putHeader("Tus-Checksum-Algorithm", String.join(",", TusUploads.CHECKSUMS.stream().sorted().toList()))
        .setStatusCode(204).end();
  }

  public void create(RoutingContext ctx) {
    if (!speaksTus(ctx)) {
      return;
    }
    String lengthHeader = ctx.request().getHeader("Upload-Length");
    long length;
    try {
      length = Long.parseLong(lengthHeader == null ? "" : lengthHeader.trim());
    } catch (NumberFormatException e) {
      ctx.fail(new ApiException(ErrorCode.BAD_REQUEST, "Upload-Length is required (deferred lengths are not supported)"));
      return;
    }
    if (length < 0) {
      ctx.fail(new ApiException(ErrorCode.BAD_REQUEST, "Upload-Length may not be negative"));
      return;
    }
    if (length > maxFileSize) {
      ctx.fail(new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "Files may have at most " + maxFileSize + " bytes"));
      return;
    }
    String rawMetadata = ctx.request().getHeader("Upload-Metadata");
    Map<String, String> metadata = metadata(rawMetadata);
    String space = metadata.get("space");
    String filename = metadata.get("filename");
    if (space == null || filename == null || filename.isBlank()) {
      ctx.fail(new ApiException(ErrorCode.VALIDATION_FAILED, "Upload-Metadata needs space and filename"));
      return;
    }
    String parent = metadata.get("parent_id");
    if (parent != null && !Access.isUuid(parent)) {
      ctx.fail(new ApiException(ErrorCode.NOT_FOUND, "No such folder"));
      return;
    }
    Long ifMatch = null;
    if (metadata.get("if_match") != null) {
      try {
        ifMatch = Long.parseLong(metadata.get("if_match").replace("\"", "").trim());
      } catch (NumberFormatException e) {
        ctx.fail(new ApiException(ErrorCode.VALIDATION_FAILED, "if_match must be a node version"));
        return;
      }
    }
    Long baseVersion = ifMatch;
    String userId = Principal.of(ctx).userId();
    access.require(userId, space, Access.Action.WRITE)
        .compose(role -> uploads.create(userId, space, parent, filename, baseVersion, length,
            rawMetadata == null ? "" : rawMetadata))
        .onSuccess(upload -> tus(ctx)
            .putHeader("Location", "/api/v1/uploads/" + upload.id())
            .putHeader("Upload-Expires", httpDate(upload))
            .setStatusCode(201).end())
        .onFailure(ctx::fail);
  }

  public void head(RoutingContext ctx) {
    uploads.find(ctx.pathParam("upload"), Principal.of(ctx).userId())
        .onSuccess(upload -> {
          HttpServerResponse response = tus(ctx)
              .putHeader("Upload-Offset", String.valueOf(upload.received()))
              .putHeader("Upload-Length", String.valueOf(upload.length()))
              .putHeader("Upload-Expires", httpDate(upload));
          if (!upload.metadata().isEmpty()) {
            response.putHeader("Upload-Metadata", upload.metadata());
          }
          if (upload.nodeId() != null) {
            response.putHeader("CloudSync-Node", upload.nodeId());
          }
          response.setStatusCode(200).end();
        })
        .onFailure(ctx::fail);
  }

  public void patch(RoutingContext ctx) {
    if (!speaksTus(ctx)) {
      return;
    }
    String contentType = ctx.request().getHeader("Content-Type");
    if (contentType == null || !contentType.trim().startsWith(OFFSET_TYPE)) {
      ctx.request().resume();
      ctx.fail(new ApiException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "PATCH bodies must be " + OFFSET_TYPE));
      return;
    }
    long offset;
    TusUploads.Checksum checksum;
    try {
      offset = Long.parseLong(ctx.request().getHeader("Upload-Offset").trim());
      checksum = TusUploads.Checksum.parse(ctx.request().getHeader("Upload-Checksum"));
    } catch (NullPointerException | NumberFormatException e) {
      ctx.request().resume();
      ctx.fail(new ApiException(ErrorCode.BAD_REQUEST, "Upload-Offset must be a number"));
      return;
    } catch (ApiException e) {
      ctx.request().resume();
      ctx.fail(e);
      return;
    }
    String userId = Principal.of(ctx).userId();
    long declared = declaredLength(ctx);
    uploads.find(ctx.pathParam("upload"), userId)
        .compose(upload -> {
          if (upload.complete() && upload.nodeId() != null) {
            return Future.failedFuture(new ApiException(ErrorCode.CONFLICT, "This upload is complete"));
          }
          if (declared > 0 && offset == upload.received() && offset + declared == upload.length()) {
            // The last PATCH: chunk its bytes as they arrive rather than after they are all in the part file.
            return uploads.appendLast(upload, offset, ctx.request(), checksum,
                content -> writer.write(content, maxFileSize), content -> commit(userId, upload, content));
          }
          return uploads.append(upload, offset, ctx.request(), checksum)
              .compose(appended -> appended.complete() ? finish(userId, appended) : Future.succeededFuture(appended));
        })
        .onSuccess(upload -> {
          HttpServerResponse response = tus(ctx).putHeader("Upload-Offset", String.valueOf(upload.received()));
          if (upload.nodeId() != null) {
            response.putHeader("CloudSync-Node", upload.nodeId());
          }
          response.setStatusCode(204).end();
        })
        .onFailure(failure -> {
          tus(ctx);
          ctx.request().resume();
          ctx.fail(failure);
        });
  }

  /** Chunks the finished part file into the store and commits it as the file's newest version. */
  private Future<TusUploads.Upload> finish(String userId, TusUploads.Upload upload) {
    return uploads.openForRead(upload)
        .compose(file -> writer.write(file, maxFileSize).eventually(() -> closeQuietly(file)))
        .compose(content -> commit(userId, upload, content))
        .compose(node -> uploads.completed(upload, node)
            .map(new TusUploads.Upload(upload.id(), upload.userId(), upload.spaceId(), upload.parentId(),
                upload.filename(), upload.ifMatch(), upload.length(), upload.received(), upload.metadata(),
                node, upload.expiresAt())));
  }

  /** Commits stored content as the newest version of the upload's file; answers the node id. */
  private Future<String> commit(String userId, TusUploads.Upload upload, Content content) {
    JsonObject target = new JsonObject().put("actor", userId).put("space", upload.spaceId())
        .put("name", upload.filename()).put("base_version", upload.ifMatch());
    if (upload.parentId() != null) {
      target.put("parent_id", upload.parentId());
    }
    return Bus.request(vertx, Addresses.METADATA_COMMIT, ContentHandler.manifest(content).mergeIn(target))
        .map(node -> node.getString("id"));
  }

  /** The request's Content-Length, or -1 when it has none (or a bad one) and the body is chunked. */
  private static long declaredLength(RoutingContext ctx) {
    String length = ctx.request().getHeader("Content-Length");
    try {
      return length == null ? -1 : Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * {@code POST} with {@code X-HTTP-Method-Override: PATCH|DELETE}, which tus defines for clients
   * that cannot send those methods (Java's HttpURLConnection among them).
   */
  public void override(RoutingContext ctx) {
    String method = ctx.request().getHeader("X-HTTP-Method-Override");
    if ("PATCH".equalsIgnoreCase(method)) {
      patch(ctx);
    } else if ("DELETE".equalsIgnoreCase(method)) {
      delete(ctx);
    } else {
      ctx.request().resume();
      ctx.fail(new ApiException(ErrorCode.METHOD_NOT_ALLOWED, "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE"));
    }
  }

  public void delete(RoutingContext ctx) {
    if (!speaksTus(ctx)) {
      return;
    }
    uploads.find(ctx.pathParam("upload"), Principal.of(ctx).userId())
        .compose(uploads::delete)
        .onSuccess(v -> tus(ctx).setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  private static Future<Void> closeQuietly(io.vertx.core.file.AsyncFile file) {
    try {
      return file.close().recover(e -> Future.succeededFuture());
    } catch (IllegalStateException alreadyClosed) {
      return Future.succeededFuture();
    }
  }

  private static String httpDate(TusUploads.Upload upload) {
    return DateTimeFormatter.RFC_1123_DATE_TIME.format(upload.expiresAt().withOffsetSameInstant(ZoneOffset.UTC));
  }

  /** {@code key base64,key2 base64}; a key without a value maps to "". */
  static Map<String, String> metadata(String header) {
    Map<String, String> out = new HashMap<>();
    if (header == null || header.isBlank()) {
      return out;
    }
    for (String pair : header.split(",")) {
      String[] parts = pair.trim().split(" ");
      if (parts[0].isEmpty()) {
        continue;
      }
      try {
        out.put(parts[0], parts.length > 1 ? new String(Base64.getDecoder().decode(parts[1]), StandardCharsets.UTF_8) : "");
      } catch (IllegalArgumentException e) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "Upload-Metadata value of " + parts[0] + " is not base64");
      }
    }
    return out;
  }
}
