package io.portcullis.policy.fingerprint;

import java.util.Arrays;

/**
 * A set of JA4 fingerprints ({@link Ja4}), compared without regard to ASCII case. An open-addressing
 * table of the lower-case strings, hashed on ASCII-lower-cased characters, so {@link #contains} neither
 * copies nor allocates whatever case it is given. Immutable and thread-safe once built.
 */
public final class FingerprintSet {

    private static final FingerprintSet EMPTY = new FingerprintSet(new String[1], 0);

    private final String[] table;
    private final int mask;
    private final int size;

    private FingerprintSet(String[] table, int size) {
        this.table = table;
        this.mask = table.length - 1;
        this.size = size;
    }

    /** The set without fingerprints. */
    public static FingerprintSet empty() {
        return EMPTY;
    }

    /** A builder of a set. */
    public static Builder builder() {
        return new Builder();
    }

    /** Whether {@code fingerprint} (any case) is in the set. Any thread; allocates nothing. */
    public boolean contains(String fingerprint) {
        if (size == 0 || fingerprint.length() != Ja4.LENGTH) {
            return false;
        }
        int at = hash(fingerprint) & mask;
        while (true) {
            String candidate = table[at];
            if (candidate == null) {
                return false;
            }
            if (equalsLowerAscii(candidate, fingerprint)) {
                return true;
            }
            at = (at + 1) & mask;
        }
    }

    /** How many fingerprints the set holds. */
    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public String toString() {
        return "FingerprintSet[" + size + "]";
    }

    private static int hash(String text) {
        int h = 0;
        for (int i = 0; i < text.length(); i++) {
            h = 31 * h + lowerAscii(text.charAt(i));
        }
        return h ^ (h >>> 16);
    }

    /** {@code lower} is lower case already; {@code any} may not be. Non-ASCII never equals. */
    private static boolean equalsLowerAscii(String lower, String any) {
        if (lower.length() != any.length()) {
            return false;
        }
        for (int i = 0; i < lower.length(); i++) {
            if (lower.charAt(i) != lowerAscii(any.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static char lowerAscii(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }

    /** Collects fingerprints; not thread-safe. */
    public static final class Builder {

        private String[] entries = new String[16];
        private int count;

        private Builder() {
        }

        /**
         * Adds a fingerprint.
         *
         * @throws IllegalArgumentException when {@code fingerprint} is not a JA4 fingerprint
         */
        public Builder add(String fingerprint) {
            String normalized = Ja4.normalize(fingerprint)
                    .orElseThrow(() -> new IllegalArgumentException("not a JA4 fingerprint: " + fingerprint));
            if (count == entries.length) {
                entries = Arrays.copyOf(entries, count * 2);
            }
            entries[count++] = normalized;
            return this;
        }

        /** Adds every fingerprint of {@code set}. */
        public Builder addAll(FingerprintSet set) {
            for (String entry : set.table) {
                if (entry != null) {
                    if (count == entries.length) {
                        entries = Arrays.copyOf(entries, count * 2);
                    }
                    entries[count++] = entry;
                }
            }
            return this;
        }

        /** How many fingerprints were added (duplicates counted). */
        public int count() {
            return count;
        }

        /** The set (duplicates kept once); the builder may go on. */
        public FingerprintSet build() {
            if (count == 0) {
                return EMPTY;
            }
            // at most half full, so a miss ends at a free slot soon
            int capacity = Integer.highestOneBit(Math.max(2, count) * 2 - 1) << 1;
            String[] table = new String[capacity];
            int mask = capacity - 1;
            int size = 0;
            for (int i = 0; i < count; i++) {
                String entry = entries[i];
                int at = hash(entry) & mask;
                while (table[at] != null && !table[at].equals(entry)) {
                    at = (at + 1) & mask;
                }
                if (table[at] == null) {
                    table[at] = entry;
                    size++;
                }
            }
            return new FingerprintSet(table, size);
        }
    }
}
