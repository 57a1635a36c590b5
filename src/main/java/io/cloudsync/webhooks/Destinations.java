package io.cloudsync.webhooks;

import io.cloudsync.handlers.ClientAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The SSRF guard of webhook URLs: where a URL may send our requests. A URL must be http or https; its
 * host, once resolved, must be a public unicast address — not loopback, private, link-local,
 * multicast, unspecified, carrier-grade NAT, or an IPv6 form carrying one of those (IPv4-mapped,
 * IPv4-compatible, 6to4, NAT64) — unless the operator's allow-list names the host or a network
 * holding the address.
 *
 * <p>Host literals are parsed here, never handed to a resolver: a resolver reads {@code 2130706433},
 * {@code 0177.0.0.1} or {@code 0x7f.1} as 127.0.0.1 the way inet_aton does, so they are read the same
 * way and judged as what they are. Names are resolved off the event loop and every address they
 * resolve to must pass; the sender then connects to the address that was checked, so a name whose
 * DNS answer changes between the check and the connection (DNS rebinding) cannot slip through.
 */
public final class Destinations {
  public static final int MAX_URL_LENGTH = 2048;
  /** Looks like an IPv4 literal in any inet_aton spelling: dotted parts of digits or 0x-hex. */
  private static final Pattern NUMERIC_HOST = Pattern.compile("^(0[xX][0-9a-fA-F]*|[0-9]+)(\\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$");
  private static final Pattern HOST_NAME = Pattern.compile("^[a-z0-9_]([a-z0-9_-]{0,62})(\\.[a-z0-9_]([a-z0-9_-]{0,62}))*$");
  private static final Pattern IPV6 = Pattern.compile("^[0-9a-fA-F:.]+$");

