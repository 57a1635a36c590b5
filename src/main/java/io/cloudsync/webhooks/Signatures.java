package io.cloudsync.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.List;
import java.util.StringJoiner;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks 1.0 signing: {@code v1,<base64 of HMAC-SHA256 of "<id>.<timestamp>.<body>">},
 * keyed with the base64-decoded part of the secret after {@code whsec_}. Several signatures (one
 * per secret in use, as during a rotation) are separated by spaces in one header.
 */
public final class Signatures {
  private Signatures() {
  }

  /** The {@code webhook-signature} header: one {@code v1,} signature per secret. */
  public static String header(String messageId, long timestampSeconds, String body, List<String> secrets) {
    StringJoiner header = new StringJoiner(" ");
    for (String secret : secrets) {
      header.add("v1," + sign(messageId, timestampSeconds, body, secret));
    }
    return header.toString();
  }

  static String sign(String messageId, long timestampSeconds, String body, String secret) {
    String encoded = secret.startsWith(Endpoints.SECRET_PREFIX) ? secret.substring(Endpoints.SECRET_PREFIX.length()) : secret;
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(encoded), "HmacSHA256"));
      byte[] digest = mac.doFinal((messageId + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** The event type of a change kind: {@code member.shared}, {@code member.unshared}, else {@code node.<kind>}. */
  public static String type(String kind) {
    return (kind.equals("shared") || kind.equals("unshared") ? "member." : "node.") + kind;
  }
}
