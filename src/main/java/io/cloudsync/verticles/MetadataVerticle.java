package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.auth.Access;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.db.Database;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.ChangeLog;
import io.cloudsync.files.Commits;
import io.cloudsync.files.Documents;
import io.cloudsync.files.Nodes;
import io.cloudsync.files.Spaces;
import io.cloudsync.files.Trash;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the metadata in PostgreSQL and answers for it on the event bus: spaces and members, the
 * node tree, file versions, chunk access, the change log, and the trash retention job.
 */
public final class MetadataVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataVerticle.class);
  /** How often the trash retention job runs on each metadata node (one at a time cluster-wide). */
  static final long PURGE_INTERVAL_MS = 5 * 60 * 1000L;

  private final Services services;
  private long purgeTimer = -1;
  private Pool pool;

  public MetadataVerticle(Services services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    // A pool of the role's own: its connections are made from this verticle's context, so their I/O
    // runs on its event loop. On the shared pool a write's statements would come back through a
    // gateway's event loop and wait behind its fan-out of live changes, with the space locked.
    pool = Database.pool(vertx, new PgConnectOptions(services.pgConnectOptions()),
        services.config().pg().filesPoolSize(), "cloudsync-pg-files");
    Access access = new Access(pool);
    ChangeLog log = new ChangeLog(vertx, pool);
    Trash trash = new Trash(pool, log, services.config().files().trashRetentionDays(),
        services.chunks()::delete);
    Spaces spaces = new Spaces(pool, access, log);
    Nodes nodes = new Nodes(pool, access, log, trash, services.config().files());
    Commits commits = new Commits(pool, access, log, nodes, services.config().files(),
        services.chunks()::exists);
    Documents documents = new Documents(pool, access, log, nodes, services.config().files(),
        services.config().docs());
    purgeTimer = vertx.setPeriodic(PURGE_INTERVAL_MS, id -> trash.purgeExpired()
        .onFailure(e -> LOG.warn("Trash retention run failed", e)));
    return Future.all(List.of(
        Bus.serve(vertx, Addresses.METADATA_INFO, this::info),
        Bus.serve(vertx, Addresses.METADATA_COMMIT, commits::commit),
        Bus.serve(vertx, Addresses.METADATA_CONTENT, commits::content),
        Bus.serve(vertx, Addresses.METADATA_MISSING_CHUNKS, commits::missingChunks),
        Bus.serve(vertx, Addresses.METADATA_GRANT_CHUNKS, commits::grantChunks),
        Bus.serve(vertx, Addresses.METADATA_PURGE_EXPIRED, request -> trash.purgeExpired()),
        Bus.serve(vertx, Addresses.SPACES_CREATE, spaces::create),
        Bus.serve(vertx, Addresses.SPACES_LIST, spaces::list),
        Bus.serve(vertx, Addresses.SPACES_GET, spaces::get),
        Bus.serve(vertx, Addresses.SPACES_UPDATE, spaces::update),
        Bus.serve(vertx, Addresses.SPACES_DELETE, spaces::delete),
        Bus.serve(vertx, Addresses.SPACES_MEMBERS, spaces::members),
        Bus.serve(vertx, Addresses.SPACES_SHARE, spaces::share),
        Bus.serve(vertx, Addresses.SPACES_UNSHARE, spaces::unshare),
        Bus.serve(vertx, Addresses.SPACES_CHANGES, request -> changes(access, log, request)),
        Bus.serve(vertx, Addresses.NODES_LIST, nodes::list),
        Bus.serve(vertx, Addresses.NODES_CREATE_FOLDER, nodes::createFolder),
        Bus.serve(vertx, Addresses.NODES_GET, nodes::get),
        Bus.serve(vertx, Addresses.NODES_UPDATE, nodes::update),
        Bus.serve(vertx, Addresses.NODES_DELETE, nodes::delete),
        Bus.serve(vertx, Addresses.NODES_RESTORE, nodes::restore),
        Bus.serve(vertx, Addresses.NODES_COPY, documents::copy),
        Bus.serve(vertx, Addresses.NODES_TRASH, nodes::trash),
        Bus.serve(vertx, Addresses.NODES_VERSIONS, documents::versions),
        Bus.serve(vertx, Addresses.NODES_RESTORE_VERSION, documents::restoreVersion),
        Bus.serve(vertx, Addresses.DOCS_PUT, documents::put),
        Bus.serve(vertx, Addresses.DOCS_GET, documents::get),
        Bus.serve(vertx, Addresses.DOCS_PATCH, documents::patch),
        Bus.serve(vertx, Addresses.DOCS_QUERY, documents::query),
        Bus.serve(vertx, Addresses.NODES_SEARCH, nodes::search)));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(purgeTimer);
    return pool == null ? Future.succeededFuture() : pool.close();
  }

  private static Future<JsonObject> changes(Access access, ChangeLog log, JsonObject request) {
    String space = request.getString("space");
    long cursor = request.getLong("cursor") == null ? 0 : request.getLong("cursor");
    long limit = request.getLong("limit") == null ? 100 : request.getLong("limit");
    if (cursor < 0 || limit < 1 || limit > ChangeLog.MAX_PAGE) {
      return Future.failedFuture(ApiException.of(ErrorCode.VALIDATION_FAILED,
          "cursor must not be negative and limit must be 1 to " + ChangeLog.MAX_PAGE));
    }
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> log.read(space, cursor, (int) limit));
  }

  private Future<JsonObject> info(JsonObject request) {
    LOG.debug("Reading installation facts");
    return pool
        .query("SELECT i.id::text AS id, (SELECT max(version) FROM schema_migrations) AS schema_version FROM installation i")
        .execute()
        .map(rows -> {
          Row row = rows.iterator().next();
          return new JsonObject()
              .put("installation_id", row.getString("id"))
              .put("schema_version", row.getInteger("schema_version"));
        });
  }
}
