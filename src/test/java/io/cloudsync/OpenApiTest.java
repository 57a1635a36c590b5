package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("The OpenAPI document")
@ExtendWith(RealServers.class)
class OpenApiTest {
  @Test
  @DisplayName("describes exactly the routes the gateway serves, no more and no fewer")
  void matchesRouter(Servers servers) {
    Vertx vertx = Vertx.vertx();
    try {
      CloudSyncHandle handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers));
      JsonObject doc = WebClient.create(vertx).get(handle.httpPort(), "127.0.0.1", "/api/v1/openapi.json")
          .send().await().bodyAsJsonObject();

      Set<String> documented = new TreeSet<>();
      JsonObject paths = doc.getJsonObject("paths");
      for (String path : paths.fieldNames()) {
        for (String method : paths.getJsonObject(path).fieldNames()) {
          documented.add(method.toUpperCase(Locale.ROOT) + " " + path);
        }
      }
      Set<String> served = new TreeSet<>();
      for (String route : handle.routes()) {
        // ":param" is "{param}" in OpenAPI, and the one wildcard route takes the rest as {path}.
        served.add(route.replaceAll(":([A-Za-z_][A-Za-z0-9_]*)", "{$1}").replaceAll("/\\*?$", "/{path}")
            .replace("/{path}", route.endsWith("*") || route.endsWith("/") ? "/{path}" : "/{path}"));
      }
      assertThat(doc.getString("openapi")).startsWith("3.");
      assertThat(served).isNotEmpty();
      assertThat(documented).isEqualTo(served);
      handle.close().await();
    } finally {
      vertx.close().await();
    }
  }
}
