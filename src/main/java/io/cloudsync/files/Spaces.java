package io.cloudsync.files;

import io.cloudsync.auth.Access;
import io.cloudsync.auth.Emails;
import io.cloudsync.auth.SpaceRole;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * Spaces and their members. Any signed-in user may create a space and owns it; renaming, deleting
 * and sharing take the owner role. A space keeps at least one owner: the last one cannot leave or
 * be demoted. Membership changes go to the change log as {@code shared} / {@code unshared}.
 */
public final class Spaces {
  private static final String SPACE_COLUMNS = "s.id::text AS id, s.name, s.owner_id::text AS owner_id, "
      + "s.conflict_policy, s.created_at, s.next_seq AS head";
  private static final String MEMBER_COLUMNS = "u.id::text AS user_id, u.email, u.display_name, m.role, m.added_at";

  private final Pool pool;
  private final Access access;
  private final ChangeLog log;

  public Spaces(Pool pool, Access access, ChangeLog log) {
    this.pool = pool;
    this.access = access;
    this.log = log;
  }

  private static JsonObject spaceJson(Row row, String role) {
    return new JsonObject()
        .put("id", row.getString("id"))
        .put("name", row.getString("name"))
        .put("owner_id", row.getString("owner_id"))
        .put("conflict_policy", row.getString("conflict_policy"))
        .put("created_at", Tree.instant(row.getOffsetDateTime("created_at")))
        .put("head", row.getLong("head"))
        .put("role", role);
  }

  private static JsonObject memberJson(Row row) {
    return new JsonObject()
        .put("user_id", row.getString("user_id"))
        .put("email", row.getString("email"))
        .put("display_name", row.getString("display_name"))
        .put("role", row.getString("role"))
        .put("added_at", Tree.instant(row.getOffsetDateTime("added_at")));
  }

  private static String policy(JsonObject request, String fallback) {
    String value = Requests.string(request, "conflict_policy");
    if (value == null) {
      return fallback;
    }
    if (!value.equals("manual") && !value.equals("last_writer_wins")) {
      throw Requests.bad("conflict_policy must be manual or last_writer_wins");
    }
    return value;
  }

  public Future<JsonObject> create(JsonObject request) {
    String actor = request.getString("actor");
    String name = Names.spaceName(Requests.string(request, "name"));
    String policy = policy(request, "manual");
    return pool.withTransaction(conn -> conn.preparedQuery("INSERT INTO spaces AS s (name, owner_id, conflict_policy) "
                + "VALUES ($1, $2::uuid, $3) RETURNING " + SPACE_COLUMNS)
            .execute(Tuple.of(name, actor, policy))
            .compose(rows -> conn.preparedQuery("INSERT INTO space_members (space_id, user_id, role) "
                    + "VALUES ($1::uuid, $2::uuid, 'owner')")
                .execute(Tuple.of(rows.iterator().next().getString("id"), actor))
                .map(spaceJson(rows.iterator().next(), "owner"))));
  }

  public Future<JsonObject> list(JsonObject request) {
    int limit = Requests.limit(request, 100, 500);
    int offset = Requests.offset(request);
    return pool.preparedQuery("SELECT " + SPACE_COLUMNS + ", m.role FROM spaces s JOIN space_members m "
            + "ON m.space_id = s.id AND m.user_id = $1::uuid WHERE s.deleted_at IS NULL "
            + "ORDER BY lower(s.name), s.id LIMIT $2 OFFSET $3")
        .execute(Tuple.of(request.getString("actor"), limit + 1, offset))
        .map(rows -> {
          JsonArray spaces = new JsonArray();
          for (Row row : rows) {
            if (spaces.size() < limit) {
              spaces.add(spaceJson(row, row.getString("role")));
            }
          }
          return new JsonObject().put("spaces", spaces).put("has_more", rows.size() > limit);
        });
  }

