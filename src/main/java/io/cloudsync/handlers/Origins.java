package io.cloudsync.handlers;

import java.net.URI;
import java.util.List;

/** Which browser origins may reach the server: its own pages, and those on the CORS allow-list. */
public final class Origins {
  private Origins() {
  }

  /**
   * Browsers send {@code Origin} with every WebSocket handshake and cross-site request, and cookies or
   * not, a page on another site must not open a live connection: the origin must be this server's own
   * or on the CORS allow-list. Clients that send no {@code Origin} (not browsers) pass.
   */
  public static boolean allowed(String origin, String host, List<String> corsOrigins) {
    return origin == null || corsOrigins.contains(origin) || same(origin, host);
  }

  /**
   * Whether the {@code Origin} names the server the request was sent to (its {@code Host}). Browsers
   * send {@code Origin} on same-origin WebSocket handshakes and POSTs too; those are no CORS requests.
   */
  public static boolean same(String origin, String host) {
    if (origin == null || host == null) {
      return false;
    }
    try {
      String authority = URI.create(origin).getRawAuthority();
      return authority != null && authority.equalsIgnoreCase(host);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
