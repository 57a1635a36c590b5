package io.cloudsync.webhooks;

import io.cloudsync.auth.Secrets;
import io.cloudsync.storage.MasterKeys;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Webhook signing secrets at rest: {@code enc1:<master key id>:<base64 of nonce and AES-256-GCM
 * ciphertext>}. The AES key is derived from the master key (HMAC-SHA256 of a fixed label), so a
 * webhook secret never shares a key with chunk encryption; the endpoint id is the associated data,
 * so a ciphertext moved to another endpoint's row does not decrypt. Secrets under an earlier master
 * key decrypt while that key is configured in {@code storage.previous_master_keys}.
 */
public final class SecretBox {
  static final String PREFIX = "enc1:";
  private static final byte[] LABEL = "cloudsync webhook secrets v1".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  /** Why a stored secret cannot be read. */
  public static final class Unreadable extends Exception {
    Unreadable(String message) {
      super(message, null, false, false);
    }
  }

  private final MasterKeys keys;
  private final Map<String, SecretKey> derived = new ConcurrentHashMap<>();

  public SecretBox(MasterKeys keys) {
    this.keys = keys;
  }

  /** Whether a stored value is encrypted under the current master key. */
  public boolean current(String stored) {
    return stored != null && stored.startsWith(PREFIX + keys.currentId() + ":");
  }

  public String seal(String endpointId, String secret) {
    byte[] nonce = Secrets.randomBytes(NONCE_BYTES);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key(keys.currentId()), new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(endpointId.getBytes(StandardCharsets.US_ASCII));
      byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
      byte[] out = new byte[NONCE_BYTES + sealed.length];
      System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
      System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
      return PREFIX + keys.currentId() + ":" + Base64.getEncoder().encodeToString(out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is part of every JDK", e);
    }
  }

  /**
   * The secret of a stored value; a plaintext {@code whsec_} value (a row from before encryption,
   * until the start-up pass seals it) is answered as it is.
   */
  public String open(String endpointId, String stored) throws Unreadable {
    if (stored.startsWith(Endpoints.SECRET_PREFIX)) {
      return stored;
    }
    int colon = stored.indexOf(':', PREFIX.length());
    if (!stored.startsWith(PREFIX) || colon < 0) {
      throw new Unreadable("the stored secret is in no known form");
    }
    String keyId = stored.substring(PREFIX.length(), colon);
    if (keys.find(keyId) == null) {
      throw new Unreadable("the secret is encrypted under master key '" + keyId + "', which is not configured");
    }
    try {
      byte[] in = Base64.getDecoder().decode(stored.substring(colon + 1));
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key(keyId), new GCMParameterSpec(TAG_BITS, in, 0, NONCE_BYTES));
      cipher.updateAAD(endpointId.getBytes(StandardCharsets.US_ASCII));
      return new String(cipher.doFinal(in, NONCE_BYTES, in.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      throw new Unreadable("the secret does not decrypt under master key '" + keyId + "'");
    }
  }

  private SecretKey key(String keyId) {
    return derived.computeIfAbsent(keyId, id -> {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(keys.find(id).getEncoded(), "HmacSHA256"));
        return new SecretKeySpec(mac.doFinal(LABEL), "AES");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
      }
    });
  }
}
