package io.cloudsync.auth;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.Arrays;
import java.util.UUID;

/**
 * The one place that decides whether a user may do an action in a space. Every handler and
 * verticle that touches a space asks it first, with the caller's id from the verified token; a
 * write asks {@link #decide} with the role it read under the space's lock.
 *
 * <p>Someone who is not a member of the space — or names a space that does not exist, or was
 * deleted — gets 404 {@code not_found}, so the existence of a space is never revealed. A member
 * whose role is too low gets 403 {@code forbidden}. Installation admins have no implicit access
 * to other people's spaces.
 */
public final class Access {
  /** What a caller wants to do, and the least role that may. */
  public enum Action {
    READ(SpaceRole.VIEWER),
    WRITE(SpaceRole.EDITOR),
    MANAGE_WEBHOOKS(SpaceRole.EDITOR),
    SHARE(SpaceRole.OWNER),
    ADMINISTER(SpaceRole.OWNER);

    private final SpaceRole least;

    Action(SpaceRole least) {
      this.least = least;
    }

    public SpaceRole least() {
      return least;
    }
  }

  private final Pool pool;

  public Access(Pool pool) {
    this.pool = pool;
  }

  /** The caller's role in the space when it allows the action; fails with 404 or 403 otherwise. */
  public Future<SpaceRole> require(String userId, String spaceId, Action action) {
    if (!isUuid(spaceId) || !isUuid(userId)) {
      return noSuchSpace();
    }
    return pool.preparedQuery("SELECT m.role FROM space_members m JOIN spaces s ON s.id = m.space_id "
            + "WHERE m.space_id = $1::uuid AND m.user_id = $2::uuid AND s.deleted_at IS NULL")
        .execute(Tuple.of(spaceId, userId))
        .compose(rows -> decide(rows.size() == 0 ? null : rows.iterator().next().getString("role"), action));
  }

  /**
   * The answer for a caller whose role in a live space is {@code role} (null when they are not a
   * member): the role when it allows the action, 404 or 403 otherwise. For writes that read the
   * role themselves, under the space's lock.
   */
  public static Future<SpaceRole> decide(String role, Action action) {
    SpaceRole parsed = SpaceRole.parse(role);
    if (parsed == null) {
      return noSuchSpace();
    }
    if (!parsed.atLeast(action.least())) {
      return Future.failedFuture(new ApiException(ErrorCode.FORBIDDEN,
          "Your role in this space (" + parsed.wireName() + ") does not allow this"));
    }
    return Future.succeededFuture(parsed);
  }

  /** The roles, as {@code space_members.role} holds them, that {@link #decide} lets do the action. */
  public static String[] rolesAllowing(Action action) {
    return Arrays.stream(SpaceRole.values()).filter(role -> role.atLeast(action.least()))
        .map(SpaceRole::wireName).toArray(String[]::new);
  }

  /** The 404 for a space that does not exist, was deleted, or is not the caller's. */
  public static <T> Future<T> noSuchSpace() {
    return Future.failedFuture(new ApiException(ErrorCode.NOT_FOUND, "No such space"));
  }

  public static boolean isUuid(String value) {
    if (value == null || value.length() != 36) {
      return false;
    }
    try {
      UUID.fromString(value);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
