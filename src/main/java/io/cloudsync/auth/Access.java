package io.cloudsync.auth;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;

/**
 * The one place that decides whether a user may do an action in a space. Every handler and
 * verticle that touches a space asks it first, with the caller's id from the verified token.
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
      return notFound();
    }
    return pool.preparedQuery("SELECT m.role FROM space_members m JOIN spaces s ON s.id = m.space_id "
            + "WHERE m.space_id = $1::uuid AND m.user_id = $2::uuid AND s.deleted_at IS NULL")
        .execute(Tuple.of(spaceId, userId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return notFound();
          }
          SpaceRole role = SpaceRole.parse(rows.iterator().next().getString("role"));
          if (role == null) {
            return notFound();
          }
          if (!role.atLeast(action.least())) {
            return Future.failedFuture(new ApiException(ErrorCode.FORBIDDEN,
                "Your role in this space (" + role.wireName() + ") does not allow this"));
          }
          return Future.succeededFuture(role);
        });
  }

  private static <T> Future<T> notFound() {
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
