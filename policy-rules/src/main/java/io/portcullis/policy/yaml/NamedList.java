package io.portcullis.policy.yaml;

import io.portcullis.policy.net.CidrSet;

/** An address list from the {@code lists} section, as rules refer to it with {@code list:NAME}. */
record NamedList(String name, CidrSet addresses, int line) {
}
