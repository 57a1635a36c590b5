package io.cloudsync.uploads;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable uploads (tus 1.0): a row per upload and a part file with the bytes received. The
 * row's {@code received} is what counts: a part file longer than it (bytes written before a crash
 * could record them) is cut back before the next bytes are appended, so offsets a client was
 * told always hold.
 */
public final class TusUploads {
  private static final Logger LOG = LoggerFactory.getLogger(TusUploads.class);
  /** Checksum algorithms of the tus checksum extension that we verify. */
  public static final Set<String> CHECKSUMS = Set.of("sha1", "sha256", "md5");

  public record Upload(String id, String userId, String spaceId, String parentId, String filename, Long ifMatch,
                       long length, long received, String metadata, String nodeId, OffsetDateTime expiresAt) {
    public boolean complete() {
      return received == length;
    }
  }

  /** What the client says the bytes of one PATCH hash to. */
  public record Checksum(String algorithm, byte[] expected) {
    public static Checksum parse(String header) {
      if (header == null) {
        return null;
      }
      String[] parts = header.trim().split(" ");
      String algorithm = parts[0].toLowerCase(Locale.ROOT);
      if (parts.length != 2 || !CHECKSUMS.contains(algorithm)) {
        throw new ApiException(ErrorCode.BAD_REQUEST, "Upload-Checksum must be one of " + CHECKSUMS + " and a base64 digest");
      }
      try {
        return new Checksum(algorithm, Base64.getDecoder().decode(parts[1]));
      } catch (IllegalArgumentException e) {
        throw new ApiException(ErrorCode.BAD_REQUEST, "Upload-Checksum digest is not base64");
      }
    }

