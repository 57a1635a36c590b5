package io.cloudsync.handlers;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The address of the client behind a request. {@code X-Forwarded-For} is anyone's to write, so it is
 * believed only when the direct peer is one of {@code http.trusted_proxies}; then the client is the
 * right-most address in the header that is not itself a trusted proxy (the left part of the header
 * came from the client and may be forged).
 *
 * <p>Addresses are parsed from their literal text only — nothing here ever asks DNS — and IPv4-mapped
 * IPv6 addresses count as the IPv4 address they carry.
 */
public final class ClientAddress {
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+");
  private static final String FORWARDED_FOR = "X-Forwarded-For";

  private final List<Network> trustedProxies;

  /** @param trustedProxies IP addresses or CIDR blocks, IPv4 or IPv6; an entry that is neither throws */
  public ClientAddress(List<String> trustedProxies) {
    List<Network> networks = new ArrayList<>();
    for (String entry : trustedProxies) {
      networks.add(network(entry));
    }
    this.trustedProxies = List.copyOf(networks);
  }

  /**
   * The client's address as text ({@link InetAddress#getHostAddress()} form, so one address always
   * reads the same), or the peer's own description when it is not an IP socket.
   */
  public String of(HttpServerRequest request) {
    InetAddress client = resolve(request);
    if (client != null) {
      return client.getHostAddress();
    }
    SocketAddress peer = request.remoteAddress();
    return peer == null ? "unknown" : peer.toString();
  }

  /** The client's address, or null when the peer is not an IP socket (a Unix domain socket). */
  public InetAddress resolve(HttpServerRequest request) {
    SocketAddress peer = request.remoteAddress();
    if (peer == null || !peer.isInetSocket()) {
      return null;
    }
    return resolve(peer.hostAddress(), request.headers().getAll(FORWARDED_FOR));
  }

  /**
   * The client's address given the direct peer and the {@code X-Forwarded-For} header lines in the
   * order received; null only when the peer itself is not an address.
   */
  public InetAddress resolve(String peerText, List<String> forwardedFor) {
    InetAddress peer = parse(peerText);
    if (peer == null || !isTrusted(peer) || forwardedFor.isEmpty()) {
      return peer;
    }
    List<String> hops = new ArrayList<>();
    for (String line : forwardedFor) {
      for (String hop : line.split(",")) {
        hops.add(hop.trim());
      }
    }
    // Walk from the proxy nearest to us outwards; every hop we pass vouched for the one before it.
    InetAddress client = peer;
    for (int i = hops.size() - 1; i >= 0; i--) {
      InetAddress hop = parse(stripPort(hops.get(i)));
      if (hop == null) {
        // A hop we cannot read (garbage, "unknown", an obfuscated id): nothing left of it can be
        // trusted, so the request is charged to the last trusted proxy that passed it on.
        return client;
      }
      client = hop;
      if (!isTrusted(hop)) {
        return hop;
      }
    }
    return client;
  }

  public boolean isTrusted(InetAddress address) {
    for (Network network : trustedProxies) {
      if (network.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /** An address or CIDR block: {@code 10.0.0.0/8}, {@code 192.0.2.7}, {@code 2001:db8::/32}, {@code ::1}. */
  public static Network network(String text) {
    String trimmed = text.trim();
    int slash = trimmed.indexOf('/');
    String addressText = slash < 0 ? trimmed : trimmed.substring(0, slash);
    InetAddress address = parse(addressText);
    if (address == null) {
      throw new IllegalArgumentException("not an IP address or CIDR block: '" + text + "'");
    }
    int bits = address.getAddress().length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String prefixText = trimmed.substring(slash + 1);
      if (!prefixText.matches("\\d{1,3}")) {
        throw new IllegalArgumentException("not an IP address or CIDR block: '" + text + "'");
      }
      prefix = Integer.parseInt(prefixText);
      // ::ffff:10.0.0.0/104 is written in IPv6 bits but parses to an IPv4 address.
      if (address instanceof Inet4Address && addressText.contains(":")) {
        prefix -= 96;
      }
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException("CIDR prefix out of range: '" + text + "'");
      }
    }
    return new Network(address.getAddress(), prefix);
  }

  /**
   * Parses an IPv4 or IPv6 literal (IPv6 with or without brackets; a zone id is dropped) without any
   * name lookup; null for anything else. IPv4-mapped IPv6 addresses come back as IPv4.
   */
  public static InetAddress parse(String text) {
    if (text == null) {
      return null;
    }
    String s = text.trim();
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    int zone = s.indexOf('%');
    if (zone >= 0) {
      s = s.substring(0, zone);
    }
    if (s.isEmpty()) {
      return null;
    }
    try {
      if (s.indexOf(':') < 0) {
        // Only the dotted quad: InetAddress would also take "127.1" or look up a host name.
        if (!IPV4.matcher(s).matches()) {
          return null;
        }
        byte[] bytes = new byte[4];
        String[] parts = s.split("\\.");
        for (int i = 0; i < 4; i++) {
          int part = Integer.parseInt(parts[i]);
          if (part > 255) {
            return null;
          }
          bytes[i] = (byte) part;
        }
        return InetAddress.getByAddress(bytes);
      }
      if (!IPV6.matcher(s).matches()) {
        return null;
      }
      // Brackets make InetAddress treat the text as an IPv6 literal only: bad text fails, never reaches DNS.
      return InetAddress.getByName("[" + s + "]");
    } catch (UnknownHostException | NumberFormatException e) {
      return null;
    }
  }

  /** {@code 192.0.2.1:4711} and {@code [2001:db8::1]:4711} as proxies may write them, without the port. */
  private static String stripPort(String hop) {
    if (hop.startsWith("[")) {
      int close = hop.indexOf(']');
      return close < 0 ? hop : hop.substring(0, close + 1);
    }
    int colon = hop.indexOf(':');
    if (colon >= 0 && colon == hop.lastIndexOf(':') && hop.indexOf('.') >= 0) {
      return hop.substring(0, colon);
    }
    return hop;
  }

  /** A CIDR block; an address is in it when the first {@code prefix} bits are equal (same family only). */
  public static final class Network {
    private final byte[] address;
    private final int prefix;

    private Network(byte[] address, int prefix) {
      this.address = address;
      this.prefix = prefix;
    }

    public boolean contains(InetAddress candidate) {
      byte[] other = candidate.getAddress();
      if (other.length != address.length) {
        return false;
      }
      int whole = prefix / 8;
      for (int i = 0; i < whole; i++) {
        if (other[i] != address[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (other[whole] & mask) == (address[whole] & mask);
    }
  }
}
