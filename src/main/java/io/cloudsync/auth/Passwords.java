package io.cloudsync.auth;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id password hashes in PHC string form ({@code $argon2id$v=19$m=19456,t=2,p=1$salt$hash}),
 * at the OWASP-recommended cost; comparisons are constant-time. Hashing is CPU work: callers run
 * it off the event loop.
 */
public final class Passwords {
  public static final int MIN_LENGTH = 10;
  /** Longer inputs are refused before hashing, so a huge password cannot burn CPU. */
  public static final int MAX_LENGTH = 1024;
  private static final int MEMORY_KIB = 19 * 1024;
  private static final int ITERATIONS = 2;
  private static final int PARALLELISM = 1;
  private static final int SALT_BYTES = 16;
  private static final int HASH_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getDecoder();
  private static final Set<String> COMMON = loadCommon();

  private Passwords() {
  }

  /** Why a new password is refused, or null when it is acceptable. */
  public static String weakness(String password, String email) {
    if (password == null || password.length() < MIN_LENGTH) {
      return "Passwords need at least " + MIN_LENGTH + " characters";
    }
    if (password.length() > MAX_LENGTH) {
      return "Passwords may have at most " + MAX_LENGTH + " characters";
    }
    String lower = password.toLowerCase(Locale.ROOT);
    if (COMMON.contains(lower)) {
      return "This password is one of the most common ones; choose another";
    }
    if (email != null && lower.equals(email.toLowerCase(Locale.ROOT))) {
      return "The password may not be the email address";
    }
    return null;
  }

  public static String hash(String password) {
    byte[] salt = new byte[SALT_BYTES];
    RANDOM.nextBytes(salt);
    byte[] hash = argon2(password, salt, MEMORY_KIB, ITERATIONS, PARALLELISM, HASH_BYTES);
    return "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + ITERATIONS + ",p=" + PARALLELISM + "$"
        + B64.encodeToString(salt) + "$" + B64.encodeToString(hash);
  }

  /** Checks a password against a stored hash; a null hash still spends the time of one check. */
  public static boolean verify(String password, String stored) {
    if (password == null || password.length() > MAX_LENGTH) {
      return false;
    }
    String phc = stored == null ? Dummy.HASH : stored;
    String[] parts = phc.split("\\$");
    if (parts.length != 6 || !parts[1].equals("argon2id")) {
      return false;
    }
    int memory = 0;
    int iterations = 0;
    int parallelism = 0;
    for (String param : parts[3].split(",")) {
      String[] kv = param.split("=");
      switch (kv[0]) {
        case "m" -> memory = Integer.parseInt(kv[1]);
        case "t" -> iterations = Integer.parseInt(kv[1]);
        case "p" -> parallelism = Integer.parseInt(kv[1]);
        default -> {
          return false;
        }
      }
    }
    byte[] salt = B64D.decode(parts[4]);
    byte[] expected = B64D.decode(parts[5]);
    byte[] actual = argon2(password, salt, memory, iterations, parallelism, expected.length);
    return MessageDigest.isEqual(expected, actual) && stored != null;
  }

  private static byte[] argon2(String password, byte[] salt, int memory, int iterations, int parallelism, int length) {
    Argon2BytesGenerator generator = new Argon2BytesGenerator();
    generator.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
        .withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withMemoryAsKB(memory).withIterations(iterations).withParallelism(parallelism)
        .withSalt(salt).build());
    byte[] out = new byte[length];
    generator.generateBytes(password.getBytes(StandardCharsets.UTF_8), out);
    return out;
  }

  private static Set<String> loadCommon() {
    Set<String> out = new HashSet<>();
    try (InputStream in = Passwords.class.getResourceAsStream("/auth/common-passwords.txt")) {
      if (in == null) {
        throw new IllegalStateException("auth/common-passwords.txt is missing from the classpath");
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (!line.isEmpty() && !line.startsWith("#")) {
          out.add(line);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return Set.copyOf(out);
  }

  /**
   * Hashed against when an account does not exist, so a wrong email costs the same time as a
   * wrong password. A holder class: the Argon2 work happens on first verify, which callers run
   * off the event loop, not when the class is first touched (sign-up checks strength on it).
   */
  private static final class Dummy {
    static final String HASH = hash("not a real password, only spends the same time");
  }
}