  public Future<JsonObject> get(JsonObject request) {
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> read(pool, space, role.wireName()));
  }

  private static Future<JsonObject> read(SqlClient client, String space, String role) {
    return client.preparedQuery("SELECT " + SPACE_COLUMNS + " FROM spaces s WHERE s.id = $1::uuid")
        .execute(Tuple.of(space))
        .map(rows -> spaceJson(rows.iterator().next(), role));
  }

  public Future<JsonObject> update(JsonObject request) {
    String space = request.getString("space");
    String rawName = Requests.string(request, "name");
    String name = rawName == null ? null : Names.spaceName(rawName);
    String policy = policy(request, null);
    return access.require(request.getString("actor"), space, Access.Action.ADMINISTER)
        .compose(role -> pool.preparedQuery("UPDATE spaces SET name = coalesce($2, name), "
                + "conflict_policy = coalesce($3, conflict_policy) WHERE id = $1::uuid")
            .execute(Tuple.of(space, name, policy))
            .compose(done -> read(pool, space, role.wireName())));
  }

  /** Soft delete: the space disappears for everyone at once; its rows stay for recovery by an operator. */
  public Future<JsonObject> delete(JsonObject request) {
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.ADMINISTER)
        .compose(role -> pool.preparedQuery("UPDATE spaces SET deleted_at = now() WHERE id = $1::uuid AND deleted_at IS NULL")
            .execute(Tuple.of(space)))
        .onSuccess(done -> log.notice(space, ChangeLog.SPACE_DELETED))
        .map(new JsonObject());
  }

  public Future<JsonObject> members(JsonObject request) {
    String space = request.getString("space");
    return access.require(request.getString("actor"), space, Access.Action.READ)
        .compose(role -> pool.preparedQuery("SELECT " + MEMBER_COLUMNS + " FROM space_members m JOIN users u "
                + "ON u.id = m.user_id WHERE m.space_id = $1::uuid ORDER BY m.added_at, u.id")
            .execute(Tuple.of(space)))
        .map(rows -> {
          JsonArray members = new JsonArray();
          rows.forEach(row -> members.add(memberJson(row)));
          return new JsonObject().put("members", members);
        });
  }

  /** Adds a member or changes their role: {@code user} (id) or {@code email}, and {@code role}. */
  public Future<JsonObject> share(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    SpaceRole role = SpaceRole.parse(Requests.string(request, "role"));
    if (role == null) {
      return Future.failedFuture(Requests.bad("role must be owner, editor or viewer"));
    }
    String userId = Requests.string(request, "user");
    String email = Requests.string(request, "email");
    // The user is looked up before the transaction, so the space is not held for it, and any
    // failure told only once the role check under the lock has passed, as before it.
    Future<String> found = findUser(userId, email);
    return found.transform(looked -> log.write(space, actor, Access.Action.SHARE, (tx, locked) -> found
        .compose(target -> currentRole(tx.conn(), space, target).compose(current -> {
          if (current == role) {
            return memberOf(tx.conn(), space, target);
          }
          Future<Void> allowed = current == SpaceRole.OWNER
              ? requireAnotherOwner(tx.conn(), space, "The last owner cannot be demoted; make someone else owner first")
              : Future.succeededFuture();
          return allowed
              .compose(v -> tx.conn().preparedQuery("INSERT INTO space_members (space_id, user_id, role) "
                      + "VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT (space_id, user_id) DO UPDATE SET role = $3")
                  .execute(Tuple.of(space, target, role.wireName())))
              .compose(v -> memberOf(tx.conn(), space, target))
              .compose(member -> log.append(tx, space, null, "shared", null, actor, member).map(member));
        }))));
  }

  /** Removes a member: the owner may remove anyone, any member may leave. */
  public Future<JsonObject> unshare(JsonObject request) {
    String actor = request.getString("actor");
    String space = request.getString("space");
    String target = Requests.string(request, "user");
    Access.Action needed = actor.equals(target) ? Access.Action.READ : Access.Action.SHARE;
    return log.write(space, actor, needed, (tx, locked) -> (Access.isUuid(target) ? Future.<Void>succeededFuture()
            : Tree.<Void>notFound("No such member"))
            .compose(ok -> currentRole(tx.conn(), space, target)
                .compose(current -> {
                  if (current == null) {
                    return Tree.<Void>notFound("No such member");
                  }
                  return current == SpaceRole.OWNER ? requireAnotherOwner(tx.conn(), space,
                      "The last owner cannot leave; make someone else owner first, or delete the space")
                      : Future.<Void>succeededFuture();
                })
                .compose(v -> memberOf(tx.conn(), space, target))
                .compose(member -> tx.conn().preparedQuery("DELETE FROM space_members WHERE space_id = $1::uuid "
                        + "AND user_id = $2::uuid").execute(Tuple.of(space, target))
                    // The owner of record (whose quota the space counts against) passes to the longest-standing owner.
                    .compose(v -> locked.ownerId().equals(target)
                        ? tx.conn().preparedQuery("UPDATE spaces SET owner_id = (SELECT user_id FROM space_members "
                                + "WHERE space_id = $1::uuid AND role = 'owner' ORDER BY added_at, user_id LIMIT 1) "
                                + "WHERE id = $1::uuid").execute(Tuple.of(space)).mapEmpty()
                        : Future.<Void>succeededFuture())
                    .compose(v -> log.append(tx, space, null, "unshared", null, actor, member)))))
        .map(new JsonObject());
  }

  private Future<String> findUser(String userId, String email) {
    if (userId != null) {
      if (!Access.isUuid(userId)) {
        return Tree.notFound("No such user");
      }
      return pool.preparedQuery("SELECT id::text FROM users WHERE id = $1::uuid AND disabled_at IS NULL")
          .execute(Tuple.of(userId))
          .compose(rows -> rows.size() == 0 ? Tree.notFound("No such user") : Future.succeededFuture(userId));
    }
    String normalized = Emails.normalize(email);
    if (normalized == null) {
      return Future.failedFuture(Requests.bad("email must be an email address"));
    }
    return pool.preparedQuery("SELECT id::text FROM users WHERE email = $1 AND disabled_at IS NULL")
        .execute(Tuple.of(normalized))
        .compose(rows -> rows.size() == 0 ? Tree.notFound("No user has this email")
            : Future.succeededFuture(rows.iterator().next().getString(0)));
  }

  private static Future<SpaceRole> currentRole(SqlClient conn, String space, String user) {
    return conn.preparedQuery("SELECT role FROM space_members WHERE space_id = $1::uuid AND user_id = $2::uuid")
        .execute(Tuple.of(space, user))
        .map(rows -> rows.size() == 0 ? null : SpaceRole.parse(rows.iterator().next().getString(0)));
  }

  private static Future<JsonObject> memberOf(SqlClient conn, String space, String user) {
    return conn.preparedQuery("SELECT " + MEMBER_COLUMNS + " FROM space_members m JOIN users u ON u.id = m.user_id "
            + "WHERE m.space_id = $1::uuid AND m.user_id = $2::uuid")
        .execute(Tuple.of(space, user))
        .map(rows -> memberJson(rows.iterator().next()));
  }

  private static Future<Void> requireAnotherOwner(SqlClient conn, String space, String message) {
    return conn.preparedQuery("SELECT count(*) FROM space_members WHERE space_id = $1::uuid AND role = 'owner'")
        .execute(Tuple.of(space))
        .compose(rows -> rows.iterator().next().getLong(0) > 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new ApiException(ErrorCode.CONFLICT, message)));
  }
}
