package io.portcullis.policy.rule;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Host names as {@code sni} and {@code pp-authority} match them: exact names (any case), {@code *.}
 * wildcards (any depth below the suffix, not the suffix itself) and {@code none} (no name). One class so
 * both keys mean exactly the same by the same entries. Immutable; {@link #matches} allocates nothing.
 */
public final class NamePattern {

    /** The entry that matches "no name". */
    public static final String NONE = "none";

    private final Set<String> exact;
    private final String[] exactNames;
    /** Wildcard suffixes with their leading dot: {@code .example.com}. */
    private final String[] suffixes;
    private final boolean none;

    /**
     * @param exact     exact names (lower case)
     * @param wildcards wildcard entries as written, {@code *.example.com}
     * @param none      whether a connection without a name matches
     */
    public NamePattern(Set<String> exact, List<String> wildcards, boolean none) {
        this.exact = Set.copyOf(exact);
        this.exactNames = exact.toArray(new String[0]);
        this.suffixes = wildcards.stream().map(wildcard -> wildcard.substring(1).toLowerCase(Locale.ROOT))
                .toArray(String[]::new);
        this.none = none;
    }

    /**
     * Whether {@code name} is listed, below a wildcard, or absent ({@code null}) while {@code none} is
     * listed. Any thread.
     */
    public boolean matches(String name) {
        if (name == null) {
            return none;
        }
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
    public String toString() {
        return "exact=" + exact.size() + ", wildcards=" + suffixes.length + ", none=" + none;
    }
}
