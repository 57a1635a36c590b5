package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Credential primitives")
class CredentialsTest {
  @Test
  @DisplayName("TOTP matches the RFC 6238 SHA-1 test vectors")
  void totpVectors() {
    String secret = Totp.base32("12345678901234567890".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThat(Totp.code(secret, Totp.step(59))).isEqualTo("287082");
    assertThat(Totp.code(secret, Totp.step(1111111109))).isEqualTo("081804");
    assertThat(Totp.code(secret, Totp.step(1234567890))).isEqualTo("005924");
    assertThat(Totp.code(secret, Totp.step(2000000000))).isEqualTo("279037");
  }

  @Test
  @DisplayName("TOTP accepts one step of skew, never a step at or before the last one used, and no other shapes")
  void totpWindowAndReplay() {
    String secret = Totp.newSecret();
    long now = 1_800_000_000L;
    long step = Totp.step(now);
    assertThat(Totp.matchingStep(secret, Totp.code(secret, step - 1), now, 0)).isEqualTo(step - 1);
    assertThat(Totp.matchingStep(secret, Totp.code(secret, step + 1), now, 0)).isEqualTo(step + 1);
    assertThat(Totp.matchingStep(secret, Totp.code(secret, step + 2), now, 0)).isEqualTo(-1);
    assertThat(Totp.matchingStep(secret, Totp.code(secret, step), now, step)).isEqualTo(-1);
    assertThat(Totp.matchingStep(secret, "12345", now, 0)).isEqualTo(-1);
    assertThat(Totp.matchingStep(secret, null, now, 0)).isEqualTo(-1);
  }

  @Test
  @DisplayName("Argon2id hashes are salted PHC strings that verify only the right password")
  void argon2() {
    String hash = Passwords.hash("a long enough password");
    assertThat(hash).startsWith("$argon2id$v=19$m=19456,t=2,p=1$");
    assertThat(Passwords.hash("a long enough password")).isNotEqualTo(hash);
    assertThat(Passwords.verify("a long enough password", hash)).isTrue();
    assertThat(Passwords.verify("a long enough passworD", hash)).isFalse();
    assertThat(Passwords.verify("anything", null)).isFalse();
    assertThat(Passwords.verify("x".repeat(Passwords.MAX_LENGTH + 1), hash)).isFalse();
  }

  @Test
  @DisplayName("emails are trimmed, NFC-normalized and lower-cased, and non-addresses refused")
  void emails() {
    assertThat(Emails.normalize("  Ann@Example.COM ")).isEqualTo("ann@example.com");
    assertThat(Emails.normalize("re\u0301my@example.com")).isEqualTo("r\u00e9my@example.com");
    assertThat(Emails.normalize("no-at-sign")).isNull();
    assertThat(Emails.normalize("two@@example.com")).isNull();
    assertThat(Emails.normalize("a@b")).isNull();
    assertThat(Emails.normalize(null)).isNull();
  }
}
