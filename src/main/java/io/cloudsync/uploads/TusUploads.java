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
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
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
    String file = part(upload.id()).toString();
    return claimed(upload, offset, body, out -> write(upload, body, out, checksum)
        .compose(written -> {
          boolean keep = checksum == null || written.matches();
          if (!keep) {
            return discard(upload, file);
          }
          return record(upload, upload.received() + written.bytes())
              .compose(recorded -> written.failure() != null
                  ? Future.failedFuture(written.failure())
                  : Future.succeededFuture(recorded));
        }));
  }

  /**
   * Runs a PATCH's work on the part file, cut back to the bytes received and open for writing after
   * them, as the only PATCH writing to the upload. Refuses (409) a PATCH whose offset is not the
   * bytes received, or that comes while another is writing; the refused body is drained.
   */
  private <T> Future<T> claimed(Upload upload, long offset, ReadStream<Buffer> body, Function<AsyncFile, Future<T>> work) {
    if (offset != upload.received()) {
      return refuse(body, "Upload-Offset " + offset + " does not match the " + upload.received() + " bytes received");
    }
    if (!busy.add(upload.id())) {
      return refuse(body, "Another PATCH is writing to this upload");
    }
    String file = part(upload.id()).toString();
    return vertx.fileSystem().truncate(file, upload.received())
        .compose(v -> vertx.fileSystem().open(file, new OpenOptions().setWrite(true).setCreate(false)))
        .compose(work)
        .eventually(() -> {
          busy.remove(upload.id());
          return Future.succeededFuture();
        });
  }

  private static <T> Future<T> refuse(ReadStream<Buffer> body, String why) {
    body.resume();
    return Future.failedFuture(new ApiException(ErrorCode.CONFLICT, why));
  }

  /** Drops a PATCH's bytes that failed its checksum. */
  private <T> Future<T> discard(Upload upload, String file) {
    return vertx.fileSystem().truncate(file, upload.received())
        .compose(v -> Future.failedFuture(new ApiException(ErrorCode.CHECKSUM_MISMATCH,
            "The PATCH body does not match Upload-Checksum; its bytes were discarded")));
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

  /**
   * The PATCH that brings the upload to its full length: its body is appended to the part file and,
   * at the same time, the whole content (the bytes received before it, then the body) is streamed
   * into {@code store}, whose result {@code commit} turns into the node the upload became. The
   * answer carries that node. Chunking while the bytes arrive, rather than reading the part file
   * back afterwards, lets the upload go at the speed of a plain PUT; and the part file is synced
   * only where it is still needed: when the upload does not commit, every byte stays received
   * (none with a checksum that fails) and a later PATCH can finish it, as after {@link #append}.
   */
  public <T> Future<Upload> appendLast(Upload upload, long offset, ReadStream<Buffer> body, Checksum checksum,
                                       Function<ReadStream<Buffer>, Future<T>> store,
                                       Function<T, Future<String>> commit) {
    String file = part(upload.id()).toString();
    return claimed(upload, offset, body, out -> {
      out.setWritePos(upload.received());
      Future<PartFileTee> tee = upload.received() == 0
          ? Future.succeededFuture(new PartFileTee(null, body, out, checksum, upload.length()))
          : vertx.fileSystem().open(file, new OpenOptions().setRead(true).setWrite(false))
              .map(earlier -> new PartFileTee(earlier.setReadLength(upload.received()), body, out, checksum,
                  upload.length() - upload.received()))
              .onFailure(e -> out.close());
      return tee.compose(both -> {
        Future<T> stored = store.apply(both).onFailure(e -> both.detach());
        return both.appended().compose(appended -> settle(upload, file, appended, checksum, stored, commit));
      });
    });
  }

  private <T> Future<Upload> settle(Upload upload, String file, PartFileTee.Appended appended, Checksum checksum,
                                    Future<T> stored, Function<T, Future<String>> commit) {
    long received = upload.received() + appended.bytes();
    // Whatever happened to the stored content, it is settled before the upload is.
    Future<Void> storeSettled = stored.<Void>mapEmpty().recover(e -> Future.succeededFuture());
    if (appended.failure() != null) {
      // As in append: what arrived before the connection dropped counts, unless a checksum asked for all or nothing.
      return storeSettled
          .compose(v -> checksum == null ? sync(file).compose(synced -> record(upload, received)).<Void>mapEmpty()
              : vertx.fileSystem().truncate(file, upload.received()))
          .compose(v -> Future.failedFuture(appended.failure()));
    }
    if (!appended.matches()) {
      return storeSettled.compose(v -> discard(upload, file));
    }
    return stored.compose(commit)
        .compose(node -> record(upload, received).compose(done -> completed(done, node))
            .map(v -> new Upload(upload.id(), upload.userId(), upload.spaceId(), upload.parentId(), upload.filename(),
                upload.ifMatch(), upload.length(), received, upload.metadata(), node, upload.expiresAt())))
        .recover(failure -> sync(file).compose(v -> record(upload, received)).transform(v -> Future.failedFuture(failure)));
  }

  private Future<Upload> record(Upload upload, long received) {
    return pool.preparedQuery("UPDATE uploads SET received = $2, expires_at = now() + make_interval(hours => $3) "
            + "WHERE id = $1::uuid RETURNING " + COLUMNS)
        .execute(Tuple.of(upload.id(), received, expireHours))
        .map(rows -> upload(rows.iterator().next()));
  }

  /** Forces the part file's bytes to disk, so the received count recorded next holds after a crash. */
  private Future<Void> sync(String file) {
    return vertx.executeBlocking(() -> {
      try (FileChannel channel = FileChannel.open(Path.of(file), StandardOpenOption.WRITE)) {
        channel.force(true);
      }
      return null;
    }, false);
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
