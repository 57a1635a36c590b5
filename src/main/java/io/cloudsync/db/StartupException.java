package io.cloudsync.db;

/** A start-up failure that is the operator's to fix; its message is the whole story. */
public final class StartupException extends RuntimeException {
  public StartupException(String message) {
    super(message, null, false, false);
  }

  public StartupException(String message, Throwable cause) {
    super(message, cause, false, false);
  }
}
