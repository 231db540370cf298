package io.portcullis.gateway.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * The door of the HTTP server that carries the admin API, deny by default. Only the public paths (health and its
 * groups, prometheus) pass as they are. Every other request needs {@code Authorization: Bearer <token>} when
 * {@code portcullis.admin.token} is set (401 without it) and answers 404 when no token is set (the admin API is off).
 *
 * <p>A public path is recognised on the path as sent, undecoded, and only when it is plain: letters, digits,
 * {@code -} and {@code _} between single slashes. Such a path decodes to itself, so no other spelling
 * ({@code %61}, {@code ;params}, {@code //}, {@code ..}, {@code %2F}) can pass for a public one, and whatever the
 * router makes of a spelling, it is not let through unless it is one of these. Guarding {@code /admin} by prefix
 * instead misses the spellings that the router decodes to {@code /admin}. The token is compared in constant time.
 *
 * <p>With the token, a path that is not plain either ({@code ..}, {@code //}, {@code ;}, {@code %}) is refused
 * (400): no admin route is spelt so, and an endpoint below the door may take such a path for something else (the
 * health endpoint fails on {@code /actuator/health/../x}).
 */
public final class AdminTokenFilter implements WebFilter, Ordered {

    static final String PREFIX = "/admin";

    /** Ahead of every other filter of the application; Spring Security's chain runs at the same place. */
    static final int ORDER = -100;

    private static final Pattern PLAIN = Pattern.compile("(/[A-Za-z0-9_-]+)+");
    /** What an authorised request may ask for: plain segments, with dots inside a name; or {@code /}. */
    private static final Pattern UNAMBIGUOUS = Pattern.compile("/|(/(?!\\.\\.?(/|$))[A-Za-z0-9._~-]+)+/?");

    private final Optional<byte[]> tokenDigest;
    private final List<String> publicPaths;

    /**
     * @param token       the bearer token; empty turns the admin API off
     * @param publicPaths paths that answer without a token, each with everything below it (e.g.
     *                    {@code /actuator/health}); a path that is not plain is ignored, never made public
     */
    public AdminTokenFilter(Optional<String> token, Collection<String> publicPaths) {
        this.tokenDigest = token.map(AdminTokenFilter::digest);
        this.publicPaths = publicPaths.stream().filter(p -> PLAIN.matcher(p).matches()).toList();
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (isPublic(exchange.getRequest().getPath().pathWithinApplication().value())) {
            return chain.filter(exchange);
        }
        if (tokenDigest.isEmpty()) {
            exchange.getResponse().setStatusCode(HttpStatus.NOT_FOUND);
            return exchange.getResponse().setComplete();
        }
        if (!authorised(exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION))) {
            exchange.getResponse().setStatusCode(HttpStatus.UNAUTHORIZED);
            exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"portcullis\"");
            return exchange.getResponse().setComplete();
        }
        if (!UNAMBIGUOUS.matcher(exchange.getRequest().getPath().pathWithinApplication().value()).matches()) {
            exchange.getResponse().setStatusCode(HttpStatus.BAD_REQUEST);
            return exchange.getResponse().setComplete();
        }
        return chain.filter(exchange);
    }

    /** {@code rawPath} is a public path or below one, and plain. */
    boolean isPublic(String rawPath) {
        if (!PLAIN.matcher(rawPath).matches()) {
            return false;
        }
        for (String path : publicPaths) {
            if (rawPath.startsWith(path) && (rawPath.length() == path.length() || rawPath.charAt(path.length()) == '/')) {
                return true;
            }
        }
        return false;
    }

    private boolean authorised(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // Digests have one length: the comparison takes the same time whatever was sent.
        return MessageDigest.isEqual(tokenDigest.get(), digest(header.substring(7).strip()));
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
