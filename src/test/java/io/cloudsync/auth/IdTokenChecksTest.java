package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ID-token checks CloudSync adds to what Vert.x verifies (signature, and iss/aud/azp only when
 * present): a required audience, expiry, issue time, the nonce and the subject.
 */
@DisplayName("The ID token checks")
class IdTokenChecksTest {
  private static final String ISSUER = "https://login.example.com";
  private static final String CLIENT = "cloudsync-web";
  private static final String NONCE = "n-0S6_WzA2Mj";
  private static final long NOW = 1_800_000_000L;

  private static JsonObject valid() {
    return new JsonObject().put("iss", ISSUER).put("aud", CLIENT).put("sub", "248289761001")
        .put("exp", NOW + 300).put("iat", NOW - 10).put("nonce", NONCE);
  }

  private static String problem(JsonObject claims) {
    return OAuthLogins.idTokenProblem(claims, ISSUER, CLIENT, NONCE, NOW);
  }

  @Test
  @DisplayName("accept a token for this client, from the issuer, unexpired, with the nonce sent")
  void acceptsValid() {
    assertThat(problem(valid())).isNull();
    assertThat(problem(valid().put("aud", new JsonArray().add("other").add(CLIENT)).put("azp", CLIENT))).isNull();
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of("another issuer", (Consumer<JsonObject>) c -> c.put("iss", "https://evil.example.com"), "issuer"),
        Arguments.of("no audience", (Consumer<JsonObject>) c -> c.remove("aud"), "client"),
        Arguments.of("another audience", (Consumer<JsonObject>) c -> c.put("aud", "other"), "client"),
        Arguments.of("another authorized party", (Consumer<JsonObject>) c -> c.put("azp", "other"), "another client"),
        Arguments.of("no expiry", (Consumer<JsonObject>) c -> c.remove("exp"), "expired"),
        Arguments.of("an expiry in the past", (Consumer<JsonObject>) c -> c.put("exp", NOW - 3600), "expired"),
        Arguments.of("an issue time in the future", (Consumer<JsonObject>) c -> c.put("iat", NOW + 3600), "future"),
        Arguments.of("no nonce", (Consumer<JsonObject>) c -> c.remove("nonce"), "nonce"),
        Arguments.of("another nonce", (Consumer<JsonObject>) c -> c.put("nonce", "replayed"), "nonce"),
        Arguments.of("no subject", (Consumer<JsonObject>) c -> c.remove("sub"), "subject"));
  }

  @ParameterizedTest(name = "refuse a token with {0}")
  @MethodSource("refusals")
  @DisplayName("refuse")
  void refuses(String what, Consumer<JsonObject> change, String reason) {
    JsonObject claims = valid();
    change.accept(claims);
    assertThat(problem(claims)).contains(reason);
  }
}