  /** Why a URL or address is refused. */
  public static final class Refused extends Exception {
    public Refused(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A checked destination: connect to {@code address}:{@code port}, and send {@code host} as the Host
   * header and TLS server name.
   */
  public record Target(URI uri, boolean tls, String host, int port, String pathAndQuery, InetAddress address) {
  }

  /** A parsed URL whose host is not resolved yet: {@code literal} is its address when it is one. */
  public record Parsed(URI uri, boolean tls, String host, int port, String pathAndQuery, InetAddress literal) {
  }

  private final List<String> allowedHosts = new ArrayList<>();
  private final List<ClientAddress.Network> allowedNetworks = new ArrayList<>();

  /** @param allowlist host names, addresses or CIDR blocks exempt from the guard */
  public Destinations(List<String> allowlist) {
    for (String entry : allowlist) {
      String text = entry.trim().toLowerCase(Locale.ROOT);
      ClientAddress.Network network = networkOrNull(text);
      if (network != null) {
        allowedNetworks.add(network);
      } else {
        allowedHosts.add(stripDot(text));
      }
    }
  }

  /** Whether the text can be an allow-list entry: a host name, an address or a CIDR block. */
  public static boolean isAllowlistEntry(String entry) {
    String text = entry.trim().toLowerCase(Locale.ROOT);
    return networkOrNull(text) != null || HOST_NAME.matcher(stripDot(text)).matches();
  }

  /** Parses and checks the form of a URL; nothing is resolved. */
  public static Parsed parse(String url) throws Refused {
    if (url == null || url.isBlank()) {
      throw new Refused("url is required");
    }
    if (url.length() > MAX_URL_LENGTH) {
      throw new Refused("url must be at most " + MAX_URL_LENGTH + " characters");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new Refused("url is not a valid URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new Refused("url must be http or https");
    }
    if (uri.getRawFragment() != null) {
      throw new Refused("url must not have a fragment");
    }
    // Read from the authority ourselves: java.net.URI leaves the host null for some numeric spellings.
    String authority = uri.getRawAuthority();
    if (authority == null || authority.isEmpty()) {
      throw new Refused("url must name a host");
    }
    if (authority.contains("@")) {
      throw new Refused("url must not carry credentials");
    }
    String rawHost = authority;
    String portText = null;
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      if (close < 0) {
        throw new Refused("url has an invalid host");
      }
      rawHost = authority.substring(0, close + 1);
      if (close + 1 < authority.length()) {
        if (authority.charAt(close + 1) != ':') {
          throw new Refused("url has an invalid host");
        }
        portText = authority.substring(close + 2);
      }
    } else if (authority.indexOf(':') >= 0) {
      rawHost = authority.substring(0, authority.indexOf(':'));
      portText = authority.substring(authority.indexOf(':') + 1);
    }
    if (rawHost.isEmpty()) {
      throw new Refused("url must name a host");
    }
    boolean tls = scheme.equals("https");
    int port = tls ? 443 : 80;
    if (portText != null && !portText.isEmpty()) {
      if (!portText.matches("\\d{1,5}") || Integer.parseInt(portText) < 1 || Integer.parseInt(portText) > 65535) {
        throw new Refused("url has an invalid port");
      }
      port = Integer.parseInt(portText);
    }
    String host = stripDot(rawHost.toLowerCase(Locale.ROOT));
    InetAddress literal = literal(host);
    if (literal == null && !HOST_NAME.matcher(host).matches()) {
      throw new Refused("url has an invalid host");
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    String pathAndQuery = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    return new Parsed(uri, tls, host, port, pathAndQuery, literal);
  }

  /**
   * Parses the URL, resolves its host off the event loop and checks every address; answers the
   * destination to connect to, or fails with {@link Refused}.
   */
  public Future<Target> check(Vertx vertx, String url) {
    Parsed parsed;
    try {
      parsed = parse(url);
    } catch (Refused e) {
      return Future.failedFuture(e);
    }
    if (parsed.literal() != null) {
      try {
        return Future.succeededFuture(target(parsed, List.of(parsed.literal())));
      } catch (Refused e) {
        return Future.failedFuture(e);
      }
    }
    return vertx.executeBlocking(() -> {
      InetAddress[] addresses;
      try {
        addresses = InetAddress.getAllByName(parsed.host());
      } catch (UnknownHostException e) {
        throw new Refused("url's host " + parsed.host() + " does not resolve");
      }
      return target(parsed, Arrays.asList(addresses));
    }, false);
  }

  private Target target(Parsed parsed, List<InetAddress> addresses) throws Refused {
    if (addresses.isEmpty()) {
      throw new Refused("url's host " + parsed.host() + " does not resolve");
    }
    boolean hostAllowed = allowedHosts.contains(parsed.host());
    for (InetAddress address : addresses) {
      String why = forbidden(address);
      if (why != null && !hostAllowed && !inAllowedNetwork(address)) {
        // The address itself is not told: the answer must not map internal names for the caller.
        throw new Refused("url's host " + parsed.host() + (parsed.literal() == null ? " resolves to " : " is ") + why
            + "; only public addresses (or the operator's webhooks.allowlist) may receive webhooks");
      }
    }
    return new Target(parsed.uri(), parsed.tls(), parsed.host(), parsed.port(), parsed.pathAndQuery(), addresses.get(0));
  }

  private boolean inAllowedNetwork(InetAddress address) {
    for (ClientAddress.Network network : allowedNetworks) {
      if (network.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Why the address may not receive webhooks, such as "a loopback address"; null when it is a
   * public unicast address.
   */
  public static String forbidden(InetAddress address) {
    byte[] b = address.getAddress();
    if (b.length == 4) {
      return forbiddenV4(b);
    }
    // IPv4 carried in IPv6: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::.
    if (zero(b, 0, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
      return embedded(forbiddenV4(Arrays.copyOfRange(b, 12, 16)));
    }
    if (zero(b, 0, 12)) {
      if (zero(b, 12, 16)) {
        return "an unspecified address";
      }
      if (zero(b, 12, 15) && b[15] == 1) {
        return "a loopback address";
      }
      return embedded(forbiddenV4(Arrays.copyOfRange(b, 12, 16)));
    }
    if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b && zero(b, 4, 12)) {
      return embedded(forbiddenV4(Arrays.copyOfRange(b, 12, 16)));
    }
    if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
      return embedded(forbiddenV4(Arrays.copyOfRange(b, 2, 6)));
    }
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    if ((first & 0xfe) == 0xfc) {
      return "a private address (unique local, fc00::/7)";
    }
    if (first == 0xfe && (second & 0xc0) == 0x80) {
      return "a link-local address";
    }
    if (first == 0xfe && (second & 0xc0) == 0xc0) {
      return "a site-local address";
    }
    if (first == 0xff) {
      return "a multicast address";
    }
    if (first == 0x01 && second == 0x00 && zero(b, 2, 8)) {
      return "a discard-only address (100::/64)";
    }
    if (first == 0x20 && second == 0x01 && (b[2] & 0xff) == 0x0d && (b[3] & 0xff) == 0xb8) {
      return "a documentation address";
    }
    return null;
  }

  private static String embedded(String why) {
    return why == null ? null : why + " (inside an IPv6 address)";
  }

  private static String forbiddenV4(byte[] b) {
    int a0 = b[0] & 0xff;
    int a1 = b[1] & 0xff;
    if (a0 == 0) {
      return zero(b, 0, 4) ? "an unspecified address" : "a this-network address (0.0.0.0/8)";
    }
    if (a0 == 127) {
      return "a loopback address";
    }
    if (a0 == 10 || (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168)) {
      return "a private address";
    }
    if (a0 == 169 && a1 == 254) {
      return "a link-local address";
    }
    if (a0 == 100 && (a1 & 0xc0) == 64) {
      return "a carrier-grade NAT address (100.64.0.0/10)";
    }
    if (a0 == 192 && a1 == 0 && (b[2] & 0xff) == 0) {
      return "an IETF protocol address (192.0.0.0/24)";
    }
    if (a0 == 198 && (a1 & 0xfe) == 18) {
      return "a benchmarking address (198.18.0.0/15)";
    }
    if (a0 >= 224 && a0 <= 239) {
      return "a multicast address";
    }
    if (a0 >= 240) {
      return "a reserved or broadcast address (240.0.0.0/4)";
    }
    return null;
  }

  private static boolean zero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The address a host literal names, or null when the host is a name. IPv4 literals are read in
   * every spelling inet_aton accepts (one to four parts, each decimal, octal with a leading 0, or
   * hex with 0x); IPv6 literals come without their brackets or with them, never with a zone.
   *
   * @throws Refused when the host looks like a number but is none
   */
  public static InetAddress literal(String host) throws Refused {
    String text = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (text.contains(":")) {
      if (!IPV6.matcher(text).matches()) {
        throw new Refused("url has an invalid IPv6 address (zones are not allowed)");
      }
      try {
        // A literal with a colon is parsed as IPv6 without any lookup.
        return InetAddress.getByName("[" + text + "]");
      } catch (UnknownHostException e) {
        throw new Refused("url has an invalid IPv6 address");
      }
    }
    if (!NUMERIC_HOST.matcher(text).matches()) {
      // A name whose last label is all digits is no name either: resolvers may read it as a number.
      String last = text.substring(text.lastIndexOf('.') + 1);
      if (!last.isEmpty() && last.chars().allMatch(Character::isDigit)) {
        throw new Refused("url has an invalid host");
      }
      return null;
    }
    long[] parts = Arrays.stream(text.split("\\.", -1)).mapToLong(Destinations::number).toArray();
    long value;
    try {
      value = ipv4(parts);
    } catch (InvalidLiteral e) {
      throw new Refused(e.getMessage());
    }
    try {
      return Inet4Address.getByAddress(new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8),
          (byte) value});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long ipv4(long[] parts) {
    long value;
    switch (parts.length) {
      case 1 -> value = within(parts[0], 0xffffffffL);
      case 2 -> value = within(parts[0], 0xff) << 24 | within(parts[1], 0xffffff);
      case 3 -> value = within(parts[0], 0xff) << 24 | within(parts[1], 0xff) << 16 | within(parts[2], 0xffff);
      default -> value = within(parts[0], 0xff) << 24 | within(parts[1], 0xff) << 16 | within(parts[2], 0xff) << 8
          | within(parts[3], 0xff);
    }
    return value;
  }

  private static long number(String part) {
    try {
      if (part.startsWith("0x") || part.startsWith("0X")) {
        return part.length() == 2 ? 0 : Long.parseLong(part.substring(2), 16);
      }
      if (part.length() > 1 && part.startsWith("0")) {
        return Long.parseLong(part.substring(1), 8);
      }
      return Long.parseLong(part);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static long within(long value, long max) {
    if (value < 0 || value > max) {
      throw new InvalidLiteral();
    }
    return value;
  }

  /** A numeric host out of range: refused as a whole by {@link #literal}'s callers. */
  private static final class InvalidLiteral extends RuntimeException {
    InvalidLiteral() {
      super("url has an invalid IPv4 address", null, false, false);
    }
  }

  private static ClientAddress.Network networkOrNull(String text) {
    try {
      return ClientAddress.network(text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String stripDot(String host) {
    return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
  }
}
