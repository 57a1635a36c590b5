package io.cloudsync.config;

/** A configuration value that CloudSync cannot start with; the message names the key. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
