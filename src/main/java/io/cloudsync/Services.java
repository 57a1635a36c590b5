package io.cloudsync;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.observability.HealthChecks;
import io.cloudsync.storage.BlobStore;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;

/** What the verticles of one CloudSync instance share; handed to each through its constructor. */
public record Services(
    CloudSyncConfig config, Pool pool, BlobStore blobs, HealthChecks readiness,
    PrometheusMeterRegistry metrics, Buffer openApi, String version) {
}
