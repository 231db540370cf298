package io.portcullis.gateway.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * An address as written in {@code application.yml}: {@code host:port}, {@code [v6]:port}. IP literals are
 * parsed without DNS; a host name stays unresolved so it is looked up when used, not once at start.
 */
public record HostAndPort(String host, int port) {

    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?");

    public HostAndPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range 0-65535: " + port);
        }
    }

    /** Parses {@code host:port} or {@code [ipv6]:port}. */
    public static HostAndPort parse(String text) {
        String s = text.strip();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("expected [ipv6]:port, got '" + text + "'");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
            if (!isIpLiteral(host)) {
                throw new IllegalArgumentException("not an IPv6 address in '" + text + "'");
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || s.indexOf(':') != colon) {
                throw new IllegalArgumentException("expected host:port (IPv6 as [addr]:port), got '" + text + "'");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
            if (!isIpLiteral(host) && !HOST_NAME.matcher(host).matches()) {
                throw new IllegalArgumentException("not a host name or IP address: '" + host + "'");
            }
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port is not a number in '" + text + "'");
        }
        return new HostAndPort(host, p);
    }

    /** A resolved address for IP literals, an unresolved one for host names. Never blocks on DNS. */
    public InetSocketAddress toSocketAddress() {
        if (isIpLiteral(host)) {
            try {
                return new InetSocketAddress(InetAddress.getByName(host), port);
            } catch (UnknownHostException e) {
                throw new IllegalStateException("IP literal did not parse: " + host, e);
            }
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** True for dotted IPv4 and for IPv6 literals, which {@link InetAddress#getByName} parses without a lookup. */
    static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == '%');
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)
                    || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
