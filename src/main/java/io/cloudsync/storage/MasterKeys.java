package io.cloudsync.storage;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.db.StartupException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The AES-256 master keys that wrap chunk data keys: the current one, which encrypts new chunks,
 * and every earlier one by id, which still decrypt old chunks.
 *
 * <p>With {@code storage.master_key} set, that key is current under {@code storage.master_key_id}.
 * Without it, the first node to start generates a key and stores it in PostgreSQL (table
 * {@code master_keys}); nodes starting together take an advisory lock first, so the cluster agrees
 * on one key. Stored keys are always loaded as well, so chunks written while running on a
 * generated key stay readable after an operator configures one.
 */
public final class MasterKeys {
  private static final Logger LOG = LoggerFactory.getLogger(MasterKeys.class);
  /** Only has to be the same on every node and differ from the migrations' lock. */
  private static final long LOCK_KEY = 0x436c6f75644b6579L;
  private static final int KEY_BYTES = 32;
  private static final String GENERATED_PREFIX = "gen-";

  private final String currentId;
  private final SecretKey current;
  private final Map<String, SecretKey> byId;

  private MasterKeys(String currentId, Map<String, byte[]> keys) {
    Map<String, SecretKey> all = new LinkedHashMap<>();
    keys.forEach((id, bytes) -> all.put(id, aesKey(id, bytes)));
    this.currentId = currentId;
    this.current = all.get(currentId);
    this.byId = Collections.unmodifiableMap(all);
  }

  /** Keys given directly (tests, tools): {@code previous} maps id to key bytes. */
  public static MasterKeys of(String currentId, byte[] currentKey, Map<String, byte[]> previous) {
    Map<String, byte[]> keys = new LinkedHashMap<>();
    previous.forEach((id, bytes) -> add(keys, id, bytes));
    add(keys, currentId, currentKey);
    return new MasterKeys(currentId, keys);
  }

  /** A fresh random 256-bit key. */
  public static byte[] generate() {
    byte[] key = new byte[KEY_BYTES];
    new SecureRandom().nextBytes(key);
    return key;
  }

  /**
   * The keys of this installation: the configured ones, plus every key stored in PostgreSQL; when no
   * key is configured and none is stored yet, one is generated and stored.
   */
  public static Future<MasterKeys> load(Vertx vertx, Pool pool, CloudSyncConfig.Files files) {
    Map<String, byte[]> configured = new LinkedHashMap<>();
    try {
      files.previousMasterKeys().forEach((id, base64) -> add(configured, id, decode(id, base64)));
      if (!files.masterKey().isEmpty()) {
        add(configured, files.masterKeyId(), decode(files.masterKeyId(), files.masterKey()));
      }
    } catch (StartupException e) {
      return Future.failedFuture(e);
    }
    boolean generateIfNone = files.masterKey().isEmpty();
    return pool.withTransaction(conn -> conn.query("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")").execute()
            .compose(locked -> conn.query("SELECT id, key_base64 FROM master_keys ORDER BY created_at, id").execute())
            .compose(rows -> {
              Map<String, byte[]> stored = new LinkedHashMap<>();
              for (Row row : rows) {
                stored.put(row.getString("id"), decode(row.getString("id"), row.getString("key_base64")));
              }
              if (!generateIfNone || !stored.isEmpty()) {
                return Future.succeededFuture(stored);
              }
              String id = GENERATED_PREFIX + HexFormat.of().formatHex(generate(), 0, 8);
              byte[] key = generate();
              return conn.preparedQuery("INSERT INTO master_keys (id, key_base64) VALUES ($1, $2)")
                  .execute(Tuple.of(id, Base64.getEncoder().encodeToString(key)))
                  .map(inserted -> {
                    LOG.warn("storage.master_key is not set: generated master key '{}' and stored it in PostgreSQL. "
                        + "Set storage.master_key in production and keep it apart from the database.", id);
                    stored.put(id, key);
                    return stored;
                  });
            }))
        .map(stored -> {
          Map<String, byte[]> keys = new LinkedHashMap<>();
          stored.forEach((id, bytes) -> add(keys, id, bytes));
          configured.forEach((id, bytes) -> add(keys, id, bytes));
          String currentId = generateIfNone ? newestOf(stored) : files.masterKeyId();
          return new MasterKeys(currentId, keys);
        });
  }

  private static String newestOf(Map<String, byte[]> stored) {
    String newest = null;
    for (String id : stored.keySet()) {
      newest = id;
    }
    return newest;
  }

  private static void add(Map<String, byte[]> keys, String id, byte[] bytes) {
    byte[] known = keys.get(id);
    if (known != null && !java.util.Arrays.equals(known, bytes)) {
      throw new StartupException("master key id '" + id + "' names two different keys; "
          + "a key id must never be reused for other key bytes");
    }
    keys.put(id, bytes);
  }

  private static byte[] decode(String id, String base64) {
    try {
      byte[] bytes = Base64.getDecoder().decode(base64.trim());
      if (bytes.length == KEY_BYTES) {
        return bytes;
      }
    } catch (IllegalArgumentException e) {
      // Reported below without echoing the key.
    }
    throw new StartupException("master key '" + id + "' is not base64 of exactly 32 bytes");
  }

  private static SecretKey aesKey(String id, byte[] bytes) {
    if (bytes.length != KEY_BYTES) {
      throw new IllegalArgumentException("master key '" + id + "' must be 32 bytes");
    }
    if (id.isEmpty() || id.length() > 64 || !id.chars().allMatch(c -> c > 32 && c < 127)) {
      throw new IllegalArgumentException("a master key id is 1 to 64 printable ASCII characters");
    }
    return new SecretKeySpec(bytes, "AES");
  }

  /** The id recorded in chunks encrypted now. */
  public String currentId() {
    return currentId;
  }

  public SecretKey current() {
    return current;
  }

  /** The key with this id, current or earlier; null when there is none. */
  public SecretKey find(String id) {
    return byId.get(id);
  }

  public Set<String> ids() {
    return byId.keySet();
  }

  @Override
  public String toString() {
    return "MasterKeys[current=" + currentId + ", ids=" + byId.keySet() + "]";
  }
}
