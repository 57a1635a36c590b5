package io.cloudsync.test;

import java.util.Map;
import kafka.server.BrokerServer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A single combined broker+controller Kafka 4.1 (KRaft) running in this JVM, advertised on 127.0.0.1.
 * {@link Servers#kafkaBootstrap()} keeps one for the whole run; a test that stops the broker starts its own
 * with {@link #start()} and closes it.
 *
 * <p>The test kit pre-binds its listener sockets on the wildcard address (it ignores the host of
 * {@code listeners}), so the ports are open on all interfaces; there is no hook to change that short of
 * replacing the kit with a hand-built {@code KafkaRaftServer}.
 */
public final class KafkaBroker implements AutoCloseable {
  private static final String HOST = "127.0.0.1";

  private final KafkaClusterTestKit cluster;
  private final String bootstrap;

  private KafkaBroker(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
    // KafkaClusterTestKit.bootstrapServers() hard-codes "localhost:<port>"; the broker listener is bound and
    // advertised on 127.0.0.1, so build the address from its bound port.
    this.bootstrap = HOST + ":" + broker().boundPort(cluster.nodes().brokerListenerName());
  }

  /** Formats, starts and waits for a new broker. */
  public static KafkaBroker start() {
    return start(Map.of());
  }

  /** As {@link #start()}, with broker settings over the defaults. */
  public static KafkaBroker start(Map<String, String> settings) {
    KafkaClusterTestKit cluster = null;
    try {
      TestKitNodes nodes = new TestKitNodes.Builder()
        .setCombined(true)
        .setNumBrokerNodes(1)
        .setNumControllerNodes(1)
        // A production metadata version, as a real 4.1 broker runs (the kit defaults to the unstable latest).
        .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
        .build();
      KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes)
        .setConfigProp("listeners", "EXTERNAL://" + HOST + ":0,CONTROLLER://" + HOST + ":0")
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("offsets.topic.num.partitions", "1")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1")
        .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
        .setConfigProp("share.coordinator.state.topic.min.isr", "1")
        .setConfigProp("default.replication.factor", "1")
        .setConfigProp("min.insync.replicas", "1")
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .setConfigProp("auto.create.topics.enable", "true");
      settings.forEach(builder::setConfigProp);
      cluster = builder.build();
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new KafkaBroker(cluster);
    } catch (Exception e) {
      if (cluster != null) {
        try {
          cluster.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("Kafka did not start", e);
    }
  }

  /** {@code 127.0.0.1:<port>}; the same after {@link #restartBroker()}. */
  public String bootstrap() {
    return bootstrap;
  }

  /** Stops the broker; the controller keeps running, the logs stay on disk. */
  public void stopBroker() {
    broker().shutdown();
    broker().awaitShutdown();
  }

  /**
   * Starts the stopped broker again on its logs and its port (the kit rebinds the port it handed out), and waits
   * until it serves.
   */
  public void restartBroker() {
    broker().startup();
    try {
      cluster.waitForReadyBrokers();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("Kafka did not come back", e);
    }
  }

  private BrokerServer broker() {
    return cluster.brokers().values().iterator().next();
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }
}
