package io.cloudsync.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

@DisplayName("The webhook SSRF guard")
class DestinationsTest {
  private static Vertx vertx;
  private static final Destinations GUARD = new Destinations(List.of());

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static Throwable refusal(Destinations guard, String url) {
    return guard.check(vertx, url).transform(result -> io.vertx.core.Future.succeededFuture(result.cause())).await();
  }

  @ParameterizedTest(name = "refuses {0}")
  @ValueSource(strings = {
      "http://127.0.0.1/hook", "http://127.1/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/",
      "http://0x7f000001/", "http://017700000001/", "http://0.0.0.0/", "http://0/", "http://[::]/", "http://[::1]/",
      "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/", "http://[::ffff:10.0.0.1]/",
      "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/", "http://10.1.2.3/", "http://172.16.0.1/",
      "http://172.31.255.255/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/",
      "http://100.127.255.255/", "http://224.0.0.1/", "http://255.255.255.255/", "http://[fc00::1]/", "http://[fd12::1]/",
      "http://[fe80::1]/", "http://[ff02::1]/", "http://localhost/", "http://localhost./", "http://LOCALHOST:8080/",
      "http://127.0.0.1.:80/"})
  void refusesInternalAddresses(String url) {
    // Refused for what the address is, not for failing to parse it.
    assertThat(refusal(GUARD, url)).as(url).isInstanceOf(Destinations.Refused.class)
        .hasMessageContaining("webhooks.allowlist").hasMessageNotContaining("invalid");
  }

  @ParameterizedTest(name = "accepts {0}")
  @ValueSource(strings = {"http://93.184.216.34/hook", "https://8.8.8.8:8443/x?y=1", "http://172.32.0.1/",
      "http://100.128.0.1/", "http://[2606:4700::1111]/", "http://1.1/", "http://[::ffff:8.8.8.8]/"})
  void acceptsPublicAddresses(String url) {
    assertThat(refusal(GUARD, url)).as(url).isNull();
  }

  @Test
  @DisplayName("reads every inet_aton spelling of an IPv4 literal as the address it is")
  void numericSpellings() throws Exception {
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    for (String host : List.of("2130706433", "0177.0.0.1", "0x7f.1", "0x7f.0.0.1", "127.1", "127.0.1", "0x7F000001")) {
      assertThat(Destinations.literal(host)).as(host).isEqualTo(loopback);
    }
    assertThat(Destinations.literal("example.com")).isNull();
    assertThatThrownBy(() -> Destinations.literal("256.0.0.1")).isInstanceOf(Destinations.Refused.class);
    assertThatThrownBy(() -> Destinations.literal("1.2.3.4.5")).isInstanceOf(Destinations.Refused.class);
    assertThatThrownBy(() -> Destinations.literal("089.0.0.1")).isInstanceOf(Destinations.Refused.class);
    assertThatThrownBy(() -> Destinations.literal("[fe80::1%25eth0]")).isInstanceOf(Destinations.Refused.class);
  }

  @Test
  @DisplayName("refuses a name that resolves to a loopback address, and says which address")
  void resolvedName() {
    // localhost resolves through /etc/hosts to 127.0.0.1 (and ::1): a name, not a literal.
    Throwable refused = refusal(GUARD, "http://localhost:9000/hook");
    assertThat(refused).isInstanceOf(Destinations.Refused.class).hasMessageContaining("resolves to")
        .hasMessageContaining("loopback");
  }

  @Test
  @DisplayName("refuses what is not an http(s) URL of reasonable length")
  void form() {
    for (String url : List.of("ftp://example.com/", "file:///etc/passwd", "gopher://x/", "//example.com",
        "http://", "http://user:pw@93.184.216.34/", "http://exa mple.com/", "http://93.184.216.34/" + "a".repeat(2048))) {
      assertThat(refusal(GUARD, url)).as(url).isInstanceOf(Destinations.Refused.class);
    }
  }

  @Test
  @DisplayName("lets the operator's allow-list through, by address, CIDR or host name, and nothing else")
  void allowlist() {
    Destinations byAddress = new Destinations(List.of("127.0.0.1"));
    assertThat(refusal(byAddress, "http://127.0.0.1:8080/")).isNull();
    assertThat(refusal(byAddress, "http://2130706433:8080/")).isNull();
    assertThat(refusal(byAddress, "http://127.0.0.2:8080/")).isInstanceOf(Destinations.Refused.class);
    assertThat(refusal(byAddress, "http://10.0.0.1/")).isInstanceOf(Destinations.Refused.class);
    Destinations byNetwork = new Destinations(List.of("10.0.0.0/8"));
    assertThat(refusal(byNetwork, "http://10.9.8.7/")).isNull();
    assertThat(refusal(byNetwork, "http://192.168.0.1/")).isInstanceOf(Destinations.Refused.class);
    Destinations byName = new Destinations(List.of("localhost"));
    assertThat(refusal(byName, "http://localhost:1234/")).isNull();
    assertThat(Destinations.isAllowlistEntry("hooks.internal")).isTrue();
    assertThat(Destinations.isAllowlistEntry("fd00::/8")).isTrue();
    assertThat(Destinations.isAllowlistEntry("not a host")).isFalse();
  }

  @Test
  @DisplayName("connects to the address it checked, keeping the name for Host and TLS")
  void target() {
    Destinations.Target target = new Destinations(List.of("127.0.0.1")).check(vertx, "https://127.0.0.1:8443/a/b?c=d").await();
    assertThat(target.address().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(target.port()).isEqualTo(8443);
    assertThat(target.tls()).isTrue();
    assertThat(target.pathAndQuery()).isEqualTo("/a/b?c=d");
  }
}
