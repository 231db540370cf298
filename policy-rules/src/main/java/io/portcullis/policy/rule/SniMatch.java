package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

import java.util.List;
import java.util.Locale;
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
 * Entries are alternatives. Evaluation allocates nothing (names are compared in place, ignoring case).
 */
public final class SniMatch implements Match {

    public static final String KEY = "sni";

    /** The entry that matches "no server name". */
    public static final String NONE = "none";

    private final Set<String> exact;
    private final String[] exactNames;
    /** Wildcard suffixes with their leading dot: {@code .example.com}. */
    private final String[] suffixes;
    private final boolean none;

    /**
     * @param exact     exact names (lower case)
     * @param wildcards wildcard entries as written, {@code *.example.com} (lower case)
     * @param none      whether a connection without a server name matches
     */
    public SniMatch(Set<String> exact, List<String> wildcards, boolean none) {
        this.exact = Set.copyOf(exact);
        this.exactNames = exact.toArray(new String[0]);
        this.suffixes = wildcards.stream().map(wildcard -> wildcard.substring(1).toLowerCase(Locale.ROOT))
                .toArray(String[]::new);
        this.none = none;
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        Optional<String> sni = request.sni();
        if (sni.isEmpty()) {
            return none;
        }
        String name = sni.get();
        if (isLowerCase(name)) {
            if (exact.contains(name)) {
                return true;
            }
        } else {
            for (String candidate : exactNames) {
                if (candidate.equalsIgnoreCase(name)) {
                    return true;
                }
            }
        }
        for (String suffix : suffixes) {
            int at = name.length() - suffix.length();
            if (at > 0 && name.regionMatches(true, at, suffix, 0, suffix.length())) {
                return true;
            }
        }
        return false;
    }

    private static boolean isLowerCase(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z' || c > 0x7F) {
                return false;
            }
        }
        return true;
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
        return "sni[exact=" + exact.size() + ", wildcards=" + suffixes.length + ", none=" + none + "]";
    }
}
