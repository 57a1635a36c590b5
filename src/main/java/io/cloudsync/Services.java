package io.cloudsync;

import io.cloudsync.auth.ExpiringStore;
import io.cloudsync.auth.TokenService;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.observability.HealthChecks;
import io.cloudsync.ratelimit.RateLimiter;
import io.cloudsync.storage.BlobStore;
import io.cloudsync.storage.ChunkStore;
import io.cloudsync.uploads.TusUploads;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;

/**
 * What the verticles of one CloudSync instance share; handed to each through its constructor.
 * {@code redis} is null when no Redis is configured. {@code rateLimiter} is one for all gateway
 * instances, so the limits hold per deployment rather than per event loop. {@code chunks} is file
 * content over {@code blobs}, compressed and encrypted. {@code pgConnectOptions} is where {@code pool}
 * connects, for the few tasks that need a connection of their own.
 */
public record Services(
    CloudSyncConfig config, Pool pool, BlobStore blobs, Redis redis, ExpiringStore expiringStore,
    TokenService tokens, HealthChecks readiness, PrometheusMeterRegistry metrics, Buffer openApi, String version,
    RateLimiter rateLimiter, ChunkStore chunks, TusUploads uploads, PgConnectOptions pgConnectOptions) {
}
