package io.cloudsync.config;

import java.util.List;
import java.util.Locale;

/**
 * One configuration key. Every key CloudSync reads is declared in {@link Settings}; the README's
 * configuration table and {@code conf/cloudsync.yaml} document the same list.
 *
 * <p>Names are dotted paths ({@code http.port}); the YAML file may nest them. The environment
 * variable is {@code CLOUDSYNC_} + the name upper-cased with dots as underscores
 * ({@code http.port} → {@code CLOUDSYNC_HTTP_PORT}); the system property is {@code cloudsync.} +
 * the name ({@code -Dcloudsync.http.port=9090}).
 */
public record Setting(String name, Type type, Object defaultValue, String description, List<String> choices) {

  public enum Type { STRING, INT, LONG, BOOL, LIST, CHOICE }

  public static final String ENV_PREFIX = "CLOUDSYNC_";
  public static final String PROPERTY_PREFIX = "cloudsync.";

  public String envName() {
    return ENV_PREFIX + name.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  public String propertyName() {
    return PROPERTY_PREFIX + name;
  }

  /** Converts a raw value (from YAML, JSON, an env variable or a property) to this key's type. */
  public Object parse(Object raw) {
    if (raw == null) {
      return defaultValue;
    }
    switch (type) {
      case STRING:
        return raw.toString().trim();
      case INT: {
        long value = parseLong(raw);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
          throw invalid(raw, "an integer");
        }
        return (int) value;
      }
      case LONG:
        return parseLong(raw);
      case BOOL: {
        if (raw instanceof Boolean b) {
          return b;
        }
        String text = raw.toString().trim().toLowerCase(Locale.ROOT);
        if (text.equals("true") || text.equals("yes") || text.equals("on") || text.equals("1")) {
          return true;
        }
        if (text.equals("false") || text.equals("no") || text.equals("off") || text.equals("0") || text.isEmpty()) {
          return false;
        }
        throw invalid(raw, "true or false");
      }
      case LIST:
        return Lists.of(raw);
      case CHOICE: {
        String text = raw.toString().trim().toLowerCase(Locale.ROOT);
        if (!choices.contains(text)) {
          throw invalid(raw, "one of " + String.join(", ", choices));
        }
        return text;
      }
      default:
        throw new IllegalStateException(type.toString());
    }
  }

  private long parseLong(Object raw) {
    if (raw instanceof Number n && !(raw instanceof Double) && !(raw instanceof Float)) {
      return n.longValue();
    }
    try {
      return Sizes.parse(raw.toString());
    } catch (NumberFormatException e) {
      throw invalid(raw, type == Type.INT ? "an integer" : "a whole number (suffixes k, m, g allowed)");
    }
  }

  ConfigException invalid(Object raw, String expected) {
    return new ConfigException(name + " (" + envName() + "): expected " + expected + ", got '" + raw + "'");
  }
}
