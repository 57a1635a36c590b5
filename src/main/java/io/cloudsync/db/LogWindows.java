package io.cloudsync.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * One round of a relay that follows many spaces' change logs (webhook deliveries, e-mail
 * notifications): for each space behind, the window of seqs it takes this round, {@code done}
 * (exclusive) to {@code upto} (inclusive), at most {@link #CHANGES_PER_SPACE} wide, for at most
 * {@link #SPACES_PER_ROUND} spaces. Statements select the window's changes with
 * {@link #FROM_CHANGES} and the three arrays of {@link #tuple()} as $1–$3, then record the new
 * positions with {@link #advance}.
 *
 * <p>Spaces are taken in id order from where the relay's {@link Lap} stands, so with more spaces
 * behind than one round takes, each still gets its turn: busy spaces with low ids cannot hold the
 * others back.
 */
public final class LogWindows {
  public static final int SPACES_PER_ROUND = 100;
  public static final int CHANGES_PER_SPACE = 500;
  /** The windows as a relation {@code w(space, done, upto)}, from parameters $1–$3. */
  public static final String WINDOWS = "unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS w(space, done, upto)";
  /** The windows' changes as {@code c}. */
  public static final String FROM_CHANGES = "FROM " + WINDOWS + " JOIN changes c ON c.space_id = w.space "
      + "AND c.seq > w.done AND c.seq <= w.upto ";

  /** Where a relay's walk over the spaces behind stands. Used on the relay's one connection, not shared. */
  public static final class Lap {
    private static final String FIRST = "00000000-0000-0000-0000-000000000000";
    private String after = FIRST;

    /** The round's spaces come after this id ($2 of the query that finds them, as {@code s.id > $2::uuid}). */
    public String after() {
      return after;
    }
  }

  /** Runs one round in a transaction on the relay's connection: its writes and its positions move together. */
  public static <T> Future<T> inTransaction(SqlConnection conn, Supplier<Future<T>> round) {
    return conn.begin().compose(tx -> round.get()
        .compose(result -> tx.commit().map(result))
        .recover(e -> tx.rollback().transform(v -> Future.failedFuture(e))));
  }

  private final UUID[] spaces;
  private final Long[] done;
  private final Long[] upto;
  private final boolean more;

  private LogWindows(UUID[] spaces, Long[] done, Long[] upto, boolean more) {
    this.spaces = spaces;
    this.done = done;
    this.upto = upto;
    this.more = more;
  }

  /**
   * The windows of the spaces a query found behind after {@code lap.after()}, in id order, limited
   * to {@link #SPACES_PER_ROUND}: rows of {@code id} (text), {@code done} (the relay's position) and
   * {@code head} (the space's newest seq). Moves the lap past them, or back to the start when the
   * query found fewer than a round takes.
   */
  public static LogWindows of(RowSet<Row> rows, Lap lap) {
    int n = rows.size();
    UUID[] spaces = new UUID[n];
    Long[] done = new Long[n];
    Long[] upto = new Long[n];
    boolean full = n == SPACES_PER_ROUND;
    // A lap that began part-way may have passed spaces that fell behind since: go round again.
    boolean more = full || !lap.after.equals(Lap.FIRST);
    int i = 0;
    for (Row row : rows) {
      long from = row.getLong("done");
      long head = row.getLong("head");
      long to = Math.min(head, from + CHANGES_PER_SPACE);
      more |= to < head;
      spaces[i] = UUID.fromString(row.getString("id"));
      done[i] = from;
      upto[i] = to;
      i++;
    }
    lap.after = full ? spaces[n - 1].toString() : Lap.FIRST;
    return new LogWindows(spaces, done, upto, more);
  }

  public boolean isEmpty() {
    return spaces.length == 0;
  }

  /** Whether spaces are still behind after this round: another round is due at once. */
  public boolean more() {
    return more;
  }

  /** A new tuple of $1–$3; statements add their own parameters after them. */
  public Tuple tuple() {
    return Tuple.tuple().addArrayOfUUID(spaces).addArrayOfLong(done).addArrayOfLong(upto);
  }

  /** Records each space's new position, {@code upto}, in {@code table (space_id, seq)}; positions never go back. */
  public Future<Void> advance(SqlClient conn, String table) {
    return conn.preparedQuery("INSERT INTO " + table + " (space_id, seq) SELECT w.space, w.upto FROM " + WINDOWS
            + " ON CONFLICT (space_id) DO UPDATE SET seq = greatest(" + table + ".seq, excluded.seq)")
        .execute(tuple())
        .mapEmpty();
  }
}
