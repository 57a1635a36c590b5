package io.cloudsync.auth;

import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;

/** EC P-256 keys for ES256: generation, PEM, JWK and RFC 7638 thumbprints (used as key ids). */
public final class EcKeys {
  /** A private key with its public half and key id. */
  public record SigningKey(String kid, String privatePem, JsonObject publicJwk, JsonObject privateJwk) {
  }

  private EcKeys() {
  }

  public static SigningKey generate() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair pair = generator.generateKeyPair();
      return of((ECPrivateKey) pair.getPrivate(), (ECPublicKey) pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads a PKCS#8 PEM private key and derives its public half. */
  public static SigningKey fromPem(String pem) {
    try {
      String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
      KeyFactory factory = KeyFactory.getInstance("EC");
      ECPrivateKey privateKey = (ECPrivateKey) factory.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
      if (privateKey.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IllegalArgumentException("the key is not on the P-256 curve");
      }
      ECNamedCurveParameterSpec curve = ECNamedCurveTable.getParameterSpec("secp256r1");
      org.bouncycastle.math.ec.ECPoint q = curve.getG().multiply(privateKey.getS()).normalize();
      ECPoint w = new ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
      ECPublicKey publicKey = (ECPublicKey) factory.generatePublic(new ECPublicKeySpec(w, privateKey.getParams()));
      return of(privateKey, publicKey);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("not an EC P-256 private key in PKCS#8 PEM form (" + e.getMessage() + ")", e);
    }
  }

  private static SigningKey of(ECPrivateKey privateKey, ECPublicKey publicKey) {
    String x = Secrets.base64Url(unsigned32(publicKey.getW().getAffineX()));
    String y = Secrets.base64Url(unsigned32(publicKey.getW().getAffineY()));
    String thumbprintInput = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}";
    String kid = Secrets.base64Url(Secrets.sha256(thumbprintInput.getBytes(StandardCharsets.UTF_8)));
    JsonObject publicJwk = new JsonObject().put("kty", "EC").put("crv", "P-256").put("x", x).put("y", y)
        .put("kid", kid).put("alg", "ES256").put("use", "sig");
    JsonObject privateJwk = publicJwk.copy().put("d", Secrets.base64Url(unsigned32(privateKey.getS())));
    String pem = "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(privateKey.getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
    return new SigningKey(kid, pem, publicJwk, privateJwk);
  }

  private static byte[] unsigned32(BigInteger value) {
    byte[] bytes = value.toByteArray();
    if (bytes.length == 32) {
      return bytes;
    }
    byte[] out = new byte[32];
    if (bytes.length > 32) {
      System.arraycopy(bytes, bytes.length - 32, out, 0, 32);
    } else {
      System.arraycopy(bytes, 0, out, 32 - bytes.length, bytes.length);
    }
    return out;
  }
}
