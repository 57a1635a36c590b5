package io.cloudsync.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.config.ConfigException;
import io.cloudsync.handlers.ClientAddress;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The client address")
class ClientAddressTest {
  private static final ClientAddress BEHIND_PROXIES =
      new ClientAddress(List.of("127.0.0.1/32", "10.0.0.0/8", "2001:db8:100::/48", "192.0.2.7"));

  private static String client(ClientAddress clients, String peer, String... forwardedFor) {
    InetAddress address = clients.resolve(peer, List.of(forwardedFor));
    return address == null ? null : address.getHostAddress();
  }

  @Test
  @DisplayName("is the direct peer when no proxy is trusted, whatever X-Forwarded-For says")
  void untrustedPeer() {
    ClientAddress none = new ClientAddress(List.of());
    assertThat(client(none, "127.0.0.1", "198.51.100.1")).isEqualTo("127.0.0.1");
    assertThat(client(BEHIND_PROXIES, "198.51.100.9", "198.51.100.1")).isEqualTo("198.51.100.9");
    assertThat(client(BEHIND_PROXIES, "10.1.2.3")).as("a trusted peer without the header").isEqualTo("10.1.2.3");
  }

  @Test
  @DisplayName("behind trusted proxies, is the right-most forwarded address that is not itself a trusted proxy")
  void trustedPeer() {
    assertThat(client(BEHIND_PROXIES, "127.0.0.1", "198.51.100.1")).isEqualTo("198.51.100.1");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "203.0.113.66, 198.51.100.1, 10.9.9.9"))
        .as("the forged left part and the inner proxy are skipped").isEqualTo("198.51.100.1");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "203.0.113.66", "198.51.100.1"))
        .as("several header lines read as one list").isEqualTo("198.51.100.1");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "10.0.0.1, 10.0.0.2"))
        .as("only proxies: the farthest one").isEqualTo("10.0.0.1");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "198.51.100.1:4711, [2001:db8::1]:443"))
        .as("ports are dropped").isEqualTo("2001:db8:0:0:0:0:0:1");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "198.51.100.1, unknown"))
        .as("an unreadable hop stops the walk at the proxy that wrote it").isEqualTo("10.0.0.5");
    assertThat(client(BEHIND_PROXIES, "10.0.0.5", "evil.example.com"))
        .as("host names are never looked up").isEqualTo("10.0.0.5");
    assertThat(client(BEHIND_PROXIES, "192.0.2.7", "198.51.100.3")).as("a single address").isEqualTo("198.51.100.3");
    assertThat(client(BEHIND_PROXIES, "192.0.2.8", "198.51.100.3")).isEqualTo("192.0.2.8");
  }

  @Test
  @DisplayName("matches IPv6 blocks and IPv4-mapped IPv6 peers")
  void ipv6() {
    assertThat(client(BEHIND_PROXIES, "2001:db8:100:ffff::1", "2001:db8:2::5")).isEqualTo("2001:db8:2:0:0:0:0:5");
    assertThat(client(BEHIND_PROXIES, "2001:db8:101::1", "2001:db8:2::5")).isEqualTo("2001:db8:101:0:0:0:0:1");
    assertThat(client(BEHIND_PROXIES, "::ffff:10.1.1.1", "198.51.100.1")).isEqualTo("198.51.100.1");
    assertThat(client(BEHIND_PROXIES, "0:0:0:0:0:0:0:1%0", "198.51.100.1")).as("::1 is not 127.0.0.1").isEqualTo("0:0:0:0:0:0:0:1");
    ClientAddress loopbacks = new ClientAddress(List.of("::1", "::ffff:127.0.0.0/104"));
    assertThat(client(loopbacks, "[::1]", "198.51.100.1")).isEqualTo("198.51.100.1");
    assertThat(client(loopbacks, "127.0.0.9", "198.51.100.1")).isEqualTo("198.51.100.1");
  }

  @Test
  @DisplayName("matches CIDR prefixes bit by bit")
  void prefixes() throws Exception {
    ClientAddress.Network block = ClientAddress.network("172.16.0.0/12");
    assertThat(block.contains(InetAddress.getByName("172.31.255.255"))).isTrue();
    assertThat(block.contains(InetAddress.getByName("172.32.0.0"))).isFalse();
    assertThat(block.contains(InetAddress.getByName("::ffff:172.16.0.1"))).isTrue();
    assertThat(ClientAddress.network("0.0.0.0/0").contains(InetAddress.getByName("8.8.8.8"))).isTrue();
    assertThat(ClientAddress.network("0.0.0.0/0").contains(InetAddress.getByName("2001:db8::1"))).isFalse();
    assertThat(ClientAddress.network("2001:db8::/33").contains(InetAddress.getByName("2001:db8:7fff::1"))).isTrue();
    assertThat(ClientAddress.network("2001:db8::/33").contains(InetAddress.getByName("2001:db8:8000::1"))).isFalse();
  }

  @Test
  @DisplayName("refuses trusted proxies that are not addresses or CIDR blocks, naming the key")
  void badConfiguration() {
    for (String bad : List.of("localhost", "127.1", "10.0.0.0/33", "10.0.0.0/x", "2001:db8::/129", "1.2.3.256", "::g")) {
      assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("http.trusted_proxies", bad)))
          .as(bad).isInstanceOf(ConfigException.class).hasMessageContaining("http.trusted_proxies");
    }
    assertThat(CloudSyncConfig.from(new JsonObject().put("http.trusted_proxies", "10.0.0.0/8, ::1")).rateLimit()
        .trustedProxies()).containsExactly("10.0.0.0/8", "::1");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("ratelimit.api_per_minute", 0)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ratelimit.api_per_minute");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("ratelimit.auth_per_minute", 1_000_001)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("ratelimit.auth_per_minute");
    CloudSyncConfig.RateLimit defaults = CloudSyncConfig.defaults().rateLimit();
    assertThat(defaults).isEqualTo(new CloudSyncConfig.RateLimit(true, 100, 10, List.of()));
  }
}
