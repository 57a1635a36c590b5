package io.cloudsync.test;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/** A client of one CloudSync node's HTTP API, for tests: JSON in, responses out, optional bearer. */
public final class Api {
  private final WebClient client;
  private final int port;

  public Api(Vertx vertx, int port) {
    this.client = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false));
    this.port = port;
  }

  public WebClient client() {
    return client;
  }

  public int port() {
    return port;
  }

  public HttpRequest<Buffer> request(HttpMethod method, String path, String token) {
    HttpRequest<Buffer> request = client.request(method, port, "127.0.0.1", path);
    if (token != null) {
      request.putHeader("Authorization", "Bearer " + token);
    }
    return request;
  }

  public HttpResponse<Buffer> get(String path, String token) {
    return request(HttpMethod.GET, path, token).send().await();
  }

  public HttpResponse<Buffer> post(String path, String token, JsonObject body) {
    HttpRequest<Buffer> request = request(HttpMethod.POST, path, token);
    return body == null ? request.send().await() : request.sendJsonObject(body).await();
  }

  public HttpResponse<Buffer> post(String path, JsonObject body) {
    return post(path, null, body);
  }

  /** The value of one series in Prometheus text (what {@code /metrics} answers), 0 when it is not there. */
  public static double metric(String text, String series) {
    return text.lines().filter(line -> line.startsWith(series + " ")).findFirst()
        .map(line -> Double.parseDouble(line.substring(series.length() + 1).trim())).orElse(0.0);
  }

  /** Signs up and answers the user JSON. */
  public JsonObject signup(String email, String password) {
    HttpResponse<Buffer> response = post("/api/v1/auth/signup",
        new JsonObject().put("email", email).put("password", password));
    if (response.statusCode() != 201) {
      throw new AssertionError("sign-up failed: " + response.statusCode() + " " + response.bodyAsString());
    }
    return response.bodyAsJsonObject().getJsonObject("user");
  }

  /** Signs in and answers the token pair. */
  public JsonObject signIn(String email, String password) {
    HttpResponse<Buffer> response = post("/api/v1/auth/token",
        new JsonObject().put("email", email).put("password", password));
    if (response.statusCode() != 200) {
      throw new AssertionError("sign-in failed: " + response.statusCode() + " " + response.bodyAsString());
    }
    return response.bodyAsJsonObject();
  }

  /** Signs up and in; answers the access token. */
  public String newUser(String email) {
    signup(email, PASSWORD);
    return signIn(email, PASSWORD).getString("access_token");
  }

  public static final String PASSWORD = "correct horse battery staple";
}
