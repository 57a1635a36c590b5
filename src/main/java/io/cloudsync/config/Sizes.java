package io.cloudsync.config;

import java.util.Locale;

/** Parses whole numbers with an optional binary size suffix: {@code 512}, {@code 64k}, {@code 5g}. */
final class Sizes {
  private Sizes() {
  }

  static long parse(String text) {
    String value = text.trim().toLowerCase(Locale.ROOT);
    if (value.endsWith("ib")) {
      value = value.substring(0, value.length() - 2);
    } else if (value.endsWith("b") && value.length() > 1 && !Character.isDigit(value.charAt(value.length() - 2))) {
      value = value.substring(0, value.length() - 1);
    }
    long factor = 1;
    if (!value.isEmpty()) {
      switch (value.charAt(value.length() - 1)) {
        case 'k' -> factor = 1L << 10;
        case 'm' -> factor = 1L << 20;
        case 'g' -> factor = 1L << 30;
        case 't' -> factor = 1L << 40;
        default -> factor = 1;
      }
      if (factor != 1) {
        value = value.substring(0, value.length() - 1).trim();
      }
    }
    return Math.multiplyExact(Long.parseLong(value), factor);
  }
}