    MessageDigest newDigest() {
      try {
        return MessageDigest.getInstance(switch (algorithm) {
          case "sha1" -> "SHA-1";
          case "md5" -> "MD5";
          default -> "SHA-256";
        });
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private final Vertx vertx;
  private final Pool pool;
  private final Path dir;
  private final int expireHours;
  /** Uploads a PATCH is writing to right now, on this node. */
  private final Set<String> busy = ConcurrentHashMap.newKeySet();

  public TusUploads(Vertx vertx, Pool pool, Path dir, int expireHours) {
    this.vertx = vertx;
    this.pool = pool;
    this.dir = dir;
    this.expireHours = expireHours;
  }

  private Path part(String id) {
    return dir.resolve(id + ".part");
  }

  private static Upload upload(Row row) {
    return new Upload(row.getString("id"), row.getString("user_id"), row.getString("space_id"),
        row.getString("parent_id"), row.getString("filename"), row.getLong("if_match"), row.getLong("length"),
        row.getLong("received"), row.getString("metadata"), row.getString("node_id"),
        row.getOffsetDateTime("expires_at"));
  }

  private static final String COLUMNS = "id::text AS id, user_id::text AS user_id, space_id::text AS space_id, "
      + "parent_id::text AS parent_id, filename, if_match, length, received, metadata, node_id::text AS node_id, expires_at";

  public Future<Upload> create(String userId, String spaceId, String parentId, String filename, Long ifMatch,
                               long length, String metadata) {
    return vertx.fileSystem().mkdirs(dir.toString())
        .compose(v -> pool.preparedQuery("INSERT INTO uploads (user_id, space_id, parent_id, filename, if_match, length, "
                + "metadata, expires_at) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7, "
                + "now() + make_interval(hours => $8)) RETURNING " + COLUMNS)
            .execute(Tuple.of(userId, spaceId, parentId, filename, ifMatch, length, metadata).addInteger(expireHours)))
        .map(rows -> upload(rows.iterator().next()))
        .compose(upload -> vertx.fileSystem().createFile(part(upload.id()).toString()).map(upload));
  }

  /** The caller's upload; another user's, or an expired one, is not found. */
  public Future<Upload> find(String id, String userId) {
    if (!io.cloudsync.auth.Access.isUuid(id)) {
      return notFound();
    }
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM uploads WHERE id = $1::uuid AND user_id = $2::uuid "
            + "AND expires_at > now()")
        .execute(Tuple.of(id, userId))
        .compose(rows -> rows.size() == 0 ? notFound() : Future.succeededFuture(upload(rows.iterator().next())));
  }

  private static <T> Future<T> notFound() {
    return Future.failedFuture(new ApiException(ErrorCode.NOT_FOUND, "No such upload"));
  }

  /**
   * Appends a PATCH body at {@code offset}, which must be what was received so far. Without a
   * checksum, bytes that arrived before a dropped connection are kept (tus lets the client resume
   * after them); with one, the PATCH counts only whole and matching (460 otherwise).
   */
  public Future<Upload> append(Upload upload, long offset, ReadStream<Buffer> body, Checksum checksum) {
    if (offset != upload.received()) {
      body.resume();
      return Future.failedFuture(new ApiException(ErrorCode.CONFLICT,
          "Upload-Offset " + offset + " does not match the " + upload.received() + " bytes received"));
    }
    if (!busy.add(upload.id())) {
      body.resume();
      return Future.failedFuture(new ApiException(ErrorCode.CONFLICT, "Another PATCH is writing to this upload"));
    }
    String file = part(upload.id()).toString();
    return vertx.fileSystem().truncate(file, upload.received())
        .compose(v -> vertx.fileSystem().open(file, new OpenOptions().setWrite(true).setCreate(false)))
        .compose(out -> write(upload, body, out, checksum))
        .compose(written -> {
          boolean keep = checksum == null || written.matches();
          if (!keep) {
            return vertx.fileSystem().truncate(file, upload.received())
                .compose(v -> Future.failedFuture(new ApiException(ErrorCode.CHECKSUM_MISMATCH,
                    "The PATCH body does not match Upload-Checksum; its bytes were discarded")));
          }
          return pool.preparedQuery("UPDATE uploads SET received = $2, expires_at = now() + make_interval(hours => $3) "
                  + "WHERE id = $1::uuid RETURNING " + COLUMNS)
              .execute(Tuple.of(upload.id(), upload.received() + written.bytes(), expireHours))
              .compose(rows -> written.failure() != null
                  ? Future.failedFuture(written.failure())
                  : Future.succeededFuture(upload(rows.iterator().next())));
        })
        .eventually(() -> {
          busy.remove(upload.id());
          return Future.succeededFuture();
        });
  }

  private record Written(long bytes, boolean matches, Throwable failure) {
  }

  /** Copies the body into the part file with back-pressure; stops at the declared length. */
  private Future<Written> write(Upload upload, ReadStream<Buffer> body, AsyncFile out, Checksum checksum) {
    Promise<Written> done = Promise.promise();
    out.setWritePos(upload.received());
    MessageDigest digest = checksum == null ? null : checksum.newDigest();
    long room = upload.length() - upload.received();
    long[] count = {0};
    Throwable[] failure = {null};
    boolean[] finished = {false};
    Runnable finish = () -> {
      if (finished[0]) {
        return;
      }
      finished[0] = true;
      out.flush().compose(v -> out.close()).onComplete(closed -> done.tryComplete(
          new Written(count[0], digest == null || MessageDigest.isEqual(digest.digest(), checksum.expected()), failure[0])));
    };
    body.handler(buffer -> {
      if (failure[0] != null) {
        return;
      }
      if (count[0] + buffer.length() > room) {
        failure[0] = new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "The PATCH goes past Upload-Length");
        body.pause();
        finish.run();
        return;
      }
      count[0] += buffer.length();
      if (digest != null) {
        digest.update(buffer.getBytes());
      }
      out.write(buffer);
      if (out.writeQueueFull()) {
        body.pause();
        out.drainHandler(v -> body.resume());
      }
    });
    body.exceptionHandler(e -> {
      // The client went away: what arrived is kept unless a checksum asked for all or nothing.
      LOG.debug("Upload {} interrupted after {} bytes", upload.id(), count[0]);
      if (failure[0] == null) {
        failure[0] = new ApiException(ErrorCode.BAD_REQUEST, "The upload connection was interrupted");
      }
      finish.run();
    });
    body.endHandler(v -> finish.run());
    body.resume();
    return done.future();
  }

  public Future<AsyncFile> openForRead(Upload upload) {
    return vertx.fileSystem().open(part(upload.id()).toString(), new OpenOptions().setRead(true).setWrite(false));
  }

  /** Records the node the finished upload became and drops the part file. */
  public Future<Void> completed(Upload upload, String nodeId) {
    return pool.preparedQuery("UPDATE uploads SET node_id = $2::uuid WHERE id = $1::uuid")
        .execute(Tuple.of(upload.id(), nodeId))
        .compose(v -> vertx.fileSystem().delete(part(upload.id()).toString()).recover(e -> Future.succeededFuture()));
  }

  public Future<Void> delete(Upload upload) {
    return pool.preparedQuery("DELETE FROM uploads WHERE id = $1::uuid").execute(Tuple.of(upload.id()))
        .compose(v -> vertx.fileSystem().delete(part(upload.id()).toString()).recover(e -> Future.succeededFuture()));
  }

  /** Drops expired uploads and their part files; answers how many went. */
  public Future<Integer> expire() {
    return pool.query("DELETE FROM uploads WHERE expires_at <= now() RETURNING id::text").execute()
        .compose(rows -> {
          Future<Void> chain = Future.succeededFuture();
          for (Row row : rows) {
            String file = part(row.getString(0)).toString();
            chain = chain.compose(v -> vertx.fileSystem().delete(file).recover(e -> Future.succeededFuture()));
          }
          return chain.map(rows.rowCount());
        });
  }
}
