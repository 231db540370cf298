package io.portcullis.policy.yaml;

import io.portcullis.policy.fingerprint.FingerprintSet;
import io.portcullis.policy.net.CidrSet;

/**
 * A list from the {@code lists} section, as rules refer to it with {@code list:NAME}: addresses (for
 * {@code source}) or JA4 fingerprints (for {@code tls-fingerprint}); at most one of the two is not
 * empty (see {@link ListContents}).
 */
record NamedList(String name, CidrSet addresses, FingerprintSet fingerprints, int line) {

    /** What the list holds, for "list 'x' holds …" messages; an empty list holds either. */
    ListContents.Kind kind() {
        return fingerprints.isEmpty() ? ListContents.Kind.ADDRESSES : ListContents.Kind.FINGERPRINTS;
    }

    /** Whether the list may stand where {@code wanted} is needed: it holds those, or nothing. */
    boolean serves(ListContents.Kind wanted) {
        return wanted == ListContents.Kind.ADDRESSES ? fingerprints.isEmpty() : addresses.isEmpty();
    }
}
