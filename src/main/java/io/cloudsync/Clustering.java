package io.cloudsync;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import io.cloudsync.config.CloudSyncConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/** Builds the Vert.x instance of the standalone server: alone, or a member of a Hazelcast cluster. */
public final class Clustering {
  /** Name of the registry Vert.x's own metrics report to in the standalone server. */
  static final String METRICS_REGISTRY = "cloudsync";

  private Clustering() {
  }

  public static Future<Vertx> start(CloudSyncConfig config) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CloudSync.bindJvmMetrics(registry);
    // Netty's native epoll transport where the platform has it (Linux on x86-64 or ARM64): fewer
    // system calls and less garbage per message than Java NIO, which Vert.x uses elsewhere.
    VertxOptions options = new VertxOptions().setPreferNativeTransport(true)
        .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setRegistryName(METRICS_REGISTRY));
    VertxBuilder builder = Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry));
    if (!config.cluster().enabled()) {
      return Future.succeededFuture(builder.build());
    }
    CloudSyncConfig.Cluster cluster = config.cluster();
    if (!cluster.host().isEmpty()) {
      options.setEventBusOptions(new EventBusOptions().setHost(cluster.host()).setClusterPublicHost(cluster.host()));
    }
    return builder.withClusterManager(new HazelcastClusterManager(hazelcastConfig(cluster))).buildClustered();
  }

  /** cluster.xml (or -Dvertx.hazelcast.config) with the members, host and port from CloudSync's config. */
  static Config hazelcastConfig(CloudSyncConfig.Cluster cluster) {
    Config config = ConfigUtil.loadConfig();
    config.getNetworkConfig().setPort(cluster.port());
    JoinConfig join = config.getNetworkConfig().getJoin();
    if (!cluster.members().isEmpty()) {
      join.getMulticastConfig().setEnabled(false);
      join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members());
    }
    if (!cluster.host().isEmpty()) {
      config.getNetworkConfig().getInterfaces().setEnabled(true).setInterfaces(java.util.List.of(cluster.host()));
      config.setProperty("hazelcast.local.localAddress", cluster.host());
    }
    return config;
  }
}
