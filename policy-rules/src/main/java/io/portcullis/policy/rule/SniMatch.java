package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code sni} condition: the server name the client sent in its TLS ClientHello.
 *
 * <ul>
 *   <li>{@code db.example.com} — that name, compared without regard to case;</li>
 *   <li>{@code *.example.com} — any name below {@code example.com}, at any depth
 *       ({@code a.example.com}, {@code a.b.example.com}), but not {@code example.com} itself;</li>
 *   <li>{@code none} — no server name: the client sent none, sent no ClientHello, or the listener does
 *       not peek TLS.</li>
 * </ul>
 * Entries are alternatives (see {@link NamePattern}). Evaluation allocates nothing.
 */
public final class SniMatch implements Match {

    public static final String KEY = "sni";

    /** The entry that matches "no server name". */
    public static final String NONE = NamePattern.NONE;

    private final NamePattern names;

    /**
     * @param exact     exact names (lower case)
     * @param wildcards wildcard entries as written, {@code *.example.com} (lower case)
     * @param none      whether a connection without a server name matches
     */
    public SniMatch(Set<String> exact, List<String> wildcards, boolean none) {
        this(new NamePattern(exact, wildcards, none));
    }

    /** A condition on the server name by {@code names}. */
    public SniMatch(NamePattern names) {
        this.names = Objects.requireNonNull(names, "names");
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        Optional<String> sni = request.sni();
        return names.matches(sni.isPresent() ? sni.get() : null);
    }

    @Override
    public boolean needsTlsPeek() {
        return true;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "sni[" + names + "]";
    }
}
