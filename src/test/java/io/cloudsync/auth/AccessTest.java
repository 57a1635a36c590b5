package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.db.Migrations;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("The access check")
@ExtendWith(RealServers.class)
class AccessTest {
  private static Vertx vertx;
  private static Pool pool;
  private static Access access;
  private static String space;
  private static String deletedSpace;
  private static final java.util.Map<String, String> USERS = new java.util.HashMap<>();

  @BeforeAll
  static void setUp(Servers servers) {
    vertx = Vertx.vertx();
    pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(servers.newDatabaseUrl())).using(vertx).build();
    Migrations.apply(vertx, pool).await();
    for (String name : new String[] {"owner", "editor", "viewer", "stranger"}) {
      USERS.put(name, pool.preparedQuery("INSERT INTO users (email, display_name) VALUES ($1, $1) RETURNING id::text")
          .execute(Tuple.of(name + "@example.com")).await().iterator().next().getString(0));
    }
    space = newSpace();
    deletedSpace = newSpace();
    pool.preparedQuery("UPDATE spaces SET deleted_at = now() WHERE id = $1::uuid").execute(Tuple.of(deletedSpace)).await();
    access = new Access(pool);
  }

  private static String newSpace() {
    String id = pool.preparedQuery("INSERT INTO spaces (name, owner_id) VALUES ('s', $1::uuid) RETURNING id::text")
        .execute(Tuple.of(USERS.get("owner"))).await().iterator().next().getString(0);
    for (String role : new String[] {"owner", "editor", "viewer"}) {
      pool.preparedQuery("INSERT INTO space_members (space_id, user_id, role) VALUES ($1::uuid, $2::uuid, $3)")
          .execute(Tuple.of(id, USERS.get(role), role)).await();
    }
    return id;
  }

  @AfterAll
  static void tearDown() {
    vertx.close().await();
  }

  private static ErrorCode outcome(String user, String spaceId, Access.Action action) {
    try {
      access.require(USERS.getOrDefault(user, user), spaceId, action).await();
      return null;
    } catch (ApiException e) {
      return e.code();
    }
  }

  @ParameterizedTest(name = "{0} may {1}: {2}")
  @CsvSource({
      "owner, READ, allowed", "owner, WRITE, allowed", "owner, SHARE, allowed", "owner, ADMINISTER, allowed",
      "editor, READ, allowed", "editor, WRITE, allowed", "editor, MANAGE_WEBHOOKS, allowed", "editor, SHARE, forbidden",
      "viewer, READ, allowed", "viewer, WRITE, forbidden", "viewer, MANAGE_WEBHOOKS, forbidden",
      "stranger, READ, not_found", "stranger, WRITE, not_found"})
  @DisplayName("decides by the member's role, and hides the space from non-members")
  void decisions(String user, Access.Action action, String expected) {
    ErrorCode code = outcome(user, space, action);
    assertThat(code == null ? "allowed" : code.code()).isEqualTo(expected);
  }

  @Test
  @DisplayName("answers 404 for deleted spaces, unknown ids and ids that are not ids")
  void unknownSpaces() {
    assertThat(outcome("owner", deletedSpace, Access.Action.READ)).isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(outcome("owner", UUID.randomUUID().toString(), Access.Action.READ)).isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(outcome("owner", "'; DROP TABLE spaces; --", Access.Action.READ)).isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(access.require(USERS.get("viewer"), space, Access.Action.READ).await()).isEqualTo(SpaceRole.VIEWER);
    assertThatThrownBy(() -> access.require(USERS.get("viewer"), space, Access.Action.WRITE).await())
        .hasMessageContaining("viewer");
  }
}
