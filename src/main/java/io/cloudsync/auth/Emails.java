package io.cloudsync.auth;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/** One spelling per address: trimmed, NFC, lower-case; so the same person cannot sign up twice. */
public final class Emails {
  private static final Pattern SHAPE = Pattern.compile("^[^@\\s\\p{Cntrl}]{1,64}@[^@\\s\\p{Cntrl}]+\\.[^@\\s\\p{Cntrl}]+$");

  private Emails() {
  }

  /** The normalized address, or null when it is not an email address. */
  public static String normalize(String email) {
    if (email == null) {
      return null;
    }
    String value = Normalizer.normalize(email.trim(), Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
    return value.length() <= 254 && SHAPE.matcher(value).matches() ? value : null;
  }
}
